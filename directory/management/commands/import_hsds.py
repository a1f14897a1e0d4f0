"""manage.py import_hsds PATH: load an HSDS 3.0 package (folder or zip) into the
directory. See directory/hsds.py for what is checked."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from directory.hsds import PackageError, import_package


class Command(BaseCommand):
    help = (
        "Import an HSDS 3.0 tabular data package (a folder or a .zip with datapackage.json "
        "and the CSVs), upserting by HSDS id. A package with any error changes nothing "
        "unless --load-valid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="folder or .zip holding datapackage.json")
        parser.add_argument(
            "--agency", metavar="SLUG", help="load into this agency's own directory"
        )
        parser.add_argument(
            "--load-valid",
            action="store_true",
            help="load the valid rows even when others are rejected",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, change nothing"
        )

    def handle(self, *args, path, agency=None, load_valid=False, dry_run=False, **options):
        target = None
        if agency:
            target = Agency.objects.filter(slug=agency).first()
            if target is None:
                raise CommandError(f"No agency with the slug {agency!r}.")
        try:
            report = import_package(path, agency=target, load_valid=load_valid, dry_run=dry_run)
        except PackageError as e:
            raise CommandError(f"Cannot read the package: {e}") from None

        for problem in report.problems:
            (self.stderr if problem.error else self.stdout).write(str(problem))
        for table, counts in report.counts.items():
            self.stdout.write(
                f"{table}: {counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged"
            )
        where = f"agency {target.slug}" if target else "the shared directory"
        if report.errors and not load_valid:
            raise CommandError(
                f"{report.rejected} of {report.rows} rows rejected; nothing was changed "
                "(--load-valid loads the valid rows).",
                returncode=1,
            )
        if dry_run:
            self.stdout.write(f"Dry run: nothing was written to {where}.")
        else:
            self.stdout.write(f"Imported into {where}.")
        if report.errors:
            done = "checked" if dry_run else "loaded"
            raise CommandError(
                f"{report.rejected} of {report.rows} rows rejected; the valid rows were {done}.",
                returncode=1,
            )
