"""Nothing lost, nothing done twice, with real processes: a private Redis server, real
Celery workers on the test database, and the sweep run here as beat would run it.

Each scenario holds the first follow-up's row locked from a side connection, so that the
worker is caught in the middle of processing it (its message taken, not acknowledged,
its transaction not committed) while the other messages wait in Redis. Then the worker is
killed, or Redis is. Deselect with `-m "not integration"`.
"""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from unittest import mock
from urllib.parse import quote

import psycopg
import pytest
import redis
from celery import Celery
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from followups import engine, tasks
from followups.models import FollowUp, FollowUpEvent, FollowUpEventKind, Status
from notifications.models import Kind, Notification
from tests.followups.conftest import hours

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
    """`celery worker --pool=solo` on the private Redis and the test database."""

    def __init__(self, redis_url, log_path):
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
    """workers() -> a started worker; every worker started is stopped at the end."""
    started = []

    def start():
        worker = Worker(redis_server.url, tmp_path / "worker.log")
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
def broker(redis_server, row_lock):
    """process_followup.delay sends to the private Redis (the test settings run tasks
    eagerly). `sent` keeps (id, token) in order; the first row is locked by `row_lock`
    just before its task is sent, so the worker that takes it waits mid-processing."""
    app = Celery("resilience-test", broker=redis_server.url, set_as_current=False)
    app.conf.broker_connection_retry = True
    app.conf.broker_connection_max_retries = 3
    state = {"sent": [], "lock_first": True}

    def send(pk, token):
        if state["lock_first"]:
            row_lock.lock(pk)
            state["lock_first"] = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = app.send_task("followups.tasks.process_followup", args=(pk, token))
        state["sent"].append((pk, token))
        return result

    with mock.patch.object(tasks.process_followup, "delay", side_effect=send):
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

        # The killed worker's message, delivered late after all, does nothing.
        stale_token = broker["sent"][0][1]
        late = tasks.process_followup.delay(held.pk, stale_token)
        wait_until(
            lambda: f"[{late.id}] succeeded in" in second.tail(),
            "the stale message to be processed",
            on_timeout=second.tail,
        )
        assert (
            second.tail()
            .split(f"[{late.id}] succeeded in", 1)[1]
            .split("\n")[0]
            .endswith(": False")
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
