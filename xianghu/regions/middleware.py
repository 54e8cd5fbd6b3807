from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from .selectors import actor_for_user


class ActorMiddleware:
    """`request.actor`: the acting user's grants, loaded once per request when used."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = SimpleLazyObject(lambda: actor_for_user(user=request.user))  # type: ignore[attr-defined]
        return self.get_response(request)
