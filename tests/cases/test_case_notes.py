"""Notes on a case: the service (cases.services.add_case_note) and the page
(casework.views.case_note), with its one-time submission id."""

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import Action, AuditEvent
from cases import services
from cases.exceptions import CaseClosed
from cases.models import CaseEvent, CaseEventKind, CaseNote
from core.exceptions import NotPermitted

pytestmark = pytest.mark.django_db


def note_url(case):
    return reverse("casework:case_note", args=[case.pk])


class TestAddCaseNote:
    def test_it_puts_the_note_on_the_timeline_and_in_the_audit_trail(self, alice, alice_case):
        note = services.add_case_note(actor=alice, case=alice_case, text="  Called; doing ok.  ")
        assert (note.case, note.author, note.text) == (alice_case, alice, "Called; doing ok.")
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.NOTE)
        assert event.summary == "Note: Called; doing ok."
        assert event.at == note.at
        assert event.detail["note_id"] == note.pk
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="casenote", object_id=str(note.pk)
        ).exists()

    def test_the_timeline_shows_a_long_note_shortened(self, alice, alice_case):
        services.add_case_note(actor=alice, case=alice_case, text="word " * 200)
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.NOTE)
        assert len(event.summary) <= 300
        assert event.summary.endswith("…")
        with translation.override("en"):
            assert event.text == event.summary

    def test_a_repeat_of_the_same_submission_is_a_no_op(self, alice, alice_case):
        submission = uuid.uuid4()
        first = services.add_case_note(
            actor=alice, case=alice_case, text="Once.", submission_id=submission
        )
        again = services.add_case_note(
            actor=alice, case=alice_case, text="Once.", submission_id=submission
        )
        assert again == first
        assert CaseNote.objects.count() == 1
        assert CaseEvent.objects.filter(kind=CaseEventKind.NOTE).count() == 1

    def test_a_closed_case_takes_no_note(self, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        with pytest.raises(CaseClosed):
            services.add_case_note(actor=alice, case=alice_case, text="Too late.")

    def test_only_the_workers_of_the_case_add_notes(self, alice, erin_case):
        with pytest.raises(NotPermitted):
            services.add_case_note(actor=alice, case=erin_case, text="Not mine.")

    def test_it_keeps_the_time_it_was_written_not_in_the_future(self, alice, alice_case):
        written = timezone.now() - datetime.timedelta(minutes=40)
        note = services.add_case_note(actor=alice, case=alice_case, text="Offline.", at=written)
        assert note.at == written
        with pytest.raises(ValidationError):
            services.add_case_note(
                actor=alice,
                case=alice_case,
                text="Ahead.",
                at=timezone.now() + datetime.timedelta(hours=1),
            )

    def test_an_empty_note_is_refused(self, alice, alice_case):
        with pytest.raises(ValidationError):
            services.add_case_note(actor=alice, case=alice_case, text="   ")


class TestNotePage:
    def test_the_case_page_has_the_note_form(self, login, alice, alice_case):
        html = login(alice).get(reverse("casework:case_detail", args=[alice_case.pk])).content
        assert note_url(alice_case).encode() in html

    def test_a_note_is_saved_and_back_to_the_case(self, login, alice, alice_case):
        response = login(alice).post(note_url(alice_case), {"text": "Visited at home."})
        assert response.status_code == 302
        assert response["Location"] == reverse("casework:case_detail", args=[alice_case.pk])
        assert CaseNote.objects.get().text == "Visited at home."

    def test_a_repeat_answers_like_the_first_and_saves_once(self, login, alice, alice_case):
        client = login(alice)
        data = {"text": "Sent twice.", "submission_id": str(uuid.uuid4())}
        first = client.post(note_url(alice_case), data)
        # The case closed between the two: the repeat still answers as the first did.
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        again = client.post(note_url(alice_case), data)
        assert (again.status_code, again["Location"]) == (first.status_code, first["Location"])
        assert CaseNote.objects.count() == 1

    def test_the_time_saved_on_the_phone_is_kept_and_never_ahead(self, login, alice, alice_case):
        client = login(alice)
        earlier = timezone.now() - datetime.timedelta(minutes=20)
        client.post(note_url(alice_case), {"text": "a", "saved_at": earlier.isoformat()})
        client.post(
            note_url(alice_case),
            {"text": "b", "saved_at": (timezone.now() + datetime.timedelta(hours=2)).isoformat()},
        )
        notes = {note.text: note.at for note in CaseNote.objects.all()}
        assert notes["a"] == earlier
        assert notes["b"] <= timezone.now()

    def test_a_closed_case_answers_409_with_the_note_as_typed(self, login, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(alice).post(note_url(alice_case), {"text": "Kept as typed."})
        assert response.status_code == 409
        assert b"Kept as typed." in response.content
        assert not CaseNote.objects.exists()

    def test_a_case_outside_the_scope_is_not_found_and_audited(self, login, alice, carol_case):
        response = login(alice).post(note_url(carol_case), {"text": "x"})
        assert response.status_code == 404
        assert AuditEvent.objects.filter(
            action=Action.DENIED, object_type="case", object_id=str(carol_case.pk)
        ).exists()
        assert not CaseNote.objects.exists()
