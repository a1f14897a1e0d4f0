"""Every worker page and list endpoint is index-driven: on a database grown with
grow_database and analysed, so the planner sees realistic row counts, none of their
queries reads a large table from end to end (a sequential scan), nor reads more than a
tenth of one through an index (an agency-wide walk filtered down to the user's rows).

The figures (how flat each page stays from 10k to 1M cases) are bench/scale.py's; this
guard fails in `make test` on the plan shape that made them grow.
"""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, User
from cases.models import Case, Client

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CASES = 30_000
# A table past this many rows is one whose sequential scan a page cannot afford at 1M
# cases; the small ones (teams, users, call natures) are read whole by design.
LARGE = 5_000
# Teams as a statewide installation has them: each holds under 2% of the cases, so an
# index path is the planner's choice here as it is at 1M.
AGENCIES, TEAMS, WORKERS = 2, 30, 3
READ_AT_MOST = 0.10
DECLARED = re.compile(r"\s*DECLARE .*? CURSOR .*?FOR (SELECT .*)", re.DOTALL | re.IGNORECASE)

WORKER_PAGES = [
    "/cases/",
    "/followups/today/",
    "/referrals/",
    "/referrals/?status=stale",
    "/inbox/",
    "/api/v1/cases/",
    "/api/v1/cases/?status=open",
    "/api/v1/clients/",
    "/api/v1/contacts/",
    "/api/v1/referrals/",
    "/api/v1/followups/",
    "/api/v1/followups/today/",
    "/api/v1/hospital-visits/",
    "/api/v1/consents/",
    "/api/v1/attachments/",
]
SUPERVISOR_PAGES = [*WORKER_PAGES, "/supervision/", "/supervision/cases/"]


def large_tables() -> dict[str, float]:
    """The large tables and their rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' AND reltuples > %s",
            [LARGE],
        )
        return dict(cursor.fetchall())


def rows_read(node: dict) -> float:
    kept = node.get("Actual Rows", 0)
    dropped = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return (kept + dropped) * node.get("Actual Loops", 1)


def wide_scans(sql: str, large: dict[str, float]) -> list[str]:
    """The large tables the query reads whole, or a tenth of, as it runs.

    At 30k cases reading a table whole still costs the planner less than a few hundred
    index probes; at 1M it does not. So the planner is told what a million rows would
    tell it: sequential scans, and the hash and merge joins that feed on whole tables,
    are a last resort. What is left reading a large table wide has no index path."""
    with transaction.atomic(), connection.cursor() as cursor:
        for knob in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
            cursor.execute(f"SET LOCAL {knob} = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    found, nodes = [], [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        table = node.get("Relation Name")
        if table in large and (
            node["Node Type"] == "Seq Scan" or rows_read(node) > READ_AT_MOST * large[table]
        ):
            found.append(table)
        nodes.extend(node.get("Plans", []))
    return found


def select_of(sql: str) -> str | None:
    """The SELECT a statement runs: itself, or the one a cursor is declared for (forms'
    choices are read through one); None for writes."""
    match = DECLARED.match(sql)
    if match:
        sql = match.group(1)
    return sql if sql.lstrip().upper().startswith("SELECT") else None


def scans_of(client, url: str, large: dict[str, float]) -> list[tuple[str, str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    selects = [select_of(query["sql"]) for query in captured.captured_queries]
    return [(table, sql) for sql in selects if sql for table in wide_scans(sql, large)]


@pytest.fixture
def grown():
    call_command(
        "grow_database",
        cases=CASES,
        agencies=AGENCIES,
        teams=TEAMS,
        workers=WORKERS,
        stdout=StringIO(),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    large = large_tables()
    assert {Case._meta.db_table, Client._meta.db_table} <= set(large)
    return large


def person(role: Role) -> User:
    """A user of that role with open cases in their scope."""
    teams = "supervised_teams" if role == Role.SUPERVISOR else "team"
    return User.objects.filter(role=role, **{f"{teams}__cases__status": "open"}).order_by("pk")[0]


@pytest.mark.parametrize(
    ("role", "pages"),
    [(Role.SOCIAL_WORKER, WORKER_PAGES), (Role.SUPERVISOR, SUPERVISOR_PAGES)],
)
def test_no_worker_page_scans_a_large_table(grown, client, role, pages):
    user = person(role)
    client.force_login(user)
    case = Case.objects.visible_to(user).open().order_by("pk").first()
    surname = case.client.legal_name.split()[-1]
    urls = [
        *pages,
        reverse("casework:case_detail", args=[case.pk]),
        f"/cases/clients/?q={surname}",
        reverse("cases:client_detail", args=[case.client_id]),
    ]
    scans = {url: scans_of(client, url, grown) for url in urls}
    scanned = {url: sorted({table for table, _ in found}) for url, found in scans.items() if found}
    queries = "\n\n".join(sql for found in scans.values() for _, sql in found)
    assert scanned == {}, queries
