"""What a sign-in attempt changes besides the audit trail (audit/receivers.py): the
failure counts that slow down guessing, and the session's sign-in time. Django's auth
signals are the one place every way of signing in (login page, admin, API token) passes."""

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from accounts import signin
from accounts.middleware import SIGNED_IN_AT


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if username is None or not hasattr(request, "META") or signin.refusal_of(request):
        return
    signin.record_failure(request, str(username))


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs):
    if hasattr(request, "META"):
        signin.record_success(request, user.get_username())


@receiver(user_logged_in)
def stamp_session(sender, request, user, **kwargs):
    # Only a page session: an API token's sign-in has no session to end.
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        session[SIGNED_IN_AT] = timezone.now().timestamp()
