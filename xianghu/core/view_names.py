"""Views named in settings: "namespace:name", or "namespace:*" for all of a namespace
(`XH_REPLICA_VIEWS`, `XH_CUSTOM_PLAN_VIEWS`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest


def view_matches(request: HttpRequest, names: Iterable[str]) -> bool:
    """Whether the request's resolved view is one of `names`."""
    match = request.resolver_match
    if match is None:
        return False
    wanted = set(names)
    return match.view_name in wanted or f"{match.namespace}:*" in wanted
