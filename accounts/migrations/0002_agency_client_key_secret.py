"""Each agency gets its own random secret for pseudonymous client keys in de-identified
exports. Added in three steps so every existing agency gets a different value (a column
default would give them all the same one)."""

import secrets

from django.db import migrations, models

import accounts.models


def give_each_agency_a_secret(apps, schema_editor):
    Agency = apps.get_model("accounts", "Agency")
    for agency in Agency.objects.filter(client_key_secret__isnull=True).only("pk"):
        agency.client_key_secret = secrets.token_hex(32)
        agency.save(update_fields=["client_key_secret"])


def forget_the_secrets(apps, schema_editor):
    Agency = apps.get_model("accounts", "Agency")
    Agency.objects.update(client_key_secret=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="agency",
            name="client_key_secret",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(give_each_agency_a_secret, forget_the_secrets),
        migrations.AlterField(
            model_name="agency",
            name="client_key_secret",
            field=models.CharField(
                default=accounts.models.new_client_key_secret, editable=False, max_length=64
            ),
        ),
    ]
