from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Agencies, teams and users")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import receivers  # noqa: F401
        from accounts.mfa import note_sign_in

        # Whether a sign-in owes a second factor is decided once, at sign-in, so that
        # pages do not ask the database on every request.
        user_logged_in.connect(note_sign_in, dispatch_uid="accounts.mfa.note_sign_in")
