"""Garbage sent to the pages answers with a form error or a 4xx, never a 500, and
changes nothing that was saved."""

import pytest
from django.urls import reverse

from cases.models import Case, Client, Contact

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
        url = reverse("cases:contact_new")
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
            assert client.get(reverse("cases:client_suggest"), body).status_code in (200, 400)
        for body in garbage_bodies(
            ["narrative", "received_at", "client", "discard", "submission_id"]
        ):
            assert client.post(reverse("cases:contact_draft"), body).status_code in (200, 302, 400)
        for body in garbage_bodies(["q", "page"]):
            assert client.get(reverse("cases:client_search"), body).status_code in (200, 400)
        assert unchanged(saved)

    def test_case_contact_and_client_forms(self, client, alice, alice_case, saved):
        client.force_login(alice)
        contact = alice_case.contacts.get()
        forms = [
            (reverse("cases:case_close", args=[alice_case.pk]), ["reason", "note"]),
            (reverse("cases:case_concerns", args=[alice_case.pk]), ["concerns"]),
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
        url = reverse("cases:emergency_access", args=[alice_case.pk])
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
