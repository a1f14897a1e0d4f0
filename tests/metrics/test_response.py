"""The response measures (metrics/response.py) and their page: the arithmetic of every
median and 90th percentile, the hour × weekday cells on the agency's clock, who may see
them, the drill-down, the audit trail and the number of queries.

Time stands at 20 March 2025, 03:00 UTC: still Wednesday 19 March, 20:00, in Los Angeles
(Agency A), so the default period (the last 28 days) is 20 February to 19 March. The
requests are made through the dispatch services, the clock moved to each stamp."""

import datetime
import random
import zoneinfo

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import Role
from audit.models import Action, AuditEvent
from dispatch import services
from dispatch.models import (
    ActiveRescue,
    Credential,
    NotServedReason,
    Priority,
    RequestReason,
    RequestSource,
    Step,
)
from metrics.response import percentile, response_measures
from tests.accounts.factories import UserFactory
from tests.dispatch.factories import UnitFactory

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
DENVER = zoneinfo.ZoneInfo("America/Denver")
UTC = datetime.UTC
NOW = datetime.datetime(2025, 3, 20, 3, 0, tzinfo=UTC)
PAGE = reverse("metrics:response")
MINUTE = datetime.timedelta(minutes=1)


def drill(what):
    return reverse("metrics:response_requests", args=[what])


def la(day, hour, minute=0):
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=LA)


@pytest.fixture(autouse=True)
def clock(time_machine):
    """The clock, stopped at NOW; `clock(at)` moves it (to make a stamp at `at`)."""
    time_machine.move_to(NOW, tick=False)

    def move(at):
        time_machine.move_to(at, tick=False)

    return move


@pytest.fixture
def dex(agency_a):
    return UserFactory(username="dex", agency=agency_a, role=Role.DISPATCHER)


@pytest.fixture
def bea(agency_b):
    return UserFactory(username="bea", agency=agency_b, role=Role.DISPATCHER)


def start_shift(unit, crew, dispatcher):
    services.start_shift(unit=unit, members=crew, actor=dispatcher)
    unit.refresh_from_db()
    return unit


def request_data(**overrides):
    data = {
        "source": RequestSource.TEAM_LINE,
        "callback_number": "541-555-0142",
        "location_text": "Skinner Butte Park",
        "reason": RequestReason.MENTAL_HEALTH_CRISIS,
        "priority": Priority.EMERGENT,
    }
    data.update(overrides)
    return data


class Builder:
    """Requests of one agency through the services, each stamp made at its own time."""

    def __init__(self, clock, dispatcher):
        self.clock = clock
        self.dispatcher = dispatcher

    def received(self, at, cad=None, **fields):
        """A request received at `at`; `cad`: a 911 hand-off with that incident number, as
        the dispatcher records it."""
        self.clock(at)
        if cad:
            fields.update(source=RequestSource.CAD_911, cad_incident_number=cad)
        return services.record_request(actor=self.dispatcher, data=request_data(**fields))

    def served(self, at, unit, *, response, on_scene, cad=None, outcome=None, **fields):
        """Received at `at`, a team on scene `response` minutes later, back in service
        `on_scene` minutes after that; `outcome`: fields recorded afterwards."""
        request = self.received(at, cad=cad, **fields)
        self.clock(at + MINUTE)
        services.assign_unit(request=request, unit=unit, actor=self.dispatcher)
        self.clock(at + response * MINUTE)
        services.advance(unit=unit, actor=self.dispatcher, to=Step.EN_ROUTE)
        services.advance(unit=unit, actor=self.dispatcher, to=Step.ON_SCENE)
        self.clock(at + (response + on_scene) * MINUTE)
        services.advance(unit=unit, actor=self.dispatcher, to=Step.BACK_IN_SERVICE)
        if outcome:
            services.edit_request(request=request, actor=self.dispatcher, data=outcome)
        request.refresh_from_db()
        return request

    def not_served(self, at, reason, *, waited, cad=None, **fields):
        request = self.received(at, cad=cad, **fields)
        self.clock(at + waited * MINUTE)
        services.close_not_served(request=request, reason=reason, actor=self.dispatcher)
        request.refresh_from_db()
        return request


@pytest.fixture
def requests(clock, dex, bea, agency_a, agency_b, team_a, team_a2, alice, bob, erin, carol):
    """Agency A's requests of the period (and one before it), Agency B's one."""
    van1 = start_shift(
        UnitFactory(agency=agency_a, team=team_a, call_sign="Van 1"),
        [(alice, Credential.LICENSED_CLINICIAN), (bob, Credential.PEER_SPECIALIST)],
        dex,
    )
    van2 = start_shift(
        UnitFactory(agency=agency_a, team=team_a2, call_sign="Van 2"),
        [(erin, Credential.EMT_PARAMEDIC)],
        dex,
    )
    star = start_shift(
        UnitFactory(agency=agency_b, call_sign="STAR 1"),
        [(carol, Credential.PEER_SPECIALIST)],
        bea,
    )
    a = Builder(clock, dex)
    urgent = {"priority": Priority.URGENT}
    made = {
        "before": a.served(
            datetime.datetime(2025, 2, 1, 12, tzinfo=LA), van1, response=5, on_scene=5
        ),
        "e1": a.served(la(10, 9), van1, response=10, on_scene=30),
        "e2": a.served(
            la(11, 10),
            van1,
            response=20,
            on_scene=30,
            source=RequestSource.LIFELINE_988,
            centre_name="Lines for Life",
            warm_transfer=True,
            line_open_until_arrival=True,
            active_rescue=ActiveRescue.VOLUNTARY,
            police_requested=True,
            police_present=True,
        ),
        "e3": a.served(la(12, 11), van2, response=30, on_scene=60),
        # 03:00 UTC on Thursday 13 March: Wednesday 12 March, 20:00, in Los Angeles.
        "e4": a.served(
            datetime.datetime(2025, 3, 13, 3, 0, tzinfo=UTC), van1, response=40, on_scene=60
        ),
        "u1": a.served(
            la(14, 12),
            van1,
            response=50,
            on_scene=90,
            cad="CAD-1",
            outcome={"involuntary_hold": True, "involuntary_transport": True},
            **urgent,
        ),
        "u2": a.served(la(15, 13), van2, response=130, on_scene=120, **urgent),
        "n1": a.not_served(la(16, 14), NotServedReason.NO_UNIT_AVAILABLE, waited=15, **urgent),
        "n2": a.not_served(
            la(17, 15), NotServedReason.NO_UNIT_AVAILABLE, waited=45, cad="CAD-2", **urgent
        ),
        "n3": a.not_served(
            la(18, 16),
            NotServedReason.DECLINED,
            waited=5,
            source=RequestSource.LIFELINE_988,
            centre_name="Lines for Life",
            active_rescue=ActiveRescue.INVOLUNTARY,
            police_requested=True,
            **urgent,
        ),
        "w1": a.received(la(19, 19, 30), **urgent),
    }
    b = Builder(clock, bea)
    made["b1"] = b.served(
        datetime.datetime(2025, 3, 12, 20, tzinfo=DENVER), star, response=15, on_scene=20
    )
    clock(NOW)
    return made


def measures(agency, start=datetime.date(2025, 2, 20), end=datetime.date(2025, 3, 19)):
    return response_measures(
        agency_id=agency.pk,
        start=start,
        end=end,
        zone=agency.zone,
        targets={Priority.EMERGENT: 60, Priority.URGENT: 120},
    )


def cell(m, day, hour):
    return m.heat[day - 1].cells[hour]


class TestPercentile:
    def test_the_arithmetic_of_percentile_cont(self):
        # Ranks 0..3; median at 1.5: 20 + 0.5 × 10 = 25; p90 at 2.7: 30 + 0.7 × 10 = 37.
        assert percentile([40, 10, 30, 20], 0.5) == 25
        assert percentile([10, 20, 30, 40], 0.9) == pytest.approx(37)
        assert percentile([7], 0.9) == 7
        assert percentile([], 0.5) is None

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own")
    def test_the_same_float_as_postgresql(self, db):
        rng = random.Random(7)
        for n in (1, 2, 3, 10, 101, 1000):
            values = [rng.uniform(0, 20000) for _ in range(n)]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x),"
                    " percentile_cont(0.9) WITHIN GROUP (ORDER BY x) FROM unnest(%s::float8[]) x",
                    [values],
                )
                median, p90 = cursor.fetchone()
            assert (percentile(values, 0.5), percentile(values, 0.9)) == (median, p90)


class TestResponseTime:
    def test_overall_and_by_priority(self, agency_a, requests):
        m = measures(agency_a)
        # All six reached: 10, 20, 30, 40, 50, 130 minutes. Median at rank 2.5: (30 + 40)
        # / 2 = 35; p90 at rank 0.9 × 5 = 4.5: 50 + 0.5 × (130 − 50) = 90.
        assert (m.response.median, m.response.p90, m.response.of) == (35, 90, 6)
        emergent, urgent = m.by_priority
        # Emergent 10, 20, 30, 40: median 25; p90 at rank 2.7: 30 + 0.7 × 10 = 37.
        assert (emergent.response.median, emergent.response.p90) == (25, 37)
        # Urgent 50, 130: median 90; p90 at rank 0.9: 50 + 0.9 × 80 = 122.
        assert (urgent.response.median, urgent.response.p90) == (90, 122)
        assert (emergent.requests.count, urgent.requests.count) == (4, 6)

    def test_the_share_within_each_prioritys_target(self, agency_a, requests):
        emergent, urgent = measures(agency_a).by_priority
        # Emergent within 60 min: all four; urgent within 120: 50 yes, 130 no.
        assert (emergent.within_target.count, emergent.within_target.share) == (4, 1.0)
        assert (urgent.within_target.count, urgent.within_target.share) == (1, 0.5)
        assert measures(agency_a).within_target.count == 5

    def test_time_on_scene(self, agency_a, requests):
        m = measures(agency_a)
        # 30, 30, 60, 60, 90, 120: median (60 + 60) / 2; p90 at 4.5: 90 + 0.5 × 30 = 105.
        assert (m.on_scene.median, m.on_scene.p90, m.on_scene.of) == (60, 105, 6)

    def test_nothing_in_the_period(self, agency_a, requests):
        m = measures(agency_a, datetime.date(2024, 1, 1), datetime.date(2024, 1, 31))
        assert m.requests == 0
        assert (m.response.median, m.response.p90, m.response.of) == (None, None, 0)
        assert m.heat_max == 0


class TestHeatMap:
    def test_cells_are_on_the_agencys_clock(self, agency_a, requests):
        m = measures(agency_a)
        # e4 came in at 03:00 UTC on Thursday 13 March: Wednesday, 20:00, in Los Angeles.
        assert (cell(m, 3, 20).count, cell(m, 3, 20).median_minutes) == (1, 40)
        assert cell(m, 4, 3).count == 0
        assert (cell(m, 1, 9).count, cell(m, 1, 9).median_minutes) == (1, 10)  # e1, Monday
        # w1, still waiting: counted, no response time.
        assert (cell(m, 3, 19).count, cell(m, 3, 19).median_minutes) == (1, None)
        assert sum(c.count for row in m.heat for c in row.cells) == m.requests == 10
        assert [len(row.cells) for row in m.heat] == [24] * 7

    def test_the_page_shows_the_numbers_in_the_cells(self, login, sam, requests):
        body = login(sam).get(PAGE).content.decode()
        assert "<caption" in body and "Requests received by weekday and hour" in body
        assert f'data-cell="cell-3-20"><a href="{drill("cell-3-20")}?' in body
        assert "Wed 20:00: 1 request, median 40.0 min" in body


class TestServedAndNot:
    def test_outcomes_and_reasons(self, agency_a, requests):
        o = measures(agency_a).outcomes
        assert (o.total, o.served.count, o.not_served.count, o.open.count) == (10, 6, 3, 1)
        reasons = {f.key: f.count for f in o.reasons}
        assert reasons == {
            "not-served-no_unit_available": 2,
            "not-served-cancelled_before_arrival": 0,
            "not-served-no_one_found": 0,
            "not-served-handed_to_police_ems": 0,
            "not-served-declined": 1,
        }

    def test_the_wait_of_no_unit_available(self, agency_a, requests):
        wait = measures(agency_a).no_unit_wait
        # 15 and 45 minutes: median 30; p90 at rank 0.9: 15 + 0.9 × 30 = 42.
        assert (wait.median, wait.p90, wait.of) == (30, 42, 2)

    def test_police_and_involuntary_among_the_served(self, agency_a, requests):
        m = measures(agency_a)
        # n3 asked for police too, but was not served: not counted.
        assert (m.police_requested.count, m.police_present.count) == (1, 1)
        assert m.police_requested.share == pytest.approx(1 / 6)
        assert (m.involuntary_hold.count, m.involuntary_transport.count) == (1, 1)

    def test_hand_offs(self, agency_a, requests):
        m = measures(agency_a)
        assert m.lifeline.count == 2
        assert {f.key: f.count for f in m.lifeline_details} == {
            "988-warm": 1,
            "988-line-open": 1,
            "988-rescue-voluntary": 1,
            "988-rescue-involuntary": 1,
        }
        lifeline = m.lifeline_outcomes
        assert (lifeline.served.count, lifeline.not_served.count) == (1, 1)
        assert {f.key: f.count for f in lifeline.reasons}["988-not-served-declined"] == 1
        cad = m.cad_outcomes
        assert (m.cad.count, cad.served.count, cad.not_served.count) == (2, 1, 1)
        assert {f.key: f.count for f in cad.reasons}["cad-not-served-no_unit_available"] == 1

    def test_sources_and_crews(self, agency_a, requests):
        m = measures(agency_a)
        assert {f.key: f.count for f in m.by_source} == {
            "source-team_line": 6,
            "source-lifeline_988": 2,
            "source-cad_911": 2,
            "source-police": 0,
            "source-self": 0,
            "source-other": 0,
        }
        assert [(f.key, f.label, f.count) for f in m.crews] == [
            ("crew-licensed_clinician-peer_specialist", "Licensed clinician + Peer specialist", 4),
            ("crew-emt_paramedic", "EMT or paramedic", 2),
        ]

    def test_another_agency_is_never_counted(self, agency_a, agency_b, requests):
        assert measures(agency_a).requests == 10
        b = measures(agency_b)
        assert (b.requests, b.response.median, b.outcomes.served.count) == (1, 15, 1)
        assert [(f.key, f.count) for f in b.crews] == [("crew-peer_specialist", 1)]


# --- The page -------------------------------------------------------------------------------


def listed(response):
    return [row.pk for row, _ in response.context["rows"]]


class TestWhoMaySee:
    @pytest.mark.parametrize("persona", ["dex", "sam", "dana"])
    @pytest.mark.parametrize("url", [PAGE, drill("served")])
    def test_dispatchers_supervisors_and_admins_of_the_agency(
        self, request, login, requests, persona, url
    ):
        response = login(request.getfixturevalue(persona)).get(url)
        assert response.status_code == 200

    @pytest.mark.parametrize("persona", ["alice", "carol", "root"])
    @pytest.mark.parametrize("url", [PAGE, drill("served")])
    def test_everyone_else_is_refused_and_audited(self, request, login, persona, url):
        user = request.getfixturevalue(persona)
        assert login(user).get(url).status_code == 403
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()

    def test_anonymous_is_sent_to_sign_in(self, client):
        assert client.get(PAGE).status_code == 302

    def test_another_agencys_dispatcher_sees_only_their_own(self, login, bea, requests):
        response = login(bea).get(PAGE)
        assert response.context["m"].requests == 1
        assert listed(login(bea).get(drill("all"))) == [requests["b1"].pk]

    def test_no_request_of_another_agency_is_listed(self, login, dex, requests):
        ids = listed(login(dex).get(drill("all")))
        assert requests["b1"].pk not in ids and len(ids) == 10


class TestPage:
    def test_defaults_to_the_last_28_days_of_the_agency(self, login, sam, requests):
        m = login(sam).get(PAGE).context["m"]
        assert (m.start, m.end) == (datetime.date(2025, 2, 20), datetime.date(2025, 3, 19))
        assert m.requests == 10  # not "before", received 1 February

    def test_a_preset(self, login, sam, requests):
        m = login(sam).get(PAGE, {"days": "90"}).context["m"]
        assert (m.start, m.requests) == (datetime.date(2024, 12, 20), 11)

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "2025-13-01"}, "start"),
            ({"start": "2025-03-10", "end": "2025-03-01"}, "end"),
            ({"start": "2023-01-01", "end": "2025-03-01"}, "start"),
            ({"start": "9999-12-31"}, "start"),
            ({"end": "0001-01-01"}, "end"),
            ({"days": "12"}, "days"),
        ],
    )
    def test_bad_dates_are_form_errors(self, login, sam, query, field):
        response = login(sam).get(PAGE, query)
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert response.context["m"].start == datetime.date(2025, 2, 20)

    def test_every_count_links_to_its_requests(self, login, sam, requests):
        body = login(sam).get(PAGE).content.decode()
        query = "?start=2025-02-20&amp;end=2025-03-19"
        for key in ("all", "served", "not-served-declined", "within-urgent", "988-warm", "cad"):
            assert f'href="{drill(key)}{query}"' in body


class TestDrillDown:
    @pytest.mark.parametrize(
        ("key", "names"),
        [
            ("served", ["u2", "u1", "e4", "e3", "e2", "e1"]),
            ("not-served-no_unit_available", ["n2", "n1"]),
            ("open", ["w1"]),
            ("within-urgent", ["u1"]),
            ("cell-3-20", ["e4"]),
            ("crew-emt_paramedic", ["u2", "e3"]),
            ("crew-licensed_clinician-peer_specialist", ["u1", "e4", "e2", "e1"]),
            ("988-rescue-involuntary", ["n3"]),
            ("hold", ["u1"]),
            ("police-requested", ["e2"]),
        ],
    )
    def test_the_requests_behind_a_count_newest_first(self, login, dex, requests, key, names):
        response = login(dex).get(drill(key))
        assert listed(response) == [requests[name].pk for name in names]

    def test_the_list_shows_the_response_time(self, login, dex, requests):
        body = login(dex).get(drill("cell-3-20")).content.decode()
        assert "40.0 min" in body and "Emergent" in body and "Completed" in body

    @pytest.mark.parametrize("key", ["nothing", "cell-8-01", "cell-1-24", "crew-pilot", "within-x"])
    def test_an_unknown_count_is_a_404(self, login, dex, key):
        assert login(dex).get(drill(key)).status_code == 404

    def test_it_pages(self, login, dex, requests, settings):
        response = login(dex).get(drill("all"), {"page": "2"})
        assert response.status_code == 200 and response.context["page"].number == 1


class TestAudit:
    def test_the_page_view_is_audited_with_its_period(self, login, sam, requests):
        login(sam).get(PAGE)
        event = AuditEvent.objects.get(actor=sam, object_type="metrics_response")
        assert event.action == Action.LIST
        assert event.detail["filters"] == {"start": "2025-02-20", "end": "2025-03-19"}

    def test_the_drill_down_names_every_request_shown(self, login, dex, requests):
        login(dex).get(drill("not-served"))
        event = AuditEvent.objects.get(actor=dex, object_type="teamrequest", action=Action.LIST)
        assert sorted(event.detail["ids"]) == sorted(requests[n].pk for n in ("n1", "n2", "n3"))
        assert event.detail["metric"] == "not-served"


class TestQueries:
    def test_the_page_runs_a_fixed_number_of_queries(
        self, login, sam, requests, django_assert_max_num_queries
    ):
        http = login(sam)
        # Session, user, agency, the dispatch settings, the aggregate, the cells, the
        # crews, (SQLite: the stamps), the audit row, the inbox badge, and the session's
        # update (three with its savepoint): 12 on PostgreSQL, whatever the rows.
        with django_assert_max_num_queries(13):
            assert http.get(PAGE).status_code == 200

    def test_the_drill_down_too(self, login, dex, requests, django_assert_max_num_queries):
        http = login(dex)
        # Session, user, agency, settings, the count and the page's rows (every column
        # shown is the request's own), the audit row, the badge, the session's update.
        with django_assert_max_num_queries(11):
            assert http.get(drill("all")).status_code == 200
