from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "xianghu.regions"
    label = "regions"
    verbose_name = _("Regions and organisations")

    def ready(self) -> None:
        from . import access  # noqa: F401  (registers the access policies)
