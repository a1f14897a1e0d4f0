# The message and arguments of a failure reason the product wrote (core.i18n.stored_text),
# shown in each reader's language. Null for a reason that is only a server's own words,
# and for rows written before.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_dispatch_alert_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="failure_reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
