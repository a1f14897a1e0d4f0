"""Garbage sent to the pages answers with a form error or a 4xx, never a 500, and
changes nothing that was saved."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Client, Contact
from followups.models import FollowUp, HospitalVisit
from followups.services import MAX_DUE_AHEAD

HUGE = "x" * 100_000
NUL = "abc\x00def"
BAD_IDS = ["abc", "-1", "99999999999999999999999", "1.5", NUL, ""]
GARBAGE_VALUES = [
    HUGE,
    NUL,
    "-1",
    "99999999999999999999999",
    "2026-13-45T99:99",
    "<script>",
    "null",
]


def garbage_bodies(fields):
    """One body per garbage value, that value in every field, plus a few mixed ones."""
    bodies = [{name: value for name in fields} for value in GARBAGE_VALUES]
    bodies.append({})
    bodies.append({name: [HUGE, NUL] for name in fields})
    return bodies


CONTACT_FIELDS = [
    "client", "confirm_new", "legal_name", "preferred_name", "date_of_birth", "estimated_age",
    "pronouns", "preferred_language", "phone", "where_to_find", "identifier_kind",
    "identifier_value", "source", "received_at", "dispatched_at", "on_scene_at", "cleared_at",
    "call_nature", "location", "attended_by", "others_present", "presenting_concerns",
    "cssrs_performed", "cssrs_wish_dead", "cssrs_suicidal_thoughts", "cssrs_method",
    "cssrs_intent", "cssrs_plan", "cssrs_behavior", "cssrs_behavior_recent",
    "services_on_scene", "police_backup_requested", "arrest", "injury", "disposition",
    "narrative", "submission_id",
]  # fmt: skip


@pytest.fixture
def saved(alice_case):
    """What was saved before the garbage arrived."""
    return {
        "clients": Client.objects.count(),
        "cases": list(Case.objects.values_list("pk", "status", "assigned_worker_id")),
        "contacts": list(Contact.objects.values_list("pk", "narrative", "amendment_count")),
    }


def unchanged(saved):
    return saved == {
        "clients": Client.objects.count(),
        "cases": list(Case.objects.values_list("pk", "status", "assigned_worker_id")),
        "contacts": list(Contact.objects.values_list("pk", "narrative", "amendment_count")),
    }


class TestWorkerPages:
    def test_new_contact(self, client, alice, saved):
        client.force_login(alice)
        url = reverse("casework:contact_new")
        for body in garbage_bodies(CONTACT_FIELDS):
            assert client.post(url, body).status_code in (200, 400), body.get("legal_name", "")[:20]
        for value in BAD_IDS:
            assert client.get(url, {"client": value}).status_code in (200, 404)
        assert unchanged(saved)

    def test_suggestions_draft_and_search(self, client, alice, saved):
        client.force_login(alice)
        for body in garbage_bodies(
            ["legal_name", "date_of_birth", "phone", "identifier_kind", "identifier_value"]
        ):
            assert client.get(reverse("casework:client_suggest"), body).status_code in (200, 400)
        for body in garbage_bodies(
            ["narrative", "received_at", "client", "discard", "submission_id"]
        ):
            assert client.post(reverse("casework:contact_draft"), body).status_code in (
                200,
                302,
                400,
            )
        for body in garbage_bodies(["q", "page"]):
            assert client.get(reverse("cases:client_search"), body).status_code in (200, 400)
        assert unchanged(saved)

    def test_case_contact_and_client_forms(self, client, alice, alice_case, saved):
        client.force_login(alice)
        contact = alice_case.contacts.get()
        forms = [
            (reverse("casework:case_close", args=[alice_case.pk]), ["reason", "note"]),
            (reverse("casework:case_concerns", args=[alice_case.pk]), ["concerns"]),
            (reverse("cases:contact_amend", args=[contact.pk]), ["reason", "narrative", "received_at", "call_nature", "source", "disposition"]),
            (reverse("cases:client_edit", args=[alice_case.client_id]), ["legal_name", "date_of_birth", "estimated_age", "identifier_hmis"]),
        ]  # fmt: skip
        for url, fields in forms:
            for body in garbage_bodies(fields):
                # An empty body is a valid "no concerns" for the concerns form (302).
                assert client.post(url, body).status_code in (200, 302, 400), url
        # The concerns form may legitimately clear the concerns; nothing else changed.
        assert unchanged(saved)

    def test_emergency_access(self, client, erin, alice_case, saved):
        client.force_login(erin)
        url = reverse("casework:emergency_access", args=[alice_case.pk])
        for body in garbage_bodies(["reason"]):
            assert client.post(url, body).status_code in (200, 302, 400)

    @pytest.mark.parametrize("bad", ["99999999999999999999999", "0", "00"])
    def test_ids_out_of_range_in_urls_are_404(self, client, alice, alice_case, bad):
        client.force_login(alice)
        for path in (
            "/cases/{}/",
            "/cases/contacts/{}/",
            "/cases/clients/{}/",
            "/cases/{}/emergency-access/",
        ):
            assert client.get(path.format(bad)).status_code == 404, path


class TestSupervisionAndAuditPages:
    def test_supervisor_pages(self, client, sam, alice_case, saved):
        client.force_login(sam)
        for body in garbage_bodies(["worker", "page"]):
            assert client.get(reverse("supervision:team"), body).status_code in (200, 400)
        for body in garbage_bodies(
            ["status", "team", "worker", "risk_level", "opened_from", "opened_to", "page"]
        ):
            assert client.get(reverse("supervision:case_list"), body).status_code in (200, 400)
        for body in garbage_bodies(["assigned_worker", "worker", "to_worker"]):
            url = reverse("supervision:reassign_case", args=[alice_case.pk])
            assert client.post(url, body).status_code in (200, 400)
        for body in garbage_bodies(["from_worker", "to_worker", "confirm"]):
            url = reverse("supervision:reassign_caseload")
            assert client.post(url, body).status_code in (200, 302, 400)
        for bad in BAD_IDS[:4]:
            url = f"/supervision/emergency-access/{bad}/review/"
            assert client.post(url, {"note": HUGE}).status_code in (400, 404)
        assert unchanged(saved)

    def test_audit_trail(self, client, dana, alice_case):
        client.force_login(dana)
        fields = ["user", "action", "object_type", "client_id", "date_from", "date_to", "page"]
        for body in garbage_bodies(fields):
            assert client.get(reverse("audit:trail"), body).status_code in (200, 400)


# --- Follow-ups, notifications and metrics ----------------------------------------------

FOLLOWUP_DATES = ["0001-01-01T00:00", "9999-12-31T23:59", "99999-01-01T00:00", "9999-12-31"]


def followup_state():
    from followups.models import Attempt, Enrolment, FollowUp, HospitalVisit

    return (
        list(FollowUp.objects.values_list("pk", "status", "due_at", "window_end")),
        Attempt.objects.count(),
        list(HospitalVisit.objects.values_list("pk", "discharged_at")),
        list(Enrolment.objects.values_list("pk", "status")),
    )


class TestFollowUpPages:
    @pytest.mark.slow
    def test_followup_forms(self, client, alice, alice_case, saved):
        from tests.followups.factories import due_followup, ed_visit

        fu = due_followup(alice_case)
        visit = ed_visit(alice_case)
        enrolment = alice_case.enrolments.order_by("pk").first()
        before = followup_state()
        client.force_login(alice)
        forms = {
            reverse("followups:attempt", args=[fu.pk]): ["outcome", "method", "note"],
            reverse("followups:move", args=[fu.pk]): ["due_at", "reason"],
            reverse("followups:cancel", args=[fu.pk]): ["reason"],
            reverse("casework:followup_add", args=[alice_case.pk]): ["due_at", "method", "reason"],
            reverse("casework:visit_add", args=[alice_case.pk]): [
                "kind", "reason", "arrived_at", "discharged_at", "admitted", "facility",
            ],
            reverse("casework:visit_discharge", args=[visit.pk]): ["discharged_at"],
            reverse("casework:enrolment_end", args=[enrolment.pk]): [],
        }  # fmt: skip
        for url, fields in forms.items():
            for body in garbage_bodies(fields):
                for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                    response = client.post(url, body, **headers)
                    # Some garbage is a valid reason ("-1"): that one may be saved.
                    assert response.status_code in (200, 302, 400), (url, response.status_code)
            for when in FOLLOWUP_DATES:
                body = {name: when for name in fields} | {"reason": "x", "outcome": "no_answer"}
                assert client.post(url, body).status_code in (200, 302, 400), (url, when)
        # No time at either end of the calendar was saved, and every window still holds.
        now = timezone.now()
        for row in FollowUp.objects.all():
            assert row.window_start <= row.due_at <= row.window_end
            assert now - datetime.timedelta(days=2) < row.due_at < now + MAX_DUE_AHEAD
        assert not HospitalVisit.objects.filter(arrived_at__year__lt=1990).exists()
        assert followup_state()[2] == before[2]  # no discharge was recorded from garbage
        assert saved["contacts"] == list(
            Contact.objects.values_list("pk", "narrative", "amendment_count")
        )

    def test_followup_reads_and_contact_link(self, client, alice, alice_case, saved):
        client.force_login(alice)
        for value in BAD_IDS + ["9223372036854775808"]:
            response = client.get(reverse("casework:contact_new"), {"followup": value})
            assert response.status_code in (200, 404), value
        for params in garbage_bodies(["page", "status"]):
            assert client.get(reverse("followups:today"), params).status_code == 200
            assert client.get(reverse("notifications:inbox"), params).status_code == 200

    def test_metrics_and_deliveries(self, client, sam, alice_case, saved):
        client.force_login(sam)
        fields = ["days", "start", "end", "team", "worker", "page", "status", "channel", "to"]
        urls = [
            reverse("metrics:compliance"),
            reverse("metrics:drilldown", args=["followups-due"]),
            reverse("metrics:drilldown", args=["fum-7-hit"]),
            reverse("notifications:deliveries"),
        ]
        for url in urls:
            for params in garbage_bodies(fields):
                assert client.get(url, params).status_code == 200, url
            for start, end in [
                ("9999-12-31", "9999-12-31"),
                ("0001-01-01", "0001-01-02"),
                ("1926-01-01", "2026-01-01"),
                ("2026-01-05", "2026-01-01"),
            ]:
                assert client.get(url, {"start": start, "end": end}).status_code == 200
        assert unchanged(saved)

    @pytest.mark.slow
    def test_protocol_pages(self, client, dana, saved):
        from followups.models import Protocol, ProtocolVersion
        from followups.protocols import install_standard_protocols

        install_standard_protocols(dana.agency_id)
        protocol = Protocol.objects.filter(agency_id=dana.agency_id).first()
        versions = ProtocolVersion.objects.count()
        client.force_login(dana)
        url = reverse("followups:protocol_edit", args=[protocol.pk])
        step = ["name", "unit", "start", "due", "end", "method", "performer", "repeat_every"]
        fields = ["description", "end_rule", "change_note"] + [f"steps-0-{f}" for f in step]
        for body in garbage_bodies(fields):
            body.update({"steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0"})
            assert client.post(url, body).status_code == 200
        for total in ("-1", "99999999999999999999999", "\x00", "1000"):
            body = {"steps-TOTAL_FORMS": total, "steps-INITIAL_FORMS": "0"}
            assert client.post(url, body).status_code in (200, 400), total
        active = reverse("followups:protocol_active", args=[protocol.pk])
        assert client.post(active, {"active": "\x00"}).status_code == 400
        assert client.get(active).status_code == 405
        assert ProtocolVersion.objects.count() == versions
