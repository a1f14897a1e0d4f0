from django.conf import settings


def session_timeout(request):
    """Idle timeout in seconds, for the page script that warns before logoff."""
    return {"session_idle_seconds": settings.SESSION_COOKIE_AGE}
