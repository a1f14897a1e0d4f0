# The case timeline's "attachment" entries (attachments/events.py). Only this choice: the
# timeline kinds of other work in progress come with their own migrations.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_case_visibility_agency_indexes"),
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
                    ("attachment", "Attachment"),
                ],
                max_length=30,
            ),
        ),
    ]
