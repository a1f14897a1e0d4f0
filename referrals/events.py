"""Named constructors for referral history (ReferralEvent) and the case timeline
(CaseEvent kinds REFERRAL, CONSENT and DISCLOSURE). Call inside the transaction that made
the change, so the history and the change commit together."""

from django.utils import translation
from django.utils.translation import gettext_noop

from cases.models import CaseEvent, CaseEventKind
from core.i18n import label, label_list, stored_text
from referrals.models import ITEM_WORDS, ConsentMethod, ReferralEvent, Status

SUMMARY_MAX = 300

# A consent's method as it reads inside a sentence.
METHOD_WORDS = {
    ConsentMethod.VERBAL: gettext_noop("verbal"),
    ConsentMethod.WRITTEN: gettext_noop("written (signed)"),
}


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _items(values) -> dict[str, list[str]]:
    """The shared items in words ("name, phone number"), each shown in the reader's
    language."""
    return label_list(ITEM_WORDS.get(v, v) for v in values)


# --- Referral history ---------------------------------------------------------------


def referral_event(*, referral, kind, actor, via, note="", **fields) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral, kind=kind, actor=actor, via=via, note=note, **fields
    )


# --- Case timeline --------------------------------------------------------------------


def referral_created(*, referral, actor) -> CaseEvent:
    text = stored_text(
        gettext_noop("Referral drafted to %(provider)s (%(need)s)"),
        provider=referral.provider_name,
        need=label(referral.get_need_category_display()),
    )
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=referral.created_at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(text.english),
        detail={"referral_id": referral.pk, "status": referral.status, "i18n": text.data},
    )


# A status change on the timeline: (with an outcome, how it was recorded) -> message.
STATUS_CHANGED = {
    (False, "staff"): gettext_noop("Referral to %(provider)s: %(from)s → %(to)s"),
    (True, "staff"): gettext_noop("Referral to %(provider)s: %(from)s → %(to)s (%(outcome)s)"),
    (False, "staff_for_provider"): gettext_noop(
        "Referral to %(provider)s: %(from)s → %(to)s, as reported by the provider"
    ),
    (True, "staff_for_provider"): gettext_noop(
        "Referral to %(provider)s: %(from)s → %(to)s (%(outcome)s), as reported by the provider"
    ),
    (False, "provider_link"): gettext_noop(
        "Referral to %(provider)s: %(from)s → %(to)s, by the provider through its link"
    ),
    (True, "provider_link"): gettext_noop(
        "Referral to %(provider)s: %(from)s → %(to)s (%(outcome)s), by the provider through "
        "its link"
    ),
}


def referral_status_changed(*, referral, actor, from_status, via, at) -> CaseEvent:
    with_outcome = bool(referral.outcome) and referral.status != Status.ENTERED_IN_ERROR
    how = via if via in ("staff_for_provider", "provider_link") else "staff"
    args = {
        "provider": referral.provider_name,
        "from": label(Status(from_status).label),
        "to": label(Status(referral.status).label),
    }
    if with_outcome:
        args["outcome"] = label(referral.get_outcome_display())
    text = stored_text(STATUS_CHANGED[(with_outcome, how)], **args)
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(text.english),
        detail={
            "referral_id": referral.pk,
            "from": from_status,
            "to": referral.status,
            "i18n": text.data,
        },
    )


def appointment_recorded(*, referral, actor, at) -> CaseEvent:
    with translation.override("en"):
        # The moment is data in the stored text, written as the English summary has it.
        when = referral.agency.describe_moment(referral.appointment_at)
    text = stored_text(
        gettext_noop("Appointment with %(provider)s on %(when)s"),
        provider=referral.provider_name,
        when=when,
    )
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(text.english),
        detail={
            "referral_id": referral.pk,
            "appointment_at": referral.appointment_at.isoformat(),
            "i18n": text.data,
        },
    )


def consent_recorded(*, consent, case, actor) -> CaseEvent:
    message = (
        gettext_noop("Part 2 consent (%(method)s) to share %(items)s with %(recipients)s")
        if consent.is_part2
        else gettext_noop("Consent (%(method)s) to share %(items)s with %(recipients)s")
    )
    text = stored_text(
        message,
        method=label(METHOD_WORDS.get(consent.method, consent.method)),
        items=_items(consent.scope),
        recipients=consent.recipients,
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        at=consent.obtained_at,
        kind=CaseEventKind.CONSENT,
        summary=_summary(text.english),
        detail={"consent_id": consent.pk, "i18n": text.data},
    )


def consent_revoked(*, consent, case, actor) -> CaseEvent:
    message = (
        gettext_noop("Part 2 consent of %(date)s to share with %(recipients)s revoked")
        if consent.is_part2
        else gettext_noop("Consent of %(date)s to share with %(recipients)s revoked")
    )
    text = stored_text(
        message, date=f"{consent.obtained_at:%Y-%m-%d}", recipients=consent.recipients
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        at=consent.revoked_at,
        kind=CaseEventKind.CONSENT,
        summary=_summary(text.english),
        detail={"consent_id": consent.pk, "revoked": True, "i18n": text.data},
    )


# A disclosure on the timeline: (by phone, the Part 2 notice) -> message.
DISCLOSED = {
    (False, ""): gettext_noop("Disclosed to %(recipient)s: %(items)s"),
    (True, ""): gettext_noop("Disclosed by phone to %(recipient)s: %(items)s"),
    (False, "notice"): gettext_noop(
        "Disclosed to %(recipient)s: %(items)s (with the 42 CFR Part 2 notice)"
    ),
    (True, "notice"): gettext_noop(
        "Disclosed by phone to %(recipient)s: %(items)s (with the 42 CFR Part 2 notice)"
    ),
    (True, "unsent"): gettext_noop(
        "Disclosed by phone to %(recipient)s: %(items)s (42 CFR Part 2: no written notice sent)"
    ),
}


def disclosure_made(*, disclosure, actor) -> CaseEvent:
    by_phone = disclosure.channel == "phone"
    notice = ""
    if disclosure.part2_notice:
        notice = "notice"
    elif by_phone and disclosure.consent.is_part2:
        notice = "unsent"
    text = stored_text(
        DISCLOSED[(by_phone, notice)],
        recipient=disclosure.recipient,
        items=_items(disclosure.items),
    )
    return CaseEvent.objects.create(
        case_id=disclosure.case_id,
        actor=actor,
        at=disclosure.disclosed_at,
        kind=CaseEventKind.DISCLOSURE,
        summary=_summary(text.english),
        detail={
            "disclosure_id": disclosure.pk,
            "referral_id": disclosure.referral_id,
            "consent_id": disclosure.consent_id,
            "i18n": text.data,
        },
    )
