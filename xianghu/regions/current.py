"""Which of a user's memberships the current request works as (the role switcher)."""

from __future__ import annotations

from django.http import HttpRequest

from .models import Membership
from .selectors import memberships_of

SESSION_KEY = "xh_membership"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the user is working as; cached on the request."""
    if hasattr(request, "_xh_membership"):
        cached: Membership | None = request._xh_membership
        return cached
    memberships = list(memberships_of(user=request.user))
    chosen = None
    wanted = request.session.get(SESSION_KEY)
    for m in memberships:
        if m.pk == wanted:
            chosen = m
            break
    if chosen is None and memberships:
        chosen = memberships[0]
    request._xh_membership = chosen  # type: ignore[attr-defined]
    request._xh_memberships = memberships  # type: ignore[attr-defined]
    return chosen


def all_memberships(request: HttpRequest) -> list[Membership]:
    current_membership(request)
    return getattr(request, "_xh_memberships", [])
