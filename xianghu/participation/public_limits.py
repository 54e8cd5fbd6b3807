"""Rate limits of the public pages (reports, "me too", registration, codes).

Fixed windows counted in Django's cache, per account and per client address: a flood
from one address or one account is refused with 429 and a clear message, while others
are not affected. The limits are settings (`XH_PUBLIC_RATE_LIMITS`, {scope: (count,
seconds)}), so a county can tune them; the defaults suit a county platform.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from xianghu.core.client_address import client_address as core_client_address
from xianghu.core.errors import DomainError

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "report": (10, 3600),  # new reports per account / per address and hour
    "support": (30, 3600),  # "me too" per account / per address and hour
    "register": (20, 3600),  # registration and code-entry posts per address and hour
    "code": (5, 3600),  # codes sent per address (IP) and per phone/e-mail and hour
    "rate": (10, 3600),  # ratings per address and hour
    "track": (60, 600),  # tracking look-ups by number per address and 10 minutes
}


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            _("Too many requests. Please try again in %(minutes)s minutes.") % {"minutes": minutes},
            detail={"retry_after": retry_after},
        )
        self.retry_after = retry_after


def limits(scope: str) -> tuple[int, int]:
    configured = getattr(settings, "XH_PUBLIC_RATE_LIMITS", {}) or {}
    count, seconds = configured.get(scope, DEFAULT_LIMITS[scope])
    return int(count), int(seconds)


def client_address(request: HttpRequest) -> str:
    """The client's address (`core.client_address`, as for the login lockout), "unknown"
    when the request has none."""
    return core_client_address(request) or "unknown"


def _key(scope: str, who: str, window: int) -> str:
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]
    return f"xh:rl:{scope}:{digest}:{window}"


def rate_hit(*, scope: str, keys: Iterable[str]) -> None:
    """Count one request of `scope` for each key (e.g. "ip:1.2.3.4", "user:7"); raise
    `RateLimited` when any of them is over the limit (the refused request is counted
    too, so hammering does not shorten the wait)."""
    count, seconds = limits(scope)
    now = int(time.time())
    window = now // seconds
    retry_after = seconds - (now % seconds)
    over = False
    for who in {k for k in keys if k}:
        key = _key(scope, who, window)
        cache.add(key, 0, timeout=seconds + 5)
        try:
            value = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=seconds + 5)
            value = 1
        if value > count:
            over = True
    if over:
        raise RateLimited(retry_after)


def request_keys(request: HttpRequest) -> list[str]:
    """The keys one public request counts against: its address, and its account."""
    keys = [f"ip:{client_address(request)}"]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        keys.append(f"user:{user.pk}")
    return keys
