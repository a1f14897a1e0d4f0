"""The dispatch pages: the board, a request's pages, and the team's phone. Who may open
each, what they show, that their actions go through the services, and that the board's
queries do not grow with its rows."""

import datetime

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from dispatch import services
from dispatch.models import (
    Alert,
    AlertKind,
    RequestStatus,
    ShiftMember,
    TeamRequest,
    Unit,
    UnitStatus,
)
from dispatch.services import safety
from tests.dispatch.conftest import request_data
from tests.dispatch.factories import UnitFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("dispatch:board")
PANELS = reverse("dispatch:board_panels")
UNIT = reverse("dispatch:unit")


class TestWhoOpensTheBoard:
    @pytest.mark.parametrize("persona", ["dex", "sam"])
    def test_dispatchers_and_supervisors(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(BOARD).status_code == 200
        assert client.get(PANELS).status_code == 200

    @pytest.mark.parametrize("persona", ["alice", "dana", "root"])
    def test_nobody_else_and_the_refusal_is_audited(self, client, persona, request):
        user = request.getfixturevalue(persona)
        client.force_login(user)
        assert client.get(BOARD).status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="dispatch board"
        ).exists()

    def test_signed_out_goes_to_sign_in(self, client):
        assert client.get(BOARD).url.startswith(reverse("login"))

    def test_a_dispatcher_lands_on_the_board(self, client, dex):
        client.force_login(dex)
        assert client.get(reverse("casework:caseload")).url == BOARD


class TestBoard:
    def test_it_shows_waiting_emergent_first_against_the_target(
        self, client, dex, new_request, frozen
    ):
        urgent = new_request(priority="urgent", reason="intoxication")
        frozen.shift(minutes=61)
        emergent = new_request()
        frozen.shift(minutes=5)
        client.force_login(dex)

        rows = client.get(PANELS).context["waiting"]
        assert [r["request"].pk for r in rows] == [emergent.pk, urgent.pk]
        assert [(r["waited"], r["target"], r["late"]) for r in rows] == [
            (5, 60, False),
            (66, 120, False),
        ]

    def test_a_request_past_its_target_is_marked(self, client, dex, new_request, frozen):
        new_request()
        frozen.shift(minutes=60)
        client.force_login(dex)
        page = client.get(PANELS)
        assert page.context["waiting"][0]["late"]
        assert "over target" in page.content.decode()

    def test_it_shows_units_alerts_and_the_map(
        self, client, dex, request_at, on_shift, alice, frozen
    ):
        services.set_position_sharing(unit=on_shift, actor=alice, shares=True)
        services.record_position(unit=on_shift, actor=alice, latitude="44.05", longitude="-123.09")
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        client.force_login(dex)

        page = client.get(BOARD)
        html = page.content.decode()
        assert "Check-in missed: Van 1" in html
        assert [a.kind for a in page.context["alerts"]] == [AlertKind.CHECK_IN_MISSED]
        assert page.context["live_assignments"][0].unit == on_shift
        assert {"kind": "unit", "label": "Van 1"}.items() <= page.context["markers"][0].items()
        assert 'id="dispatch-markers"' in html

    def test_it_lists_what_closed_in_the_last_hours(
        self, client, dex, request_at, on_shift, alice, new_request, frozen
    ):
        served = request_at("on_scene")
        frozen.shift(minutes=30)
        services.advance(unit=on_shift, actor=alice, to="back_in_service")
        unserved = new_request(location_text="Amazon Park")
        services.close_not_served(request=unserved, reason="no_one_found", actor=dex)
        frozen.shift(hours=11)
        new_request(location_text="Still waiting")
        client.force_login(dex)

        page = client.get(PANELS)
        assert [r.pk for r in page.context["closed"]] == [unserved.pk, served.pk]
        html = page.content.decode()
        assert "Not served: no one found" in html and "on scene after 0 min" in html

        frozen.shift(hours=2)  # received more than 12 hours ago
        client.force_login(dex)  # a new shift's sign-in (SESSION_MAX_HOURS)
        assert client.get(PANELS).context["closed"] == []

    def test_it_names_no_client_and_reads_none(self, client, dex, new_request, alice_case):
        new_request(client=alice_case.client)
        client.force_login(dex)
        before = AuditEvent.objects.count()
        html = client.get(PANELS).content.decode()
        assert alice_case.client.display_name not in html
        assert AuditEvent.objects.count() == before

    def test_another_agencys_board_is_never_seen(self, client, bea, new_request, on_shift, van_b):
        new_request()
        client.force_login(bea)
        page = client.get(PANELS)
        assert page.context["waiting"] == []
        assert [u.call_sign for u in page.context["units"]] == ["STAR 1"]

    def test_its_queries_do_not_grow_with_its_rows(
        self, client, dex, new_request, request_at, agency_a, django_assert_max_num_queries
    ):
        client.force_login(dex)
        request_at("en_route")
        with django_assert_max_num_queries(16):
            small = client.get(PANELS)
        for n in range(8):
            new_request(location_text=f"Place {n}")
            UnitFactory(agency=agency_a, call_sign=f"Van {n + 10}")
        with django_assert_max_num_queries(16) as captured:
            big = client.get(PANELS)
        assert len(big.context["waiting"]) == len(small.context["waiting"]) + 8
        assert len(captured) <= 16


class TestResolveAlert:
    def test_a_dispatcher_resolves_it_from_the_board(self, client, dex, on_shift, alice):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        client.force_login(dex)
        url = reverse("dispatch:alert_resolve", args=[alert.pk])
        response = client.post(url, {"resolution": "Spoke to the team: safe"})
        assert response.url == BOARD
        alert.refresh_from_db()
        assert (alert.resolved_by, alert.resolution) == (dex, "Spoke to the team: safe")

    def test_without_how_nothing_changes(self, client, dex, on_shift, alice):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        client.force_login(dex)
        client.post(reverse("dispatch:alert_resolve", args=[alert.pk]), {"resolution": ""})
        assert Alert.objects.get().is_open

    def test_another_agencys_alert_is_not_found(self, client, bea, on_shift, alice):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        client.force_login(bea)
        url = reverse("dispatch:alert_resolve", args=[alert.pk])
        assert client.post(url, {"resolution": "x"}).status_code == 404


class TestNewRequest:
    def test_a_dispatcher_records_one(self, client, dex):
        client.force_login(dex)
        response = client.post(
            reverse("dispatch:request_new"),
            {
                "priority": "emergent",
                "reason": "suicidal",
                "source": "lifeline_988",
                "location_text": "Amazon Park",
                "latitude": "44.0339",
                "longitude": "-123.0897",
                "weapons": "false",
                "violence_history": "",
                "animals": "true",
                "centre_name": "Lines for Life",
                "warm_transfer": "true",
            },
        )
        request = TeamRequest.objects.get()
        assert response.url == reverse("dispatch:request", args=[request.pk])
        assert (request.weapons, request.violence_history, request.animals) == (False, None, True)
        assert (request.centre_name, request.warm_transfer, request.created_by) == (
            "Lines for Life",
            True,
            dex,
        )

    def test_a_bad_request_shows_its_errors_and_records_nothing(self, client, dex):
        client.force_login(dex)
        page = client.post(
            reverse("dispatch:request_new"),
            {"priority": "emergent", "reason": "suicidal", "source": "team_line", "latitude": "44"},
        )
        assert page.status_code == 200
        assert "Give both latitude and longitude" in page.content.decode()
        assert not TeamRequest.objects.exists()

    def test_the_988_details_only_on_a_988_hand_off(self, client, dex):
        client.force_login(dex)
        page = client.post(
            reverse("dispatch:request_new"),
            {
                "priority": "urgent",
                "reason": "suicidal",
                "source": "police",
                "location_text": "Amazon Park",
                "centre_name": "Lines for Life",
            },
        )
        assert page.status_code == 200
        assert "only for a 988 hand-off" in page.content.decode()
        assert not TeamRequest.objects.exists()

    def test_a_worker_cannot(self, client, alice):
        client.force_login(alice)
        assert client.get(reverse("dispatch:request_new")).status_code == 403


class TestRequestPage:
    def test_it_suggests_the_nearest_and_sends_it(
        self, client, dex, new_request, on_shift, van2_on_shift
    ):
        request = new_request()
        client.force_login(dex)
        page = client.get(reverse("dispatch:request", args=[request.pk]))
        assert {s.unit for s in page.context["suggestions"]} == {on_shift, van2_on_shift}

        client.post(reverse("dispatch:request_assign", args=[request.pk]), {"unit": on_shift.pk})
        request.refresh_from_db()
        assert request.status == RequestStatus.ASSIGNED

    def test_a_refusal_is_a_message_not_an_error(self, client, dex, new_request, van):
        request = new_request()
        client.force_login(dex)
        response = client.post(
            reverse("dispatch:request_assign", args=[request.pk]), {"unit": van.pk}, follow=True
        )
        assert response.status_code == 200
        assert "Van 1 is off shift: choose an available unit." in response.content.decode()
        request.refresh_from_db()
        assert request.status == RequestStatus.WAITING

    def test_reading_one_that_names_a_client_is_audited(self, client, dex, new_request, alice_case):
        request = new_request(client=alice_case.client)
        client.force_login(dex)
        page = client.get(reverse("dispatch:request", args=[request.pk]))
        assert alice_case.client.display_name in page.content.decode()
        assert AuditEvent.objects.filter(
            actor=dex, action=Action.VIEW, client_id=alice_case.client_id
        ).exists()

    def test_another_agency_gets_404(self, client, bea, new_request):
        request = new_request()
        client.force_login(bea)
        for name in ("dispatch:request", "dispatch:request_edit"):
            assert client.get(reverse(name, args=[request.pk])).status_code == 404
        url = reverse("dispatch:request_assign", args=[request.pk])
        assert client.post(url, {"unit": 1}).status_code == 404

    def test_closing_it_unserved(self, client, dex, new_request):
        request = new_request()
        client.force_login(dex)
        client.post(
            reverse("dispatch:request_not_served", args=[request.pk]),
            {"reason": "no_unit_available", "notes": "All vans out"},
        )
        request.refresh_from_db()
        assert (request.status, request.not_served_reason) == (
            RequestStatus.NOT_SERVED,
            "no_unit_available",
        )

    def test_releasing_the_unit(self, client, dex, request_at):
        request = request_at("en_route")
        client.force_login(dex)
        client.post(reverse("dispatch:request_release", args=[request.pk]), {"reason": "diverted"})
        request.refresh_from_db()
        assert request.status == RequestStatus.WAITING

    def test_correcting_it_keeps_how_it_came_in(self, client, dex, new_request):
        request = new_request()
        client.force_login(dex)
        data = {
            k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
            for k, v in request_data(weapons=True, source="police").items()
        }
        client.post(reverse("dispatch:request_edit", args=[request.pk]), data)
        request.refresh_from_db()
        assert request.weapons is True
        assert request.source == "team_line"


class TestPhone:
    def test_off_shift_it_offers_to_start_one(self, client, alice, van, bob):
        client.force_login(alice)
        page = client.get(UNIT)
        assert "Start a shift" in page.content.decode()
        client.post(
            UNIT,
            {
                "unit": van.pk,
                "credential": "licensed_clinician",
                "partner": bob.pk,
                "partner_credential": "peer_specialist",
                "shares_position": "on",
            },
        )
        van.refresh_from_db()
        assert van.status == UnitStatus.AVAILABLE and van.shares_position
        assert set(ShiftMember.objects.values_list("user__username", "credential")) == {
            ("alice", "licensed_clinician"),
            ("bob", "peer_specialist"),
        }

    def test_the_team_moves_through_every_step_with_one_tap_each(
        self, client, alice, request_at, on_shift
    ):
        request = request_at("assigned", weapons=True, hazard_notes="Knife reported")
        client.force_login(alice)
        html = client.get(UNIT).content.decode()
        assert "Weapons" in html and "Knife reported" in html

        client.post(reverse("dispatch:unit_acknowledge"))
        client.post(reverse("dispatch:unit_step"))  # en route
        client.post(reverse("dispatch:unit_step"))  # on scene
        client.post(
            reverse("dispatch:unit_step"),
            {
                "to": "transporting",
                "destination": "Crisis centre",
                "involuntary_hold": "false",
                "involuntary_transport": "false",
            },
        )
        client.post(reverse("dispatch:unit_step"))  # at destination
        client.post(reverse("dispatch:unit_step"))  # transfer of care
        client.post(reverse("dispatch:unit_step"))  # back in service
        request.refresh_from_db()
        on_shift.refresh_from_db()
        assert request.status == RequestStatus.COMPLETED
        assert all(
            getattr(request, stamp)
            for stamp in (
                "acknowledged_at",
                "en_route_at",
                "on_scene_at",
                "left_scene_at",
                "at_destination_at",
                "transfer_of_care_at",
                "back_in_service_at",
            )
        )
        assert (request.involuntary_hold, request.involuntary_transport) == (False, False)
        assert on_shift.status == UnitStatus.AVAILABLE
        page = client.get(UNIT).content.decode()
        assert f"?request={request.pk}" in page

    def test_on_scene_it_checks_in_and_sends_sos(self, client, alice, request_at, on_shift):
        request_at("on_scene")
        client.force_login(alice)
        client.post(reverse("dispatch:unit_check_in"))
        assert on_shift.events.filter(kind="checked_in").exists()
        client.post(reverse("dispatch:unit_sos"), {"latitude": "44.0", "longitude": "-123.0"})
        alert = Alert.objects.get(kind=AlertKind.SOS)
        assert alert.raised_by == alice

    def test_the_team_closes_what_it_could_not_serve(self, client, alice, request_at):
        request = request_at("en_route")
        client.force_login(alice)
        client.post(reverse("dispatch:unit_not_served"), {"reason": "no_one_found"})
        request.refresh_from_db()
        assert request.not_served_reason == "no_one_found"

    def test_positions_while_sharing_and_a_clear_refusal_otherwise(self, client, alice, on_shift):
        client.force_login(alice)
        url = reverse("dispatch:unit_position")
        refused = client.post(url, {"latitude": "44.0", "longitude": "-123.0"})
        assert refused.status_code == 400 and "does not share" in refused.json()["detail"]
        client.post(reverse("dispatch:unit_sharing"), {"shares": "on"})
        assert client.post(url, {"latitude": "44.0", "longitude": "-123.0"}).status_code == 204
        assert client.post(url, {"latitude": "95", "longitude": "-123.0"}).status_code == 400
        on_shift.refresh_from_db()
        assert str(on_shift.last_latitude) == "44.000000"

    def test_someone_off_shift_changes_nothing(self, client, erin, request_at):
        request = request_at("assigned")
        client.force_login(erin)
        client.post(reverse("dispatch:unit_step"))
        client.post(reverse("dispatch:unit_sos"))
        request.refresh_from_db()
        assert request.status == RequestStatus.ASSIGNED
        assert not Alert.objects.exists()

    def test_the_panel_has_a_fixed_number_of_queries(
        self, client, alice, request_at, django_assert_max_num_queries
    ):
        request_at("on_scene")
        client.force_login(alice)
        with django_assert_max_num_queries(14):
            client.get(reverse("dispatch:unit_panel"))

    def test_the_team_takes_its_unit_out_of_service_and_back(self, client, alice, on_shift):
        client.force_login(alice)
        url = reverse("dispatch:unit_service", args=[on_shift.pk])
        client.post(url, {"to": "out", "reason": "Restocking", "back": "unit"})
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.OUT_OF_SERVICE
        client.post(url, {"to": "in", "back": "unit"})
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.AVAILABLE

    def test_another_team_cannot(self, client, erin, on_shift):
        client.force_login(erin)
        url = reverse("dispatch:unit_service", args=[on_shift.pk])
        assert client.post(url, {"to": "out", "reason": "x"}).status_code == 403
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.AVAILABLE

    def test_ending_the_shift(self, client, alice, on_shift):
        client.force_login(alice)
        client.post(reverse("dispatch:unit_end_shift"))
        assert Unit.objects.get(pk=on_shift.pk).status == UnitStatus.OFF_SHIFT


class TestKnownClient:
    LOOKUP = reverse("dispatch:client_lookup")

    @pytest.fixture
    def known(self, alice_case):
        client = alice_case.client
        client.legal_name, client.date_of_birth = "Morgan Ellis", datetime.date(1985, 6, 30)
        client.refresh_search_keys()
        client.save()
        return client

    def test_a_dispatcher_finds_the_person_by_name_and_birth_date(self, client, dex, known):
        client.force_login(dex)
        page = client.get(
            self.LOOKUP, {"lookup-name": "morgan ellis", "lookup-date_of_birth": "1985-06-30"}
        )
        assert [s.client for s in page.context["found"]] == [known]
        assert f'data-use-client="{known.pk}"' in page.content.decode()
        search = AuditEvent.objects.get(actor=dex, action=Action.SEARCH)
        assert search.detail["ids"] == [known.pk]
        assert "Morgan" not in str(search.detail)

    def test_a_name_alone_looks_nobody_up(self, client, dex, known):
        client.force_login(dex)
        page = client.get(self.LOOKUP, {"lookup-name": "Morgan Ellis"})
        assert page.context["found"] == [] and not page.context["form"].is_valid()
        assert not AuditEvent.objects.filter(actor=dex, action=Action.SEARCH).exists()

    def test_another_agencys_dispatcher_finds_nobody(self, client, bea, known):
        client.force_login(bea)
        page = client.get(
            self.LOOKUP, {"lookup-name": "Morgan Ellis", "lookup-date_of_birth": "1985-06-30"}
        )
        assert page.context["found"] == []

    def test_a_worker_cannot_use_it(self, client, alice):
        client.force_login(alice)
        assert client.get(self.LOOKUP, {"lookup-name": "x"}).status_code == 403

    @staticmethod
    def record_for(client, person):
        return client.post(
            reverse("dispatch:request_new"),
            {
                "priority": "urgent",
                "reason": "welfare_check",
                "source": "team_line",
                "location_text": "Amazon Park",
                "client": person.pk,
            },
        )

    def test_the_request_names_the_chosen_client(self, client, dex, known):
        client.force_login(dex)
        self.record_for(client, known)
        assert TeamRequest.objects.get().client == known

    def test_another_agencys_client_is_refused(self, client, bea, known):
        client.force_login(bea)
        page = self.record_for(client, known)
        assert "not found in your agency" in page.content.decode()
        assert not TeamRequest.objects.exists()
