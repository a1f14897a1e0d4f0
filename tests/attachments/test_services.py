"""attach_file and mark_attachment_in_error: the timeline, the audit trail, who may, and
what belongs together; nothing is ever lost."""

import pytest
from django.utils import translation

from attachments import services
from attachments.exceptions import AttachmentRefused, NotPermitted
from attachments.models import Attachment, AttachmentKind
from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CaseEvent, CaseEventKind, CaseStatus, CloseReason
from tests.attachments.factories import PDF, attach, upload
from tests.referrals.factories import give_consent

pytestmark = pytest.mark.django_db


class TestAttachFile:
    def test_it_is_on_the_case_timeline_in_the_readers_language(self, alice, alice_case):
        attachment = attach(alice, case=alice_case, label="Consent form, 3 June")

        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.ATTACHMENT)
        assert event.summary == "Signed consent attached: Consent form, 3 June"
        assert event.actor == alice
        assert event.detail["attachment_id"] == attachment.pk
        assert event.text == event.summary
        with translation.override("es"):
            # The label stays as typed; the kind follows the reader's language once the
            # catalogue has it (the text is stored as its message and arguments).
            assert event.detail["i18n"]["a"] == {
                "kind": {"t": "Signed consent"},
                "label": "Consent form, 3 June",
            }

    def test_it_writes_one_audit_row_naming_the_attachment_and_client(self, alice, alice_case):
        attachment = attach(alice, case=alice_case)

        row = AuditEvent.objects.get(action=Action.CREATE, object_type="attachment")
        assert row.object_id == str(attachment.pk)
        assert row.client_id == alice_case.client_id
        assert row.agency_id == alice.agency_id
        assert row.detail == {
            "kind": "signed_consent",
            "content_type": "image/jpeg",
            "size": attachment.size,
            "case_id": alice_case.pk,
            "contact_id": None,
            "consent_id": None,
        }

    def test_a_contact_attachment_is_on_the_contacts_case(self, alice, alice_case):
        contact = alice_case.contacts.get()

        attachment = attach(alice, client=alice_case.client, contact=contact)

        assert attachment.case == alice_case
        assert attachment.contact == contact
        event = CaseEvent.objects.get(kind=CaseEventKind.ATTACHMENT)
        assert event.contact_id == contact.pk

    def test_a_consent_attachment_is_on_the_consents_case(self, alice, alice_case):
        consent = give_consent(alice, alice_case)

        attachment = attach(alice, client=alice_case.client, consent=consent)

        assert (attachment.case, attachment.consent) == (alice_case, consent)

    def test_a_clients_own_attachment_has_no_case_and_no_timeline(self, alice, alice_case):
        attachment = attach(
            alice, client=alice_case.client, kind=AttachmentKind.ID_DOCUMENT, label="ID card"
        )

        assert attachment.case is None
        assert not CaseEvent.objects.filter(kind=CaseEventKind.ATTACHMENT).exists()

    def test_a_closed_case_still_takes_the_papers_that_come_after(self, alice, alice_case):
        case_services.close_case(
            actor=alice, case=alice_case, reason=CloseReason.CONNECTED, note=""
        )
        alice_case.refresh_from_db()
        assert alice_case.status == CaseStatus.CLOSED

        attachment = attach(alice, case=alice_case, kind=AttachmentKind.DISCHARGE_PAPERS)

        assert attachment.case == alice_case

    @pytest.mark.parametrize("who", ["dana", "erin", "carol"])
    def test_only_workers_who_may_change_the_case_attach(self, who, alice_case, request):
        with pytest.raises(NotPermitted):
            attach(request.getfixturevalue(who), case=alice_case)

        assert not Attachment.objects.exists()

    def test_records_of_another_client_are_refused(self, alice, alice_case, bob_case):
        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, client=alice_case.client, case=bob_case)
        assert refused.value.field == "case"

        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, client=alice_case.client, contact=bob_case.contacts.get())
        assert refused.value.field == "contact"

    @pytest.mark.parametrize(
        "label, kind, field",
        [
            ("", "signed_consent", "label"),
            ("  ", "signed_consent", "label"),
            ("x" * 121, "other", "label"),
            ("ID", "passport", "kind"),
        ],
    )
    def test_a_label_and_a_known_kind_are_needed(self, alice, alice_case, label, kind, field):
        with pytest.raises(AttachmentRefused) as refused:
            services.attach_file(
                actor=alice,
                client=alice_case.client,
                case=alice_case,
                kind=kind,
                label=label,
                upload=upload(PDF, name="x.pdf"),
            )

        assert refused.value.field == field

    def test_a_file_whose_row_cannot_be_written_is_removed_again(
        self, alice, alice_case, private_storage, monkeypatch
    ):
        def fail(**kwargs):
            raise RuntimeError("the database went away")

        monkeypatch.setattr("attachments.events.attachment_added", fail)

        with pytest.raises(RuntimeError):
            attach(alice, case=alice_case)

        assert not Attachment.objects.exists()
        folders = private_storage.listdir("")[0]
        assert all(private_storage.listdir(folder)[1] == [] for folder in folders)

    def test_a_merge_moves_the_attachments_to_the_record_kept(
        self, alice, dana, alice_case, record_contact_for
    ):
        from tests.conftest import new_client

        duplicate = record_contact_for(
            alice, new_client_data=new_client(legal_name="Alice Klient", phone="541-555-0999")
        ).case
        case_services.close_case(actor=alice, case=duplicate, reason=CloseReason.OTHER, note="")
        attachment = attach(alice, client=duplicate.client, label="ID card")

        case_services.merge_clients(
            actor=dana, survivor=alice_case.client, duplicate=duplicate.client
        )

        attachment.refresh_from_db()
        assert attachment.client_id == alice_case.client_id


class TestMarkInError:
    def test_it_hides_it_from_the_lists_and_keeps_the_row_and_the_file(
        self, alice, bob, alice_case, private_storage
    ):
        attachment = attach(alice, case=alice_case)

        services.mark_attachment_in_error(
            actor=bob, attachment=attachment, reason="Another client's form"
        )

        attachment.refresh_from_db()
        assert attachment.is_in_error
        assert attachment.entered_in_error_by == bob
        assert attachment.entered_in_error_reason == "Another client's form"
        assert list(Attachment.objects.shown()) == []
        assert private_storage.exists(attachment.file.name)
        event = CaseEvent.objects.filter(kind=CaseEventKind.ATTACHMENT).first()
        assert (
            event.summary == "Attachment entered in error: Signed consent (Another client's form)"
        )
        row = AuditEvent.objects.get(action=Action.UPDATE, object_type="attachment")
        assert row.client_id == alice_case.client_id
        assert "Another client" not in str(row.detail)  # what was typed stays out

    def test_twice_is_refused(self, alice, alice_case):
        attachment = attach(alice, case=alice_case)
        services.mark_attachment_in_error(actor=alice, attachment=attachment, reason="Wrong file")

        with pytest.raises(AttachmentRefused):
            services.mark_attachment_in_error(actor=alice, attachment=attachment, reason="Again")

    def test_a_reason_is_needed(self, alice, alice_case):
        attachment = attach(alice, case=alice_case)

        with pytest.raises(AttachmentRefused) as refused:
            services.mark_attachment_in_error(actor=alice, attachment=attachment, reason=" ")

        assert refused.value.field == "reason"

    @pytest.mark.parametrize("who", ["dana", "erin", "carol"])
    def test_only_workers_who_may_change_the_case_mark_it(self, who, alice, alice_case, request):
        attachment = attach(alice, case=alice_case)

        with pytest.raises(NotPermitted):
            services.mark_attachment_in_error(
                actor=request.getfixturevalue(who), attachment=attachment, reason="x"
            )


class TestPurge:
    def test_it_deletes_rows_now_and_files_once_committed(
        self, alice, alice_case, bob_case, bob, private_storage, django_capture_on_commit_callbacks
    ):
        first = attach(alice, case=alice_case)
        second = attach(alice, client=alice_case.client, label="ID card")
        kept = attach(bob, case=bob_case)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert services.purge_client_attachments(client_ids=[alice_case.client_id]) == 2
        assert list(Attachment.objects.all()) == [kept]
        assert private_storage.exists(first.file.name)  # not before the commit

        for callback in callbacks:
            callback()

        assert not private_storage.exists(first.file.name)
        assert not private_storage.exists(second.file.name)
        assert private_storage.exists(kept.file.name)
