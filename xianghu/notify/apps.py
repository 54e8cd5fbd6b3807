from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Notifications: the inbox, e-mail (and, once configured, SMS and WeChat), and
    signed webhooks to other systems (docs/notifications.md)."""

    name = "xianghu.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from . import access  # noqa: F401  (registers the access policies)
