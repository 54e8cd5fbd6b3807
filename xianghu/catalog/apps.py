from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Responsibility lists (清单): guidance catalogue, county lists, versions, change
    control, admission of out-of-list tasks, the guard (docs/catalog.md)."""

    name = "xianghu.catalog"
    label = "catalog"
    verbose_name = _("Responsibility lists")

    def ready(self) -> None:
        from . import access  # noqa: F401  (registers the access policies)
