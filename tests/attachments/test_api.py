"""The attachments API: upload (multipart), list, metadata, download, entered in error;
scoped as the pages are, audited, 404 across agencies."""

import pytest
from django.core.management import call_command

from attachments.models import Attachment
from audit.models import Action, AuditEvent
from tests.attachments.factories import PDF, attach, image_bytes, sideways_photo_with_gps, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/attachments/"


def last_audit_id():
    row = AuditEvent.objects.order_by("-id").first()
    return row.id if row else 0


def post_file(api, content=None, name="consent.jpg", **fields):
    body = {
        "kind": "signed_consent",
        "label": "Signed consent",
        "file": upload(image_bytes() if content is None else content, name=name),
        **fields,
    }
    return api.post(URL, body, format="multipart")


class TestUpload:
    def test_a_worker_uploads_a_photo_to_a_case(self, api, alice, alice_case):
        api.force_authenticate(alice)

        response = post_file(api, content=sideways_photo_with_gps(), case=alice_case.pk)

        assert response.status_code == 201, response.json()
        data = response.json()
        attachment = Attachment.objects.get()
        assert data["id"] == attachment.pk
        assert (data["client"], data["case"]) == (alice_case.client_id, alice_case.pk)
        assert data["content_type"] == "image/jpeg"
        assert data["uploaded_by"]["username"] == "alice"
        assert data["file_url"].endswith(f"{URL}{attachment.pk}/file/")
        assert data["original_name"] == "consent.jpg"

    def test_the_client_is_taken_from_the_contact(self, api, alice, alice_case):
        api.force_authenticate(alice)
        contact = alice_case.contacts.get()

        response = post_file(api, contact=contact.pk, label="Photo ID", kind="id_document")

        assert response.status_code == 201, response.json()
        assert response.json()["case"] == alice_case.pk
        assert response.json()["contact"] == contact.pk

    def test_a_text_file_named_pdf_is_a_400_on_the_file(self, api, alice, alice_case):
        api.force_authenticate(alice)

        response = post_file(api, content=b"not a pdf", name="x.pdf", case=alice_case.pk)

        assert response.status_code == 400
        assert "JPEG, PNG, WebP or GIF" in response.json()["file"][0]

    def test_a_file_past_the_limit_is_a_413_naming_it(self, api, alice, alice_case, settings):
        settings.ATTACHMENT_MAX_MB = 1
        api.force_authenticate(alice)

        response = post_file(
            api, content=PDF + b"0" * (1024 * 1024 + 1), name="x.pdf", case=alice_case.pk
        )

        assert response.status_code == 413
        assert "larger than 1 MB" in response.json()["detail"]
        assert not Attachment.objects.exists()

    def test_nothing_to_attach_to_is_a_400_naming_the_client(self, api, alice):
        api.force_authenticate(alice)

        response = post_file(api)

        assert response.status_code == 400
        assert "client" in response.json()

    def test_another_agencys_case_does_not_exist(self, api, carol, alice_case):
        api.force_authenticate(carol)

        response = post_file(api, case=alice_case.pk)

        assert response.status_code == 400
        assert "case" in response.json()
        assert not Attachment.objects.exists()

    def test_an_agency_admin_reads_but_does_not_attach(self, api, dana, alice_case):
        api.force_authenticate(dana)

        response = post_file(api, case=alice_case.pk)

        assert response.status_code == 403
        assert not Attachment.objects.exists()

    def test_a_worker_may_see_but_not_change_a_case_opened_by_emergency_access(
        self, api, erin, alice_case
    ):
        from cases import services as case_services

        case_services.grant_emergency_access(actor=erin, case=alice_case, reason="In crisis now")
        api.force_authenticate(erin)
        before = last_audit_id()

        response = post_file(api, case=alice_case.pk)

        assert response.status_code == 403
        assert AuditEvent.objects.filter(pk__gt=before, action=Action.DENIED).exists()


class TestRead:
    def test_the_list_filters_by_case_and_client_and_is_audited(
        self, api, alice, alice_case, bob_case, bob
    ):
        on_case = attach(alice, case=alice_case)
        own = attach(alice, client=alice_case.client, label="ID card")
        on_bobs = attach(bob, case=bob_case)
        api.force_authenticate(alice)
        before = last_audit_id()

        by_case = api.get(URL, {"case": alice_case.pk}).json()
        by_client = api.get(URL, {"client": alice_case.client_id}).json()
        everything = api.get(URL).json()

        assert [row["id"] for row in by_case["results"]] == [on_case.pk]
        assert {row["id"] for row in by_client["results"]} == {on_case.pk, own.pk}
        assert {row["id"] for row in everything["results"]} == {on_case.pk, own.pk, on_bobs.pk}
        rows = AuditEvent.objects.filter(pk__gt=before, action=Action.LIST).order_by("id")
        assert [row.detail["ids"] for row in rows][0] == [on_case.pk]
        assert rows[0].object_type == "attachment"
        assert rows[0].detail["client_ids"] == [alice_case.client_id]

    def test_those_in_error_are_listed_only_when_asked_for(self, api, alice, alice_case):
        from attachments import services

        kept = attach(alice, case=alice_case)
        wrong = attach(alice, case=alice_case, label="Wrong")
        services.mark_attachment_in_error(actor=alice, attachment=wrong, reason="Wrong client")
        api.force_authenticate(alice)

        assert [r["id"] for r in api.get(URL).json()["results"]] == [kept.pk]
        shown = api.get(URL, {"entered_in_error": "true"}).json()["results"]
        assert [r["id"] for r in shown] == [wrong.pk]
        assert shown[0]["entered_in_error_reason"] == "Wrong client"
        assert api.get(URL, {"entered_in_error": "maybe"}).status_code == 400

    def test_the_list_runs_a_fixed_number_of_queries(
        self, api, alice, alice_case, django_assert_max_num_queries
    ):
        attach(alice, case=alice_case)
        api.force_authenticate(alice)
        with django_assert_max_num_queries(10) as few:
            api.get(URL)
        for n in range(5):
            attach(alice, case=alice_case, label=f"Page {n}")

        with django_assert_max_num_queries(len(few.captured_queries)):
            response = api.get(URL)

        assert response.json()["count"] == 6

    def test_metadata_and_file_are_audited(self, api, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=PDF, name="discharge.pdf")
        api.force_authenticate(alice)
        before = last_audit_id()

        meta = api.get(f"{URL}{attachment.pk}/")
        file = api.get(f"{URL}{attachment.pk}/file/", HTTP_ACCEPT="application/pdf")

        assert meta.status_code == 200 and meta.json()["sha256"] == attachment.sha256
        assert file.status_code == 200
        assert file["Content-Type"] == "application/pdf"
        assert file["Content-Disposition"].startswith("attachment;")
        assert file["X-Content-Type-Options"] == "nosniff"
        assert file["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert "no-store" in file["Cache-Control"]
        assert b"".join(file.streaming_content) == PDF
        rows = AuditEvent.objects.filter(pk__gt=before).order_by("id")
        assert [(r.action, r.object_id, r.client_id) for r in rows] == [
            (Action.VIEW, str(attachment.pk), alice_case.client_id)
        ] * 2
        assert rows[1].detail["file"] == "original"

    @pytest.mark.parametrize("who", ["carol", "erin", "root"])
    @pytest.mark.parametrize("path", ["", "file/"])
    def test_others_get_404_and_a_denied_row(self, api, alice, alice_case, who, path, request):
        attachment = attach(alice, case=alice_case)
        user = request.getfixturevalue(who)
        api.force_authenticate(user)
        before = last_audit_id()

        response = api.get(f"{URL}{attachment.pk}/{path}")

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert AuditEvent.objects.filter(
            pk__gt=before, actor=user, action=Action.DENIED, object_id=str(attachment.pk)
        ).exists()
        assert api.get(URL).json()["results"] == []


class TestInError:
    def test_a_worker_marks_one(self, api, alice, bob, alice_case):
        attachment = attach(alice, case=alice_case)
        api.force_authenticate(bob)

        response = api.post(
            f"{URL}{attachment.pk}/entered-in-error/", {"reason": "Wrong client"}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert response.json()["entered_in_error_by"]["username"] == "bob"

    def test_an_agency_admin_may_not(self, api, dana, alice, alice_case):
        attachment = attach(alice, case=alice_case)
        api.force_authenticate(dana)

        response = api.post(
            f"{URL}{attachment.pk}/entered-in-error/", {"reason": "x"}, format="json"
        )

        assert response.status_code == 403


class TestSchema:
    def test_the_upload_is_documented_as_multipart_and_the_download_as_files(self, api, alice):
        api.force_login(alice)

        schema = api.get("/api/schema/", {"format": "json"}).json()

        upload_body = schema["paths"][URL]["post"]["requestBody"]["content"]
        assert set(upload_body) == {"multipart/form-data"}
        download = schema["paths"][URL + "{id}/file/"]["get"]["responses"]["200"]["content"]
        assert set(download) == {"image/jpeg", "image/png", "application/pdf"}
        marking = schema["paths"][URL + "{id}/entered-in-error/"]["post"]["requestBody"]
        assert set(marking["content"]) == {"application/json"}

    def test_the_schema_generates_without_warnings(self, tmp_path):
        call_command(
            "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml")
        )
