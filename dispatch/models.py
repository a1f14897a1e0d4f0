"""Requests for a mobile crisis team, the units that answer them, and the timeline between.

The timeline follows the EMS dispatch one (NEMSIS; shared DOMAIN notes, "Crisis response"):
call received → team notified (dispatched) → en route → on scene → left scene → arrived at
destination → transfer of care → back in service. Response time = on scene − received. A
request can end without contact (NotServedReason), and is then counted, never lost.

A request's status moves only along ALLOWED_TRANSITIONS, a unit's along UNIT_TRANSITIONS;
the one-tap steps a unit records (STEPS) move both together. The services
(dispatch/services/) make every move, each with its RequestEvent (or UnitEvent, for a unit
off any request) in the same transaction.
"""

import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Self, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, User
from core.i18n import render_stored

# --- Coordinates -------------------------------------------------------------------------

# WGS 84 degrees to 6 places (about 11 cm), as phones and CAD systems give them.
LATITUDE_VALIDATORS = [MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))]
LONGITUDE_VALIDATORS = [MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))]


def latitude_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=9, decimal_places=6, validators=LATITUDE_VALIDATORS, **kwargs
    )


def longitude_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=9, decimal_places=6, validators=LONGITUDE_VALIDATORS, **kwargs
    )


# A shared position older than this no longer says where the unit is: suggest_units
# measures from its base instead.
POSITION_FRESH_FOR = datetime.timedelta(minutes=15)


# --- The agency's dispatch settings --------------------------------------------------------


class DispatchSettings(models.Model):
    """An agency's targets and limits for dispatch; made with its defaults on first use
    (services.settings_for)."""

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="dispatch_settings"
    )
    # Response time (received to on scene): "≤ 1 h is a common contract target, ≤ 2 h a
    # state maximum in Colorado" (shared DOMAIN notes, "Crisis response").
    emergent_target_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1)]
    )
    urgent_target_minutes = models.PositiveSmallIntegerField(
        default=120, validators=[MinValueValidator(1)]
    )
    acknowledge_timeout_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(10)],
        help_text=gettext_lazy(
            "A unit that has not acknowledged an assignment by then is reported."
        ),
    )
    check_in_minutes = models.PositiveSmallIntegerField(
        default=20,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy("How often a team on scene checks in."),
    )
    check_in_escalate_minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy(
            "A missed check-in or an SOS nobody has answered by then is escalated to every "
            "supervisor and admin of the agency."
        ),
    )
    position_retention_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy(
            "Shared positions are deleted after this long (and at the end of a shift)."
        ),
    )

    class Meta:
        verbose_name = gettext_lazy("dispatch settings")
        verbose_name_plural = gettext_lazy("dispatch settings")

    def __str__(self) -> str:
        return f"Dispatch settings of agency {self.agency_id}"

    def target_minutes(self, priority: str) -> int:
        """The agency's target response time (received to on scene) for a priority."""
        if priority == Priority.EMERGENT:
            return self.emergent_target_minutes
        return self.urgent_target_minutes


# --- Units and shifts ----------------------------------------------------------------------


class UnitStatus(models.TextChoices):
    OFF_SHIFT = "off_shift", gettext_lazy("Off shift")
    AVAILABLE = "available", gettext_lazy("Available")
    ASSIGNED = "assigned", gettext_lazy("Assigned")
    EN_ROUTE = "en_route", gettext_lazy("En route")
    ON_SCENE = "on_scene", gettext_lazy("On scene")
    TRANSPORTING = "transporting", gettext_lazy("Transporting")
    AT_DESTINATION = "at_destination", gettext_lazy("At destination")
    OUT_OF_SERVICE = "out_of_service", gettext_lazy("Out of service")


U = UnitStatus

# (from, to): the moves a unit's status may make; everything absent is refused. "Back in
# service" is a stamp of the request's timeline that returns the unit to available.
UNIT_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (U.OFF_SHIFT, U.AVAILABLE),  # start_shift
        (U.AVAILABLE, U.OFF_SHIFT),  # end_shift
        (U.OUT_OF_SERVICE, U.OFF_SHIFT),  # end_shift
        (U.AVAILABLE, U.OUT_OF_SERVICE),  # take_out_of_service
        (U.OUT_OF_SERVICE, U.AVAILABLE),  # return_to_service
        (U.AVAILABLE, U.ASSIGNED),  # assign_unit
        (U.ASSIGNED, U.EN_ROUTE),  # advance
        (U.EN_ROUTE, U.ON_SCENE),  # advance
        (U.ON_SCENE, U.TRANSPORTING),  # advance: left scene with the person
        (U.TRANSPORTING, U.AT_DESTINATION),  # advance
        (U.ON_SCENE, U.AVAILABLE),  # advance: back in service from the scene
        (U.AT_DESTINATION, U.AVAILABLE),  # advance: back in service
        # Released before arriving: release_unit, reassign_unit, close_not_served.
        (U.ASSIGNED, U.AVAILABLE),
        (U.EN_ROUTE, U.AVAILABLE),
    }
)


class Credential(models.TextChoices):
    """What a team member is, so that the team's make-up is recorded with each response."""

    LICENSED_CLINICIAN = "licensed_clinician", gettext_lazy("Licensed clinician")
    PEER_SPECIALIST = "peer_specialist", gettext_lazy("Peer specialist")
    EMT_PARAMEDIC = "emt_paramedic", gettext_lazy("EMT or paramedic")
    NURSE = "nurse", gettext_lazy("Nurse")
    OTHER = "other", gettext_lazy("Other")


def agency_seen_by(user: User | AnonymousUser) -> int | None:
    """The agency whose dispatch records the user may see: their own, for anyone of an
    agency (a system admin sees none)."""
    if not user.is_authenticated or not user.agency_id or user.role == Role.SYSTEM_ADMIN:
        return None
    return user.agency_id


class UnitQuerySet(models.QuerySet["Unit"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """The units of the user's agency (their status and last position are seen by
        everyone in the agency and nobody outside it)."""
        agency_id = agency_seen_by(user)
        return self.none() if agency_id is None else self.filter(agency_id=agency_id)

    def available(self) -> Self:
        """Units on shift and free to take a request (unit_agency_status_idx)."""
        return self.filter(status=UnitStatus.AVAILABLE)

    def with_crew(self) -> Self:
        """The units with their open shift's members (`open_shifts`) and their live
        assignment (`live_assignments`): a fixed number of queries however many units."""
        members = ShiftMember.objects.select_related("user").order_by("pk")
        open_shifts = Shift.objects.open().prefetch_related(Prefetch("members", members))
        return self.prefetch_related(
            Prefetch("shifts", open_shifts, to_attr="open_shifts"),
            Prefetch("assignments", Assignment.objects.live(), to_attr="live_assignments"),
        )


class Unit(models.Model):
    """A team that goes out: a van, or a pair. Its members are those of its open shift."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    call_sign = models.CharField(
        max_length=40, help_text=gettext_lazy("What the dispatcher calls it: “Van 3”.")
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    base_address = models.CharField(max_length=300, blank=True)
    base_latitude = latitude_field(null=True, blank=True)
    base_longitude = longitude_field(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=UnitStatus.choices, default=UnitStatus.OFF_SHIFT, editable=False
    )
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    shares_position = models.BooleanField(default=False, editable=False)
    # The last shared position: kept only while on shift and sharing, and no longer than
    # the agency's position_retention_hours.
    last_latitude = latitude_field(null=True, blank=True, editable=False)
    last_longitude = longitude_field(null=True, blank=True, editable=False)
    last_position_at = models.DateTimeField(null=True, blank=True, editable=False)
    # While on scene: when the team is next to say it is safe (services.safety). Cleared
    # when it leaves the scene, and by the sweep that reports a missed check-in.
    check_in_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["call_sign"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "call_sign"], name="unit_call_sign_unique_in_agency"
            ),
            models.CheckConstraint(
                condition=Q(base_latitude__isnull=True, base_longitude__isnull=True)
                | Q(base_latitude__isnull=False, base_longitude__isnull=False),
                name="unit_base_both_coordinates_or_none",
            ),
        ]
        indexes = [
            # suggest_units and the board: an agency's units in a status
            # (agency_id = %s AND status = 'available').
            models.Index(fields=["agency", "status"], name="unit_agency_status_idx"),
            # The check-in sweep: units whose check-in has come (check_in_due_at <= now),
            # a handful on scene at any time.
            models.Index(
                fields=["check_in_due_at"],
                condition=Q(check_in_due_at__isnull=False),
                name="unit_check_in_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.call_sign

    @property
    def is_on_shift(self) -> bool:
        return self.status != UnitStatus.OFF_SHIFT

    def can_move_to(self, status: str) -> bool:
        return (self.status, status) in UNIT_TRANSITIONS

    def where(self, now: datetime.datetime) -> tuple[Decimal, Decimal, str] | None:
        """Where to measure the unit's distance from: (latitude, longitude, "position")
        when it shares a position fresher than POSITION_FRESH_FOR, else (..., "base")
        when its base has coordinates, else None."""
        if (
            self.shares_position
            and self.last_position_at is not None
            and self.last_latitude is not None
            and self.last_longitude is not None
            and now - self.last_position_at <= POSITION_FRESH_FOR
        ):
            return self.last_latitude, self.last_longitude, "position"
        if self.base_latitude is not None and self.base_longitude is not None:
            return self.base_latitude, self.base_longitude, "base"
        return None


class ShiftQuerySet(models.QuerySet["Shift"]):
    def open(self) -> Self:
        """Shifts not ended (shift_open_unique_per_unit: one a unit)."""
        return self.filter(ended_at__isnull=True)


class Shift(models.Model):
    """A unit's time on shift, with who is on it (ShiftMember)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="shifts")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ShiftQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # A unit's open shift (unit_id = %s AND ended_at IS NULL), and at most one.
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(ended_at__isnull=True),
                name="shift_open_unique_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} from {self.started_at:%Y-%m-%d %H:%M}"


class ShiftMember(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    credential = models.CharField(max_length=20, choices=Credential.choices)

    class Meta:
        ordering = ["pk"]
        constraints = [
            # A shift's members (shift_id = %s), each once.
            models.UniqueConstraint(fields=["shift", "user"], name="shiftmember_unique"),
        ]
        indexes = [
            # A user's shifts: whether they are on one now (start_shift, visible_to), and
            # the requests of the shifts they were on (TeamRequest.objects.visible_to).
            models.Index(fields=["user", "shift"], name="shiftmember_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.get_credential_display()})"


class UnitEventKind(models.TextChoices):
    SHIFT_STARTED = "shift_started", gettext_lazy("Shift started")
    SHIFT_ENDED = "shift_ended", gettext_lazy("Shift ended")
    OUT_OF_SERVICE = "out_of_service", gettext_lazy("Out of service")
    RETURNED_TO_SERVICE = "returned_to_service", gettext_lazy("Returned to service")
    SHARING_STARTED = "sharing_started", gettext_lazy("Started sharing its position")
    SHARING_STOPPED = "sharing_stopped", gettext_lazy("Stopped sharing its position")
    CHECKED_IN = "checked_in", gettext_lazy("Checked in: safe")
    CHECK_IN_MISSED = "check_in_missed", gettext_lazy("Missed a check-in")
    SOS = "sos", gettext_lazy("SOS")


class UnitEvent(models.Model):
    """A change of a unit off any request (its moves on a request are RequestEvents)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=UnitEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # A unit's history, in order.
            models.Index(fields=["unit", "at"], name="unitevent_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class UnitPosition(models.Model):
    """A position a unit shared while on shift. Deleted at the end of the shift, when the
    unit stops sharing, and after the agency's position_retention_hours
    (services.purge_positions)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="positions")
    at = models.DateTimeField(default=timezone.now)
    latitude = latitude_field()
    longitude = longitude_field()
    accuracy_m = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # A unit's track, newest first, and the purge of a unit's positions older
            # than the retention (unit_id = %s AND at < %s).
            models.Index(fields=["unit", "-at"], name="unitposition_unit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} at {self.at:%H:%M:%S}"


# --- Requests -------------------------------------------------------------------------------


class RequestSource(models.TextChoices):
    """Who asked for the team (CAHOOTS, STAR and 988 report these; shared DOMAIN notes)."""

    TEAM_LINE = "team_line", gettext_lazy("Call to the team")
    LIFELINE_988 = "lifeline_988", gettext_lazy("988 hand-off")
    CAD_911 = "cad_911", gettext_lazy("911 / CAD hand-off")
    POLICE = "police", gettext_lazy("Police request")
    SELF = "self", gettext_lazy("Self")
    OTHER = "other", gettext_lazy("Other")


class RequestReason(models.TextChoices):
    WELFARE_CHECK = "welfare_check", gettext_lazy("Welfare check")
    SUICIDAL = "suicidal", gettext_lazy("Suicidal")
    MENTAL_HEALTH_CRISIS = "mental_health_crisis", gettext_lazy("Mental-health crisis")
    INTOXICATION = "intoxication", gettext_lazy("Intoxication")
    TRESPASS_UNWANTED = "trespass_unwanted", gettext_lazy("Trespass or unwanted person")
    OTHER = "other", gettext_lazy("Other")


class Priority(models.TextChoices):
    """Each with the agency's target response time (DispatchSettings.target_minutes)."""

    EMERGENT = "emergent", gettext_lazy("Emergent")
    URGENT = "urgent", gettext_lazy("Urgent")


class ActiveRescue(models.TextChoices):
    """Whether the 988 centre started an active rescue (about 1% of 988 contacts end in
    an involuntary one; shared DOMAIN notes)."""

    NONE = "none", gettext_lazy("No active rescue")
    VOLUNTARY = "voluntary", gettext_lazy("Voluntary")
    INVOLUNTARY = "involuntary", gettext_lazy("Involuntary")


class NotServedReason(models.TextChoices):
    NO_UNIT_AVAILABLE = "no_unit_available", gettext_lazy("No unit available")
    CANCELLED_BEFORE_ARRIVAL = "cancelled_before_arrival", gettext_lazy("Cancelled before arrival")
    NO_ONE_FOUND = "no_one_found", gettext_lazy("No one found")
    HANDED_TO_POLICE_EMS = "handed_to_police_ems", gettext_lazy("Handed to police or EMS")
    DECLINED = "declined", gettext_lazy("Declined by the person")


class RequestStatus(models.TextChoices):
    WAITING = "waiting", gettext_lazy("Waiting for a unit")
    ASSIGNED = "assigned", gettext_lazy("Assigned")
    EN_ROUTE = "en_route", gettext_lazy("En route")
    ON_SCENE = "on_scene", gettext_lazy("On scene")
    TRANSPORTING = "transporting", gettext_lazy("Transporting")
    AT_DESTINATION = "at_destination", gettext_lazy("At destination")
    COMPLETED = "completed", gettext_lazy("Completed")
    NOT_SERVED = "not_served", gettext_lazy("Not served")


S = RequestStatus
# Before the team is on scene a request can still end without being served.
BEFORE_ARRIVAL = (S.WAITING, S.ASSIGNED, S.EN_ROUTE)

# (from, to): the moves a request's status may make; everything absent is refused.
ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (S.WAITING, S.ASSIGNED),  # assign_unit
        (S.ASSIGNED, S.EN_ROUTE),  # advance
        (S.EN_ROUTE, S.ON_SCENE),  # advance
        (S.ON_SCENE, S.TRANSPORTING),  # advance: left scene with the person
        (S.ON_SCENE, S.COMPLETED),  # advance: back in service from the scene
        (S.TRANSPORTING, S.AT_DESTINATION),  # advance
        (S.AT_DESTINATION, S.COMPLETED),  # advance: back in service
        # The unit released before arriving (diverted, broken down): the request waits
        # again (release_unit, reassign_unit).
        (S.ASSIGNED, S.WAITING),
        (S.EN_ROUTE, S.WAITING),
        # close_not_served
        *((status, S.NOT_SERVED) for status in BEFORE_ARRIVAL),
    }
)
LIVE_STATUSES = frozenset({S.ASSIGNED, S.EN_ROUTE, S.ON_SCENE, S.TRANSPORTING, S.AT_DESTINATION})
FINAL_STATUSES = frozenset({S.COMPLETED, S.NOT_SERVED})

# The unit's status while its request is in a status; available once the request has let
# it go. The services keep the two together.
UNIT_STATUS_FOR: dict[str, str] = {
    S.ASSIGNED: U.ASSIGNED,
    S.EN_ROUTE: U.EN_ROUTE,
    S.ON_SCENE: U.ON_SCENE,
    S.TRANSPORTING: U.TRANSPORTING,
    S.AT_DESTINATION: U.AT_DESTINATION,
    S.WAITING: U.AVAILABLE,
    S.COMPLETED: U.AVAILABLE,
    S.NOT_SERVED: U.AVAILABLE,
}


class Step(models.TextChoices):
    """What one tap of the unit records."""

    EN_ROUTE = "en_route", gettext_lazy("En route")
    ON_SCENE = "on_scene", gettext_lazy("On scene")
    TRANSPORTING = "transporting", gettext_lazy("Left scene, transporting")
    AT_DESTINATION = "at_destination", gettext_lazy("Arrived at destination")
    TRANSFER_OF_CARE = "transfer_of_care", gettext_lazy("Transfer of care")
    BACK_IN_SERVICE = "back_in_service", gettext_lazy("Back in service")


class StepRule(NamedTuple):
    to: str  # the request's status after the step (the same for a stamp alone)
    stamps: tuple[str, ...]  # TeamRequest columns set to the step's time, each only once


# (request status, step) -> what the step does; a step absent for a status is refused.
STEPS: dict[tuple[str, str], StepRule] = {
    (S.ASSIGNED, Step.EN_ROUTE): StepRule(S.EN_ROUTE, ("en_route_at",)),
    (S.EN_ROUTE, Step.ON_SCENE): StepRule(S.ON_SCENE, ("on_scene_at",)),
    (S.ON_SCENE, Step.TRANSPORTING): StepRule(S.TRANSPORTING, ("left_scene_at",)),
    (S.ON_SCENE, Step.BACK_IN_SERVICE): StepRule(
        S.COMPLETED, ("left_scene_at", "back_in_service_at", "closed_at")
    ),
    (S.TRANSPORTING, Step.AT_DESTINATION): StepRule(S.AT_DESTINATION, ("at_destination_at",)),
    (S.AT_DESTINATION, Step.TRANSFER_OF_CARE): StepRule(S.AT_DESTINATION, ("transfer_of_care_at",)),
    (S.AT_DESTINATION, Step.BACK_IN_SERVICE): StepRule(
        S.COMPLETED, ("back_in_service_at", "closed_at")
    ),
}
# What one tap does where the timeline does not fork. On scene it forks: the team leaves
# with the person (transporting) or is back in service, and must say which.
ONE_TAP: dict[str, str] = {
    S.ASSIGNED: Step.EN_ROUTE,
    S.EN_ROUTE: Step.ON_SCENE,
    S.TRANSPORTING: Step.AT_DESTINATION,
}
# The stamps of the timeline, in its order.
STAMPS = (
    "received_at",
    "dispatched_at",
    "acknowledged_at",
    "en_route_at",
    "on_scene_at",
    "left_scene_at",
    "at_destination_at",
    "transfer_of_care_at",
    "back_in_service_at",
    "closed_at",
)


class TeamRequestQuerySet(models.QuerySet["TeamRequest"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Requests the user may see; never another agency's, none for a system admin.

        Dispatchers, supervisors and agency admins: every request of their agency. A
        social worker: every request of their agency while they are on a unit's open
        shift (the team reads the board: what waits, where the others are going, whom to
        back up), and at any time the requests of the shifts they were on (to record the
        contact after the shift). One small query (shiftmember_user_idx) decides which.
        """
        agency_id = agency_seen_by(user)
        if agency_id is None:
            return self.none()
        in_agency = self.filter(agency_id=agency_id)
        person = cast(User, user)  # signed in: agency_seen_by
        if person.role != Role.SOCIAL_WORKER:
            return in_agency
        on_shift = ShiftMember.objects.filter(user_id=person.pk, shift__ended_at__isnull=True)
        if on_shift.exists():
            return in_agency
        answered = Assignment.objects.filter(shift__members__user_id=person.pk)
        return in_agency.filter(pk__any_of=answered.values("request_id"))

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Requests the user may change as a dispatcher: their agency's, for dispatchers
        and supervisors (User.can_dispatch). A unit's members move their own request along
        its timeline through the services, which check the shift themselves."""
        if not user.is_authenticated or not user.can_dispatch:
            return self.none()
        return self.filter(agency_id=user.agency_id)

    def waiting(self) -> Self:
        """Requests waiting for a unit, oldest first (teamrequest_board_idx)."""
        return self.filter(status=RequestStatus.WAITING).order_by("received_at", "pk")

    def live(self) -> Self:
        """Requests a unit is on."""
        return self.filter(status__in=LIVE_STATUSES)

    def for_list(self) -> Self:
        """A list's rows with what it shows of each joined in."""
        return self.select_related("client", "created_by")

    def with_live_unit(self) -> Self:
        """The requests with their live assignment and its unit (`live_assignments`)."""
        live = Assignment.objects.live().select_related("unit")
        return self.prefetch_related(Prefetch("assignments", live, to_attr="live_assignments"))

    def with_timeline(self) -> Self:
        """The requests with their events and every assignment, each with who and which
        unit."""
        events = RequestEvent.objects.select_related("actor", "unit")
        assignments = Assignment.objects.select_related(
            "unit", "assigned_by", "acknowledged_by", "released_by"
        )
        return self.prefetch_related(
            Prefetch("events", events), Prefetch("assignments", assignments)
        )


class TeamRequest(models.Model):
    """A request for a mobile team, from the call to back in service (or not served).

    The stamp columns (dispatched_at ... closed_at) are the timeline of the response that
    served it, kept here for the measures; every stamp of every unit is a RequestEvent.
    dispatched_at is the first time a team was sent; acknowledged_at and en_route_at are
    the serving unit's, cleared when a unit is released before it arrives.
    """

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=RequestSource.choices)
    callback_number = models.CharField(max_length=40, blank=True)
    location_text = models.CharField(max_length=300, blank=True)
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    reason = models.CharField(max_length=30, choices=RequestReason.choices)
    reason_notes = models.TextField(max_length=2000, blank=True)
    client = models.ForeignKey(
        "cases.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Hazards at the scene: None is "not known", False "asked, none".
    weapons = models.BooleanField(null=True, blank=True)
    violence_history = models.BooleanField(null=True, blank=True)
    animals = models.BooleanField(null=True, blank=True)
    access_notes = models.TextField(max_length=1000, blank=True)
    hazard_notes = models.TextField(max_length=1000, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    # A 988 hand-off (shared DOMAIN notes, "Crisis response").
    centre_name = models.CharField(max_length=200, blank=True)
    centre_call_id = models.CharField(max_length=100, blank=True)
    warm_transfer = models.BooleanField(null=True, blank=True)
    line_open_until_arrival = models.BooleanField(null=True, blank=True)
    active_rescue = models.CharField(max_length=12, choices=ActiveRescue.choices, blank=True)
    # A 911 / CAD hand-off: the same incident is recorded once (teamrequest_cad_unique).
    cad_incident_number = models.CharField(max_length=64, blank=True)
    police_requested = models.BooleanField(null=True, blank=True)
    police_present = models.BooleanField(null=True, blank=True)
    # Whether the person was held, or taken somewhere, against their will (the measures
    # count both; shared DOMAIN notes, "Crisis response"). None is "not recorded".
    involuntary_hold = models.BooleanField(null=True, blank=True)
    involuntary_transport = models.BooleanField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.WAITING
    )
    destination = models.CharField(max_length=300, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    left_scene_at = models.DateTimeField(null=True, blank=True)
    at_destination_at = models.DateTimeField(null=True, blank=True)
    transfer_of_care_at = models.DateTimeField(null=True, blank=True)
    back_in_service_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    not_served_reason = models.CharField(max_length=30, choices=NotServedReason.choices, blank=True)
    not_served_notes = models.TextField(max_length=2000, blank=True)
    # The crisis contact the team recorded (its times come from the stamps).
    contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who recorded it: a dispatcher, or (for a 911 hand-off a CAD posted) the CAD's key.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cad_key = models.ForeignKey(
        "CadKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TeamRequestQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("request")
        ordering = ["-received_at", "-pk"]
        constraints = [
            # record_cad_incident: agency_id = %s AND cad_incident_number = %s, and the
            # same incident posted twice (even at once) is recorded once.
            models.UniqueConstraint(
                fields=["agency", "cad_incident_number"],
                condition=~Q(cad_incident_number=""),
                name="teamrequest_cad_unique",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="teamrequest_both_coordinates_or_none",
            ),
            models.CheckConstraint(
                condition=Q(created_by__isnull=False) | Q(cad_key__isnull=False),
                name="teamrequest_recorded_by_someone",
            ),
            models.CheckConstraint(
                condition=(Q(status=S.NOT_SERVED) & ~Q(not_served_reason=""))
                | (~Q(status=S.NOT_SERVED) & Q(not_served_reason="")),
                name="teamrequest_not_served_has_reason",
            ),
        ]
        indexes = [
            # The board's lists: an agency's requests in a status, oldest first
            # (agency_id = %s AND status = 'waiting' ORDER BY received_at).
            models.Index(fields=["agency", "status", "received_at"], name="teamrequest_board_idx"),
            # The measures: an agency's requests received in a period.
            models.Index(fields=["agency", "received_at"], name="teamrequest_received_idx"),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} ({self.get_reason_display()}, {self.get_priority_display()})"

    def clean(self) -> None:
        """Somewhere to go; the 988 centre's details only on a 988 hand-off."""
        errors: dict[str, str] = {}
        if not self.location_text.strip() and self.latitude is None:
            errors["location_text"] = _("Give the address or place, or the coordinates.")
        if self.source != RequestSource.LIFELINE_988 and self.has_988_details:
            errors["source"] = _("The 988 centre's details are recorded only for a 988 hand-off.")
        if errors:
            raise ValidationError(errors)

    @property
    def has_988_details(self) -> bool:
        return bool(
            self.centre_name
            or self.centre_call_id
            or self.active_rescue
            or self.warm_transfer is not None
            or self.line_open_until_arrival is not None
        )

    def can_transition_to(self, status: str) -> bool:
        return (self.status, status) in ALLOWED_TRANSITIONS

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def next_step(self) -> str | None:
        """What one tap records next; None where the team must choose (on scene: leaving
        with the person or back in service) or when no unit is on the request."""
        if self.status == S.AT_DESTINATION:
            return (
                Step.TRANSFER_OF_CARE if self.transfer_of_care_at is None else Step.BACK_IN_SERVICE
            )
        return ONE_TAP.get(self.status)

    def allowed_steps(self) -> list[str]:
        """The steps the unit may record now, each of whose stamps is not yet set."""
        return [
            step
            for (status, step), rule in STEPS.items()
            if status == self.status and all(getattr(self, s) is None for s in rule.stamps)
        ]

    def latest_stamp(self) -> datetime.datetime:
        """The latest time on the request's timeline: a later stamp may not come before."""
        stamps: list[datetime.datetime] = [getattr(self, name) for name in STAMPS]
        return max(t for t in stamps if t is not None)

    @property
    def response_time(self) -> datetime.timedelta | None:
        """On scene − received (shared DOMAIN notes), once on scene."""
        return None if self.on_scene_at is None else self.on_scene_at - self.received_at

    @property
    def response_minutes(self) -> int | None:
        """The response time in whole minutes, as the board shows it."""
        response = self.response_time
        return None if response is None else int(response.total_seconds() // 60)

    @property
    def waited(self) -> datetime.timedelta | None:
        """How long a request that no unit could take waited before it was closed."""
        if self.not_served_reason != NotServedReason.NO_UNIT_AVAILABLE or self.closed_at is None:
            return None
        return self.closed_at - self.received_at


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def live(self) -> Self:
        """Assignments not released: at most one a request and one a unit."""
        return self.filter(released_at__isnull=True)

    def awaiting_acknowledgement(self, now: datetime.datetime) -> Self:
        """Live assignments whose unit has not acknowledged by their deadline: the
        dispatcher is to be told (assignment_ack_due_idx)."""
        return self.live().filter(acknowledged_at__isnull=True, acknowledge_by__lte=now)


class Assignment(models.Model):
    """A unit sent to a request, until it is released or the request ends."""

    request = models.ForeignKey(TeamRequest, on_delete=models.PROTECT, related_name="assignments")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="assignments")
    # The shift the unit was on: who answered the request (its foreign key index serves
    # the requests a user's shifts answered, TeamRequest.objects.visible_to).
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledge_by = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_reason = models.CharField(max_length=300, blank=True)
    # The reason's message and arguments when the product wrote it ("back in service",
    # "not served: …"; core.i18n.stored_text), shown in each reader's language; null for a
    # reason a dispatcher typed, and for rows written before.
    release_reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    # The team's make-up when sent, as the shift had it: [{"user_id", "name",
    # "credential"}]; recorded with each response.
    members = models.JSONField(default=list, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["assigned_at", "pk"]
        constraints = [
            # A request's live assignment, and at most one.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(released_at__isnull=True),
                name="assignment_live_per_request",
            ),
            # A unit's live assignment (advance: unit_id = %s AND released_at IS NULL),
            # and at most one.
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(released_at__isnull=True),
                name="assignment_live_per_unit",
            ),
        ]
        indexes = [
            # The acknowledgement sweep: live, unacknowledged assignments whose deadline
            # has come (awaiting_acknowledgement), a handful at any time.
            models.Index(
                fields=["acknowledge_by"],
                condition=Q(released_at__isnull=True, acknowledged_at__isnull=True),
                name="assignment_ack_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} on request {self.request_id}"

    @property
    def is_live(self) -> bool:
        return self.released_at is None

    @property
    def display_release_reason(self) -> str:
        """The release reason in the reader's language when the product wrote it, else as
        typed."""
        return render_stored(self.release_reason_i18n, self.release_reason)

    @property
    def members_shown(self) -> list[dict[str, str]]:
        """The team as sent (`members`), each with their credential's label in the
        reader's language ("credential_label"); a credential no longer offered as stored."""
        labels = dict(Credential.choices)
        return [
            {**m, "credential_label": str(labels.get(m.get("credential"), m.get("credential")))}
            for m in self.members
        ]


class RequestEventKind(models.TextChoices):
    RECEIVED = "received", gettext_lazy("Received")
    DISPATCHED = "dispatched", gettext_lazy("Dispatched")
    ACKNOWLEDGED = "acknowledged", gettext_lazy("Acknowledged")
    EN_ROUTE = "en_route", gettext_lazy("En route")
    ON_SCENE = "on_scene", gettext_lazy("On scene")
    LEFT_SCENE = "left_scene", gettext_lazy("Left scene")
    AT_DESTINATION = "at_destination", gettext_lazy("Arrived at destination")
    TRANSFER_OF_CARE = "transfer_of_care", gettext_lazy("Transfer of care")
    BACK_IN_SERVICE = "back_in_service", gettext_lazy("Back in service")
    NOT_SERVED = "not_served", gettext_lazy("Closed, not served")
    RELEASED = "released", gettext_lazy("Unit released")
    REASSIGNED = "reassigned", gettext_lazy("Reassigned")
    EDITED = "edited", gettext_lazy("Edited")
    CONTACT_RECORDED = "contact_recorded", gettext_lazy("Contact recorded")


# The event each stamp of a step writes.
STAMP_EVENTS: dict[str, str] = {
    "en_route_at": RequestEventKind.EN_ROUTE,
    "on_scene_at": RequestEventKind.ON_SCENE,
    "left_scene_at": RequestEventKind.LEFT_SCENE,
    "at_destination_at": RequestEventKind.AT_DESTINATION,
    "transfer_of_care_at": RequestEventKind.TRANSFER_OF_CARE,
    "back_in_service_at": RequestEventKind.BACK_IN_SERVICE,
}


class RequestEvent(models.Model):
    """The request's timeline: one row per stamp or change, who made it, and where."""

    request = models.ForeignKey(TeamRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=RequestEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="request_events"
    )
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # A request's timeline, in order.
            models.Index(fields=["request", "at"], name="requestevent_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


# --- Responder safety --------------------------------------------------------------------


class AlertKind(models.TextChoices):
    ACK_OVERDUE = "ack_overdue", gettext_lazy("Assignment not acknowledged")
    CHECK_IN_MISSED = "check_in_missed", gettext_lazy("Check-in missed")
    SOS = "sos", gettext_lazy("SOS")


# The alerts about a team's safety: escalated when nobody answers them.
SAFETY_ALERTS = (AlertKind.CHECK_IN_MISSED, AlertKind.SOS)


class AlertQuerySet(models.QuerySet["Alert"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """The alerts of the user's agency (dispatchers, supervisors, the teams)."""
        agency_id = agency_seen_by(user)
        return self.none() if agency_id is None else self.filter(agency_id=agency_id)

    def open(self) -> Self:
        """Alerts nobody has resolved yet, newest first (alert_open_idx)."""
        return self.filter(resolved_at__isnull=True).order_by("-raised_at", "-pk")

    def to_escalate(self, now: datetime.datetime, after: datetime.timedelta) -> Self:
        """Open safety alerts raised `after` ago or more and not yet escalated
        (alert_escalation_idx)."""
        return self.filter(
            resolved_at__isnull=True,
            escalated_at__isnull=True,
            kind__in=SAFETY_ALERTS,
            raised_at__lte=now - after,
        )


class Alert(models.Model):
    """Something the dispatcher must act on now: a unit that did not acknowledge its
    assignment, a team on scene that missed its check-in, an SOS. Raised by the services
    (dispatch.services.safety), shown on the board, sent to the people who must know, and
    open until someone resolves it."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="alerts")
    request = models.ForeignKey(
        TeamRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    # Who pressed SOS; None for an alert the sweep raised.
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The unit's last known position when the alert was raised (or its base).
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)
    # As Assignment.release_reason_i18n: for a resolution the product wrote ("The team
    # checked in."); null for one a dispatcher typed.
    resolution_i18n = models.JSONField(null=True, blank=True, editable=False)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            # One acknowledgement alert an assignment, however often the sweep runs.
            models.UniqueConstraint(
                fields=["assignment", "kind"],
                condition=Q(kind="ack_overdue"),
                name="alert_ack_once_per_assignment",
            ),
        ]
        indexes = [
            # The board: an agency's open alerts, newest first.
            models.Index(
                fields=["agency", "-raised_at"],
                condition=Q(resolved_at__isnull=True),
                name="alert_open_idx",
            ),
            # The escalation sweep: open, unescalated alerts by age (to_escalate).
            models.Index(
                fields=["raised_at"],
                condition=Q(resolved_at__isnull=True, escalated_at__isnull=True),
                name="alert_escalation_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.unit_id}) at {self.raised_at:%H:%M:%S}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def display_resolution(self) -> str:
        """How the alert was resolved, in the reader's language when the product wrote
        it, else as typed."""
        return render_stored(self.resolution_i18n, self.resolution)


# --- CAD keys ----------------------------------------------------------------------------


class CadKeyQuerySet(models.QuerySet["CadKey"]):
    def active(self) -> Self:
        return self.filter(revoked_at__isnull=True)


class CadKey(models.Model):
    """An agency's key for its CAD (computer-aided dispatch) system to post incidents.

    The key is shown once when made (services.cad_keys.create_cad_key):
    ``cad_<prefix>_<secret>``; only the prefix (to find the row) and the SHA-256 of the
    whole key are kept. A key posts to its own agency and nowhere else."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(
        max_length=100, help_text=gettext_lazy("Which system holds it: “County CAD”.")
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CadKeyQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("CAD key")
        ordering = ["agency", "name"]

    def __str__(self) -> str:
        return f"{self.name} (cad_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
