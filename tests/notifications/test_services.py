import datetime

import pytest
from django.core import mail
from django.utils import timezone

from cases import services as case_services
from cases.models import ReminderChannel
from followups import services as followup_services
from notifications import services
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from tests.followups.factories import advance
from tests.notifications.conftest import followup_on, remind_by


def rows(**filters):
    return list(Notification.objects.filter(**filters).order_by("pk"))


class TestNotify:
    def _email(self, user, key="k1"):
        return services.notify(
            agency_id=user.agency_id,
            kind=Kind.FOLLOWUP_MISSED,
            channel=Channel.EMAIL,
            dedupe_key=key,
            recipient=user,
            subject="A follow-up passed its window",
            body="See the link.",
        )

    def test_in_app_is_sent_when_written(self, alice):
        n = services.notify(
            agency_id=alice.agency_id,
            kind=Kind.FOLLOWUP_DUE,
            channel=Channel.IN_APP,
            dedupe_key="x",
            recipient=alice,
            subject="Due",
        )
        assert n.status == DeliveryStatus.SENT
        assert n.sent_at is not None
        assert n.read_at is None

    def test_email_is_queued_and_delivered_only_after_commit(
        self, sam, with_emails, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            n = self._email(sam)
        assert n.status == DeliveryStatus.QUEUED
        assert n.address == "sam@example.org"
        assert mail.outbox == []
        assert len(callbacks) == 1
        callbacks[0]()
        n.refresh_from_db()
        assert n.status == DeliveryStatus.SENT
        assert [m.to for m in mail.outbox] == [["sam@example.org"]]

    def test_the_same_key_twice_makes_one_row_and_one_send(
        self, sam, with_emails, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            first = self._email(sam)
            second = self._email(sam)
        assert first.pk == second.pk
        assert len(callbacks) == 1
        assert Notification.objects.count() == 1
        assert len(mail.outbox) == 1


class TestFollowupFellDue:
    def test_the_worker_hears_in_app_and_gets_no_email_per_followup(
        self, alice_case, alice, with_emails
    ):
        fu = followup_on(alice_case)
        services.followup_fell_due(fu)
        (n,) = rows()
        assert (n.recipient, n.channel, n.kind) == (alice, Channel.IN_APP, Kind.FOLLOWUP_DUE)
        assert n.status == DeliveryStatus.SENT
        # In-app may name the client: the inbox is behind the login.
        assert "Alice Client" in n.body
        assert n.url == f"/followups/{fu.pk}/"

    def test_twice_is_once(self, alice_case):
        remind_by(alice_case.client, ReminderChannel.TEXT)
        fu = followup_on(alice_case)
        services.followup_fell_due(fu)
        services.followup_fell_due(fu)
        assert Notification.objects.filter(kind=Kind.FOLLOWUP_DUE).count() == 1
        assert Notification.objects.filter(kind=Kind.CLIENT_REMINDER).count() == 1

    def test_a_moved_due_date_may_notify_again(self, alice_case, alice):
        fu = followup_on(alice_case)
        services.followup_fell_due(fu)
        fu = followup_services.move_followup(
            actor=alice,
            followup=fu,
            due_at=fu.due_at + datetime.timedelta(hours=2),
            reason="Client asked for the afternoon",
        )
        services.followup_fell_due(fu)
        assert Notification.objects.filter(kind=Kind.FOLLOWUP_DUE).count() == 2

    def test_no_reminder_channel_no_reminder(self, alice_case):
        assert alice_case.client.reminder_channel == ReminderChannel.NONE
        services.followup_fell_due(followup_on(alice_case))
        assert not Notification.objects.filter(kind=Kind.CLIENT_REMINDER).exists()

    def test_a_text_reminder_goes_by_text_only(self, alice_case):
        client = remind_by(
            alice_case.client, ReminderChannel.TEXT, phone="541-555-0177", email="a@example.org"
        )
        fu = followup_on(alice_case)
        services.followup_fell_due(fu)
        (reminder,) = rows(kind=Kind.CLIENT_REMINDER)
        assert reminder.channel == Channel.TEXT
        assert reminder.address == "541-555-0177"
        assert reminder.recipient is None
        assert reminder.client == client
        assert reminder.status == DeliveryStatus.QUEUED

    def test_an_email_reminder_goes_by_email_only(self, alice_case):
        remind_by(alice_case.client, ReminderChannel.EMAIL, email="jordan@example.org")
        services.followup_fell_due(followup_on(alice_case))
        (reminder,) = rows(kind=Kind.CLIENT_REMINDER)
        assert (reminder.channel, reminder.address) == (Channel.EMAIL, "jordan@example.org")


class TestFollowupOverdue:
    def test_the_worker_hears_in_app_once(self, alice_case, alice):
        fu = followup_on(alice_case, due_in=-datetime.timedelta(hours=1))
        services.followup_overdue(fu)
        services.followup_overdue(fu)
        (n,) = rows()
        assert (n.recipient, n.kind, n.channel) == (alice, Kind.FOLLOWUP_OVERDUE, Channel.IN_APP)


class TestFollowupMissed:
    def test_the_team_supervisor_hears_in_app_and_by_email(
        self, alice_case, alice, sam, dana, with_emails
    ):
        fu = followup_on(alice_case)
        services.followup_missed(fu)
        services.followup_missed(fu)
        missed = rows(kind=Kind.FOLLOWUP_MISSED)
        assert {(n.recipient, n.channel) for n in missed} == {
            (sam, Channel.IN_APP),
            (sam, Channel.EMAIL),
        }

    def test_the_email_names_no_client_and_links_to_the_followup(
        self, settings, alice_case, sam, with_emails
    ):
        settings.SITE_URL = "https://casebook.example.org"
        fu = followup_on(alice_case, reason="Suicidal thoughts at the ER")
        services.followup_missed(fu)
        (email,) = rows(channel=Channel.EMAIL)
        text = email.subject + email.body
        for forbidden in ["Alice Client", "Suicidal", "ER", fu.title, "541-555"]:
            assert forbidden not in text
        assert f"https://casebook.example.org/followups/{fu.pk}/" in email.body
        (in_app,) = rows(channel=Channel.IN_APP)
        assert "Alice Client" in in_app.body

    def test_no_email_row_without_an_address(self, alice_case, sam):
        assert sam.email == ""
        services.followup_missed(followup_on(alice_case))
        assert [n.channel for n in rows()] == [Channel.IN_APP]

    def test_a_team_without_a_supervisor_falls_back_to_the_agency_admins(
        self, erin_case, sam, dana, with_emails
    ):
        services.followup_missed(followup_on(erin_case))
        assert {n.recipient for n in rows()} == {dana}


class TestFollowupParked:
    def test_supervisors_and_admins_hear_once(self, alice_case, sam, dana, with_emails):
        fu = followup_on(alice_case)
        fu.parked_at = timezone.now()
        services.followup_parked(fu, "ValueError: bad window")
        services.followup_parked(fu, "ValueError: bad window")
        parked = rows(kind=Kind.PROCESSING_PARKED)
        assert {(n.recipient, n.channel) for n in parked} == {
            (sam, Channel.IN_APP),
            (sam, Channel.EMAIL),
            (dana, Channel.IN_APP),
            (dana, Channel.EMAIL),
        }
        email = next(n for n in parked if n.channel == Channel.EMAIL)
        assert "Alice Client" not in email.body + email.subject
        in_app = next(n for n in parked if n.channel == Channel.IN_APP)
        assert "bad window" in in_app.body

    def test_another_agency_hears_nothing(self, alice_case, carol, sam, with_emails):
        services.followup_parked(followup_on(alice_case), "boom")
        assert not Notification.objects.filter(recipient=carol).exists()
        assert set(Notification.objects.values_list("agency_id", flat=True)) == {
            alice_case.agency_id
        }


class TestNoticesResolveWithTheFollowup:
    """A notice about a follow-up does not stay "New" once the follow-up is done or
    cancelled: its unread in-app notices are marked read in the same transaction."""

    @pytest.fixture(autouse=True)
    def evening(self, time_machine):
        # The UTC date (6 Dec) and the agency's (5 Dec) differ.
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC))

    def notices(self, fu):
        services.followup_fell_due(fu)
        services.followup_overdue(fu)
        services.followup_missed(fu)
        return rows(followup=fu)

    def test_completing_it_marks_its_inbox_notices_read(self, alice_case, alice, sam, with_emails):
        fu = followup_on(alice_case, due_in=-datetime.timedelta(hours=1))
        other = followup_on(alice_case)
        self.notices(fu)
        services.followup_fell_due(other)

        followup_services.log_attempt(actor=alice, followup=fu, outcome="reached")

        assert not Notification.objects.filter(
            followup=fu, channel=Channel.IN_APP, read_at__isnull=True
        ).exists()
        # Emails keep their delivery record; another follow-up's notice stays new.
        assert rows(followup=fu, channel=Channel.EMAIL)[0].read_at is None
        assert rows(followup=other)[0].read_at is None
        assert Notification.objects.inbox_of(alice).unread().count() == 1
        assert not Notification.objects.inbox_of(sam).unread().exists()

    def test_a_read_notice_keeps_when_it_was_read(self, alice_case, alice):
        fu = followup_on(alice_case)
        (notice,) = services.followup_fell_due(fu)
        services.mark_read(user=alice, notification_id=notice.pk)
        read_at = Notification.objects.get(pk=notice.pk).read_at

        followup_services.cancel_followup(actor=alice, followup=fu, reason="Client moved")

        assert Notification.objects.get(pk=notice.pk).read_at == read_at

    def test_cancelling_it_or_closing_the_case_resolves_them(self, alice_case, alice, sam):
        cancelled, closed = followup_on(alice_case), followup_on(alice_case)
        for fu in (cancelled, closed):
            self.notices(fu)

        followup_services.cancel_followup(actor=alice, followup=cancelled, reason="Moved away")
        assert not Notification.objects.filter(followup=cancelled, read_at__isnull=True).exists()
        assert Notification.objects.filter(followup=closed, read_at__isnull=True).exists()
        case_services.close_case(actor=alice, case=alice_case, reason="stabilised")

        assert not Notification.objects.filter(read_at__isnull=True).exists()

    def test_a_missed_one_done_late_resolves_the_supervisors_notice(
        self, alice_case, alice, sam, time_machine
    ):
        fu = followup_on(alice_case)
        time_machine.shift(datetime.timedelta(days=2))
        advance()
        (missed,) = services.followup_missed(fu)

        done = followup_services.complete_followup(actor=alice, followup=fu, note="Reached late")

        assert (done.status, done.done_within_window) == ("completed", False)
        assert Notification.objects.get(pk=missed.pk).read_at is not None

    def test_it_is_one_update_however_many_notices(
        self, alice_case, alice, sam, django_assert_num_queries
    ):
        followups = [followup_on(alice_case) for _ in range(3)]
        for fu in followups:
            self.notices(fu)

        with django_assert_num_queries(1):
            changed = services.resolve_followup_notices(followup_ids=[fu.pk for fu in followups])

        assert changed == 9
