"""Personas shared by every test: alice the worker, bob her teammate, sam their
supervisor, dana the agency admin, erin a worker on another team of the same agency,
carol a worker in another agency, root the system admin."""

import datetime
import uuid
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts import signin
from accounts.models import Role
from cases import services
from cases.models import CallNature, Disposition
from tests import clock
from tests.accounts.factories import AgencyFactory, TeamFactory, UserFactory
from tests.class_data import class_transaction, suite_instant


def pytest_configure(config):
    try:
        config.casebook_clock = clock.start_from_environment()
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb):
    """With --reuse-db the test databases outlive the run. A test that commits flushes
    the database after it (serialized_rollback puts the first contents back only before
    each such test), which would leave the next run without the rows the migrations
    made (call natures, permissions): at the end of the run they are put back."""
    yield
    if django_db_keepdb:
        with django_db_blocker.unblock():
            for alias in connections:
                restore_first_contents(connections[alias])


def restore_first_contents(connection):
    """The database as it was made, from what Django serialized then (when a test of the
    run asked for serialized_rollback; otherwise no test flushed it)."""
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is None:
        return
    call_command(
        "flush",
        database=connection.alias,
        interactive=False,
        inhibit_post_migrate=True,
        verbosity=0,
    )
    connection.creation.deserialize_db_from_string(contents)


@pytest.fixture(autouse=True)
def _own_rate_limits(settings):
    """Each test counts rate limits from zero: the counters live in the shared cache, keyed
    by user id or address, which tests reuse."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def _own_signin_counts(monkeypatch):
    """Each test counts failed sign-ins from zero (accounts/signin.py keeps them in the
    shared cache, keyed by username, and the personas' names are every test's)."""
    monkeypatch.setattr(signin, "KEY_PREFIX", f"casebook:signin:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a page served in Spanish leaves Spanish
    active in the thread after it (the locale middleware activates a language for each
    request and never deactivates it; a server's next request activates its own)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _agency_evening(request):
    """Every test starts at 03:30 UTC of today's date, the evening before in the agencies'
    zones (America/Los_Angeles, America/Denver), where a date taken from UTC is a day off;
    the clock ticks on, and a test may pin its own instant on top. Not when the session's
    clock was chosen (CASEBOOK_CLOCK), nor for tests that drive real processes or a
    browser, whose clocks are the machine's."""
    node = request.node
    if (
        request.config.casebook_clock
        or node.get_closest_marker("integration")
        or node.get_closest_marker("browser")
    ):
        yield
        return
    with time_machine.travel(clock.agency_evening(), tick=True):
        yield


@pytest.fixture(scope="class")
def demo_seeded_for_class(request, django_db_setup, django_db_blocker):
    """The demo data (`seed_demo`, DEMO_PASSWORD unset) made once for the test class, at
    the suite's clock (tests/class_data.py). Yields that clock, for `on_clock`."""
    instant = suite_instant(request.config)
    with (
        pytest.MonkeyPatch.context() as patch,
        class_transaction(django_db_blocker, instant) as moved,
    ):
        patch.delenv("DEMO_PASSWORD", raising=False)
        call_command("seed_demo", stdout=StringIO())
        yield moved


LONG_MARKERS = ("integration", "browser", "slow")


def database_phase(item) -> int:
    """Where pytest-django (as Django) runs a test: 0 in a rolled-back transaction, 1
    committing and flushing the database after (so before no test of phase 0, which
    would miss the reference data the flush removes), 2 without the database."""
    marker = item.get_closest_marker("django_db")
    fixtures = item.fixturenames
    commits = marker is not None and any(
        marker.kwargs.get(name) for name in ("transaction", "reset_sequences")
    )
    if commits or "transactional_db" in fixtures or "live_server" in fixtures:
        return 1
    if marker is not None or "db" in fixtures:
        return 0
    return 2


def run_order(item) -> tuple[int, bool]:
    """pytest-django's phases, with the long tests that need no database first: most of
    their time is spent waiting on the processes they start, beside the pytest-xdist
    workers that keep the cores busy. The long ones of phase 1 start it, so that no
    worker is left with one at the end."""
    phase = database_phase(item)
    long = any(item.get_closest_marker(name) for name in LONG_MARKERS)
    if phase == 2 and long:
        return (-1, False)
    return (phase, phase == 1 and not long)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=run_order)


def pytest_report_header(config):
    if config.casebook_clock:
        return f"clock moved to {config.casebook_clock:%Y-%m-%d %H:%M:%S} UTC ({clock.CLOCK_ENV})"
    return None


@pytest.fixture
def cache_down(settings):
    """Redis down: the cache pointed at a port nobody listens on."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }


@pytest.fixture
def agency_a(db):
    return AgencyFactory(name="Agency A", slug="agency-a", timezone="America/Los_Angeles")


@pytest.fixture
def agency_b(db):
    return AgencyFactory(name="Agency B", slug="agency-b", timezone="America/Denver")


@pytest.fixture
def team_a(agency_a):
    return TeamFactory(agency=agency_a, name="Mobile crisis 1")


@pytest.fixture
def team_a2(agency_a):
    return TeamFactory(agency=agency_a, name="Mobile crisis 2")


@pytest.fixture
def team_b(agency_b):
    return TeamFactory(agency=agency_b, name="STAR van")


@pytest.fixture
def alice(team_a):
    return UserFactory(username="alice", team=team_a, agency=team_a.agency, role=Role.SOCIAL_WORKER)


@pytest.fixture
def bob(team_a):
    return UserFactory(username="bob", team=team_a, agency=team_a.agency, role=Role.SOCIAL_WORKER)


@pytest.fixture
def erin(team_a2):
    return UserFactory(
        username="erin", team=team_a2, agency=team_a2.agency, role=Role.SOCIAL_WORKER
    )


@pytest.fixture
def sam(team_a):
    return UserFactory(
        username="sam", team=None, agency=team_a.agency, role=Role.SUPERVISOR, supervises=[team_a]
    )


@pytest.fixture
def dana(agency_a):
    return UserFactory(username="dana", agency=agency_a, role=Role.AGENCY_ADMIN)


@pytest.fixture
def carol(team_b):
    return UserFactory(username="carol", team=team_b, agency=team_b.agency, role=Role.SOCIAL_WORKER)


@pytest.fixture
def root(db):
    return UserFactory(
        username="root", agency=None, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True
    )


# C-SSRS screens giving each risk level (cases/cssrs.py), as contact fields.
HIGH_RISK = {
    "cssrs_performed": True,
    "cssrs_wish_dead": True,
    "cssrs_suicidal_thoughts": True,
    "cssrs_method": True,
    "cssrs_intent": True,
    "cssrs_plan": False,
    "cssrs_behavior": False,
}
MODERATE_RISK = {**HIGH_RISK, "cssrs_intent": False}
LOW_RISK = {
    "cssrs_performed": True,
    "cssrs_wish_dead": True,
    "cssrs_suicidal_thoughts": False,
    "cssrs_behavior": False,
}


def contact_data(**overrides):
    """A valid crisis contact, as the form or API hands it to record_contact."""
    received = overrides.pop("received_at", timezone.now() - datetime.timedelta(hours=2))
    data = {
        "source": "911",
        "received_at": received,
        "dispatched_at": received + datetime.timedelta(minutes=2),
        "on_scene_at": received + datetime.timedelta(minutes=15),
        "cleared_at": received + datetime.timedelta(minutes=75),
        "call_nature": CallNature.objects.get(code="welfare-check"),
        "location": "5th and Main",
        "disposition": Disposition.RESOLVED_ON_SCENE,
        "narrative": "Client calm after de-escalation.",
    }
    data.update(overrides)
    return data


def new_client(**overrides):
    data = {
        "legal_name": "Jordan Rivers",
        "preferred_name": "",
        "date_of_birth": datetime.date(1990, 4, 12),
        "phone": "541-555-0100",
    }
    data.update(overrides)
    return data


@pytest.fixture
def record_contact_for():
    """record_contact_for(worker, client=None, **contact fields) -> Contact, through the
    real service (a new client named by `new_client=` when no client is given)."""

    def make(worker, client=None, new_client_data=None, **fields):
        return services.record_contact(
            actor=worker,
            client=client,
            new_client_data=None if client else (new_client_data or new_client()),
            contact_data=contact_data(**fields),
        )

    return make


@pytest.fixture
def alice_case(alice, record_contact_for):
    return record_contact_for(alice, new_client_data=new_client(legal_name="Alice Client")).case


@pytest.fixture
def bob_case(bob, record_contact_for):
    return record_contact_for(
        bob, new_client_data=new_client(legal_name="Bob Client", phone="541-555-0200")
    ).case


@pytest.fixture
def erin_case(erin, record_contact_for):
    return record_contact_for(
        erin, new_client_data=new_client(legal_name="Erin Client", phone="541-555-0300")
    ).case


@pytest.fixture
def carol_case(carol, record_contact_for):
    return record_contact_for(
        carol, new_client_data=new_client(legal_name="Carol Client", phone="303-555-0400")
    ).case


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def login(client):
    """login(user) -> the test client, signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
