"""The engine in a surge (followups/engine/, followups/tasks.py): a full sweep sends the
next at once, claimed rows go to the workers in batches, and a batch processes each row
under its own lease, with its prompts made in bulk exactly as one by one."""

import datetime
import threading
import zoneinfo
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from cases.models import Client, ReminderChannel
from followups import engine, tasks
from followups.models import FollowUp, FollowUpEvent, FollowUpEventKind, Status
from notifications import services as notices
from notifications.backends import LocmemSMSBackend
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from tests.followups.conftest import EngineRun, hours
from tests.followups.test_engine import notices as kinds_of
from tests.followups.test_engine import status_events

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Saturday 1 March 2025, 10:00 in Los Angeles: daytime, client reminders go at once.
T0 = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=LA)


@pytest.fixture(autouse=True)
def clock(time_machine):
    """The clock stands still at T0 until a test moves it with clock(at)."""
    time_machine.move_to(T0, tick=False)

    def move(at):
        time_machine.move_to(at, tick=False)
        return timezone.now()

    return move


@pytest.fixture
def run_engine(django_capture_on_commit_callbacks):
    return EngineRun(django_capture_on_commit_callbacks)


@pytest.fixture
def reminded_case(quiet_case):
    Client.objects.filter(pk=quiet_case.client_id).update(
        reminder_channel=ReminderChannel.TEXT, phone="541-555-0111"
    )
    return quiet_case


def processed(fu) -> bool:
    fu.refresh_from_db()
    return fu.status == Status.DUE and fu.lease_token is None


@pytest.mark.django_db
class TestSweepAgain:
    """tasks.sweep, as beat and the sweeps before it send it."""

    @pytest.fixture
    def swept(self, monkeypatch, django_capture_on_commit_callbacks):
        """swept(rounds) -> (claimed, a mock whose calls are the batches and the sweeps
        sent, in order), with a limit of 2 rows a sweep; `refused`: sending the next
        sweep raises it."""
        monkeypatch.setattr(engine, "SWEEP_LIMIT", 2)

        def sweep(rounds=0, refused=None):
            order = mock.Mock()
            order.sweep.side_effect = refused
            with (
                mock.patch.object(tasks.process_followups, "delay", order.batch),
                mock.patch.object(tasks.sweep, "delay", order.sweep),
                django_capture_on_commit_callbacks(execute=True),
            ):
                claimed = tasks.sweep(rounds)
            return claimed, order

        return sweep

    def test_a_full_sweep_sends_the_next_one_at_once_before_its_batches(
        self, quiet_case, enrol_hourly, swept, clock
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        clock(fus[0].window_start)

        claimed, sent = swept()

        assert claimed == 2
        # The next sweep claims the next rows while these are worked through, and sends
        # its own batches behind them.
        assert sent.mock_calls == [
            mock.call.sweep(1),
            mock.call.batch([(fus[0].pk, mock.ANY), (fus[1].pk, mock.ANY)]),
        ]
        claimed, sent = swept(1)
        assert claimed == 1
        assert sent.mock_calls == [mock.call.batch([(fus[2].pk, mock.ANY)])]

    def test_the_batches_go_even_when_the_next_sweep_cannot(
        self, quiet_case, enrol_hourly, swept, clock, caplog
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 2)
        now = clock(fus[0].window_start)

        claimed, sent = swept(refused=OSError("broker down"))

        assert claimed == 2
        assert sent.batch.call_count == 1
        assert "Could not send the next sweep" in caplog.text
        assert FollowUp.objects.needing_sweep(now).count() == 0

    def test_a_sweep_that_is_not_full_sends_no_other(self, quiet_case, enrol_hourly, swept, clock):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 2)
        clock(fus[0].window_start - datetime.timedelta(seconds=1))

        assert swept() == (0, mock.ANY)
        assert swept()[1].sweep.call_count == 0

    def test_sweeps_one_after_another_stop_at_their_bound(
        self, quiet_case, enrol_hourly, swept, clock
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        clock(fus[0].window_start)

        claimed, sent = swept(engine.MAX_SWEEP_ROUNDS)

        assert claimed == 2  # full, but beat sends the next one
        assert sent.sweep.call_count == 0

    def test_sweeps_through_celery_drain_a_backlog_without_beat(
        self, quiet_case, enrol_hourly, monkeypatch, django_capture_on_commit_callbacks, clock
    ):
        monkeypatch.setattr(engine, "SWEEP_LIMIT", 2)
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 5)
        clock(fus[0].window_start)

        with django_capture_on_commit_callbacks(execute=True):
            tasks.sweep.delay()  # eager: each sweep and batch runs where it is sent

        assert all(processed(fu) for fu in fus)
        assert all(status_events(fu) == [(Status.SCHEDULED, Status.DUE)] for fu in fus)


@pytest.mark.django_db
class TestDispatch:
    def test_claimed_rows_go_in_batches_of_the_configured_size(
        self, quiet_case, enrol_hourly, run_engine, settings, clock
    ):
        settings.FOLLOWUP_BATCH_SIZE = 3
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 7)

        batches = run_engine.sweep_batches(clock(fus[0].window_start))

        assert [len(b) for b in batches] == [3, 3, 1]
        assert [pk for b in batches for pk, _ in b] == [fu.pk for fu in fus]
        tokens = dict(FollowUp.objects.values_list("pk", "lease_token"))
        assert all(str(tokens[pk]) == token for b in batches for pk, token in b)

    def test_a_refused_batch_and_those_after_it_are_unclaimed(
        self, quiet_case, enrol_hourly, settings, django_capture_on_commit_callbacks, clock
    ):
        settings.FOLLOWUP_BATCH_SIZE = 2
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 5)
        now = clock(fus[0].window_start)
        refusals = [None, OSError("broker down")]

        with (
            mock.patch.object(tasks.process_followups, "delay", side_effect=refusals) as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert engine.sweep(now) == 5

        assert delay.call_count == 2
        leased = FollowUp.objects.filter(lease_token__isnull=False)
        assert list(leased.values_list("pk", "dispatch_count")) == [(fus[0].pk, 1), (fus[1].pk, 1)]
        assert FollowUp.objects.needing_sweep(now).count() == 3


@pytest.mark.django_db
class TestBatch:
    def test_a_row_whose_token_moved_is_skipped_and_the_rest_are_processed(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        now = clock(fus[0].window_start)
        (batch,) = run_engine.sweep_batches(now)
        moved = fus[1]
        # Someone else has it now: its lease ran out and a later sweep sent it again.
        later = clock(now + engine.lease_for(1) + datetime.timedelta(seconds=1))
        FollowUp.objects.filter(pk__in=[fus[0].pk, fus[2].pk]).update(lease_until=later)
        [(_, new_token)] = run_engine.sweep(later)

        assert engine.process_batch(batch) == 2

        assert processed(fus[0]) and processed(fus[2])
        moved.refresh_from_db()
        assert (moved.status, str(moved.lease_token)) == (Status.SCHEDULED, new_token)
        assert status_events(moved) == []
        assert not Notification.objects.filter(followup=moved).exists()
        assert engine.process_batch([(moved.pk, new_token)]) == 1
        assert processed(moved)

    def test_a_batch_delivered_twice_has_one_effect(
        self, quiet_case, enrol_hourly, run_engine, clock
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        (batch,) = run_engine.sweep_batches(clock(fus[0].window_start))

        assert tasks.process_followups(batch) == 3
        assert tasks.process_followups([list(claim) for claim in batch]) == 0  # as JSON

        for fu in fus:
            assert status_events(fu) == [(Status.SCHEDULED, Status.DUE)]
            assert kinds_of(fu) == {(Kind.FOLLOWUP_DUE, Channel.IN_APP): 1}

    def test_one_bad_row_fails_alone_with_its_error_and_the_rest_are_processed(
        self, quiet_case, enrol_hourly, run_engine, clock, caplog
    ):
        fus = enrol_hourly(quiet_case, steps=[(2, 4, 6)] * 3)
        bad = fus[1]
        real_label = notices.client_label

        def label(fu):
            if fu.pk == bad.pk:
                raise RuntimeError("bad row")
            return real_label(fu)

        (batch,) = run_engine.sweep_batches(clock(fus[0].window_start))
        with mock.patch("notifications.services.client_label", side_effect=label):
            assert tasks.process_followups(batch) == 2

        assert processed(fus[0]) and processed(fus[2])
        bad.refresh_from_db()
        assert (bad.status, bad.last_error) == (Status.SCHEDULED, "RuntimeError: bad row")
        assert bad.lease_token is not None  # sent again when its lease runs out
        assert status_events(bad) == []
        assert not Notification.objects.filter(followup=bad).exists()
        assert "processing them one by one" in caplog.text

    def test_a_row_failing_batch_after_batch_is_parked(
        self, quiet_case, sam, enrol_hourly, run_engine, clock
    ):
        (fu,) = enrol_hourly(quiet_case, steps=[(2, 4, 20)])
        now = clock(fu.window_start)
        with mock.patch("notifications.services.client_label", side_effect=RuntimeError("bad")):
            for _ in range(engine.MAX_DISPATCHES):
                for batch in run_engine.sweep_batches(now):
                    assert tasks.process_followups(batch) == 0
                now = clock(now + engine.MAX_LEASE + datetime.timedelta(seconds=1))

        assert run_engine.sweep(now) == []

        fu.refresh_from_db()
        assert fu.parked_at == now
        assert FollowUpEvent.objects.filter(followup=fu, kind=FollowUpEventKind.PARKED).exists()

    def test_rows_being_missed_go_one_by_one_beside_the_rest(
        self, quiet_case, sam, enrol_hourly, run_engine, clock
    ):
        (late,) = enrol_hourly(quiet_case, anchor_at=timezone.now() - hours(5), key="late")
        due = enrol_hourly(quiet_case, steps=[(0, 2, 4)] * 2)
        clock(late.window_end)

        assert len(run_engine()) == 3

        late.refresh_from_db()
        assert late.status == Status.MISSED
        assert Notification.objects.get(followup=late, kind=Kind.FOLLOWUP_MISSED).recipient == sam
        assert quiet_case.events.filter(summary__startswith="Follow-up missed").count() == 1
        assert all(processed(fu) for fu in due)

    def test_a_batch_takes_a_fixed_number_of_queries(
        self, reminded_case, enrol_hourly, run_engine, clock, django_assert_num_queries
    ):
        small = enrol_hourly(reminded_case, steps=[(2, 4, 6)] * 2)
        large = enrol_hourly(reminded_case, steps=[(2, 4, 6)] * 9, key="large")
        now = clock(small[0].window_start)
        (batch,) = run_engine.sweep_batches(now)
        first, second = (
            [c for c in batch if c[0] in {f.pk for f in small}],
            [c for c in batch if c[0] in {f.pk for f in large}],
        )
        # Savepoint, lock, events, rows, prompts given, prompts made, release.
        with django_assert_num_queries(7):
            assert engine.process_batch(first, now=now) == 2
        with django_assert_num_queries(7):
            assert engine.process_batch(second, now=now) == 9

    def test_a_database_error_retries_the_batch(self, quiet_case, enrol_hourly, run_engine, clock):
        (fu,) = enrol_hourly(quiet_case)
        (batch,) = run_engine.sweep_batches(clock(fu.window_start))

        with mock.patch.object(
            engine, "process_batch", side_effect=OperationalError("gone")
        ) as process_batch:
            result = tasks.process_followups.apply(args=(batch,))

        assert process_batch.call_count == 1 + tasks.process_followups.max_retries
        assert result.state == "FAILURE"
        fu.refresh_from_db()
        assert fu.last_error == ""


def comparable(notification: Notification) -> dict:
    """A notification's fields with its follow-up's id taken out of the key and link."""
    pk = notification.followup_id
    return {
        "kind": notification.kind,
        "channel": notification.channel,
        "key": notification.dedupe_key.replace(f":{pk}:", ":<id>:", 1),
        "url": notification.url.replace(f"/{pk}/", "/<id>/"),
        "recipient": notification.recipient_id,
        "client": notification.client_id,
        "agency": notification.agency_id,
        "address": notification.address,
        "subject": notification.subject,
        "body": notification.body,
        "html_body": notification.html_body,
        "status": notification.status,
        "created_at": notification.created_at,
        "next_attempt_at": notification.next_attempt_at,
        "sent_at": notification.sent_at,
    }


def made_for(fu) -> list[dict]:
    return sorted(
        (comparable(n) for n in Notification.objects.filter(followup=fu)), key=lambda n: n["key"]
    )


@pytest.mark.django_db
class TestBatchPrompts:
    """A batch makes the prompts that notifications.services makes for one follow-up."""

    @pytest.fixture
    def twins(self, reminded_case, enrol_hourly):
        """Two follow-ups alike but for their ids (the same step, anchor and title),
        their windows opening two hours from now."""

        def make():
            anchor = timezone.now()
            (one,) = enrol_hourly(reminded_case, anchor_at=anchor)
            (other,) = enrol_hourly(reminded_case, anchor_at=anchor)
            return one, other

        return make

    def by_each_way(self, twins, run_engine, now):
        """Process the first twin by process(), the second in a batch."""
        one, other = twins
        claims = dict(run_engine.sweep(now))
        assert engine.process(one.pk, claims[one.pk], now=now) is True
        assert engine.process_batch([(other.pk, claims[other.pk])], now=now) == 1
        return made_for(one), made_for(other)

    @pytest.mark.parametrize("channel", [ReminderChannel.TEXT, ReminderChannel.EMAIL])
    def test_falling_due_and_overdue_by_either_channel(self, twins, run_engine, clock, channel):
        made = twins()
        Client.objects.filter(pk=made[0].case.client_id).update(
            reminder_channel=channel, email="quinn@example.org"
        )
        now = clock(made[0].due_at + hours(1))

        alone, batched = self.by_each_way(made, run_engine, now)

        assert [n["kind"] for n in batched] == [
            Kind.FOLLOWUP_DUE,
            Kind.FOLLOWUP_OVERDUE,
            Kind.CLIENT_REMINDER,
        ]
        assert batched == alone

    def test_a_reminder_held_until_morning(self, twins, run_engine, clock):
        clock(datetime.datetime(2025, 3, 1, 19, 0, tzinfo=LA))
        made = twins()
        # Their windows open at 21:00 in Los Angeles: the reminders wait for 09:00.
        now = clock(made[0].window_start)

        alone, batched = self.by_each_way(made, run_engine, now)

        assert batched == alone
        for fu in made:
            reminder = Notification.objects.get(followup=fu, kind=Kind.CLIENT_REMINDER)
            assert reminder.next_attempt_at == datetime.datetime(2025, 3, 2, 9, 0, tzinfo=LA)

    def test_nothing_already_given_is_given_again(self, bob, twins, run_engine, clock):
        one, other = made = twins()
        now = clock(one.due_at + hours(1))
        run_engine(now)
        # Swept again after a reassignment and a change of the client's channel.
        FollowUp.objects.filter(pk__in=[one.pk, other.pk]).update(
            next_check_at=now, assigned_to=bob
        )
        Client.objects.filter(pk=one.case.client_id).update(
            reminder_channel=ReminderChannel.EMAIL, email="quinn@example.org"
        )

        assert len(run_engine(now)) == 2

        for fu in made:
            assert kinds_of(fu) == {
                (Kind.FOLLOWUP_DUE, Channel.IN_APP): 1,
                (Kind.CLIENT_REMINDER, Channel.TEXT): 1,
                (Kind.FOLLOWUP_OVERDUE, Channel.IN_APP): 1,
            }

    def test_a_dedupe_key_taken_all_the_same_sends_the_batch_one_by_one(
        self, twins, run_engine, clock, caplog
    ):
        one, other = twins()
        now = clock(one.window_start)
        claims = run_engine.sweep(now)
        # A prompt the batch did not see given (no follow-up on it): its key is taken.
        Notification.objects.create(
            agency_id=one.agency_id,
            kind=Kind.CLIENT_REMINDER,
            channel=Channel.TEXT,
            dedupe_key=f"reminder:{one.pk}:{notices.due_stamp(one.due_at)}:text:"
            f"client{one.case.client_id}",
            subject="A reminder",
        )

        assert engine.process_batch(claims, now=now) == 2

        assert "processing them one by one" in caplog.text
        assert Notification.objects.filter(kind=Kind.CLIENT_REMINDER).count() == 2
        assert kinds_of(other)[(Kind.CLIENT_REMINDER, Channel.TEXT)] == 1


@pytest.mark.django_db
class TestBatchDeliveries:
    def test_a_batch_hands_its_texts_to_one_task_after_commit(
        self, reminded_case, enrol_hourly, run_engine, clock, django_capture_on_commit_callbacks
    ):
        fus = enrol_hourly(reminded_case, steps=[(2, 4, 6)] * 3)
        now = clock(fus[0].window_start)
        (batch,) = run_engine.sweep_batches(now)

        with (
            mock.patch.object(tasks.deliver_notifications, "apply_async") as send,
            mock.patch("notifications.tasks.deliver.delay") as one_by_one,
        ):
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                engine.process_batch(batch, now=now)
            send.assert_not_called()
            for callback in callbacks:
                callback()

        texts = Notification.objects.filter(kind=Kind.CLIENT_REMINDER)
        assert set(texts.values_list("status", flat=True)) == {DeliveryStatus.QUEUED}
        # Behind the follow-up work still queued.
        send.assert_called_once_with(
            (sorted(texts.values_list("pk", flat=True)),), priority=engine.OUTBOUND_PRIORITY
        )
        one_by_one.assert_not_called()

    def test_the_task_sends_each_once(
        self, reminded_case, enrol_hourly, run_engine, settings, clock
    ):
        settings.SMS_BACKEND = "notifications.backends.LocmemSMSBackend"
        LocmemSMSBackend.outbox = []
        fus = enrol_hourly(reminded_case, steps=[(2, 4, 6)] * 2)
        run_engine(clock(fus[0].window_start))
        ids = list(
            Notification.objects.filter(kind=Kind.CLIENT_REMINDER).values_list("pk", flat=True)
        )

        assert tasks.deliver_notifications(ids) == 2
        assert tasks.deliver_notifications(ids) == 0  # delivered again: nothing

        assert len(LocmemSMSBackend.outbox) == 2
        assert set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            DeliveryStatus.SENT
        }

    def test_a_broker_that_refuses_leaves_them_for_the_sweep(
        self,
        reminded_case,
        enrol_hourly,
        run_engine,
        clock,
        caplog,
        django_capture_on_commit_callbacks,
    ):
        (fu,) = enrol_hourly(reminded_case)
        now = clock(fu.window_start)
        (batch,) = run_engine.sweep_batches(now)

        with (
            mock.patch.object(
                tasks.deliver_notifications, "apply_async", side_effect=OSError("broker down")
            ),
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert engine.process_batch(batch, now=now) == 1

        assert processed(fu)
        assert "left for the sweep" in caplog.text
        reminder = Notification.objects.get(followup=fu, kind=Kind.CLIENT_REMINDER)
        assert reminder.status == DeliveryStatus.QUEUED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestLockedRow:
    def test_a_row_locked_elsewhere_is_waited_for_after_the_rest_are_committed(
        self, quiet_case, enrol_hourly
    ):
        anchor = timezone.now() - hours(2)
        fus = enrol_hourly(quiet_case, anchor_at=anchor, steps=[(2, 4, 6)] * 3)
        batches = []
        with mock.patch.object(tasks.process_followups, "delay", side_effect=batches.append):
            assert engine.sweep() == 3
        held = fus[0]
        locked, others_done = threading.Event(), []

        def holder():
            try:
                with transaction.atomic():
                    FollowUp.objects.select_for_update().get(pk=held.pk)
                    locked.set()
                    # The rest of the batch is committed while this row is still held.
                    for _ in range(200):
                        if all(processed(fu) for fu in fus[1:]):
                            others_done.append(True)
                            break
                        threading.Event().wait(0.05)
            finally:
                connection.close()

        thread = threading.Thread(target=holder, daemon=True)
        thread.start()
        assert locked.wait(10)
        assert engine.process_batch(batches[0]) == 3
        thread.join(15)

        assert others_done == [True]
        assert all(processed(fu) for fu in fus)
