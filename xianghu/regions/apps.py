from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "xianghu.regions"
    label = "regions"
    verbose_name = _("Regions and organisations")

    def ready(self) -> None:
        from . import access, agency_access  # noqa: F401  (registers the access policies)
        from .agency_panels import autodiscover

        # The panels of the stationed-agency page provided by higher apps (assessment).
        autodiscover()
