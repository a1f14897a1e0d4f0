"""Referral report and export speed against raw-SQL baselines, measured in the same run.

Usage: make bench   (or: .venv/bin/python bench/referrals.py [--referrals 200000])

Builds its own PostgreSQL database (BENCH_REFERRALS_DATABASE_URL, default: the database
of BENCH_DATABASE_URL with "_referrals" appended, casebook_bench_referrals), fills it with
one agency (8 teams, 40 workers, one client and case per four referrals, a shared and an
agency-owned directory) and N referrals sent over the last 12 months, in every status with
outcomes and timestamps as the services would leave them, plus a second agency whose
referrals (a tenth as many, same period, same services) must never be counted. The rows
are made with bulk_create directly, not through referrals.services: no consents,
disclosures, events or provider links, which the report and the exports do not read.
A second run with the same N reuses the data; a larger N tops it up; a smaller N rebuilds.

Then, for the agency admin, times:
- the report (reports.report referral_rows + referral_summary) over 3 months and over
  the year, against raw SQL computing the same totals, connection rate and medians
  (percentile_cont), and checks that the numbers agree;
- the CSV and XLSX writers the export job uses (reports/export_sql.py: one COPY, and typed
  rows computed in SQL for rustpy-xlsxwriter) and the Python writers they replaced on
  PostgreSQL (still SQLite's, reports/exports.py; --no-python-exports skips them) over all
  the agency's rows, de-identified and identified, against a bare COPY (SELECT ...) TO
  STDOUT of the same columns (raw values, the same HMAC client key); rows/second, how many
  times faster than the Python writer, and in a fresh process each: peak Python memory
  (tracemalloc) and the process's peak RSS (VmHWM; getrusage's ru_maxrss is inherited
  from the parent on Linux) before and after;
- the streamed CSV response (/reports/referrals.csv) through Django's test client:
  time to first byte and total, against the Python stream it replaced;
- for the XLSX job, the same rows fetched alone, and the same rows already in memory
  written by its writer alone (rustpy-xlsxwriter: the job's ceiling) and by XlsxWriter
  alone (constant_memory, write_row, the same formats: the ceiling it had before), each
  with how many times as long the job takes.
Exits non-zero when the report's numbers or the exports' row counts differ from SQL's.
"""

import argparse
import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _database_url():
    if os.environ.get("BENCH_REFERRALS_DATABASE_URL"):
        return os.environ["BENCH_REFERRALS_DATABASE_URL"]
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=base.path.rstrip("/") + "_referrals"))


os.environ["DJANGO_SETTINGS_MODULE"] = "casebook.settings.test"
os.environ["DATABASE_URL"] = _database_url()

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

AGENCY = "bench-referrals"
OTHER_AGENCY = "bench-referrals-other"
ADMIN = "bench-admin"
TZ = "America/Los_Angeles"
BATCH = 5000
REFERRALS_PER_CLIENT = 4
DAY = datetime.timedelta(days=1)
# The width of the export table's first column ("what").
WHAT = 42

# The report's numbers, straight from the table: the rows an agency admin's report counts
# are the agency's sent referrals but drafts and records entered in error.
REPORTED = """
FROM referrals_referral r
WHERE r.agency_id = %(agency)s AND r.sent_at IS NOT NULL
  AND r.status NOT IN ('draft', 'entered-in-error')
  AND r.sent_at >= %(start)s AND r.sent_at < %(end)s
"""
RAW_TOTALS = (
    """
SELECT count(*),
       count(*) FILTER (WHERE r.status = 'completed' AND r.service_date IS NOT NULL),
       count(r.closed_at), count(r.accepted_at), count(r.service_date),
       percentile_cont(0.5) WITHIN GROUP
           (ORDER BY extract(epoch FROM r.accepted_at - r.sent_at) / 86400),
       percentile_cont(0.5) WITHIN GROUP
           (ORDER BY r.service_date - (r.sent_at AT TIME ZONE %(tz)s)::date),
       percentile_cont(0.5) WITHIN GROUP
           (ORDER BY extract(epoch FROM r.closed_at - r.sent_at) / 86400)
"""
    + REPORTED
)
RAW_GROUPS = (
    "SELECT r.status, r.need_category, r.outcome, count(*)"
    + REPORTED
    + "GROUP BY r.status, r.need_category, r.outcome"
)

# The export's columns (reports.exports.columns), as SQL: raw values, unformatted, and the
# de-identified key as the export computes it (pgcrypto's HMAC-SHA256, reports migration
# 0002; before it, the baseline had an md5 stand-in of the same length).
RAW_EXPORT = """
SELECT r.id, (r.sent_at AT TIME ZONE %(tz)s)::date, r.status, r.outcome, r.need_category,
       r.urgency, coalesce(t.name, ''),
       coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username),
       coalesce(o.name, ''), coalesce(s.name, r.provider_name),
       to_char(r.accepted_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD"T"HH24:MI'),
       r.service_date,
       to_char(r.closed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD"T"HH24:MI'),
       round(extract(epoch FROM r.accepted_at - r.sent_at) / 86400, 1),
       r.service_date - (r.sent_at AT TIME ZONE %(tz)s)::date,
       CASE WHEN r.closed_at IS NULL THEN 'no' ELSE 'yes' END,
       {client}
FROM referrals_referral r
JOIN cases_case c ON c.id = r.case_id
LEFT JOIN accounts_team t ON t.id = c.team_id
JOIN accounts_user u ON u.id = r.created_by_id
LEFT JOIN directory_service s ON s.id = r.service_id
LEFT JOIN directory_organization o ON o.id = s.organization_id
{join_client}
WHERE r.agency_id = %(agency)s AND r.sent_at IS NOT NULL
  AND r.status NOT IN ('draft', 'entered-in-error')
ORDER BY r.sent_at, r.id
"""
DEIDENTIFIED_SQL = "substr(encode(hmac(r.client_id::text, %(secret)s, 'sha256'), 'hex'), 1, 16)"
IDENTIFIED_SQL = "cl.legal_name, cl.date_of_birth, cl.phone"


def raw_export_sql(deidentified):
    if deidentified:
        return RAW_EXPORT.format(client=DEIDENTIFIED_SQL, join_client="")
    return RAW_EXPORT.format(
        client=IDENTIFIED_SQL, join_client="JOIN cases_client cl ON cl.id = r.client_id"
    )


# --- database and data -------------------------------------------------------------------


def _admin_connection():
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    )


def ensure_database(fresh=False):
    name = settings.DATABASES["default"]["NAME"]
    connection.close()
    with _admin_connection() as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


FIRST = ["José", "María", "Nguyễn", "Aoife", "Søren", "Zoë", "Jamal", "Ana", "Björn", "Li"]
LAST = ["Núñez", "García", "O'Brien", "Łukasz", "Müller", "Smith", "Okafor", "Durand", "Kim"]

# (status, weight) for referrals sent in the last week, and for older ones.
RECENT = [
    ("requested", 45),
    ("accepted", 25),
    ("in-progress", 10),
    ("on-hold", 3),
    ("completed", 5),
    ("rejected", 7),
    ("cancelled", 3),
    ("failed", 2),
]
OLDER = [
    ("requested", 4),
    ("accepted", 5),
    ("in-progress", 5),
    ("on-hold", 2),
    ("completed", 45),
    ("rejected", 14),
    ("cancelled", 10),
    ("failed", 15),
]


def make_agency(slug, name, teams, workers_per_team):
    from accounts.models import Agency, Role, Team, User

    agency, _ = Agency.objects.get_or_create(slug=slug, defaults={"name": name, "timezone": TZ})
    workers = []
    for t in range(teams):
        team, _ = Team.objects.get_or_create(agency=agency, name=f"Crisis team {t + 1}")
        for w in range(workers_per_team):
            n = t * workers_per_team + w
            user, _ = User.objects.get_or_create(
                username=f"{slug}-worker{n}",
                defaults={
                    "agency": agency,
                    "team": team,
                    "role": Role.SOCIAL_WORKER,
                    "first_name": FIRST[n % len(FIRST)],
                    "last_name": LAST[n % len(LAST)],
                },
            )
            workers.append(user)
    return agency, workers


def make_directory(agency):
    """20 shared organizations with 3 services each, and 2 of the agency's own."""
    from directory.models import NeedCategory, Organization, Service

    if Service.objects.exists():
        return list(Service.objects.select_related("organization").order_by("name"))
    categories = list(NeedCategory.values)
    orgs = Organization.objects.bulk_create(
        Organization(
            name=f"Community organization {i + 1}",
            description="A community organization.",
            agency=agency if i >= 20 else None,
        )
        for i in range(22)
    )
    Service.objects.bulk_create(
        Service(organization=org, name=f"{categories[(i * 3 + j) % 11]} service {i}-{j}")
        for i, org in enumerate(orgs)
        for j in range(3)
    )
    return list(Service.objects.select_related("organization").order_by("name"))


def referral_times(rng, status, sent, now, tz):
    """accepted_at, service_date, closed_at, outcome for a referral sent at `sent`."""
    from referrals.models import OUTCOMES_FOR_STATUS

    def at_most_now(moment):
        return min(moment, now)

    accepted = service = closed = None
    outcome = ""
    if status in ("accepted", "in-progress", "on-hold", "completed", "failed") or (
        status == "cancelled" and rng.random() < 0.3
    ):
        accepted = at_most_now(sent + datetime.timedelta(hours=rng.lognormvariate(3.2, 1.0)))
    if status == "completed" or (status == "in-progress" and rng.random() < 0.6):
        seen = at_most_now(accepted + datetime.timedelta(days=rng.gammavariate(2.0, 3.0)))
        service = seen.astimezone(tz).date()
        if status == "completed":
            closed = at_most_now(seen + datetime.timedelta(hours=rng.uniform(1, 72)))
    if status in ("rejected", "cancelled", "failed"):
        start = accepted or sent
        closed = at_most_now(start + datetime.timedelta(days=rng.gammavariate(1.5, 4.0)))
    if status in OUTCOMES_FOR_STATUS:
        outcome = rng.choice(OUTCOMES_FOR_STATUS[status])
    return accepted, service, closed, outcome


def fill_referrals(agency, workers, services, target, seed):
    """Top the agency up to `target` referrals (sent ones and drafts), in batches, each
    with its own clients and cases."""
    from referrals.models import Referral

    made = Referral.objects.filter(agency=agency).count()
    now = timezone.now()
    tz = zoneinfo.ZoneInfo(TZ)
    statuses = {
        name: ([s for s, _ in w], [n for _, n in w])
        for name, w in (("recent", RECENT), ("older", OLDER))
    }
    started = time.perf_counter()
    while made < target:
        # One seeded generator per batch, drawn from by the steps below in turn: moving a
        # draw changes the data.
        rng = random.Random(f"{seed}-{made}")
        n = min(BATCH, target - made)
        clients = _create_clients(rng, agency, made, max(1, n // REFERRALS_PER_CLIENT))
        cases = _create_cases(rng, agency, workers, clients, now)
        referrals = [
            _build_referral(rng, agency, cases[i % len(cases)], services, statuses, now, tz)
            for i in range(n)
        ]
        Referral.objects.bulk_create(referrals)
        made += n
        if made % 100000 < BATCH:
            rate = made / (time.perf_counter() - started)
            print(f"  {agency.slug}: {made} referrals ({rate:,.0f}/s)", flush=True)


def _create_clients(rng, agency, made, n):
    from cases.models import Client, name_key, phone_digits

    return Client.objects.bulk_create(
        Client(
            agency=agency,
            legal_name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {made + i}",
            name_key=name_key(f"{FIRST[i % 10]} {LAST[i % 9]} {made + i}"),
            date_of_birth=datetime.date(1940, 1, 1) + DAY * rng.randrange(0, 25000),
            phone=f"541-555-{(made + i) % 10000:04d}",
            phone_normalized=phone_digits(f"541-555-{(made + i) % 10000:04d}"),
        )
        for i in range(n)
    )


def _create_cases(rng, agency, workers, clients, now):
    """One case per client, a tenth of them open."""
    from cases.models import Case

    cases = []
    for i, client in enumerate(clients):
        worker = workers[rng.randrange(len(workers))]
        open_ = i % 10 == 0
        cases.append(
            Case(
                agency=agency,
                client=client,
                assigned_worker=worker,
                team=worker.team,
                opened_by=worker,
                opened_at=now - DAY * 370,
                last_contact_at=now - DAY * rng.uniform(0, 365),
                status="open" if open_ else "closed",
                closed_at=None if open_ else now,
            )
        )
    return Case.objects.bulk_create(cases)


def _build_referral(rng, agency, case, services, statuses, now, tz):
    """One referral of `case` sent in the last year, as the services would leave it;
    not saved yet."""
    from referrals.models import Referral

    sent = now - DAY * rng.uniform(0, 365)
    status = _draw_status(rng, statuses, sent, now)
    service = None if rng.random() < 0.1 else services[rng.randrange(len(services))]
    if status in ("draft", "entered-in-error"):
        accepted = service_date = closed = None
        outcome = ""
    else:
        accepted, service_date, closed, outcome = referral_times(rng, status, sent, now, tz)
    referral = Referral(
        agency=agency,
        case=case,
        client_id=case.client_id,
        service=service,
        provider_name=service.name if service else "Outside provider",
        need_category=(
            service.name.split(" ")[0] if service else rng.choice(["other", "legal", "food"])
        ),
        urgency=rng.choice(["routine", "routine", "urgent", "asap"]),
        reason="Needs help the agency cannot give itself.",
        shared_items=["name", "phone", "reason"],
        status=status,
        outcome=outcome,
        service_date=service_date,
        created_by=case.assigned_worker,
        created_at=sent - datetime.timedelta(minutes=5),
        sent_at=None if status == "draft" else sent,
        accepted_at=accepted,
        closed_at=closed,
        last_activity_at=max(t for t in (sent, accepted, closed) if t),
    )
    referral.refresh_staleness(now)
    return referral


def _draw_status(rng, statuses, sent, now):
    """A status weighted by the referral's age (RECENT in its first week, then OLDER),
    with a few drafts and records entered in error."""
    status = rng.choices(*statuses["recent" if now - sent < DAY * 7 else "older"])[0]
    roll = rng.random()
    if roll < 0.02:
        return "draft"
    if roll < 0.03:
        return "entered-in-error"
    return status


def populate(total):
    from accounts.models import Role, User
    from referrals.models import Referral

    agency, workers = make_agency(AGENCY, "Bench crisis services", 8, 5)
    admin, _ = User.objects.get_or_create(
        username=ADMIN, defaults={"agency": agency, "role": Role.AGENCY_ADMIN}
    )
    from django.contrib.auth.models import Permission

    admin.user_permissions.add(Permission.objects.get(codename="export_identified"))
    other, other_workers = make_agency(OTHER_AGENCY, "Bench other agency", 2, 5)
    services = make_directory(agency)
    shared = [s for s in services if s.agency_id is None]
    have = Referral.objects.filter(agency=agency).count()
    if have >= total and Referral.objects.filter(agency=other).count() >= total // 10:
        return False
    start = time.perf_counter()
    fill_referrals(agency, workers, services, total, "a")
    fill_referrals(other, other_workers, shared, total // 10, "b")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Filled in {time.perf_counter() - start:.0f} s", flush=True)
    return True


def existing_referrals():
    from accounts.models import Agency
    from referrals.models import Referral

    agency = Agency.objects.filter(slug=AGENCY).first()
    return Referral.objects.filter(agency=agency).count() if agency else 0


def bench_objects():
    from accounts.models import Agency, User

    return Agency.objects.get(slug=AGENCY), User.objects.get(username=ADMIN)


# --- the report ----------------------------------------------------------------------------


def periods(agency):
    from reports.report import agency_zone

    today = timezone.now().astimezone(agency_zone(agency)).date()
    return [
        ("3 months", today - DAY * 91, today),
        ("12 months", today - DAY * 365, today),
    ]


def report_numbers(admin, agency, start, end):
    from reports.report import agency_zone, referral_rows, referral_summary

    filters = {"sent_from": start.isoformat(), "sent_to": end.isoformat()}
    return referral_summary(referral_rows(admin, filters), tz=agency_zone(agency)).as_dict()


def raw_numbers(agency, start, end):
    tz = zoneinfo.ZoneInfo(agency.timezone)
    params = {
        "agency": agency.pk,
        "tz": agency.timezone,
        "start": datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
        "end": datetime.datetime.combine(end + DAY, datetime.time.min, tzinfo=tz),
    }
    with connection.cursor() as cursor:
        cursor.execute(RAW_TOTALS, params)
        totals = cursor.fetchone()
        cursor.execute(RAW_GROUPS, params)
        groups = cursor.fetchall()
    return totals, groups


def compare(report, raw):
    """The differences between the report's numbers and raw SQL's (empty: they agree)."""
    (total, connected, closed, accepted, served, m_accept, m_service, m_close), groups = raw
    wrong = []

    def check(what, got, want):
        if got != want:
            wrong.append(f"{what}: report {got}, SQL {want}")

    def check_median(what, got, want, of):
        if got["of"] != of:
            wrong.append(f"{what} over: report {got['of']}, SQL {of}")
        if (got["days"] is None) != (want is None) or (
            want is not None and abs(got["days"] - float(want)) > 0.05 + 1e-9
        ):
            wrong.append(f"{what}: report {got['days']}, SQL {want}")

    check("total sent", report["total_sent"], total)
    check("connected", report["connected"]["count"], connected)
    check("loops closed", report["loops_closed"]["count"], closed)
    check("accepted", report["accepted"]["count"], accepted)
    rate = round(connected * 100 / total, 1) if total else None
    check("connection rate", report["connection_rate"], rate)
    check_median(
        "median days to acceptance", report["median_days_to_acceptance"], m_accept, accepted
    )
    check_median(
        "median days to first service", report["median_days_to_first_service"], m_service, served
    )
    check_median("median days to closure", report["median_days_to_closure"], m_close, closed)
    by_status, by_cell = {}, {}
    for status, category, outcome, n in groups:
        by_status[status] = by_status.get(status, 0) + n
        by_cell[(category, outcome)] = by_cell.get((category, outcome), 0) + n
    got_status = {row["status"]: row["count"] for row in report["by_status"] if row["count"]}
    check("by status", got_status, by_status)
    got_cells = {
        (row["need_category"], outcome): n
        for row in report["by_category"]
        for outcome, n in row["outcomes"].items()
        if n
    }
    check("category × outcome", got_cells, by_cell)
    return wrong


def explain_report(admin, agency, start, end):
    """EXPLAIN ANALYZE of the report's queries for the period: the plan's top lines."""
    with CaptureQueriesContext(connection) as queries:
        report_numbers(admin, agency, start, end)
    lines = []
    for query in queries.captured_queries:
        sql = query["sql"]
        select = sql[sql.upper().find("SELECT") :]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + select)
            plan = [row[0] for row in cursor.fetchall()]
        lines.append((select[:90].replace("\n", " "), plan))
    return lines


# --- exports -----------------------------------------------------------------------------


def run_export(kind, deidentified, admin, agency):
    """One export of all the agency's rows; returns (rows, bytes of an XLSX file).
    "csv" and "xlsx" are the export job's writers (reports/export_sql.py: COPY and typed
    SQL rows on PostgreSQL); "csv-python" and "xlsx-python" are the Python writers that
    were the job's before and stay SQLite's (reports/exports.py)."""
    from reports import export_sql, exports
    from reports.report import referral_rows

    if kind == "copy":
        return raw_copy(agency, deidentified)
    rows = referral_rows(admin, {})
    header = exports.columns(deidentified, agency=agency)
    if kind == "csv":
        return export_sql.write_csv(os.devnull, rows, agency=agency, deidentified=deidentified), 0
    if kind == "csv-python":
        data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
        return exports.write_csv(os.devnull, header, data), 0
    if kind == "stream-python":
        # What the streamed response did before: the Python rows through csv_stream.
        data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
        return sum(line.count("\n") for line in exports.csv_stream(header, data)) - 1, 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.xlsx"
        if kind == "xlsx":
            n = export_sql.write_xlsx(path, rows, agency=agency, deidentified=deidentified)
        else:
            data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
            n = exports.write_xlsx(path, header, data)
        return n, path.stat().st_size


def raw_copy(agency, deidentified):
    """COPY (SELECT ...) TO STDOUT WITH CSV HEADER of the export's columns, to /dev/null."""
    params = {"agency": agency.pk, "tz": agency.timezone, "secret": agency.client_key_secret}
    sql = raw_export_sql(deidentified)
    lines = size = 0
    db = settings.DATABASES["default"]
    with (
        psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
        ) as conn,
        open(os.devnull, "wb") as out,
    ):
        cursor = psycopg.ClientCursor(conn)
        query = f"COPY ({cursor.mogrify(sql, params)}) TO STDOUT WITH CSV HEADER"
        with cursor.copy(query) as copy:
            for data in copy:
                out.write(data)
                size += len(data)
                lines += bytes(data).count(b"\n")
    return lines - 1, size


def stream_response(http, deidentified):
    """(seconds to first byte, seconds in all, rows) of /reports/referrals.csv."""
    start = time.perf_counter()
    response = http.get("/reports/referrals.csv", {"deidentified": "1" if deidentified else "0"})
    assert response.status_code == 200, response.status_code
    first = None
    lines = 0
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - start
        lines += chunk.count(b"\n")
    response.close()
    return first, time.perf_counter() - start, lines - 1


def proc_status_mb(key):
    """VmRSS (now) or VmHWM (peak) of this process image, in MB. Unlike getrusage's
    ru_maxrss, which a child inherits from its parent across fork and exec, VmHWM starts
    afresh with the new program."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_memory(kind, deidentified):
    """In this (fresh) process: one export under tracemalloc; prints JSON."""
    agency, admin = bench_objects()
    http = None
    if kind == "response":
        settings.ALLOWED_HOSTS = ["testserver"]
        http = HttpClient()
        http.force_login(admin)
    hwm_before = proc_status_mb("VmHWM")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    start = time.perf_counter()
    if kind == "response":
        rows = stream_response(http, deidentified)[2]
    else:
        rows = run_export(kind, deidentified, admin, agency)[0]
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds_traced": seconds,
                "peak_mb": peak / 2**20,
                "hwm_before_mb": hwm_before,
                "hwm_after_mb": proc_status_mb("VmHWM"),
                "maxrss_before_mb": maxrss_before,
                "maxrss_after_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_after_mb": proc_status_mb("VmRSS"),
            }
        )
    )


def memory_in_child(kind, deidentified):
    child = subprocess.run(
        [sys.executable, __file__, "--memory", kind, "--deidentified", str(int(deidentified))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- main ----------------------------------------------------------------------------------


def timed(fn, repeat, warm=True):
    if warm:
        fn()
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main():
    args = parse_args()
    if args.memory:
        measure_memory(args.memory, bool(args.deidentified))
        return 0

    began = time.perf_counter()
    ensure_database()
    if existing_referrals() > args.referrals:
        print(f"The bench database holds more than {args.referrals} referrals: rebuilding it")
        ensure_database(fresh=True)
    populate(args.referrals)
    agency, admin = bench_objects()
    print_sizes(agency)
    failures = []
    bench_report(agency, admin, args.repeat, failures)
    if args.explain:
        print_plans(agency, admin)
    variants = (True,) if args.de_identified_only else (True, False)
    with_python = not args.no_python_exports
    bench_exports(agency, admin, variants, args.export_repeat, failures, with_python)
    if not args.no_memory:
        bench_memory(variants, with_python)

    print(f"\nWhole run: {time.perf_counter() - began:.0f} s")
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    return 1 if failures else 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=200000)
    parser.add_argument("--repeat", type=int, default=7, help="runs of each report timing")
    parser.add_argument("--export-repeat", type=int, default=1, help="runs of each export")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--de-identified-only", action="store_true", help="skip the identified exports"
    )
    parser.add_argument("--explain", action="store_true", help="print the report's plans")
    parser.add_argument("--memory", choices=[kind for _, kind in EXPORT_KINDS] + ["response"])
    parser.add_argument(
        "--no-python-exports",
        action="store_true",
        help="skip the Python writers (the exports before COPY, SQLite's path)",
    )
    parser.add_argument("--deidentified", type=int, default=1)
    return parser.parse_args()


def print_sizes(agency):
    from referrals.models import Referral

    print(
        f"{Referral.objects.filter(agency=agency).count():,} referrals in the agency "
        f"(+{Referral.objects.exclude(agency=agency).count():,} in another agency), "
        f"{agency.clients.count():,} clients; PostgreSQL "
        f"{connection.cursor().connection.info.server_version // 10000}"
    )


def bench_report(agency, admin, repeat, failures):
    """The report over each period against raw SQL; a difference goes to `failures`."""
    print(f"\nReport for the agency admin (median of {repeat})")
    print(f"{'period':<11}{'referrals':>10}{'report ms':>11}{'raw SQL ms':>12}{'× raw':>7}  ")
    for name, start, end in periods(agency):
        report_ms, report = timed(
            lambda s=start, e=end: report_numbers(admin, agency, s, e), repeat
        )
        raw_ms, raw = timed(lambda s=start, e=end: raw_numbers(agency, s, e), repeat)
        wrong = compare(report, raw)
        failures += [f"{name}: {w}" for w in wrong]
        print(
            f"{name:<11}{report['total_sent']:>10,}{report_ms * 1000:>11.1f}"
            f"{raw_ms * 1000:>12.1f}{report_ms / raw_ms:>7.1f}  "
            + ("numbers agree" if not wrong else "NUMBERS DIFFER")
        )
        print(
            f"{'':<11}connection rate {report['connection_rate']}%, medians (days): "
            f"acceptance {report['median_days_to_acceptance']['days']}, first service "
            f"{report['median_days_to_first_service']['days']}, closure "
            f"{report['median_days_to_closure']['days']}"
        )


def print_plans(agency, admin):
    name, start, end = periods(agency)[0]
    print(f"\nPlans of the report's queries ({name}, EXPLAIN ANALYZE)")
    for sql, plan in explain_report(admin, agency, start, end):
        print(f"  {sql}...")
        for line in plan[:14]:
            print(f"    {line}")


EXPORT_KINDS = [
    ("COPY ... TO STDOUT (baseline)", "copy"),
    ("CSV job: COPY", "csv"),
    ("CSV job: Python (before)", "csv-python"),
    ("XLSX job: SQL rows", "xlsx"),
    ("XLSX job: Python (before)", "xlsx-python"),
    ("CSV stream: Python (before)", "stream-python"),
]
PYTHON_KINDS = ("csv-python", "xlsx-python", "stream-python")


def export_kinds(with_python):
    return [(n, k) for n, k in EXPORT_KINDS if with_python or k not in PYTHON_KINDS]


def bench_exports(agency, admin, variants, repeat, failures, with_python=True):
    """Each export writer and the streamed response over all the agency's reported rows,
    for each of `variants` (de-identified or not); a row count off goes to `failures`."""
    from referrals.models import Referral

    all_rows = Referral.objects.filter(agency=agency, sent_at__isnull=False).exclude(
        status__in=["draft", "entered-in-error"]
    )
    expected = all_rows.count()
    print(
        f"\nExports of all the agency's {expected:,} reported rows (median of "
        f"{repeat}; rows/s from the median)"
    )
    print(f"{'what':<{WHAT}}{'s':>8}{'rows/s':>10}{'× COPY':>8}")
    settings.ALLOWED_HOSTS = ["testserver"]
    http = HttpClient()
    http.force_login(admin)
    for deidentified in variants:
        print(f"  {variant_label(deidentified)}")
        seconds = bench_writers(
            agency, admin, deidentified, expected, repeat, failures, with_python
        )
        bench_xlsx_baselines(agency, admin, deidentified, expected, repeat, seconds, failures)
        seconds["response"] = bench_response(
            http, deidentified, expected, seconds["copy"], repeat, failures
        )
        print_speedups(seconds)


def bench_writers(agency, admin, deidentified, expected, repeat, failures, with_python):
    """Print each export kind's line; returns each kind's seconds."""
    label = variant_label(deidentified)
    seconds = {}
    for name, kind in export_kinds(with_python):
        took, (rows, size) = timed(
            lambda k=kind, d=deidentified: run_export(k, d, admin, agency),
            repeat,
            warm=False,
        )
        if rows != expected:
            failures.append(f"{kind} {label}: {rows} rows, expected {expected}")
        seconds[kind] = took
        extra = f"  ({size / 2**20:.0f} MB file)" if size else ""
        print(
            f"  {name:<{WHAT - 2}}{took:>8.2f}{rows / took:>10,.0f}"
            f"{took / seconds['copy']:>8.2f}{extra}"
        )
    return seconds


def bench_xlsx_baselines(agency, admin, deidentified, expected, repeat, seconds, failures):
    """The XLSX job's rows (export_sql.xlsx_cells) fetched alone, and written from memory
    by its writer alone and by XlsxWriter alone: what the job could reach at best with
    each. Prints a line each, with how many times as long the job takes."""
    from reports import export_sql, exports
    from reports.report import referral_rows

    header = exports.columns(deidentified, agency=agency)
    formats = exports.xlsx_formats(header)
    query = export_sql._values(
        referral_rows(admin, {}), export_sql.xlsx_cells(agency, deidentified)
    )

    def fetch():
        return sum(1 for _ in query.iterator(chunk_size=exports.CHUNK_SIZE))

    data = list(query)
    baselines = [
        ("XLSX: fetching the rows alone", fetch),
        ("XLSX: bare rustpy-xlsxwriter, same rows", lambda: bare_rustpy(header, formats, data)),
        ("XLSX: bare xlsxwriter, same rows", lambda: bare_xlsxwriter(header, formats, data)),
    ]
    for name, baseline in baselines:
        took, rows = timed(baseline, repeat, warm=False)
        if rows != expected:
            failures.append(
                f"{name} {variant_label(deidentified)}: {rows} rows, expected {expected}"
            )
        print(
            f"  {name:<{WHAT - 2}}{took:>8.2f}{rows / took:>10,.0f}"
            f"{took / seconds['copy']:>8.2f}  (XLSX job: {seconds['xlsx'] / took:.2f}× as long)"
        )


def bare_rustpy(header, formats, data):
    """rustpy-xlsxwriter as the job calls it, over rows already in memory."""
    import rustpy_xlsxwriter

    from reports import exports

    with tempfile.TemporaryDirectory() as folder:
        rustpy_xlsxwriter.write_worksheet(
            (dict(zip(header, row, strict=True)) for row in data),
            str(Path(folder) / "bare.xlsx"),
            sheet_name="Referrals",
            freeze_row=1,
            bold_headers=True,
            column_widths=[max(len(name), exports.DATETIME_WIDTH) + 2 for name in header],
            column_formats=[
                rustpy_xlsxwriter.Format().set_num_format(f) if f else rustpy_xlsxwriter.Format()
                for f in formats
            ],
        )
    return len(data)


def bare_xlsxwriter(header, formats, data):
    """XlsxWriter in constant_memory mode, write_row over rows already in memory, the
    same column formats: the writer the job had before, at its best."""
    import xlsxwriter

    from reports import exports

    with tempfile.TemporaryDirectory() as folder:
        workbook = xlsxwriter.Workbook(
            str(Path(folder) / "bare.xlsx"),
            {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        sheet = workbook.add_worksheet("Referrals")
        for col, number_format in enumerate(formats):
            cell_format = (
                workbook.add_format({"num_format": number_format}) if number_format else None
            )
            sheet.set_column(
                col, col, max(len(header[col]), exports.DATETIME_WIDTH) + 2, cell_format
            )
        sheet.write_row(0, 0, header, workbook.add_format({"bold": True}))
        sheet.freeze_panes(1, 0)
        for number, row in enumerate(data, 1):
            sheet.write_row(number, 0, row)
        workbook.close()
    return len(data)


def print_speedups(seconds):
    pairs = [
        ("CSV job", "csv", "csv-python"),
        ("XLSX job", "xlsx", "xlsx-python"),
        ("CSV stream", "response", "stream-python"),
    ]
    for what, after, before in pairs:
        if before in seconds:
            print(
                f"  {what}: {seconds[before]:.2f} s before, {seconds[after]:.2f} s now "
                f"({seconds[before] / seconds[after]:.1f}× faster)"
            )


def bench_response(http, deidentified, expected, baseline, repeat, failures):
    label = variant_label(deidentified)
    samples = [stream_response(http, deidentified) for _ in range(repeat)]
    first = statistics.median(s[0] for s in samples)
    total = statistics.median(s[1] for s in samples)
    if samples[0][2] != expected:
        failures.append(f"response {label}: {samples[0][2]} rows, expected {expected}")
    print(
        f"  {'CSV stream: response (COPY)':<{WHAT - 2}}{total:>8.2f}{expected / total:>10,.0f}"
        f"{total / baseline:>8.2f}  (first byte after {first * 1000:.0f} ms)"
    )
    return total


def variant_label(deidentified):
    return "de-identified" if deidentified else "identified"


def bench_memory(variants, with_python=True):
    print("\nMemory, each export in a fresh process (tracemalloc on: slower)")
    print("(peak RSS: VmHWM of the process before and after the export; ru_maxrss after,")
    print(" which on Linux starts from the parent's RSS, so it only shows growth beyond that)")
    print(
        f"{'what':<26}{'rows':>10}{'py peak MB':>11}{'RSS peak before':>16}"
        f"{'after':>7}{'ru_maxrss':>10}"
    )
    for deidentified in variants:
        for kind in [k for _, k in export_kinds(with_python)] + ["response"]:
            m = memory_in_child(kind, deidentified)
            name = f"{kind} {variant_label(deidentified)}"
            print(
                f"{name:<26}{m['rows']:>10,}{m['peak_mb']:>11.1f}"
                f"{m['hwm_before_mb']:>16.0f}{m['hwm_after_mb']:>7.0f}"
                f"{m['maxrss_after_mb']:>10.0f}"
            )


if __name__ == "__main__":
    sys.exit(main())
