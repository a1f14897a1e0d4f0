"""Dispatch speed against raw-SQL baselines, measured in the same run: the board's queries
and the response measures (metrics/response.py).

Usage: .venv/bin/python bench/dispatch.py [--per-day 500] [--days 365] [--repeat 7]

Builds its own PostgreSQL database (BENCH_DISPATCH_DATABASE_URL, default: the database of
BENCH_DATABASE_URL with "_dispatch" appended, casebook_bench_dispatch) with one agency
(America/Los_Angeles) of 50 units on shift (5 teams, two members each with their
credentials; statuses and last positions as on a busy evening, 4 open alerts among 2,000
resolved ones) and a year of requests at --per-day a day (182,500 by default), generated
set-based in SQL like manage.py grow_database: received more in the afternoon and evening
than at night, emergent or urgent, from every source (988 hand-offs with their details,
CAD incidents with their numbers), 82% served with realistic stamps (dispatched, en
route, on scene, left scene, a fifth transported, back in service) and the crew's
assignment, the rest not served with a reason and a wait; plus a handful waiting now, and
a second agency with a tenth as many requests that must never be counted. The same
numbers reuse the data; other numbers rebuild it.

Then times, medians of --repeat runs:
- the board's queries (TeamRequest.objects.waiting().for_list(), the agency's units with
  their status and last position, Alert.objects.open()) against raw SQL fetching the
  same rows;
- metrics.response.response_measures over 3 months and 12 months against hand-written
  SQL of the same percentiles (percentile_cont), hour × weekday cells and crews; exits
  non-zero when a number differs.
"""

import argparse
import json
import os
import statistics
import sys
import time
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _database_url():
    if os.environ.get("BENCH_DISPATCH_DATABASE_URL"):
        return os.environ["BENCH_DISPATCH_DATABASE_URL"]
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=base.path.rstrip("/") + "_dispatch"))


os.environ["DJANGO_SETTINGS_MODULE"] = "casebook.settings.test"
os.environ["DATABASE_URL"] = _database_url()

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

AGENCY = "bench-dispatch"
OTHER_AGENCY = "bench-dispatch-other"
TZ = "America/Los_Angeles"
UNITS = 50
TEAMS = 5
WAITING = 8
DAY = 86400

# A uniform number in [0, 1) from a row's number and a salt: the same data every run.
BENCH_U = """
CREATE OR REPLACE FUNCTION pg_temp.bench_u(key bigint, salt integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(key, salt) & 2147483647)::float8 / 2147483648 $$
"""

# One row per request n = 1..count, `per_day` a day over the last `days` days (the
# agency's days), received at a local time drawn more often in the afternoon and evening,
# never in the last three hours (those are the waiting ones, made apart).
DRAWS = """
CREATE TEMP TABLE bench_request AS
WITH g AS (
    SELECT n,
        ((n - 1) / %(per_day)s)::int AS days_ago,
        mod((540 + 1440 * pg_temp.bench_u(n, 1) ^ 0.8)::int, 1440) AS local_minute,
        pg_temp.bench_u(n, 2) AS u_priority,
        pg_temp.bench_u(n, 3) AS u_source,
        pg_temp.bench_u(n, 4) AS u_served,
        pg_temp.bench_u(n, 5) AS u_reason,
        pg_temp.bench_u(n, 6) AS u_response,
        pg_temp.bench_u(n, 7) AS u_dispatch,
        pg_temp.bench_u(n, 8) AS u_scene,
        pg_temp.bench_u(n, 9) AS u_transport,
        pg_temp.bench_u(n, 10) AS u_police,
        pg_temp.bench_u(n, 11) AS u_hold,
        pg_temp.bench_u(n, 12) AS u_line,
        pg_temp.bench_u(n, 13) AS u_rescue,
        floor(%(units)s * pg_temp.bench_u(n, 14))::int AS unit_ix
    FROM generate_series(1, %(count)s::bigint) AS n
), t AS (
    SELECT g.*,
        ((%(today)s::date - g.days_ago) + g.local_minute * interval '1 minute')
            AT TIME ZONE %(tz)s AS local_received,
        g.u_priority < 0.4 AS emergent,
        g.u_served < 0.82 AS served,
        (ARRAY['team_line', 'lifeline_988', 'cad_911', 'police', 'self', 'other'])[
            width_bucket(g.u_source, ARRAY[0, 0.45, 0.65, 0.85, 0.93, 0.98]::float8[])]
            AS source,
        (ARRAY['no_unit_available', 'cancelled_before_arrival', 'no_one_found',
               'handed_to_police_ems', 'declined'])[
            width_bucket(g.u_reason, ARRAY[0, 0.35, 0.6, 0.8, 0.9]::float8[])] AS reason
    FROM g
), r AS (
    SELECT t.*,
        CASE WHEN t.local_received > %(now)s - interval '3 hours'
            THEN t.local_received - interval '1 day' ELSE t.local_received END AS received_at,
        CASE WHEN t.emergent THEN 8 + 70 * t.u_response ^ 1.8
            ELSE 12 + 150 * t.u_response ^ 1.6 END AS response_minutes,
        15 + 100 * t.u_scene ^ 1.5 AS scene_minutes,
        t.u_transport < 0.2 AS transported
    FROM t
)
SELECT r.*,
    r.received_at + r.response_minutes * (0.05 + 0.25 * r.u_dispatch) * interval '1 minute'
        AS dispatched_at,
    r.received_at + r.response_minutes * interval '1 minute' AS on_scene_at,
    r.received_at + (r.response_minutes + r.scene_minutes) * interval '1 minute' AS left_at,
    r.received_at + (5 + 60 * r.u_response) * interval '1 minute' AS not_served_at
FROM r
"""
STAMP = "CASE WHEN b.served THEN {} END"
REQUEST_VALUES = {
    "agency": "%(agency)s",
    "received_at": "b.received_at",
    "source": "b.source",
    "callback_number": "'541-555-' || lpad(mod(b.n, 10000)::text, 4, '0')",
    "location_text": "'Block ' || mod(b.n, 900) || ' of Main St'",
    "latitude": "44.0 + mod(b.n, 1000) / 10000.0",
    "longitude": "-123.1 + mod(b.n, 997) / 10000.0",
    "reason": "(ARRAY['welfare_check', 'suicidal', 'mental_health_crisis', 'intoxication',"
    " 'trespass_unwanted', 'other'])[1 + mod(b.n, 6)::int]",
    "reason_notes": "''",
    "access_notes": "''",
    "hazard_notes": "''",
    "priority": "CASE WHEN b.emergent THEN 'emergent' ELSE 'urgent' END",
    "centre_name": "CASE WHEN b.source = 'lifeline_988' THEN 'Lines for Life' ELSE '' END",
    "centre_call_id": "CASE WHEN b.source = 'lifeline_988' THEN 'LFL-' || b.n ELSE '' END",
    "warm_transfer": "CASE WHEN b.source = 'lifeline_988' THEN b.u_line < 0.7 END",
    "line_open_until_arrival": "CASE WHEN b.source = 'lifeline_988' THEN b.u_line < 0.5 END",
    "active_rescue": "CASE WHEN b.source <> 'lifeline_988' THEN '' WHEN b.u_rescue < 0.02"
    " THEN 'involuntary' WHEN b.u_rescue < 0.05 THEN 'voluntary' ELSE 'none' END",
    "cad_incident_number": "CASE WHEN b.source = 'cad_911' THEN 'CAD-' || b.n ELSE '' END",
    "police_requested": "b.u_police < 0.08",
    "police_present": "b.u_police < 0.05",
    "involuntary_hold": "CASE WHEN b.served THEN b.u_hold < 0.03 END",
    "involuntary_transport": "CASE WHEN b.served THEN b.u_hold < 0.02 END",
    "status": "CASE WHEN b.served THEN 'completed' ELSE 'not_served' END",
    "destination": "CASE WHEN b.served AND b.transported THEN 'Crisis centre' ELSE '' END",
    "dispatched_at": "CASE WHEN b.served OR b.reason <> 'no_unit_available'"
    " THEN least(b.dispatched_at, b.not_served_at) END",
    "acknowledged_at": STAMP.format("b.dispatched_at + interval '1 minute'"),
    "en_route_at": STAMP.format("b.dispatched_at + interval '1 minute'"),
    "on_scene_at": STAMP.format("b.on_scene_at"),
    "left_scene_at": STAMP.format("b.left_at"),
    "at_destination_at": "CASE WHEN b.served AND b.transported"
    " THEN b.left_at + interval '20 minutes' END",
    "transfer_of_care_at": "CASE WHEN b.served AND b.transported"
    " THEN b.left_at + interval '50 minutes' END",
    "back_in_service_at": "CASE WHEN b.served AND b.transported"
    " THEN b.left_at + interval '60 minutes' WHEN b.served THEN b.left_at END",
    "closed_at": "CASE WHEN b.served AND b.transported THEN b.left_at + interval '60 minutes'"
    " WHEN b.served THEN b.left_at ELSE b.not_served_at END",
    "not_served_reason": "CASE WHEN b.served THEN '' ELSE b.reason END",
    "not_served_notes": "''",
    "created_by": "%(dispatcher)s",
    "created_at": "b.received_at",
}
REQUEST_SOURCE = "FROM bench_request b ORDER BY b.received_at"
# The crew that served: one assignment per served request, from its unit's open shift.
ASSIGNMENT_VALUES = {
    "request": "r.id",
    "unit": "(%(unit_ids)s::bigint[])[u.ix]",
    "shift": "(%(shift_ids)s::bigint[])[u.ix]",
    "assigned_at": "r.dispatched_at",
    "assigned_by": "%(dispatcher)s",
    "acknowledge_by": "r.dispatched_at + interval '2 minutes'",
    "acknowledged_at": "r.acknowledged_at",
    "acknowledged_by": "NULL",
    "released_at": "r.back_in_service_at",
    "released_by": "NULL",
    "release_reason": "'back in service'",
    "members": "((%(crews)s::text[])[u.ix])::jsonb",
}
ASSIGNMENT_SOURCE = """FROM dispatch_teamrequest r
CROSS JOIN LATERAL (SELECT 1 + mod(r.id, %(units)s)::int AS ix) u
WHERE r.agency_id = %(agency)s AND r.on_scene_at IS NOT NULL"""

# --- The baselines --------------------------------------------------------------------------

RAW_WAITING = """
SELECT r.*, c.*, u.*
FROM dispatch_teamrequest r
LEFT JOIN cases_client c ON c.id = r.client_id
JOIN accounts_user u ON u.id = r.created_by_id
WHERE r.agency_id = %(agency)s AND r.status = 'waiting'
ORDER BY r.received_at, r.id
"""
RAW_UNITS = """
SELECT u.* FROM dispatch_unit u WHERE u.agency_id = %(agency)s ORDER BY u.call_sign
"""
RAW_ALERTS = """
SELECT a.*, u.* FROM dispatch_alert a JOIN dispatch_unit u ON u.id = a.unit_id
WHERE a.agency_id = %(agency)s AND a.resolved_at IS NULL
ORDER BY a.raised_at DESC, a.id DESC
"""
PERIOD = """FROM dispatch_teamrequest r
WHERE r.agency_id = %(agency)s AND r.received_at >= %(since)s AND r.received_at < %(until)s"""
RESPONSE = "extract(epoch FROM r.on_scene_at - r.received_at)"
RAW_PERCENTILES = f"""
SELECT count(*), count(r.on_scene_at), count(*) FILTER (WHERE r.status = 'not_served'),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {RESPONSE}),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY {RESPONSE}),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {RESPONSE}) FILTER (WHERE r.priority = 'emergent'),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY {RESPONSE}) FILTER (WHERE r.priority = 'emergent'),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {RESPONSE}) FILTER (WHERE r.priority = 'urgent'),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY {RESPONSE}) FILTER (WHERE r.priority = 'urgent'),
    count(*) FILTER (WHERE r.priority = 'emergent'
        AND r.on_scene_at <= r.received_at + interval '60 minutes'),
    count(*) FILTER (WHERE r.priority = 'urgent'
        AND r.on_scene_at <= r.received_at + interval '120 minutes'),
    percentile_cont(0.5) WITHIN GROUP
        (ORDER BY extract(epoch FROM r.left_scene_at - r.on_scene_at)),
    percentile_cont(0.9) WITHIN GROUP
        (ORDER BY extract(epoch FROM r.left_scene_at - r.on_scene_at)),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.received_at))
        FILTER (WHERE r.not_served_reason = 'no_unit_available')
{PERIOD}
"""
RAW_CELLS = f"""
SELECT extract(isodow FROM r.received_at AT TIME ZONE %(tz)s)::int,
    extract(hour FROM r.received_at AT TIME ZONE %(tz)s)::int, count(*),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {RESPONSE})
{PERIOD}
GROUP BY 1, 2
"""
RAW_CREWS = """
SELECT s.crew, count(*) FROM (
    SELECT (SELECT string_agg(DISTINCT m ->> 'credential', '-' ORDER BY m ->> 'credential')
            FROM jsonb_array_elements(a.members) AS m) AS crew
    FROM dispatch_teamrequest r
    CROSS JOIN LATERAL (SELECT a.members FROM dispatch_assignment a WHERE a.request_id = r.id
                        ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1) AS a
    WHERE r.agency_id = %(agency)s AND r.received_at >= %(since)s
      AND r.received_at < %(until)s AND r.on_scene_at IS NOT NULL
) AS s GROUP BY s.crew
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
    call_command("migrate", verbosity=0)


# --- The data -------------------------------------------------------------------------------


def make_agency(slug, name, units):
    """The agency, its dispatcher and supervisor, and `units` units on shift with a crew of
    two each; returns (agency, dispatcher, supervisor, units, shifts)."""
    from accounts.models import Agency, Role, Team, User
    from dispatch.models import Credential, Shift, ShiftMember, Unit, UnitStatus

    agency, _ = Agency.objects.get_or_create(slug=slug, defaults={"name": name, "timezone": TZ})
    dispatcher, _ = User.objects.get_or_create(
        username=f"{slug}-dispatcher", defaults={"agency": agency, "role": Role.DISPATCHER}
    )
    supervisor, _ = User.objects.get_or_create(
        username=f"{slug}-supervisor", defaults={"agency": agency, "role": Role.SUPERVISOR}
    )
    if Unit.objects.filter(agency=agency).count() >= units:
        made = list(Unit.objects.filter(agency=agency).order_by("pk"))
        shifts = [Shift.objects.open().get(unit=unit) for unit in made]
        return agency, dispatcher, supervisor, made, shifts
    teams = [Team.objects.create(agency=agency, name=f"Van team {i}") for i in range(TEAMS)]
    statuses = [UnitStatus.AVAILABLE] * 20 + [UnitStatus.EN_ROUTE] * 10
    statuses += [UnitStatus.ON_SCENE] * 15 + [UnitStatus.OUT_OF_SERVICE] * 5
    now = timezone.now()
    made = Unit.objects.bulk_create(
        Unit(
            agency=agency,
            call_sign=f"Van {i + 1}",
            team=teams[i % TEAMS],
            status=statuses[i % len(statuses)],
            status_changed_at=now,
            shares_position=i % 5 != 0,
            last_latitude=None if i % 5 == 0 else 44 + i / 1000,
            last_longitude=None if i % 5 == 0 else -123 - i / 1000,
            last_position_at=None if i % 5 == 0 else now,
        )
        for i in range(units)
    )
    shifts = Shift.objects.bulk_create(
        Shift(unit=unit, started_at=now, started_by=dispatcher) for unit in made
    )
    credentials = [
        (Credential.LICENSED_CLINICIAN, Credential.PEER_SPECIALIST),
        (Credential.EMT_PARAMEDIC, Credential.LICENSED_CLINICIAN),
        (Credential.PEER_SPECIALIST, Credential.EMT_PARAMEDIC),
        (Credential.NURSE, Credential.PEER_SPECIALIST),
        (Credential.LICENSED_CLINICIAN, Credential.LICENSED_CLINICIAN),
    ]
    members = []
    for i, shift in enumerate(shifts):
        for j, credential in enumerate(credentials[i % len(credentials)]):
            user = User.objects.create(
                username=f"{slug}-crew-{i}-{j}",
                agency=agency,
                team=teams[i % TEAMS],
                role=Role.SOCIAL_WORKER,
            )
            members.append(ShiftMember(shift=shift, user=user, credential=credential))
    ShiftMember.objects.bulk_create(members)
    return agency, dispatcher, supervisor, made, shifts


def crews_json(shifts):
    """Each shift's crew as Assignment.members records it (services.units.crew_of)."""
    from dispatch.models import ShiftMember

    crews = []
    for shift in shifts:
        rows = ShiftMember.objects.filter(shift=shift).select_related("user").order_by("pk")
        crews.append(
            json.dumps(
                [
                    {"user_id": m.user_id, "name": str(m.user), "credential": m.credential}
                    for m in rows
                ]
            )
        )
    return crews


def fill_requests(agency, dispatcher, units, shifts, count, per_day):
    """`count` requests of the agency in SQL (one INSERT ... SELECT), the assignments of
    the served, and WAITING waiting now."""
    from casework.growth.chunks import insert
    from dispatch.models import Assignment, Priority, RequestSource, TeamRequest

    now = timezone.now()
    params = {
        "agency": agency.pk,
        "dispatcher": dispatcher.pk,
        "count": count,
        "per_day": per_day,
        "units": len(units),
        "unit_ids": [u.pk for u in units],
        "shift_ids": [s.pk for s in shifts],
        "crews": crews_json(shifts),
        "now": now,
        "today": now.astimezone(zoneinfo.ZoneInfo(TZ)).date(),
        "tz": TZ,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BENCH_U)
        cursor.execute("DROP TABLE IF EXISTS bench_request")
        cursor.execute(DRAWS, params)
        cursor.execute(insert(TeamRequest, REQUEST_VALUES, REQUEST_SOURCE)[1], params)
        cursor.execute(insert(Assignment, ASSIGNMENT_VALUES, ASSIGNMENT_SOURCE)[1], params)
        cursor.execute("DROP TABLE bench_request")
    TeamRequest.objects.bulk_create(
        TeamRequest(
            agency=agency,
            received_at=now - (i + 1) * timezone.timedelta(minutes=4),
            source=RequestSource.TEAM_LINE,
            location_text="Waiting on Main St",
            reason="welfare_check",
            priority=Priority.URGENT,
            created_by=dispatcher,
        )
        for i in range(WAITING)
    )


def fill_alerts(agency, units):
    from dispatch.models import Alert, AlertKind

    now = timezone.now()
    Alert.objects.bulk_create(
        Alert(
            agency=agency,
            kind=AlertKind.ACK_OVERDUE if i % 3 else AlertKind.CHECK_IN_MISSED,
            unit=units[i % len(units)],
            raised_at=now - timezone.timedelta(hours=i + 1),
            resolved_at=None if i < 4 else now - timezone.timedelta(hours=i),
            resolution="" if i < 4 else "Spoke to the team",
        )
        for i in range(2004)
    )


def populate(per_day, days):
    """The data for `per_day` × `days` requests; rebuilt when another size was made."""
    from dispatch.models import (
        Alert,
        Assignment,
        RequestEvent,
        Shift,
        ShiftMember,
        TeamRequest,
        Unit,
    )

    count = per_day * days
    agency, dispatcher, supervisor, units, shifts = make_agency(
        AGENCY, "Bench mobile crisis", UNITS
    )
    other, other_dispatcher, _, other_units, other_shifts = make_agency(
        OTHER_AGENCY, "Bench other agency", 5
    )
    have = TeamRequest.objects.filter(agency=agency).count()
    if have == count + WAITING:
        return agency, supervisor
    if have:
        print(f"The bench database holds {have:,} requests, not {count + WAITING:,}: rebuilding")
    for model in (Alert, RequestEvent, Assignment):
        model.objects.all().delete()
    TeamRequest.objects.all().delete()
    started = time.perf_counter()
    fill_requests(agency, dispatcher, units, shifts, count, per_day)
    fill_requests(other, other_dispatcher, other_units, other_shifts, count // 10, per_day // 10)
    fill_alerts(agency, units)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Filled in {time.perf_counter() - started:.0f} s", flush=True)
    assert Shift.objects.count() and ShiftMember.objects.count() and Unit.objects.count()
    return agency, supervisor


# --- Timing -------------------------------------------------------------------------------


def timed(fn, repeat):
    fn()
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def board_orm(agency):
    from dispatch.models import Alert, TeamRequest, Unit

    waiting = list(TeamRequest.objects.filter(agency_id=agency.pk).waiting().for_list())
    units = list(Unit.objects.filter(agency_id=agency.pk))
    alerts = list(Alert.objects.filter(agency_id=agency.pk).open().select_related("unit"))
    return len(waiting), len(units), len(alerts)


def board_raw(agency):
    params = {"agency": agency.pk}
    return tuple(len(raw(sql, params)) for sql in (RAW_WAITING, RAW_UNITS, RAW_ALERTS))


def bench_board(agency, repeat, failures):
    print(f"\nThe board's queries (median of {repeat})")
    print(f"{'what':<34}{'rows':>6}{'ORM ms':>9}{'raw ms':>9}{'× raw':>7}")
    orm_s, counts = timed(lambda: board_orm(agency), repeat)
    raw_s, raw_counts = timed(lambda: board_raw(agency), repeat)
    if counts != raw_counts:
        failures.append(f"board rows {counts} != raw {raw_counts}")
    label = "waiting + units + open alerts"
    print(
        f"{label:<34}{sum(counts):>6}{orm_s * 1000:>9.2f}{raw_s * 1000:>9.2f}"
        f"{orm_s / raw_s:>7.2f}  ({counts[0]} waiting, {counts[1]} units, {counts[2]} alerts)"
    )


def orm_measures(agency, start, end):
    from metrics.response import agency_targets, response_measures

    return response_measures(
        agency_id=agency.pk,
        start=start,
        end=end,
        zone=zoneinfo.ZoneInfo(TZ),
        targets=agency_targets(agency.pk),
    )


def raw_measures(agency, start, end):
    from metrics.compliance import period_bounds

    since, until = period_bounds(start, end, zoneinfo.ZoneInfo(TZ))
    params = {"agency": agency.pk, "since": since, "until": until, "tz": TZ}
    return raw(RAW_PERCENTILES, params)[0], raw(RAW_CELLS, params), raw(RAW_CREWS, params)


def minutes(seconds):
    return None if seconds is None else round(seconds / 60, 1)


def compare(m, raw_result):
    """What differs between the measures and the raw SQL's numbers."""
    totals, cells, crews = raw_result
    emergent, urgent = m.by_priority
    pairs = {
        "requests": (m.requests, totals[0]),
        "served": (m.outcomes.served.count, totals[1]),
        "not served": (m.outcomes.not_served.count, totals[2]),
        "response": ((m.response.median, m.response.p90), tuple(map(minutes, totals[3:5]))),
        "emergent": (
            (emergent.response.median, emergent.response.p90),
            tuple(map(minutes, totals[5:7])),
        ),
        "urgent": ((urgent.response.median, urgent.response.p90), tuple(map(minutes, totals[7:9]))),
        "within": ((emergent.within_target.count, urgent.within_target.count), totals[9:11]),
        "on scene": ((m.on_scene.median, m.on_scene.p90), tuple(map(minutes, totals[11:13]))),
        "no unit wait": (m.no_unit_wait.median, minutes(totals[13])),
        "cells": (
            {
                (c.day, c.hour): (c.count, c.median_minutes)
                for row in m.heat
                for c in row.cells
                if c.count
            },
            {(d, h): (n, minutes(med)) for d, h, n, med in cells},
        ),
        "crews": (
            {f.key: f.count for f in m.crews},
            {f"crew-{crew or 'none'}": n for crew, n in crews},
        ),
    }
    return [f"{name}: {a} != {b}" for name, (a, b) in pairs.items() if a != b]


def bench_measures(agency, repeat, failures):
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(TZ)).date()
    print(f"\nResponse measures (median of {repeat})")
    print(f"{'period':<11}{'requests':>10}{'measures ms':>13}{'raw SQL ms':>12}{'× raw':>7}")
    for name, days in (("3 months", 91), ("12 months", 365)):
        start, end = today - timezone.timedelta(days=days - 1), today
        orm_s, m = timed(lambda s=start, e=end: orm_measures(agency, s, e), repeat)
        raw_s, raw_result = timed(lambda s=start, e=end: raw_measures(agency, s, e), repeat)
        wrong = compare(m, raw_result)
        failures += [f"{name}: {w}" for w in wrong]
        print(
            f"{name:<11}{m.requests:>10,}{orm_s * 1000:>13.1f}{raw_s * 1000:>12.1f}"
            f"{orm_s / raw_s:>7.2f}  " + ("numbers agree" if not wrong else "NUMBERS DIFFER")
        )
        emergent, urgent = m.by_priority
        print(
            f"{'':<11}response median {m.response.median} min, p90 {m.response.p90}; "
            f"emergent {emergent.within_target.percent} within {emergent.target_minutes} min, "
            f"urgent {urgent.within_target.percent} within {urgent.target_minutes}; "
            f"on scene median {m.on_scene.median}; served {m.outcomes.served.percent}; "
            f"busiest hour cell {m.heat_max}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    began = time.perf_counter()
    ensure_database()
    agency, _ = populate(args.per_day, args.days)
    from dispatch.models import TeamRequest

    print(
        f"{TeamRequest.objects.filter(agency=agency).count():,} requests in the agency "
        f"(+{TeamRequest.objects.exclude(agency=agency).count():,} in another agency); "
        f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}"
    )
    failures = []
    bench_board(agency, args.repeat, failures)
    bench_measures(agency, args.repeat, failures)
    print(f"\nWhole run: {time.perf_counter() - began:.0f} s")
    for failure in failures:
        print(f"MISMATCH {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
