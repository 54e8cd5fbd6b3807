from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianghu.core.masking import mask_phone
from xianghu.regions.roles import Role

from .scopes import default_scopes


class XhUserManager(UserManager["User"]):
    def _create_user_object(self, username: Any, email: Any, password: Any, **extra: Any) -> Any:
        # create_user / createsuperuser hash the password without set_password.
        user = super()._create_user_object(username, email, password, **extra)  # type: ignore[misc]
        user.password_changed_at = timezone.now()
        return user


class User(AbstractUser):
    """A person: government staff (with memberships) or a member of the public."""

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    name = models.CharField(_("name"), max_length=64, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    is_public = models.BooleanField(
        _("public account"),
        default=False,
        help_text=_("Residents who report and follow problems; they hold no government role."),
    )

    password_changed_at = models.DateTimeField(
        _("password changed at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set on every password change; the rotation policy counts from it."),
    )
    # Kept in step with the user's confirmed TOTP devices (accounts.signals): the middleware
    # reads it from the user already loaded, so no page pays a query for two-factor login.
    two_factor_on = models.BooleanField(_("two-factor login on"), default=False, editable=False)

    objects = XhUserManager()  # type: ignore[misc]

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def set_password(self, raw_password: str | None) -> None:
        # Every path that sets a password (the change page, the admin, createsuperuser,
        # user_create, the demo) goes through here, so the rotation clock cannot be missed.
        # The history of hashes is written by PasswordHistoryValidator.password_changed,
        # which Django calls when the user is saved.
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def __str__(self) -> str:
        return self.name or self.username

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name or self.username

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class PasswordHistory(models.Model):
    """A hash of a password a user had (salted, as Django stores passwords), so that a new
    password may not repeat one of the last `XH_PASSWORD_HISTORY` (validators.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="password_history",
    )
    password_hash = models.CharField(_("password hash"), max_length=128)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("former password")
        verbose_name_plural = _("former passwords")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_pwhist_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d}"


class ApiKeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRING = "expiring", _("Expiring")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class ApiKey(models.Model):
    """A key with which another system (12345 hotline, grid platform) calls the API
    on behalf of one organisation, with one role, limited to its scopes
    (`accounts/scopes.py`). Only a hash of the secret is stored. A rotated key keeps
    working until `expires_at` (the grace period), then is refused."""

    organisation = models.ForeignKey(
        "regions.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    role = models.CharField(_("role"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    scopes = models.JSONField(
        _("scopes"),
        default=default_scopes,
        blank=True,
        help_text=_("The parts of the API the key may use (codes such as calls:read)."),
    )
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("Set when the key is replaced: it keeps working until then."),
    )

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role in Role.values else self.role

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def status(self) -> str:
        """active, expiring (rotated, in its grace period), expired or revoked."""
        if self.revoked_at is not None:
            return ApiKeyStatus.REVOKED
        if self.expires_at is None:
            return ApiKeyStatus.ACTIVE
        return ApiKeyStatus.EXPIRED if self.is_expired() else ApiKeyStatus.EXPIRING

    def get_status_display(self) -> str:
        return str(ApiKeyStatus(self.status).label)
