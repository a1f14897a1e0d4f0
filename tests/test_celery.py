"""Celery wiring: real workers in subprocesses, on Redis and on the embedded default
(filesystem broker, SQLite). Each test listens on a queue of its own, so that it takes
no message meant for another worker on the same broker."""

import datetime
import os
import sqlite3
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import closing

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from casebook.celery import app
from casebook.settings.base import VAR_DIR
from casebook.tasks import HEARTBEAT_KEY
from cases.models import ContactDraft
from cases.tasks import purge_stale_drafts
from tests.accounts.factories import UserFactory

WAIT_SECONDS = 30
BROKER_ENV = ("CELERY_BROKER_URL", "REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")


def start_worker(queue, env, log_path):
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_worker
    process = subprocess.Popen(  # noqa: S603 - our own worker with fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "casebook",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--queues={queue}",
            f"--hostname={queue}@%h",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def stop_worker(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    process.log.close()


def wait_for(predicate, process, log_path):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            pytest.fail(f"The worker exited early:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)
    return False


def send(task_name, queue):
    # Tests run tasks eagerly; send_task always goes to the broker.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return app.send_task(task_name, queue=queue)


def base_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in BROKER_ENV}
    env.update(overrides)
    return env


@pytest.mark.integration
class TestWorkerOnRedis:
    @pytest.fixture
    def queue(self):
        name = f"casebook-test-{uuid.uuid4().hex}"
        yield name
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")

    def test_a_worker_runs_the_heartbeat_into_the_shared_cache(self, queue, tmp_path):
        cache.delete(HEARTBEAT_KEY)
        sent_at = timezone.now()
        log_path = tmp_path / "worker.log"
        worker = start_worker(
            queue,
            base_env(
                DJANGO_SETTINGS_MODULE="casebook.settings.test",
                CELERY_TASK_ALWAYS_EAGER="false",
                REDIS_URL=os.environ["REDIS_URL"],
                CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
                DATABASE_URL=os.environ["DATABASE_URL"],
            ),
            log_path,
        )
        try:
            send("casebook.tasks.heartbeat", queue)
            arrived = wait_for(lambda: cache.get(HEARTBEAT_KEY) is not None, worker, log_path)
        finally:
            stop_worker(worker)

        assert arrived, log_path.read_text()[-3000:]
        beat = datetime.datetime.fromisoformat(cache.get(HEARTBEAT_KEY))
        assert beat >= sent_at - datetime.timedelta(seconds=1)
        cache.delete(HEARTBEAT_KEY)


@pytest.mark.integration
class TestWorkerOnEmbeddedDefault:
    """`make run` without DATABASE_URL or REDIS_URL: SQLite and the filesystem broker in
    var/. The test uses a database file and a queue of its own, so that a `make run` in
    the same checkout is not disturbed."""

    def test_a_worker_runs_tasks_from_the_filesystem_broker_on_sqlite(self, tmp_path):
        database = tmp_path / "embedded.sqlite3"
        queue = f"casebook-test-{uuid.uuid4().hex}"
        env = base_env(
            DJANGO_SETTINGS_MODULE="casebook.settings.dev", DATABASE_URL=f"sqlite:///{database}"
        )
        run_python(env, ["manage.py", "migrate", "--no-input", "-v", "0"])
        task_id = run_python(env, ["-c", STALE_DRAFT_AND_PURGE, queue]).strip()
        log_path = tmp_path / "worker.log"

        worker = start_worker(queue, env, log_path)
        try:
            done = wait_for(
                lambda: f"[{task_id}] succeeded" in log_path.read_text(), worker, log_path
            )
        finally:
            stop_worker(worker)
            (VAR_DIR / "celery" / "control" / f"{queue}.exchange").unlink(missing_ok=True)

        assert done, log_path.read_text()[-3000:]
        with closing(sqlite3.connect(database)) as db:
            assert db.execute("SELECT COUNT(*) FROM cases_contactdraft").fetchone() == (0,)


# Run with the embedded settings: a week-old draft, then the purge sent through the broker.
STALE_DRAFT_AND_PURGE = """
import sys, datetime, django
django.setup()
from django.utils import timezone
from accounts.models import User
from cases.models import ContactDraft
from casebook.celery import app
from casebook.settings.base import VAR_DIR
user = User.objects.create(username="drafter", role="system_admin")
draft = ContactDraft.objects.create(user=user, data={"narrative": "typed a week ago"})
ContactDraft.objects.filter(pk=draft.pk).update(
    updated_at=timezone.now() - datetime.timedelta(days=8)
)
print(app.send_task("cases.tasks.purge_stale_drafts", queue=sys.argv[1]).id)
"""


def run_python(env, args):
    result = subprocess.run(  # noqa: S603 - our own code with fixed arguments
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.django_db
class TestPurgeStaleDrafts:
    def test_it_deletes_drafts_untouched_for_a_week(self):
        stale = ContactDraft.objects.create(user=UserFactory(), data={"narrative": "old"})
        fresh = ContactDraft.objects.create(user=UserFactory(), data={"narrative": "new"})
        ContactDraft.objects.filter(pk=stale.pk).update(
            updated_at=timezone.now() - datetime.timedelta(days=8)
        )

        deleted = purge_stale_drafts.delay().get()

        assert deleted == 1
        assert list(ContactDraft.objects.all()) == [fresh]

    def test_running_it_again_deletes_nothing_more(self):
        ContactDraft.objects.create(user=UserFactory(), data={})

        assert purge_stale_drafts() == 0
        assert purge_stale_drafts() == 0
        assert ContactDraft.objects.count() == 1
