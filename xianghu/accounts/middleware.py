from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

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
        response: HttpResponse
        if request.path.startswith(("/api/", "/open311/")):
            response = error_json("auth.session_expired")
        else:
            login_url = reverse(settings.LOGIN_URL)
            query = urlencode({"next": request.get_full_path(), "expired": "1"})
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = f"{login_url}?{query}"
            else:
                response = HttpResponseRedirect(f"{login_url}?{query}")
        response.delete_cookie(settings.SESSION_COOKIE_NAME)
        return response
