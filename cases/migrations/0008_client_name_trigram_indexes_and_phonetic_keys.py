# Fuzzy duplicate suggestions (cases/matching.py): the pg_trgm extension and GIN trigram
# indexes on the searched name columns, on PostgreSQL only (the embedded SQLite default
# compares names without them), and the phonetic key of every existing client.

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# name_key: trigram similarity (%), word similarity (%>) and LIKE '%...%' of client search;
# name_phonetic: LIKE '% CODE %' for each word's sound.
TRIGRAM_INDEXES = (
    ("client_name_key_trgm_idx", "name_key"),
    ("client_name_phonetic_trgm_idx", "name_phonetic"),
)


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON cases_client USING gin ({column} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def fill_phonetic_keys(apps, schema_editor):
    # The key must be exactly the one the application computes, so the pure function is
    # imported (cases.names imports no model).
    from cases.names import phonetic_key

    Client = apps.get_model("cases", "Client")
    batch = []
    for client in Client.objects.only("pk", "legal_name", "preferred_name").iterator(
        chunk_size=2000
    ):
        client.name_phonetic = phonetic_key(client.legal_name, client.preferred_name)
        batch.append(client)
        if len(batch) == 2000:
            Client.objects.bulk_update(batch, ["name_phonetic"])
            batch = []
    if batch:
        Client.objects.bulk_update(batch, ["name_phonetic"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_client_matching_unidentified_merge"),
    ]

    operations = [
        # A no-op on SQLite (CreateExtension checks the vendor).
        TrigramExtension(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
        migrations.RunPython(fill_phonetic_keys, migrations.RunPython.noop),
    ]
