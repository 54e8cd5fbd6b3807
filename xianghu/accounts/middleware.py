from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.client_address import client_address
from xianghu.core.errors import ERROR_KINDS, error_json

security_log = logging.getLogger("xianghu.security")

_LAST_SEEN = "xh_last_seen"
_TOUCH_EVERY = 60
SESSION_EXPIRED = ERROR_KINDS["auth.session_expired"].message


class SessionExpiryMiddleware:
    """Log a user out after `SESSION_IDLE_TIMEOUT` seconds without a request, and tell
    a browser whose session cookie no longer matches a session that it has expired."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        expired = False
        now = int(time.time())
        if request.user.is_authenticated:
            last_seen = request.session.get(_LAST_SEEN)
            if last_seen is not None and now - int(last_seen) > settings.SESSION_IDLE_TIMEOUT:
                security_log.info("session idle timeout", extra={"user_id": request.user.pk})
                logout(request)
                expired = True
            elif last_seen is None or now - int(last_seen) >= _TOUCH_EVERY:
                # Written at most once a minute: a session save on every request would
                # cost a database write and a Set-Cookie per request.
                request.session[_LAST_SEEN] = now
        elif settings.SESSION_COOKIE_NAME in request.COOKIES and not request.session.keys():
            # A cookie with no live session behind it: expired or logged out elsewhere.
            expired = request.method == "GET" and not request.path.startswith(
                ("/static/", "/healthz", "/accounts/login")
            )
            if expired:
                security_log.info("stale session cookie", extra={"path": request.path})
        if not expired:
            return self.get_response(request)
        return _expired_response(request)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/open311/"))


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect, also for htmx requests (which would otherwise swap the target page in)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _expired_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if _is_api(request):
        response = error_json("auth.session_expired")
    else:
        login_url = reverse(settings.LOGIN_URL)
        query = urlencode({"next": request.get_full_path(), "expired": "1"})
        response = _redirect(request, f"{login_url}?{query}")
    response.delete_cookie(settings.SESSION_COOKIE_NAME)
    return response


# ---- session binding --------------------------------------------------------------------------

_BINDING = "xh_binding"


def session_fingerprint(request: HttpRequest) -> str:
    """What a session is bound to: the browser's User-Agent and, with
    `XH_SESSION_BIND_IP`, the client's network (IPv4 /24, IPv6 /64). A digest: the session
    store keeps no user agent or address."""
    parts = [request.META.get("HTTP_USER_AGENT", "")]
    if settings.XH_SESSION_BIND_IP:
        ip = client_address(request)
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            parts.append("?")
        else:
            prefix = 24 if address.version == 4 else 64
            parts.append(str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class SessionBindingMiddleware:
    """Refuse a session cookie presented by another browser than the one that logged in
    (a stolen cookie): the session is ended, the refusal logged. A session is bound by the
    response of the request that logged in (or, for sessions from before the binding and
    `force_login`, by its first request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            bound = request.session.get(_BINDING)
            if bound is not None and not hmac.compare_digest(
                str(bound), session_fingerprint(request)
            ):
                security_log.warning(
                    "session refused: bound to another browser",
                    extra={
                        "user_id": request.user.pk,
                        "ip": client_address(request),
                        "path": request.path,
                    },
                )
                # The session id is known to whoever sent it: end the session for both.
                logout(request)
                return _expired_response(request)
        response = self.get_response(request)
        # Bound after the view: the login view has just put the user in the session. The
        # session is read again (not before the view): login() replaces its key and data.
        if request.user.is_authenticated and _BINDING not in request.session:
            request.session[_BINDING] = session_fingerprint(request)
        return response


# ---- two-factor login and password rotation ---------------------------------------------------

#: Paths every logged-in user reaches whatever they still have to do.
_ALWAYS_OPEN = ("/static/", "/media/", "/healthz", "/i18n/", "/manifest.webmanifest", "/sw.js")


def _open_paths(*names: str) -> tuple[str, ...]:
    return (*_ALWAYS_OPEN, *(reverse(name) for name in names))


class TwoFactorMiddleware:
    """A user with two-factor login on must have verified a code in this session (a
    password-only session, such as one from the admin's login form, is ended and sent to
    the login page); a user whose role requires two-factor login (`XH_2FA_ENFORCE`,
    `XH_2FA_REQUIRED_ROLES`) but has no device reaches only the enrolment page. API-key
    requests carry no session user and are not affected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .twofactor import twofactor_enabled, twofactor_required

        user: Any = request.user
        if not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        if request.path.startswith(_open_paths("accounts:logout", "accounts:login")):
            return self.get_response(request)
        # Asked on every request of an unverified session (one indexed query): a session
        # opened before the user enrolled elsewhere is ended too.
        if twofactor_enabled(user=user):
            security_log.warning(
                "session refused: second factor not verified",
                extra={"user_id": user.pk, "ip": client_address(request), "path": request.path},
            )
            logout(request)
            return _expired_response(request)
        if not twofactor_required(user=user, actor=getattr(request, "actor", None)):
            return self.get_response(request)
        enrol = reverse("accounts:two_factor")
        if request.path.startswith(enrol):
            return self.get_response(request)
        message = _("Your role requires two-factor login. Set it up to continue.")
        if _is_api(request):
            return error_json("auth.2fa_required", status=403, message=message)
        if request.headers.get("HX-Request"):
            # A fragment the enrolment page itself asks for (the notification badge): no
            # redirect, which would reload the page without end.
            return HttpResponse(message, status=403)
        if request.method == "GET":
            messages.warning(request, message)
        return HttpResponseRedirect(enrol)


def password_expired(user: Any) -> bool:
    """Whether a staff password is older than `XH_PASSWORD_MAX_AGE_DAYS` (0: never).
    Public accounts and accounts without a password (single sign-on) do not expire."""
    days = int(settings.XH_PASSWORD_MAX_AGE_DAYS)
    if days <= 0 or getattr(user, "is_public", False) or not user.has_usable_password():
        return False
    changed = user.password_changed_at or user.date_joined
    return bool(changed is not None and timezone.now() - changed > timedelta(days=days))


class PasswordExpiryMiddleware:
    """Send a user whose password is too old to the password page until it is changed;
    that page, logging out and static files stay reachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = request.user
        if not user.is_authenticated or not password_expired(user):
            return self.get_response(request)
        open_paths = _open_paths("accounts:logout", "accounts:login", "accounts:password_change")
        if request.path.startswith(open_paths):
            return self.get_response(request)
        message = _(
            "Your password is more than %(days)d days old. Choose a new password to continue."
        ) % {"days": settings.XH_PASSWORD_MAX_AGE_DAYS}
        if _is_api(request):
            return error_json("auth.password_expired", status=403, message=message)
        if request.headers.get("HX-Request"):
            return HttpResponse(message, status=403)  # (see TwoFactorMiddleware)
        if request.method == "GET":
            messages.warning(request, message)
        return HttpResponseRedirect(reverse("accounts:password_change"))
