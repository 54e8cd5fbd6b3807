"""The security audit log (等保 2.0 安全审计): record events, read them for auditors.

`audit_record` is the one writer. It never fails its caller: an error while writing is
logged on `xianghu.security` and swallowed, so auditing cannot turn a request into a 500.

Refusals (a denial, a failed login) must survive the rollback of the transaction they
happen in. Inside a request, an event recorded while a transaction is open is therefore
kept in memory and written by `AuditMiddleware` when the request is over (outside the
view's transactions); no second database connection is needed, which SQLite would block
while the request holds its write lock. Events about a change that happened
(`survive_rollback=False`: an admin change, an unmasking) are written at once in the
current transaction and share its fate.

Where the events come from (docs/security.md, "Security audit log"): logins, logouts,
failed logins and lockouts (`accounts/signals.py`), refusals (`core.views`,
`core.middleware`, `core.api`), exports (`AuditMiddleware`: every attachment a signed-in
user downloads), unmasking (`participation.public_reports`), admin changes (`LogEntry`,
connected in `core.apps`). New security events call `audit_record` explicitly: not through
the logger, whose level may filter them out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from .actor import Actor
from .client_address import client_address
from .logging import request_id_var
from .models import AuditEvent, AuditKind, AuditOutcome

log = logging.getLogger("xianghu.security")

# The roles that read the audit log, as stored in `regions.Membership.role` (core knows no
# domain app; `tests/core/test_audit.py` checks these are `regions.roles.Role` values):
# MLPS three-role separation — the security auditor, and the system administrator.
AUDITOR_ROLES = ("security_auditor", "system_admin")

_request_var: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_pending_var: ContextVar[list[AuditEvent] | None] = ContextVar("audit_pending", default=None)


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address (`core.client_address`: REMOTE_ADDR, or behind `XH_PROXY_COUNT`
    trusted proxies the address they saw), kept only when it is a valid IP address."""
    if request is None:
        return None
    return _valid_ip(client_address(request))


def _valid_ip(value: str) -> str | None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_ipv46_address

    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return value


def county_of(actor: Actor | None) -> int | None:
    """The county an actor's event belongs to: the one county of its grants; none when it
    holds grants in several counties or none (then only platform-wide auditors see it)."""
    if actor is None:
        return None
    counties = actor.county_ids()
    return next(iter(counties)) if len(counties) == 1 else None


def _request_actor(request: HttpRequest) -> Actor | None:
    auth = getattr(request, "auth", None)
    if isinstance(auth, Actor):
        return auth
    actor = getattr(request, "actor", None)
    try:
        return actor if actor is not None and not actor.is_anonymous else None
    except Exception:  # a lazy actor that cannot be built (no database): no county
        return None


def audit_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    actor: Actor | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    county_id: int | None = None,
    message: str = "",
    detail: dict[str, Any] | None = None,
    survive_rollback: bool = True,
) -> AuditEvent | None:
    """Record one audit event; return it (None if it could not be written).

    `request` defaults to the request being served (set by `AuditMiddleware`); it gives
    the address, request id, method and path, and — unless `user` is given — the user.
    The county is `county_id`, else that of the acting user's grants (`county_of`).
    """
    try:
        event = _build(
            kind=kind,
            request=request if request is not None else _request_var.get(),
            user=user,
            username=username,
            actor=actor,
            outcome=outcome,
            obj=obj,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            county_id=county_id,
            message=message,
            detail=detail,
        )
    except Exception:
        log.exception("audit event could not be built", extra={"audit_failed": kind})
        return None
    pending = _pending_var.get()
    if survive_rollback and pending is not None and connection.in_atomic_block:
        pending.append(event)
        return event
    return event if _write(event) else None


def _build(
    *,
    kind: str,
    request: HttpRequest | None,
    user: Any,
    username: str,
    actor: Actor | None,
    outcome: str,
    obj: Model | None,
    object_type: str,
    object_id: str,
    object_repr: str,
    county_id: int | None,
    message: str,
    detail: dict[str, Any] | None,
) -> AuditEvent:
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if actor is None and request is not None and user is not None:
        actor = _request_actor(request)
        if actor is not None and actor.user_id not in (None, user.pk):
            actor = None  # the request's actor is someone else (a login switching users)
    if actor is None and request is not None and user is None:
        actor = _request_actor(request)  # an API key
    if county_id is None:
        county_id = county_of(actor)
    detail = dict(detail or {})
    if actor is not None and actor.api_key_id is not None:
        detail.setdefault("api_key_id", actor.api_key_id)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    request_id = getattr(request, "request_id", "") if request is not None else ""
    if not request_id and request_id_var.get() != "-":
        request_id = request_id_var.get()
    return AuditEvent(
        kind=kind,
        outcome=outcome,
        user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        ip=client_ip(request),
        request_id=request_id[:64],
        method=(request.method or "")[:8] if request is not None else "",
        path=request.path[:500] if request is not None else "",
        object_type=str(object_type)[:100],
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:200],
        county_id=county_id,
        message=str(message)[:200],
        detail=detail,
    )


def _write(event: AuditEvent) -> bool:
    try:
        # A savepoint inside a transaction: a failed insert must not break the caller's.
        with transaction.atomic():
            event.save()
    except Exception:
        log.exception(
            "audit event could not be written",
            extra={"audit_failed": event.kind, "path": event.path, "username": event.username},
        )
        return False
    return True


class AuditMiddleware:
    """Makes the request known to `audit_record`, writes the events held back while a
    transaction was open, and records every attachment (xlsx, csv, pdf…) downloaded by a
    signed-in user or an API key as an export. Placed outside the other middleware so that
    it sees the refusals they answer with."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_token = _request_var.set(request)
        pending: list[AuditEvent] = []
        pending_token = _pending_var.set(pending)
        try:
            response = self.get_response(request)
            if _is_attachment(response) and response.status_code == 200:
                _record_export(request, response)
            return response
        finally:
            _pending_var.reset(pending_token)
            _request_var.reset(request_token)
            for event in pending:
                _write(event)


def _is_attachment(response: HttpResponse) -> bool:
    return response.get("Content-Disposition", "").lower().startswith("attachment")


def _record_export(request: HttpRequest, response: HttpResponse) -> None:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    if not signed_in and _request_actor(request) is None:
        return  # anonymous downloads are public data (open government pages)
    disposition = response.get("Content-Disposition", "")
    filename = disposition.split("filename=", 1)[1].strip('"') if "filename=" in disposition else ""
    audit_record(
        kind=AuditKind.EXPORT,
        request=request,
        message=filename[:200],
        detail={
            "content_type": response.get("Content-Type", ""),
            "query": request.META.get("QUERY_STRING", "")[:500],
        },
    )


# ---- reading: the auditors' page ------------------------------------------------------------


def audit_scope_rule(actor: Actor) -> Q | None:
    """What part of the log `actor` reads: superusers, and security auditors and system
    administrators of an organisation outside every county (province level), all of it —
    events without a county too; those of a county the events of their counties; None for
    everyone else."""
    grants = actor.grants_for(*AUDITOR_ROLES)
    if actor.is_superuser or any(g.county_id is None for g in grants):
        return Q()
    counties = actor.county_ids(*AUDITOR_ROLES)
    if not counties:
        return None
    return Q(county_id__in=sorted(counties))


def audit_events(
    *,
    actor: Actor,
    kind: str = "",
    outcome: str = "",
    username: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The audit events `actor` may read, filtered, newest first."""
    rule = audit_scope_rule(actor)
    if rule is None:
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.filter(rule)
    if kind:
        qs = qs.filter(kind=kind)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if username:
        qs = qs.filter(username__icontains=username)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-at", "-id")


def audit_rows(qs: QuerySet[AuditEvent]) -> Iterator[list[str]]:
    """The CSV rows of an export of the log (header first)."""
    yield [
        "time",
        "kind",
        "outcome",
        "username",
        "ip",
        "method",
        "path",
        "object_type",
        "object_id",
        "object",
        "county_id",
        "message",
        "request_id",
        "detail",
    ]
    import json

    for e in qs.iterator(chunk_size=1000):
        yield [
            _cell(value)
            for value in (
                e.at.isoformat(),
                e.kind,
                e.outcome,
                e.username,
                e.ip or "",
                e.method,
                e.path,
                e.object_type,
                e.object_id,
                e.object_repr,
                "" if e.county_id is None else str(e.county_id),
                e.message,
                e.request_id,
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
            )
        ]


def _cell(value: str) -> str:
    # A typed user name like "=HYPERLINK(...)" must not become a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
