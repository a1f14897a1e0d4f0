# Notes on a case (casework's note form, also kept offline by the phone's outbox), on the
# timeline as "note" entries, each recorded once per one-time submission id.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_caseevent_kind_attachment"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="caseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("opened", "Case opened"),
                    ("contact", "Crisis contact"),
                    ("amended", "Contact amended"),
                    ("risk_changed", "Risk level changed"),
                    ("client_updated", "Client details changed"),
                    ("clients_merged", "Client records merged"),
                    ("concerns_changed", "Presenting concerns changed"),
                    ("reassigned", "Reassigned"),
                    ("closed", "Case closed"),
                    ("emergency_access", "Emergency access"),
                    ("referral", "Referral"),
                    ("consent", "Consent"),
                    ("disclosure", "Disclosure"),
                    ("followup", "Follow-up"),
                    ("hospital_visit", "Hospital visit"),
                    ("note", "Note"),
                    ("attachment", "Attachment"),
                ],
                max_length=30,
            ),
        ),
        migrations.CreateModel(
            name="CaseNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("text", models.TextField(max_length=5000)),
                ("submission_id", models.UUIDField(blank=True, editable=False, null=True)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notes",
                        to="cases.case",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-pk"],
                "indexes": [models.Index(fields=["case", "-at"], name="casenote_case_at_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("submission_id__isnull", False)),
                        fields=("author", "submission_id"),
                        name="casenote_submission_once",
                    )
                ],
            },
        ),
    ]
