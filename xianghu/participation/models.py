"""Models of the participation app: public reports awaiting a township's triage."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportStatus(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged")


class Moderation(models.TextChoices):
    """Whether public text or a photo may appear on a public page (docs/participation.md)."""

    PENDING = "pending", _("Awaiting moderation")
    APPROVED = "approved", _("Approved")
    REDACTED = "redacted", _("Approved with redactions")
    HIDDEN = "hidden", _("Hidden")


class PublicReport(models.Model):
    """A report from the public (an Open311 client with a public app's key).

    It is not a call: the township whose territory it is in triages it, and an accepted
    report becomes a draft call of that township. Contact details are kept for follow-up
    only and are shown masked.
    """

    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Region",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Resolved from the location; empty: the county platform triages it."),
    )
    location = models.ForeignKey(
        "regions.Region",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    item = models.ForeignKey(
        "catalog.Item",
        verbose_name=_("list item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the reporter was not sure; the township chooses it."),
    )
    description = models.TextField(_("description"), max_length=4000, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    urgency = models.CharField(_("urgency"), max_length=16, default="normal")
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    api_key = models.ForeignKey(
        "accounts.ApiKey",
        verbose_name=_("API key"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    idempotency_key = models.CharField(  # noqa: DJ001  (NULL: unique only when given)
        _("idempotency key"), max_length=64, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.NEW
    )
    reason = models.TextField(_("reason for rejection"), blank=True)
    call = models.OneToOneField(
        "calls.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="public_report",
    )
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # ---- public reporting (issue #8; models_public.py holds the related tables) ----
    reporter = models.ForeignKey(
        "accounts.User",
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="public_reports",
        help_text=_("The public account that reported it; empty for anonymous reports."),
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_reports",
    )
    moderation = models.CharField(
        _("moderation"), max_length=16, choices=Moderation.choices, default=Moderation.PENDING
    )
    public_text = models.TextField(
        _("public text"),
        blank=True,
        help_text=_("The description as shown publicly: personal data masked, redactions applied."),
    )
    moderated_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("moderated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    support_count = models.PositiveIntegerField(_("me too"), default=0)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), max_length=1000, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("public report")
        verbose_name_plural = _("public reports")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="publicreport_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="publicreport_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["county", "township", "status"]),
            models.Index(fields=["moderation", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.token[:8]} {self.item_id or ''}"


# The models of the other areas of participation live in their own modules; importing
# them here registers them with the app.
from . import models_coord, models_open, models_public  # noqa: E402, F401
