"""The client's page: their safety plan by a link, without an account.

A usable link shows the plan's current version and nothing else of the record: no name,
no case, no risk, no notes. It speaks the client's language (a `?lang=` switch lets them
choose another the product speaks) and shows dates in the agency's zone. Anything else (a
malformed, unknown, expired or revoked token, a plan without a version) gets the same
neutral 404 that names nobody. Every opening and every refusal is audited with the
caller's address and the path; the token is never written to the trail
(services.plan_link_audit_path).

Requests are counted per client address (settings.SAFETY_PLAN_LINK_RATE): past the limit
the page answers 429 without looking at the token, and one audit row per window says the
limit was hit, as on the provider's page (referrals/provider_views.py).
"""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_safe

from accounts.models import zone_of
from audit.models import Action
from audit.services import record as audit
from core.http import client_address
from core.i18n import client_language, supported
from core.ratelimit import count
from plans import services
from plans.models import LIFELINE, SafetyPlanLink


def _private(response):
    """No search engine, cache or other site's Referer header keeps the page or its
    address (as the provider's page: "same-origin" keeps the page's own links working)."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def _tel(number: str) -> str:
    """A number as a tel: link dials it: digits, and a leading +."""
    digits = "".join(c for c in number if c.isdigit())
    return f"+{digits}" if number.strip().startswith("+") else digits


@require_safe
def plan_link(request, token):
    usage = count(
        request,
        group="plans.plan_link",
        who=client_address(request) or "",
        rate=settings.SAFETY_PLAN_LINK_RATE,
    )
    if usage.limited:
        return _refuse_for_rate(request, usage)
    link = services.resolve_safety_plan_link(token)
    if link is None:
        _audit_refused(request, token)
        return _private(render(request, "plans/plan_link_gone.html", status=404))
    plan = link.plan
    agency = plan.agency
    language = supported(request.GET.get("lang")) or client_language(plan.client)
    with timezone.override(zone_of(agency)), translation.override(language):
        services.record_plan_link_use(link=link, request=request)
        version = plan.current
        response = render(
            request,
            "plans/plan_link.html",
            {
                "version": version,
                "means": list(version.means.all()) if version else [],
                "agency_name": agency.name,
                "agency_line": version.agency_line if version else "",
                "agency_line_tel": _tel(version.agency_line) if version else "",
                "lifeline": LIFELINE,
                "works_until": agency.day_of(link.expires_at),
                "languages": [
                    (code, name) for code, name in settings.LANGUAGES if code != language
                ],
            },
        )
    response["Content-Language"] = language
    return _private(response)


def _refuse_for_rate(request, usage):
    if usage.first_refusal:
        audit(
            request=request,
            action=Action.DENIED,
            object_type="safetyplanlink",
            detail={"reason": "rate limit", "method": request.method},
            path=services.plan_link_audit_path(None),
        )
    response = render(request, "plans/plan_link_limited.html", status=429)
    response["Retry-After"] = str(usage.retry_after)
    return _private(response)


def _audit_refused(request, token):
    """A DENIED row for an unusable link: its public id (and its agency's trail) when the
    token is well formed and signed, nothing of the token otherwise."""
    public_id = SafetyPlanLink.parse(token[:200])
    agency_id = None
    if public_id is not None:
        row = SafetyPlanLink.objects.filter(public_id=public_id).values("plan__agency_id").first()
        agency_id = row["plan__agency_id"] if row else None
    audit(
        request=request,
        action=Action.DENIED,
        object_type="safetyplanlink",
        object_id=str(public_id) if public_id else "",
        agency_id=agency_id,
        detail={"reason": "safety plan link unusable", "method": request.method},
        path=services.plan_link_audit_path(request, public_id),
    )
