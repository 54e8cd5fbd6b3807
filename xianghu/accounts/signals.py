"""Security audit log of authentication events (等保 2.0: security audit)."""

from __future__ import annotations

import logging
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from xianghu.core.audit import audit_record, county_of
from xianghu.core.client_address import client_address
from xianghu.core.models import AuditKind, AuditOutcome

security_log = logging.getLogger("xianghu.security")


def _ip(request: Any) -> str:
    return client_address(request) if request is not None else ""


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    security_log.info("login succeeded", extra={"user_id": user.pk, "ip": _ip(request)})
    audit_record(kind=AuditKind.LOGIN, request=request, user=user, county_id=_county(user))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    security_log.info("logout", extra={"user_id": getattr(user, "pk", None), "ip": _ip(request)})
    if user is not None:
        audit_record(kind=AuditKind.LOGOUT, request=request, user=user, county_id=_county(user))


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    security_log.warning(
        "login failed", extra={"username": credentials.get("username", ""), "ip": _ip(request)}
    )
    username = str(credentials.get("username", ""))
    audit_record(
        kind=AuditKind.LOGIN_FAILED,
        request=request,
        username=username,
        outcome=AuditOutcome.FAILURE,
        county_id=_county_of_username(username),
    )


# ---- the security audit log (core.audit): who logged in, failed or was locked out, and the
# county whose auditors see it (the account's one county; none for an unknown name).


@receiver(user_locked_out)
def _locked_out(sender: Any, request: Any, username: str = "", **kw: Any) -> None:
    audit_record(
        kind=AuditKind.LOCKOUT,
        request=request,
        username=str(username or ""),
        outcome=AuditOutcome.DENIED,
        county_id=_county_of_username(str(username or "")),
        detail={"failure_limit": getattr(settings, "AXES_FAILURE_LIMIT", None)},
    )


def _county(user: Any) -> int | None:
    from xianghu.regions.selectors import actor_for_user

    try:
        return county_of(actor_for_user(user=user))
    except Exception:  # the audit must never break a login
        security_log.exception("audit: county of user not found")
        return None


def _county_of_username(username: str) -> int | None:
    from django.contrib.auth import get_user_model

    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    return _county(user) if user is not None else None


def _two_factor_device_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .twofactor import twofactor_flag_sync

    twofactor_flag_sync(user_id=instance.user_id)


def _connect_two_factor() -> None:
    from django.db.models.signals import post_delete, post_save
    from django_otp.plugins.otp_totp.models import TOTPDevice

    post_save.connect(_two_factor_device_changed, sender=TOTPDevice, dispatch_uid="xh_2fa_save")
    post_delete.connect(_two_factor_device_changed, sender=TOTPDevice, dispatch_uid="xh_2fa_del")


_connect_two_factor()
