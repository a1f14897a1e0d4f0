"""The pages: the section each record's page loads, attaching from it (with htmx and
without), the file with its headers, marking in error; who sees what, and the audit
trail of every read."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from attachments.models import Attachment, AttachmentKind
from audit.models import Action, AuditEvent
from cases import services as case_services
from tests.attachments.factories import PDF, attach, image_bytes, sideways_photo_with_gps, upload
from tests.referrals.factories import give_consent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def form(kind="signed_consent", label="Signed consent", file=None, name="consent.jpg"):
    content = image_bytes() if file is None else file
    return {
        "attach-kind": kind,
        "attach-label": label,
        "attach-file": upload(content, name=name),
    }


def last_audit_id():
    row = AuditEvent.objects.order_by("-id").first()
    return row.id if row else 0


class TestAttachingFromThePage:
    def test_a_worker_attaches_a_photo_to_a_case_and_goes_back_to_it(
        self, client, alice, alice_case
    ):
        client.force_login(alice)

        response = client.post(reverse("attachments:case", args=[alice_case.pk]), form())

        assert response.status_code == 302
        assert response["Location"] == (
            reverse("casework:case_detail", args=[alice_case.pk]) + "#attachments"
        )
        attachment = Attachment.objects.get()
        assert (attachment.case, attachment.kind, attachment.label) == (
            alice_case,
            AttachmentKind.SIGNED_CONSENT,
            "Signed consent",
        )
        assert attachment.uploaded_by == alice

    def test_with_htmx_the_section_comes_back_with_it_listed(self, client, alice, alice_case):
        client.force_login(alice)

        response = client.post(reverse("attachments:case", args=[alice_case.pk]), form(), **HTMX)

        assert response.status_code == 200
        html = response.content.decode()
        assert "<html" not in html
        assert 'id="attachments-panel"' in html
        assert "Attached: Signed consent." in html
        attachment = Attachment.objects.get()
        assert reverse("attachments:file", args=[attachment.pk]) + "?thumb=1" in html

    def test_a_refused_file_comes_back_with_the_kind_and_label_kept(
        self, client, alice, alice_case
    ):
        client.force_login(alice)

        response = client.post(
            reverse("attachments:case", args=[alice_case.pk]),
            form(
                kind="discharge_papers", label="ER discharge, 2 June", file=b"hello", name="a.pdf"
            ),
            **HTMX,
        )

        assert response.status_code == 200
        bound = response.context["form"]
        assert bound.errors["file"] == [
            "This file is not a photo (JPEG, PNG, WebP or GIF) or a PDF, whatever its name "
            "says. Attach a photo or a PDF."
        ]
        html = response.content.decode()
        assert 'value="ER discharge, 2 June"' in html
        checked = re.search(r'<input[^>]*value="discharge_papers"[^>]*>', html)[0]
        assert " checked" in checked
        assert "Nothing was attached." in html
        assert not Attachment.objects.exists()

    def test_a_file_past_the_limit_is_dropped_as_it_arrives_and_the_limit_named(
        self, client, alice, alice_case, settings
    ):
        settings.ATTACHMENT_MAX_MB = 1
        client.force_login(alice)

        response = client.post(
            reverse("attachments:case", args=[alice_case.pk]),
            form(file=PDF + b"0" * (1024 * 1024 + 10), name="big.pdf", label="Big scan"),
        )

        assert response.status_code == 200
        assert (
            response.context["form"]
            .errors["file"][0]
            .startswith("The file is larger than 1 MB, the most that can be attached.")
        )
        assert 'value="Big scan"' in response.content.decode()
        assert not Attachment.objects.exists()

    def test_a_missing_file_says_so(self, client, alice, alice_case):
        client.force_login(alice)
        body = form()
        del body["attach-file"]

        response = client.post(reverse("attachments:case", args=[alice_case.pk]), body)

        assert response.context["form"].errors["file"] == ["Choose a photo or a PDF to attach."]

    def test_from_a_consent_the_kind_is_signed_consent_first(self, client, alice, alice_case):
        consent = give_consent(alice, alice_case)
        client.force_login(alice)

        response = client.get(reverse("attachments:consent", args=[consent.pk]), **HTMX)

        assert response.context["form"]["kind"].value() == AttachmentKind.SIGNED_CONSENT
        client.post(reverse("attachments:consent", args=[consent.pk]), form())
        assert Attachment.objects.get().consent == consent

    def test_from_a_contact_and_from_the_client(self, client, alice, alice_case):
        contact = alice_case.contacts.get()
        client.force_login(alice)

        client.post(reverse("attachments:contact", args=[contact.pk]), form(label="Photo ID"))
        client.post(
            reverse("attachments:client", args=[alice_case.client_id]),
            form(kind="id_document", label="Benefits letter"),
        )

        by_label = {a.label: a for a in Attachment.objects.all()}
        assert by_label["Photo ID"].contact == contact
        assert by_label["Photo ID"].case == alice_case
        assert by_label["Benefits letter"].case is None

    def test_the_file_input_offers_camera_and_files_without_forcing_the_camera(
        self, client, alice, alice_case
    ):
        client.force_login(alice)

        html = client.get(reverse("attachments:case", args=[alice_case.pk])).content.decode()

        assert 'accept="image/*,application/pdf"' in html
        assert "capture" not in html
        assert 'enctype="multipart/form-data"' in html


class TestRecordPages:
    @pytest.mark.parametrize(
        "page, section",
        [
            ("casework:case_detail", "attachments:case"),
            ("cases:client_detail", "attachments:client"),
            ("cases:contact_detail", "attachments:contact"),
            ("referrals:consent_detail", "attachments:consent"),
        ],
    )
    def test_each_record_page_loads_its_section(self, client, alice, alice_case, page, section):
        consent = give_consent(alice, alice_case)
        ids = {
            "casework:case_detail": alice_case.pk,
            "cases:client_detail": alice_case.client_id,
            "cases:contact_detail": alice_case.contacts.get().pk,
            "referrals:consent_detail": consent.pk,
        }
        client.force_login(alice)

        html = client.get(reverse(page, args=[ids[page]])).content.decode()

        url = reverse(section, args=[ids[page]])
        assert f'hx-get="{url}" hx-trigger="load"' in html
        assert f'href="{url}"' in html  # without JavaScript

    def test_without_htmx_the_section_is_a_page_of_its_own(self, client, alice, alice_case):
        attach(alice, case=alice_case)
        client.force_login(alice)

        response = client.get(reverse("attachments:case", args=[alice_case.pk]))

        html = response.content.decode()
        assert "<html" in html and "Signed consent" in html
        assert reverse("casework:case_detail", args=[alice_case.pk]) in html


class TestTheList:
    def test_it_lists_the_cases_attachments_newest_first_not_those_in_error(
        self, client, alice, alice_case
    ):
        first = attach(alice, case=alice_case, label="First")
        second = attach(alice, case=alice_case, label="Second", content=PDF, name="b.pdf")
        wrong = attach(alice, case=alice_case, label="Wrong one")
        from attachments import services

        services.mark_attachment_in_error(actor=alice, attachment=wrong, reason="Wrong client")
        client.force_login(alice)

        response = client.get(reverse("attachments:case", args=[alice_case.pk]), **HTTP_HTMX())

        assert [a.pk for a in response.context["attachments"]] == [second.pk, first.pk]
        html = response.content.decode()
        assert "Wrong one" not in html
        assert "1 more was entered in error" in html

    def test_the_list_is_audited_with_the_ids_shown_and_the_client(self, client, alice, alice_case):
        shown = attach(alice, case=alice_case)
        client.force_login(alice)
        before = last_audit_id()

        client.get(reverse("attachments:case", args=[alice_case.pk]), **HTMX)

        row = AuditEvent.objects.get(pk__gt=before, action=Action.LIST)
        assert row.object_type == "attachment"
        assert row.client_id == alice_case.client_id
        assert row.detail == {"ids": [shown.pk], "on": "case"}

    @pytest.mark.parametrize("section", ["case", "client"])
    def test_the_queries_do_not_grow_with_the_rows(
        self, client, alice, bob, alice_case, section, django_assert_max_num_queries
    ):
        url = reverse(
            f"attachments:{section}",
            args=[alice_case.pk if section == "case" else alice_case.client_id],
        )
        client.force_login(alice)
        attach(alice, case=alice_case)
        with django_assert_max_num_queries(12) as few:
            client.get(url, **HTMX)
        for n in range(6):
            attach(bob if n % 2 else alice, case=alice_case, label=f"Page {n}")

        with django_assert_max_num_queries(len(few.captured_queries)):
            response = client.get(url, **HTMX)

        assert len(response.context["attachments"]) == 7


def HTTP_HTMX():
    return dict(HTMX)


class TestTheFile:
    def test_a_pdf_is_downloaded_sniffed_by_nothing_and_sandboxed(self, client, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=PDF, name="scan.png", label="Scan")
        client.force_login(alice)

        response = client.get(reverse("attachments:file", args=[attachment.pk]))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="scan-{attachment.pk}.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == PDF

    def test_an_image_is_shown_inline_and_has_a_thumbnail(self, client, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=image_bytes(size=(1200, 900)))
        client.force_login(alice)

        response = client.get(reverse("attachments:file", args=[attachment.pk]))
        thumb = client.get(reverse("attachments:file", args=[attachment.pk]), {"thumb": "1"})

        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"].startswith("inline;")
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
        image = Image.open(io.BytesIO(thumb.content))
        assert (image.format, image.size) == ("JPEG", (320, 240))
        assert thumb["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in thumb["Cache-Control"]

    def test_a_pdf_has_no_thumbnail(self, client, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=PDF, name="a.pdf")
        client.force_login(alice)

        response = client.get(reverse("attachments:file", args=[attachment.pk]), {"thumb": "1"})

        assert response.status_code == 404

    def test_each_read_is_audited_naming_the_attachment_and_client(self, client, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=sideways_photo_with_gps())
        client.force_login(alice)
        before = last_audit_id()

        client.get(reverse("attachments:file", args=[attachment.pk]))
        client.get(reverse("attachments:file", args=[attachment.pk]), {"thumb": "1"})

        rows = list(AuditEvent.objects.filter(pk__gt=before).order_by("id"))
        assert [(r.action, r.object_type, r.object_id, r.client_id) for r in rows] == [
            (Action.VIEW, "attachment", str(attachment.pk), alice_case.client_id),
        ] * 2
        assert [r.detail["file"] for r in rows] == ["original", "thumbnail"]
        assert rows[0].path == reverse("attachments:file", args=[attachment.pk])

    def test_an_attachment_in_error_keeps_its_file(self, client, alice, alice_case):
        from attachments import services

        attachment = attach(alice, case=alice_case)
        services.mark_attachment_in_error(actor=alice, attachment=attachment, reason="Wrong")
        client.force_login(alice)

        assert client.get(reverse("attachments:file", args=[attachment.pk])).status_code == 200


class TestInError:
    def test_a_worker_marks_one_with_a_reason(self, client, alice, bob, alice_case):
        attachment = attach(alice, case=alice_case)
        client.force_login(bob)
        url = reverse("attachments:in_error", args=[attachment.pk])

        page = client.get(url)
        response = client.post(url, {"reason": "Another client's discharge papers"})

        assert page.status_code == 200 and "Signed consent" in page.content.decode()
        assert response.status_code == 302
        attachment.refresh_from_db()
        assert attachment.entered_in_error_by == bob

    def test_a_blank_reason_is_asked_for(self, client, alice, alice_case):
        attachment = attach(alice, case=alice_case)
        client.force_login(alice)

        response = client.post(reverse("attachments:in_error", args=[attachment.pk]), {})

        assert response.status_code == 200
        assert response.context["form"].errors["reason"] == ["Say why it was entered in error."]
        assert not Attachment.objects.get().is_in_error


# --- Who sees what ----------------------------------------------------------------------

# Whose attachment (on whose case) each persona sees: alice's case is seen by alice, her
# teammate bob, their supervisor sam and the agency admin dana; not by erin (another team),
# carol (another agency) or root (the system admin, who sees no client data).
SEES_ALICES = {"alice": True, "bob": True, "sam": True, "dana": True}
WRITES_ALICES = {"alice", "bob", "sam"}
PERSONAS = ["alice", "bob", "sam", "dana", "erin", "carol", "root"]


@pytest.fixture
def alices(alice, alice_case):
    """An attachment on alice's case, and one on her client alone."""
    return {
        "case": attach(alice, case=alice_case),
        "client": attach(alice, client=alice_case.client, label="ID card", kind="id_document"),
    }


@pytest.mark.parametrize("persona", PERSONAS)
class TestAccessMatrix:
    def test_the_file(self, client, alices, persona, request):
        user = request.getfixturevalue(persona)
        client.force_login(user)
        for attachment in alices.values():
            before = last_audit_id()
            response = client.get(reverse("attachments:file", args=[attachment.pk]))
            if SEES_ALICES.get(persona):
                assert response.status_code == 200, (persona, attachment.label)
                assert AuditEvent.objects.filter(
                    pk__gt=before, actor=user, action=Action.VIEW, object_type="attachment"
                ).exists()
            else:
                assert response.status_code == 404, (persona, attachment.label)
                assert AuditEvent.objects.filter(
                    pk__gt=before,
                    actor=user,
                    action=Action.DENIED,
                    object_type="attachment",
                    object_id=str(attachment.pk),
                ).exists()

    def test_the_sections(self, client, alices, alice_case, persona, request):
        user = request.getfixturevalue(persona)
        client.force_login(user)
        for name, pk in [("case", alice_case.pk), ("client", alice_case.client_id)]:
            response = client.get(reverse(f"attachments:{name}", args=[pk]), **HTMX)
            if SEES_ALICES.get(persona):
                assert response.status_code == 200, (persona, name)
                assert response.context["can_write"] is (persona in WRITES_ALICES)
            else:
                assert response.status_code == 404, (persona, name)

    def test_attaching_and_marking(self, client, alices, alice_case, persona, request):
        """A writer attaches (302) and gets the in-error form back for a blank reason
        (200); a reader is refused (403), anyone else finds nothing (404)."""
        user = request.getfixturevalue(persona)
        client.force_login(user)
        count = Attachment.objects.count()
        attaching = client.post(reverse("attachments:case", args=[alice_case.pk]), form())
        marking = client.post(reverse("attachments:in_error", args=[alices["case"].pk]), {})
        if persona in WRITES_ALICES:
            assert (attaching.status_code, marking.status_code) == (302, 200), persona
            assert Attachment.objects.count() == count + 1
        else:
            expected = 403 if SEES_ALICES.get(persona) else 404
            assert (attaching.status_code, marking.status_code) == (expected, expected)
            assert Attachment.objects.count() == count
        assert not Attachment.objects.filter(entered_in_error_at__isnull=False).exists()


def test_emergency_access_opens_the_cases_attachments_to_read(client, erin, alices, alice_case):
    case_services.grant_emergency_access(
        actor=erin, case=alice_case, reason="Client in crisis, needs history"
    )
    client.force_login(erin)

    assert client.get(reverse("attachments:file", args=[alices["case"].pk])).status_code == 200
    section = client.get(reverse("attachments:case", args=[alice_case.pk]), **HTMX)
    assert section.context["can_write"] is False
