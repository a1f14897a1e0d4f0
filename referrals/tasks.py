import zoneinfo

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from referrals.models import ProviderLink

MAX_RETRIES = 3


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_provider_link_email(self, link_id: int) -> bool:
    """Email a provider its link. Idempotent: a link already emailed, revoked or expired
    is not emailed (again). The token is rebuilt from the row; nothing secret is queued.

    The email names the referring agency only: no client, nothing clinical (a Part 2
    referral's email is no different, since it carries no client data). A failed send
    is recorded in `email_error` and retried with backoff, up to MAX_RETRIES times.
    Returns whether an email went out.
    """
    try:
        with transaction.atomic():
            link = (
                ProviderLink.objects.select_for_update(of=("self",))
                .select_related("referral__agency")
                .filter(pk=link_id)
                .first()
            )
            if link is None or link.emailed_at is not None or not link.is_usable():
                return False
            _send(link)
            link.emailed_at = timezone.now()
            link.email_error = ""
            link.save(update_fields=["emailed_at", "email_error"])
            return True
    except Exception as exc:
        ProviderLink.objects.filter(pk=link_id).update(
            email_error=f"{type(exc).__name__}: {exc}"[:300]
        )
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


def _send(link: ProviderLink):
    agency = link.referral.agency
    context = {
        "agency": agency.name,
        "url": f"{settings.SITE_URL}/p/{link.token()}/",
        "expires": link.expires_at,
    }
    # Times in the email read in the referring agency's time zone.
    with timezone.override(zoneinfo.ZoneInfo(agency.timezone)):
        _render_and_send(link, context)


def _render_and_send(link, context):
    subject = " ".join(
        render_to_string("referrals/email/provider_link_subject.txt", context).split()
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("referrals/email/provider_link.txt", context),
        to=[link.sent_to],
    )
    message.attach_alternative(
        render_to_string("referrals/email/provider_link.html", context), "text/html"
    )
    message.send()
