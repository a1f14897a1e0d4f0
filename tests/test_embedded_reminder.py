"""A follow-up that falls due while the app runs produces its reminders within about a
minute, with real processes: `celery -A casebook worker -B`, as bin/run starts it, on the
embedded default (SQLite and the filesystem broker, as `make run` has them) and on
PostgreSQL with Redis.

With a fresh schedule file beat sends its first follow-up sweep one interval (60 s) after
the worker starts, then every 60 s. The follow-up is added once the worker is up, its
window opening a few seconds later; that first sweep claims it, the worker hears of it in
the inbox within about a minute of the window opening, and the client's text goes right
after.
Deselect with `-m "not integration"`.
"""

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zoneinfo
from contextlib import closing, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import timezone

pytestmark = pytest.mark.integration

WINDOW_OPENS_IN = datetime.timedelta(seconds=10)
# The acceptance item: "within about a minute" of the window opening, one beat interval
# (60 s) plus the worker's start and the processing.
WITHIN = datetime.timedelta(seconds=90)
# After the worker's notice, how long the client's text may take (one more task).
SEND_WAIT = 30
PHONE = "541-555-0100"
# Client reminders go out between 9:00 and 20:00 local time and are held until morning
# otherwise (notifications/client_reminders.py, tested in tests/notifications). The
# agency gets the first of these zones where it is daytime now, so that the text goes
# at once whenever the test runs: Los Angeles, the demo's zone, when it can.
ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "America/Anchorage",
)
# What a worker's environment must not inherit from the one running the tests.
SERVICE_ENV = (
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "SMS_BACKEND",
    "EMAIL_BACKEND",
    "CELERY_TASK_ALWAYS_EAGER",
    "VAR_DIR",
)


def daytime_zone(now: datetime.datetime) -> str:
    for name in ZONES:
        if 10 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError(f"No zone in ZONES is in daytime at {now}")


def create_followup_opening_soon(tz_name: str) -> dict:
    """Through the real services: an agency in `tz_name`, a worker, a client reminded by
    text, and on the client's case a one-off follow-up whose window opens WINDOW_OPENS_IN
    from now. Returns the ids and the window's opening (ISO)."""
    from accounts.models import Agency, Role, Team, User
    from cases.models import CallNature, Disposition, ReminderChannel
    from cases.services import record_contact
    from followups.models import Method
    from followups.services import create_followup

    agency = Agency.objects.create(
        name="Lane County Crisis Response", slug="lane-county", timezone=tz_name
    )
    team = Team.objects.create(agency=agency, name="Mobile Crisis North")
    worker = User.objects.create_user(
        username="alice",
        email="alice@example.org",
        agency=agency,
        team=team,
        role=Role.SOCIAL_WORKER,
    )
    received = timezone.now() - datetime.timedelta(hours=2)
    contact = record_contact(
        actor=worker,
        new_client_data={
            "legal_name": "Jordan Rivers",
            "date_of_birth": datetime.date(1990, 4, 12),
            "phone": PHONE,
            "reminder_channel": ReminderChannel.TEXT,
        },
        contact_data={
            "source": "911",
            "received_at": received,
            "dispatched_at": received + datetime.timedelta(minutes=2),
            "on_scene_at": received + datetime.timedelta(minutes=15),
            "cleared_at": received + datetime.timedelta(minutes=75),
            "call_nature": CallNature.objects.get(code="welfare-check"),
            "location": "5th and Main",
            # Referred on: no protocol enrols the case, the one-off is its only follow-up.
            "disposition": Disposition.REFERRED,
            "narrative": "Client calm after de-escalation.",
        },
    )
    opens = timezone.now() + WINDOW_OPENS_IN
    fu = create_followup(
        actor=worker,
        case=contact.case,
        window_start=opens,
        due_at=opens + datetime.timedelta(hours=1),
        reason="Check in after the visit",
        method=Method.PHONE,
    )
    return {
        "followup": fu.pk,
        "worker": worker.pk,
        "window_start": fu.window_start.isoformat(),
    }


def worker_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV}
    env.update(overrides)
    return env


def as_time(value) -> datetime.datetime:
    """A datetime column as an aware UTC datetime (SQLite hands back naive UTC text)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


class BeatWorker:
    """`celery -A casebook worker -B --loglevel=INFO` as bin/run starts it, in a session
    of its own (bin/run's setsid), its output in a log file."""

    def __init__(self, *, cwd, env, log_path, args=()):
        self.cwd, self.env, self.log_path, self.args = cwd, env, log_path, list(args)
        self.process = None

    def start(self):
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop
        self.process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                str(Path(sys.executable).with_name("celery")),
                *("-A", "casebook", "worker", "-B", "--loglevel=INFO", *self.args),
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The worker did not start:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self):
        """A warm shutdown (SIGTERM), then SIGKILL to whatever is left of its group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self) -> str:
        return self.output()[-4000:]


class Database:
    """Reads the rows the test waits for, with SQL the worker's database understands."""

    def __init__(self, rows):
        self.rows = rows  # rows(sql with %s placeholders, params) -> list of dicts

    def followup(self, pk) -> dict:
        [row] = self.rows("SELECT status FROM followups_followup WHERE id = %s", [pk])
        return row

    def notifications(self, pk, kind) -> list[dict]:
        return self.rows(
            "SELECT recipient_id, channel, status, address, body, created_at,"
            " next_attempt_at, sent_at, failure_reason"
            " FROM notifications_notification WHERE followup_id = %s AND kind = %s"
            " ORDER BY id",
            [pk, kind],
        )


def sqlite_rows(path):
    def rows(sql, params):
        with closing(sqlite3.connect(path, timeout=20)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql.replace("%s", "?"), params)]

    return rows


def django_rows(sql, params):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def wait_for(predicate, *, until: datetime.datetime, worker: BeatWorker, what: str):
    while not predicate():
        if worker.process.poll() is not None:
            pytest.fail(f"The worker stopped while waiting for {what}:\n{worker.tail()}")
        if timezone.now() > until:
            pytest.fail(f"Timed out waiting for {what}.\n{worker.tail()}")
        time.sleep(0.5)


def assert_reminded_within_a_minute(db: Database, made: dict, worker: BeatWorker):
    """The follow-up falls due and its worker is told in-app within WITHIN of its window
    opening; the client's text is sent just after, by the console backend."""
    pk, opened = made["followup"], as_time(made["window_start"])

    def worker_told():
        return db.followup(pk)["status"] == "due" and db.notifications(pk, "followup_due")

    wait_for(
        worker_told,
        until=opened + WITHIN + datetime.timedelta(seconds=5),
        worker=worker,
        what="the worker's notice",
    )
    [notice] = db.notifications(pk, "followup_due")
    assert (notice["recipient_id"], notice["channel"], notice["status"]) == (
        made["worker"],
        "in_app",
        "sent",
    )
    told_after = as_time(notice["created_at"]) - opened
    assert datetime.timedelta(0) <= told_after <= WITHIN, told_after

    def text_sent():
        rows = db.notifications(pk, "client_reminder")
        return rows and rows[0]["status"] in ("sent", "failed")

    wait_for(
        text_sent,
        until=timezone.now() + datetime.timedelta(seconds=SEND_WAIT),
        worker=worker,
        what="the client's text",
    )
    [reminder] = db.notifications(pk, "client_reminder")
    assert (reminder["channel"], reminder["address"], reminder["status"]) == (
        "text",
        PHONE,
        "sent",
    ), reminder["failure_reason"]
    # Daytime in the agency's zone: not held until morning.
    assert as_time(reminder["next_attempt_at"]) - as_time(reminder["created_at"]) < (
        datetime.timedelta(seconds=1)
    )
    assert as_time(reminder["sent_at"]) - opened <= WITHIN + datetime.timedelta(seconds=SEND_WAIT)
    # The console backend printed it in the worker's log.
    output = worker.output()
    assert f"To: {PHONE}" in output, worker.tail()
    assert reminder["body"] in output, worker.tail()
    print(  # seen with -s: how long each step took
        f"window opened {opened:%H:%M:%S}; worker told after {told_after.total_seconds():.1f} s;"
        f" text sent after {(as_time(reminder['sent_at']) - opened).total_seconds():.1f} s"
    )


# --- The embedded default --------------------------------------------------------------------


def run_manage(env, *args) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def embedded_worker(tmp_path):
    started = []

    def start(env):
        worker = BeatWorker(cwd=settings.BASE_DIR, env=env, log_path=tmp_path / "celery.log")
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


class TestEmbeddedDefault:
    def test_a_followup_falling_due_while_the_app_runs_is_reminded_within_a_minute(
        self, embedded_worker, tmp_path
    ):
        # The embedded default as `make run` has it, its var/ (broker, cache, beat's
        # schedule) in a folder of its own so that a `make run` in this checkout is
        # neither disturbed nor disturbing.
        database = tmp_path / "db.sqlite3"
        env = worker_env(
            DJANGO_SETTINGS_MODULE="casebook.settings.dev",
            DATABASE_URL=f"sqlite:///{database}",
            VAR_DIR=str(tmp_path / "var"),
        )
        run_manage(env, "migrate", "--no-input", "-v", "0")
        worker = embedded_worker(env)
        assert "filesystem://" in worker.output()
        assert (tmp_path / "var" / "celery" / "broker").is_dir()

        # Added while the app runs, by another process (as the web server would).
        zone = daytime_zone(timezone.now())
        out = run_manage(
            env,
            "shell",
            "-c",
            "import json\n"
            "from tests.test_embedded_reminder import create_followup_opening_soon\n"
            f"print(json.dumps(create_followup_opening_soon({zone!r})))",
        )
        made = json.loads(out.strip().splitlines()[-1])
        assert timezone.now() < as_time(made["window_start"])

        assert_reminded_within_a_minute(Database(sqlite_rows(database)), made, worker)


# --- PostgreSQL and Redis --------------------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path):
    from tests.followups.test_resilience import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    yield server.url
    server.kill()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestPostgresAndRedis:
    def test_a_followup_falling_due_while_the_app_runs_is_reminded_within_a_minute(
        self, redis_url, tmp_path
    ):
        from django.db import connection

        db = connection.settings_dict
        assert db["ENGINE"] == "django.db.backends.postgresql"
        auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        worker = BeatWorker(
            cwd=settings.BASE_DIR,
            env=worker_env(
                DJANGO_SETTINGS_MODULE="casebook.settings.dev",
                DATABASE_URL=f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
                # Broker and cache, as `make run` with REDIS_URL has them.
                REDIS_URL=redis_url,
            ),
            log_path=tmp_path / "celery.log",
            # The beat schedule file is in var/ by default: keep a `make run`'s apart.
            args=["--schedule-filename", str(tmp_path / "beat-schedule")],
        )
        try:
            worker.start()
            assert "redis://" in worker.output()
            made = create_followup_opening_soon(daytime_zone(timezone.now()))
            assert_reminded_within_a_minute(Database(django_rows), made, worker)
        finally:
            worker.stop()
