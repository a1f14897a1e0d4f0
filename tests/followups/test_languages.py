"""Whose language the follow-ups speak (core/i18n.py): a reminder to a client in the
client's, a worker's prompt in the worker's, whoever's process composes it; texts stored
on the case timeline in English with their message, read in each reader's language."""

import datetime
import zoneinfo
from unittest import mock

import pytest
from django.utils import timezone, translation

from accounts.models import User
from cases.models import CaseEvent, Client, Disposition, ReminderChannel
from followups import services, texts
from followups.models import (
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEventKind,
    Status,
    VisitKind,
    VisitReason,
)
from notifications import client_reminders
from notifications import services as notices
from notifications.models import Kind, Notification
from referrals import services as referral_services
from referrals.models import EventVia
from referrals.models import Status as ReferralStatus
from tests.conftest import HIGH_RISK
from tests.followups.factories import due_followup, ed_visit, make_case, make_contact
from tests.referrals.factories import sent_referral

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Saturday 1 March 2025, 10:00 in Los Angeles: daytime, client reminders go at once.
T0 = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=LA)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(T0, tick=False)

    def move(at):
        time_machine.move_to(at, tick=False)
        return timezone.now()

    return move


def reminded(case, *, language, channel=ReminderChannel.TEXT):
    Client.objects.filter(pk=case.client_id).update(
        reminder_channel=channel,
        phone="541-555-0111",
        email="quinn@example.org",
        preferred_language=language,
    )
    return case


def spy(function, seen):
    """`function`, noting the active language each time it runs."""

    def noting(*args, **kwargs):
        seen.append(translation.get_language())
        return function(*args, **kwargs)

    return noting


@pytest.mark.django_db
class TestPromptLanguages:
    """The engine runs in a Celery worker with the default language: the prompts it makes
    are composed in their readers' languages all the same."""

    @pytest.mark.parametrize(
        ("channel", "composer"),
        [(ReminderChannel.TEXT, "reminder_text"), (ReminderChannel.EMAIL, "reminder_email")],
    )
    def test_a_reminder_to_a_spanish_speaking_client_is_written_in_spanish(
        self, quiet_case, enrol_hourly, run_engine, clock, channel, composer
    ):
        (fu,) = enrol_hourly(reminded(quiet_case, language="Spanish", channel=channel))
        seen: list[str] = []
        real = getattr(client_reminders, composer)

        with (
            translation.override("en"),
            mock.patch.object(client_reminders, composer, spy(real, seen)),
        ):
            run_engine(clock(fu.window_start))

        assert seen == ["es"]
        assert Notification.objects.filter(followup=fu, kind=Kind.CLIENT_REMINDER).count() == 1

    def test_a_client_whose_language_the_product_does_not_speak_gets_the_default(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(reminded(quiet_case, language="Tagalog"))
        seen: list[str] = []

        with (
            translation.override("es"),
            mock.patch.object(
                client_reminders, "reminder_text", spy(client_reminders.reminder_text, seen)
            ),
        ):
            run_engine(clock(fu.window_start))

        assert seen == ["en"]

    def test_the_workers_prompts_are_written_in_the_workers_language(
        self, alice, quiet_case, enrol_hourly, run_engine, clock
    ):
        User.objects.filter(pk=alice.pk).update(language="es")
        (fu,) = enrol_hourly(reminded(quiet_case, language="English"))
        due: list[str] = []
        overdue: list[str] = []
        reminder: list[str] = []

        with (
            mock.patch.object(notices, "fell_due_text", spy(notices.fell_due_text, due)),
            mock.patch.object(notices, "overdue_text", spy(notices.overdue_text, overdue)),
            mock.patch.object(
                client_reminders, "reminder_text", spy(client_reminders.reminder_text, reminder)
            ),
        ):
            run_engine(clock(fu.due_at + datetime.timedelta(minutes=1)))

        assert (due, overdue, reminder) == (["es"], ["es"], ["en"])


@pytest.mark.django_db
class TestStoredTexts:
    """A timeline entry keeps its English summary and its message with its arguments."""

    def test_an_enrolment_on_the_timeline(self, quiet_case, enrol_hourly):
        with translation.override("es"):
            enrol_hourly(quiet_case)

        event = CaseEvent.objects.filter(case=quiet_case, summary__startswith="Enrolled in").get()
        assert event.summary == "Enrolled in Test protocol hourly (1 follow-ups): Test enrolment"
        assert event.detail["i18n"] == {
            "m": "Enrolled in %(protocol)s (%(count)s follow-ups): %(reason)s",
            "a": {
                "protocol": {"t": "Test protocol hourly"},
                "count": 1,
                "reason": "Test enrolment",
            },
        }
        assert event.text == event.summary

    def test_a_hospital_visit_names_its_kind_and_reason_as_labels(self, alice, quiet_case):
        from followups import services

        with translation.override("es"):
            services.record_hospital_visit(
                actor=alice,
                case=quiet_case,
                kind=VisitKind.ED,
                reason=VisitReason.SELF_HARM,
                arrived_at=timezone.now() - datetime.timedelta(hours=3),
            )

        event = CaseEvent.objects.filter(case=quiet_case, summary__contains="recorded").get()
        # English whatever the language of the request that recorded it.
        assert event.summary == "Emergency department visit recorded (intentional self-harm)"
        assert event.detail["i18n"]["a"] == {
            "kind": {"t": "Emergency department visit"},
            "reason": {"t": "intentional self-harm"},
        }
        enrolment = quiet_case.enrolments.get()
        assert "(intentional self-harm; counted from the arrival)" in enrolment.reason
        assert "Sat 1 Mar 2025" in enrolment.reason


class TestTitles:
    """What the product wrote in a title is shown in the reader's language, the names of
    the protocols and steps it shipped included; names the agency gave as they are
    (tests/followups/test_protocol_languages.py)."""

    @pytest.fixture
    def marked(self):
        with (
            mock.patch("followups.texts.gettext", side_effect=lambda m: f"[{m}]"),
            mock.patch("core.i18n.gettext", side_effect=lambda m: f"[{m}]"),
        ):
            yield

    def test_a_repeating_steps_occurrence(self, marked):
        title = texts.occurrence_title("Caring Contacts: Monthly message", 2, 4)
        assert title == "Caring Contacts: Monthly message 2 of 4"
        fu = FollowUp(title=title, step_id=1, occurrence=2)
        assert fu.display_title == "[[Caring Contacts]: [[Monthly message] 2 of 4]]"

    def test_a_title_that_only_looks_like_one_is_left_alone(self, marked):
        assert FollowUp(title="P: Call 1 of 2", step_id=1, occurrence=3).display_title == (
            "[[P]: [Call 1 of 2]]"
        )
        assert FollowUp(title="P: Weekly call 3", step_id=1, occurrence=2).display_title == (
            "[[P]: [Weekly call 3]]"
        )

    def test_a_one_offs_default_title_and_a_typed_one(self, marked):
        assert FollowUp(title=texts.ONE_OFF_TITLE).display_title == "[One-off follow-up]"
        assert FollowUp(title="Call the landlord").display_title == "Call the landlord"

    def test_reasons_the_product_wrote(self, marked):
        assert FollowUp(cancel_reason=texts.CASE_CLOSED).display_cancel_reason == (
            "[The case was closed]"
        )
        assert FollowUp(cancel_reason="Moved away").display_cancel_reason == "Moved away"


def marked():
    """Each message the catalogue would translate, shown as "[message]": what a reader
    sees comes from the stored message, not from the English column."""
    return mock.patch("core.i18n.gettext", side_effect=lambda m: f"[{m}]")


@pytest.mark.django_db
class TestStoredReasons:
    """A reason the product writes into a row (why a client was enrolled, why a protocol
    ended) keeps its English and its message (core.i18n.stored_text), and reads in each
    reader's language; a reason a person typed reads as typed. T0: the contact cleared
    at 09:15 on Sat 1 Mar 2025."""

    RESOLVED = "Crisis contact resolved on scene, %(day)s, %(time)s"
    AT_ARRIVAL = "ER visit on %(day)s (%(reason)s; counted from the arrival)"
    AT_DISCHARGE = "ER visit on %(day)s (%(reason)s; counted from the discharge)"

    def test_a_crisis_resolved_on_scene(self, alice):
        with translation.override("es"):
            contact = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)

        enrolment = Enrolment.objects.get(case=contact.case)
        # In English whatever the language of the request that recorded it.
        assert enrolment.reason == "Crisis contact resolved on scene, Sat 1 Mar 2025, 09:15"
        assert enrolment.reason_i18n == {
            "m": self.RESOLVED,
            "a": {"day": {"day": "2025-03-01"}, "time": "09:15"},
        }
        fu = enrolment.followups.get()
        assert (fu.reason, fu.reason_i18n) == (enrolment.reason, enrolment.reason_i18n)
        with translation.override("en"):
            assert enrolment.display_reason == fu.display_reason == enrolment.reason
        with translation.override("es"), marked():
            # The message comes from the stored one; the day as Spanish writes dates.
            spanish = "[Crisis contact resolved on scene, sáb 1 mar 2025, 09:15]"
            assert fu.display_reason == spanish
            assert fu.events.get(kind=FollowUpEventKind.CREATED).display_reason == spanish
        event = CaseEvent.objects.get(case=contact.case, summary__startswith="Enrolled in")
        assert event.summary.endswith(f": {enrolment.reason}")
        assert event.detail["i18n"]["a"]["reason"] == enrolment.reason_i18n

    def test_a_spanish_reader_reads_it_in_spanish(self, alice):
        contact = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)
        fu = FollowUp.objects.get(case=contact.case)
        event = CaseEvent.objects.get(case=contact.case, summary__startswith="Enrolled in")

        with translation.override("es"):
            shown = fu.display_reason
            on_timeline = event.text

        # The sentence and its day are Spanish.
        assert shown == "Contacto de crisis resuelto en el lugar, sáb 1 mar 2025, 09:15"
        assert shown != fu.reason
        assert on_timeline.startswith("Inscrito en ")
        assert on_timeline.endswith(f": {shown}")

    def test_a_contact_ended_at_a_shelter_names_its_disposition_as_a_label(self, alice):
        contact = make_contact(alice, disposition=Disposition.SHELTER)

        enrolment = Enrolment.objects.get(case=contact.case)
        assert enrolment.reason == (
            "Crisis contact ended: transported to shelter, Sat 1 Mar 2025, 09:15"
        )
        assert enrolment.reason_i18n["a"]["disposition"] == {"t": "transported to shelter"}
        with marked():
            assert enrolment.display_reason == (
                "[Crisis contact ended: [transported to shelter], Sat 1 Mar 2025, 09:15]"
            )

    def test_the_discharge_writes_the_reason_again_counted_from_it(self, alice):
        case = make_case(alice)
        visit = ed_visit(case, arrived_at=timezone.now() - datetime.timedelta(days=3))
        enrolment = Enrolment.objects.get(source_visit=visit)
        assert enrolment.reason_i18n["m"] == self.AT_ARRIVAL

        services.record_discharge(
            actor=alice, visit=visit, discharged_at=timezone.now() - datetime.timedelta(hours=1)
        )

        enrolment.refresh_from_db()
        # The day stays the arrival's, as the sentence tells of the visit.
        assert enrolment.reason == (
            "ER visit on Wed 26 Feb 2025 (mental health crisis; counted from the discharge)"
        )
        assert enrolment.reason_i18n == {
            "m": self.AT_DISCHARGE,
            "a": {"day": {"day": "2025-02-26"}, "reason": {"t": "mental health crisis"}},
        }
        with translation.override("en"):
            assert enrolment.display_reason == enrolment.reason
        moved = enrolment.followups.filter(events__kind=FollowUpEventKind.RESCHEDULED)
        assert moved.exists()
        for fu in moved:
            assert (fu.reason, fu.reason_i18n) == (enrolment.reason, enrolment.reason_i18n)

    def test_at_high_risk_the_discharge_keeps_the_risk(self, alice):
        contact = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM, **HIGH_RISK)
        enrolment = Enrolment.objects.get(case=contact.case, source_visit__isnull=False)
        assert enrolment.reason == (
            "ER visit on Sat 1 Mar 2025 (mental health crisis; counted from the arrival)"
            "; high C-SSRS risk"
        )

        services.record_discharge(
            actor=alice, visit=enrolment.source_visit, discharged_at=timezone.now()
        )

        enrolment.refresh_from_db()
        assert enrolment.reason == (
            "ER visit on Sat 1 Mar 2025 (mental health crisis; counted from the discharge)"
            "; high C-SSRS risk"
        )
        assert enrolment.reason_i18n["m"] == "%(visit)s; high C-SSRS risk"
        assert enrolment.reason_i18n["a"]["visit"]["m"] == self.AT_DISCHARGE
        with translation.override("en"):
            assert enrolment.display_reason == enrolment.reason

    def test_a_readmission_ends_the_protocol_with_the_new_visits_reason(self, alice):
        case = make_case(alice)
        first = ed_visit(case, arrived_at=timezone.now() - datetime.timedelta(days=2))
        old = Enrolment.objects.get(source_visit=first)
        second = ed_visit(case, arrived_at=timezone.now() - datetime.timedelta(hours=1))

        new = Enrolment.objects.get(source_visit=second)
        old.refresh_from_db()
        assert old.status == EnrolmentStatus.ENDED
        assert old.end_reason == f"Restarted: {new.reason}"
        assert old.end_reason_i18n == {
            "m": "Restarted: %(reason)s",
            "a": {"reason": new.reason_i18n},
        }
        cancelled = old.followups.filter(status=Status.CANCELLED)
        assert cancelled.exists()
        for fu in cancelled:
            assert (fu.cancel_reason, fu.cancel_reason_i18n) == (
                old.end_reason,
                old.end_reason_i18n,
            )
        expected = (
            "[Restarted: [ER visit on Sat 1 Mar 2025 ([mental health crisis]; "
            "counted from the arrival)]]"
        )
        ended = CaseEvent.objects.get(
            case=case, detail__enrolment_id=old.pk, summary__contains="ended"
        )
        fu = cancelled.first()
        with marked():
            assert old.display_end_reason == expected
            assert fu.display_cancel_reason == expected
            assert fu.events.get(kind=FollowUpEventKind.CANCELLED).display_reason == expected
            assert ended.text.endswith(f" ended: {expected}]")

    def test_an_ended_referral_ends_its_check_with_its_status_as_a_label(self, alice):
        case = make_case(alice)
        referral = sent_referral(alice, case)

        referral_services.transition_referral(
            actor=alice,
            referral=referral,
            to_status=ReferralStatus.CANCELLED,
            via=EventVia.STAFF,
            outcome="declined",
            note="Client changed their mind.",
        )

        enrolment = Enrolment.objects.get(source_referral=referral)
        assert enrolment.end_reason == f"Referral to {referral.provider_name} cancelled"
        assert enrolment.end_reason_i18n == {
            "m": "Referral to %(provider)s %(action)s",
            "a": {"provider": referral.provider_name, "action": {"t": "cancelled"}},
        }
        with marked():
            assert enrolment.display_end_reason == (
                f"[Referral to {referral.provider_name} [cancelled]]"
            )

    def test_a_reason_a_person_typed_reads_as_typed(self, alice):
        case = make_case(alice)
        fu = due_followup(case, reason="Call once the shelter confirms the bed")
        visit = ed_visit(case)
        enrolment = Enrolment.objects.get(source_visit=visit)

        services.end_enrolment(actor=alice, enrolment=enrolment, reason="Client moved away")

        enrolment.refresh_from_db()
        assert (fu.reason, fu.reason_i18n) == ("Call once the shelter confirms the bed", None)
        assert (enrolment.end_reason, enrolment.end_reason_i18n) == ("Client moved away", None)
        cancelled = enrolment.followups.filter(status=Status.CANCELLED).first()
        assert (cancelled.cancel_reason, cancelled.cancel_reason_i18n) == (
            "Client moved away",
            None,
        )
        with translation.override("es"), marked():
            assert fu.display_reason == "Call once the shelter confirms the bed"
            assert enrolment.display_end_reason == "Client moved away"
            assert cancelled.display_cancel_reason == "Client moved away"
