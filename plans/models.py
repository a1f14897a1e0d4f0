"""The plans people carry: the client's safety plan and the responders' crisis response plan.

A safety plan (the Safety Planning Intervention, Stanley and Brown; DOMAIN.md "Safety
planning") is written with the client in their own words and goes home with them: on
paper, as a PDF, or by a link (SafetyPlanLink). Every change is a new SafetyPlanVersion:
nothing written is ever overwritten, and each version keeps who wrote it and when.

A crisis response plan is for the team that may be sent to the person: what sets a
crisis off, what helps, what to avoid, whom to call, the preferred hospital or provider
and the hazards. A worker writes it, a supervisor who is not the author approves it, and
it is reviewed at the interval the agency sets (Agency.crisis_plan_review_days). Each
row is one version; the approved one is what responders see.

Both belong to the person (the client), not to one case: a plan made during one episode
still holds at the next call.
"""

import datetime
import uuid
from dataclasses import dataclass
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from cases.models import Client
from core import links
from core.i18n import StrOrPromise

# --- The safety plan --------------------------------------------------------------------------


class Section(models.TextChoices):
    """The steps of a safety plan, in casebook's own words (the published form's wording
    is copyrighted). The values are the version's JSON fields."""

    WARNING_SIGNS = "warning_signs", _("Signs that a hard time is starting")
    COPING = "coping", _("What I can do on my own")
    DISTRACTIONS = "distractions", _("People and places that take my mind off things")
    HELP_PEOPLE = "help_people", _("People I can reach out to for help")
    PROFESSIONALS = "professionals", _("Services and professionals I can call")
    MEANS = "means", _("Making where I am safer")
    REASONS = "reasons", _("What matters to me")


# What each step asks, as the form and the printed plan put it to the client.
PROMPTS = {
    Section.WARNING_SIGNS: _(
        "What do I notice in my thoughts, feelings or actions when things start to get worse?"
    ),
    Section.COPING: _("Things that calm me or get me through the moment by myself."),
    Section.DISTRACTIONS: _(
        "People I can be with and places I can go to think about something else."
    ),
    Section.HELP_PEOPLE: _("People I trust to call or text when I need support."),
    Section.PROFESSIONALS: _("People whose job it is to help, any hour of the day."),
    Section.MEANS: _("What we agreed to put out of reach, and who will do it."),
    Section.REASONS: _("People, plans and things that give me reasons to keep going."),
}

# Steps written as a list of short lines.
LINE_SECTIONS = (Section.WARNING_SIGNS, Section.COPING, Section.REASONS)
# Steps written as names with a phone number (a place may have none).
PEOPLE_SECTIONS = (Section.DISTRACTIONS, Section.HELP_PEOPLE, Section.PROFESSIONALS)
# The steps a plan must have something in (someone to reach out to may be missing: the
# services, 988 first, are always there; reasons for living are optional).
REQUIRED_SECTIONS = (Section.WARNING_SIGNS, Section.COPING)

# 988, always on the plan (call or text, any hour, in English and Spanish).
LIFELINE = "988"


class MeansKind(models.TextChoices):
    FIREARMS = "firearms", _("Firearms")
    MEDICATIONS = "medications", _("Medications")
    OTHER = "other", _("Other means")


def visible_clients(user: User | AnonymousUser) -> Q:
    """A filter for rows that belong to a client (`client` column): those of clients the
    user may see (Client.objects.visible_to), the agency column for an agency admin."""
    from accounts.models import Role

    if user.is_authenticated and user.agency_id and user.role == Role.AGENCY_ADMIN:
        return Q(agency_id=user.agency_id)
    return Q(client_id__any_of=Client.objects.visible_to(user).values("pk"))


class SafetyPlanQuerySet(models.QuerySet["SafetyPlan"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Plans of clients the user may see."""
        return self.filter(visible_clients(user))

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Plans of clients whose details the user may change."""
        if not user.is_authenticated or not user.works_cases:
            return self.none()
        return self.filter(client_id__any_of=Client.objects.writable_by(user).values("pk"))


class SafetyPlan(models.Model):
    """A client's safety plan: one per person, its content in its versions."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="safety_plan")
    # The case the plan was last written on (its timeline tells of each version).
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    current = models.OneToOneField(
        "SafetyPlanVersion", on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = SafetyPlanQuerySet.as_manager()
    # Merging two records of one person (cases.services.merge_clients): a survivor's
    # own plan stays the person's; the duplicate's is kept on the merged record.
    MERGE_KEEPS_SURVIVORS = True

    class Meta:
        indexes = [
            # Agency-wide lists and the API's filters.
            models.Index(fields=["agency", "-updated_at"], name="safetyplan_agency_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"Safety plan of {self.client}"


class SafetyPlanVersion(models.Model):
    """One version of a safety plan, as it was saved; never changed afterwards.

    The list steps are JSON lists: of strings (LINE_SECTIONS) or of {"name", "phone"}
    (PEOPLE_SECTIONS). `services` are the directory's services chosen for step 5, as they
    read when the version was saved ({"service_id", "name", "phone"}), and `agency_line`
    the agency's own crisis line then: a printed plan does not change under the client's
    feet when the directory does. Lethal-means steps are SafetyPlanMeans rows.
    """

    plan = models.ForeignKey(SafetyPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Where it was written: during a contact, or on a follow-up call.
    contact = models.ForeignKey(
        "cases.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    followup = models.ForeignKey(
        "followups.FollowUp", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    change_note = models.CharField(max_length=300, blank=True)

    warning_signs = models.JSONField(default=list)
    coping = models.JSONField(default=list)
    distractions = models.JSONField(default=list)
    help_people = models.JSONField(default=list)
    professionals = models.JSONField(default=list)
    services = models.JSONField(default=list)
    agency_line = models.CharField(max_length=40, blank=True)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="safetyplanversion_number"),
        ]
        indexes = [
            # The measures: versions saved in a window after a high-risk screen.
            models.Index(fields=["plan", "created_at"], name="safetyplanversion_plan_at_idx"),
        ]

    def __str__(self) -> str:
        return f"Safety plan {self.plan_id} version {self.number}"

    @property
    def steps(self) -> list["PlanStep"]:
        """The seven steps in order, each with its title, its prompt and what this version
        holds (the lethal-means step's are its `means` rows), for the pages and the
        printed plan (templates/plans/_safety_plan_body.html) in the active language."""
        return [
            PlanStep(
                section=section.value,
                title=section.label,
                prompt=PROMPTS[section],
                entries=[] if section == Section.MEANS else getattr(self, section.value),
                people=section in PEOPLE_SECTIONS,
            )
            for section in Section
        ]


@dataclass(frozen=True)
class PlanStep:
    section: str
    title: StrOrPromise
    prompt: StrOrPromise
    # Lines (str), or {"name", "phone"} for the steps about people.
    entries: list[Any]
    people: bool


class SafetyPlanMeans(models.Model):
    """A lethal-means step of a version: what was agreed, who will do it, and whether it
    was later confirmed done (`confirmed_at`, by `confirmed_by`, carried to later
    versions)."""

    version = models.ForeignKey(SafetyPlanVersion, on_delete=models.PROTECT, related_name="means")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=MeansKind.choices)
    step = models.CharField(_("step agreed"), max_length=300)
    who = models.CharField(_("who will do it"), max_length=200)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["version", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.step}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class LinkChannel(models.TextChoices):
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")


class SafetyPlanLinkQuerySet(models.QuerySet["SafetyPlanLink"]):
    def usable(self, at: datetime.datetime | None = None) -> Self:
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=at)


# How long a link sent to a client opens their plan.
SAFETY_PLAN_LINK_DAYS = 30


class SafetyPlanLink(models.Model):
    """A link that opens the client's safety plan on their phone, without an account.

    The token is `<public_id>.<HMAC of public_id>`: the row holds nothing secret. The link
    shows the plan's current version and nothing else, until it expires or is revoked.
    The message carrying it (`notification`) names nothing clinical.
    """

    plan = models.ForeignKey(SafetyPlan, on_delete=models.PROTECT, related_name="links")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=LinkChannel.choices)
    sent_to = models.CharField(max_length=254)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notification = models.OneToOneField(
        "notifications.Notification",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    objects = SafetyPlanLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Link to safety plan {self.plan_id}"

    PURPOSE = "safety-plan-link"

    @classmethod
    def signature(cls, public_id: uuid.UUID) -> str:
        return links.signature(cls.PURPOSE, public_id)

    def token(self) -> str:
        return links.token(self.PURPOSE, self.public_id)

    @classmethod
    def parse(cls, token: str) -> uuid.UUID | None:
        """The public id a well-formed, correctly signed token names, else None."""
        return links.parse(cls.PURPOSE, token)

    def is_usable(self, at: datetime.datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at

    @staticmethod
    def default_expiry(at: datetime.datetime | None = None) -> datetime.datetime:
        return (at or timezone.now()) + datetime.timedelta(days=SAFETY_PLAN_LINK_DAYS)


# --- The crisis response plan -----------------------------------------------------------------


class CrisisPlanStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("crisis plan", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("crisis plan", "Awaiting approval")
    APPROVED = "approved", pgettext_lazy("crisis plan", "Approved")
    # A later version was approved in its place.
    SUPERSEDED = "superseded", pgettext_lazy("crisis plan", "Replaced")
    # A draft given up, or an approved plan withdrawn (no longer right for the person).
    WITHDRAWN = "withdrawn", pgettext_lazy("crisis plan", "Withdrawn")


# Which move each status allows (services.crisis: each is one function).
ALLOWED_TRANSITIONS = {
    CrisisPlanStatus.DRAFT: (CrisisPlanStatus.SUBMITTED, CrisisPlanStatus.WITHDRAWN),
    CrisisPlanStatus.SUBMITTED: (
        CrisisPlanStatus.APPROVED,
        CrisisPlanStatus.DRAFT,  # returned to the author with a note
        CrisisPlanStatus.WITHDRAWN,
    ),
    CrisisPlanStatus.APPROVED: (CrisisPlanStatus.SUPERSEDED, CrisisPlanStatus.WITHDRAWN),
    CrisisPlanStatus.SUPERSEDED: (),
    CrisisPlanStatus.WITHDRAWN: (),
}
# A version still being written or waiting for approval: one per person at a time.
PENDING_STATUSES = (CrisisPlanStatus.DRAFT, CrisisPlanStatus.SUBMITTED)


class CrisisPlanQuerySet(models.QuerySet["CrisisPlan"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Plans of clients the user may see."""
        return self.filter(visible_clients(user))

    def approved(self) -> Self:
        return self.filter(status=CrisisPlanStatus.APPROVED)

    def review_overdue(self, now: datetime.datetime) -> Self:
        """Approved plans whose review date has passed (crisisplan_review_idx)."""
        return self.approved().filter(review_due_at__lte=now)


class CrisisPlan(models.Model):
    """One version of a person's crisis response plan (see the module's docstring)."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="crisis_plans")
    # The case it was written on: the supervisor who approves it supervises its team.
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=CrisisPlanStatus.choices, default=CrisisPlanStatus.DRAFT
    )

    triggers = models.TextField(_("what sets a crisis off"), max_length=2000, blank=True)
    helps = models.TextField(_("what helps"), max_length=2000, blank=True)
    avoid = models.TextField(_("what to avoid"), max_length=2000, blank=True)
    # [{"name", "relation", "phone"}]: whom to call.
    contacts = models.JSONField(default=list, blank=True)
    preferred_care = models.CharField(
        _("preferred hospital or provider"), max_length=300, blank=True
    )
    hazards = models.TextField(_("hazards for the team"), max_length=2000, blank=True)

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Everyone who wrote in this version, the author included: none of them approves it.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    returned_note = models.CharField(max_length=300, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # When the approved plan must next be reviewed (approval or last review + the
    # agency's interval).
    review_due_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = CrisisPlanQuerySet.as_manager()
    # As SafetyPlan: the survivor's versions stay the person's when it has any.
    MERGE_KEEPS_SURVIVORS = True

    class Meta:
        ordering = ["client", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["client", "number"], name="crisisplan_number"),
            # Responders see one plan for a person.
            models.UniqueConstraint(
                fields=["client"], condition=Q(status="approved"), name="crisisplan_one_approved"
            ),
            # One version being written or waiting at a time.
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status__in=["draft", "submitted"]),
                name="crisisplan_one_pending",
            ),
            # Approved by someone other than its author.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("author")),
                name="crisisplan_not_self_approved",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(approved_at__isnull=False, review_due_at__isnull=False),
                name="crisisplan_approved_has_dates",
            ),
        ]
        indexes = [
            # The supervisor's page and the measures: approved plans by review date.
            models.Index(
                fields=["agency", "review_due_at"],
                condition=Q(status="approved"),
                name="crisisplan_review_idx",
            ),
            # The supervisor's page: versions waiting for approval.
            models.Index(
                fields=["agency", "submitted_at"],
                condition=Q(status="submitted"),
                name="crisisplan_submitted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Crisis plan of {self.client} version {self.number}"

    def can_transition_to(self, status: str) -> bool:
        return status in ALLOWED_TRANSITIONS[CrisisPlanStatus(self.status)]

    def written_by(self, user: User) -> bool:
        """Whether `user` wrote in this version (its author or an editor): they do not
        approve or review it."""
        return self.author_id == user.pk or any(e.pk == user.pk for e in self.editors.all())

    def is_review_overdue(self, at: datetime.datetime | None = None) -> bool:
        return (
            self.status == CrisisPlanStatus.APPROVED
            and self.review_due_at is not None
            and self.review_due_at <= (at or timezone.now())
        )
