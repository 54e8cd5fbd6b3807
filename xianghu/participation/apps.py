from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    """Co-governance (多元共治): public reporting and tracking, open government pages, stakeholder registry, resource matching."""

    name = "xianghu.participation"
    label = "participation"
    verbose_name = _("Co-governance")

    def ready(self) -> None:
        from xianghu.calls.signals import event_appended

        from . import public_reports

        # A public report's timeline follows its call (inside the event's transaction).
        event_appended.connect(
            public_reports.on_event_appended, dispatch_uid="participation_public_timeline"
        )
