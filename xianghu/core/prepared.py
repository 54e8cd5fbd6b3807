"""Prepared statements on PostgreSQL where they pay, custom plans where they do not
(docs/adr/0005-server-side-binding.md).

With `XH_DB_PREPARE_THRESHOLD=N` above 0 (the default is 5), settings bind parameters on
the server, but a connection prepares nothing by itself. Inside `prepared_statements()` a
statement run N times on the connection is prepared, and PostgreSQL may then reuse a
generic plan: a request's session, actor and list lookups stop being planned on every
run. Inside `custom_plans()` nothing is prepared, so every statement is planned for its
own values: the assessment aggregations over ranges of dates, whose generic plans were
measured 45-70 % slower.

`PreparedStatementsMiddleware` runs every request in `prepared_statements()`, except the
views of `XH_CUSTOM_PLAN_VIEWS` (the dashboards, the public pages, Open311 lists), which
it switches to custom plans once their view is known. Tasks and management commands
prepare nothing. The switch is a per-thread (context) setting applied to every open
connection and to every connection opened while it holds.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from xianghu.core.view_names import view_matches

# The threshold the current thread wants on its connections; None prepares nothing.
_wanted: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "xh_prepare_threshold", default=None
)


def prepare_threshold() -> int | None:
    """The threshold of `XH_DB_PREPARE_THRESHOLD`, or None when it is off (0)."""
    value = int(getattr(settings, "XH_DB_PREPARE_THRESHOLD", 0) or 0)
    return value if value > 0 else None


def binding_summary() -> str:
    """How requests bind their statements under the settings (for the benchmarks)."""
    n = prepare_threshold()
    if n is None:
        return "bound on the client, nothing prepared (`XH_DB_PREPARE_THRESHOLD=0`)"
    return (
        f"bound on the server; a request's statement is prepared on its {n}th run on a "
        f"connection, the aggregations keep custom plans (`XH_DB_PREPARE_THRESHOLD={n}`)"
    )


def binds_on_server(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether this database binds parameters on the server: only then can psycopg
    prepare a statement."""
    return (
        wrapper.vendor == "postgresql"
        and wrapper.settings_dict.get("OPTIONS", {}).get("server_side_binding") is True
    )


def _apply(wrapper: BaseDatabaseWrapper, threshold: int | None) -> None:
    raw = wrapper.connection
    if raw is not None and binds_on_server(wrapper):
        raw.prepare_threshold = threshold


@receiver(connection_created, dispatch_uid="xianghu.core.prepared")
def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    _apply(connection, _wanted.get())


def _switch(threshold: int | None) -> contextvars.Token[int | None]:
    token = _wanted.set(threshold)
    for wrapper in connections.all(initialized_only=True):
        _apply(wrapper, threshold)
    return token


def _restore(token: contextvars.Token[int | None]) -> None:
    _wanted.reset(token)
    threshold = _wanted.get()
    for wrapper in connections.all(initialized_only=True):
        _apply(wrapper, threshold)


@contextmanager
def _preparing(threshold: int | None) -> Iterator[None]:
    token = _switch(threshold)
    try:
        yield
    finally:
        _restore(token)


def prepared_statements() -> Any:
    """Within this block, a statement run `XH_DB_PREPARE_THRESHOLD` times on a connection
    is prepared (nothing when the setting is 0, or on SQLite)."""
    return _preparing(prepare_threshold())


def custom_plans() -> Any:
    """Within this block nothing is prepared: every statement is planned for its values.
    For aggregations whose best plan depends on the range asked for."""
    return _preparing(None)


class PreparedStatementsMiddleware:
    """Requests prepare their statements, except the views of `XH_CUSTOM_PLAN_VIEWS`
    (matched by "namespace:name" or "namespace:*"), which switch to custom plans before
    the view runs. Outermost but for the request id, so that the session and the user's
    lookups are prepared too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _switch(prepare_threshold())
        try:
            return self.get_response(request)
        finally:
            inner = getattr(request, "_xh_plans_token", None)
            if inner is not None:
                _restore(inner)
            _restore(token)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if _wanted.get() is not None and view_matches(
            request, getattr(settings, "XH_CUSTOM_PLAN_VIEWS", ())
        ):
            request._xh_plans_token = _switch(None)  # type: ignore[attr-defined]
        return None
