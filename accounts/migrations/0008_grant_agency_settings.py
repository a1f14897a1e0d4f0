"""Existing agency admins get what new ones get from grant_agency_admin_permissions since
the plans arrived: their own agency's settings (the crisis line, the crisis plans' review
interval) in the admin."""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

PERMISSIONS = ["view_agency", "change_agency"]


def grant(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    admins = list(User.objects.filter(role="agency_admin", agency__isnull=False))
    if not admins:
        return
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_contenttypes(app_config, apps=apps, verbosity=0)
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    perms = list(
        Permission.objects.filter(content_type__app_label="accounts", codename__in=PERMISSIONS)
    )
    for admin in admins:
        admin.user_permissions.add(*perms)


def revoke(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=PERMISSIONS)
    for admin in User.objects.filter(role="agency_admin"):
        admin.user_permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_agency_plan_settings")]

    operations = [migrations.RunPython(grant, revoke)]
