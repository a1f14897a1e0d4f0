from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.models import Role, User
from audit.models import Action
from audit.services import record
from core.exceptions import DomainError

AGENCY_ADMIN_PERMISSIONS = [
    ("accounts", "view_user"),
    ("accounts", "add_user"),
    ("accounts", "change_user"),
    ("accounts", "view_team"),
    ("accounts", "add_team"),
    ("accounts", "change_team"),
    # Their own agency's settings (accounts/admin.py AgencyAdmin: the crisis line and the
    # crisis plans' review interval).
    ("accounts", "view_agency"),
    ("accounts", "change_agency"),
    ("cases", "view_concern"),
    ("cases", "view_callnature"),
    ("cases", "view_onsceneservice"),
    ("referrals", "export_identified"),
    # The directory admin (directory/admin.py) limits changes to the agency's own rows.
    *[
        ("directory", f"{action}_{model}")
        for model in [
            "organization",
            "service",
            "location",
            "serviceatlocation",
            "address",
            "contact",
            "phone",
            "schedule",
            "taxonomy",
            "taxonomyterm",
            "attribute",
            "language",
            "servicearea",
            "hsdsrecord",
        ]
        for action in ["view", "add", "change", "delete"]
    ],
]


@transaction.atomic
def grant_agency_admin_permissions(*, user: User) -> User:
    """Let an agency admin manage their agency's users and teams in the admin (the admin
    scopes every row to their agency). Reference lists are shared by every agency, so
    agency admins read them and system admins change them."""
    if user.role != Role.AGENCY_ADMIN or not user.agency_id:
        raise ValueError("Only an agency admin of an agency gets these permissions.")
    perms = Permission.objects.none()
    for app_label, codename in AGENCY_ADMIN_PERMISSIONS:
        perms |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    user.user_permissions.add(*perms)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


@transaction.atomic
def change_password(*, user: User, password: str, request: HttpRequest | None = None) -> User:
    """Give a user the new password they chose (validated by the caller's form). Their
    other sessions end at their next request (Django's session auth hash no longer
    matches) and so do their API tokens (`User.save`); the caller keeps the current
    session with `update_session_auth_hash`."""
    user.set_password(password)
    user.save(update_fields=["password"])
    record(
        request=request,
        actor=user,
        action=Action.UPDATE,
        obj=user,
        detail={"changed": ["password"]},
    )
    return user


@transaction.atomic
def set_language(*, user: User, language: str, request: HttpRequest | None = None) -> User:
    """The language of `user`'s pages and e-mails: one of settings.LANGUAGES, or "" for
    their browser's (and the installation's default for e-mails). The caller sets the
    language cookie, so that the login page speaks it after they log out."""
    language = (language or "").strip()
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(_("Choose one of the languages offered."), field="language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
        record(
            request=request,
            actor=user,
            action=Action.UPDATE,
            obj=user,
            detail={"changed": ["language"], "language": language},
        )
    return user
