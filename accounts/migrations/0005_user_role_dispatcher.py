"""A new role, the dispatcher: takes requests for a mobile team and sends units
(dispatch/). Only the field's choices change; no row is touched."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_api_tokens"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="role",
            field=models.CharField(
                choices=[
                    ("social_worker", "Social worker"),
                    ("supervisor", "Supervisor"),
                    ("agency_admin", "Agency admin"),
                    ("system_admin", "System admin"),
                    ("dispatcher", "Dispatcher"),
                ],
                default="social_worker",
                max_length=20,
            ),
        ),
    ]
