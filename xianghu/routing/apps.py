from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    """Intelligent routing: list item and department suggestions from a call's text, duplicates, hotspots."""

    name = "xianghu.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        from xianghu.calls import panels as call_pages
        from xianghu.calls.signals import event_appended

        from . import panels, receivers

        event_appended.connect(receivers.on_event_appended, dispatch_uid="routing_decisions")
        call_pages.register_form_panel(panels.form_panel)
        call_pages.register_call_panel(panels.call_panel)
