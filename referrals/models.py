"""Referrals that close the loop, the consent they travel under, and every disclosure.

The referral's status follows the HL7 FHIR SDOH Clinical Care implementation guide's
referral Task (Gravity Project): the requester (the agency's worker) drafts, sends,
cancels or marks entered-in-error; the performer (the receiving provider, through its
link, or a worker recording what the provider reported) accepts, rejects, starts, holds,
completes or fails it. ALLOWED_TRANSITIONS is the one table of who may move what where.

Consent follows 42 CFR Part 2 (§2.31) when substance-use-disorder information is shared
or the referral is to substance use treatment; every disclosure made under a consent is
kept in Disclosure, with the §2.32 notice when Part 2 applies.
"""

import datetime
import re
import uuid
from typing import Self

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, User, zone_of
from core import links
from directory.models import NeedCategory
from notifications.models import DeliveryStatus


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REQUESTED = "requested", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    IN_PROGRESS = "in-progress", _("In progress")
    ON_HOLD = "on-hold", _("On hold")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")
    ENTERED_IN_ERROR = "entered-in-error", _("Entered in error")


class Party(models.TextChoices):
    """Which side of the referral sets a status (FHIR Task requester / owner)."""

    REQUESTER = "requester", _("Referring agency")
    PERFORMER = "performer", _("Receiving provider")


R, P = Party.REQUESTER, Party.PERFORMER
S = Status
_LIVE = (S.REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD)

# (from, to) -> the parties that may make the move. Everything absent is refused.
ALLOWED_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.DRAFT, S.REQUESTED): frozenset({R}),
    (S.DRAFT, S.CANCELLED): frozenset({R}),
    (S.REQUESTED, S.ACCEPTED): frozenset({P}),
    (S.REQUESTED, S.REJECTED): frozenset({P}),
    (S.ACCEPTED, S.IN_PROGRESS): frozenset({P}),
    (S.ACCEPTED, S.ON_HOLD): frozenset({P}),
    (S.ACCEPTED, S.COMPLETED): frozenset({P}),
    (S.ACCEPTED, S.FAILED): frozenset({P}),
    (S.IN_PROGRESS, S.ON_HOLD): frozenset({P}),
    (S.IN_PROGRESS, S.COMPLETED): frozenset({P}),
    (S.IN_PROGRESS, S.FAILED): frozenset({P}),
    (S.ON_HOLD, S.IN_PROGRESS): frozenset({P}),
    (S.ON_HOLD, S.COMPLETED): frozenset({P}),
    (S.ON_HOLD, S.FAILED): frozenset({P}),
    # Either side may call off a live referral.
    **{(s, S.CANCELLED): frozenset({R, P}) for s in _LIVE},
    # Only the requester withdraws its own record as a mistake, from any state but that.
    **{(s, S.ENTERED_IN_ERROR): frozenset({R}) for s in S.values if s != S.ENTERED_IN_ERROR},
}

FINAL_STATUSES = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED, S.FAILED, S.ENTERED_IN_ERROR})
LIVE_STATUSES = frozenset(_LIVE)


class Outcome(models.TextChoices):
    """Why a referral ended, as closed-loop referral platforms record it."""

    GOT_HELP = "got_help", _("Got help")
    COULD_NOT_CONTACT = "could_not_contact", _("Could not contact the client")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    NO_CAPACITY = "no_capacity", _("No capacity")
    DECLINED = "declined", _("Client declined or no longer interested")
    REFERRED_ELSEWHERE = "referred_elsewhere", _("Referred elsewhere")
    DID_NOT_ATTEND = "did_not_attend", _("Did not attend")


# Which outcomes fit which ending; an ending with any other outcome is refused.
OUTCOMES_FOR_STATUS: dict[str, tuple[str, ...]] = {
    S.COMPLETED: (Outcome.GOT_HELP,),
    S.REJECTED: (
        Outcome.NOT_ELIGIBLE,
        Outcome.NO_CAPACITY,
        Outcome.COULD_NOT_CONTACT,
        Outcome.DECLINED,
        Outcome.REFERRED_ELSEWHERE,
    ),
    S.FAILED: (
        Outcome.DID_NOT_ATTEND,
        Outcome.COULD_NOT_CONTACT,
        Outcome.DECLINED,
        Outcome.NOT_ELIGIBLE,
        Outcome.NO_CAPACITY,
        Outcome.REFERRED_ELSEWHERE,
    ),
    S.CANCELLED: (
        Outcome.DECLINED,
        Outcome.REFERRED_ELSEWHERE,
        Outcome.COULD_NOT_CONTACT,
        Outcome.NOT_ELIGIBLE,
        Outcome.NO_CAPACITY,
    ),
}


class Urgency(models.TextChoices):
    """FHIR request priority."""

    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    ASAP = "asap", _("As soon as possible")
    STAT = "stat", _("Immediately")


class ShareItem(models.TextChoices):
    """What a consent lets the agency share and a referral shares."""

    NAME = "name", _("Name")
    PHONE = "phone", _("Phone number")
    DATE_OF_BIRTH = "date_of_birth", _("Date of birth")
    REASON = "reason", _("Reason for referral")
    CONCERNS = "concerns", _("Presenting concerns")
    RISK = "risk", _("Suicide risk level")
    SUBSTANCE_USE = "substance_use", _("Substance use information (42 CFR Part 2)")


# The ShareItem labels as they read inside a sentence ("... to share name, phone number"):
# in English as marked (the stored timeline texts), through gettext where shown.
ITEM_WORDS: dict[str, str] = {
    ShareItem.NAME: gettext_noop("name"),
    ShareItem.PHONE: gettext_noop("phone number"),
    ShareItem.DATE_OF_BIRTH: gettext_noop("date of birth"),
    ShareItem.REASON: gettext_noop("reason for referral"),
    ShareItem.CONCERNS: gettext_noop("presenting concerns"),
    ShareItem.RISK: gettext_noop("suicide risk level"),
    ShareItem.SUBSTANCE_USE: gettext_noop("substance use information (42 cfr part 2)"),
}


# How long a referral may sit before it is flagged on the worker's caseload, per need:
# (business days unaccepted after sending, calendar days without the client being seen).
# Substance use treatment moves fastest (a detox bed is gone in a day or two); housing
# placements take longest.
STALE_AFTER: dict[str, tuple[int, int]] = {
    NeedCategory.SUBSTANCE_USE: (2, 7),
    NeedCategory.MEDICAL: (2, 14),
    NeedCategory.HOUSING: (3, 30),
    NeedCategory.DOMESTIC_VIOLENCE: (1, 7),
}
STALE_AFTER_DEFAULT = (3, 14)
# Accepted but the client not seen yet (no service_date): the second clock of STALE_AFTER.
UNCONNECTED_STATUSES = frozenset({S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD})


def business_days_after(
    moment: datetime.datetime, days: int, zone: datetime.tzinfo
) -> datetime.datetime:
    """The moment `days` business days (Monday to Friday in `zone`) after `moment`: its
    clock time on the `days`th weekday after its day; from a Saturday or Sunday, counted
    from the Monday's midnight. That is `days` times 24 hours of weekday time, the weekend
    left out. Public holidays are not known here and count as business days. A wall time
    that a clock change skips is read as the clock showed it before the change (as
    Agency.at does)."""
    local = moment.astimezone(zone)
    day, clock = local.date(), local.time()
    if day.weekday() >= 5:
        day += datetime.timedelta(days=7 - day.weekday())
        clock = datetime.time()
    remaining = days
    while remaining > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return datetime.datetime.combine(day, clock, tzinfo=zone)


# The notice that goes with every disclosure made under a Part 2 consent, in the words of
# 42 CFR 2.32(a)(1) as the 2024 rule (89 FR 12472) gives it: verbatim, never paraphrased.
PART2_REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality "
    "rules (42 CFR part 2). These rules prohibit you from using or disclosing this record, "
    "or testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, "
    "except as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance "
    "with 42 CFR 2.64 or 2.65. In addition, these rules prohibit you from making any other "
    "disclosure of this record unless expressly authorized by the written consent of the "
    "person to whom it pertains, or as otherwise permitted by 42 CFR part 2. A general "
    "authorization for the release of medical or other information is NOT sufficient for "
    "this purpose (see 42 CFR 2.31). The Federal rules restrict any use of the information "
    "to investigate or prosecute with regard to a crime any patient with a substance use "
    "disorder, except as provided at 42 CFR 2.12(e)(3) and (4)."
)


# --- Consent -----------------------------------------------------------------------------

# Words that say a consent's description covers substance use information (see
# Consent.describes_substance_use).
SUBSTANCE_USE_WORDS = re.compile(
    r"\b(?:substance|alcohol|drug|opioid|opiate|addiction|detox|methadone|buprenorphine|"
    r"overdose|SUD\b|42 CFR part 2)",
    re.IGNORECASE,
)


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", _("Verbal")
    WRITTEN = "written", _("Written (signed)")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active(self, agency: Agency, at: datetime.datetime | None = None) -> Self:
        """Consents neither revoked nor expired at `at` (now by default). An expiry date is
        a day of the agency's: the consent holds until that day ends there. For the
        consents of one agency (a client's)."""
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=agency.today(at))
        )


class Consent(models.Model):
    """A client's consent to share information with referral recipients.

    Part 2 consents (is_part2) carry every §2.31 element and must be written and signed;
    services.record_consent refuses one that lacks any.
    """

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="consents")
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="consents"
    )
    method = models.CharField(max_length=10, choices=ConsentMethod.choices)
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    obtained_at = models.DateTimeField(default=timezone.now)
    scope = models.JSONField(default=list, help_text=_("ShareItem values the client agreed to."))
    recipient_organization = models.ForeignKey(
        "directory.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: any provider the client is referred to (not for Part 2)."),
    )
    recipients = models.TextField(
        max_length=1000, help_text=_("To whom, in the words the client agreed to.")
    )
    purpose = models.TextField(max_length=1000)
    expires_on = models.DateField(null=True, blank=True)
    expiry_event = models.CharField(max_length=300, blank=True)
    is_part2 = models.BooleanField(default=False)
    # §2.31 elements beyond the above.
    discloser = models.CharField(
        max_length=300, blank=True, help_text=_("Who may disclose (the programme).")
    )
    information_description = models.TextField(max_length=2000, blank=True)
    right_to_revoke_explained = models.BooleanField(default=False)
    signed_by = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revocation_note = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-obtained_at", "-pk"]
        indexes = [
            # The consent gate: a client's consents, newest first.
            models.Index(fields=["client", "-obtained_at"], name="consent_client_idx"),
        ]

    def __str__(self) -> str:
        kind = "Part 2 consent" if self.is_part2 else "Consent"
        return f"{kind} of {self.obtained_at:%Y-%m-%d} to share with {self.recipients}"

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        at = at or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_on is None or self.expires_on >= self.agency.today(at)

    def part2_missing(self) -> list[str]:
        """The §2.31 elements this consent lacks (empty when complete)."""
        missing = []
        if self.method != ConsentMethod.WRITTEN:
            missing.append(gettext("written consent"))
        checks = [
            (self.discloser, gettext("who may disclose")),
            (self.information_description, gettext("a description of the information")),
            (self.recipients, gettext("the recipients")),
            (self.purpose, gettext("the purpose")),
            (self.right_to_revoke_explained, gettext("the right to revoke")),
            (self.expires_on or self.expiry_event, gettext("an expiry date or event")),
            (self.signed_by, gettext("the signature")),
            (self.signed_on, gettext("the date signed")),
        ]
        missing += [label for value, label in checks if not value]
        return missing

    @property
    def describes_substance_use(self) -> bool:
        """Whether the description of the information says that substance use information
        is shared. 42 CFR 2.31(a) asks for a description "in a specific and meaningful
        fashion": a Part 2 consent discloses substance use disorder records (if only that
        the client was referred for treatment), and "name and phone number" hides it."""
        return SUBSTANCE_USE_WORDS.search(self.information_description or "") is not None


# --- Referrals -------------------------------------------------------------------------


class ReferralQuerySet(models.QuerySet["Referral"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Referrals of the cases the user may see."""
        from cases.models import on_visible_cases

        return self.filter(on_visible_cases(user))

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Referrals the user may act on as the referring agency."""
        from cases.models import Case

        return self.filter(case__in=Case.objects.writable_by(user))

    def stale(self, now: datetime.datetime | None = None) -> Self:
        """Live referrals with no movement for too long for their need (STALE_AFTER):
        sent and not accepted for N business days, or the client not yet seen and
        nothing recorded for M days; stale from their stored stale_at on (exact at any
        `now`, unlike the swept is_stale). For one case's referrals: referral_case_stale_idx."""
        return self.filter(stale_at__lte=now or timezone.now())

    def for_list(self) -> Self:
        return self.select_related(
            "case", "client", "service", "service__organization", "created_by"
        )


class Referral(models.Model):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="referrals")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="+")
    # The service from the directory, or an outside provider typed in (provider_*).
    service = models.ForeignKey(
        "directory.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    location = models.ForeignKey(
        "directory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who receives it, as it was when sent (the directory may change later).
    provider_name = models.CharField(max_length=300)
    provider_email = models.EmailField(blank=True)
    provider_phone = models.CharField(max_length=60, blank=True)
    need_category = models.CharField(max_length=20, choices=NeedCategory.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    reason = models.TextField(max_length=2000)
    shared_items = models.JSONField(default=list)
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    service_date = models.DateField(
        null=True, blank=True, help_text=_("The day the client was first seen.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the loop closed (seen, or a final outcome).")
    )
    last_activity_at = models.DateTimeField(default=timezone.now)
    # When the referral goes stale (compute_stale_at), stored so that lists filter and
    # order on an index; None when it cannot (a draft, an ending, a client seen). Set by
    # every write of status, last_activity_at or service_date (refresh_staleness).
    stale_at = models.DateTimeField(null=True, blank=True, editable=False)
    # stale_at has come: set by the beat sweep (referrals.tasks.flag_stale_referrals,
    # every 5 minutes) and cleared by the writes that move stale_at, so that the referral
    # list orders by an indexed column. It lags stale_at by up to one sweep; the filters
    # that must be exact at any `now` use stale_at (ReferralQuerySet.stale).
    is_stale = models.BooleanField(default=False, editable=False)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            (
                "export_identified",
                "Can export referral rows with names and contact details",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(service_date__isnull=False),
                name="referral_completed_has_service_date",
            ),
        ]
        indexes = [
            # The case page's referrals.
            models.Index(fields=["case", "-created_at"], name="referral_case_idx"),
            # Reports: an agency's referrals by sending date.
            models.Index(fields=["agency", "sent_at"], name="referral_agency_sent_idx"),
            # Stale flags on the caseload: a case's referrals whose stale_at has come
            # (Referral.objects.stale(now).filter(case=...)); only those that can go stale.
            models.Index(
                fields=["case", "stale_at"],
                condition=Q(stale_at__isnull=False),
                name="referral_case_stale_idx",
            ),
            # The agency admin's referral list: the agency's referrals, stale ones first,
            # then newest first (ORDER BY is_stale DESC, created_at DESC, id DESC read
            # backwards), and its "Needs attention" filter (is_stale = true).
            models.Index(
                fields=["agency", "is_stale", "created_at", "id"],
                name="referral_agency_stale_idx",
            ),
            # The stale sweep: referrals not flagged yet whose stale_at has come (the
            # referrals waiting on a provider, a small part of the table).
            models.Index(
                fields=["stale_at"],
                condition=Q(is_stale=False, stale_at__isnull=False),
                name="referral_stale_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral {self.pk} to {self.provider_name}"

    @property
    def is_part2(self) -> bool:
        """Part 2 applies to a referral to substance use treatment and to any referral
        that shares substance use information."""
        return self.need_category == NeedCategory.SUBSTANCE_USE or ShareItem.SUBSTANCE_USE in (
            self.shared_items or []
        )

    @property
    def loop_closed(self) -> bool:
        return self.closed_at is not None

    def compute_stale_at(self, zone: datetime.tzinfo | None = None) -> datetime.datetime | None:
        """When this referral goes stale as it stands (STALE_AFTER for its need): sent
        and not accepted, N business days after its last activity (business_days_after,
        weekdays of `zone`, by default the agency's); accepted, in progress or on hold
        with the client not seen, M days (of 24 hours) after it. None when it cannot go
        stale: a draft, an ending, or a client already seen."""
        accept_days, connect_days = STALE_AFTER.get(self.need_category, STALE_AFTER_DEFAULT)
        if self.status == Status.REQUESTED:
            return business_days_after(
                self.last_activity_at, accept_days, zone or zone_of(self.agency)
            )
        if self.status in UNCONNECTED_STATUSES and self.service_date is None:
            return self.last_activity_at + datetime.timedelta(days=connect_days)
        return None

    def refresh_staleness(self, now: datetime.datetime) -> list[str]:
        """Set stale_at (compute_stale_at) and is_stale as of `now`, after a change of
        status, need, last_activity_at or service_date. Returns the fields set, for the
        caller's save(update_fields=...)."""
        self.stale_at = self.compute_stale_at()
        self.is_stale = self.stale_at is not None and self.stale_at <= now
        return ["stale_at", "is_stale"]

    def can_transition_to(self, status: str, party: str) -> bool:
        return party in ALLOWED_TRANSITIONS.get((self.status, status), ())

    def allowed_next(self, party: str) -> list[str]:
        return [
            to
            for (frm, to), who in ALLOWED_TRANSITIONS.items()
            if frm == self.status and party in who
        ]


class EventVia(models.TextChoices):
    STAFF = "staff", _("Recorded by staff")
    STAFF_FOR_PROVIDER = "staff_for_provider", _("Recorded by staff as reported by the provider")
    PROVIDER_LINK = "provider_link", _("Recorded by the provider through its link")
    SYSTEM = "system", _("System")


class ReferralEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    APPOINTMENT = "appointment", _("Appointment recorded")
    LINK_SENT = "link_sent", _("Provider link sent")
    LINK_REVOKED = "link_revoked", _("Provider link revoked")
    NOTE = "note", _("Note")


class ReferralEvent(models.Model):
    """Every transition and update of a referral: who, when, how, and a note."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=ReferralEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=20, choices=EventVia.choices, default=EventVia.STAFF)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"], name="referralevent_referral_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.from_status}→{self.to_status}"


class DisclosureChannel(models.TextChoices):
    PROVIDER_LINK = "provider_link", _("Secure provider link")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    IN_PERSON = "in_person", _("In person")


class Disclosure(models.Model):
    """One disclosure of client information: what went to whom, under which consent."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="disclosures")
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="disclosures"
    )
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="disclosures")
    recipient = models.CharField(max_length=300)
    items = models.JSONField(default=list)
    channel = models.CharField(max_length=20, choices=DisclosureChannel.choices)
    disclosed_at = models.DateTimeField(default=timezone.now)
    disclosed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    part2_notice = models.BooleanField(
        default=False, help_text=_("The 42 CFR §2.32 notice went with it.")
    )

    class Meta:
        ordering = ["-disclosed_at", "-pk"]
        indexes = [models.Index(fields=["case", "-disclosed_at"], name="disclosure_case_idx")]

    def __str__(self) -> str:
        return f"Disclosure to {self.recipient} on {self.disclosed_at:%Y-%m-%d}"


class ProviderLinkQuerySet(models.QuerySet["ProviderLink"]):
    def usable(self, at: datetime.datetime | None = None) -> Self:
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=at)


PROVIDER_LINK_DAYS = 30


class ProviderLink(models.Model):
    """A single-purpose link that lets the receiving provider see what the consent allows
    of one referral and close its loop, without an account.

    The token is `<public_id>.<HMAC of public_id>` (token()): the link's row holds
    nothing secret, and the token dies when the link is revoked or expires, or when the
    referral's consent is revoked or expires. The email that carries it is a notification
    (`notification`, Kind.PROVIDER_LINK) whose delivery is recorded there; its stored text
    holds the token, as the provider's inbox does.
    """

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="links")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sent_to = models.EmailField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The email with the link: queued with the link, delivered by the notifications sweep.
    notification = models.OneToOneField(
        "notifications.Notification",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    objects = ProviderLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Link for referral {self.referral_id} to {self.sent_to}"

    PURPOSE = "provider-link"

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

    @property
    def emailed_at(self) -> datetime.datetime | None:
        """When the email with the link went out (None until it has)."""
        notification = self.notification
        return notification.sent_at if notification is not None else None

    @property
    def email_error(self) -> str:
        """Why the email has not gone yet or failed for good ("" when it went, waits for
        its first try, or was withdrawn with the revoked link)."""
        notification = self.notification
        if notification is None or notification.status in (
            DeliveryStatus.SENT,
            DeliveryStatus.CANCELLED,
        ):
            return ""
        return notification.failure_reason

    @property
    def display_email_error(self) -> str:
        """`email_error` in the reader's language where the product wrote it."""
        notification = self.notification
        if notification is None or not self.email_error:
            return ""
        return notification.display_failure_reason

    @staticmethod
    def default_expiry(at: datetime.datetime | None = None) -> datetime.datetime:
        return (at or timezone.now()) + datetime.timedelta(days=PROVIDER_LINK_DAYS)
