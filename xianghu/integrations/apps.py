from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Channels: Open311 GeoReport v2, 12345 hotline import, webhooks."""

    name = "xianghu.integrations"
    label = "integrations"
    verbose_name = _("Integrations")
