"""The follow-up engine (followups/engine/): the sweep claims rows under a lease, the
processing applies time-driven status changes once, with their events and notices."""

import datetime
import uuid
import zoneinfo
from collections import Counter
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from cases.models import Client, ReminderChannel
from followups import engine, services, tasks
from followups.models import (
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    Status,
    Trigger,
    VisitKind,
    VisitReason,
)
from notifications.models import Channel, Kind, Notification
from tests.followups.conftest import hours

pytestmark = pytest.mark.django_db

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Saturday 1 March 2025, 10:00 in Los Angeles; the clocks go forward on 9 March.
T0 = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=LA)


@pytest.fixture(autouse=True)
def clock(time_machine):
    """The clock stands still at T0 until a test moves it with clock(at)."""
    time_machine.move_to(T0, tick=False)

    def move(at):
        time_machine.move_to(at, tick=False)
        return timezone.now()

    return move


def status_events(fu):
    return list(
        FollowUpEvent.objects.filter(followup=fu, kind=FollowUpEventKind.STATUS)
        .order_by("pk")
        .values_list("from_status", "to_status")
    )


def notices(fu):
    return Counter(
        (kind, channel)
        for kind, channel in Notification.objects.filter(followup=fu).values_list("kind", "channel")
    )


def lease():
    return datetime.timedelta(seconds=engine.lease_seconds())


class TestSweep:
    def test_it_claims_nothing_before_the_window_opens(self, quiet_case, enrol_hourly, run_engine):
        enrol_hourly(quiet_case)

        assert run_engine.sweep(timezone.now() + hours(2) - datetime.timedelta(seconds=1)) == []

    def test_it_leases_a_row_whose_time_has_come_and_sends_it_after_commit(
        self, quiet_case, enrol_hourly, django_capture_on_commit_callbacks
    ):
        (fu,) = enrol_hourly(quiet_case)
        now = timezone.now() + hours(2)

        with mock.patch.object(tasks.process_followups, "delay") as delay:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                assert engine.sweep(now) == 1
            delay.assert_not_called()  # nothing leaves before the claim is committed
            for callback in callbacks:
                callback()

        fu.refresh_from_db()
        delay.assert_called_once_with([(fu.pk, str(fu.lease_token))])
        assert fu.lease_until == now + lease()
        assert fu.dispatch_count == 1
        assert fu.status == Status.SCHEDULED  # the task changes it, not the sweep

    def test_a_leased_row_is_sent_again_only_when_its_lease_has_run_out(
        self, quiet_case, enrol_hourly, run_engine
    ):
        (fu,) = enrol_hourly(quiet_case)
        now = timezone.now() + hours(2)
        [(_, first)] = run_engine.sweep(now)

        assert run_engine.sweep(now + lease() - datetime.timedelta(seconds=1)) == []
        [(pk, second)] = run_engine.sweep(now + lease() + datetime.timedelta(seconds=1))

        fu.refresh_from_db()
        assert pk == fu.pk
        assert second != first
        assert str(fu.lease_token) == second
        assert fu.dispatch_count == 2
        # Each send waits longer for its task than the one before.
        assert fu.lease_until == now + lease() + datetime.timedelta(seconds=1) + 2 * lease()

    def test_it_claims_the_oldest_first_and_no_more_than_its_limit(
        self, quiet_case, enrol_hourly, run_engine
    ):
        early = enrol_hourly(quiet_case, anchor_at=timezone.now() - hours(1))
        late = enrol_hourly(quiet_case, anchor_at=timezone.now())
        now = timezone.now() + hours(2)

        assert [pk for pk, _ in run_engine.sweep(now, limit=1)] == [early[0].pk]
        assert [pk for pk, _ in run_engine.sweep(now, limit=1)] == [late[0].pk]

    def test_a_refused_send_is_unclaimed_for_the_next_sweep(
        self, quiet_case, enrol_hourly, django_capture_on_commit_callbacks, settings
    ):
        settings.FOLLOWUP_BATCH_SIZE = 1  # two batches: the second is never tried
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6), (2, 4, 6)])
        now = timezone.now() + hours(2)

        with (
            mock.patch.object(
                tasks.process_followups, "delay", side_effect=OSError("broker down")
            ) as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            engine.sweep(now)

        assert delay.call_count == 1  # the rest are not tried once the broker refuses
        for fu in fus:
            fu.refresh_from_db()
            assert (fu.lease_token, fu.lease_until, fu.dispatch_count) == (None, None, 0)
        assert FollowUp.objects.needing_sweep(now).count() == 2

    def test_closed_and_parked_rows_are_not_claimed(
        self, alice, quiet_case, enrol_hourly, run_engine
    ):
        done, parked = enrol_hourly(quiet_case, steps=[(2, 4, 6), (2, 4, 6)])
        services.complete_followup(actor=alice, followup=done)
        FollowUp.objects.filter(pk=parked.pk).update(parked_at=timezone.now())

        assert run_engine.sweep(timezone.now() + hours(2)) == []

    def test_one_sweep_leases_its_whole_batch_in_a_fixed_number_of_queries(
        self, quiet_case, enrol_hourly, run_engine, django_assert_num_queries
    ):
        # Claim (SELECT ... FOR UPDATE SKIP LOCKED), lease (one UPDATE), and the
        # savepoint around them inside the test's transaction.
        now = timezone.now() + hours(2)
        enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 2)
        with django_assert_num_queries(4):
            assert len(run_engine.sweep(now)) == 2
        FollowUp.objects.update(lease_until=None, lease_token=None, dispatch_count=0)
        enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 2, key="more")
        enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3, key="most")
        with django_assert_num_queries(4):
            assert len(run_engine.sweep(now)) == 7

    def test_each_row_of_a_batch_gets_its_own_token_and_the_lease_of_its_send(
        self, quiet_case, enrol_hourly, run_engine
    ):
        fresh, resent, third = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        # `resent` was sent twice already, `third` once; both leases have run out.
        FollowUp.objects.filter(pk=resent.pk).update(dispatch_count=2)
        FollowUp.objects.filter(pk=third.pk).update(dispatch_count=1)
        now = timezone.now() + hours(2)

        sent = dict(run_engine.sweep(now))

        assert set(sent) == {fresh.pk, resent.pk, third.pk}
        assert len(set(sent.values())) == 3
        rows = {fu.pk: fu for fu in FollowUp.objects.filter(pk__in=sent)}
        for pk, token in sent.items():
            assert str(rows[pk].lease_token) == token
        assert (rows[fresh.pk].dispatch_count, rows[fresh.pk].lease_until) == (1, now + lease())
        assert (rows[third.pk].dispatch_count, rows[third.pk].lease_until) == (
            2,
            now + 2 * lease(),
        )
        assert (rows[resent.pk].dispatch_count, rows[resent.pk].lease_until) == (
            3,
            now + 4 * lease(),
        )

    def test_a_row_at_its_limit_is_parked_and_the_rest_of_its_batch_is_leased(
        self, quiet_case, sam, enrol_hourly, run_engine
    ):
        worn, fresh = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 2)
        FollowUp.objects.filter(pk=worn.pk).update(dispatch_count=engine.MAX_DISPATCHES)
        now = timezone.now() + hours(2)

        assert [pk for pk, _ in run_engine.sweep(now)] == [fresh.pk]

        worn.refresh_from_db()
        fresh.refresh_from_db()
        assert (worn.parked_at, worn.lease_token) == (now, None)
        assert worn.dispatch_count == engine.MAX_DISPATCHES
        assert FollowUpEvent.objects.filter(followup=worn, kind=FollowUpEventKind.PARKED).exists()
        assert (fresh.parked_at, fresh.dispatch_count) == (None, 1)
        assert fresh.lease_token is not None


class TestProcess:
    def test_the_window_opening_makes_it_due_with_a_notice_to_the_worker(
        self, quiet_case, sam, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        start, due = fu.window_start, fu.due_at
        alice = quiet_case.assigned_worker

        clock(start - datetime.timedelta(seconds=1))
        assert run_engine() == []

        clock(start)
        assert run_engine() == [(fu.pk, mock.ANY)]
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert fu.status_changed_at == start
        assert fu.next_check_at == due
        assert (fu.lease_until, fu.lease_token, fu.dispatch_count) == (None, None, 0)
        assert notices(fu) == {(Kind.FOLLOWUP_DUE, Channel.IN_APP): 1}
        assert Notification.objects.get(followup=fu).recipient == alice

    def test_it_goes_overdue_then_missed_with_an_event_and_a_notice_each_time(
        self, quiet_case, sam, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        start, due, end = fu.window_start, fu.due_at, fu.window_end
        clock(start)
        run_engine()

        clock(due)
        run_engine()
        fu.refresh_from_db()
        assert fu.status == Status.OVERDUE
        assert fu.next_check_at == end
        assert notices(fu)[(Kind.FOLLOWUP_OVERDUE, Channel.IN_APP)] == 1

        clock(end)
        run_engine()
        fu.refresh_from_db()
        assert fu.status == Status.MISSED
        assert fu.next_check_at is None
        missed = Notification.objects.get(followup=fu, kind=Kind.FOLLOWUP_MISSED)
        assert missed.recipient == sam

        assert status_events(fu) == [
            (Status.SCHEDULED, Status.DUE),
            (Status.DUE, Status.OVERDUE),
            (Status.OVERDUE, Status.MISSED),
        ]
        assert quiet_case.events.filter(summary__startswith="Follow-up missed").count() == 1
        clock(end + datetime.timedelta(days=30))
        assert run_engine() == []

    def test_a_duplicate_delivery_has_one_effect(self, quiet_case, sam, enrol_hourly, run_engine):
        (fu,) = enrol_hourly(quiet_case)
        now = fu.window_end
        [(pk, token)] = run_engine.sweep(now)

        assert engine.process(pk, token, now=now) is True
        assert engine.process(pk, token, now=now) is False
        assert tasks.process_followup(pk, token) is False  # the task, delivered again

        assert len(status_events(fu)) == 3
        assert Notification.objects.filter(followup=fu).count() == 1  # sam in-app

    def test_a_stale_token_does_nothing(self, quiet_case, enrol_hourly, run_engine):
        (fu,) = enrol_hourly(quiet_case)
        now = fu.window_start
        [(_, old)] = run_engine.sweep(now)
        later = now + lease() + datetime.timedelta(seconds=1)
        [(_, new)] = run_engine.sweep(later)

        assert engine.process(fu.pk, old, now=later) is False
        assert engine.process(fu.pk, str(uuid.uuid4()), now=later) is False
        fu.refresh_from_db()
        assert fu.status == Status.SCHEDULED
        assert str(fu.lease_token) == new

        assert engine.process(fu.pk, new, now=later) is True
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert status_events(fu) == [(Status.SCHEDULED, Status.DUE)]

    def test_a_lost_message_is_sent_again_once_its_lease_runs_out(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        clock(fu.window_start)
        run_engine.sweep()  # the task never arrives

        clock(fu.window_start + lease() + datetime.timedelta(seconds=1))
        assert run_engine() == [(fu.pk, mock.ANY)]

        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert fu.dispatch_count == 0
        assert status_events(fu) == [(Status.SCHEDULED, Status.DUE)]
        assert notices(fu) == {(Kind.FOLLOWUP_DUE, Channel.IN_APP): 1}

    def test_a_follow_up_created_already_due_gets_its_notice_without_a_status_change(
        self, alice, quiet_case, run_engine
    ):
        fu = services.create_followup(
            actor=alice, case=quiet_case, due_at=timezone.now() + hours(3), reason="Check in"
        )
        assert fu.status == Status.DUE

        assert run_engine() == [(fu.pk, mock.ANY)]

        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert fu.next_check_at == fu.due_at
        assert status_events(fu) == []
        assert notices(fu) == {(Kind.FOLLOWUP_DUE, Channel.IN_APP): 1}

    def test_a_window_moved_later_takes_the_follow_up_back_to_scheduled(
        self, alice, quiet_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        clock(fu.window_start)
        run_engine()
        services.move_followup(
            actor=alice, followup=fu, due_at=fu.due_at + hours(24), reason="Client away"
        )

        run_engine()

        fu.refresh_from_db()
        assert fu.status == Status.SCHEDULED
        assert status_events(fu) == [(Status.SCHEDULED, Status.DUE), (Status.DUE, Status.SCHEDULED)]
        assert fu.next_check_at == fu.window_start

    def test_a_missed_weekly_call_schedules_the_next_one(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(
            quiet_case, key="weekly", steps=[(2, 4, 6)], repeat_every=168, repeat_times=None
        )
        clock(fu.window_end)

        run_engine()

        nxt = FollowUp.objects.get(enrolment=fu.enrolment, occurrence=2)
        assert nxt.status == Status.SCHEDULED
        assert nxt.window_start == fu.window_start + hours(168)
        assert nxt.next_check_at == nxt.window_start


class TestWorkersDown:
    """The sweeper and every worker stopped for hours, then came back and ran once."""

    @pytest.fixture
    def reminded_case(self, quiet_case):
        Client.objects.filter(pk=quiet_case.client_id).update(reminder_channel=ReminderChannel.TEXT)
        return quiet_case

    def test_past_its_window_it_is_missed_once_and_only_the_supervisor_hears(
        self, reminded_case, sam, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(reminded_case)
        clock(fu.window_end + hours(5))

        assert len(run_engine()) == 1
        assert run_engine() == []

        fu.refresh_from_db()
        assert fu.status == Status.MISSED
        assert status_events(fu) == [
            (Status.SCHEDULED, Status.DUE),
            (Status.DUE, Status.OVERDUE),
            (Status.OVERDUE, Status.MISSED),
        ]
        # No stale "it is due" to the worker, no reminder to the client.
        assert notices(fu) == {(Kind.FOLLOWUP_MISSED, Channel.IN_APP): 1}
        assert Notification.objects.get(followup=fu).recipient == sam

    def test_overdue_with_its_window_still_open_the_worker_and_the_client_hear_once(
        self, reminded_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(reminded_case)
        clock(fu.due_at + hours(1))

        run_engine()
        run_engine()

        fu.refresh_from_db()
        assert fu.status == Status.OVERDUE
        assert status_events(fu) == [(Status.SCHEDULED, Status.DUE), (Status.DUE, Status.OVERDUE)]
        assert notices(fu) == {
            (Kind.FOLLOWUP_DUE, Channel.IN_APP): 1,
            (Kind.CLIENT_REMINDER, Channel.TEXT): 1,
            (Kind.FOLLOWUP_OVERDUE, Channel.IN_APP): 1,
        }


class TestKilledFirstProcessing:
    """A processing killed mid-way rolls back whole; its retry, after the lease, may come
    after the due time. Each prompt still goes out once: the worker's "fell due", the
    client's reminder and the worker's "overdue"."""

    PROMPTS = {
        (Kind.FOLLOWUP_DUE, Channel.IN_APP): 1,
        (Kind.CLIENT_REMINDER, Channel.TEXT): 1,
        (Kind.FOLLOWUP_OVERDUE, Channel.IN_APP): 1,
    }

    @pytest.fixture
    def reminded_case(self, quiet_case):
        Client.objects.filter(pk=quiet_case.client_id).update(reminder_channel=ReminderChannel.TEXT)
        return quiet_case

    def killed(self, run_engine, fu):
        """Claimed, its task taken by a worker that died before committing anything."""
        assert run_engine.sweep() == [(fu.pk, mock.ANY)]
        fu.refresh_from_db()
        assert fu.lease_token is not None

    def test_killed_at_the_window_opening_and_retried_after_the_due_time(
        self, reminded_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(reminded_case)
        clock(fu.window_start)
        self.killed(run_engine, fu)

        clock(fu.due_at + hours(1))
        assert run_engine() == [(fu.pk, mock.ANY)]
        assert run_engine() == []

        fu.refresh_from_db()
        assert fu.status == Status.OVERDUE
        assert status_events(fu) == [(Status.SCHEDULED, Status.DUE), (Status.DUE, Status.OVERDUE)]
        assert notices(fu) == self.PROMPTS

    def test_created_already_due_killed_and_retried_after_the_due_time(
        self, reminded_case, enrol_hourly, run_engine, clock
    ):
        # Its window opened an hour ago: made due, swept at once, its prompts not yet given.
        (fu,) = enrol_hourly(reminded_case, anchor_at=timezone.now() - hours(3))
        assert fu.status == Status.DUE
        self.killed(run_engine, fu)

        clock(fu.due_at + hours(1))
        run_engine()

        fu.refresh_from_db()
        assert fu.status == Status.OVERDUE
        assert status_events(fu) == [(Status.DUE, Status.OVERDUE)]
        assert notices(fu) == self.PROMPTS

    def test_a_one_off_follow_up_whose_workers_were_down_past_its_due_time(
        self, alice, reminded_case, run_engine, clock
    ):
        fu = services.create_followup(
            actor=alice, case=reminded_case, due_at=timezone.now() + hours(1), reason="Check in"
        )
        assert fu.status == Status.DUE
        clock(fu.due_at + hours(1))

        run_engine()

        assert notices(fu) == self.PROMPTS

    def test_processing_again_doubles_nothing(
        self, bob, reminded_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(reminded_case, anchor_at=timezone.now() - hours(3))
        self.killed(run_engine, fu)
        clock(fu.due_at + hours(1))
        run_engine()

        # Swept again with nothing to change (a window edited to the same times), after a
        # reassignment and a change of the client's channel: nothing is given twice.
        FollowUp.objects.filter(pk=fu.pk).update(next_check_at=timezone.now(), assigned_to=bob)
        Client.objects.filter(pk=reminded_case.client_id).update(
            reminder_channel=ReminderChannel.EMAIL, email="quinn@example.org"
        )
        assert run_engine() == [(fu.pk, mock.ANY)]

        assert notices(fu) == self.PROMPTS
        assert status_events(fu) == [(Status.DUE, Status.OVERDUE)]

    def test_a_new_due_time_is_a_new_prompt(self, alice, reminded_case, run_engine, clock):
        fu = services.create_followup(
            actor=alice, case=reminded_case, due_at=timezone.now() + hours(3), reason="Check in"
        )
        run_engine()
        fu = services.move_followup(
            actor=alice, followup=fu, due_at=fu.due_at + hours(24), reason="Client away"
        )
        run_engine()  # back to scheduled
        clock(fu.window_start)
        run_engine()

        assert notices(fu) == {
            (Kind.FOLLOWUP_DUE, Channel.IN_APP): 2,
            (Kind.CLIENT_REMINDER, Channel.TEXT): 2,
        }


class TestParking:
    @pytest.fixture
    def failing(self):
        """Every fell-due notice fails, as if a bug or a bad row broke the processing."""
        with mock.patch(
            "notifications.services.followup_fell_due", side_effect=RuntimeError("bad row")
        ):
            yield

    def run_failing_task(self, run_engine, now):
        [(pk, token)] = run_engine.sweep(now)
        with pytest.raises(RuntimeError, match="bad row"):
            tasks.process_followup(pk, token)

    def test_a_failed_processing_keeps_its_error_and_changes_nothing(
        self, quiet_case, enrol_hourly, run_engine, clock, failing
    ):
        (fu,) = enrol_hourly(quiet_case)
        now = clock(fu.window_start)

        self.run_failing_task(run_engine, now)

        fu.refresh_from_db()
        assert fu.last_error == "RuntimeError: bad row"
        assert fu.status == Status.SCHEDULED
        assert status_events(fu) == []

    def test_after_max_dispatches_it_is_parked_with_an_alert(
        self, quiet_case, sam, dana, enrol_hourly, run_engine, clock, failing
    ):
        (fu,) = enrol_hourly(quiet_case, steps=[(2, 4, 20)])
        now = clock(fu.window_start)
        for _ in range(engine.MAX_DISPATCHES):
            self.run_failing_task(run_engine, now)
            now = clock(now + engine.MAX_LEASE + datetime.timedelta(seconds=1))

        assert run_engine.sweep(now) == []

        fu.refresh_from_db()
        assert fu.parked_at == now
        assert (fu.lease_token, fu.lease_until) == (None, None)
        assert fu.dispatch_count == engine.MAX_DISPATCHES
        parked = FollowUpEvent.objects.get(followup=fu, kind=FollowUpEventKind.PARKED)
        assert parked.reason == "RuntimeError: bad row"
        alerts = Notification.objects.filter(followup=fu, kind=Kind.PROCESSING_PARKED)
        assert {n.recipient for n in alerts.filter(channel=Channel.IN_APP)} == {sam, dana}
        assert "bad row" in alerts.filter(recipient=sam).get().body
        clock(now + datetime.timedelta(days=3))
        assert run_engine.sweep() == []

    def test_a_released_row_is_processed_again(
        self, quiet_case, sam, dana, enrol_hourly, run_engine, clock, failing
    ):
        (fu,) = enrol_hourly(quiet_case, steps=[(2, 4, 20)])
        now = clock(fu.window_start)
        for _ in range(engine.MAX_DISPATCHES):
            self.run_failing_task(run_engine, now)
            now = clock(now + engine.MAX_LEASE + datetime.timedelta(seconds=1))
        run_engine.sweep(now)

        fu = engine.release(fu, sam)
        assert engine.release(fu, sam).parked_at is None  # releasing twice is harmless

        assert fu.parked_at is None
        assert fu.next_check_at == now
        event = FollowUpEvent.objects.get(followup=fu, kind=FollowUpEventKind.RELEASED)
        assert event.actor == sam
        with mock.patch("notifications.services.followup_fell_due") as fell_due:
            [(pk, token)] = run_engine.sweep()
            assert engine.process(pk, token) is True
        fu.refresh_from_db()
        assert fu.status == Status.OVERDUE
        assert fu.last_error == ""
        assert fu.dispatch_count == 0
        fell_due.assert_called_once()

    def test_an_alert_that_fails_leaves_the_row_for_the_next_sweep_and_the_rest_go_on(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        stuck, fine = enrol_hourly(quiet_case, steps=[(2, 4, 6), (2, 4, 6)])
        FollowUp.objects.filter(pk=stuck.pk).update(dispatch_count=engine.MAX_DISPATCHES)
        clock(stuck.window_start)

        with mock.patch(
            "notifications.services.followup_parked", side_effect=RuntimeError("mail down")
        ):
            assert run_engine.sweep() == [(fine.pk, mock.ANY)]

        stuck.refresh_from_db()
        assert stuck.parked_at is None
        assert not FollowUpEvent.objects.filter(followup=stuck, kind=FollowUpEventKind.PARKED)
        assert run_engine.sweep() == []  # parked now that alerts go out
        stuck.refresh_from_db()
        assert stuck.parked_at is not None

    def test_a_database_error_is_retried_by_celery_and_not_counted_as_a_bug(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        [(pk, token)] = run_engine.sweep(clock(fu.window_start))

        with mock.patch.object(engine, "process", side_effect=OperationalError("gone")) as process:
            result = tasks.process_followup.apply(args=(pk, token))

        assert process.call_count == 1 + tasks.process_followup.max_retries
        assert result.state == "FAILURE"
        assert isinstance(result.result, OperationalError)
        fu.refresh_from_db()
        assert fu.last_error == ""


class TestEagerTasks:
    def test_a_sweep_sent_through_celery_processes_the_row(
        self, quiet_case, enrol_hourly, django_capture_on_commit_callbacks, clock
    ):
        (fu,) = enrol_hourly(quiet_case)
        clock(fu.window_start)

        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sweep() == 1

        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert fu.lease_token is None


def discharged_from_the_ed(alice, case):
    """The enrolment of `case`'s client in the post-ER discharge contacts on a discharge an
    hour before T0, and its four follow-ups, first to last."""
    visit = services.record_hospital_visit(
        actor=alice,
        case=case,
        kind=VisitKind.ED,
        reason=VisitReason.MENTAL_HEALTH,
        arrived_at=T0 - hours(6),
        discharged_at=T0 - hours(1),
    )
    enrolment = visit.enrolments.get()
    assert enrolment.trigger == Trigger.ED_VISIT
    first, second, third, fourth = enrolment.followups.order_by("due_at")
    # Day 1 opens at local midnight; day 8 ends after the clocks went forward.
    assert first.window_start == datetime.datetime(2025, 3, 2, tzinfo=LA)
    assert second.due_at == datetime.datetime(2025, 3, 10, tzinfo=LA)
    return enrolment, (first, second, third, fourth)


def run_each_noon_for_93_days(alice, contacts, run_engine, clock):
    """Run the engine at noon each day for 93 days from T0, while alice completes the
    second contact on day 8, tries the third in vain on day 40 and reaches the client for
    the fourth on day 80. Returns the local dates each follow-up was processed on, by id."""
    _, second, third, fourth = contacts
    seen = {}
    for day in range(93):
        now = clock(
            datetime.datetime.combine(T0.date(), datetime.time(12), tzinfo=LA)
            + datetime.timedelta(days=day)
        )
        if day == 8:
            services.complete_followup(actor=alice, followup=second)
        if day == 40:
            services.log_attempt(actor=alice, followup=third, outcome="no_answer")
        if day == 80:
            services.log_attempt(actor=alice, followup=fourth, outcome="reached")
        for pk, _ in run_engine():
            seen.setdefault(pk, []).append(now.date())
    return seen


def assert_missed_with_an_event_and_a_notice_each_time(fu):
    assert status_events(fu) == [
        (Status.SCHEDULED, Status.DUE),
        (Status.DUE, Status.OVERDUE),
        (Status.OVERDUE, Status.MISSED),
    ]
    assert notices(fu) == {
        (Kind.FOLLOWUP_DUE, Channel.IN_APP): 1,
        (Kind.FOLLOWUP_OVERDUE, Channel.IN_APP): 1,
        (Kind.FOLLOWUP_MISSED, Channel.IN_APP): 1,
    }


class TestWholeProtocol:
    """Post-ER discharge contacts, day by day for 93 days, across the change to summer
    time, with the engine run at noon each day as beat and a worker would."""

    def test_every_contact_goes_through_its_window_once(
        self, alice, sam, quiet_case, run_engine, clock
    ):
        enrolment, contacts = discharged_from_the_ed(alice, quiet_case)
        first, second, third, fourth = contacts

        seen = run_each_noon_for_93_days(alice, contacts, run_engine, clock)

        for fu in (first, second, third, fourth):
            fu.refresh_from_db()
        assert [f.status for f in (first, second, third, fourth)] == [
            Status.MISSED,
            Status.COMPLETED,
            Status.MISSED,
            Status.COMPLETED,
        ]
        day = datetime.date
        # Each processed on the first noon after each boundary, and never otherwise.
        assert seen[first.pk] == [day(2025, 3, 2), day(2025, 3, 3), day(2025, 3, 5)]
        assert seen[second.pk] == [day(2025, 3, 8)]
        assert seen[third.pk] == [day(2025, 3, 31), day(2025, 4, 16), day(2025, 5, 1)]
        assert seen[fourth.pk] == [day(2025, 4, 30), day(2025, 5, 16)]
        assert_missed_with_an_event_and_a_notice_each_time(first)
        assert_missed_with_an_event_and_a_notice_each_time(third)
        assert status_events(second) == [
            (Status.SCHEDULED, Status.DUE),
            (Status.DUE, Status.COMPLETED),
        ]
        assert status_events(fourth) == [
            (Status.SCHEDULED, Status.DUE),
            (Status.DUE, Status.OVERDUE),
            (Status.OVERDUE, Status.COMPLETED),
        ]
        assert notices(second) == {(Kind.FOLLOWUP_DUE, Channel.IN_APP): 1}
        assert (
            FollowUp.objects.needing_sweep(timezone.now() + datetime.timedelta(days=999))
            .filter(enrolment=enrolment)
            .count()
            == 0
        )
