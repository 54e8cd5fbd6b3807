"""API authentication: session (browser, CSRF-checked) or `X-API-Key` (systems)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, SessionAuth

from xianghu.core.actor import Actor
from xianghu.regions.selectors import actor_for_user

from .services import apikey_authenticate


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if not key:
            return None
        actor = apikey_authenticate(plain=key)
        request.actor = actor  # type: ignore[attr-defined]
        return actor


class ActorSessionAuth(SessionAuth):
    """Session login; the result is the request's actor (with its memberships)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if not user:
            return None
        actor = getattr(request, "actor", None) or actor_for_user(user=user)
        return actor


API_AUTH = [ApiKeyAuth(), ActorSessionAuth()]
