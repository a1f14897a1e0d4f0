"""Creating notifications. Every function here may run inside the caller's transaction
(the follow-up engine's, a delivery's) and may run twice: each row is found or created by
its `dedupe_key`, so a second run creates nothing and sends nothing.

In-app rows are delivered by being written (SENT at once). Email and text rows start
QUEUED and are handed to `notifications.tasks.deliver` after the transaction commits; the
notification sweep finds any whose hand-off was lost.

Who hears what (the issue asks for no email per follow-up):
- a follow-up falls due: the assigned worker in-app; the client by their reminder
  channel, if they have one (notifications/client_reminders.py);
- a follow-up becomes overdue: the assigned worker in-app;
- a follow-up is missed (its window closed): the case team's supervisors, in-app and by
  email (agency admins when the team has no supervisor);
- a follow-up's processing is parked: supervisors and agency admins, in-app and email;
- a delivery fails for good: the supervisors in-app (DELIVERY_FAILED);
- a referral goes to a provider with an email address: the provider, by an email with
  its link (PROVIDER_LINK, to the address: a provider has no account);
- once a day each worker with due or overdue work gets one digest email
  (followups/digest.py, sent through get_or_create_notification).

Staff emails carry a short sentence and a link, never a client's name or anything
clinical: email is not a secure channel. In-app text may name the client; the inbox is
behind the login and shows each person only their own rows.

Each text is written in its reader's language (core/i18n.py): what goes to a member of
staff (in-app or by email) in theirs, a reminder to a client in the client's. These run in
Celery tasks and the follow-up engine as often as in a request, so the language is set
here, around the composing, never taken from whoever's request happens to run it.
"""

import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from cases.models import Case, Client
from core.i18n import StoredText, client_language, user_language
from notifications import client_reminders
from notifications.models import Channel, DeliveryStatus, Kind, Notification

# followups.FollowUp and referrals.Referral: the notices take them, but both apps sit a
# floor above notifications and are not imported here.
FollowUpRow: TypeAlias = Any
ReferralRow: TypeAlias = Any

logger = logging.getLogger(__name__)

STAFF_ROLES = (Role.SOCIAL_WORKER, Role.SUPERVISOR)


def notify(**fields: Any) -> Notification:
    """The notification with `dedupe_key`, created if it does not exist yet.

    In-app: SENT on creation. Email and text: QUEUED, delivered after commit (not before
    `not_before`, when given). Returns the existing row unchanged on a second call.
    Fields: see get_or_create_notification.
    """
    return get_or_create_notification(**fields)[0]


def get_or_create_notification(
    *,
    agency_id: int,
    kind: str,
    channel: str,
    dedupe_key: str,
    subject: str,
    body: str = "",
    html_body: str = "",
    url: str = "",
    recipient: User | None = None,
    client: Client | None = None,
    followup: FollowUpRow | None = None,
    address: str = "",
    not_before: datetime.datetime | None = None,
) -> tuple[Notification, bool]:
    """notify(), also saying whether the row was created by this call."""
    now = timezone.now()
    external = channel != Channel.IN_APP
    if channel == Channel.EMAIL and not address and recipient is not None:
        address = recipient.email
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key[:200],
        defaults={
            "agency_id": agency_id,
            "kind": kind,
            "channel": channel,
            "recipient": recipient,
            "client": client,
            "followup": followup,
            "address": address[:254],
            "subject": subject[:200],
            "body": body[:10000],
            "html_body": html_body[:20000],
            "url": url[:300],
            "status": DeliveryStatus.QUEUED if external else DeliveryStatus.SENT,
            "created_at": now,
            "next_attempt_at": max(now, not_before) if not_before else now,
            "sent_at": None if external else now,
        },
    )
    if created and external:
        _deliver_after_commit(notification.pk)
    return notification, created


def _deliver_after_commit(notification_id: int) -> None:
    from notifications.tasks import deliver

    def hand_off() -> None:
        try:
            deliver.delay(notification_id)
        except Exception as exc:
            # A broker that is down must not fail the committed work (a referral sent, a
            # follow-up processed) nor reach the person who did it: the row stays QUEUED
            # and the notification sweep sends it within a minute of the broker's return.
            logger.warning(
                "Notification %s left for the sweep: not handed to a worker (%s: %s)",
                notification_id,
                type(exc).__name__,
                exc,
            )

    transaction.on_commit(hand_off, robust=True)


# --- Who -------------------------------------------------------------------------------------


def supervisors_of(case: Case) -> list[User]:
    """The active supervisors of the case's team, else the agency's active admins."""
    return supervisors_of_team(agency_id=case.agency_id, team_id=case.team_id)


def supervisors_of_team(*, agency_id: int, team_id: int | None) -> list[User]:
    """The active supervisors of a team, else the agency's active admins."""
    people = []
    if team_id:
        people = list(
            User.objects.filter(
                role=Role.SUPERVISOR,
                supervised_teams=team_id,
                agency_id=agency_id,
                is_active=True,
            ).order_by("pk")
        )
    return people or agency_admins(agency_id)


def agency_admins(agency_id: int) -> list[User]:
    return list(
        User.objects.filter(role=Role.AGENCY_ADMIN, agency_id=agency_id, is_active=True).order_by(
            "pk"
        )
    )


# --- Links and text --------------------------------------------------------------------------


def followup_path(fu: FollowUpRow) -> str:
    return reverse("followups:detail", args=[fu.pk])


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _staff_email(template: str, context: dict[str, Any]) -> str:
    return render_to_string(f"notifications/email/{template}", context)


def client_label(fu: FollowUpRow) -> str:
    client: Client = fu.case.client
    return client.display_name


# --- Follow-up notices -----------------------------------------------------------------------


def due_stamp(at: datetime.datetime) -> str:
    """A due time as dedupe keys name it: in UTC, as the database gives it back."""
    return at.astimezone(datetime.UTC).isoformat()


def _given(fu: FollowUpRow, kinds: Iterable[str], stem: str) -> list[Notification]:
    """The notices of `kinds` already given about `fu` whose dedupe keys start with
    `stem` (the kind's prefix, the follow-up and its due time), to anyone by any channel."""
    return list(
        Notification.objects.filter(
            followup_id=fu.pk, kind__in=list(kinds), dedupe_key__startswith=stem
        ).order_by("pk")
    )


def fell_due_text(fu: FollowUpRow) -> tuple[str, str]:
    """The worker's "fell due" notice: (subject, body), in the assigned worker's language.
    The engine's batches use it too."""
    with translation.override(user_language(fu.assigned_to)):
        return (
            (_("Follow-up due: %(title)s") % {"title": fu.display_title})[:200],
            _("%(client)s: %(title)s. Due %(due)s.")
            % {
                "client": client_label(fu),
                "title": fu.display_title,
                "due": local_time(fu.due_at, fu),
            },
        )


def overdue_text(fu: FollowUpRow) -> tuple[str, str]:
    """The worker's "overdue" notice: (subject, body), in the assigned worker's language."""
    with translation.override(user_language(fu.assigned_to)):
        return (
            (_("Overdue: %(title)s") % {"title": fu.display_title})[:200],
            _("%(client)s: %(title)s was due %(due)s; its window closes %(closes)s.")
            % {
                "client": client_label(fu),
                "title": fu.display_title,
                "due": local_time(fu.due_at, fu),
                "closes": local_time(fu.window_end, fu),
            },
        )


def reminder_content(channel: str, client: Client | None = None) -> tuple[str, str]:
    """The client's neutral reminder by `channel`: (subject, body), in the client's
    language (`client`; without it, the active language)."""
    if client is not None:
        with translation.override(client_language(client)):
            return reminder_content(channel)
    if channel == Channel.TEXT:
        return str(client_reminders.REMINDER_SUBJECT), client_reminders.reminder_text()
    return client_reminders.reminder_email()


def reminder_key(fu: FollowUpRow, channel: str, client_id: int) -> str:
    return f"reminder:{fu.pk}:{due_stamp(fu.due_at)}:{channel}:client{client_id}"


def followup_fell_due(fu: FollowUpRow) -> list[Notification]:
    """The assigned worker in-app; the client a reminder by their channel, if any.

    Given once per follow-up and due time, as one prompt: when it has been given (to
    whoever was assigned then, by whatever channel the client had then), a second call
    returns those rows and gives nothing, even after a reassignment or a change of the
    client's channel. Call with the follow-up's row locked (the engine does)."""
    when = due_stamp(fu.due_at)
    given = _given(fu, [Kind.FOLLOWUP_DUE], f"due:{fu.pk}:{when}:")
    if given:
        return given + _given(fu, [Kind.CLIENT_REMINDER], f"reminder:{fu.pk}:{when}:")
    worker = fu.assigned_to
    subject, body = fell_due_text(fu)
    rows = [
        notify(
            agency_id=fu.agency_id,
            kind=Kind.FOLLOWUP_DUE,
            channel=Channel.IN_APP,
            dedupe_key=f"due:{fu.pk}:{when}:{Channel.IN_APP}:{worker.pk}",
            recipient=worker,
            client=fu.case.client,
            followup=fu,
            subject=subject,
            body=body,
            url=followup_path(fu),
        )
    ]
    reminder = client_reminder(fu)
    if reminder is not None:
        rows.append(reminder)
    return rows


def client_reminder(fu: FollowUpRow) -> Notification | None:
    """One neutral reminder to the client by the channel they chose; None without one."""
    client = fu.case.client
    chosen = client_reminders.reminder_address(client)
    if chosen is None:
        return None
    channel, address = chosen
    subject, body = reminder_content(channel, client)
    send_at = client_reminders.reminder_send_time(timezone.now(), fu.case.agency)
    if send_at > timezone.now():
        logger.info(
            "Client reminder for follow-up %s held until %s UTC (no reminders at night)",
            fu.pk,
            f"{send_at:%Y-%m-%d %H:%M}",
        )
    return notify(
        agency_id=fu.agency_id,
        kind=Kind.CLIENT_REMINDER,
        channel=channel,
        dedupe_key=reminder_key(fu, channel, client.pk),
        client=client,
        followup=fu,
        address=address,
        subject=subject,
        body=body,
        not_before=send_at,
    )


def followup_overdue(fu: FollowUpRow) -> Notification:
    """The assigned worker in-app: the due time has passed, the window is still open.
    Once per follow-up and due time (see followup_fell_due)."""
    when = due_stamp(fu.due_at)
    given = _given(fu, [Kind.FOLLOWUP_OVERDUE], f"overdue:{fu.pk}:{when}:")
    if given:
        return given[0]
    worker = fu.assigned_to
    subject, body = overdue_text(fu)
    return notify(
        agency_id=fu.agency_id,
        kind=Kind.FOLLOWUP_OVERDUE,
        channel=Channel.IN_APP,
        dedupe_key=f"overdue:{fu.pk}:{when}:{Channel.IN_APP}:{worker.pk}",
        recipient=worker,
        client=fu.case.client,
        followup=fu,
        subject=subject,
        body=body,
        url=followup_path(fu),
    )


def _tell_staff(
    fu: FollowUpRow,
    people: Iterable[User],
    *,
    kind: str,
    stem: str,
    texts: Callable[[], tuple[str, str, str]],
    email_template: str,
) -> list[Notification]:
    """Each of `people` in-app (naming the client) and, when they have an address, by an
    email that names nobody and links to the follow-up; each in their own language.
    `texts` gives (subject, body, email subject) in the active language."""
    path = followup_path(fu)
    rows: list[Notification] = []
    for person in people:
        with translation.override(user_language(person)):
            subject, body, email_subject = texts()
            email_body = (
                _staff_email(email_template, {"url": absolute(path)}) if person.email else ""
            )
        rows.append(
            notify(
                agency_id=fu.agency_id,
                kind=kind,
                channel=Channel.IN_APP,
                dedupe_key=f"{stem}:{Channel.IN_APP}:{person.pk}",
                recipient=person,
                client=fu.case.client,
                followup=fu,
                subject=subject[:200],
                body=body,
                url=path,
            )
        )
        if person.email:
            rows.append(
                notify(
                    agency_id=fu.agency_id,
                    kind=kind,
                    channel=Channel.EMAIL,
                    dedupe_key=f"{stem}:{Channel.EMAIL}:{person.pk}",
                    recipient=person,
                    followup=fu,
                    subject=email_subject,
                    body=email_body,
                    url=path,
                )
            )
    return rows


def followup_missed(fu: FollowUpRow) -> list[Notification]:
    """The case team's supervisors, in-app and by email: the window closed undone."""

    def texts() -> tuple[str, str, str]:
        return (
            _("Missed: %(title)s") % {"title": fu.display_title},
            _(
                "%(client)s: %(title)s, assigned to %(worker)s, was not done before its "
                "window closed %(closed)s."
            )
            % {
                "client": client_label(fu),
                "title": fu.display_title,
                "worker": fu.assigned_to,
                "closed": local_time(fu.window_end, fu),
            },
            _("A follow-up passed its window"),
        )

    return _tell_staff(
        fu,
        supervisors_of(fu.case),
        kind=Kind.FOLLOWUP_MISSED,
        stem=f"missed:{fu.pk}:{fu.window_end.isoformat()}",
        texts=texts,
        email_template="followup_missed.txt",
    )


def followup_parked(fu: FollowUpRow, error: str) -> list[Notification]:
    """Supervisors and agency admins, in-app and by email: the engine stopped trying."""
    stamp = fu.parked_at.isoformat() if fu.parked_at else ""
    people = {p.pk: p for p in supervisors_of(fu.case) + agency_admins(fu.agency_id)}

    def texts() -> tuple[str, str, str]:
        return (
            _("Needs a person: %(title)s") % {"title": fu.display_title},
            _(
                "%(client)s: %(title)s. The system stopped processing this follow-up after "
                "repeated errors (%(error)s). Check it by hand."
            )
            # The error is the machine's own words, for whoever fixes it.
            % {"client": client_label(fu), "title": fu.display_title, "error": error[:300]},
            _("A follow-up needs checking by hand"),
        )

    return _tell_staff(
        fu,
        people.values(),
        kind=Kind.PROCESSING_PARKED,
        stem=f"parked:{fu.pk}:{stamp}",
        texts=texts,
        email_template="followup_parked.txt",
    )


def delivery_failed(notification: Notification) -> list[Notification]:
    """The supervisors in-app, when an email or text has failed for good (or its outcome
    is unknown), so that nothing that did not go out goes unseen."""
    fu = notification.followup
    client_case = (
        Case.objects.filter(client_id=notification.client_id).order_by("-opened_at").first()
        if fu is None
        and notification.kind == Kind.SAFETY_PLAN_LINK
        and notification.client_id is not None
        else None
    )
    if fu is not None:
        people = supervisors_of(fu.case)
    elif client_case is not None:
        # The link to a client's safety plan: the supervisors of the client's case.
        people = supervisors_of(client_case)
    elif notification.recipient is not None:
        people = supervisors_of_team(
            agency_id=notification.agency_id, team_id=notification.recipient.team_id
        )
    else:
        people = agency_admins(notification.agency_id)
    path = reverse("notifications:deliveries") + "?status=failed"
    rows = []
    for person in people:
        with translation.override(user_language(person)):
            subject, body = _delivery_failed_text(notification, fu)
        rows.append(
            notify(
                agency_id=notification.agency_id,
                kind=Kind.DELIVERY_FAILED,
                channel=Channel.IN_APP,
                dedupe_key=f"delivery_failed:{notification.pk}:{Channel.IN_APP}:{person.pk}",
                recipient=person,
                client=notification.client or (fu.case.client if fu else None),
                followup=fu,
                subject=subject[:200],
                body=body,
                url=path,
            )
        )
    return rows


def _delivery_failed_text(notification: Notification, fu: FollowUpRow | None) -> tuple[str, str]:
    """(subject, body) of the alert that `notification` was not sent, in the active
    language, as is the failure reason where the product wrote it (tasks.py, backends.py);
    a mail server's or gateway's own words stay as they are."""
    if notification.kind == Kind.PROVIDER_LINK:
        what = _("A referral link to a provider")
    elif notification.kind == Kind.SAFETY_PLAN_LINK:
        what = _("A link to the client's safety plan")
    elif notification.recipient_id is None:
        what = _("A reminder to the client")
    else:
        what = _("An email")
    reason = notification.display_failure_reason
    if fu is not None:
        body = _(
            "%(what)s (%(client)s: %(title)s) was not sent: %(reason)s. Reach the person "
            "another way."
        ) % {"what": what, "client": client_label(fu), "title": fu.display_title, "reason": reason}
    else:
        body = _("%(what)s was not sent: %(reason)s. Reach the person another way.") % {
            "what": what,
            "reason": reason,
        }
    return _("%(what)s was not sent") % {"what": what}, body


# --- Referral notices ------------------------------------------------------------------------


def referral_update(
    *, referral: ReferralRow, event_id: int, recipient: User, what: str
) -> Notification:
    """The referring worker in-app, once per referral event (`event_id`): the receiving
    provider moved the referral (`what`: "accepted", "recorded an appointment", ...).
    In-app only: a provider's answer may itself say something clinical (a substance use
    treatment programme accepted the client), and email is not a secure channel."""
    client = referral.client
    provider = referral.provider_name
    # In the worker's language; `what` is the caller's, written in it too.
    with translation.override(user_language(recipient)):
        subject = _("Referral update from %(provider)s") % {"provider": provider}
        body = _("%(client)s: %(provider)s %(what)s.") % {
            "client": client.display_name,
            "provider": provider,
            "what": what,
        }
    return notify(
        agency_id=referral.agency_id,
        kind=Kind.REFERRAL_UPDATE,
        channel=Channel.IN_APP,
        dedupe_key=f"referral:{referral.pk}:{event_id}:{Channel.IN_APP}:{recipient.pk}",
        recipient=recipient,
        client=client,
        subject=subject[:200],
        body=body,
        url=reverse("referrals:detail", args=[referral.pk]),
    )


def provider_link_email(
    *,
    referral: ReferralRow,
    link_public_id: uuid.UUID,
    address: str,
    subject: str,
    body: str,
    html_body: str,
) -> Notification:
    """The receiving provider's email with its link to a referral (once per link,
    `link_public_id`), to `address`: no recipient (a provider has no account) and no client (the
    email names the referring agency only). Queued, and sent after commit like any email;
    the caller renders it."""
    return notify(
        agency_id=referral.agency_id,
        kind=Kind.PROVIDER_LINK,
        channel=Channel.EMAIL,
        dedupe_key=f"provider_link:{link_public_id}",
        address=address,
        subject=subject,
        body=body,
        html_body=html_body,
        url=reverse("referrals:detail", args=[referral.pk]),
    )


def cancel_delivery(*, notification_id: int, reason: StoredText) -> bool:
    """Withdraw an email or text that is still QUEUED (CANCELLED, `reason`, the product's
    words as core.i18n.stored_text gives them, kept in failure_reason and
    failure_reason_i18n); one being sent or already sent stays as it is. Call inside the
    transaction that makes it pointless. Returns whether it was withdrawn."""
    return bool(
        Notification.objects.filter(pk=notification_id, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.CANCELLED,
            failure_reason=reason.english[:500],
            failure_reason_i18n=reason.data,
        )
    )


def local_time(at: datetime.datetime, fu: FollowUpRow) -> str:
    """A time as the agency's clock shows it, in the active language: "Sat 05 Dec 18:00"."""
    return formats.date_format(fu.case.agency.local(at), "D d M H:i")


def resolve_followup_notices(*, followup_ids: Iterable[int]) -> int:
    """Mark the unread in-app notices about these follow-ups read: once a follow-up is
    done or cancelled, nothing about it waits in anyone's inbox (issue 9). One UPDATE,
    however many rows; call inside the transaction that closed the follow-ups. Emails
    and texts are left as they are (their delivery is recorded). Returns how many
    changed."""
    return (
        Notification.objects.filter(followup_id__in=followup_ids, channel=Channel.IN_APP)
        .unread()
        .update(read_at=timezone.now())
    )


def mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's in-app notifications read, or all of them (no id). Returns
    how many changed."""
    rows = Notification.objects.inbox_of(user).unread()
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now())
