from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from core.exceptions import DomainError
from dispatch.cad_keys import create_cad_key


class Command(BaseCommand):
    help = "Make a key for an agency's CAD system to post incidents, and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="The agency's id or slug.")
        parser.add_argument("--name", required=True, help="Which system holds it: “County CAD”.")

    def handle(self, *args, agency, name, **options):
        found = Agency.objects.filter(slug=agency).first()
        if found is None and agency.isascii() and agency.isdigit() and len(agency) < 19:
            found = Agency.objects.filter(pk=int(agency)).first()
        if found is None:
            raise CommandError(f"No agency has the id or slug {agency!r}.")
        try:
            key, raw = create_cad_key(agency=found, name=name, actor=None)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"{key} for {found}: shown this once, keep it safe.")
        self.stdout.write(raw)
