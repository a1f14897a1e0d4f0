"""Named constructors for referral history (ReferralEvent) and the case timeline
(CaseEvent kinds REFERRAL, CONSENT and DISCLOSURE). Call inside the transaction that made
the change, so the history and the change commit together."""

from cases.models import CaseEvent, CaseEventKind
from referrals.models import ReferralEvent, ShareItem, Status

SUMMARY_MAX = 300


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _items(values) -> str:
    labels = dict(ShareItem.choices)
    return ", ".join(labels.get(v, v).lower() for v in values)


# --- Referral history ---------------------------------------------------------------


def referral_event(*, referral, kind, actor, via, note="", **fields) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral, kind=kind, actor=actor, via=via, note=note, **fields
    )


# --- Case timeline --------------------------------------------------------------------


def referral_created(*, referral, actor) -> CaseEvent:
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=referral.created_at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(
            f"Referral drafted to {referral.provider_name} ({referral.get_need_category_display()})"
        ),
        detail={"referral_id": referral.pk, "status": referral.status},
    )


def referral_status_changed(*, referral, actor, from_status, via, at) -> CaseEvent:
    to_label = Status(referral.status).label
    summary = f"Referral to {referral.provider_name}: {Status(from_status).label} → {to_label}"
    if referral.outcome and referral.status != Status.ENTERED_IN_ERROR:
        summary += f" ({referral.get_outcome_display()})"
    if via == "staff_for_provider":
        summary += ", as reported by the provider"
    elif via == "provider_link":
        summary += ", by the provider through its link"
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(summary),
        detail={"referral_id": referral.pk, "from": from_status, "to": referral.status},
    )


def appointment_recorded(*, referral, actor, at) -> CaseEvent:
    return CaseEvent.objects.create(
        case_id=referral.case_id,
        actor=actor,
        at=at,
        kind=CaseEventKind.REFERRAL,
        summary=_summary(
            f"Appointment with {referral.provider_name} on "
            f"{referral.agency.describe_moment(referral.appointment_at)}"
        ),
        detail={"referral_id": referral.pk, "appointment_at": referral.appointment_at.isoformat()},
    )


def consent_recorded(*, consent, case, actor) -> CaseEvent:
    kind = "Part 2 consent" if consent.is_part2 else "Consent"
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        at=consent.obtained_at,
        kind=CaseEventKind.CONSENT,
        summary=_summary(
            f"{kind} ({consent.get_method_display().lower()}) to share "
            f"{_items(consent.scope)} with {consent.recipients}"
        ),
        detail={"consent_id": consent.pk},
    )


def consent_revoked(*, consent, case, actor) -> CaseEvent:
    kind = "Part 2 consent" if consent.is_part2 else "Consent"
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        at=consent.revoked_at,
        kind=CaseEventKind.CONSENT,
        summary=_summary(
            f"{kind} of {consent.obtained_at:%Y-%m-%d} to share with {consent.recipients} revoked"
        ),
        detail={"consent_id": consent.pk, "revoked": True},
    )


def disclosure_made(*, disclosure, actor) -> CaseEvent:
    by_phone = disclosure.channel == "phone"
    how = " by phone" if by_phone else ""
    summary = f"Disclosed{how} to {disclosure.recipient}: {_items(disclosure.items)}"
    if disclosure.part2_notice:
        summary += " (with the 42 CFR Part 2 notice)"
    elif by_phone and disclosure.consent.is_part2:
        summary += " (42 CFR Part 2: no written notice sent)"
    return CaseEvent.objects.create(
        case_id=disclosure.case_id,
        actor=actor,
        at=disclosure.disclosed_at,
        kind=CaseEventKind.DISCLOSURE,
        summary=_summary(summary),
        detail={
            "disclosure_id": disclosure.pk,
            "referral_id": disclosure.referral_id,
            "consent_id": disclosure.consent_id,
        },
    )
