"""Whose numbers a request may see, and over what period: one answer for the compliance
page and the metrics API, so that the two always agree.

Supervisors see the teams they supervise, agency admins their whole agency; everyone
else is refused (403, audited). A team or worker outside what the user may see is
treated like one that does not exist, and its trace goes in the trail. The page and the
API parse their inputs their own way (a form, a serializer), with the period rules here,
then both call resolve_scope():

    resolve_scope(user, *, today, team=None, worker=None, start=None, end=None)
        -> MetricsScope

The metric functions take the scope as `agency_id`, `teams` (team ids, None for the
whole agency), `worker` (a user id or None) and `zone` (the agency's time zone, which
the request has already: without it each function reads it, one query):
MetricsScope.filters(). Programme figures are per team or for the agency and take no
`worker`. All filter their rows with scope_q().
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Role, Team, User, zone_of
from audit.access import record_denied
from audit.services import refuse

METRICS_ROLES = (Role.SUPERVISOR, Role.AGENCY_ADMIN)
DEFAULT_DAYS = 30
# A longer period is a report (reports app), not a page: this bounds the page's work.
MAX_PERIOD_DAYS = 366
# The first day a period may start on: no records are older.
OLDEST_DAY = datetime.date(1990, 1, 1)
# How far after today a period may end: a typo in the year, not a plan.
DAYS_AHEAD = 366
CHOICE_MODELS = {"team": Team, "worker": User}


def require_metrics_access(request, page: str, message: str):
    """403 (with its trace in the trail, under `page`) unless the user is a supervisor or
    an agency admin of an agency."""
    user = request.user
    if user.role not in METRICS_ROLES or not user.agency_id:
        refuse(request, page, message)


def scope_teams(user):
    """The teams whose numbers `user` may see: a supervisor's supervised teams, every team
    of an agency admin's agency."""
    teams = Team.objects.filter(agency_id=user.agency_id)
    if user.role != Role.AGENCY_ADMIN:
        teams = teams.filter(supervisors=user)
    return teams.order_by("name")


def scope_workers(user):
    """The workers whose numbers `user` may see: the social workers and supervisors of
    scope_teams(user)."""
    return User.objects.filter(
        agency_id=user.agency_id,
        team__in=scope_teams(user),
        role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR],
    )


def audit_refused(request, refused: dict, *, page: str):
    """Record each refused choice (`refused`: "team" or "worker" -> the value asked for)
    in the trail of the agency that owns it."""
    for name, value in refused.items():
        record_denied(request, CHOICE_MODELS[name], value, "outside metrics scope", page=page)


# --- The period ---------------------------------------------------------------------------


def fill_period(start, end, today) -> tuple[datetime.date, datetime.date]:
    """start..end with a missing end DEFAULT_DAYS on from start (today when both are
    missing), and a missing start DEFAULT_DAYS before end; both days included."""
    if end is None:
        end = today if start is None else start + datetime.timedelta(days=DEFAULT_DAYS - 1)
    if start is None:
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    return start, end


def in_calendar(day, today) -> bool:
    """Whether `day` may bound a period: from OLDEST_DAY to DAYS_AHEAD after today."""
    return OLDEST_DAY <= day <= today + datetime.timedelta(days=DAYS_AHEAD)


def period_error(start, end) -> tuple[str, str] | None:
    """(field, message) for a period that ends before it starts or is longer than
    MAX_PERIOD_DAYS, else None."""
    if end < start:
        return "end", _("The period ends before it starts.")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        return "start", _("Choose a period of at most %(days)s days.") % {"days": MAX_PERIOD_DAYS}
    return None


# --- The scope ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsScope:
    """What a request asks to see, within what its user may see."""

    agency_id: int
    today: datetime.date
    # Team ids, or None for the whole agency (cases without a team included).
    teams: list | None
    team: Team | None = None
    worker: User | None = None
    # The agency's dates, both included; None for the figures of today (drop-off).
    start: datetime.date | None = None
    end: datetime.date | None = None
    # The agency's zone (accounts.models.zone_of), as the request activated it.
    zone: zoneinfo.ZoneInfo | None = None

    @property
    def worker_id(self) -> int | None:
        return self.worker.pk if self.worker else None

    def filters(self) -> dict:
        """The scope as every metric function takes it."""
        return {
            "agency_id": self.agency_id,
            "teams": self.teams,
            "worker": self.worker_id,
            "zone": self.zone,
        }

    def period(self) -> dict:
        return {"start": self.start, "end": self.end}

    def audit_detail(self) -> dict:
        """The filters an audit row names: the period (if any), the teams, the worker."""
        detail = {}
        if self.start is not None and self.end is not None:
            detail = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return {**detail, "teams": self.teams, "worker": self.worker_id}


def resolve_scope(user, *, today, team=None, worker=None, start=None, end=None) -> MetricsScope:
    """The scope of `user`'s request for `team` and `worker`, which the caller has checked
    are among scope_teams(user) and scope_workers(user), over the period start..end
    (checked with the rules above). `today`: the agency's date."""
    if team is not None:
        teams = [team.pk]
    elif user.role == Role.AGENCY_ADMIN:
        teams = None
    else:
        teams = list(scope_teams(user).values_list("pk", flat=True))
    return MetricsScope(
        agency_id=user.agency_id,
        today=today,
        teams=teams,
        team=team,
        worker=worker,
        start=start,
        end=end,
        zone=zone_of(user.agency),
    )


def scope_q(*, teams=None, worker=None, team_field="case__team", worker_field="") -> Q:
    """The team and worker filter of every metric: `team_field` and `worker_field` name
    the lookups of the row's team and worker (e.g. "case__team", "case__assigned_worker").
    An empty Q when neither is given."""
    q = Q()
    if teams is not None:
        q &= Q(**{f"{team_field}_id__in": list(teams)})
    if worker is not None:
        q &= Q(**{f"{worker_field}_id": worker})
    return q
