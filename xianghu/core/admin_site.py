"""The Django admin is for system administrators only (not for every `is_staff` user)."""

from __future__ import annotations

from types import MethodType
from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest


def restrict_admin_to_system_admins(site: AdminSite) -> None:
    def has_permission(self: AdminSite, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_active:
            return False
        # With two-factor login enforced, only a session that verified a code (django-otp's
        # middleware sets is_verified) opens the admin.
        if getattr(settings, "XH_2FA_ENFORCE", False) and not (
            hasattr(user, "is_verified") and user.is_verified()
        ):
            return False
        if user.is_superuser:
            return True
        actor: Any = getattr(request, "actor", None)
        return bool(actor is not None and actor.has_role("system_admin"))

    site.has_permission = MethodType(has_permission, site)  # type: ignore[method-assign]

    original_index = site.index

    def index(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The admin home warns when the holiday table does not cover the coming deadlines.
        from .workdays import coverage_warnings

        context = {"calendar_warnings": coverage_warnings(), **(extra_context or {})}
        return original_index(request, extra_context=context)

    site.index = index  # type: ignore[method-assign]
