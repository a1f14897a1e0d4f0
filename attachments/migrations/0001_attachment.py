# Photos and documents attached to client records (attachments/models.py).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import attachments.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_user_role_dispatcher"),
        ("cases", "0010_caseevent_kind_attachment"),
        ("referrals", "0003_referral_stale_at_and_is_stale"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Attachment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("signed_consent", "Signed consent"),
                            ("id_document", "ID document"),
                            ("discharge_papers", "Discharge papers"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("label", models.CharField(max_length=120, verbose_name="label")),
                (
                    "file",
                    models.FileField(
                        storage=attachments.models.attachment_storage,
                        upload_to=attachments.models.stored_name,
                    ),
                ),
                ("content_type", models.CharField(max_length=40, verbose_name="type")),
                ("size", models.PositiveIntegerField(verbose_name="size in bytes")),
                ("sha256", models.CharField(max_length=64)),
                (
                    "original_name",
                    models.CharField(blank=True, max_length=200, verbose_name="original file name"),
                ),
                (
                    "uploaded_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="uploaded"
                    ),
                ),
                ("entered_in_error_at", models.DateTimeField(blank=True, null=True)),
                ("entered_in_error_reason", models.CharField(blank=True, max_length=500)),
                (
                    "agency",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.agency",
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attachments",
                        to="cases.case",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attachments",
                        to="cases.client",
                    ),
                ),
                (
                    "consent",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attachments",
                        to="referrals.consent",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attachments",
                        to="cases.contact",
                    ),
                ),
                (
                    "entered_in_error_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "attachment",
                "verbose_name_plural": "attachments",
                "ordering": ["-uploaded_at", "-pk"],
                "indexes": [
                    models.Index(fields=["case", "-uploaded_at"], name="attachment_case_idx"),
                    models.Index(fields=["client", "-uploaded_at"], name="attachment_client_idx"),
                    models.Index(fields=["agency", "-uploaded_at"], name="attachment_agency_idx"),
                    models.Index(
                        condition=models.Q(("contact__isnull", False)),
                        fields=["contact"],
                        name="attachment_contact_idx",
                    ),
                    models.Index(
                        condition=models.Q(("consent__isnull", False)),
                        fields=["consent"],
                        name="attachment_consent_idx",
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("label", ""), _negated=True),
                        name="attachment_has_label",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("content_type__in", ["image/jpeg", "image/png", "application/pdf"])
                        ),
                        name="attachment_stored_type",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("contact__isnull", True), ("case__isnull", False), _connector="OR"
                        ),
                        name="attachment_contact_has_case",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("entered_in_error_at__isnull", True),
                                ("entered_in_error_by__isnull", True),
                                ("entered_in_error_reason", ""),
                            ),
                            models.Q(
                                ("entered_in_error_at__isnull", False),
                                ("entered_in_error_by__isnull", False),
                                models.Q(("entered_in_error_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="attachment_in_error_complete",
                    ),
                ],
            },
        ),
    ]
