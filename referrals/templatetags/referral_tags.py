from django import template
from django.utils.html import format_html

from referrals.models import ShareItem, Status

register = template.Library()

BADGE_CLASSES = {
    Status.DRAFT: "text-bg-secondary",
    Status.REQUESTED: "text-bg-primary",
    Status.ACCEPTED: "text-bg-info",
    Status.IN_PROGRESS: "text-bg-info",
    Status.ON_HOLD: "text-bg-warning",
    Status.COMPLETED: "text-bg-success",
    Status.REJECTED: "text-bg-danger",
    Status.FAILED: "text-bg-danger",
    Status.CANCELLED: "text-bg-dark",
    Status.ENTERED_IN_ERROR: "text-bg-light border",
}


@register.simple_tag
def referral_status_badge(status):
    """A referral status as a coloured badge."""
    try:
        label = Status(status).label
    except ValueError:
        label = status
    css = BADGE_CLASSES.get(status, "text-bg-secondary")
    return format_html('<span class="badge referral-status {}">{}</span>', css, label)


@register.filter
def share_labels(values):
    """ShareItem values as their labels, in ShareItem order, comma separated."""
    values = set(values or ())
    return ", ".join(str(label) for value, label in ShareItem.choices if value in values)
