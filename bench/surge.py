"""A follow-up surge: N follow-ups falling due at once, from the sweep to every worker's
notice in the inbox, against a raw-SQL baseline of the same writes measured in the same run.

Usage: make bench   (or: .venv/bin/python bench/surge.py [--followups 100000] [--repeat 3]
                     [--embedded])

Builds its own PostgreSQL database (BENCH_SURGE_DATABASE_URL, default: the database of
BENCH_DATABASE_URL with "_surge" appended) holding one agency (8 teams, 40 workers), a
client and open case per four follow-ups, one client in ten reminded by text
(`--reminded`), and N one-off follow-ups made with bulk_create. Before each run every one
of them is set back to scheduled with its window opening now (its notices and events
deleted), in an agency whose clock shows midday, so that reminders go at once.

Then starts a real Celery worker (`celery -A casebook worker --concurrency 2`) with the
production settings (casebook.settings.prod, throwaway secrets, texts and emails kept in
memory) on Redis (BENCH_SURGE_REDIS_URL, default redis://127.0.0.1:6379/5; the bench
empties that database's Celery queue first), sends it one `followups.tasks.sweep` (no
beat: the sweeps that follow are the ones a full sweep sends), and times:

- until every follow-up's "fell due" notice is in its worker's inbox (Notification rows),
  with the rate; and until every reminder text has been sent;
- the baseline: one transaction of raw SQL doing the same writes, an UPDATE of the N
  rows' status and lease and an INSERT ... SELECT of N notification rows.

With `--embedded` the same on the embedded default instead (SQLite and the filesystem
broker in a fresh VAR_DIR, casebook.settings.dev, N defaults to 1,000). Exits non-zero
when a follow-up is left unprocessed or anything was done twice: a notice or a status
change more or fewer than one per follow-up, a reminder not once per reminded one.
"""

import argparse
import datetime
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AGENCY = "bench-surge"
BATCH = 5000
WAIT = 1800


def _database_url():
    if os.environ.get("BENCH_SURGE_DATABASE_URL"):
        return os.environ["BENCH_SURGE_DATABASE_URL"]
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=base.path.rstrip("/") + "_surge"))


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, help="default 100,000 (1,000 embedded)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reminded", type=float, default=0.1, help="share of clients texted")
    parser.add_argument("--embedded", action="store_true", help="SQLite, filesystem broker")
    args = parser.parse_args()
    args.followups = args.followups or (1000 if args.embedded else 100_000)
    return args


ARGS = _arguments()
if ARGS.embedded:
    VAR_DIR = Path(tempfile.mkdtemp(prefix="casebook-surge-"))
    # The embedded default: settings.dev with nothing set but where its files go.
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    ENV = {"DJANGO_SETTINGS_MODULE": "casebook.settings.dev", "VAR_DIR": str(VAR_DIR)}
else:
    REDIS_URL = os.environ.get("BENCH_SURGE_REDIS_URL", "redis://127.0.0.1:6379/5")
    ENV = {
        "DJANGO_SETTINGS_MODULE": "casebook.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
    }
os.environ.pop("CASEBOOK_TEST_LANE", None)
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

# --- database and data -------------------------------------------------------------------


def ensure_database():
    if not ARGS.embedded:
        db = settings.DATABASES["default"]
        server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"]}
        connection.close()
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
            exists = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not conn.execute(exists, [db["NAME"]]).fetchone():
                conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def make_agency():
    from accounts.models import Agency, Role, Team, User

    agency, _ = Agency.objects.get_or_create(slug=AGENCY, defaults={"name": AGENCY})
    workers = []
    for t in range(8):
        team, _ = Team.objects.get_or_create(agency=agency, name=f"Crisis team {t + 1}")
        for w in range(5):
            workers.append(
                User.objects.get_or_create(
                    username=f"{AGENCY}-worker{t * 5 + w}",
                    defaults={"agency": agency, "team": team, "role": Role.SOCIAL_WORKER},
                )[0]
            )
    return agency, workers


def populate(agency, workers, total):
    """Top the agency up to `total` one-off follow-ups, four to a client and case, made
    with bulk_create (windows are set by reset())."""
    from cases.models import Case, Client, ReminderChannel
    from followups.models import FollowUp

    made = FollowUp.objects.filter(agency=agency).count()
    if made > total:
        print(f"The bench database holds more than {total:,} follow-ups: dropping the surplus")
        extra = FollowUp.objects.filter(agency=agency).order_by("-pk").values("pk")[: made - total]
        drop_followups(FollowUp.objects.filter(pk__in=[row["pk"] for row in extra]))
        return
    rng, now, started = random.Random(f"surge-{made}"), timezone.now(), time.perf_counter()
    while made < total:
        n = min(BATCH, total - made)
        clients = Client.objects.bulk_create(
            Client(
                agency=agency,
                legal_name=f"Client {made + i}",
                name_key=f"client {made + i}",
                phone=f"541-555-{(made + i) % 10000:04d}",
                reminder_channel=ReminderChannel.TEXT
                if rng.random() < ARGS.reminded
                else ReminderChannel.NONE,
            )
            for i in range(0, n, 4)
        )
        cases = []
        for client in clients:
            worker = rng.choice(workers)
            cases.append(
                Case(
                    agency=agency,
                    client=client,
                    assigned_worker=worker,
                    team_id=worker.team_id,
                    opened_by=worker,
                    opened_at=now,
                )
            )
        cases = Case.objects.bulk_create(cases)
        FollowUp.objects.bulk_create(
            FollowUp(
                agency=agency,
                case=cases[i // 4],
                title="Check-in call",
                reason="After the crisis contact",
                assigned_to_id=cases[i // 4].assigned_worker_id,
                window_start=now,
                due_at=now + datetime.timedelta(hours=1),
                window_end=now + datetime.timedelta(hours=2),
            )
            for i in range(n)
        )
        made += n
    print(f"  {made:,} follow-ups made in {time.perf_counter() - started:.0f} s", flush=True)


def drop_followups(rows):
    from followups.models import FollowUpEvent
    from notifications.models import Notification

    Notification.objects.filter(followup__in=rows).delete()
    FollowUpEvent.objects.filter(followup__in=rows).delete()
    rows.delete()


def reset(agency):
    """Every bench follow-up scheduled again, its window opening now, nothing given; the
    agency's clock at midday (reminders are not held for the night)."""
    now = timezone.now()
    midday = (12 - now.hour) % 24
    offset = midday - 24 if midday > 14 else midday
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"
    with transaction.atomic():
        sql("UPDATE accounts_agency SET timezone = %s WHERE id = %s", [zone, agency.pk])
        sql(
            "DELETE FROM notifications_notification WHERE agency_id = %s AND kind IN"
            " ('followup_due', 'followup_overdue', 'client_reminder')",
            [agency.pk],
        )
        sql(
            "DELETE FROM followups_followupevent WHERE followup_id IN"
            " (SELECT id FROM followups_followup WHERE agency_id = %s)",
            [agency.pk],
        )
        sql(
            "UPDATE followups_followup SET status = 'scheduled', status_changed_at = %(now)s,"
            " window_start = %(now)s, due_at = %(due)s, window_end = %(end)s,"
            " next_check_at = %(now)s, lease_until = NULL, lease_token = NULL,"
            " dispatch_count = 0, last_error = '', parked_at = NULL WHERE agency_id = %(agency)s",
            {
                "now": now,
                "due": now + datetime.timedelta(hours=1),
                "end": now + datetime.timedelta(hours=2),
                "agency": agency.pk,
            },
        )
    if connection.vendor == "postgresql":
        for table in (
            "followups_followup",
            "notifications_notification",
            "followups_followupevent",
        ):
            sql(f"VACUUM ANALYZE {table}")


def sql(query, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else None


# --- the worker ----------------------------------------------------------------------------


class Worker:
    """A Celery worker of 2 processes with the production settings (or the embedded
    default's), its log in `log_path`."""

    def __init__(self, log_path):
        self.log_path = log_path
        env = {**os.environ, **ENV, "SMS_BACKEND": "notifications.backends.LocmemSMSBackend"}
        env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
        if not ARGS.embedded:
            env["DJANGO_SETTINGS_MODULE"] = "casebook.settings.prod"
            env["SECRET_KEY"] = secrets.token_urlsafe(64)
            env["ALLOWED_HOSTS"] = "casebook.example.org"
        self.env = env
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "casebook", "worker", "--concurrency", "2"]
            + ["--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"The worker did not start:\n{self.tail()}")
            time.sleep(0.2)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def tail(self):
        return self.log_path.read_text(errors="replace")[-3000:]


def empty_the_queue():
    if ARGS.embedded:
        return
    import redis

    with redis.Redis.from_url(REDIS_URL) as client:
        client.delete("celery", "unacked", "unacked_index")


# --- what is measured ----------------------------------------------------------------------


def surge(agency, total, reminded, worker):
    """Send one sweep and wait: (seconds until every worker notice is in the inbox,
    seconds until every reminder text is sent)."""
    from casebook.celery import app
    from notifications.models import DeliveryStatus, Kind, Notification

    notices = Notification.objects.filter(agency=agency, kind=Kind.FOLLOWUP_DUE)
    texts = Notification.objects.filter(
        agency=agency, kind=Kind.CLIENT_REMINDER, status=DeliveryStatus.SENT
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test settings' task_always_eager: not here
        app.send_task("followups.tasks.sweep")
    inbox = sent = None
    while inbox is None or sent is None:
        now = time.perf_counter() - start
        if now > WAIT or worker.process.poll() is not None:
            sys.exit(f"Timed out: {notices.count():,} notices of {total:,}\n{worker.tail()}")
        # Counting costs the database too: often enough to be within 1% of the time.
        time.sleep(min(0.5, max(0.05, now / 100)))
        now = time.perf_counter() - start
        if inbox is None and notices.count() >= total:
            inbox = now
        if sent is None and texts.count() >= reminded:
            sent = now
    return inbox, sent


def baseline(agency):
    """Seconds of one transaction of raw SQL making the same writes."""
    now = timezone.now()
    start = time.perf_counter()
    with transaction.atomic():
        sql(
            "UPDATE followups_followup SET status = 'due', status_changed_at = %(now)s,"
            " next_check_at = due_at, lease_until = NULL, lease_token = NULL,"
            " dispatch_count = 0, last_error = '' WHERE agency_id = %(agency)s",
            {"now": now, "agency": agency.pk},
        )
        sql(
            "INSERT INTO notifications_notification (agency_id, kind, channel, recipient_id,"
            " client_id, followup_id, address, subject, body, html_body, url, dedupe_key,"
            " status, created_at, next_attempt_at, tries, sent_at, failure_reason)"
            " SELECT f.agency_id, 'followup_due', 'in_app', f.assigned_to_id, c.client_id,"
            " f.id, '', 'Follow-up due: ' || f.title, f.title || '. Due soon.', '',"
            " '/followups/' || f.id || '/', 'due:' || f.id || ':bench', 'sent', %(now)s,"
            " %(now)s, 0, %(now)s, '' FROM followups_followup f"
            " JOIN cases_case c ON c.id = f.case_id WHERE f.agency_id = %(agency)s",
            {"now": now, "agency": agency.pk},
        )
    return time.perf_counter() - start


def check(agency, total, reminded, failures):
    """Everything processed once: no lease left, one notice and one status change per
    follow-up, one reminder per reminded one."""
    from followups.models import FollowUp, FollowUpEvent, Status
    from notifications.models import Kind, Notification

    rows = FollowUp.objects.filter(agency=agency)
    deadline = time.monotonic() + 60
    while rows.filter(lease_token__isnull=False).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    counts = {
        "follow-ups due and unleased": rows.filter(
            status=Status.DUE, lease_token__isnull=True
        ).count(),
        "follow-ups with a notice": Notification.objects.filter(
            agency=agency, kind=Kind.FOLLOWUP_DUE
        )
        .values("followup_id")
        .distinct()
        .count(),
        "worker notices": Notification.objects.filter(
            agency=agency, kind=Kind.FOLLOWUP_DUE
        ).count(),
        "status changes": FollowUpEvent.objects.filter(followup__agency=agency).count(),
    }
    for what, count in counts.items():
        if count != total:
            failures.append(f"{what}: {count:,}, not {total:,}")
    texts = Notification.objects.filter(agency=agency, kind=Kind.CLIENT_REMINDER).count()
    if texts != reminded:
        failures.append(f"reminders: {texts:,}, not {reminded:,}")
    parked = rows.filter(parked_at__isnull=False).count()
    if parked:
        failures.append(f"{parked:,} follow-ups parked")


def line(name, seconds, total, base):
    print(f"{name:<52}{seconds:>8.2f}{total / seconds:>10,.0f}{seconds / base:>8.1f}")


def main():
    began = time.perf_counter()
    ensure_database()
    from cases.models import ReminderChannel
    from followups.models import FollowUp

    agency, workers = make_agency()
    populate(agency, workers, ARGS.followups)
    total = FollowUp.objects.filter(agency=agency).count()
    reminded = FollowUp.objects.filter(
        agency=agency, case__client__reminder_channel=ReminderChannel.TEXT
    ).count()
    if connection.vendor == "postgresql":
        version = connection.cursor().connection.info.server_version // 10000
        where = f"PostgreSQL {version}, Redis ({REDIS_URL})"
    else:
        where = f"SQLite and the filesystem broker in {VAR_DIR}"
    print(
        f"{total:,} follow-ups falling due at once ({total // 4:,} cases, {len(workers)}"
        f" workers, {reminded:,} of them texting the client); {where}; a worker of 2"
        f" processes, sweeps of {settings_line()}",
        flush=True,
    )

    base_s, inbox_s, sent_s, failures = [], [], [], []
    for _ in range(ARGS.repeat):
        reset(agency)
        base_s.append(baseline(agency))
    log_path = Path(tempfile.mkdtemp(prefix="casebook-surge-log-")) / "worker.log"
    worker = Worker(log_path)
    empty_the_queue()
    worker.start()
    loads = []
    try:
        for _ in range(ARGS.repeat):
            reset(agency)
            loads.append(os.getloadavg()[0])
            inbox, sent = surge(agency, total, reminded, worker)
            check(agency, total, reminded, failures)
            inbox_s.append(inbox)
            sent_s.append(sent)
    finally:
        worker.stop()
        if ARGS.embedded:
            shutil.rmtree(VAR_DIR, ignore_errors=True)
    base = statistics.median(base_s)
    print(f"\nMedian of {ARGS.repeat} (the worker's log: {log_path})")
    print(f"{'what':<52}{'s':>8}{'/s':>10}{'× raw':>8}")
    line("UPDATE + INSERT of the same rows, raw SQL (baseline)", base, total, base)
    line("sweep → every worker notice in the inbox", statistics.median(inbox_s), total, base)
    line("sweep → every reminder text sent", statistics.median(sent_s), total, base)
    print(f"  each run, inbox: {', '.join(f'{s:.1f} s' for s in inbox_s)}")
    # The machine may be shared: what else was running shows here.
    print(f"  load average (1 min) as each began: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"\nWhole run: {time.perf_counter() - began:.0f} s")
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    return 1 if failures else 0


def settings_line():
    from followups import engine

    return f"{engine.SWEEP_LIMIT:,} rows in batches of {engine.batch_size()}"


if __name__ == "__main__":
    sys.exit(main())
