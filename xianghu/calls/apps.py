from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    """The call–response loop (乡呼县应): workflow table, transition service, events, deadlines, supervision, evaluation."""

    name = "xianghu.calls"
    label = "calls"
    verbose_name = _("Calls")
