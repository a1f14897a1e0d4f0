"""Sign-in, sign-out and failed sign-in go to the audit trail (HIPAA 164.312(b)); after
`migrate`, the audit trail's partitions are topped up and the application's database
role gets its grants again."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from audit import partitions
from audit.models import Action
from audit.roles import current_role, grant_app_privileges, role_exists
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
    # An attempt refused before its password was checked (it must wait: accounts/signin.py)
    # is in the trail already, once per wait.
    if getattr(request, "signin_refusal", None) is not None:
        return
    username = str(credentials.get("username", ""))[:150]
    record(
        request=request if hasattr(request, "META") else None,
        action=Action.LOGIN_FAILED,
        object_type="user",
        detail={"username": username},
    )


@receiver(post_migrate)
def top_up_partitions(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """After `migrate`, run as the owner of the tables, the audit trail has its monthly
    partitions MONTHS_AHEAD months ahead (audit/partitions.py): an installation whose
    worker connects as the application's role, which may not create them, gets them on
    every deploy. A refusal is logged, never raised."""
    # Sent once per app: once is enough.
    if sender.label == "audit":
        partitions.top_up(using=using)


def regrant_app_role(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """After `migrate`, the application's role (DATABASE_APP_ROLE, when it exists) gets
    its grants again: a table a migration rebuilt or one made by another role than the
    one that set the default privileges would otherwise have none, or too many."""
    name = settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not name or connection.vendor != "postgresql" or not role_exists(connection, name):
        return
    if current_role(connection) == name:
        # Migrating as the application's role: it may grant nothing (and should not be
        # migrating at all; MIGRATION_DATABASE_URL names the owner).
        return
    with transaction.atomic(using=using):
        grant_app_privileges(connection, name)
