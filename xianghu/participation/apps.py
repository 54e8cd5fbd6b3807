from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    """Co-governance (多元共治): public reporting and tracking, open government pages, stakeholder registry, resource matching."""

    name = "xianghu.participation"
    label = "participation"
    verbose_name = _("Co-governance")
