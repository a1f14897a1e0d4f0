"""manage.py export_hsds PATH: write the directory as an HSDS 3.0 package that
import_hsds loads back unchanged."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from directory.hsds import export_package


class Command(BaseCommand):
    help = (
        "Export the shared directory (or, with --agency, an agency's own directory) as an "
        "HSDS 3.0 tabular data package: a folder, or a zip with --zip."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="folder to write (made if missing), or the zip file")
        parser.add_argument("--agency", metavar="SLUG", help="export this agency's own directory")
        parser.add_argument("--zip", action="store_true", help="write one zip file")

    def handle(self, *args, path, agency=None, zip=False, **options):  # noqa: A002
        target = None
        if agency:
            target = Agency.objects.filter(slug=agency).first()
            if target is None:
                raise CommandError(f"No agency with the slug {agency!r}.")
        try:
            counts = export_package(path, agency=target, as_zip=zip)
        except OSError as e:
            raise CommandError(f"Cannot write {path}: {e.strerror or e}") from None
        total = sum(counts.values())
        for table, rows in counts.items():
            if rows:
                self.stdout.write(f"{table}: {rows} rows")
        self.stdout.write(f"Exported {total} rows to {path}.")
