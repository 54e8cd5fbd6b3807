from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    """Assessment (考核): metrics from call events, composite scores, rankings, notices (通报), accountability by the list."""

    name = "xianghu.assessment"
    label = "assessment"
    verbose_name = _("Assessment")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from xianghu.calls.models import Attachment
        from xianghu.calls.signals import event_appended

        from . import access, rollup  # noqa: F401  (access registers the policies)

        # The roll-up changes in the transaction of every call event (docs/scoring.md).
        event_appended.connect(rollup.on_event_appended, dispatch_uid="assessment_rollup")
        post_save.connect(
            rollup.on_attachment_saved, sender=Attachment, dispatch_uid="assessment_evidence"
        )
