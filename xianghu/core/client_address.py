"""The client's network address, the same for every use: the login lockout (django-axes,
through `AXES_CLIENT_IP_CALLABLE`), the audit and security logs, the session binding,
the public rate limits and the webhook logs.

Behind `XH_PROXY_COUNT` trusted reverse proxies, each of which appends the address it
saw to `X-Forwarded-For`, the client is the entry the outermost proxy appended: the
`XH_PROXY_COUNT`-th from the right. Entries further left came from the client and are
not trusted (anybody can send the header). Without proxies, or when the header has
fewer entries than there are proxies, it is `REMOTE_ADDR`."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address as text ("" when the request has none); not validated."""
    proxies = max(int(getattr(settings, "XH_PROXY_COUNT", 0) or 0), 0)
    if proxies:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [p for p in chain if p]
        if len(chain) >= proxies:
            return chain[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "")
