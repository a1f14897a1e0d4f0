import datetime

import pytest
import time_machine
from django.core import mail

from followups import engine, tasks
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from tests.notifications.conftest import followup_on, with_emails  # noqa: F401 (a fixture)

UTC = datetime.UTC


def at(*parts):
    return datetime.datetime(*parts, tzinfo=UTC)


def digests():
    return list(Notification.objects.filter(kind=Kind.DAILY_DIGEST).order_by("pk"))


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the beat task as beat would, delivering what it queues."""

    def go():
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.send_daily_digests()

    return go


@pytest.mark.usefixtures("with_emails")
class TestDailyDigest:
    def test_once_per_local_day_from_7am_in_each_agencys_time_zone(
        self, alice, carol, alice_case, carol_case, run
    ):
        # 14:30 UTC in January: 06:30 in Los Angeles (agency A), 07:30 in Denver (B).
        with time_machine.travel(at(2027, 1, 14, 14, 30), tick=False) as traveller:
            followup_on(alice_case)
            followup_on(carol_case)
            assert run() == 1
            assert [d.recipient for d in digests()] == [carol]
            traveller.move_to(at(2027, 1, 14, 14, 59))
            assert run() == 0
            traveller.move_to(at(2027, 1, 14, 15, 0))  # 07:00 in Los Angeles
            assert run() == 1
            assert [d.recipient for d in digests()] == [carol, alice]
            traveller.move_to(at(2027, 1, 15, 6, 45))  # 23:45 / 22:45 the same local day
            assert run() == 0
            traveller.move_to(at(2027, 1, 15, 14, 30))  # the next local day in Denver
            assert run() == 1
        keys = [d.dedupe_key for d in digests()]
        assert keys == [
            f"digest:{carol.pk}:2027-01-14",
            f"digest:{alice.pk}:2027-01-14",
            f"digest:{carol.pk}:2027-01-15",
        ]
        assert all(d.status == DeliveryStatus.SENT for d in digests())
        assert [m.to for m in mail.outbox] == [
            ["carol@example.org"],
            ["alice@example.org"],
            ["carol@example.org"],
        ]

    def test_the_local_hour_follows_daylight_saving_time(self, alice, alice_case, run):
        # Clocks go forward in the US on 14 March 2027: 14:30 UTC is 06:30 on the
        # Saturday (PST) and 07:30 on the Sunday (PDT) in Los Angeles.
        with time_machine.travel(at(2027, 3, 13, 14, 30), tick=False) as traveller:
            followup_on(alice_case, due_in=datetime.timedelta(days=1, hours=4))
            assert run() == 0
            traveller.move_to(at(2027, 3, 14, 14, 30))
            assert run() == 1
        assert digests()[0].dedupe_key == f"digest:{alice.pk}:2027-03-14"

    @pytest.fixture(autouse=True)
    def _before_the_days_of_these_tests(self, time_machine):
        """The fixtures' rows (alice_case's 48-hour check) are made on 10 Jan 2027, before
        the days these tests travel to, whatever the clock says."""
        time_machine.move_to(datetime.datetime(2027, 1, 10, 3, 30, tzinfo=datetime.UTC))

    def test_counts_and_a_link_but_no_client_names(
        self, settings, alice, alice_case, run, django_capture_on_commit_callbacks
    ):
        settings.SITE_URL = "https://casebook.example.org"
        with time_machine.travel(at(2027, 1, 13, 15, 15), tick=False) as traveller:
            followup_on(alice_case)  # due yesterday, never done
            traveller.move_to(at(2027, 1, 14, 15, 15))  # 07:15 in Los Angeles
            followup_on(alice_case)  # due today
            followup_on(alice_case, due_in=-datetime.timedelta(hours=1))  # overdue
            followup_on(alice_case, due_in=datetime.timedelta(days=3))  # not yet open
            with django_capture_on_commit_callbacks(execute=True):
                engine.sweep()  # yesterday's is missed now
            assert run() == 1
        (digest,) = digests()
        assert digest.channel == Channel.EMAIL
        assert digest.subject == "Your follow-ups for Thu 14 Jan"
        body = digest.body
        assert "Due today: 2" in body
        assert "Overdue: 1" in body
        assert "Open now (due or overdue): 2" in body
        # Yesterday's, and alice_case's 48-hour check (made by the fixture on 10 Jan, its
        # window closed on the 13th): both became missed at this sweep.
        assert "Missed since yesterday: 2" in body
        assert "https://casebook.example.org/followups/today/" in body
        for forbidden in ["Alice Client", "Check-in call", "Check the plan", "541-555"]:
            assert forbidden not in body + digest.subject
        assert mail.outbox[-1].body == body

    def test_nobody_without_due_or_overdue_work_gets_one(self, bob, sam, dana, alice_case, run):
        with time_machine.travel(at(2027, 1, 14, 16, 0), tick=False):
            # alice_case's 48-hour check is scheduled, not yet due.
            assert run() == 0
        assert digests() == []

    def test_no_address_or_inactive_no_digest(self, alice, bob, alice_case, bob_case, run):
        with time_machine.travel(at(2027, 1, 14, 16, 0), tick=False):
            followup_on(alice_case)
            followup_on(bob_case)
            alice.email = ""
            alice.save(update_fields=["email"])
            bob.is_active = False
            bob.save(update_fields=["is_active"])
            assert run() == 0
        assert digests() == []
