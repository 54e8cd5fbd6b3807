from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    """Assessment (考核): metrics from call events, composite scores, rankings, notices (通报), accountability by the list."""

    name = "xianghu.assessment"
    label = "assessment"
    verbose_name = _("Assessment")
