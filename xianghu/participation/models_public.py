"""Models of participation's public area: public accounts (profiles, consent, one-time
codes, organisations awaiting verification), the photos, "me too" supports and public
timeline of public reports, and the audit of unmasked contact data.

The report itself is `models.PublicReport` (also used by Open311)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianghu.regions.roles import OrgKind

from .models import Moderation, PublicReport


class PublicKind(models.TextChoices):
    """Who registers: a resident, or someone for an organisation of society."""

    RESIDENT = "resident", _("Resident")
    ENTERPRISE = OrgKind.ENTERPRISE.value, _("Enterprise")
    SOCIAL_ORG = OrgKind.SOCIAL_ORG.value, _("Social organisation")
    VOLUNTEER_TEAM = OrgKind.VOLUNTEER_TEAM.value, _("Volunteer team")


ORGANISATION_KINDS = (PublicKind.ENTERPRISE, PublicKind.SOCIAL_ORG, PublicKind.VOLUNTEER_TEAM)


class PublicProfile(models.Model):
    """What a public account registered as, and how its contact was verified."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="public_profile",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=PublicKind.choices)
    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("public profile")
        verbose_name_plural = _("public profiles")

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class Consent(models.Model):
    """An explicit consent to the privacy notice: which version, when, for what."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration", _("Registration")
        REPORT = "report", _("Report")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    report = models.ForeignKey(
        PublicReport,
        verbose_name=_("public report"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="consents",
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    version = models.CharField(_("notice version"), max_length=16)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)

    class Meta:
        verbose_name = _("privacy consent")
        verbose_name_plural = _("privacy consents")
        ordering = ["-given_at"]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.version}"


class CodeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Mobile phone")


class VerificationCode(models.Model):
    """A one-time code sent to a phone or e-mail address: only its keyed hash is kept;
    it expires and allows a few attempts."""

    channel = models.CharField(_("channel"), max_length=8, choices=CodeChannel.choices)
    address = models.CharField(_("address"), max_length=254)
    purpose = models.CharField(_("purpose"), max_length=32)
    code_hash = models.CharField(_("code hash"), max_length=64)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        indexes = [models.Index(fields=["address", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.purpose}"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting verification")
    APPROVED = "approved", _("Verified")
    REJECTED = "rejected", _("Refused")


class OrganisationApplication(models.Model):
    """An enterprise, social organisation or volunteer team registered by a public
    account, waiting for the township or county to verify it. Verified, it becomes an
    `Organisation` with the applicant as its public user."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=PublicKind.choices)
    name = models.CharField(_("name"), max_length=128)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
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
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    description = models.TextField(_("what the organisation does"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.PENDING,
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation application")
        verbose_name_plural = _("organisation applications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["county", "township", "status"])]

    def __str__(self) -> str:
        return self.name


# The image types of a report photo, with the extension of the generated name.
PHOTO_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


def report_photo_upload_to(instance: ReportPhoto, filename: str) -> str:
    """A random name under public/<yyyy>/<mm>/; the user's file name is never used."""
    now = timezone.now()
    ext = PHOTO_EXTENSIONS.get(instance.content_type, "bin")
    return f"public/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{ext}"


class ReportPhoto(models.Model):
    """A photo of a public report; on public pages only once a moderator approved it."""

    report = models.ForeignKey(
        PublicReport,
        verbose_name=_("public report"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    file = models.FileField(_("file"), upload_to=report_photo_upload_to, max_length=200)
    original_name = models.CharField(_("original name"), max_length=120, blank=True)
    content_type = models.CharField(_("content type"), max_length=32)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    moderation = models.CharField(
        _("moderation"), max_length=16, choices=Moderation.choices, default=Moderation.PENDING
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["report", "id"]
        indexes = [models.Index(fields=["moderation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.pk}"


class ReportSupport(models.Model):
    """One "me too" (我也遇到): per account, or per device cookie for visitors."""

    report = models.ForeignKey(
        PublicReport,
        verbose_name=_("public report"),
        on_delete=models.CASCADE,
        related_name="supports",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    device = models.CharField(_("device"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("me too")
        verbose_name_plural = _("me too")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "user"],
                condition=models.Q(user__isnull=False),
                name="reportsupport_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["report", "device"],
                condition=~models.Q(device=""),
                name="reportsupport_once_per_device",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} +1"


class ReportUpdate(models.Model):
    """One entry of a report's public timeline (what the reporter sees on the tracking
    page); `key` makes each entry happen once."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        MERGED = "merged", _("Merged")
        PROGRESS = "progress", _("Progress")
        CLOSED = "closed", _("Closed")
        RATED = "rated", _("Rated")

    report = models.ForeignKey(
        PublicReport,
        verbose_name=_("public report"),
        on_delete=models.CASCADE,
        related_name="updates",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=64)
    text = models.TextField(_("text"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("report update")
        verbose_name_plural = _("report updates")
        ordering = ["report", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "key"], name="reportupdate_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind}"


class UnmaskAudit(models.Model):
    """Who saw a reporter's full contact data, when and why (PIPL)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    county = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    report = models.ForeignKey(
        PublicReport,
        verbose_name=_("public report"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    field = models.CharField(_("field"), max_length=32)
    reason = models.CharField(_("reason"), max_length=200)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("unmasking audit")
        verbose_name_plural = _("unmasking audit")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["county", "at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.field} {self.at:%Y-%m-%d %H:%M}"
