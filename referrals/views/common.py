"""What the referral pages share: showing a service's refusal on the right form field,
and the numbers that say how fast a referral's loop closed."""

from core.forms import add_error
from referrals.exceptions import ConsentInvalid, ConsentRequired


def add_referral_error(exc, form, consent_form=None):
    """Put a ReferralError beside the input it names (`exc.field`), on the inline consent
    form first when one was filled in, else at the top of `form` (core.forms.add_error).
    A consent refusal that names no input of the forms goes to the top of the consent
    form, else beside the form's choice of consent."""
    forms = (form,) if consent_form is None else (consent_form, form)
    field = getattr(exc, "field", None)
    if isinstance(exc, ConsentRequired | ConsentInvalid) and not any(
        field in f.fields for f in forms
    ):
        if consent_form is not None:
            consent_form.add_error(None, str(exc))
            return
        if "consent" in form.fields:
            form.add_error("consent", str(exc))
            return
    add_error(exc, *forms)


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
