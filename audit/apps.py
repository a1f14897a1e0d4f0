from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from audit import receivers

        # Once per migrate, after every app's migrations (sender: this app only).
        post_migrate.connect(receivers.regrant_app_role, sender=self)
