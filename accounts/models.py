import datetime
import secrets
import zoneinfo
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.dates import day_label


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)r is not a time zone name such as America/Denver.") % {"value": value}
        )


def new_client_key_secret() -> str:
    """A fresh random key for an agency's pseudonymous client keys (reports.exports)."""
    return secrets.token_hex(32)


class Agency(models.Model):
    """An organisation that runs crisis teams. Every client record belongs to one."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_timezone]
    )
    # Keys the de-identified exports' client_key (HMAC of the client id): stable within
    # the agency, meaningless outside it. Never shown, never exported.
    client_key_secret = models.CharField(
        max_length=64, default=new_client_key_secret, editable=False
    )
    # The agency's own line, printed on every safety plan beside 988.
    crisis_line = models.CharField(
        max_length=40,
        blank=True,
        help_text=gettext_lazy("The agency's crisis line, printed on safety plans."),
    )
    # How often an approved crisis response plan is reviewed (plans.CrisisPlan).
    crisis_plan_review_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text=gettext_lazy("Days between reviews of an approved crisis response plan."),
    )

    class Meta:
        verbose_name_plural = gettext_lazy("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # The agency's day: every calendar date in casebook belongs to the agency's zone,
    # never the machine's or UTC's. These are the one way to turn an instant into a date
    # and a date into an instant.

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def zone_label(self) -> str:
        """The zone as people say it: "Los Angeles time" for America/Los_Angeles."""
        return zone_label(self.timezone)

    def describe_day(self, day: datetime.date) -> str:
        """A day as a message names it, with its zone: "Sat 5 Dec 2026, Los Angeles time"."""
        return f"{day_label(day)}, {self.zone_label}"

    def describe_moment(self, moment: datetime.datetime) -> str:
        """An instant as the agency's clock shows it, zone named: "Sat 5 Dec 2026, 10:30
        Los Angeles time"."""
        local = self.local(moment)
        return f"{day_label(local)}, {local:%H:%M} {self.zone_label}"

    def local(self, moment: datetime.datetime) -> datetime.datetime:
        """The instant as the agency's wall clock shows it."""
        return moment.astimezone(self.zone)

    def today(self, at: datetime.datetime | None = None) -> datetime.date:
        """The agency's calendar date now (or at the instant `at`)."""
        return self.local(at or timezone.now()).date()

    def day_of(self, moment: datetime.datetime) -> datetime.date:
        """The agency's calendar date of an instant."""
        return self.local(moment).date()

    def midnight(self, day: datetime.date) -> datetime.datetime:
        """The instant the agency's day `day` starts (an aware datetime)."""
        return self.at(day, datetime.time())

    def at(self, day: datetime.date, wall: datetime.time) -> datetime.datetime:
        """The instant the agency's clock shows `wall` on `day`; a wall time that a clock
        change skips or repeats is read as the clock showed it before the change."""
        return datetime.datetime.combine(day, wall, tzinfo=self.zone)


def zone_label(name: str) -> str:
    """ "Los Angeles time" for America/Los_Angeles, "UTC" for UTC."""
    if "/" not in name:
        return name
    return _("%(city)s time") % {"city": name.rsplit("/", 1)[1].replace("_", " ")}


def zone_of(agency: Agency | None) -> zoneinfo.ZoneInfo:
    """The agency's zone, or the installation's (settings.TIME_ZONE) for a user of none
    or an agency whose zone name this machine does not know (a row saved past
    validate_timezone). Never raises: for showing and filtering times by zone."""
    if agency is not None:
        try:
            return agency.zone
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class Team(models.Model):
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["agency__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="team_name_unique_in_agency")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.agency})"


class Role(models.TextChoices):
    SOCIAL_WORKER = "social_worker", gettext_lazy("Social worker")
    SUPERVISOR = "supervisor", gettext_lazy("Supervisor")
    AGENCY_ADMIN = "agency_admin", gettext_lazy("Agency admin")
    SYSTEM_ADMIN = "system_admin", gettext_lazy("System admin")
    # Takes requests for a mobile team and sends units (dispatch/); works no cases.
    DISPATCHER = "dispatcher", gettext_lazy("Dispatcher")


class User(AbstractUser):
    """A person who signs in. Everyone but a system admin belongs to one agency.

    A social worker works in one team; a supervisor supervises one or more teams (and may
    also carry cases of their own); an agency admin runs reports, exports, reference data
    and the users of their agency; a system admin runs the installation and sees no
    client data.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SOCIAL_WORKER)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    supervised_teams = models.ManyToManyField(Team, blank=True, related_name="supervisors")
    # The language of the user's pages and e-mails (settings.LANGUAGES); blank: the
    # browser's, and the installation's default for e-mails.
    language = models.CharField(
        gettext_lazy("language"), max_length=8, blank=True, choices=settings.LANGUAGES
    )

    objects: ClassVar[UserManager[Self]] = UserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        if self.role != Role.SYSTEM_ADMIN and self.agency_id is None:
            raise ValidationError(
                {"agency": _("Everyone but a system admin belongs to an agency.")}
            )
        if self.agency_id and self.team is not None and self.team.agency_id != self.agency_id:
            raise ValidationError({"team": _("The team must belong to the user's agency.")})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new password ends every API token issued under the old one, however it was
        # changed (admin, password form, changepassword command).
        # AbstractBaseUser holds a newly set raw password in _password; the stubs omit it.
        password_changed = self._password is not None and self.pk is not None  # type: ignore[attr-defined]
        super().save(*args, **kwargs)
        if password_changed:
            from accounts.tokens import revoke_all_tokens

            revoke_all_tokens(user=self, reason="password changed")

    @property
    def is_social_worker(self) -> bool:
        return self.role == Role.SOCIAL_WORKER

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_agency_admin(self) -> bool:
        return self.role == Role.AGENCY_ADMIN

    @property
    def is_system_admin(self) -> bool:
        return self.role == Role.SYSTEM_ADMIN

    @property
    def works_cases(self) -> bool:
        """Whether this user records contacts and carries a caseload."""
        return self.role in (Role.SOCIAL_WORKER, Role.SUPERVISOR)

    @property
    def can_dispatch(self) -> bool:
        """Whether this user records requests for a mobile team and sends units to them
        (dispatch/): a dispatcher, or a supervisor acting as one, of their agency. An
        agency admin reads the dispatch records and changes none."""
        return bool(self.agency_id) and self.role in (Role.DISPATCHER, Role.SUPERVISOR)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self, now: datetime.datetime | None = None) -> Self:
        """Tokens that may still authenticate: not revoked, within their absolute age, and
        used within the idle limit. The stored last use lags the real one by up to
        API_TOKEN_LAST_USE_WRITE_SECONDS (casebook/authentication.py), so a token is
        counted live for that much longer rather than hidden while it still works."""
        now = now or timezone.now()
        idle = datetime.timedelta(
            seconds=settings.API_TOKEN_IDLE_SECONDS + API_TOKEN_LAST_USE_WRITE_SECONDS
        )
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, last_used_at__gt=now - idle)

    def of_user(self, user: "User") -> Self:
        return self.filter(user=user)

    def revocable_by(self, user: "User") -> Self:
        """The tokens `user` may end: their own, and an agency admin's agency's users'."""
        if user.role == Role.AGENCY_ADMIN and user.agency_id:
            return self.filter(models.Q(user=user) | models.Q(agency_id=user.agency_id))
        return self.filter(user=user)


# How stale the stored last use of a token may be: the shared cache holds the exact one.
API_TOKEN_LAST_USE_WRITE_SECONDS = 60


class ApiToken(models.Model):
    """One API sign-in: a token issued by POST /api/v1/auth/token/.

    The token is `<prefix>.<secret>`; only the prefix (to find the row) and the SHA-256 of
    the secret are kept, so what the database leaks cannot be sent as a token. A random
    32-byte secret needs no slow hash. A token ends at revoked_at (signed out, revoked,
    password changed), at expires_at, or after API_TOKEN_IDLE_SECONDS without use.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    # The user's agency when issued: the agency admin's list and the audit trail.
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("API sign-in")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Serves the lookup of every token-authenticated request (prefix = %s).
            models.UniqueConstraint(fields=["prefix"], name="apitoken_prefix_unique"),
        ]
        indexes = [
            # Serves a user's live sign-ins (the list, ending them all at a password
            # change): user_id = %s AND revoked_at IS NULL ORDER BY created_at DESC.
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_live_by_user",
            ),
            # Serves the agency admin's list: agency_id = %s AND revoked_at IS NULL
            # ORDER BY created_at DESC.
            models.Index(
                fields=["agency", "-created_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_live_by_agency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.user_id})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime.datetime, last_used: datetime.datetime) -> bool:
        """Past its absolute age, or idle since `last_used` for longer than allowed."""
        idle = datetime.timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS)
        return now >= self.expires_at or now - last_used > idle
