from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demonstration data: the fictional county 清河县 and its accounts. It sits on top
    of every domain app because a demo county spans all of them."""

    name = "xianghu.demo"
    label = "demo"
    verbose_name = _("Demo data")
