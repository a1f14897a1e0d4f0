# The message and arguments of a release reason or an alert's resolution the product wrote
# (core.i18n.stored_text), shown in each reader's language. Null for one a dispatcher
# typed, and for rows written before.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0002_safety_alerts_cad_keys_involuntary"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="resolution_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="assignment",
            name="release_reason_i18n",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
