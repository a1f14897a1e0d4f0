"""Worker pages from 10k to 1M cases: does each page stay flat as the database grows?

Usage: make bench   (or: .venv/bin/python bench/scale.py [--scales 10000,100000,1000000])
BENCH_SCALE sets the scales too (a comma-separated list of case counts).

For each scale, a database of its own (BENCH_DATABASE_URL's name + "_scale_<N>") grown
with `manage.py grow_database` over 4 agencies, with as many teams as keep each team's
history near 2,500 cases (a statewide installation has more teams, not fatter ones) and
8 workers a team. A database already of that size is reused. Then, for the worker and
the supervisor of the team with most open cases, each page's median time through
Django's test client, the raw SQL of the caseload as a baseline in the same run, and
for every page its ratio at each scale to the smallest scale (the target: at most 1.3).
Each scale runs in a process of its own (Django holds one database per process).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
AGENCIES = 4
CASES_PER_TEAM = 2_500
WORKERS_PER_TEAM = 8

RAW_CASELOAD = """
SELECT c.id, c.risk_level, c.last_contact_at, cl.legal_name, cl.preferred_name,
       u.first_name, u.last_name, t.name
FROM cases_case c
JOIN cases_client cl ON cl.id = c.client_id
JOIN accounts_user u ON u.id = c.assigned_worker_id
LEFT JOIN accounts_team t ON t.id = c.team_id
WHERE c.agency_id = %(agency)s AND c.status = 'open'
  AND (c.assigned_worker_id = %(user)s OR c.team_id = %(team)s)
ORDER BY c.last_contact_at DESC
"""

PAGES = [
    ("caseload", "/cases/"),
    ("Today", "/followups/today/"),
    ("case page", "{case_page}"),
    ("client search", "/cases/clients/?q={surname}"),
    ("referral list", "/referrals/"),
    ("API cases", "/api/v1/cases/"),
    ("API clients", "/api/v1/clients/"),
    ("API contacts", "/api/v1/contacts/"),
    ("API referrals", "/api/v1/referrals/"),
    ("API follow-ups", "/api/v1/followups/"),
    ("API hospital visits", "/api/v1/hospital-visits/"),
]
SUPERVISOR_PAGES = [
    ("supervisor: team", "/supervision/"),
    ("supervisor: cases", "/supervision/cases/"),
]


def database_url(scale: int) -> str:
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=f"{base.path.rstrip('/')}_scale_{scale}"))


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(scale: int, repeat: int) -> dict:
    """In the child process: grow the scale's database and time every page."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "casebook.settings.test"
    os.environ["DATABASE_URL"] = database_url(scale)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client as HttpClient

    from accounts.models import Role, User
    from cases.models import Case

    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"]}
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    teams = max(1, scale // (AGENCIES * CASES_PER_TEAM))
    call_command(
        "grow_database", cases=scale, agencies=AGENCIES, teams=teams, workers=WORKERS_PER_TEAM
    )
    grown_in = time.perf_counter() - started
    settings.ALLOWED_HOSTS = ["testserver"]

    def busiest(role):
        teams = "supervised_teams" if role == Role.SUPERVISOR else "team"
        return (
            User.objects.filter(role=role, **{f"{teams}__cases__status": "open"})
            .annotate(n=Count(f"{teams}__cases"))
            .order_by("-n", "pk")
            .first()
        )

    worker, supervisor = busiest(Role.SOCIAL_WORKER), busiest(Role.SUPERVISOR)
    case = Case.objects.visible_to(worker).open().order_by("-last_contact_at").first()
    fill = {
        "case_page": f"/cases/{case.pk}/",
        "surname": case.client.legal_name.split()[-1],
    }
    params = {"agency": worker.agency_id, "user": worker.pk, "team": worker.team_id}

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW_CASELOAD, params)
            return cursor.fetchall()

    results = {"cases": Case.objects.count(), "grown_s": grown_in, "caseload_rows": len(raw())}
    results["raw SQL caseload (baseline)"] = timed(raw, repeat)
    for user, pages in ((worker, PAGES), (supervisor, SUPERVISOR_PAGES)):
        http = HttpClient()
        http.force_login(user)
        for name, url in pages:
            url = url.format(**fill)

            def get(url=url, http=http):
                response = http.get(url)
                assert response.status_code == 200, (url, response.status_code)

            results[name] = timed(get, repeat)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default=os.environ.get("BENCH_SCALE", "10000,100000"), help="case counts"
    )
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeat)))
        return 0

    scales = sorted(int(s) for s in args.scales.split(","))
    figures = {}
    for scale in scales:
        print(f"== {scale:,} cases", flush=True)
        run = subprocess.run(  # noqa: S603  # nosec B603: our own script, fixed arguments
            [sys.executable, __file__, "--child", str(scale), "--repeat", str(args.repeat)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        figures[scale] = json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"   {figures[scale]['cases']:,} cases (grown or checked in"
            f" {figures[scale]['grown_s']:.0f} s); the worker's caseload has"
            f" {figures[scale]['caseload_rows']} open cases",
            flush=True,
        )
    names = [k for k in figures[scales[0]] if k not in ("cases", "grown_s", "caseload_rows")]
    header = f"{'median ms':<30}" + "".join(f"{s:>11,}" for s in scales)
    header += "".join(f"{'× ' + format(s, ','):>13}" for s in scales[1:])
    print(header)
    worst = 1.0
    for name in names:
        row = f"{name:<30}" + "".join(f"{figures[s][name]:>11.1f}" for s in scales)
        for s in scales[1:]:
            ratio = figures[s][name] / figures[scales[0]][name]
            worst = max(worst, ratio) if "baseline" not in name else worst
            row += f"{ratio:>13.2f}"
        print(row)
    print(f"largest growth of a page from {scales[0]:,} cases: {worst:.2f}× (target ≤ 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
