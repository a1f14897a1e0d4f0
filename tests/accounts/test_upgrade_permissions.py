import importlib

import pytest
from django.apps import apps

from accounts.services import AGENCY_ADMIN_PERMISSIONS

migration = importlib.import_module(
    "accounts.migrations.0003_grant_directory_and_export_permissions"
)


def codenames(user):
    return set(user.user_permissions.values_list("content_type__app_label", "codename"))


@pytest.mark.django_db
class TestUpgradeGrantsNewPermissions:
    def test_an_existing_agency_admin_gets_the_directory_and_export_permissions(self, dana):
        dana.user_permissions.clear()

        migration.grant(apps, None)

        assert set(migration.PERMISSIONS) <= codenames(dana)

    def test_workers_get_nothing(self, alice):
        migration.grant(apps, None)
        assert codenames(alice) == set()

    def test_the_migration_grants_what_new_agency_admins_get(self):
        added = {(app, code) for app, code in AGENCY_ADMIN_PERMISSIONS if app != "accounts"}
        added -= {p for p in AGENCY_ADMIN_PERMISSIONS if p[0] == "cases"}
        assert set(migration.PERMISSIONS) == added
