import datetime
import unicodedata
from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, Role, User
from cases.cssrs import RiskLevel
from cases.names import phonetic_key
from core import lookups  # noqa: F401  (registers field__any_of)
from core.i18n import render_stored

# --- Reference data (edited in the Django admin) ------------------------------------------


_Reference = TypeVar("_Reference", bound="ReferenceItem")


class ReferenceQuerySet(models.QuerySet[_Reference]):
    def active(self) -> Self:
        return self.filter(is_active=True)


class ReferenceItem(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    sort_order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["sort_order", "label"]

    def __str__(self) -> str:
        # The label in the reader's language when it is one the product installed
        # (SEEDED_LABELS); a label an agency typed in the admin shows as typed.
        return gettext(self.label) if self.label else self.label


# The labels migration 0002 installs (concerns, call natures, services on scene), marked
# here so that makemessages finds them: ReferenceItem.__str__ shows them translated.
SEEDED_LABELS = (
    gettext_noop("Mental health"),
    gettext_noop("Suicide risk or self-harm"),
    gettext_noop("Substance use"),
    gettext_noop("Housing or homelessness"),
    gettext_noop("Domestic violence"),
    gettext_noop("Medical"),
    gettext_noop("Food insecurity"),
    gettext_noop("Financial hardship"),
    gettext_noop("Family or relationship conflict"),
    gettext_noop("Legal"),
    gettext_noop("Other"),
    gettext_noop("Welfare check"),
    gettext_noop("Suicidal ideation or threat"),
    gettext_noop("Mental-health crisis"),
    gettext_noop("Intoxication"),
    gettext_noop("Disorientation or confusion"),
    gettext_noop("Trespass or disturbance"),
    gettext_noop("Conflict or dispute"),
    gettext_noop("Housing or shelter need"),
    gettext_noop("Transport request"),
    gettext_noop("Medical need"),
    gettext_noop("Crisis counselling or de-escalation"),
    gettext_noop("Safety planning"),
    gettext_noop("First aid"),
    gettext_noop("Transport"),
    gettext_noop("Supplies (food, water, clothing, blankets)"),
    gettext_noop("Information and referral"),
    gettext_noop("Support for family or bystanders"),
)


class Concern(ReferenceItem):
    """A presenting concern: mental health, substance use, housing, ..."""


class CallNature(ReferenceItem):
    """What the call was about, as crisis programmes report it (welfare check, ...)."""


class OnSceneService(ReferenceItem):
    """A service given on scene (counselling, first aid, transport, supplies, ...)."""


# --- Clients -----------------------------------------------------------------------------


def name_key(*names: str) -> str:
    """Lower-case, accent-free, single-spaced: what client search and matching compare."""
    text = " ".join(n for n in names if n)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def phone_digits(phone: str) -> str:
    """Digits only, without a leading US country code, for matching phone numbers."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


class ReminderChannel(models.TextChoices):
    """How the client agreed to receive reminders. Reminders never name the programme,
    a diagnosis or anything clinical (notifications/client_reminders.py)."""

    NONE = "", _("No reminders")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")


class ClientQuerySet(models.QuerySet["Client"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Clients with at least one case the user may see, and clients the user
        registered that have no case yet."""
        if not user.is_authenticated or not user.agency_id or user.role == Role.SYSTEM_ADMIN:
            return self.none()
        if user.role == Role.AGENCY_ADMIN:
            return self.filter(agency_id=user.agency_id)
        if not user.works_cases:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(
            Q(pk__any_of=Case.objects.visible_to(user).values("client_id"))
            | self._registered_without_case_q(user)
        )

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Clients whose details the user may change: those of cases they may change,
        and the caseless clients they registered."""
        if not user.is_authenticated or not user.works_cases:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(
            Q(pk__any_of=Case.objects.writable_by(user).values("client_id"))
            | self._registered_without_case_q(user)
        )

    @staticmethod
    def _registered_without_case_q(user: User) -> Q:
        # Its own id list (an InitPlan over the created_by index): NOT EXISTS beside the
        # other branch of an OR would be hashed over every case of the database.
        caseless = Client.objects.filter(created_by_id=user.pk).exclude(
            Exists(Case.objects.filter(client_id=OuterRef("pk")))
        )
        return Q(pk__any_of=caseless.values("pk"))

    def active(self) -> Self:
        """Clients not merged into another record."""
        return self.filter(merged_into__isnull=True)

    def search(self, text: str) -> Self:
        """Name (legal or preferred, accents ignored), phone or identifier contains text.
        Records merged into another are left out: the survivor is found instead."""
        key = name_key(text)
        query = Q(name_key__contains=key) if key else Q(pk__in=[])
        digits = phone_digits(text)
        if len(digits) >= 4:
            query |= Q(phone_normalized__contains=digits)
        if text.strip():
            query |= Q(identifiers__value__iexact=text.strip())
        return self.active().filter(query).distinct()


class Client(models.Model):
    """A person the agency serves. Belongs to exactly one agency.

    An unidentified person (`is_unidentified`: someone not found, or who gave no name) is
    known by a description until identified (edited to a real identity) or merged into a
    known client. A merged record keeps its own details and points to the survivor
    (`merged_into`); everything recorded about the person moved there
    (services.merge_clients). Records are never deleted.
    """

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="clients")
    legal_name = models.CharField(max_length=200, blank=True)
    preferred_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    estimated_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("When the date of birth is not known.")
    )
    estimated_age_on = models.DateField(null=True, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    preferred_language = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    reminder_channel = models.CharField(
        max_length=10,
        choices=ReminderChannel.choices,
        blank=True,
        default=ReminderChannel.NONE,
        help_text=_("Reminders go only this way, and only if the client agreed."),
    )
    where_to_find = models.TextField(
        max_length=1000, blank=True, help_text=_("Where the client can usually be found.")
    )
    is_unidentified = models.BooleanField(
        _("unidentified person"), default=False, help_text=_("No name given or known yet.")
    )
    description = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("How to recognise an unidentified person, e.g. man, about 40, red jacket."),
    )
    name_key = models.CharField(max_length=420, editable=False, db_index=False)
    # The names' sounds (cases.names.phonetic_key), for duplicate suggestions.
    name_phonetic = models.CharField(max_length=420, editable=False, blank=True, default="")
    phone_normalized = models.CharField(max_length=40, editable=False, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_records",
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["legal_name", "pk"]
        indexes = [
            # Duplicate suggestions: same date of birth within the agency.
            models.Index(fields=["agency", "date_of_birth"], name="client_agency_dob_idx"),
            # Duplicate suggestions and search: same phone within the agency.
            models.Index(fields=["agency", "phone_normalized"], name="client_agency_phone_idx"),
            # Client search by name.
            models.Index(fields=["agency", "name_key"], name="client_agency_name_idx"),
            # On PostgreSQL, GIN trigram indexes on name_key and name_phonetic serve the
            # fuzzy duplicate suggestions (migration 0007, PostgreSQL only).
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_unidentified=True) | ~Q(legal_name=""),
                name="client_named_or_unidentified",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="client_not_merged_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if not self.legal_name:
            if self.description:
                return gettext("Unidentified person: %(description)s") % {
                    "description": self.description
                }
            return gettext("Unidentified person")
        if self.preferred_name and self.preferred_name != self.legal_name:
            return f"{self.preferred_name} ({self.legal_name})"
        return self.legal_name

    @property
    def age(self) -> int | None:
        # The active zone's today: the agency's on every page and API answer (activated
        # by accounts.middleware and casebook.authentication), without a query per row.
        today = timezone.localdate()
        if self.date_of_birth:
            dob = self.date_of_birth
            return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        if self.estimated_age is not None:
            since = self.estimated_age_on or today
            return self.estimated_age + (today - since).days // 365
        return None

    @property
    def age_is_estimated(self) -> bool:
        return self.date_of_birth is None and self.estimated_age is not None

    def refresh_search_keys(self) -> None:
        """Recompute the derived matching keys. Call before saving changed names or phone."""
        self.name_key = name_key(self.legal_name, self.preferred_name)
        self.name_phonetic = phonetic_key(self.legal_name, self.preferred_name)
        self.phone_normalized = phone_digits(self.phone)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    # What each reminder channel needs recorded, and what to say when it is missing.
    REMINDER_NEEDS: ClassVar[dict[str, tuple[str, Any]]] = {
        ReminderChannel.EMAIL: (
            "email",
            _("Give the client's email address for email reminders."),
        ),
        ReminderChannel.TEXT: (
            "phone",
            _("Give the client's phone number for text reminders."),
        ),
    }

    def clean_reminder_channel(self) -> None:
        """Reminders by email need the email address, by text the phone number: raises
        ValidationError naming the missing field. The page and the API check it on the
        details as entered; full_clean() checks it again before a save."""
        needs = self.REMINDER_NEEDS.get(self.reminder_channel)
        if needs:
            name, message = needs
            if not (getattr(self, name) or "").strip():
                raise ValidationError({name: message})

    def clean(self) -> None:
        super().clean()
        if not self.legal_name.strip() and not self.is_unidentified:
            raise ValidationError(
                {
                    "legal_name": gettext(
                        "Give the client's legal name (or the name they give), or "
                        "record an unidentified person with a description."
                    )
                }
            )
        if self.is_unidentified and not self.legal_name.strip() and not self.description.strip():
            raise ValidationError(
                {
                    "description": gettext(
                        "Describe the unidentified person (e.g. man, about 40, red jacket)."
                    )
                }
            )
        self.clean_reminder_channel()


class IdentifierKind(models.TextChoices):
    HMIS = "hmis", _("HMIS id")
    COUNTY = "county", _("County id")
    MEDICAID = "medicaid", _("Medicaid id")
    MRN = "mrn", _("Hospital record number")
    OTHER = "other", _("Other")


class ClientIdentifier(models.Model):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(max_length=100)

    class Meta:
        ordering = ["kind"]
        constraints = [
            # One county / HMIS / ... id names one client in an agency.
            models.UniqueConstraint(
                fields=["agency", "kind", "value"], name="client_identifier_unique_in_agency"
            ),
        ]
        indexes = [
            # Duplicate suggestions and search: an identifier typed in any letter case.
            models.Index(F("agency"), F("kind"), Upper("value"), name="identifier_upper_value_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


# --- Cases -------------------------------------------------------------------------------


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    STABILISED = "stabilised", _("Crisis resolved, client stabilised")
    CONNECTED = "connected", _("Connected to ongoing care")
    DECLINED = "declined", _("Client declined further services")
    UNABLE_TO_CONTACT = "unable_to_contact", _("Unable to contact")
    MOVED = "moved", _("Moved out of the service area")
    TRANSFERRED = "transferred", _("Transferred to another provider")
    DECEASED = "deceased", _("Deceased")
    OPENED_IN_ERROR = "opened_in_error", _("Opened in error")
    OTHER = "other", _("Other")


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Cases the user may see.

        A social worker: cases assigned to them or to their team, and cases opened to
        them by a live emergency access. A dispatcher: none. A supervisor: the same, plus every case of the
        teams they supervise. An agency admin: every case of their agency. A system admin
        and anyone without an agency: none. Never another agency's.

        Each branch of the OR is an index search (worker, team, case ids), which
        PostgreSQL combines with a BitmapOr: no branch may be a plain IN (subquery),
        which would make it test every case of the agency.
        """
        if not user.is_authenticated or not user.agency_id or user.role == Role.SYSTEM_ADMIN:
            return self.none()
        in_agency = self.filter(agency_id=user.agency_id)
        if user.role == Role.AGENCY_ADMIN:
            return in_agency
        if not user.works_cases:
            # A dispatcher reads requests, not caseloads, whatever team they are given.
            return self.none()
        return in_agency.filter(self._scope_q(user) | self._emergency_q(user))

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Cases the user may change: those in their own scope (assigned, team,
        supervised). Agency admins change nothing clinical; emergency access reads and
        adds contacts (contactable_by) but does not change what others recorded."""
        if not user.is_authenticated or not user.works_cases or not user.agency_id:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(self._scope_q(user))

    def contactable_by(self, user: User | AnonymousUser) -> Self:
        """Cases the user may record a contact on: their writable cases and those opened
        to them by a live emergency access."""
        if not user.is_authenticated or not user.works_cases or not user.agency_id:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(
            self._scope_q(user) | self._emergency_q(user)
        )

    @staticmethod
    def _scope_q(user: User) -> Q:
        scope = Q(assigned_worker_id=user.pk)
        if user.team_id:
            scope |= Q(team_id=user.team_id)
        if user.role == Role.SUPERVISOR:
            scope |= Q(team_id__any_of=user.supervised_teams.values("pk"))
        return scope

    @staticmethod
    def _emergency_q(user: User) -> Q:
        return Q(
            pk__any_of=EmergencyAccess.objects.filter(
                user_id=user.pk, expires_at__gt=timezone.now()
            ).values("case_id")
        )

    def open(self) -> Self:
        return self.filter(status=CaseStatus.OPEN)

    def for_caseload(self) -> Self:
        """The caseload page's rows, with everything it shows joined in."""
        return self.select_related("client", "assigned_worker", "team").prefetch_related(
            "presenting_concerns"
        )


class Case(models.Model):
    """One episode of care for a client, opened from a crisis contact."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="cases")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    assigned_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_cases"
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    risk_level = models.CharField(
        max_length=20, choices=RiskLevel.choices, default=RiskLevel.NOT_SCREENED
    )
    risk_assessed_at = models.DateTimeField(null=True, blank=True)
    presenting_concerns = models.ManyToManyField(Concern, blank=True, related_name="cases")
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    last_contact_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_reason = models.CharField(max_length=30, choices=CloseReason.choices, blank=True)
    close_note = models.TextField(max_length=2000, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # A contact adds to the client's open case; there is never more than one.
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="open"),
                name="case_one_open_per_client",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="case_closed_at_matches_status",
            ),
        ]
        indexes = [
            # My caseload: open cases of a worker.
            models.Index(
                fields=["assigned_worker", "-last_contact_at"],
                condition=Q(status="open"),
                name="case_open_worker_idx",
            ),
            # Team caseload and supervisor views: open cases of a team.
            models.Index(
                fields=["team", "-last_contact_at"],
                condition=Q(status="open"),
                name="case_open_team_idx",
            ),
            # Agency-wide lists and API filters.
            models.Index(fields=["agency", "status", "-opened_at"], name="case_agency_status_idx"),
            # visible_to's worker and team branches with the agency in the same index: with
            # the single-column ones, PostgreSQL ANDs in a bitmap of every case of the
            # agency (250k at a million cases) to keep the worker's few thousand.
            models.Index(fields=["agency", "assigned_worker"], name="case_agency_worker_idx"),
            models.Index(fields=["agency", "team"], name="case_agency_team_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} — {self.client}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    CONTACT = "contact", _("Crisis contact")
    AMENDED = "amended", _("Contact amended")
    RISK_CHANGED = "risk_changed", _("Risk level changed")
    CLIENT_UPDATED = "client_updated", _("Client details changed")
    CLIENTS_MERGED = "clients_merged", _("Client records merged")
    CONCERNS_CHANGED = "concerns_changed", _("Presenting concerns changed")
    REASSIGNED = "reassigned", _("Reassigned")
    CLOSED = "closed", _("Case closed")
    EMERGENCY_ACCESS = "emergency_access", _("Emergency access")
    REFERRAL = "referral", _("Referral")
    CONSENT = "consent", _("Consent")
    DISCLOSURE = "disclosure", _("Disclosure")
    FOLLOWUP = "followup", _("Follow-up")
    HOSPITAL_VISIT = "hospital_visit", _("Hospital visit")
    NOTE = "note", _("Note")
    # A photo or document attached to the case (attachments/events.py).
    ATTACHMENT = "attachment", _("Attachment")
    # The client's safety plan and crisis response plan (plans/events.py).
    SAFETY_PLAN = "safety_plan", _("Safety plan")
    CRISIS_PLAN = "crisis_plan", _("Crisis response plan")


class CaseEvent(models.Model):
    """One entry on a case's timeline, written in the same transaction as the change."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=CaseEventKind.choices)
    summary = models.CharField(max_length=300)
    contact = models.ForeignKey(
        "Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # The case timeline.
            models.Index(fields=["case", "-at"], name="caseevent_case_at_idx"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def text(self) -> str:
        """The summary in the reader's language (core.i18n.stored_text, kept in
        detail["i18n"] by the event's constructor)."""
        return render_stored(self.detail.get("i18n"), self.summary)


# --- Contacts ----------------------------------------------------------------------------


class ContactSource(models.TextChoices):
    """Where the call came from. CAHOOTS, STAR and 988 report 911, 988, police request,
    self and other (shared DOMAIN notes, "Crisis contact record")."""

    DIVERSION_911 = "911", _("911 diversion")
    LIFELINE_988 = "988", _("988 Lifeline")
    POLICE_REQUEST = "police", _("Police request")
    SELF = "self", _("Self (the person in crisis asked for help)")
    MOBILE_CRISIS = "mobile_crisis", _("Mobile crisis dispatch")
    WALK_IN = "walk_in", _("Walk-in")
    OUTREACH = "outreach", _("Outreach or welfare check")
    PHONE = "phone", _("Phone")
    HOSPITAL = "hospital", _("Hospital or ER")
    OTHER = "other", _("Other")


class Disposition(models.TextChoices):
    """How the contact ended, as crisis programmes report it: resolved on scene;
    transported to a crisis centre, the ED, a shelter or detox; referred; refused
    (shared DOMAIN notes). Shelter and detox are not an ED transport or an admission:
    they count as ER diversions (metrics.programme) and, like every contact with the
    client, as follow-up (metrics.hedis). Follow-up enrolment: shelter starts the
    post-crisis check as a crisis resolved on scene does; detox starts none, as a crisis
    centre does (followups.services.triggers explains why)."""

    RESOLVED_ON_SCENE = "resolved", _("Resolved on scene")
    REFERRED = "referred", _("Referred to services")
    CRISIS_CENTRE = "crisis_centre", _("Transported to crisis centre")
    SHELTER = "shelter", _("Transported to shelter")
    DETOX = "detox", _("Transported to detox")
    EMERGENCY_ROOM = "er", _("Transported to ER")
    HOSPITALISED = "hospitalised", _("Hospitalised")
    POLICE_CUSTODY = "police_custody", _("Police custody")
    DECLINED = "declined", _("Declined services")
    UNABLE_TO_LOCATE = "unable_to_locate", _("Unable to locate")


def on_visible_cases(user: User | AnonymousUser) -> Q:
    """A filter for rows that belong to a case and its agency (contacts, referrals,
    follow-ups, hospital visits): those on cases the user may see. An agency admin's is
    the agency column; anyone else's searches the rows' case index for the ids of the
    user's visible cases, so a list never scans the agency's rows to keep the user's."""
    if user.is_authenticated and user.agency_id and user.role == Role.AGENCY_ADMIN:
        return Q(agency_id=user.agency_id)
    return Q(case_id__any_of=Case.objects.visible_to(user).values("pk"))


class ContactQuerySet(models.QuerySet["Contact"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Contacts on cases the user may see."""
        return self.filter(on_visible_cases(user))

    def for_list(self) -> Self:
        return self.select_related("case", "client", "recorded_by", "call_nature")


TIME_ORDER = ("received_at", "dispatched_at", "on_scene_at", "cleared_at")
# The times as a message names them ("The on scene time is before the dispatched time.").
TIME_LABELS = {
    "received_at": pgettext_lazy("call time", "received"),
    "dispatched_at": pgettext_lazy("call time", "dispatched"),
    "on_scene_at": pgettext_lazy("call time", "on scene"),
    "cleared_at": pgettext_lazy("call time", "cleared"),
}


# Call times are real times of this service: none before it could exist, and none more
# than a day ahead (a worker on scene may fill in the expected clear time; anything
# further is a typing error, and an absurd year would break every page showing it).
OLDEST_CALL_TIME = datetime.datetime(1990, 1, 1, tzinfo=datetime.UTC)
FUTURE_TOLERANCE = datetime.timedelta(days=1)


def contact_time_errors(times: Mapping[str, datetime.datetime | None]) -> dict[str, str]:
    """Field -> message for call times that are implausible or out of order. A call is
    received, then dispatched, then the team is on scene, then clears; each later time
    given must not be before any earlier one given. The one rule for forms, the API and
    amendments."""
    errors: dict[str, str] = {}
    given = [(name, value) for name in TIME_ORDER if (value := times.get(name)) is not None]
    latest_allowed = timezone.now() + FUTURE_TOLERANCE
    for name, value in given:
        if value < OLDEST_CALL_TIME:
            errors[name] = gettext("Check the year of this time.")
        elif value > latest_allowed:
            errors[name] = gettext("This time is more than a day in the future.")
    if errors:
        return errors
    for i, (name, value) in enumerate(given):
        for earlier, earlier_value in given[:i]:
            if value < earlier_value:
                errors[name] = gettext("The %(later)s time is before the %(earlier)s time.") % {
                    "later": TIME_LABELS[name],
                    "earlier": TIME_LABELS[earlier],
                }
                break
    return errors


# A contact is recorded on the day of the call, or soon after from notes. A call received
# more than LATE_ENTRY_DAYS before the agency's today is recorded only when the worker
# confirms it is a late entry; one more than OLDEST_ENTRY_YEARS back is refused: it is a
# mistyped year (1999 for 2025), and would show as "last contact 27 years ago".
LATE_ENTRY_DAYS = 30
OLDEST_ENTRY_YEARS = 2


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def late_entry_error(
    received_at: datetime.datetime | None,
    agency: Agency | None,
    *,
    confirmed: bool,
    how_to_confirm: str,
) -> str | None:
    """The message for a call received too long ago to record as it is, or None. The day
    is named as the agency's calendar shows it. `how_to_confirm` ends the message that
    asks for the late-entry confirmation (the form's checkbox, the API's flag)."""
    if received_at is None or agency is None:
        return None
    today = agency.today()
    day = agency.day_of(received_at)
    named = agency.describe_day(day)
    if day < _years_before(today, OLDEST_ENTRY_YEARS):
        return gettext(
            "The call would have been received on %(day)s, more than %(years)s "
            "years ago: check the year."
        ) % {"day": named, "years": OLDEST_ENTRY_YEARS}
    days_ago = (today - day).days
    if days_ago > LATE_ENTRY_DAYS and not confirmed:
        return gettext(
            "The call was received on %(day)s, %(days)s days before today. "
            "If that is right, %(how_to_confirm)s."
        ) % {"day": named, "days": days_ago, "how_to_confirm": how_to_confirm}
    return None


# The fields an amendment may correct. Who recorded it and when it was saved never change.
AMENDABLE_FIELDS = (
    "source",
    "received_at",
    "dispatched_at",
    "on_scene_at",
    "cleared_at",
    "call_nature",
    "location",
    "others_present",
    "police_backup_requested",
    "arrest",
    "injury",
    "disposition",
    "narrative",
    # A mis-keyed screen is corrected too; the risk level is worked out again.
    "cssrs_performed",
    "cssrs_wish_dead",
    "cssrs_suicidal_thoughts",
    "cssrs_method",
    "cssrs_intent",
    "cssrs_plan",
    "cssrs_behavior",
    "cssrs_behavior_recent",
)


class Contact(models.Model):
    """A crisis contact (encounter), recorded as CAHOOTS, STAR and 988 teams report them.

    Once saved it is never edited in place: a correction is a ContactAmendment that keeps
    the values it replaced, with who changed them and when.
    """

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contacts")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="contacts")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recorded_contacts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    source = models.CharField(max_length=20, choices=ContactSource.choices)
    received_at = models.DateTimeField(help_text=_("When the call was received."))
    dispatched_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    call_nature = models.ForeignKey(CallNature, on_delete=models.PROTECT, related_name="+")
    location = models.CharField(max_length=300, blank=True)
    attended_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="attended_contacts"
    )
    others_present = models.CharField(
        max_length=300, blank=True, help_text=_("Others on scene: police, EMS, family, ...")
    )
    presenting_concerns = models.ManyToManyField(Concern, blank=True, related_name="contacts")

    # C-SSRS screener: None means not asked (skipped or not screened).
    cssrs_performed = models.BooleanField(default=False)
    cssrs_wish_dead = models.BooleanField(null=True, blank=True)
    cssrs_suicidal_thoughts = models.BooleanField(null=True, blank=True)
    cssrs_method = models.BooleanField(null=True, blank=True)
    cssrs_intent = models.BooleanField(null=True, blank=True)
    cssrs_plan = models.BooleanField(null=True, blank=True)
    cssrs_behavior = models.BooleanField(null=True, blank=True)
    cssrs_behavior_recent = models.BooleanField(null=True, blank=True)
    risk_level = models.CharField(
        max_length=20, choices=RiskLevel.choices, default=RiskLevel.NOT_SCREENED
    )

    services_on_scene = models.ManyToManyField(OnSceneService, blank=True, related_name="+")
    police_backup_requested = models.BooleanField(default=False)
    arrest = models.BooleanField(default=False)
    injury = models.BooleanField(default=False)
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    narrative = models.TextField(max_length=20000, blank=True)

    amendment_count = models.PositiveIntegerField(default=0, editable=False)
    # The form's one-time id: a double submit records the contact once.
    submission_id = models.UUIDField(null=True, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["case", "-received_at"], name="contact_case_received_idx"),
            models.Index(fields=["client", "-received_at"], name="contact_client_received_idx"),
            # API list filters and programme reports by period.
            models.Index(fields=["agency", "-received_at"], name="contact_agency_received_idx"),
            # Visibility: cases a worker recorded a contact on.
            models.Index(fields=["recorded_by", "case"], name="contact_recorder_case_idx"),
            # The new-contact form's defaults: the worker's last contact.
            models.Index(
                fields=["recorded_by", "-received_at"], name="contact_recorder_recent_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispatched_at__isnull=True)
                | Q(dispatched_at__gte=models.F("received_at")),
                name="contact_dispatched_after_received",
            ),
            models.CheckConstraint(
                condition=Q(on_scene_at__isnull=True) | Q(on_scene_at__gte=models.F("received_at")),
                name="contact_on_scene_after_received",
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_at__gte=models.F("received_at")),
                name="contact_cleared_after_received",
            ),
            models.CheckConstraint(
                condition=Q(on_scene_at__isnull=True)
                | Q(dispatched_at__isnull=True)
                | Q(on_scene_at__gte=models.F("dispatched_at")),
                name="contact_on_scene_after_dispatched",
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True)
                | Q(on_scene_at__isnull=True)
                | Q(cleared_at__gte=models.F("on_scene_at")),
                name="contact_cleared_after_on_scene",
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True)
                | Q(dispatched_at__isnull=True)
                | Q(cleared_at__gte=models.F("dispatched_at")),
                name="contact_cleared_after_dispatched",
            ),
            # A double submit of the same form records one contact.
            models.UniqueConstraint(
                fields=["recorded_by", "submission_id"],
                condition=Q(submission_id__isnull=False),
                name="contact_submission_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} contact, {self.received_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        errors = contact_time_errors({name: getattr(self, name) for name in TIME_ORDER})
        if errors:
            raise ValidationError(errors)

    @property
    def response_time(self) -> datetime.timedelta | None:
        """Arrived on scene minus call received, as crisis programmes report it."""
        if self.on_scene_at and self.received_at:
            return self.on_scene_at - self.received_at
        return None

    @property
    def response_minutes(self) -> int | None:
        delta = self.response_time
        return None if delta is None else round(delta.total_seconds() / 60)

    def cssrs_answers(self) -> dict[str, Any]:
        from cases.cssrs import QUESTIONS

        return {key: getattr(self, key) for key in QUESTIONS}


class ContactAmendment(models.Model):
    """A correction to a saved contact. `changes` keeps every replaced value:
    {field: {"from": old, "to": new}}, so the original is always recoverable."""

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="amendments")
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amended_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500)
    changes = models.JSONField()

    class Meta:
        ordering = ["amended_at", "pk"]

    def __str__(self) -> str:
        return f"Amendment to {self.contact} by {self.amended_by} at {self.amended_at}"


class ContactDraft(models.Model):
    """The new-contact form as last typed, so a long note survives the idle logoff."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_draft"
    )
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Draft of {self.user}"


# --- Case notes --------------------------------------------------------------------------


class CaseNote(models.Model):
    """A note on a case, written by its author and never edited. `at` is when it was
    written (on a phone without a connection, before it reached the server)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(max_length=5000)
    # The form's one-time id: a note sent twice (a retry from the phone) is kept once.
    submission_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # The case's notes, newest first.
            models.Index(fields=["case", "-at"], name="casenote_case_at_idx"),
        ]
        constraints = [
            # A repeated submit of the same form records one note.
            models.UniqueConstraint(
                fields=["author", "submission_id"],
                condition=Q(submission_id__isnull=False),
                name="casenote_submission_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Note on case {self.case_id} by {self.author} at {self.at:%Y-%m-%d %H:%M}"


# --- Emergency access ("break the glass", HIPAA 164.312(a)(2)(ii)) -----------------------


class EmergencyAccessQuerySet(models.QuerySet["EmergencyAccess"]):
    def active(self) -> Self:
        return self.filter(expires_at__gt=timezone.now())

    def for_supervisor(self, user: User) -> Self:
        """Grants a supervisor reviews: by members of, or on cases of, their teams."""
        teams = user.supervised_teams.all()
        return (
            self.filter(Q(user__team__in=teams) | Q(case__team__in=teams))
            .filter(case__agency_id=user.agency_id)
            .exclude(user_id=user.pk)  # nobody reviews their own emergency access
        )


class EmergencyAccess(models.Model):
    """Time-boxed access to a case outside the user's scope, given with a reason."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="emergency_accesses")
    reason = models.CharField(max_length=500)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=500, blank=True)

    objects = EmergencyAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        verbose_name_plural = _("emergency accesses")
        indexes = [
            # Visibility check: this user's live grant on this case.
            models.Index(fields=["case", "user", "expires_at"], name="emergency_case_user_idx"),
            # The supervisor's review list: unreviewed grants first.
            models.Index(
                fields=["-granted_at"],
                condition=Q(reviewed_at__isnull=True),
                name="emergency_unreviewed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.case} until {self.expires_at}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()
