"""A trainee's practice county (sandbox) and the practice identities they play.

Each trainee has at most one live sandbox. Its county hangs under the practice root
region (`core.sandbox.SANDBOX_ROOT_CODE`), outside every real province, so no real
region's figures, rankings or pages ever include it. Practice identities are ordinary
users with an unusable password and memberships only in the sandbox's organisations:
nobody can log in as them; the trainee reaches them only through the sandbox's "switch
to role" control (`services.identity_switch_check`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PracticeRole(models.TextChoices):
    """The parts of the loop a trainee plays, in the order the loop needs them."""

    TOWNSHIP_STAFF = "township_staff", _("Township staff")
    TOWNSHIP_LEADER = "township_leader", _("Township leader")
    PLATFORM_OPERATOR = "platform_operator", _("Platform operator")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")


class Sandbox(models.Model):
    trainee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("trainee"),
        on_delete=models.CASCADE,
        related_name="training_sandboxes",
    )
    number = models.PositiveIntegerField(_("number"), unique=True)
    county = models.OneToOneField(
        "regions.Region",
        verbose_name=_("practice county"),
        on_delete=models.PROTECT,
        related_name="training_sandbox",
    )
    created_at = models.DateTimeField(_("created at"))
    # Set by a reset or the purge: the sandbox is kept (its calls' log is append-only)
    # but its identities are switched off and it is no longer anyone's practice.
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("training sandbox")
        verbose_name_plural = _("training sandboxes")
        constraints = [
            models.UniqueConstraint(
                fields=["trainee"],
                condition=Q(retired_at__isnull=True),
                name="training_one_live_sandbox_per_trainee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.county.name} ({self.trainee_id})"


class PracticeIdentity(models.Model):
    sandbox = models.ForeignKey(
        Sandbox, verbose_name=_("sandbox"), on_delete=models.CASCADE, related_name="identities"
    )
    role = models.CharField(_("practice role"), max_length=32, choices=PracticeRole.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("practice account"),
        on_delete=models.CASCADE,
        related_name="practice_identity",
    )

    class Meta:
        verbose_name = _("practice identity")
        verbose_name_plural = _("practice identities")
        constraints = [
            models.UniqueConstraint(
                fields=["sandbox", "role"], name="training_one_identity_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sandbox_id}:{self.role}"
