"""The figures crisis programmes publish (CAHOOTS, STAR, 988; see the shared DOMAIN notes
"Crisis contact record"), and the weekly trend of follow-up compliance.

    programme_figures(*, agency_id, start, end, teams=None) -> ProgrammeFigures

Over the agency's crisis contacts (cases.Contact) received on the agency's dates `start`
to `end`, both included (metrics.compliance explains periods), on cases of `teams` (team
ids; None: the whole agency). ProgrammeFigures (frozen dataclass):
    start, end (dates); contacts (int) and contact_ids (sorted list)
    by_source, dispositions: list[Bucket] in the order of ContactSource / Disposition,
        only those with contacts
    median_response_minutes: float | None: median of on_scene_at - received_at in
        minutes over the contacts with both times; timed_responses: how many had them
    police_backup, arrests, er_diversions: Figure; er_diversion_definition: str
    ER diversions, as crisis programmes publish them (shared DOMAIN notes): the contacts
    not ending in an ED transport or admission (disposition not in NOT_DIVERTED), over
    all the period's contacts (DIVERSION_DEFINITION, shown wherever the figure is).
    Every contact is in the denominator, so every contact that did not end in the ER or
    hospital is in the numerator: one the client declined, one where the client was not
    found, one ending in police custody, at a shelter or in detox all count as diverted
    (the dispositions table shows how many of each).
Bucket: key, label, count, share (of all contacts; None when there are none), ids.
Figure: count, share, ids. Two queries (the agency, the contacts as plain values); the
median is computed in Python, the same on PostgreSQL and SQLite.

    weekly_trend(*, agency_id, weeks=12, teams=None, worker=None, today=None)
        -> list[TrendWeek]

The last `weeks` weeks (1 to 104), Monday to Sunday in the agency's time zone, the
current week last. TrendWeek (frozen dataclass): week_start, week_end (dates, both
included), due, done_within_window (follow-ups due that week, as compliance() counts
them at now), fum_denominator, fum_numerator, fum_pending (ED visits of that week, the
7-day FUM rate as hedis_rates() computes it, the 31-day rule applied across the whole
range), fum_rate (float | None). At most six queries whatever the number of weeks.
"""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from cases.models import Contact, ContactSource, Disposition
from metrics.compliance import (
    agency_zone,
    buckets_of,
    followup_rows,
    period_bounds,
    ratio,
)
from metrics.hedis import evaluate
from metrics.scope import scope_q

NOT_DIVERTED = (Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED)
DIVERSION_DEFINITION = "Contacts not ending in an ED transport or admission, over all contacts"
MAX_WEEKS = 104


@dataclass(frozen=True)
class Figure:
    count: int
    share: float | None
    ids: list = field(default_factory=list)


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    count: int
    share: float | None
    ids: list = field(default_factory=list)


@dataclass(frozen=True)
class ProgrammeFigures:
    start: datetime.date
    end: datetime.date
    contacts: int
    contact_ids: list
    by_source: list
    dispositions: list
    median_response_minutes: float | None
    timed_responses: int
    police_backup: Figure
    arrests: Figure
    er_diversions: Figure
    er_diversion_definition: str = DIVERSION_DEFINITION


def _buckets(choices, ids_by_key, total) -> list:
    return [
        Bucket(
            key=key,
            label=label,
            count=len(ids_by_key[key]),
            share=ratio(len(ids_by_key[key]), total),
            ids=sorted(ids_by_key[key]),
        )
        for key, label in choices
        if ids_by_key.get(key)
    ]


def programme_figures(*, agency_id, start, end, teams=None) -> ProgrammeFigures:
    since, until = period_bounds(start, end, agency_zone(agency_id))
    rows = list(
        Contact.objects.filter(agency_id=agency_id, received_at__gte=since, received_at__lt=until)
        .filter(scope_q(teams=teams))
        .order_by()
        .values(
            "id",
            "source",
            "disposition",
            "police_backup_requested",
            "arrest",
            "received_at",
            "on_scene_at",
        )
    )
    total = len(rows)
    sources = defaultdict(list)
    dispositions = defaultdict(list)
    backup, arrests, diverted, minutes = [], [], [], []
    for row in rows:
        sources[row["source"]].append(row["id"])
        dispositions[row["disposition"]].append(row["id"])
        if row["police_backup_requested"]:
            backup.append(row["id"])
        if row["arrest"]:
            arrests.append(row["id"])
        if row["disposition"] not in NOT_DIVERTED:
            diverted.append(row["id"])
        if row["on_scene_at"] and row["received_at"]:
            minutes.append((row["on_scene_at"] - row["received_at"]).total_seconds() / 60)
    return ProgrammeFigures(
        start=start,
        end=end,
        contacts=total,
        contact_ids=sorted(row["id"] for row in rows),
        by_source=_buckets(ContactSource.choices, sources, total),
        dispositions=_buckets(Disposition.choices, dispositions, total),
        median_response_minutes=statistics.median(minutes) if minutes else None,
        timed_responses=len(minutes),
        police_backup=Figure(len(backup), ratio(len(backup), total), sorted(backup)),
        arrests=Figure(len(arrests), ratio(len(arrests), total), sorted(arrests)),
        er_diversions=Figure(len(diverted), ratio(len(diverted), total), sorted(diverted)),
    )


@dataclass(frozen=True)
class TrendWeek:
    week_start: datetime.date
    week_end: datetime.date
    due: int
    done_within_window: int
    fum_denominator: int
    fum_numerator: int
    fum_pending: int
    fum_rate: float | None


def weekly_trend(*, agency_id, weeks=12, teams=None, worker=None, today=None) -> list:
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    tz = agency_zone(agency_id)
    now = timezone.now()
    today = today or now.astimezone(tz).date()
    first = today - datetime.timedelta(days=today.weekday() + 7 * (weeks - 1))
    last = first + datetime.timedelta(days=7 * weeks - 1)
    since, until = period_bounds(first, last, tz)

    def week_of(day):
        return (day - first).days // 7

    due: defaultdict[int, int] = defaultdict(int)
    done: defaultdict[int, int] = defaultdict(int)
    for row in followup_rows(
        agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
    ):
        names = buckets_of(row, now)
        week = week_of(row["due_at"].astimezone(tz).date())
        due[week] += "due" in names
        done[week] += "done_within_window" in names

    outcomes, _, _ = evaluate(
        agency_id=agency_id,
        measure="fum",
        start=first,
        end=last,
        teams=teams,
        worker=worker,
        today=today,
    )
    fum: defaultdict[int, dict[str, int]] = defaultdict(
        lambda: {"hit": 0, "pending": 0, "missed": 0}
    )
    for outcome in outcomes:
        fum[week_of(outcome.ed_date)][outcome.seven_day] += 1

    result = []
    for week in range(weeks):
        counts = fum[week]
        denominator = sum(counts.values())
        result.append(
            TrendWeek(
                week_start=first + datetime.timedelta(days=7 * week),
                week_end=first + datetime.timedelta(days=7 * week + 6),
                due=due[week],
                done_within_window=done[week],
                fum_denominator=denominator,
                fum_numerator=counts["hit"],
                fum_pending=counts["pending"],
                fum_rate=ratio(counts["hit"], denominator - counts["pending"]),
            )
        )
    return result
