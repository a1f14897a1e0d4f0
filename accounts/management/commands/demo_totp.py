from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo login (seed_demo's maya)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        # Prints a code that signs in: only where demo logins may exist at all.
        if not getattr(settings, "DEMO_DATA_ALLOWED", True):
            raise CommandError("Refusing to print sign-in codes in production.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no authenticator.")
        self.stdout.write(mfa.current_code(device))
