"""Grow the database to a chosen number of cases, for the benchmarks and for EXPLAIN at scale.

    manage.py grow_database --cases 1000000 [--agencies 4] [--teams 25] [--workers 8]
                            [--audit-per-case 5] [--seed 1] [--chunk 50000]

The database is grown to --cases cases in all: one that has as many already is left alone,
one with fewer is topped up. The reference rows (agencies "Scale agency 1..k", their teams,
each with --workers social workers and a supervisor, an agency admin per agency, the call
natures, concerns, directory services and standard protocols the rows point to) are made
with the ORM, each looked up before it is made, so a rerun reuses them.

The bulk rows are made with set-based SQL, `INSERT ... SELECT ... FROM generate_series`,
one chunk of cases per transaction. A run's cases are spread over the last three years in
the order of their numbers (their place in the database's cases, from 1), and everything
that looks random is a hash of the number and --seed: the same arguments on the same
database make the same rows, ids aside. Per case: a client (a few clients come back for a
second case), 1-3 crisis contacts with their timeline events, about 0.5 referrals, 2
follow-ups (the post-crisis check, the post-ER and safety planning protocols, one-offs)
and their enrolments, 0.1 ER visits or admissions and --audit-per-case reads of the case
page by its worker. About one case in ten is open: the newest ones. Not made: consents,
disclosures, referral and follow-up events, attempts, notifications, Caring Contacts.

PostgreSQL only (generate_series, hashint8extended, temporary tables).
"""

import datetime
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from audit.partitions import ensure_partitions
from cases.models import Case
from casework.growth.chunks import chunk_statements, grow_chunk
from casework.growth.reference import (
    choice_params,
    name_params,
    reference_params,
    run_params,
    sequence_params,
    staff_params,
)
from casework.growth.sql_cases import GROW_U

# How far back the grown cases open (sql_cases.CASES: up to 1,095 days), with a margin.
HISTORY = datetime.timedelta(days=1_100)


class Command(BaseCommand):
    help = (
        "Grow the database to --cases cases with their clients, contacts, referrals, "
        "follow-ups, ER visits and audit rows (set-based SQL; PostgreSQL only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, required=True, help="Cases in all.")
        parser.add_argument("--agencies", type=int, default=4)
        parser.add_argument("--teams", type=int, default=25, help="Teams per agency.")
        parser.add_argument("--workers", type=int, default=8, help="Social workers per team.")
        parser.add_argument("--audit-per-case", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--chunk", type=int, default=50_000, help="Cases per transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"grow_database needs PostgreSQL (its rows are made with set-based SQL); "
                f"this database is {connection.vendor}."
            )
        check_options(options)
        target = options["cases"]
        have = Case.objects.count()
        if have >= target:
            self.stdout.write(f"The database has {have:,} cases, at least {target:,}: none added.")
            return
        started = time.perf_counter()
        params = {
            "now": timezone.now(),
            "audit_per_case": options["audit_per_case"],
            **staff_params(options),
            **reference_params(),
            **choice_params(),
            **name_params(),
            **sequence_params(),
        }
        # The audit reads go back three years: their months get partitions of their own
        # rather than filling the DEFAULT one.
        ensure_partitions(since=(params["now"] - HISTORY).date())
        with connection.cursor() as cursor:
            cursor.execute(GROW_U.format(seed=1000 * options["seed"]))
        self.stdout.write(f"Growing the database from {have:,} to {target:,} cases.")
        params.update(run_params(have, target, len(params["agency_ids"])))
        added = self.grow(params, have, target, options["chunk"])
        with connection.cursor() as cursor:
            for table in added:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        self.summary(added, target - have, time.perf_counter() - started)

    def grow(self, params: Mapping[str, Any], have: int, target: int, chunk: int) -> Counter[str]:
        statements = chunk_statements()
        added: Counter[str] = Counter()
        for lo in range(have + 1, target + 1, chunk):
            hi = min(lo + chunk - 1, target)
            started = time.perf_counter()
            rows = grow_chunk(statements, {**params, "lo": lo, "hi": hi})
            added.update(rows)
            seconds = time.perf_counter() - started
            total = sum(rows.values())
            self.stdout.write(
                f"  cases to {hi:,} of {target:,}: {total:,} rows in {seconds:.1f} s "
                f"({total / seconds:,.0f} rows/s)"
            )
        return added

    def summary(self, added: Counter[str], cases: int, seconds: float) -> None:
        total = sum(added.values())
        self.stdout.write(
            f"Added {cases:,} cases: {total:,} rows in {seconds:.1f} s "
            f"({total / seconds:,.0f} rows/s, analyzed)."
        )
        self.stdout.write(f"  {'table':<38}{'rows':>12}{'per case':>10}")
        for table, rows in added.items():
            self.stdout.write(f"  {table:<38}{rows:>12,}{rows / cases:>10.2f}")


def check_options(options: Mapping[str, Any]) -> None:
    for name in ("cases", "agencies", "teams", "workers", "chunk"):
        if options[name] < 1:
            raise CommandError(f"--{name} must be at least 1.")
    if not 0 <= options["audit_per_case"] <= 4000:
        raise CommandError("--audit-per-case must be between 0 and 4000.")
    if options["seed"] < 0:
        raise CommandError("--seed must be 0 or more.")
