import functools

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext

from cases.cssrs import RiskLevel

register = template.Library()


@register.simple_tag
def risk_badge(level):
    """The risk level as a coloured badge (risk-high etc. in casebook.css)."""
    return _risk_badge(level, get_language())


@functools.lru_cache(maxsize=64)
def _risk_badge(level, language):
    # A caseload shows it twice a row: made once per level and language.
    try:
        label = RiskLevel(level).label
    except ValueError:
        label = level
    return format_html('<span class="badge risk-badge risk-{}">{}</span>', level, label)


@register.filter
def days_since(moment):
    """Whole days from `moment` to today, in the active time zone: the agency's (the
    request's, see accounts.middleware)."""
    if not moment:
        return ""
    return (timezone.localdate() - timezone.localdate(moment)).days


@register.filter
def last4(phone_digits):
    """The last four digits of a phone number: enough to recognise it, no more."""
    return phone_digits[-4:] if phone_digits and len(phone_digits) >= 4 else ""


@register.filter
def yes_no(value):
    """True/False/None (not asked) as a page shows it."""
    if value is None:
        return gettext("Not asked")
    return gettext("Yes") if value else gettext("No")
