import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from cases.models import Client, ReminderChannel
from followups.management.commands.seed_demo_followups import REMINDER_CLIENT, REMINDER_TITLE
from followups.models import (
    ACTIONABLE_STATUSES,
    Attempt,
    FollowUp,
    HospitalVisit,
    Status,
    VisitKind,
)
from tests.class_data import on_clock


@pytest.fixture
def seeded(demo_seeded_for_class, db, monkeypatch):
    """The demo data, seeded once for the class (tests/class_data.py)."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with on_clock(demo_seeded_for_class):
        yield


def counts():
    return (
        FollowUp.objects.count(),
        HospitalVisit.objects.count(),
        Attempt.objects.count(),
        Client.objects.count(),
    )


@pytest.mark.usefixtures("seeded")
class TestSeedDemoFollowups:
    def test_running_it_again_adds_nothing(self):
        before = counts()

        call_command("seed_demo_followups", stdout=StringIO())
        call_command("seed_demo", stdout=StringIO())

        assert counts() == before

    @pytest.mark.parametrize("username", ["alice", "bob", "erin", "carol"])
    def test_each_demo_worker_has_a_today_list(self, username):
        worker = User.objects.get(username=username)

        mine = FollowUp.objects.filter(assigned_to=worker)
        assert mine.filter(status__in=ACTIONABLE_STATUSES).exists()
        assert mine.filter(status=Status.COMPLETED).exists()
        assert Attempt.objects.filter(followup__assigned_to=worker).exists()

    def test_sams_agency_has_er_visits_in_the_last_30_days_with_every_outcome(self):
        sam = User.objects.get(username="sam")
        since = timezone.now() - datetime.timedelta(days=30)

        visits = HospitalVisit.objects.filter(
            agency_id=sam.agency_id, kind=VisitKind.ED, arrived_at__gte=since
        )
        assert visits.count() >= 5
        theirs = FollowUp.objects.filter(
            agency_id=sam.agency_id, enrolment__source_visit__in=visits
        )
        statuses = set(theirs.values_list("status", flat=True))
        assert {Status.COMPLETED, Status.MISSED} <= statuses
        assert statuses & set(ACTIONABLE_STATUSES)
        done = [fu for fu in theirs.filter(status=Status.COMPLETED)]
        assert any(fu.done_within_window for fu in done)
        assert any(not fu.done_within_window for fu in done)

    def test_alice_has_a_follow_up_falling_due_in_about_a_minute_for_a_texting_client(self):
        client = Client.objects.get(legal_name=REMINDER_CLIENT)
        assert client.reminder_channel == ReminderChannel.TEXT
        soon = FollowUp.objects.get(case__client=client, title=REMINDER_TITLE)

        assert soon.assigned_to.username == "alice"
        assert soon.status == Status.SCHEDULED
        wait = soon.window_start - timezone.now()
        assert datetime.timedelta(0) < wait <= datetime.timedelta(minutes=1)
        assert soon.next_check_at == soon.window_start

    def test_nothing_crosses_agencies(self):
        for fu in FollowUp.objects.select_related("case", "assigned_to"):
            assert fu.agency_id == fu.case.agency_id == fu.assigned_to.agency_id
