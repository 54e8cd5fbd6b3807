"""API authentication: session (browser, CSRF-checked) or `X-API-Key` (systems).

A key must also hold the scope the request needs (`scopes.scope_required`): this class is
the one place of the REST API that checks it."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja.security import APIKeyHeader, SessionAuth

from xianghu.core.actor import Actor
from xianghu.regions.selectors import actor_for_user

from .scopes import scope_required
from .services import apikey_authenticate


@cache
def _api_root() -> str:
    return reverse("api:api-root")


def request_scope(request: HttpRequest) -> str | None:
    """The scope this API request needs from a key."""
    path = request.path
    root = _api_root()
    path = path[len(root) :] if path.startswith(root) else path.lstrip("/")
    return scope_required(method=request.method or "GET", path=path)


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if not key:
            return None
        actor = apikey_authenticate(plain=key, scope=request_scope(request))
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
