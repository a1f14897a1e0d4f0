# The de-identified export's client key is computed by PostgreSQL (reports/export_sql.py):
# pgcrypto's hmac(). pgcrypto is a trusted extension (PostgreSQL 13+): the role running the
# migrations creates it with CREATE on the database, no superuser needed. Its functions
# are executable by PUBLIC, so the application's role (audit/roles.py: USAGE on the
# schema) calls hmac() without a grant of its own. A no-op on SQLite (CreateExtension
# checks the vendor).

from django.contrib.postgres.operations import CryptoExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_export_jobs"),
    ]

    operations = [CryptoExtension()]
