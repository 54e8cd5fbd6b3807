"""Security audit log of authentication events (等保 2.0: security audit)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

security_log = logging.getLogger("xianghu.security")


def _ip(request: Any) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    security_log.info("login succeeded", extra={"user_id": user.pk, "ip": _ip(request)})


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    security_log.info("logout", extra={"user_id": getattr(user, "pk", None), "ip": _ip(request)})


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    security_log.warning(
        "login failed", extra={"username": credentials.get("username", ""), "ip": _ip(request)}
    )
