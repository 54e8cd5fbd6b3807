from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from xianghu.regions.current import all_memberships, current_membership


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_membership": current_membership(request),
        "memberships": all_memberships(request),
    }
