"""An attempt's one-time submission id: the phone's outbox may send an attempt twice (a
retry after a dropped connection); it is logged once, and the repeat answers as the first
did. And the time the worker tapped it, kept when it reaches the server later."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import services
from followups.models import Attempt, FollowUpEvent, FollowUpEventKind, Status
from tests.followups.factories import due_followup, make_case

pytestmark = pytest.mark.django_db


def attempt_url(fu):
    return reverse("followups:attempt", args=[fu.pk])


class TestLogAttemptOnce:
    def test_a_repeat_returns_the_first_attempt_and_changes_nothing(self, alice):
        fu = due_followup(make_case(alice))
        submission = uuid.uuid4()
        first = services.log_attempt(
            actor=alice, followup=fu, outcome="no_answer", submission_id=submission
        )
        again = services.log_attempt(
            actor=alice, followup=fu, outcome="no_answer", submission_id=submission
        )
        assert again == first
        assert Attempt.objects.filter(followup=fu).count() == 1
        assert (
            FollowUpEvent.objects.filter(followup=fu, kind=FollowUpEventKind.ATTEMPT).count() == 1
        )

    def test_a_repeated_reached_is_not_refused_by_the_completion_it_made(self, alice):
        fu = due_followup(make_case(alice))
        submission = uuid.uuid4()
        first = services.log_attempt(
            actor=alice, followup=fu, outcome="reached", submission_id=submission
        )
        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED
        assert (
            services.log_attempt(
                actor=alice, followup=fu, outcome="reached", submission_id=submission
            )
            == first
        )

    def test_other_ids_and_no_id_log_new_attempts(self, alice):
        fu = due_followup(make_case(alice))
        for submission in (uuid.uuid4(), uuid.uuid4(), None, None):
            services.log_attempt(
                actor=alice, followup=fu, outcome="no_answer", submission_id=submission
            )
        assert Attempt.objects.filter(followup=fu).count() == 4


class TestAttemptPage:
    def test_a_repeat_from_the_outbox_answers_like_the_first(self, login, alice):
        fu = due_followup(make_case(alice))
        client = login(alice)
        data = {"outcome": "left_message", "submission_id": str(uuid.uuid4())}
        first = client.post(attempt_url(fu), data)
        again = client.post(attempt_url(fu), data)
        assert first.status_code == again.status_code == 302
        assert first["Location"] == again["Location"]
        assert Attempt.objects.filter(followup=fu).count() == 1

    def test_a_repeat_from_today_returns_the_row(self, login, alice):
        fu = due_followup(make_case(alice))
        client = login(alice)
        data = {"outcome": "no_answer", "submission_id": str(uuid.uuid4())}
        client.post(attempt_url(fu), data, HTTP_HX_REQUEST="true")
        html = client.post(attempt_url(fu), data, HTTP_HX_REQUEST="true").content.decode()
        assert "1 attempt, last: no answer" in html
        assert Attempt.objects.filter(followup=fu).count() == 1

    def test_the_time_it_was_tapped_is_kept_never_ahead_of_now(self, login, alice):
        fu = due_followup(make_case(alice))
        client = login(alice)
        tapped = timezone.now() - datetime.timedelta(minutes=30)
        client.post(attempt_url(fu), {"outcome": "no_answer", "saved_at": tapped.isoformat()})
        ahead = timezone.now() + datetime.timedelta(hours=3)
        client.post(attempt_url(fu), {"outcome": "no_answer", "saved_at": ahead.isoformat()})
        first, second = Attempt.objects.filter(followup=fu).order_by("pk")
        assert first.at == tapped
        assert second.at <= timezone.now()
