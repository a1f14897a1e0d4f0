"""Follow-up engine and compliance speed against raw-SQL baselines, measured in the same run.

Usage: make bench   (or: .venv/bin/python bench/followups.py [--followups 200000] [--explain])

Builds its own PostgreSQL database (BENCH_FOLLOWUPS_DATABASE_URL, default: the database of
BENCH_DATABASE_URL with "_followups" appended), fills it with one agency (8 teams, 40
workers, a client and case per four follow-ups, post-ER protocol enrolments and some
one-offs) whose N follow-ups fall due over the last 12 months in every status with
attempts and completing contacts, N/10 ER visits (some admitted, some repeats within 31
days, ages from 4 to 80, some unknown) with the contacts around them, plus a second
agency with a tenth as many of everything, which must never be counted. Rows are made
with bulk_create, not through followups.services. About half the follow-ups whose window
opened in the last 30 days lag one status behind, as when the sweeper was down: the
sweeper's backlog. The same N reuses the data; a larger N tops it up; a smaller rebuilds.

Then times:
- the sweeper's claim (engine.sweep, Celery's .delay patched out) of 500 due rows against
  UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 500) RETURNING id; the
  claims are undone after each run; --explain prints its plan, which must use
  followup_sweep_idx;
- metrics.compliance.compliance over 30 and 365 days, agency-wide and for one team,
  against SQL counting the same buckets per agency, team and worker (GROUPING SETS);
- metrics.hedis.hedis_rates(measure="fum") over 12 months against SQL applying the same
  rules, the 31-day rule with a recursive CTE;
- the Today list query for the busiest worker (followups.today.today_rows, which the page
  runs) against raw SQL, and the whole Today page.
Exits non-zero when a number (or claimed or listed id) differs from SQL's.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import zoneinfo
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _database_url():
    if os.environ.get("BENCH_FOLLOWUPS_DATABASE_URL"):
        return os.environ["BENCH_FOLLOWUPS_DATABASE_URL"]
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=base.path.rstrip("/") + "_followups"))


os.environ["DJANGO_SETTINGS_MODULE"] = "casebook.settings.test"
os.environ["DATABASE_URL"] = _database_url()

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.cssrs import RISK_ORDER  # noqa: E402

AGENCY, OTHER_AGENCY = "bench-followups", "bench-followups-other"
TZ = "America/Los_Angeles"
CASES_PER_BATCH = 1000
DAY = datetime.timedelta(days=1)
OPEN = "('scheduled', 'due', 'overdue')"

RAW_CLAIM = """
UPDATE followups_followup SET dispatch_count = dispatch_count + 1,
       lease_token = gen_random_uuid(), lease_until = %(now)s + interval '5 minutes'
WHERE id IN (SELECT id FROM followups_followup
             WHERE next_check_at <= %(now)s AND parked_at IS NULL
               AND (lease_until IS NULL OR lease_until < %(now)s)
             ORDER BY next_check_at, id LIMIT 500 FOR UPDATE SKIP LOCKED)
RETURNING id
"""
UNCLAIM = """UPDATE followups_followup SET lease_until = NULL, lease_token = NULL,
             dispatch_count = 0 WHERE lease_token IS NOT NULL"""

BUCKETS = ("done_within_window", "completed_late", "overdue", "missed", "not_yet_due")
RAW_COMPLIANCE = f"""
WITH f AS (
  SELECT c.team_id, f.assigned_to_id, f.enrolment_id, f.completed_at, f.window_start, CASE
      WHEN f.status = 'cancelled' THEN 'cancelled'
      WHEN f.status = 'completed' AND f.completed_at <= f.window_end THEN 'done_within_window'
      WHEN f.status = 'completed' THEN 'completed_late'
      WHEN f.status = 'missed' OR (f.status IN {OPEN} AND %(now)s >= f.window_end) THEN 'missed'
      WHEN %(now)s >= f.due_at THEN 'overdue'
      ELSE 'not_yet_due' END AS bucket
  FROM followups_followup f JOIN cases_case c ON c.id = f.case_id
  WHERE f.agency_id = %(agency)s AND f.due_at >= %(since)s AND f.due_at < %(until)s {{team}}
)
SELECT GROUPING(team_id, assigned_to_id), team_id, assigned_to_id,
  count(*) FILTER (WHERE bucket <> 'cancelled'),
  {", ".join(f"count(*) FILTER (WHERE bucket = '{b}')" for b in BUCKETS)},
  count(*) FILTER (WHERE bucket = 'cancelled'),
  count(*) FILTER (WHERE enrolment_id IS NOT NULL
                   AND bucket IN ('done_within_window', 'completed_late', 'missed')),
  count(*) FILTER (WHERE enrolment_id IS NOT NULL AND bucket = 'done_within_window'
                   AND completed_at >= window_start)
FROM f GROUP BY GROUPING SETS ((), (team_id), (assigned_to_id))
"""
COUNTS = ("due", *BUCKETS, "cancelled", "steps_due", "steps_done_within_window")

# HEDIS FUM as metrics/hedis.py states its rules 1-6, in one statement. A follow-up is a
# phone call or a visit (a completed follow-up done by hand, or a reached attempt), or a
# crisis contact that met the client and did not end in the ER or hospital.
NOT_FOLLOW_UP = "'er', 'hospitalised', 'unable_to_locate', 'declined'"
LOCAL_DATE = "(({}) AT TIME ZONE %(tz)s)::date"
RAW_FUM = f"""
WITH RECURSIVE cand AS (
  SELECT v.id, v.client_id, v.arrived_at, v.admitted, v.source_contact_id,
         {LOCAL_DATE.format("v.arrived_at")} AS ed_date, v.arrived_at >= %(since)s AS in_period,
         cl.date_of_birth AS dob, cl.estimated_age AS est, cl.estimated_age_on AS est_on
  FROM followups_hospitalvisit v JOIN cases_client cl ON cl.id = v.client_id
  WHERE v.agency_id = %(agency)s AND v.kind = 'ed' AND v.reason IN ('mental_health', 'self_harm')
    AND v.arrived_at >= %(lookback)s AND v.arrived_at < %(until)s
), flagged AS (
  SELECT cand.*, coalesce(CASE
      WHEN dob IS NOT NULL THEN extract(year FROM age(ed_date, dob))::int
      WHEN est IS NOT NULL THEN est + floor((ed_date - coalesce(est_on, ed_date)) / 365.0)::int
      END >= 6, true) AS old_enough,
    admitted OR EXISTS (
      SELECT 1 FROM followups_hospitalvisit i
      WHERE i.agency_id = %(agency)s AND i.client_id = cand.client_id
        AND (i.kind = 'inpatient' OR i.admitted)
        AND {LOCAL_DATE.format("i.arrived_at")} - ed_date BETWEEN 0 AND 30) AS admitted_any
  FROM cand
), eligible AS (
  SELECT *, row_number() OVER (PARTITION BY client_id ORDER BY arrived_at, id) AS n
  FROM flagged WHERE old_enough AND NOT admitted_any
), chain AS (
  SELECT id, client_id, n, true AS counted, ed_date AS last FROM eligible WHERE n = 1
  UNION ALL
  SELECT e.id, e.client_id, e.n, e.ed_date - c.last > 30,
         CASE WHEN e.ed_date - c.last > 30 THEN e.ed_date ELSE c.last END
  FROM chain c JOIN eligible e ON e.client_id = c.client_id AND e.n = c.n + 1
), scored AS (
  SELECT e.id, e.ed_date, (
    SELECT min({LOCAL_DATE.format("t.at")}) FROM (
      SELECT f.completed_at AS at, NULL::bigint AS contact_id
      FROM followups_followup f JOIN cases_case c ON c.id = f.case_id
      WHERE f.agency_id = %(agency)s AND c.client_id = e.client_id AND f.status = 'completed'
        AND f.method IN ('phone', 'visit') AND f.completed_contact_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM followups_attempt r
                        WHERE r.followup_id = f.id AND r.outcome = 'reached')
      UNION ALL
      SELECT a.at, NULL FROM followups_attempt a
      JOIN followups_followup f ON f.id = a.followup_id JOIN cases_case c ON c.id = f.case_id
      WHERE f.agency_id = %(agency)s AND c.client_id = e.client_id AND a.outcome = 'reached'
        AND a.method IN ('phone', 'visit')
      UNION ALL
      SELECT k.received_at, k.id FROM cases_contact k
      WHERE k.agency_id = %(agency)s AND k.client_id = e.client_id
        AND k.disposition NOT IN ({NOT_FOLLOW_UP})) t
    WHERE t.at >= e.arrived_at AND coalesce(t.contact_id <> e.source_contact_id, true)
  ) AS first_day
  FROM eligible e JOIN chain ch ON ch.id = e.id WHERE ch.counted AND e.in_period
)
SELECT count(*), coalesce(sum(id), 0)::bigint,
  count(*) FILTER (WHERE first_day <= ed_date + 7),
  count(*) FILTER (WHERE NOT coalesce(first_day <= ed_date + 7, false) AND %(today)s <= ed_date + 7),
  count(*) FILTER (WHERE first_day <= ed_date + 30),
  count(*) FILTER (WHERE NOT coalesce(first_day <= ed_date + 30, false) AND %(today)s <= ed_date + 30),
  (SELECT count(*) FROM flagged WHERE in_period AND NOT old_enough),
  (SELECT count(*) FROM flagged WHERE in_period AND old_enough AND admitted_any),
  (SELECT count(*) FROM eligible e JOIN chain c ON c.id = e.id WHERE e.in_period AND NOT c.counted)
FROM scored
"""

RISK_RANK = " ".join(f"WHEN '{level}' THEN {rank}" for level, rank in RISK_ORDER.items())
RAW_TODAY = f"""
SELECT f.id, f.title, f.status, f.window_start, f.due_at, f.window_end, f.method, f.reason,
       cl.legal_name, cl.preferred_name, c.risk_level, u.first_name, u.last_name, p.name, s.name,
       CASE c.risk_level {RISK_RANK} ELSE 0 END AS rank,
       (SELECT count(*) FROM followups_attempt a WHERE a.followup_id = f.id),
       (SELECT a.outcome FROM followups_attempt a WHERE a.followup_id = f.id
        ORDER BY a.at DESC, a.id DESC LIMIT 1),
       c.assigned_worker_id = %(user)s OR c.team_id = %(team)s OR c.id IN (
           SELECT case_id FROM cases_emergencyaccess WHERE user_id = %(user)s AND expires_at > now())
FROM followups_followup f
JOIN cases_case c ON c.id = f.case_id JOIN cases_client cl ON cl.id = c.client_id
JOIN accounts_user u ON u.id = c.assigned_worker_id
LEFT JOIN followups_enrolment e ON e.id = f.enrolment_id
LEFT JOIN followups_protocolversion pv ON pv.id = e.version_id
LEFT JOIN followups_protocol p ON p.id = pv.protocol_id
LEFT JOIN followups_protocolstep s ON s.id = f.step_id
WHERE f.assigned_to_id = %(user)s AND c.agency_id = %(agency)s
  AND (c.assigned_worker_id = %(user)s OR c.team_id = %(team)s OR c.id IN (
       SELECT case_id FROM cases_emergencyaccess WHERE user_id = %(user)s AND expires_at > now()))
  AND ((f.status IN {OPEN} AND f.window_start <= %(soon)s)
       OR (f.status = 'missed' AND f.window_end >= %(recent)s))
ORDER BY rank DESC, f.window_end, f.id
"""


# --- database and data -------------------------------------------------------------------


def ensure_database(fresh=False):
    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"]}
    connection.close()
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        exists = "SELECT 1 FROM pg_database WHERE datname = %s"
        if not conn.execute(exists, [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def make_agency(slug, teams):
    from accounts.models import Agency, Role, Team, User
    from followups.protocols import install_standard_protocols

    agency, _ = Agency.objects.get_or_create(slug=slug, defaults={"name": slug, "timezone": TZ})
    install_standard_protocols(agency.pk)
    workers = []
    for t in range(teams):
        team, _ = Team.objects.get_or_create(agency=agency, name=f"Crisis team {t + 1}")
        for w in range(5):
            workers.append(
                User.objects.get_or_create(
                    username=f"{slug}-worker{t * 5 + w}",
                    defaults={"agency": agency, "team": team, "role": Role.SOCIAL_WORKER},
                )[0]
            )
    return agency, workers


def settle(rng, fu, now):
    """Status, completion and next check of a follow-up as the services and the engine
    would leave them at `now`, or one status behind (the sweeper's backlog)."""
    _complete_or_cancel(rng, fu, now)
    if fu.completed_at:
        fu.status, fu.completed_by_id = "completed", fu.assigned_to_id
    if fu.status in ("completed", "cancelled"):
        return
    fu.status = "scheduled"
    fu.status = fu.status_at(now)
    fu.next_check_at = fu.next_boundary(now)
    _lag_behind(rng, fu, now)


def _complete_or_cancel(rng, fu, now):
    """Complete or cancel a share of follow-ups, by where `now` falls against the window."""
    roll = rng.random()
    if fu.window_end <= now:
        if roll < 0.74:  # done within window, a few before it opened
            fu.completed_at = fu.window_start + (fu.window_end - fu.window_start) * rng.random()
            if roll < 0.04:
                fu.completed_at = fu.window_start - DAY * rng.uniform(0.1, 2)
        elif roll < 0.79 and fu.window_end + DAY * 10 < now:
            fu.completed_at = fu.window_end + DAY * rng.uniform(0.1, 10)
        elif roll > 0.92:
            fu.status, fu.cancel_reason = "cancelled", "Case closed"
    elif fu.window_start <= now:
        if roll < 0.4:
            fu.completed_at = fu.window_start + (now - fu.window_start) * rng.random()
        elif roll > 0.97:
            fu.status, fu.cancel_reason = "cancelled", "Client moved away"
    elif roll < 0.03:
        fu.completed_at = now - DAY * rng.uniform(0, 2)


def _lag_behind(rng, fu, now):
    """Put about half the open follow-ups whose last boundary passed in the last 30 days
    one status behind, as when the sweeper was down."""
    passed = [at for at in (fu.window_start, fu.due_at, fu.window_end) if at <= now]
    if passed and passed[-1] > now - DAY * 30 and rng.random() < 0.5:
        fu.status = "scheduled"
        fu.status = fu.status_at(passed[-1] - datetime.timedelta(microseconds=1))
        fu.next_check_at = passed[-1]


# One row's fields on a few lines.
# fmt: off
def fill(agency, workers, target, seed):
    """Top the agency up to `target` follow-ups, CASES_PER_BATCH cases (4 each) at a time,
    with the cases' clients, enrolments, attempts, contacts and ER visits."""
    from cases.models import CallNature, Contact
    from followups.models import Enrolment, FollowUp, Protocol

    made = FollowUp.objects.filter(agency=agency).count()
    now, tz = timezone.now(), zoneinfo.ZoneInfo(TZ)
    version = Protocol.objects.get(agency=agency, key="post-ed-discharge").current_version()
    steps = list(version.steps.order_by("position"))
    nature = CallNature.objects.first()
    weights = [1 / (i + 1) ** 0.3 for i in range(len(workers))]  # some carry more
    started = time.perf_counter()
    while made < target:
        # One seeded generator per batch, drawn from by the steps below in turn: moving a
        # draw changes the data.
        rng = random.Random(f"{seed}-{made}")
        n = min(CASES_PER_BATCH, (target - made + 3) // 4)
        clients = _create_clients(rng, agency, made, n, now)
        anchors = [now - DAY * rng.uniform(0, 400) for _ in clients]
        cases = _create_cases(rng, agency, workers, weights, clients, anchors, now)
        enrolments = Enrolment.objects.bulk_create(
            Enrolment(agency=agency, case=case, version=version, trigger="ed_visit",
                      reason="ER visit", anchor_at=anchor)
            for case, anchor in zip(cases, anchors, strict=True)
        )
        followups = _build_followups(rng, agency, steps, cases, enrolments, anchors, now, tz)
        contacts, completing, visits = _build_contacts_and_visits(
            rng, agency, nature, followups, cases, n, now
        )
        contacts = Contact.objects.bulk_create(contacts)
        for fu, k in completing:
            fu.completed_contact = contacts[k]
        _create_attempts(rng, FollowUp.objects.bulk_create(followups), now)
        _create_er_visits(rng, agency, visits, contacts)
        made += len(followups)
        if made % 50000 < CASES_PER_BATCH * 4:
            rate = made / (time.perf_counter() - started)
            print(f"  {agency.slug}: {made:,} follow-ups ({rate:,.0f}/s)", flush=True)


def _create_clients(rng, agency, made, n, now):
    from cases.models import Client

    return Client.objects.bulk_create(
        Client(
            agency=agency, legal_name=f"Client {made + i}", name_key=f"client {made + i}",
            date_of_birth=(now - DAY * rng.uniform(4 * 365, 80 * 365)).date()
            if rng.random() < 0.85 else None,
            estimated_age=rng.randrange(5, 70) if rng.random() < 0.6 else None,
            estimated_age_on=(now - DAY * rng.uniform(0, 400)).date(),
        )
        for i in range(n)
    )


def _create_cases(rng, agency, workers, weights, clients, anchors, now):
    from cases.models import Case

    cases = []
    for client, anchor in zip(clients, anchors, strict=True):
        worker = rng.choices(workers, weights)[0]
        closed = anchor < now - DAY * 120 and rng.random() < 0.7
        cases.append(Case(
            agency=agency, client=client, assigned_worker=worker, team_id=worker.team_id,
            opened_by=worker, opened_at=anchor - DAY, risk_level=rng.choice(list(RISK_ORDER)),
            last_contact_at=anchor, status="closed" if closed else "open",
            closed_at=now if closed else None,
        ))
    return Case.objects.bulk_create(cases)


def _build_followups(rng, agency, steps, cases, enrolments, anchors, now, tz):
    """Each case's follow-ups, one per protocol step (one in ten cases as one-offs instead
    of an enrolment's), settled at `now`; not saved yet."""
    from followups.models import FollowUp
    from followups.schedule import step_window

    followups = []
    for case, enrolment, anchor in zip(cases, enrolments, anchors, strict=True):
        one_off = rng.random() < 0.1
        for k, step in enumerate(steps):
            if one_off:
                start = anchor + DAY * (20 * k + rng.uniform(0, 5))
                w = (start, start + DAY, start + DAY * 3)
            else:
                s = step_window(anchor_at=anchor, unit=step.unit, start=step.start,
                                due=step.due, end=step.end, tz=tz)
                w = (s.start, s.due, s.end)
            fu = FollowUp(
                agency=agency, case=case, enrolment=None if one_off else enrolment,
                step=None if one_off else step, title=step.name, reason="Post-ER contacts",
                assigned_to_id=case.assigned_worker_id, window_start=w[0], due_at=w[1],
                window_end=w[2], created_at=anchor,
            )
            settle(rng, fu, now)
            followups.append(fu)
    return followups


def _build_contacts_and_visits(rng, agency, nature, followups, cases, n, now):
    """(contacts, completing, visits), not saved yet: a contact completes two in five of
    the completed follow-ups (completing: (follow-up, index in contacts)); an ER visit
    (case, arrived, index of its source contact or None) may come from a contact and be
    followed by one."""
    from cases.models import Contact

    contacts, completing, visits = [], [], []

    def contact(case, at, disposition):
        contacts.append(Contact(agency=agency, case=case, client_id=case.client_id,
                                recorded_by_id=case.assigned_worker_id, source="phone",
                                received_at=at, call_nature=nature, disposition=disposition))
        return len(contacts) - 1

    for fu in followups:
        if fu.completed_at and rng.random() < 0.4:
            completing.append((fu, contact(fu.case, fu.completed_at, "resolved")))
    for _ in range(round(n * 0.32)):  # with a quarter repeated: N/10 visits in all
        case, arrived = rng.choice(cases), now - DAY * rng.uniform(0, 400)
        for repeat in range(1 + (rng.random() < 0.25)):
            arrived = min(now, arrived + DAY * rng.uniform(0, 45) * repeat)
            source = contact(case, arrived - DAY / 24, "er") if rng.random() < 0.5 else None
            if rng.random() < 0.6 and arrived + DAY * 12 < now:
                contact(case, arrived + DAY * rng.uniform(0, 12), "resolved")
            visits.append((case, arrived, source))
    return contacts, completing, visits


def _create_attempts(rng, followups, now):
    """Unanswered calls on the follow-ups whose window opened, and the reached call that
    completed most of those done with no contact."""
    from followups.models import Attempt

    attempts = []
    for fu in followups:
        if fu.status == "scheduled":
            continue
        for _ in range(rng.choice((0, 0, 1, 2))):
            attempts.append(Attempt(followup=fu, method="phone", by_id=fu.assigned_to_id,
                                    at=min(now, fu.window_start + DAY * rng.uniform(0, 2)),
                                    outcome=rng.choice(("no_answer", "left_message"))))
        if fu.completed_at and fu.completed_contact_id is None and rng.random() < 0.6:
            attempts.append(Attempt(followup=fu, at=fu.completed_at, method="phone",
                                    outcome="reached", by_id=fu.assigned_to_id))
    Attempt.objects.bulk_create(attempts)


def _create_er_visits(rng, agency, visits, contacts):
    from followups.models import HospitalVisit

    reasons = ("mental_health", "self_harm", "substance_use", "overdose", "other")
    HospitalVisit.objects.bulk_create(
        HospitalVisit(
            agency=agency, case=case, client_id=case.client_id, arrived_at=arrived,
            kind="inpatient" if rng.random() < 0.05 else "ed",
            reason=rng.choices(reasons, (45, 15, 20, 10, 10))[0],
            discharged_at=arrived + DAY * rng.uniform(0.1, 0.5), admitted=rng.random() < 0.1,
            source_contact=None if source is None else contacts[source],
            recorded_by_id=case.assigned_worker_id,
        )
        for case, arrived, source in visits
    )
# fmt: on


def populate(total):
    from followups.models import FollowUp

    agency, workers = make_agency(AGENCY, 8)
    other, other_workers = make_agency(OTHER_AGENCY, 2)
    if (
        FollowUp.objects.filter(agency=agency).count() >= total
        and FollowUp.objects.filter(agency=other).count() >= total // 10
    ):
        return
    start = time.perf_counter()
    fill(agency, workers, total, "a")
    fill(other, other_workers, total // 10, "b")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Filled in {time.perf_counter() - start:.0f} s", flush=True)


# --- what is measured ----------------------------------------------------------------------


def timed(fn, repeat, reset=None):
    """(median seconds, last result) of `repeat` runs after a warm-up; `reset` runs
    after each, untimed."""
    samples, result = [], None
    for i in range(repeat + 1):
        start = time.perf_counter()
        result = fn()
        if i:
            samples.append(time.perf_counter() - start)
        if reset:
            reset()
    return statistics.median(samples), result


def sql(query, params, one=False):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        if cursor.description is None:
            return None
        return cursor.fetchone() if one else cursor.fetchall()


def line(name, seconds, base, note=""):
    print(f"{name:<44}{seconds * 1000:>9.1f}{seconds / base:>7.1f}  {note}".rstrip())


def header(title):
    print(f"\n{title}\n{'what':<44}{'ms':>9}{'× raw':>7}")


def bench_claim(now, repeat, explain, failures):
    from followups import engine, tasks

    def reset():
        sql(UNCLAIM, {})

    with mock.patch.object(tasks.process_followups, "delay") as delay:

        def orm():
            delay.reset_mock()
            engine.sweep(now=now, limit=500)
            return sorted(pk for call in delay.call_args_list for pk, _ in call.args[0])

        def raw():
            with transaction.atomic():
                return sorted(row[0] for row in sql(RAW_CLAIM, {"now": now}))

        with CaptureQueriesContext(connection) as queries:
            orm()
        reset()
        orm_s, orm_ids = timed(orm, repeat, reset)
    raw_s, raw_ids = timed(raw, repeat, reset)
    if orm_ids != raw_ids:
        failures.append(f"claim: sweep claimed {len(orm_ids)} rows, SQL {len(raw_ids)} others")
    header(
        f"The sweeper's claim of {len(raw_ids)} due rows (median of {repeat}; undone after each)"
    )
    line("UPDATE ... FOR UPDATE SKIP LOCKED (baseline)", raw_s, raw_s)
    line("engine.sweep (claim, lease, send on commit)", orm_s, raw_s, f"{len(queries)} queries")
    claim = next(q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"])
    with transaction.atomic():
        plan = [r[0] for r in sql("EXPLAIN (ANALYZE, COSTS OFF) " + claim, {})]
        transaction.set_rollback(True)
    if "followup_sweep_idx" not in "\n".join(plan):
        failures.append("claim: the plan does not use followup_sweep_idx")
    if explain:
        print("  plan of the claim query (EXPLAIN ANALYZE):")
        print("\n".join(f"    {line}" for line in plan))


def compliance_numbers(report):
    def counts(c):
        return tuple(getattr(c, name) for name in COUNTS)

    return (
        counts(report.totals),
        {row.key: counts(row.counts) for row in report.teams},
        {row.key: counts(row.counts) for row in report.workers},
    )


def raw_compliance(agency, since, until, team, now):
    team_sql = "AND c.team_id = %(team)s" if team else ""
    params = {"agency": agency.pk, "since": since, "until": until, "team": team, "now": now}
    totals, teams, workers = (), {}, {}
    for grouping, team_id, worker_id, *counts in sql(RAW_COMPLIANCE.format(team=team_sql), params):
        if grouping == 3:
            totals = tuple(counts)
        elif grouping == 1:
            teams[team_id] = tuple(counts)
        else:
            workers[worker_id] = tuple(counts)
    return totals or (0,) * len(COUNTS), teams, workers


def bench_compliance(agency, team, today, now, repeat, failures):
    from metrics.compliance import agency_zone, compliance, period_bounds

    print(f"\nCompliance (median of {repeat}; SQL counts per agency, team and worker)")
    print(f"{'period, scope':<28}{'due':>8}{'ms':>9}{'raw SQL ms':>12}{'× raw':>7}")
    for days in (30, 365):
        start = today - DAY * (days - 1)
        since, until = period_bounds(start, today, agency_zone(agency.pk))
        for scope, teams in (("agency", None), (f"team {team.name}", [team.pk])):

            def orm(t=teams, s=start):
                return compliance(agency_id=agency.pk, start=s, end=today, teams=t, now=now)

            orm_s, report = timed(orm, repeat)
            raw_s, raw = timed(
                lambda t=teams, s=since, u=until: raw_compliance(agency, s, u, t and t[0], now),
                repeat,
            )
            got = compliance_numbers(report)
            name = f"{days} days, {scope}"
            for what, a, b in zip(("totals", "by team", "by worker"), got, raw, strict=True):
                if a != b:
                    failures.append(f"compliance {name} {what}: report {a}, SQL {b}")
            ok = "numbers agree" if got == raw else "NUMBERS DIFFER"
            print(f"{name:<28}{got[0][0]:>8,}{orm_s * 1000:>9.1f}{raw_s * 1000:>12.1f}"
                  f"{orm_s / raw_s:>7.1f}  {ok}")  # fmt: skip
            t = report.totals
            print(f"{'':<28}done in window {t.done_within_window:,}, late {t.completed_late:,},"
                  f" overdue {t.overdue:,}, missed {t.missed:,}, cancelled {t.cancelled:,},"
                  f" fidelity {t.fidelity:.3f}")  # fmt: skip


def bench_fum(agency, today, repeat, failures):
    from metrics.compliance import agency_zone, period_bounds
    from metrics.hedis import hedis_rates

    start = today - DAY * 364
    since, until = period_bounds(start, today, agency_zone(agency.pk))
    params = {"agency": agency.pk, "tz": agency.timezone, "since": since, "until": until,
              # The 31-day rule starts inside the period: a visit just before it does not
              # remove one inside it (DOMAIN.md, HEDIS FUM and FUA).
              "lookback": since, "today": today}  # fmt: skip

    def orm():
        return hedis_rates(agency_id=agency.pk, measure="fum", start=start, end=today, today=today)

    orm_s, r = timed(orm, repeat)
    raw_s, raw = timed(lambda: sql(RAW_FUM, params, one=True), repeat)
    windows = (r.seven_day.numerator, r.seven_day.pending, r.thirty_day.numerator)
    excluded = (r.excluded_age_visit_ids, r.excluded_admitted_visit_ids)
    excluded += (r.excluded_repeat_visit_ids,)
    got = (r.denominator, sum(r.denominator_visit_ids), *windows, r.thirty_day.pending)
    got += tuple(len(ids) for ids in excluded)
    if got != tuple(raw):
        failures.append(f"FUM: hedis_rates {got}, SQL {tuple(raw)}")
    header(f"HEDIS FUM over 12 months (median of {repeat}; the 31-day rule: a recursive CTE)")
    line("raw SQL (baseline)", raw_s, raw_s)
    ok = "numbers agree" if got == tuple(raw) else "NUMBERS DIFFER"
    line("hedis_rates(measure='fum')", orm_s, raw_s, ok)
    print(f"  denominator {r.denominator:,}; 7-day {r.seven_day.numerator:,} "
          f"(pending {r.seven_day.pending}, rate {r.seven_day.rate:.3f}); 30-day "
          f"{r.thirty_day.numerator:,} (pending {r.thirty_day.pending}, rate "
          f"{r.thirty_day.rate:.3f}); left out: age {got[6]:,}, admitted {got[7]:,}, "
          f"repeat within 31 days {got[8]:,}")  # fmt: skip


def bench_today(agency, now, repeat, failures):
    from accounts.models import User
    from followups.models import OPEN_STATUSES, FollowUp
    from followups.today import COMING_UP, MISSED_RECENTLY, today_rows

    worker = User.objects.get(
        pk=FollowUp.objects.filter(
            agency=agency, status__in=OPEN_STATUSES, window_start__lte=now + COMING_UP
        )  # fmt: skip
        .values("assigned_to")
        .annotate(n=django.db.models.Count("pk"))
        .order_by("-n")
        .values("assigned_to")[:1]
    )

    def orm():  # the query followups.views.today runs
        return list(today_rows(worker, now))

    params = {"user": worker.pk, "team": worker.team_id, "agency": agency.pk,
              "soon": now + COMING_UP, "recent": now - MISSED_RECENTLY}  # fmt: skip
    orm_s, rows = timed(orm, repeat)
    raw_s, raw = timed(lambda: sql(RAW_TODAY, params), repeat)
    if [fu.pk for fu in rows] != [row[0] for row in raw]:
        failures.append(f"Today list: query {len(rows)} rows, SQL {len(raw)}, or another order")
    settings.ALLOWED_HOSTS = ["testserver"]
    http = HttpClient()
    http.force_login(worker)
    page_s, response = timed(lambda: http.get("/followups/today/"), repeat)
    if response.status_code != 200:
        failures.append(f"Today page: status {response.status_code}")
    header(f"Today list of the busiest worker, {len(raw)} rows (median of {repeat})")
    line("raw SQL (baseline)", raw_s, raw_s)
    line("Today query (followups.today.today_rows)", orm_s, raw_s)
    line("Today page (full request)", page_s, raw_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=200000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print the claim's plan")
    args = parser.parse_args()

    began = time.perf_counter()
    ensure_database()
    from accounts.models import Agency
    from followups.models import FollowUp, HospitalVisit

    agency = Agency.objects.filter(slug=AGENCY).first()
    if agency and FollowUp.objects.filter(agency=agency).count() > args.followups:
        print(f"The bench database holds more than {args.followups} follow-ups: rebuilding it")
        ensure_database(fresh=True)
    populate(args.followups)
    agency = Agency.objects.get(slug=AGENCY)
    mine = FollowUp.objects.filter(agency=agency)
    now = timezone.now()
    today = now.astimezone(zoneinfo.ZoneInfo(agency.timezone)).date()
    print(
        f"{mine.count():,} follow-ups in the agency (+{FollowUp.objects.exclude(agency=agency).count():,}"
        f" in another), {HospitalVisit.objects.filter(agency=agency).count():,} ER visits, "
        f"{mine.needing_sweep(now).count():,} due for the sweeper; PostgreSQL "
        f"{connection.cursor().connection.info.server_version // 10000}"
    )
    failures = []
    bench_claim(now, args.repeat, args.explain, failures)
    team = agency.teams.order_by("name").first()
    bench_compliance(agency, team, today, now, args.repeat, failures)
    bench_fum(agency, today, args.repeat, failures)
    bench_today(agency, now, args.repeat * 3, failures)
    print(f"\nWhole run: {time.perf_counter() - began:.0f} s")
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
