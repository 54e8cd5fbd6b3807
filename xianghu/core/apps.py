from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "xianghu.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry

        from .audit_db import install_audit_triggers

        # The security audit log is append-only in the database (core/audit_db.py).
        post_migrate.connect(
            install_audit_triggers, sender=self, dispatch_uid="core_audit_triggers"
        )
        # Every change made in the administration site is an audit event.
        post_save.connect(_admin_change, sender=LogEntry, dispatch_uid="core_audit_admin_change")


def _admin_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    from .audit import audit_record
    from .models import AuditKind

    if not created:
        return
    action = {1: "addition", 2: "change", 3: "deletion"}.get(instance.action_flag, "other")
    content_type = instance.content_type
    audit_record(
        kind=AuditKind.ADMIN_CHANGE,
        user=instance.user,
        object_type=content_type.app_label + "." + content_type.model if content_type else "",
        object_id=instance.object_id or "",
        object_repr=instance.object_repr or "",
        message=action,
        detail={"action": action, "change": instance.get_change_message()[:500]},
        # The change and its record share one transaction: a rolled-back change leaves none.
        survive_rollback=False,
    )
