"""API sign-ins: a token row per sign-in, holding only a digest of the secret, in place of
Django REST framework's one stored token per user (rest_framework.authtoken, no longer
installed: its table goes, and with it every token issued under it; their holders sign
in again). Going back does not bring that table back: its tokens ended here and cannot
be restored (re-installing the app: `migrate authtoken zero --fake`, then `migrate`)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_grant_directory_and_export_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("prefix", models.CharField(editable=False, max_length=16)),
                ("digest", models.CharField(editable=False, max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("last_used_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_reason", models.CharField(blank=True, max_length=200)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "agency",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.agency",
                    ),
                ),
                (
                    "revoked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API sign-in",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("revoked_at__isnull", True)),
                        fields=["user", "-created_at"],
                        name="apitoken_live_by_user",
                    ),
                    models.Index(
                        condition=models.Q(("revoked_at__isnull", True)),
                        fields=["agency", "-created_at"],
                        name="apitoken_live_by_agency",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("prefix",), name="apitoken_prefix_unique")
                ],
            },
        ),
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop
        ),
    ]
