from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    """Intelligent routing: list item and department suggestions from a call's text, duplicates, hotspots."""

    name = "xianghu.routing"
    label = "routing"
    verbose_name = _("Routing")
