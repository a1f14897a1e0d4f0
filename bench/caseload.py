"""Caseload and case-list speed against a raw-SQL baseline, measured in the same run.

Usage: make bench   (or: .venv/bin/python bench/caseload.py [--cases 20000])

Builds its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/casebook_bench), fills it with one agency of
many teams and workers, then times, for one worker:
- the caseload query as the page runs it (visible_to().open().for_caseload()),
- the whole caseload page through Django's test client,
- the API case list,
each against the raw SQL that fetches the same rows. Prints medians and ratios.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "casebook.settings.test"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench"
)

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.utils import timezone  # noqa: E402

RAW_CASELOAD = """
SELECT c.id, c.risk_level, c.last_contact_at, cl.legal_name, cl.preferred_name,
       u.first_name, u.last_name, t.name
FROM cases_case c
JOIN cases_client cl ON cl.id = c.client_id
JOIN accounts_user u ON u.id = c.assigned_worker_id
LEFT JOIN accounts_team t ON t.id = c.team_id
WHERE c.agency_id = %(agency)s AND c.status = 'open'
  AND (c.assigned_worker_id = %(user)s OR c.team_id = %(team)s
       OR c.id IN (SELECT case_id FROM cases_contact WHERE recorded_by_id = %(user)s)
       OR c.id IN (SELECT case_id FROM cases_emergencyaccess
                   WHERE user_id = %(user)s AND expires_at > now()))
ORDER BY c.last_contact_at
"""


def ensure_database():
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def populate(total_cases):
    from accounts.models import Agency, Role, Team, User
    from cases.models import CallNature, Case, Client, Contact, name_key

    if Case.objects.count() >= total_cases:
        return
    agency, _ = Agency.objects.get_or_create(slug="bench", defaults={"name": "Bench agency"})
    teams = [Team.objects.get_or_create(agency=agency, name=f"Team {i}")[0] for i in range(20)]
    workers = []
    for i in range(100):
        user, _ = User.objects.get_or_create(
            username=f"worker{i}",
            defaults={"agency": agency, "team": teams[i % 20], "role": Role.SOCIAL_WORKER},
        )
        workers.append(user)
    nature = CallNature.objects.first()
    now = timezone.now()
    batch = 2000
    made = Case.objects.count()
    while made < total_cases:
        n = min(batch, total_cases - made)
        clients = Client.objects.bulk_create(
            Client(
                agency=agency,
                legal_name=f"Client {made + i}",
                name_key=name_key(f"Client {made + i}"),
            )
            for i in range(n)
        )
        # Ten consecutive cases per worker, one of them open: every worker carries a
        # caseload, most of each worker's history is closed.
        cases = Case.objects.bulk_create(
            Case(
                agency=agency,
                client=client,
                assigned_worker=workers[(made + i) // 10 % 100],
                team=workers[(made + i) // 10 % 100].team,
                opened_by=workers[(made + i) // 10 % 100],
                last_contact_at=now - timezone.timedelta(minutes=made + i),
                # Most of an agency's cases are closed history; one in ten is open.
                status="closed" if (made + i) % 10 else "open",
                closed_at=now if (made + i) % 10 else None,
            )
            for i, client in enumerate(clients)
        )
        Contact.objects.bulk_create(
            Contact(
                agency=agency,
                case=case,
                client=case.client,
                recorded_by=case.assigned_worker,
                source="911",
                received_at=case.last_contact_at,
                call_nature=nature,
                disposition="resolved",
            )
            for case in cases
        )
        made += n
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(fn, repeat):
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    ensure_database()
    call_command("migrate", verbosity=0)
    populate(args.cases)

    from accounts.models import User
    from cases.models import Case

    # The worker whose team carries the most open cases: the heaviest caseload page.
    busiest = (
        Case.objects.open()
        .values("team")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("team", flat=True)
        .first()
    )
    worker = User.objects.filter(team_id=busiest).order_by("username").first()
    params = {"agency": worker.agency_id, "user": worker.pk, "team": worker.team_id}

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW_CASELOAD, params)
            return cursor.fetchall()

    def orm():
        return list(
            Case.objects.visible_to(worker).open().for_caseload().order_by("last_contact_at")
        )

    http = HttpClient()
    http.force_login(worker)
    settings.ALLOWED_HOSTS = ["testserver"]

    def page():
        assert http.get("/cases/").status_code == 200

    def api():
        assert http.get("/api/v1/cases/?status=open").status_code == 200

    rows = len(raw())
    baseline = timed(raw, args.repeat)
    print(
        f"{Case.objects.count()} cases in the database; the worker's caseload has {rows} open cases"
    )
    print(f"{'what':<34}{'median ms':>10}{'× raw SQL':>11}")
    print(f"{'raw SQL (baseline)':<34}{baseline:>10.2f}{1:>11.1f}")
    for name, fn in (
        ("caseload query (ORM)", orm),
        ("caseload page (full request)", page),
        ("API case list, page 1", api),
    ):
        ms = timed(fn, args.repeat)
        print(f"{name:<34}{ms:>10.2f}{ms / baseline:>11.1f}")


if __name__ == "__main__":
    main()
