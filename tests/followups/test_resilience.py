"""Nothing lost, nothing done twice, with real processes: a private Redis server, real
Celery workers on the test database, and the sweep run here as beat would run it.

The first scenarios hold the first follow-up's row locked from a side connection, so that
the worker is caught in the middle of processing it (its message taken, not acknowledged,
its transaction not committed) while the other messages wait in Redis. Then the worker is
killed, or Redis is. Their messages carry one follow-up each, but for the third's, which
carry four: the rest of the held row's batch is done while it waits. The last ones stop
Redis while people send referrals and ask for exports, and kill a worker five times while
it works through a backlog of due follow-ups (in batches of twenty).
Deselect with `-m "not integration"`.
"""

import datetime
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import psycopg
import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from cases.models import Client, ReminderChannel
from followups import engine, tasks
from followups.models import FollowUp, FollowUpEvent, FollowUpEventKind, Status
from notifications import tasks as notification_tasks
from notifications.models import DeliveryStatus, Kind, Notification
from referrals.models import Status as ReferralStatus
from reports import services as report_services
from reports import tasks as report_tasks
from reports.models import ExportJob, ExportStatus
from tests.followups.conftest import hours
from tests.referrals.factories import sent_referral

pytestmark = [
    pytest.mark.integration,
    # The worker must see the rows: they are committed, and the tables flushed after.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROWS = 12
LEASE_SECONDS = 4
WAIT = 40


def wait_until(predicate, what, timeout=WAIT, every=0.2, on_timeout=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    pytest.fail(f"Timed out waiting for {what}.\n{on_timeout() if on_timeout else ''}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of our own, on a free port, keeping nothing on disk: a restart
    loses every queued message."""

    def __init__(self, log_dir):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.log_dir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: self._pings(client), "redis-server to answer", timeout=15)
        client.close()

    @staticmethod
    def _pings(client):
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def queued(self) -> int:
        with redis.Redis(port=self.port) as client:
            return client.llen("celery")


class Worker:
    """`celery worker --pool=solo` on the private Redis and the test database (`env`: more
    of the worker's environment)."""

    def __init__(self, redis_url, log_path, **env):
        db = connection.settings_dict
        auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DATABASE_URL")
            },
            "DJANGO_SETTINGS_MODULE": "casebook.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": redis_url,
            "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **env,
        }
        self.log_path = log_path
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop/kill
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                *("-m", "celery", "-A", "casebook", "worker", "--pool=solo"),
                *("--loglevel=INFO", "--without-gossip", "--without-mingle"),
                "--without-heartbeat",
            ],
            cwd=django_settings.BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: b" ready." in self.log_path.read_bytes()[offset:] or self.exited(),
            "the worker to start",
            on_timeout=self.tail,
        )
        assert not self.exited(), self.tail()

    def exited(self):
        return self.process.poll() is not None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self):
        if self.process is None or self.exited():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()

    def tail(self):
        return self.log_path.read_text(errors="replace")[-4000:]

    def idle(self):
        """Whether every task it has received has finished (its log says so)."""
        log = self.log_path.read_text(errors="replace")
        finished = log.count("] succeeded in ") + log.count("] raised unexpected")
        return log.count("] received") == finished + log.count("] retry:")


class RowLock:
    """Holds one follow-up row locked from a connection of its own, as a long
    transaction would: a worker processing that row waits on it."""

    def __init__(self):
        db = connection.settings_dict
        self.conn = psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
        )

    def lock(self, pk):
        self.conn.execute("SELECT id FROM followups_followup WHERE id = %s FOR UPDATE", [pk])

    def release(self):
        self.conn.rollback()

    def close(self):
        self.conn.rollback()
        self.conn.close()


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def lease(settings):
    settings.FOLLOWUP_LEASE_SECONDS = LEASE_SECONDS


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def workers(redis_server, tmp_path):
    """workers(**env) -> a started worker; every worker started is stopped at the end."""
    started = []

    def start(**env):
        worker = Worker(redis_server.url, tmp_path / "worker.log", **env)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def row_lock():
    held = RowLock()
    yield held
    held.close()


@pytest.fixture
def batch():
    """Follow-ups a message in the drills below: one, so that the worker holds one
    mid-processing while the others wait in Redis."""
    return 1


@pytest.fixture
def broker(redis_server, row_lock, settings, batch):
    """process_followups.delay sends to the private Redis (the test settings run tasks
    eagerly), `batch` follow-ups a message. `sent` keeps (id, token) in order; the first
    row is locked by `row_lock` just before its message is sent, so the worker that takes
    it waits mid-processing. `send_task` sends any task there."""
    settings.FOLLOWUP_BATCH_SIZE = batch
    app = Celery("resilience-test", broker=redis_server.url, set_as_current=False)
    app.conf.broker_connection_retry = True
    app.conf.broker_connection_max_retries = 3

    def send_task(name, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return app.send_task(name, args=args)

    state = {"sent": [], "lock_first": True, "send_task": send_task}

    def send(batch):
        if state["lock_first"]:
            row_lock.lock(batch[0][0])
            state["lock_first"] = False
        result = send_task(tasks.process_followups.name, batch)
        state["sent"].extend(batch)
        return result

    with mock.patch.object(tasks.process_followups, "delay", side_effect=send):
        yield state
    app.close()


@pytest.fixture
def due_soon(lease, quiet_case, enrol_hourly):
    """ROWS follow-ups whose windows open a few seconds from now, in id order."""
    anchor = timezone.now() - hours(2) + datetime.timedelta(seconds=3)
    fus = enrol_hourly(quiet_case, anchor_at=anchor, steps=[(2, 4, 6)] * ROWS)
    assert {fu.status for fu in fus} == {Status.SCHEDULED}
    return fus


def sweep_until_claimed(count):
    """Sweep, as beat would, until `count` rows have been sent."""
    sent = []

    def swept():
        sent.append(engine.sweep())
        return sum(sent) >= count

    wait_until(swept, f"{count} rows to be claimed", every=0.25)
    assert sum(sent) == count


def swept_and_all_due(fus):
    """One sweep, as beat runs it, then whether every row has been processed."""
    engine.sweep()
    return all_due(fus)


def all_due(fus):
    rows = FollowUp.objects.filter(pk__in=[fu.pk for fu in fus])
    return rows.filter(status=Status.DUE, lease_token__isnull=True).count() == len(fus)


def assert_processed_once(fus):
    for fu in fus:
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert (fu.lease_token, fu.dispatch_count, fu.last_error) == (None, 0, "")
        events = FollowUpEvent.objects.filter(followup=fu, kind=FollowUpEventKind.STATUS)
        assert list(events.values_list("from_status", "to_status")) == [
            (Status.SCHEDULED, Status.DUE)
        ], f"follow-up {fu.pk}"
        assert Notification.objects.filter(followup=fu, kind=Kind.FOLLOWUP_DUE).count() == 1


class TestWorkerKilled:
    def test_a_worker_killed_mid_processing_loses_nothing_and_doubles_nothing(
        self, due_soon, workers, broker, row_lock, redis_server
    ):
        first = workers()
        sweep_until_claimed(ROWS)
        held = due_soon[0]

        # The worker has taken the first message and waits on the row; the rest wait in
        # Redis. Kill it there: its transaction dies uncommitted, its message unacknowledged.
        wait_until(lambda: waiting_on_locks() == 1, "the worker to block", on_timeout=first.tail)
        assert redis_server.queued() == ROWS - 1
        first.kill()
        row_lock.release()

        second = workers()
        # The messages that waited in Redis are processed by the new worker...
        others = due_soon[1:]
        wait_until(lambda: all_due(others), "the waiting messages", on_timeout=second.tail)
        # ...and the one the killed worker held is sent again once its lease runs out.
        wait_until(
            lambda: swept_and_all_due(due_soon),
            "the lost message to be sent again",
            every=0.5,
            on_timeout=second.tail,
        )

        assert_processed_once(due_soon)
        sent_ids = [pk for pk, _ in broker["sent"]]
        assert sent_ids.count(held.pk) == 2
        assert all(sent_ids.count(fu.pk) == 1 for fu in others)

        # The killed worker's message, delivered late after all, does nothing; nor does
        # one of the shape sent before batches, still queued from before an upgrade.
        stale_token = broker["sent"][0][1]
        late = tasks.process_followups.delay([(held.pk, stale_token)])
        older = broker["send_task"](tasks.process_followup.name, held.pk, stale_token)
        for message, nothing in ((late, ": 0"), (older, ": False")):
            wait_until(
                lambda message=message: f"[{message.id}] succeeded in" in second.tail(),
                "the stale message to be processed",
                on_timeout=second.tail,
            )
            assert (
                second.tail()
                .split(f"[{message.id}] succeeded in", 1)[1]
                .split("\n")[0]
                .endswith(nothing)
            )
        assert_processed_once(due_soon)


class TestRedisRestarted:
    def test_queued_messages_lost_with_redis_are_sent_again_and_done_once(
        self, due_soon, workers, broker, row_lock, redis_server
    ):
        worker = workers()
        sweep_until_claimed(ROWS)
        held = due_soon[0]
        wait_until(lambda: waiting_on_locks() == 1, "the worker to block", on_timeout=worker.tail)
        assert redis_server.queued() == ROWS - 1

        # Redis goes down and comes back empty: the queued messages are gone.
        redis_server.kill()
        redis_server.start()
        assert redis_server.queued() == 0
        # The held row's processing goes on and commits; its acknowledgement has nowhere
        # to go.
        row_lock.release()

        wait_until(
            lambda: swept_and_all_due(due_soon),
            "every follow-up to be processed",
            every=0.5,
            on_timeout=worker.tail,
        )

        assert_processed_once(due_soon)
        assert not worker.exited(), worker.tail()
        sent_ids = [pk for pk, _ in broker["sent"]]
        assert all(sent_ids.count(fu.pk) >= 2 for fu in due_soon[1:])
        assert (
            FollowUpEvent.objects.filter(followup=held, kind=FollowUpEventKind.STATUS).count() == 1
        )


class TestRedisRestartedMidBatch:
    @pytest.mark.parametrize("batch", [4])
    def test_the_rest_of_a_batch_is_done_and_the_batches_lost_are_sent_again(
        self, batch, due_soon, workers, broker, row_lock, redis_server
    ):
        worker = workers()
        sweep_until_claimed(ROWS)
        wait_until(lambda: waiting_on_locks() == 1, "the worker to block", on_timeout=worker.tail)
        # The first batch's other rows are done while its first waits; the other batches
        # wait in Redis.
        wait_until(lambda: all_due(due_soon[1:batch]), "the rest of the first batch")
        assert redis_server.queued() == ROWS // batch - 1

        redis_server.kill()
        redis_server.start()
        row_lock.release()

        wait_until(
            lambda: swept_and_all_due(due_soon),
            "every follow-up to be processed",
            every=0.5,
            on_timeout=worker.tail,
        )

        assert_processed_once(due_soon)
        assert not worker.exited(), worker.tail()
        sent_ids = [pk for pk, _ in broker["sent"]]
        assert all(sent_ids.count(fu.pk) == 1 for fu in due_soon[:batch])
        assert all(sent_ids.count(fu.pk) >= 2 for fu in due_soon[batch:])


# --- The broker down while people work ----------------------------------------------------

REFERRALS = 8
EXPORTS = 3


@pytest.fixture
def publishing(redis_server):
    """deliver.delay and build_export.delay publish to the private Redis, as they do in
    production (the test settings run tasks eagerly); the app returned sends what beat
    would."""
    app = Celery("outbox-drill", broker=redis_server.url, set_as_current=False)

    def publisher(name):
        def send(*args):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return app.send_task(name, args=args)

        return send

    with (
        mock.patch.object(
            notification_tasks.deliver,
            "delay",
            side_effect=publisher(notification_tasks.deliver.name),
        ),
        mock.patch.object(
            report_tasks.build_export,
            "delay",
            side_effect=publisher(report_tasks.build_export.name),
        ),
    ):
        yield app
    app.close()


def emails_sent(mail_dir) -> Counter:
    """Addressees of the emails the workers wrote to `mail_dir` and this process sent."""
    sent: Counter = Counter()
    for path in mail_dir.iterdir():
        sent.update(re.findall(r"^To: (\S+)$", path.read_text(errors="replace"), re.MULTILINE))
    sent.update(to for message in mail.outbox for to in message.to)
    return sent


def exports_built(worker, caplog) -> Counter:
    """Ids of the exports built, by the worker (its log) and here (caplog)."""
    pattern = re.compile(r"Export (\d+) built")
    built = Counter(int(pk) for pk in pattern.findall(worker.log_path.read_text(errors="replace")))
    built.update(int(pk) for pk in pattern.findall(caplog.text))
    return built


def work_through_the_outage(alice, alice_case, sam, caplog):
    """People go on working while Redis is down: each hand-off to a worker fails, and
    nobody sees it. Returns the provider e-mails and the export jobs, all still queued."""
    began = time.monotonic()
    referrals = [
        sent_referral(alice, alice_case, provider_email=f"intake{i}@mission.example")
        for i in range(REFERRALS)
    ]
    jobs = [
        report_services.request_export(actor=sam, format="csv", deidentified=True, filters={})
        for _ in range(EXPORTS)
    ]
    assert time.monotonic() - began < 30
    assert caplog.text.count("left for the sweep") == REFERRALS + EXPORTS
    assert {r.status for r in referrals} == {ReferralStatus.REQUESTED}
    emails = Notification.objects.filter(kind=Kind.PROVIDER_LINK)
    assert list(emails.values_list("status", flat=True)) == [DeliveryStatus.QUEUED] * REFERRALS
    exports = ExportJob.objects.filter(pk__in=[job.pk for job in jobs])
    assert set(exports.values_list("status", flat=True)) == {ExportStatus.QUEUED}
    return emails, exports


def send_everything_again(publishing, emails, exports):
    """Beat and another worker sweep again, and the lost hand-offs turn up late."""
    for email in emails:
        publishing.send_task(notification_tasks.deliver.name, args=(email.pk,))
    for job in exports:
        publishing.send_task(report_tasks.build_export.name, args=(job.pk,))
    for _ in range(2):
        publishing.send_task(notification_tasks.sweep.name)
        publishing.send_task(report_tasks.sweep_exports.name)
        assert notification_tasks.sweep() == 0
        assert report_services.build_waiting_exports() == 0


class TestRedisDownWhileWorking:
    def test_referrals_sent_and_exports_asked_for_go_out_once_when_it_is_back(
        self, alice, alice_case, sam, redis_server, workers, publishing, settings, tmp_path, caplog
    ):
        mail_dir = tmp_path / "mail"
        mail_dir.mkdir()
        settings.EXPORT_DIR = tmp_path / "exports"
        worker = workers(
            DJANGO_SETTINGS_MODULE="tests.notifications.drill_settings",
            CASEBOOK_DRILL_MAIL_DIR=str(mail_dir),
            EXPORT_DIR=str(settings.EXPORT_DIR),
        )
        caplog.set_level(logging.INFO, logger="reports.services")
        redis_server.kill()
        emails, exports = work_through_the_outage(alice, alice_case, sam, caplog)
        # The outage lasted longer than the export sweep waits for a job's own task.
        exports.update(created_at=timezone.now() - report_services.WAITING_GRACE)

        redis_server.start()

        def swept_by_the_worker_and_all_out():
            publishing.send_task(notification_tasks.sweep.name)
            publishing.send_task(report_tasks.sweep_exports.name)
            return not emails.exclude(status=DeliveryStatus.SENT).exists() and not (
                exports.exclude(status=ExportStatus.DONE).exists()
            )

        wait_until(
            swept_by_the_worker_and_all_out,
            "the worker's sweeps to send and build everything",
            every=1,
            on_timeout=worker.tail,
        )
        send_everything_again(publishing, emails, exports)
        wait_until(
            lambda: redis_server.queued() == 0 and worker.idle(),
            "the worker to finish its queue",
            on_timeout=worker.tail,
        )

        assert emails_sent(mail_dir) == {f"intake{i}@mission.example": 1 for i in range(REFERRALS)}
        assert exports_built(worker, caplog) == {job.pk: 1 for job in exports}
        for job in exports:
            assert Path(job.file_path).is_file()
        assert set(emails.values_list("tries", flat=True)) == {1}


# --- Workers killed again and again -------------------------------------------------------

# The 1,000: about 40 s on an idle two-core machine, longer beside the other tests
# (it runs in the side lane, whose time is mostly sleeping). CASEBOOK_KILL_DRILL_ROWS
# makes it smaller for a quick local run.
MANY = int(os.environ.get("CASEBOOK_KILL_DRILL_ROWS", "1000"))
KILLS = 5
# Long enough for a worker to get through the queue before its rows are sent again.
KILL_LEASE_SECONDS = 20
# Small batches (20 of the 1,000): each kill loses one batch while the others wait in
# Redis, and those lost (sent again only at the end) stay few beside the checkpoints.
KILL_BATCH = max(1, MANY // 50)


@pytest.fixture
def dispatching(redis_server, settings):
    """process_followups.delay sends to the private Redis, in batches of KILL_BATCH;
    returns the (id, token) sent."""
    settings.FOLLOWUP_BATCH_SIZE = KILL_BATCH
    app = Celery("kill-drill", broker=redis_server.url, set_as_current=False)
    sent = []

    def send(batch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            app.send_task(tasks.process_followups.name, args=(batch,))
        sent.extend(batch)

    with mock.patch.object(tasks.process_followups, "delay", side_effect=send):
        yield sent
    app.close()


@pytest.fixture
def many_due(settings, quiet_case, enrol_hourly):
    """MANY follow-ups of a client reminded by text, whose windows open in a few seconds."""
    settings.FOLLOWUP_LEASE_SECONDS = KILL_LEASE_SECONDS
    Client.objects.filter(pk=quiet_case.client_id).update(reminder_channel=ReminderChannel.TEXT)
    anchor = timezone.now() - hours(2) + datetime.timedelta(seconds=2)
    fus = enrol_hourly(quiet_case, anchor_at=anchor, steps=[(2, 4, 6)] * MANY)
    assert len(fus) == MANY and {fu.status for fu in fus} == {Status.SCHEDULED}
    return FollowUp.objects.filter(pk__in=[fu.pk for fu in fus])


def processed(rows) -> int:
    return rows.filter(status=Status.DUE, lease_token__isnull=True).count()


def worker_in_a_transaction() -> bool:
    """Whether another connection to the test database (the worker's) has a transaction
    open: a kill now lands mid-processing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0] > 0


class TestWorkersKilledAgainAndAgain:
    def test_every_prompt_is_given_once_through_five_kills(
        self, many_due, workers, dispatching, redis_server
    ):
        sweep_until_claimed(MANY)
        worker = workers()
        checkpoints = [MANY * (i + 1) // (KILLS + 2) for i in range(KILLS)]
        for at in checkpoints:
            wait_until(
                lambda at=at: processed(many_due) >= at,
                f"{at} follow-ups processed",
                timeout=max(WAIT, MANY // 4),
                every=0.05,
                on_timeout=worker.tail,
            )
            wait_until(worker_in_a_transaction, "the worker to be mid-processing", every=0.002)
            worker.kill()
            worker = workers()

        wait_until(
            lambda: engine.sweep() >= 0 and processed(many_due) == MANY,
            "every follow-up to be processed",
            timeout=max(90, MANY // 4),
            every=0.5,
            on_timeout=worker.tail,
        )

        rows = many_due.order_by()
        assert not rows.filter(parked_at__isnull=False).exists()
        given = Counter(
            Notification.objects.filter(followup__in=rows).values_list("followup_id", "kind")
        )
        assert given == Counter(
            {
                (pk, kind): 1
                for pk in rows.values_list("pk", flat=True)
                for kind in (Kind.FOLLOWUP_DUE, Kind.CLIENT_REMINDER)
            }
        )
        moves = FollowUpEvent.objects.filter(followup__in=rows, kind=FollowUpEventKind.STATUS)
        assert moves.count() == MANY
        assert len({pk for pk, _ in dispatching}) == MANY
