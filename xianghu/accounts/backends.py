from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend


class SystemAdminPermissionBackend(BaseBackend):
    """Holders of an active system-administrator membership have every model
    permission in the Django admin; nobody else gets any through this backend."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def _is_system_admin(self, user_obj: Any) -> bool:
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        cached = getattr(user_obj, "_xh_is_system_admin", None)
        if cached is None:
            cached = user_obj.memberships.filter(
                role="system_admin", is_active=True, organisation__is_active=True
            ).exists()
            user_obj._xh_is_system_admin = cached
        return bool(cached)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return self._is_system_admin(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return self._is_system_admin(user_obj)
