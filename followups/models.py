"""Follow-up protocols (as versioned data), enrolments, follow-ups and their attempts, and
the hospital visits that anchor them.

The database is the source of truth for every follow-up: its status changes at the times
stored on the row (window_start, due_at, window_end), applied by the sweeper
(followups/engine/), never by a long-lived Celery ETA.

Statuses over time, for a follow-up that is not done:

    scheduled --window_start--> due --due_at--> overdue --window_end--> missed

A follow-up is completed by a successful attempt or by the contact that completes it,
at any time until it is missed; "done within window" is completed by window_end (done
early, before the window opens, counts too; protocol fidelity alone asks for
window_start <= completed_at <= window_end, see metrics/compliance.py). A missed
follow-up can still be recorded as done late: it then counts as completed, not within
its window. Cancelled always carries a reason.
"""

import datetime
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases.cssrs import RISK_ORDER, RiskLevel
from core.i18n import render_stored
from followups import texts
from plans.models import SafetyPlan


def _shown(text: str, data: Any) -> str:
    """A stored reason in the reader's language: from its message and arguments when the
    product wrote it as a stored text (core.i18n), else as `texts.shown` shows it."""
    return render_stored(data, text) if data else texts.shown(text)


# --- Protocols ------------------------------------------------------------------------------


class Trigger(models.TextChoices):
    """What recorded fact enrols a client in a protocol."""

    ED_VISIT = "ed_visit", _("ER visit or hospital discharge")
    HIGH_RISK = "high_risk", _("High suicide risk on the C-SSRS screener")
    RESOLVED_ON_SCENE = "resolved_on_scene", _("Crisis contact resolved on scene")
    REFERRAL_SENT = "referral_sent", _("Referral sent")
    PSYCHIATRIC_DISCHARGE = "psychiatric_discharge", _("Discharge after a psychiatric stay")
    MANUAL = "manual", _("Enrolled by a worker")


class Method(models.TextChoices):
    PHONE = "phone", _("Phone call")
    VISIT = "visit", _("Visit")
    TEXT = "text", _("Text message")
    LETTER = "letter", _("Letter or card")


class Performer(models.TextChoices):
    ASSIGNED_WORKER = "assigned_worker", _("The case's assigned worker")
    SUPERVISOR = "supervisor", _("The team's supervisor")


class Unit(models.TextChoices):
    """How a step's offsets count. See followups/schedule.py for the written DST rule."""

    DAYS = "days", _("Days (calendar days in the agency's time zone)")
    HOURS = "hours", _("Hours (elapsed time)")


class EndRule(models.TextChoices):
    """When an enrolment ends besides running out of steps."""

    STEPS_DONE = "steps_done", _("When every step is done, missed or cancelled")
    ENGAGED_IN_CARE = (
        "engaged_in_care",
        _("When the client has attended a mental health appointment or declines further calls"),
    )


class ProtocolQuerySet(models.QuerySet["Protocol"]):
    def for_agency(self, agency_id: int) -> Self:
        return self.filter(agency_id=agency_id)

    def active(self) -> Self:
        return self.filter(is_active=True)


class Protocol(models.Model):
    """A named follow-up protocol of one agency. Its steps live in versions: editing makes
    a new version, which applies to new enrolments only."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    # Among the protocols of one trigger, the more intensive one is chosen for a high
    # C-SSRS risk (the Safety Planning calls over the plain post-discharge contacts).
    intensive = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProtocolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "key"], name="protocol_key_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language when the product shipped it; a name the
        agency gave as given (followups.texts.shipped)."""
        return texts.shipped(self.name)

    def current_version(self) -> "ProtocolVersion | None":
        return self.versions.order_by("-number").first()


class ProtocolVersion(models.Model):
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.TextField(
        max_length=4000, help_text=_("What the protocol is for and the evidence it follows.")
    )
    end_rule = models.CharField(max_length=30, choices=EndRule.choices, default=EndRule.STEPS_DONE)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    change_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["protocol", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "number"], name="protocolversion_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} v{self.number}"

    @property
    def display_description(self) -> str:
        """The description in the reader's language when the product shipped it."""
        return texts.shipped(self.description)

    @property
    def display_change_note(self) -> str:
        """The change note in the reader's language when the product wrote it."""
        return texts.shipped(self.change_note)


class ProtocolStep(models.Model):
    """One contact of a protocol: open from `start`, due by `due`, closed after `end`,
    counted from the anchor in `unit`s. A repeating step recurs every `repeat_every` units
    `repeat_times` times in all (null: until the enrolment ends)."""

    version = models.ForeignKey(ProtocolVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.DAYS)
    start = models.PositiveIntegerField()
    due = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PHONE)
    performer = models.CharField(
        max_length=20, choices=Performer.choices, default=Performer.ASSIGNED_WORKER
    )
    repeat_every = models.PositiveIntegerField(null=True, blank=True)
    repeat_times = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="step_position_unique"),
            models.CheckConstraint(
                condition=Q(start__lte=models.F("due")) & Q(due__lte=models.F("end")),
                name="step_start_due_end_ordered",
            ),
            models.CheckConstraint(
                condition=Q(repeat_every__isnull=True) | Q(repeat_every__gt=0),
                name="step_repeat_every_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language when the product shipped it; a name the
        agency gave as given (followups.texts.shipped)."""
        return texts.shipped(self.name)


# --- Hospital visits ------------------------------------------------------------------------


class VisitKind(models.TextChoices):
    ED = "ed", _("Emergency department visit")
    INPATIENT = "inpatient", _("Inpatient admission")


class VisitReason(models.TextChoices):
    """The principal reason, as HEDIS FUM (mental illness, intentional self-harm) and FUA
    (substance use disorder, drug overdose) select ED visits."""

    MENTAL_HEALTH = "mental_health", _("Mental health crisis")
    SELF_HARM = "self_harm", _("Intentional self-harm")
    SUBSTANCE_USE = "substance_use", _("Substance use")
    OVERDOSE = "overdose", _("Drug overdose")
    OTHER = "other", _("Other (medical)")


FUM_REASONS = (VisitReason.MENTAL_HEALTH, VisitReason.SELF_HARM)
FUA_REASONS = (VisitReason.SUBSTANCE_USE, VisitReason.OVERDOSE)


class HospitalVisitQuerySet(models.QuerySet["HospitalVisit"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        from cases.models import on_visible_cases

        return self.filter(on_visible_cases(user))


class HospitalVisit(models.Model):
    """An ER visit or inpatient admission of a client, recorded on the case: by hand, or
    by a contact whose disposition was transported to ER or hospitalised."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="hospital_visits")
    client = models.ForeignKey(
        "cases.Client", on_delete=models.PROTECT, related_name="hospital_visits"
    )
    kind = models.CharField(max_length=10, choices=VisitKind.choices, default=VisitKind.ED)
    reason = models.CharField(max_length=20, choices=VisitReason.choices)
    arrived_at = models.DateTimeField()
    discharged_at = models.DateTimeField(null=True, blank=True)
    # An ED visit that led to an inpatient stay (left out of FUM/FUA).
    admitted = models.BooleanField(default=False)
    facility = models.CharField(max_length=200, blank=True)
    source_contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HospitalVisitQuerySet.as_manager()

    class Meta:
        ordering = ["-arrived_at", "-pk"]
        indexes = [
            # FUM/FUA denominators: an agency's ED visits in a period.
            models.Index(fields=["agency", "kind", "arrived_at"], name="visit_agency_kind_idx"),
            # The 31-day rule and the inpatient exclusion: a client's visits in time order.
            models.Index(fields=["client", "arrived_at"], name="visit_client_arrived_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True)
                | Q(discharged_at__gte=models.F("arrived_at")),
                name="visit_discharged_after_arrived",
            ),
            # A contact records at most one visit (its disposition).
            models.UniqueConstraint(
                fields=["source_contact"],
                condition=Q(source_contact__isnull=False),
                name="visit_one_per_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.arrived_at:%Y-%m-%d}"

    @property
    def anchor_at(self) -> datetime.datetime:
        """Follow-up protocols count from the discharge when it is known."""
        return self.discharged_at or self.arrived_at


# --- Enrolments -----------------------------------------------------------------------------


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")
    CANCELLED = "cancelled", _("Cancelled")


class Enrolment(models.Model):
    """A case following one version of a protocol from an anchor time, and why."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="enrolments")
    version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="enrolments"
    )
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    reason = models.CharField(max_length=300, help_text=_("Why the client was enrolled."))
    # The reason's message and arguments when the product wrote it (core.i18n.stored_text),
    # shown in each reader's language; null for a reason a person typed.
    reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    anchor_at = models.DateTimeField()
    source_contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_visit = models.ForeignKey(
        HospitalVisit, on_delete=models.PROTECT, null=True, blank=True, related_name="enrolments"
    )
    source_referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    end_reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["case"], condition=Q(status="active"), name="enrolment_active_case_idx"
            ),
        ]
        constraints = [
            # One fact enrols once per protocol version: re-running enrolment is a no-op.
            models.UniqueConstraint(
                fields=["version", "source_contact"],
                condition=Q(source_contact__isnull=False),
                name="enrolment_once_per_contact",
            ),
            models.UniqueConstraint(
                fields=["version", "source_visit"],
                condition=Q(source_visit__isnull=False),
                name="enrolment_once_per_visit",
            ),
            models.UniqueConstraint(
                fields=["version", "source_referral"],
                condition=Q(source_referral__isnull=False),
                name="enrolment_once_per_referral",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} for case {self.case_id}"

    @property
    def display_reason(self) -> str:
        """Why the client was enrolled, in the reader's language when the product wrote it."""
        return _shown(self.reason, self.reason_i18n)

    @property
    def display_end_reason(self) -> str:
        """Why it ended, in the reader's language when the product wrote it."""
        return _shown(self.end_reason, self.end_reason_i18n)


# --- Follow-ups -----------------------------------------------------------------------------


class Status(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DUE = "due", _("Due")
    OVERDUE = "overdue", _("Overdue")
    COMPLETED = "completed", _("Completed")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (Status.SCHEDULED, Status.DUE, Status.OVERDUE)

# The shipped Safety Planning Intervention protocol (followups/protocols.py).
SAFETY_PLANNING_KEY = "safety-planning-calls"
# Follow-ups whose completion needs a written note: the Safety Planning calls, each of
# which checks risk and reviews the safety plan (Stanley, Brown et al., JAMA Psychiatry
# 2018), and any call to a client at high C-SSRS risk. A contact recorded for it is its
# note.
NOTE_REQUIRED = Q(case__risk_level=RiskLevel.HIGH) | Q(
    enrolment__version__protocol__key=SAFETY_PLANNING_KEY
)


def plan_review_asked() -> Q:
    """Follow-ups whose completion asks whether the client's safety plan was gone over
    and whether it changed: the Safety Planning calls, and any follow-up on the case of a
    client who has a safety plan (plans.SafetyPlan). A filter, or an annotation's
    condition (FollowUpQuerySet.with_plan_review)."""
    has_plan = SafetyPlan.objects.filter(client_id=models.OuterRef("case__client_id"))
    return Q(enrolment__version__protocol__key=SAFETY_PLANNING_KEY) | Q(models.Exists(has_plan))


ACTIONABLE_STATUSES = (Status.DUE, Status.OVERDUE)
CLOSED_STATUSES = (Status.COMPLETED, Status.MISSED, Status.CANCELLED)


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Follow-ups on cases the user may see (Case.objects.visible_to)."""
        from cases.models import on_visible_cases

        return self.filter(on_visible_cases(user))

    def open(self) -> Self:
        return self.filter(status__in=OPEN_STATUSES)

    def actionable(self) -> Self:
        """Due or overdue: what a worker should do now."""
        return self.filter(status__in=ACTIONABLE_STATUSES)

    def needing_sweep(self, now: datetime.datetime) -> Self:
        """Rows whose next state change or reminder is at or before `now`, and not held by
        a live lease (the sweeper's claim query; followup_sweep_idx)."""
        return self.filter(next_check_at__lte=now, parked_at__isnull=True).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        )

    def with_note_required(self) -> Self:
        """Annotate `note_required`: whether completing it needs a note (NOTE_REQUIRED)."""
        return self.annotate(
            note_required=models.ExpressionWrapper(
                NOTE_REQUIRED, output_field=models.BooleanField()
            )
        )

    def asking_plan_review(self) -> Self:
        """Those whose completion asks about the client's safety plan (plan_review_asked)."""
        return self.filter(plan_review_asked())

    def with_plan_review(self) -> Self:
        """Annotate `plan_asked`: whether completing it asks about the safety plan
        (plan_review_asked), in the same query."""
        # CASE rather than the bare condition: a one-off has no protocol key (NULL).
        return self.annotate(
            plan_asked=models.Case(
                models.When(plan_review_asked(), then=True),
                default=False,
                output_field=models.BooleanField(),
            )
        )

    def for_today(self) -> Self:
        """The Today list's rows with what they show joined in."""
        return self.select_related("case__client", "enrolment__version__protocol", "step")


class FollowUp(models.Model):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="followups")
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, null=True, blank=True, related_name="followups"
    )
    step = models.ForeignKey(
        ProtocolStep, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurrence = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    reason = models.CharField(max_length=300, help_text=_("Why this follow-up exists."))
    # As Enrolment.reason_i18n: copied from the enrolment, null for a one-off's.
    reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PHONE)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups"
    )
    window_start = models.DateTimeField()
    due_at = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Asked on a Safety Planning call and on any follow-up of a client with a safety plan
    # (plans.SafetyPlan): was the plan gone over with the client, and did it change?
    # None: not asked.
    plan_reviewed = models.BooleanField(null=True, blank=True)
    plan_changed = models.BooleanField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancel_reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # The engine (followups/engine/). next_check_at: when the sweeper must next look
    # at the row (its next status change); null once nothing more will happen to it.
    next_check_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    # Dispatches since the last successful processing; past a bound the row is parked.
    dispatch_count = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            # The sweeper: rows whose next check has come (partial: closed rows drop out).
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False, parked_at__isnull=True),
                name="followup_sweep_idx",
            ),
            # Today list: a worker's open follow-ups by time.
            models.Index(
                fields=["assigned_to", "window_end"],
                condition=Q(status__in=["scheduled", "due", "overdue"]),
                name="followup_open_worker_idx",
            ),
            # Caseload "next due" and the case page.
            models.Index(fields=["case", "due_at"], name="followup_case_due_idx"),
            # Compliance by period.
            models.Index(fields=["agency", "due_at"], name="followup_agency_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("due_at"))
                & Q(due_at__lte=models.F("window_end")),
                name="followup_window_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="followup_completed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                name="followup_cancelled_has_reason",
            ),
            # A protocol step's occurrence exists once per enrolment.
            models.UniqueConstraint(
                fields=["enrolment", "step", "occurrence"],
                condition=Q(enrolment__isnull=False),
                name="followup_step_occurrence_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (case {self.case_id})"

    @property
    def display_title(self) -> str:
        """The title in the reader's language: the product's own words in it (a one-off's
        default title, a repeating step's "2 of 4", the names of a shipped protocol and
        its step) translated; names the agency gave, and a title a worker typed, as
        stored (followups.texts)."""
        return texts.shown_title(
            self.title, from_step=self.step_id is not None, occurrence=self.occurrence
        )

    @property
    def display_reason(self) -> str:
        """Why it exists, in the reader's language when the product wrote it."""
        return _shown(self.reason, self.reason_i18n)

    @property
    def display_cancel_reason(self) -> str:
        """Why it was cancelled, in the reader's language when the product wrote it."""
        return _shown(self.cancel_reason, self.cancel_reason_i18n)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.status == Status.OVERDUE

    @property
    def done_within_window(self) -> bool:
        return (
            self.status == Status.COMPLETED
            and self.completed_at is not None
            and self.completed_at <= self.window_end
        )

    def status_at(self, now: datetime.datetime) -> str:
        """The time-driven status at `now` for an open follow-up; closed ones keep theirs."""
        if self.status not in OPEN_STATUSES:
            return self.status
        if now >= self.window_end:
            return Status.MISSED
        if now >= self.due_at:
            return Status.OVERDUE
        if now >= self.window_start:
            return Status.DUE
        return Status.SCHEDULED

    def next_boundary(self, now: datetime.datetime) -> datetime.datetime | None:
        """The next time its status changes by itself, or None when it never will."""
        if self.status not in OPEN_STATUSES:
            return None
        for at in (self.window_start, self.due_at, self.window_end):
            if at > now:
                return at
        return None

    @property
    def plan_review_label(self) -> str:
        """The safety plan answers its completion recorded, in the reader's language;
        blank when they were not asked."""
        if self.plan_reviewed is None:
            return ""
        if not self.plan_reviewed:
            return str(_("Safety plan not reviewed"))
        if self.plan_changed:
            return str(_("Safety plan reviewed, changed"))
        return str(_("Safety plan reviewed, not changed"))

    @property
    def risk_rank(self) -> int:
        return RISK_ORDER.get(self.case.risk_level, 0)


class AttemptOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    LEFT_MESSAGE = "left_message", _("Left a message")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DECLINED = "declined", _("Declined")


class Attempt(models.Model):
    """One try at a follow-up. A reached attempt completes it."""

    followup = models.ForeignKey(FollowUp, on_delete=models.PROTECT, related_name="attempts")
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10, choices=Method.choices)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    note = models.TextField(max_length=2000, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The form's one-time id: an attempt sent twice (a retry from the phone's outbox) is
    # logged once.
    submission_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["followup", "at"], name="attempt_followup_at_idx")]
        constraints = [
            # A repeated submit of the same form logs one attempt (services.log_attempt).
            models.UniqueConstraint(
                fields=["by", "submission_id"],
                condition=Q(submission_id__isnull=False),
                name="attempt_submission_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.at:%Y-%m-%d %H:%M}"


class FollowUpEventKind(models.TextChoices):
    CREATED = "created", _("Scheduled")
    STATUS = "status", _("Status changed")
    ATTEMPT = "attempt", _("Attempt logged")
    ATTEMPT_UNDONE = "attempt_undone", _("Attempt undone")
    COMPLETED = "completed", _("Completed")
    RESCHEDULED = "rescheduled", _("Due date moved")
    REASSIGNED = "reassigned", _("Reassigned")
    CANCELLED = "cancelled", _("Cancelled")
    PARKED = "parked", _("Processing stopped after repeated failures")
    RELEASED = "released", _("Processing resumed")


class FollowUpEvent(models.Model):
    """The history of one follow-up: who did what, when, and the values it replaced (a
    moved due date keeps the old window, the new one, the reason and who moved it)."""

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=FollowUpEventKind.choices)
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["followup", "at"], name="fuevent_followup_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at}"

    @property
    def display_reason(self) -> str:
        """The reason, in the reader's language when the product wrote it (as a fixed text,
        or as a stored text kept in detail["reason_i18n"])."""
        return _shown(self.reason, (self.detail or {}).get("reason_i18n"))
