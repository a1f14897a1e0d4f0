"""Dispatch personas and state, made through the real services: dex dispatches for Agency
A, bea for Agency B; alice and bob crew van 1, erin and her teammate crew van 2 when
asked; carol crews Agency B's van."""

import datetime
from decimal import Decimal

import pytest

from accounts.models import Role
from dispatch import services
from dispatch.models import Credential, Priority, RequestReason, RequestSource, Step
from tests import clock
from tests.accounts.factories import UserFactory
from tests.dispatch.factories import UnitFactory

# The request's place, and the bases of the units around it.
SCENE = (Decimal("44.000000"), Decimal("-123.000000"))


@pytest.fixture(autouse=True)
def frozen(time_machine):
    """Every dispatch test runs with the clock stopped at 03:30 UTC of today (the evening
    before in the agencies' zones), so that stamps and deadlines are exact;
    `frozen.shift(minutes=...)` moves it on."""
    start = clock.agency_evening()
    time_machine.move_to(start, tick=False)

    class Clock:
        now = start

        def shift(self, **delta):
            self.now = self.now + datetime.timedelta(**delta)
            time_machine.move_to(self.now, tick=False)
            return self.now

    return Clock()


@pytest.fixture
def dex(agency_a):
    return UserFactory(username="dex", agency=agency_a, role=Role.DISPATCHER)


@pytest.fixture
def bea(agency_b):
    return UserFactory(username="bea", agency=agency_b, role=Role.DISPATCHER)


@pytest.fixture
def cad_key(agency_a):
    """Agency A's CAD key (the row; the key itself is not needed below the API)."""
    from dispatch.cad_keys import create_cad_key

    return create_cad_key(agency=agency_a, name="Lane County CAD", actor=None)[0]


@pytest.fixture
def cad_key_b(agency_b):
    from dispatch.cad_keys import create_cad_key

    return create_cad_key(agency=agency_b, name="Denver CAD", actor=None)[0]


@pytest.fixture
def van(agency_a, team_a):
    return UnitFactory(agency=agency_a, team=team_a, call_sign="Van 1")


@pytest.fixture
def van2(agency_a, team_a2):
    return UnitFactory(agency=agency_a, team=team_a2, call_sign="Van 2")


@pytest.fixture
def van_b(agency_b, team_b):
    return UnitFactory(agency=agency_b, team=team_b, call_sign="STAR 1")


@pytest.fixture
def on_shift(van, alice, bob, dex):
    """Van 1 on shift, crewed by alice (licensed clinician) and bob (peer specialist)."""
    services.start_shift(
        unit=van,
        members=[(alice, Credential.LICENSED_CLINICIAN), (bob, Credential.PEER_SPECIALIST)],
        actor=dex,
    )
    van.refresh_from_db()
    return van


@pytest.fixture
def van2_on_shift(van2, erin, dex):
    services.start_shift(unit=van2, members=[(erin, Credential.EMT_PARAMEDIC)], actor=dex)
    van2.refresh_from_db()
    return van2


def request_data(**overrides):
    """What a dispatcher types for a request, as the form or API hands it over."""
    data = {
        "source": RequestSource.TEAM_LINE,
        "callback_number": "541-555-0142",
        "location_text": "Skinner Butte Park, by the playground",
        "latitude": SCENE[0],
        "longitude": SCENE[1],
        "reason": RequestReason.MENTAL_HEALTH_CRISIS,
        "priority": Priority.EMERGENT,
        "weapons": False,
        "violence_history": None,
        "animals": True,
        "access_notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def new_request(dex):
    """new_request(**fields) -> a waiting request of Agency A, recorded by dex."""

    def make(actor=None, **overrides):
        return services.record_request(actor=actor or dex, data=request_data(**overrides))

    return make


# How to bring a request to each status through the services, from waiting with Van 1
# on shift: the steps after assigning it.
PATH = {
    "waiting": [],
    "assigned": ["assign"],
    "en_route": ["assign", Step.EN_ROUTE],
    "on_scene": ["assign", Step.EN_ROUTE, Step.ON_SCENE],
    "transporting": ["assign", Step.EN_ROUTE, Step.ON_SCENE, Step.TRANSPORTING],
    "at_destination": [
        "assign",
        Step.EN_ROUTE,
        Step.ON_SCENE,
        Step.TRANSPORTING,
        Step.AT_DESTINATION,
    ],
    "completed": ["assign", Step.EN_ROUTE, Step.ON_SCENE, Step.BACK_IN_SERVICE],
    "not_served": ["not_served"],
}


@pytest.fixture
def request_at(new_request, on_shift, dex, alice):
    """request_at(status) -> a request of Agency A brought to `status` through the
    services, with Van 1 on it where a unit is."""

    def make(status, **overrides):
        request = new_request(**overrides)
        for step in PATH[status]:
            if step == "assign":
                services.assign_unit(request=request, unit=on_shift, actor=dex)
            elif step == "not_served":
                services.close_not_served(
                    request=request, reason="cancelled_before_arrival", actor=dex
                )
            else:
                services.advance(
                    unit=on_shift,
                    actor=alice,
                    to=step,
                    destination="Crisis centre" if step == Step.TRANSPORTING else "",
                )
        request.refresh_from_db()
        return request

    return make
