# An attempt's one-time submission id: one sent again from a phone's outbox is logged once.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0002_attempt_undone_event"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="submission_id",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name="attempt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("submission_id__isnull", False)),
                fields=("by", "submission_id"),
                name="attempt_submission_once",
            ),
        ),
    ]
