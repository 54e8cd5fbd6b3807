from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from .selectors import unread_count


def unread(request: HttpRequest) -> dict[str, Any]:
    """`notifications_unread` for the navigation: a callable the template calls, so the
    one COUNT runs only when a logged-in user's page shows it, and at most once per
    request; nothing at all for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    user_id = user.pk

    @cache
    def count() -> int:
        return unread_count(user_id=user_id)

    return {"notifications_unread": count}
