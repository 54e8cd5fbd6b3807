"""Reads of dashboards and public pages from a read replica (issue #9, docs/deployment.md).

With `XH_REPLICA_DATABASE_URL` set, settings add the database alias `replica` and this
router. Only GET and HEAD requests to the views named in `XH_REPLICA_VIEWS` (the open
pages, Open311 lists, the assessment dashboards, the oversight and leaders' overviews)
read from it; everything else, every write, every row locked for update and every read in
a transaction on the primary stays on `default`. Those pages show figures and records
that may be a moment behind (the replica's lag): never a form that is then posted back,
never the page a user lands on after their own change (that is the call's own page,
read from the primary).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from xianghu.core.view_names import view_matches

REPLICA = "replica"

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("xh_replica", default=False)


def replica_alias() -> str | None:
    """The alias reads may go to, when a replica is configured."""
    alias = getattr(settings, "XH_REPLICA_DATABASE", REPLICA)
    return alias if alias in connections.settings else None


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within this block, reads outside a transaction on the primary go to the replica."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    """Reads to the replica inside `replica_reads()`; everything else to `default`."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not _reading.get():
            return None
        alias = replica_alias()
        if alias is None or connections["default"].in_atomic_block:
            # Inside a transaction on the primary, a read must see its own writes.
            return None
        return alias

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"


def view_reads_from_replica(request: HttpRequest) -> bool:
    """Whether this request's view is one of `XH_REPLICA_VIEWS` ("namespace:name", or
    "namespace:*" for all of a namespace), for GET and HEAD only."""
    if request.method not in ("GET", "HEAD"):
        return False
    return view_matches(request, getattr(settings, "XH_REPLICA_VIEWS", ()))


class ReplicaReadsMiddleware:
    """Marks the requests of `XH_REPLICA_VIEWS` so that the router sends their reads to
    the replica. Does nothing when no replica is configured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        finally:
            token = getattr(request, "_xh_replica_token", None)
            if token is not None:
                _reading.reset(token)
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if replica_alias() is not None and view_reads_from_replica(request):
            request._xh_replica_token = _reading.set(True)  # type: ignore[attr-defined]
        return None
