from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    """The call–response loop (乡呼县应): workflow table, transition service, events,
    deadlines, supervision, evaluation (docs/workflow.md)."""

    name = "xianghu.calls"
    label = "calls"
    verbose_name = _("Calls")

    def ready(self) -> None:
        from . import (
            access,  # noqa: F401  (registers the access policies)
            notifying,
            services,
        )
        from .integrity import install_append_only_triggers

        # Notifications and webhooks of every committed event (docs/notifications.md).
        if notifying.on_call_event not in services.AFTER_COMMIT:
            services.AFTER_COMMIT.append(notifying.on_call_event)

        # The call clocks of the lists' printed manuals (catalog/manual.py).
        from xianghu.catalog.manual import CALL_CLOCK_PROVIDERS

        from .manual_clocks import item_clocks

        if item_clocks not in CALL_CLOCK_PROVIDERS:
            CALL_CLOCK_PROVIDERS.append(item_clocks)

        post_migrate.connect(
            install_append_only_triggers, sender=self, dispatch_uid="calls_append_only"
        )
