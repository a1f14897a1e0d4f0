"""The "casebook needs" taxonomy: one term per need category a worker searches by.

The ids are fixed (and repeated in directory/needs.py, which a test keeps in step) so
that every installation, export and import agrees on them."""

import uuid

from django.db import migrations

TAXONOMY_ID = uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e01")
TAXONOMY_NAME = "casebook needs"

# need category: (term id, name, description)
TERMS = {
    "housing": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e10",
        "Housing and shelter",
        "Emergency shelter, transitional and supportive housing, help finding or keeping a home.",
    ),
    "mental_health": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e11",
        "Counselling and mental health",
        "Counselling, psychiatric care, crisis stabilisation and peer support.",
    ),
    "substance_use": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e12",
        "Substance use treatment",
        "Detox, residential and outpatient treatment, medication for addiction, recovery support.",
    ),
    "employment": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e13",
        "Employment",
        "Job search, training and supported employment.",
    ),
    "financial": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e14",
        "Financial aid and benefits",
        "Cash assistance, help applying for benefits, utility and rent help.",
    ),
    "medical": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e15",
        "Medical",
        "Primary and urgent care, clinics, prescriptions.",
    ),
    "food": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e16",
        "Food",
        "Food pantries, meals and food benefits.",
    ),
    "legal": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e17",
        "Legal",
        "Legal aid and advocacy.",
    ),
    "transportation": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e18",
        "Transportation",
        "Rides to appointments, transit passes.",
    ),
    "domestic_violence": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e19",
        "Domestic violence",
        "Safety planning, shelter and advocacy for survivors of domestic violence.",
    ),
    "other": (
        "6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e1a",
        "Other",
        "Any other need.",
    ),
}


def create_needs_taxonomy(apps, schema_editor):
    Taxonomy = apps.get_model("directory", "Taxonomy")
    TaxonomyTerm = apps.get_model("directory", "TaxonomyTerm")
    Taxonomy.objects.get_or_create(
        id=TAXONOMY_ID,
        defaults={
            "name": TAXONOMY_NAME,
            "description": "The need categories casebook workers search the directory by.",
        },
    )
    for category, (term_id, name, description) in TERMS.items():
        TaxonomyTerm.objects.get_or_create(
            id=uuid.UUID(term_id),
            defaults={
                "code": category,
                "name": name,
                "description": description,
                "taxonomy": TAXONOMY_NAME,
                "taxonomy_id": TAXONOMY_ID,
                "need_category": category,
            },
        )


def remove_needs_taxonomy(apps, schema_editor):
    Taxonomy = apps.get_model("directory", "Taxonomy")
    TaxonomyTerm = apps.get_model("directory", "TaxonomyTerm")
    TaxonomyTerm.objects.filter(id__in=[uuid.UUID(t[0]) for t in TERMS.values()]).delete()
    Taxonomy.objects.filter(id=TAXONOMY_ID).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_hsds_tables"),
    ]

    operations = [
        migrations.RunPython(create_needs_taxonomy, remove_needs_taxonomy),
    ]
