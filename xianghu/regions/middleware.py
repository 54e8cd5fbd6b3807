from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from xianghu.core.actor import ANONYMOUS, Actor

from .current import all_memberships
from .selectors import actor_for_user


def _actor(request: HttpRequest) -> Actor:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    # The memberships the role switcher reads anyway: one query a request, not two.
    return actor_for_user(user=user, memberships=all_memberships(request))


class ActorMiddleware:
    """`request.actor`: the acting user's grants, loaded once per request when used."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = SimpleLazyObject(lambda: _actor(request))  # type: ignore[attr-defined]
        return self.get_response(request)
