"""Reference lists as crisis programmes (CAHOOTS, STAR, 988) report them. Agencies may
add, rename or retire entries in the admin; codes are stable for reports."""

from django.db import migrations

CONCERNS = [
    ("mental-health", "Mental health"),
    ("suicide-risk", "Suicide risk or self-harm"),
    ("substance-use", "Substance use"),
    ("housing", "Housing or homelessness"),
    ("domestic-violence", "Domestic violence"),
    ("medical", "Medical"),
    ("food", "Food insecurity"),
    ("financial", "Financial hardship"),
    ("family-conflict", "Family or relationship conflict"),
    ("legal", "Legal"),
    ("other", "Other"),
]
CALL_NATURES = [
    ("welfare-check", "Welfare check"),
    ("suicidal", "Suicidal ideation or threat"),
    ("mental-health-crisis", "Mental-health crisis"),
    ("intoxication", "Intoxication"),
    ("disorientation", "Disorientation or confusion"),
    ("trespass", "Trespass or disturbance"),
    ("conflict", "Conflict or dispute"),
    ("housing-need", "Housing or shelter need"),
    ("transport", "Transport request"),
    ("medical", "Medical need"),
    ("other", "Other"),
]
SERVICES = [
    ("counselling", "Crisis counselling or de-escalation"),
    ("safety-planning", "Safety planning"),
    ("first-aid", "First aid"),
    ("transport", "Transport"),
    ("supplies", "Supplies (food, water, clothing, blankets)"),
    ("information-referral", "Information and referral"),
    ("family-support", "Support for family or bystanders"),
    ("other", "Other"),
]


def load(apps, schema_editor):
    for model_name, rows in (
        ("Concern", CONCERNS),
        ("CallNature", CALL_NATURES),
        ("OnSceneService", SERVICES),
    ):
        model = apps.get_model("cases", model_name)
        for order, (code, label) in enumerate(rows):
            model.objects.update_or_create(
                code=code, defaults={"label": label, "sort_order": order * 10}
            )


def unload(apps, schema_editor):
    for model_name, rows in (
        ("Concern", CONCERNS),
        ("CallNature", CALL_NATURES),
        ("OnSceneService", SERVICES),
    ):
        apps.get_model("cases", model_name).objects.filter(code__in=[c for c, _ in rows]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
