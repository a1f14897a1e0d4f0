"""Sign-in, sign-out and failed sign-in go to the audit trail (HIPAA 164.312(b))."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Action
from audit.services import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    record(request=request, actor=user, action=Action.LOGIN, object_type="user", object_id=user.pk)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(
            request=request, actor=user, action=Action.LOGOUT, object_type="user", object_id=user.pk
        )


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record(
        request=request if hasattr(request, "META") else None,
        action=Action.LOGIN_FAILED,
        object_type="user",
        detail={"username": username},
    )
