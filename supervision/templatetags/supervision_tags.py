from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def days_since(value):
    """Whole days from an aware datetime to now, counted in the active (agency) time zone,
    so "0" means today there. None for no date."""
    if value is None:
        return None
    return (timezone.localdate() - timezone.localtime(value).date()).days
