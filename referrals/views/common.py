"""What the referral pages share: showing a service's refusal on the right form field,
and the numbers that say how fast a referral's loop closed."""

from django.core.exceptions import NON_FIELD_ERRORS

from referrals.exceptions import ConsentInvalid, ConsentRequired


def add_referral_error(exc, form, consent_form=None):
    """Put a ReferralError beside the input it names (`exc.field`), on the inline consent
    form when one was filled in, else at the top of `form`."""
    field = getattr(exc, "field", None)
    message = str(exc)
    if consent_form is not None and field in consent_form.fields:
        consent_form.add_error(field, message)
    elif field in form.fields and field != NON_FIELD_ERRORS:
        form.add_error(field, message)
    elif isinstance(exc, ConsentRequired | ConsentInvalid):
        if consent_form is not None:
            consent_form.add_error(None, message)
        elif "consent" in form.fields:
            form.add_error("consent", message)
        else:
            form.add_error(None, message)
    else:
        form.add_error(None, message)


def _days(start, end):
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 1)


def loop_times(referral) -> dict:
    """Days from sending to acceptance, to the first service and to closure (None until
    they happen)."""
    sent = referral.sent_at
    first_service = None
    if sent is not None and referral.service_date is not None:
        first_service = (referral.service_date - referral.agency.day_of(sent)).days
    return {
        "to_acceptance": _days(sent, referral.accepted_at),
        "to_first_service": first_service,
        "to_closure": _days(sent, referral.closed_at),
    }
