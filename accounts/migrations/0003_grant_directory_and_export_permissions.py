"""Existing agency admins get what new ones get from grant_agency_admin_permissions since
the directory and the referral exports arrived: editing their agency's own directory
entries in the admin, and exporting referral rows with names."""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

DIRECTORY_MODELS = [
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
PERMISSIONS = [("referrals", "export_identified")] + [
    ("directory", f"{action}_{model}")
    for model in DIRECTORY_MODELS
    for action in ["view", "add", "change", "delete"]
]


def grant(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    admins = list(User.objects.filter(role="agency_admin", agency__isnull=False))
    if not admins:
        return
    # Content types and permissions are normally made after migrating; make them now to
    # grant them (the migration state's app configs need a models_module for that).
    for label in ("directory", "referrals"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_contenttypes(app_config, apps=apps, verbosity=0)
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    perms = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in PERMISSIONS
    ]
    for admin in admins:
        admin.user_permissions.add(*perms)


def revoke(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label__in=["directory", "referrals"],
        codename__in=[codename for _, codename in PERMISSIONS],
    )
    for admin in User.objects.filter(role="agency_admin"):
        admin.user_permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_agency_client_key_secret"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("directory", "0002_casebook_needs_taxonomy"),
        ("referrals", "0001_referrals_consent_disclosure"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
