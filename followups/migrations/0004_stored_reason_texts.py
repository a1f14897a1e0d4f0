# The message and arguments of a reason the product wrote (core.i18n.stored_text), shown
# in each reader's language: an enrolment's reason and end reason, a follow-up's reason and
# cancel reason. Null for a reason a person typed, and for rows written before.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0003_attempt_submission_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrolment",
            name="end_reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="enrolment",
            name="reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="followup",
            name="cancel_reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="followup",
            name="reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
