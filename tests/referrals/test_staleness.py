"""When a referral goes stale, stored (Referral.stale_at) and swept (is_stale), and the
lists that filter and order on them: referrals.models, referrals.staleness,
referrals.tasks, the referral list, and the migration and the grown rows that fill them.

The clock is pinned in Agency A's zone (Los Angeles) around the US spring-forward of
Sunday 8 March 2026 (02:00 PST became 03:00 PDT)."""

import datetime
import importlib
import json
import re
import zoneinfo
from io import StringIO
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from directory.models import NeedCategory
from referrals import services
from referrals.models import (
    STALE_AFTER,
    STALE_AFTER_DEFAULT,
    EventVia,
    Referral,
    Status,
    business_days_after,
)
from referrals.staleness import stale_reason
from referrals.tasks import flag_stale_referrals
from tests.cases.factories import CaseFactory, ClientFactory
from tests.referrals.factories import (
    ReferralFactory,
    backdate,
    give_consent,
    make_referral,
    move_to,
    part2_fields,
    sent_referral,
)

pytestmark = pytest.mark.django_db

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
UTC = datetime.UTC
LIST_URL = reverse("referrals:list")
# Thursday 5 March 2026, 19:30 in Los Angeles (PST): already Friday in UTC.
THURSDAY_EVENING = datetime.datetime(2026, 3, 6, 3, 30, tzinfo=UTC)
# Saturday 7 March 2026, 12:00 in Los Angeles (PST).
SATURDAY_NOON = datetime.datetime(2026, 3, 7, 20, 0, tzinfo=UTC)
# Monday 9 March 2026, 10:00 in Los Angeles (PDT since Sunday).
MONDAY_MORNING = datetime.datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
SECOND = datetime.timedelta(seconds=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="plans and grown rows are PostgreSQL's"
)


def la(year, month, day, hour=0, minute=0) -> datetime.datetime:
    """That wall time in Los Angeles."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LA)


@pytest.fixture
def clock():
    """The clock stopped at Thursday evening in Los Angeles, before the personas and
    their cases are made (ask for it first); `clock.move_to(...)` moves it."""
    with time_machine.travel(THURSDAY_EVENING, tick=False) as traveller:
        yield traveller


def stored(referral) -> tuple[datetime.datetime | None, bool]:
    row = Referral.objects.values_list("stale_at", "is_stale").get(pk=referral.pk)
    return row[0], row[1]


def send(worker, case, need) -> Referral:
    """A referral for `need` sent through the services, under a Part 2 consent for
    substance use treatment."""
    if need == NeedCategory.SUBSTANCE_USE:
        consent = give_consent(worker, case, **part2_fields())
        return sent_referral(
            worker,
            case,
            need_category=need,
            consent=consent,
            provider_name="Riverside Recovery Center",
        )
    return sent_referral(worker, case, need_category=need)


def provider_moves(referral, to_status, **fields) -> Referral:
    return services.transition_referral(
        actor=None, referral=referral, to_status=to_status, via=EventVia.PROVIDER_LINK, **fields
    )


def business_days_before(now, days):
    """The rule stale_at replaces (counted back from now in the active zone): a referral
    was stale when its last activity was before this."""
    at = timezone.localtime(now)
    remaining = days
    while remaining > 0:
        at -= DAY
        if at.weekday() < 5:
            remaining -= 1
    return at


class TestBusinessDaysAfter:
    @pytest.mark.parametrize(
        ("moment", "days", "expected"),
        [
            # Within a week: the same clock time, days later.
            (la(2026, 3, 2, 9, 15), 3, la(2026, 3, 5, 9, 15)),
            # Across the weekend and the clock change: still 19:30 on the wall.
            (THURSDAY_EVENING, 1, la(2026, 3, 6, 19, 30)),
            (THURSDAY_EVENING, 2, la(2026, 3, 9, 19, 30)),
            (THURSDAY_EVENING, 3, la(2026, 3, 10, 19, 30)),
            (la(2026, 3, 6, 16, 0), 5, la(2026, 3, 13, 16, 0)),
            # From a weekend: counted from Monday's midnight.
            (SATURDAY_NOON, 1, la(2026, 3, 10)),
            (la(2026, 3, 8, 23, 59), 3, la(2026, 3, 12)),
        ],
    )
    def test_it_counts_weekdays_of_the_zone(self, moment, days, expected):
        assert business_days_after(moment, days, LA) == expected

    def test_the_weekdays_are_the_zones_not_utcs(self):
        # Thursday evening in Los Angeles is Friday in UTC: one business day on is
        # Friday evening there, where UTC's weekdays would give Monday.
        assert business_days_after(THURSDAY_EVENING, 1, LA) == datetime.datetime(
            2026, 3, 7, 3, 30, tzinfo=UTC
        )
        assert business_days_after(THURSDAY_EVENING, 1, UTC) == datetime.datetime(
            2026, 3, 9, 3, 30, tzinfo=UTC
        )

    @pytest.mark.parametrize("days", [1, 2, 3])
    def test_from_it_on_the_old_counting_back_says_stale_for_good(self, days):
        """The old rule, counting back from now, flickered over weekends (on Saturday it
        counted Friday as a whole business day, on Sunday morning no longer); stale_at is
        the moment from which it said stale for good, and before it, on weekdays, it
        never did."""
        with timezone.override(LA):
            for hours in range(0, 24 * 7, 5):
                last = datetime.datetime(2026, 3, 2, 8, tzinfo=UTC) + hours * HOUR
                stale_at = business_days_after(last, days, LA)
                for step in range(1, 24 * 6):
                    after = stale_at + step * HOUR
                    assert last < business_days_before(after, days), (last, after)
                    before = stale_at - step * HOUR
                    if before > last and timezone.localtime(before).weekday() < 5:
                        assert last >= business_days_before(before, days), (last, before)


class TestStaleAt:
    """Set through the services, in the same save as the change that moves it."""

    @pytest.mark.parametrize(
        ("need", "expected"),
        [
            (NeedCategory.DOMESTIC_VIOLENCE, la(2026, 3, 6, 19, 30)),  # 1 business day
            (NeedCategory.SUBSTANCE_USE, la(2026, 3, 9, 19, 30)),  # 2
            (NeedCategory.MEDICAL, la(2026, 3, 9, 19, 30)),  # 2
            (NeedCategory.HOUSING, la(2026, 3, 10, 19, 30)),  # 3
            (NeedCategory.FOOD, la(2026, 3, 10, 19, 30)),  # STALE_AFTER_DEFAULT: 3
        ],
    )
    def test_sending_sets_it_business_days_on_in_the_agencys_zone(
        self, clock, alice, alice_case, need, expected
    ):
        referral = send(alice, alice_case, need)

        assert stored(referral) == (expected, False)
        assert referral.stale_at == expected

    def test_sent_on_a_weekend_it_counts_from_monday(self, clock, alice, alice_case):
        clock.move_to(SATURDAY_NOON)
        referral = sent_referral(alice, alice_case, need_category=NeedCategory.DOMESTIC_VIOLENCE)
        assert stored(referral) == (la(2026, 3, 10), False)

    def test_a_draft_never_goes_stale(self, clock, alice, alice_case):
        draft = make_referral(alice, alice_case)
        assert stored(draft) == (None, False)
        assert draft.compute_stale_at() is None

    @pytest.mark.parametrize("to_status", [Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD])
    @pytest.mark.parametrize("need", [NeedCategory.HOUSING, NeedCategory.DOMESTIC_VIOLENCE])
    def test_accepted_and_not_seen_it_is_days_after_the_last_move(
        self, clock, alice, alice_case, to_status, need
    ):
        referral = sent_referral(alice, alice_case, need_category=need)
        clock.move_to(MONDAY_MORNING)

        referral = move_to(referral, to_status)

        connect_days = STALE_AFTER[need][1]
        assert stored(referral) == (MONDAY_MORNING + connect_days * DAY, False)

    def test_its_days_are_24_hours_across_a_clock_change(self, clock, alice, alice_case):
        referral = send(alice, alice_case, NeedCategory.SUBSTANCE_USE)
        clock.move_to(la(2026, 3, 6, 10, 0))  # Friday, PST

        referral = move_to(referral, Status.ACCEPTED)

        # As the rule it replaces (now - 7 days): the wall clock shows 11:00 PDT then.
        assert stored(referral)[0] == la(2026, 3, 13, 11, 0)

    def test_a_service_date_means_it_cannot_go_stale(self, clock, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), Status.ACCEPTED)
        assert stored(referral)[0] is not None

        referral = provider_moves(
            referral, Status.IN_PROGRESS, service_date=alice_case.agency.today()
        )

        assert stored(referral) == (None, False)

    def test_an_appointment_is_activity(self, clock, alice, alice_case):
        referral = sent_referral(alice, alice_case, need_category=NeedCategory.HOUSING)
        clock.move_to(MONDAY_MORNING)

        services.record_appointment(
            actor=None,
            referral=referral,
            via=EventVia.PROVIDER_LINK,
            appointment_at=MONDAY_MORNING + 2 * DAY,
        )

        # Monday 10:00 PDT, three business days on.
        assert stored(referral) == (la(2026, 3, 12, 10, 0), False)

    @pytest.mark.parametrize(
        "to_status",
        [
            Status.REJECTED,
            Status.CANCELLED,
            Status.COMPLETED,
            Status.FAILED,
            Status.ENTERED_IN_ERROR,
        ],
    )
    def test_an_ending_clears_it_and_the_flag(self, clock, alice, alice_case, to_status):
        referral = sent_referral(alice, alice_case)
        clock.move_to(THURSDAY_EVENING + 30 * DAY)
        flag_stale_referrals()
        assert stored(referral)[1] is True

        referral = move_to(referral, to_status, actor=alice)

        assert stored(referral) == (None, False)

    def test_a_move_that_restarts_the_clock_clears_the_flag(self, clock, alice, alice_case):
        referral = sent_referral(alice, alice_case, need_category=NeedCategory.HOUSING)
        clock.move_to(THURSDAY_EVENING + 10 * DAY)
        flag_stale_referrals()
        assert stored(referral)[1] is True

        referral = move_to(referral, Status.ACCEPTED)

        assert stored(referral) == (THURSDAY_EVENING + 40 * DAY, False)


class TestStaleQuerySetAndReason:
    def test_stale_at_any_now_from_stale_at_on(self, clock, alice, alice_case):
        referral = sent_referral(alice, alice_case, need_category=NeedCategory.HOUSING)
        stale_at = la(2026, 3, 10, 19, 30)

        assert not Referral.objects.stale(stale_at - SECOND).exists()
        assert list(Referral.objects.stale(stale_at)) == [referral]
        # Not swept: the exact filter does not wait for the flag.
        assert stored(referral)[1] is False

    def test_the_reason_agrees_with_stale_at(self, clock, alice, alice_case):
        referral = sent_referral(alice, alice_case, need_category=NeedCategory.MEDICAL)
        stale_at = la(2026, 3, 9, 19, 30)
        with timezone.override(LA):
            assert stale_reason(referral, stale_at - SECOND) == ""
            # Saturday afternoon: the old rule flagged it (Friday counted whole); no more.
            assert stale_reason(referral, la(2026, 3, 7, 20, 0)) == ""
            assert stale_reason(referral, stale_at) == "Not accepted after 2 business days"

    def test_the_caseloads_referral_of_three_fields_still_answers(self, clock):
        # casework.views.caseload builds one from its subquery's JSON: no agency, no pk.
        last = THURSDAY_EVENING
        referral = Referral(
            status=Status.ACCEPTED, need_category=NeedCategory.FOOD, last_activity_at=last
        )
        with timezone.override(LA):
            assert stale_reason(referral, last + 14 * DAY - SECOND) == ""
            assert stale_reason(referral, last + 14 * DAY) == (
                "Client not seen and no update for 14 days"
            )

    @postgresql_only
    def test_the_caseloads_lookup_reads_its_index(self, clock, alice, alice_case):
        sent_referral(alice, alice_case)
        query = Referral.objects.stale(timezone.now()).filter(case=alice_case)
        plan = plan_of(query.order_by("last_activity_at", "pk"))
        assert "referral_case_stale_idx" in plan, re.findall(r'"Index Name": "(\w+)"', plan)


class TestStaleSweep:
    def test_it_flags_each_stale_referral_once(self, clock, alice, alice_case, bob, bob_case):
        dv = sent_referral(alice, alice_case, need_category=NeedCategory.DOMESTIC_VIOLENCE)
        housing = sent_referral(bob, bob_case, need_category=NeedCategory.HOUSING)
        assert flag_stale_referrals() == 0

        clock.move_to(la(2026, 3, 6, 19, 30))  # the DV one's stale_at
        assert flag_stale_referrals() == 1
        assert flag_stale_referrals() == 0
        assert stored(dv)[1] is True
        assert stored(housing)[1] is False

        clock.move_to(la(2026, 3, 10, 19, 30))
        assert flag_stale_referrals() == 1
        assert flag_stale_referrals() == 0
        assert Referral.objects.filter(is_stale=True).count() == 2

    def test_beat_runs_it_every_five_minutes(self):
        entry = settings.CELERY_BEAT_SCHEDULE["flag-stale-referrals"]
        assert entry == {
            "task": flag_stale_referrals.name,
            "schedule": 300.0,
        }
        assert flag_stale_referrals.name == "referrals.tasks.flag_stale_referrals"

    @postgresql_only
    def test_it_reads_its_partial_index(self, clock, alice, alice_case):
        sent_referral(alice, alice_case)
        query = Referral.objects.stale(timezone.now()).filter(is_stale=False)
        assert "referral_stale_due_idx" in plan_of(query)


def plan_of(queryset) -> str:
    """The plan PostgreSQL makes when a sequential scan and a sort are its last resort
    (the tables of a test are tiny; at a million rows they would be). The table's
    indexes are rebuilt and its statistics taken first: the rows earlier tests wrote and
    rolled back leave an index as many pages as they filled, and the planner then prefers
    a smaller one for reasons no production table has."""
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"REINDEX TABLE {table}")  # noqa: S608 - a table name of ours
        cursor.execute(f"ANALYZE {table}")  # noqa: S608
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return queryset.explain(format="json")


def node_types(plan: str) -> set[str]:
    found, nodes = set(), [json.loads(plan)[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        found.add(node["Node Type"])
        nodes.extend(node.get("Plans", []))
    return found


class TestReferralList:
    def test_the_agency_admin_sees_the_stale_first_then_the_newest(
        self, clock, login, dana, alice, alice_case, erin, erin_case, bob, bob_case
    ):
        old = sent_referral(erin, erin_case, need_category=NeedCategory.HOUSING)
        clock.move_to(THURSDAY_EVENING + 2 * DAY)
        older_fresh = make_referral(bob, bob_case)
        clock.move_to(THURSDAY_EVENING + 8 * DAY)
        new = sent_referral(alice, alice_case, need_category=NeedCategory.HOUSING)
        flag_stale_referrals()

        response = login(dana).get(LIST_URL)

        assert rows(response) == [old.pk, new.pk, older_fresh.pk]
        assert flagged(response) == {old.pk: "Not accepted after 3 business days"}
        shown = login(dana).get(LIST_URL, {"status": "stale"})
        assert rows(shown) == [old.pk]

    def test_a_referral_joins_the_stale_ones_with_the_next_sweep(
        self, clock, login, alice, alice_case, bob, bob_case
    ):
        due = sent_referral(alice, alice_case, need_category=NeedCategory.DOMESTIC_VIOLENCE)
        clock.move_to(THURSDAY_EVENING + DAY)
        later = make_referral(bob, bob_case)
        client = login(alice)

        # Stale since Friday evening, not swept yet: in its place, without the flag.
        assert rows(client.get(LIST_URL)) == [later.pk, due.pk]
        assert flagged(client.get(LIST_URL)) == {}
        assert rows(client.get(LIST_URL, {"status": "stale"})) == []

        flag_stale_referrals()

        assert rows(client.get(LIST_URL)) == [due.pk, later.pk]
        assert flagged(client.get(LIST_URL)) == {due.pk: "Not accepted after 1 business day"}

    def test_queries_do_not_grow_with_the_rows(
        self, login, dana, alice, django_assert_max_num_queries
    ):
        def add(count):
            for i in range(count):
                case = CaseFactory(client=ClientFactory(agency=alice.agency), assigned_worker=alice)
                ReferralFactory(
                    case=case,
                    status=Status.REQUESTED,
                    sent_at=timezone.now(),
                    last_activity_at=timezone.now() - (10 if i % 2 else 0) * DAY,
                )

        client = login(dana)
        add(2)
        with django_assert_max_num_queries(11):  # +1: the inbox count; +1: the page's ids
            assert len(flagged(client.get(LIST_URL))) == 1
        add(14)
        with django_assert_max_num_queries(11):  # +1: the inbox count; +1: the page's ids
            assert len(flagged(client.get(LIST_URL))) == 8

    @postgresql_only
    @pytest.mark.parametrize("show", ["", "stale"])
    def test_the_agency_admins_page_is_read_in_order_from_its_index(
        self, login, dana, alice, alice_case, show
    ):
        backdate(sent_referral(alice, alice_case), 10)
        sent_referral(alice, alice_case)
        with CaptureQueriesContext(connection) as captured:
            login(dana).get(LIST_URL, {"status": show})
        (page_query,) = [
            query["sql"]
            for query in captured.captured_queries
            if 'FROM "referrals_referral"' in query["sql"] and "ORDER BY" in query["sql"]
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {page_query}")
            (plan,) = cursor.fetchone()
        plan = plan if isinstance(plan, str) else json.dumps(plan)
        assert "referral_agency_stale_idx" in plan
        assert not node_types(plan) & {"Sort", "Incremental Sort"}


def rows(response) -> list[int]:
    """The referral ids of the list's rows, in order."""
    return [int(pk) for pk in re.findall(r'data-referral="(\d+)"', response.content.decode())]


def flagged(response) -> dict[int, str]:
    """Referral id -> its stale flag, for the rows that show one."""
    page = response.content.decode()
    found = {}
    for pk in rows(response):
        row = page[page.index(f'data-referral="{pk}"') :]
        flag = re.search(r'stale-flag">⚠ ([^<]+)<', row[: row.index("</a>")])
        if flag:
            found[pk] = flag[1]
    return found


class TestFilledForExistingRows:
    def test_the_migration_fills_them_as_the_services_do(self, clock, alice, alice_case):
        requested = sent_referral(alice, alice_case)
        clock.move_to(SATURDAY_NOON)
        weekend = sent_referral(alice, alice_case)
        accepted = move_to(sent_referral(alice, alice_case), Status.ACCEPTED)
        seen = provider_moves(
            move_to(sent_referral(alice, alice_case), Status.ACCEPTED),
            Status.IN_PROGRESS,
            service_date=alice_case.agency.today(),
        )
        done = move_to(sent_referral(alice, alice_case), Status.FAILED)
        draft = make_referral(alice, alice_case)
        clock.move_to(THURSDAY_EVENING + 5 * DAY)
        expected = {r.pk: stored(r) for r in (requested, weekend, accepted, seen, done, draft)}
        assert expected[requested.pk][0] < timezone.now() < expected[weekend.pk][0]
        Referral.objects.update(stale_at=None, is_stale=False)

        migration = importlib.import_module(
            "referrals.migrations.0003_referral_stale_at_and_is_stale"
        )
        migration.fill_stale_at(apps, SimpleNamespace(connection=connection))

        # Flagged as of the migration: the one sent on Thursday, since Tuesday evening.
        expected[requested.pk] = (expected[requested.pk][0], True)
        assert {pk: stored(Referral(pk=pk)) for pk in expected} == expected
        assert {k.value: v for k, v in STALE_AFTER.items()} == migration.STALE_AFTER
        assert migration.STALE_AFTER_DEFAULT == STALE_AFTER_DEFAULT

    @postgresql_only
    def test_grown_referrals_hold_what_the_services_would_have_stored(self):
        now = datetime.datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
        with time_machine.travel(now, tick=False):
            call_command(
                "grow_database",
                "--cases",
                "300",
                "--agencies",
                "2",
                "--teams",
                "2",
                "--workers",
                "2",
                "--audit-per-case",
                "1",
                stdout=StringIO(),
            )
        referrals = list(Referral.objects.select_related("agency"))
        live = [r for r in referrals if r.compute_stale_at() is not None]
        assert len(live) > 10
        assert {r.status for r in live} >= {Status.REQUESTED, Status.ACCEPTED}
        for referral in referrals:
            expected = referral.compute_stale_at()
            assert (referral.pk, referral.stale_at) == (referral.pk, expected)
            assert referral.is_stale == (expected is not None and expected <= now)
        assert any(r.is_stale for r in referrals)
