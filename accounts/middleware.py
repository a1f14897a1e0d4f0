import zoneinfo

from django.utils import timezone


class AgencyTimezoneMiddleware:
    """Show times in the signed-in user's agency time zone (they are stored in UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tz = None
        if user is not None and user.is_authenticated and user.agency_id:
            try:
                tz = zoneinfo.ZoneInfo(user.agency.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                tz = None
        if tz:
            timezone.activate(tz)
        else:
            timezone.deactivate()
        return self.get_response(request)
