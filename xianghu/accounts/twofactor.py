"""Two-factor login with TOTP (django-otp) and one-time recovery codes (docs/security.md,
"Two-factor login and passwords"). Services (writes) and selectors (reads) of a user's
devices; the login step, the enrolment page and the middleware call these."""

from __future__ import annotations

import logging
import re
from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.regions.models import Membership

from .models import User

security_log = logging.getLogger("xianghu.security")

#: How many recovery codes a user gets (each works once).
RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery"
_TOTP_CODE = re.compile(r"^\d{6}$")


# ---- selectors ------------------------------------------------------------------------------


def twofactor_device(*, user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device: two-factor login is on when there is one."""
    if not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def twofactor_enabled(*, user: Any) -> bool:
    """Whether the user has a confirmed TOTP device (the flag `User.two_factor_on`, kept by
    accounts.signals whenever a device is saved or deleted)."""
    return bool(getattr(user, "pk", None)) and bool(getattr(user, "two_factor_on", False))


def twofactor_flag_sync(*, user_id: int) -> None:
    from .models import User

    on = TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()
    User.objects.filter(pk=user_id).exclude(two_factor_on=on).update(two_factor_on=on)


def twofactor_required(*, user: Any, actor: Actor | None = None) -> bool:
    """Whether the user must use two-factor login: only while `XH_2FA_ENFORCE` is on, for
    superusers and holders of an active membership in one of `XH_2FA_REQUIRED_ROLES`
    (asked of the request's actor when given: its memberships are loaded already)."""
    if not settings.XH_2FA_ENFORCE or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    roles = list(settings.XH_2FA_REQUIRED_ROLES)
    if actor is not None and actor.user_id == user.pk:
        return actor.has_role(*roles)
    return Membership.objects.filter(
        user_id=user.pk, role__in=roles, is_active=True, organisation__is_active=True
    ).exists()


def recovery_codes_left(*, user: Any) -> int:
    return StaticToken.objects.filter(
        device__user_id=user.pk, device__name=RECOVERY_NAME, device__confirmed=True
    ).count()


def twofactor_secret(device: TOTPDevice) -> str:
    """The device's key as base32 (what authenticator apps take when typed in), in groups
    of four for reading aloud."""
    plain = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def twofactor_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (made here: the secret never leaves)."""
    qr = segno.make(device.config_url, error="m")
    return str(qr.svg_inline(scale=4, dark="#000", light="#fff", border=2))


# ---- services -------------------------------------------------------------------------------


@transaction.atomic
def twofactor_enrol_start(*, user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled (made once, so a QR code already scanned stays
    valid when the page is reloaded). Refused when two-factor login is already on."""
    if twofactor_enabled(user=user):
        raise Conflict(_("Two-factor login is already on."), code="twofactor.already_on")
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def _recovery_codes_new(user: User) -> list[str]:
    StaticDevice.objects.filter(user_id=user.pk).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


@transaction.atomic
def twofactor_enrol_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor login on with the first code of the app; returns the device and new
    recovery codes (shown once, stored as given: they are single-use)."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user_id=user.pk, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None:
        raise Conflict(
            _("Start again: open the two-factor page to get a new QR code."),
            code="twofactor.no_enrolment",
        )
    code = code.strip().replace(" ", "")
    if not _TOTP_CODE.match(code) or not device.verify_token(code):
        security_log.warning("2fa enrolment code rejected", extra={"user_id": user.pk})
        raise InvalidInput(
            _("The code is not correct. Enter the 6-digit code your app shows now."),
            code="twofactor.bad_code",
            detail=[{"field": "code", "message": _("The code is not correct.")}],
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
    codes = _recovery_codes_new(user)
    security_log.info("2fa enabled", extra={"user_id": user.pk})
    return device, codes


def twofactor_verify(*, user: User, code: str) -> Any:
    """The device that accepts `code` (a 6-digit TOTP code or a recovery code, which is used
    up), or None. Each device throttles its own failures (django-otp)."""
    code = code.strip().replace(" ", "").lower()
    with transaction.atomic():
        if _TOTP_CODE.match(code):
            devices: Any = TOTPDevice.objects.select_for_update().filter(
                user_id=user.pk, confirmed=True
            )
        else:
            devices = StaticDevice.objects.select_for_update().filter(
                user_id=user.pk, confirmed=True
            )
        for device in devices:
            if device.verify_token(code):
                return device
    return None


def twofactor_throttled(*, user: User) -> bool:
    """Whether the user's devices refuse codes for now after failures (django-otp's delay
    doubles with each failure)."""
    return any(
        not device.verify_is_allowed()[0]
        for device in TOTPDevice.objects.filter(user_id=user.pk, confirmed=True)
    )


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    if not twofactor_enabled(user=user):
        raise Conflict(_("Two-factor login is off."), code="twofactor.off")
    codes = _recovery_codes_new(user)
    security_log.info("2fa recovery codes replaced", extra={"user_id": user.pk})
    return codes


@transaction.atomic
def twofactor_disable(*, user: User, password: str) -> None:
    """Turn two-factor login off after the password is entered again; refused for those
    who must use it (`twofactor_required`)."""
    if twofactor_required(user=user):
        raise PermissionDenied(
            _("Your role requires two-factor login: it cannot be turned off."),
            code="twofactor.required",
        )
    if not user.check_password(password):
        security_log.warning("2fa disable refused: wrong password", extra={"user_id": user.pk})
        raise InvalidInput(
            _("The password is not correct."),
            code="twofactor.bad_password",
            detail=[{"field": "password", "message": _("The password is not correct.")}],
        )
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    StaticDevice.objects.filter(user_id=user.pk).delete()
    security_log.info("2fa disabled", extra={"user_id": user.pk})
