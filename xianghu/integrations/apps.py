from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Channels: Open311 GeoReport v2, 12345 hotline import, webhooks."""

    name = "xianghu.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from xianghu.calls import services as call_services

        from .hotline import access, push  # noqa: F401  (registers the access policies)

        # Status updates of calls made from hotline tickets go back to the hotline.
        if push.on_call_event not in call_services.AFTER_COMMIT:
            call_services.AFTER_COMMIT.append(push.on_call_event)
