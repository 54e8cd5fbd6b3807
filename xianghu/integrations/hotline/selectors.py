"""Reads of the hotline: tickets as the actor may see them, filters, status rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from xianghu.calls.workflow import State
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.masking import mask_name, mask_phone

from .models import ImportRun, ImportSource, Ticket


def tickets_visible(*, actor: Actor, action: str = "view") -> QuerySet[Ticket]:
    return access.visible(actor, Ticket.objects.all(), action)


def tickets_find(
    *,
    actor: Actor,
    q: str = "",
    type: str = "",
    disposition: str = "",
    township_id: int | None = None,
    since: datetime | None = None,
) -> QuerySet[Ticket]:
    """Newest first; `q` finds a ticket number (exact or prefix) or words of the content."""
    qs = tickets_visible(actor=actor)
    q = q.strip()
    if q:
        qs = qs.filter(Q(number__startswith=q) | Q(content__contains=q) | Q(address__contains=q))
    if type:
        qs = qs.filter(type=type)
    if disposition:
        qs = qs.filter(disposition=disposition)
    if township_id:
        qs = qs.filter(township_id=township_id)
    if since:
        qs = qs.filter(received_at__gte=since)
    return qs.select_related("township", "call").order_by("-received_at", "-pk")


def sources_visible(*, actor: Actor) -> QuerySet[ImportSource]:
    return access.visible(actor, ImportSource.objects.all()).select_related("county")


def runs_visible(*, actor: Actor) -> QuerySet[ImportRun]:
    return access.visible(actor, ImportRun.objects.all()).select_related("source")


# ---- status rows (export, JSON, push) ----------------------------------------------------

STATUS_FIELDS = (
    "number",
    "disposition",
    "call_number",
    "call_state",
    "call_state_label",
    "call_state_changed_at",
    "closed",
    "township",
    "caller",
    "caller_phone",
    "updated_at",
)


def status_row(ticket: Ticket) -> dict[str, Any]:
    """What the hotline needs back about a ticket; the caller only masked."""
    call = ticket.call
    return {
        "number": ticket.number,
        "disposition": ticket.disposition,
        "call_number": call.number if call else None,
        "call_state": call.state if call else None,
        "call_state_label": str(call.get_state_display()) if call else None,
        "call_state_changed_at": call.state_changed_at.isoformat() if call else None,
        "closed": bool(call and call.state == State.CLOSED),
        "township": ticket.township.name if ticket.township_id and ticket.township else None,
        "caller": mask_name(ticket.caller_name),
        "caller_phone": mask_phone(ticket.caller_phone),
        "updated_at": ticket.updated_at.isoformat(),
    }


def status_updates(
    *, actor: Actor, since: datetime | None = None, handled_only: bool = True
) -> QuerySet[Ticket]:
    """Tickets changed since `since` (their own row, or their call's state), oldest change
    first, for a hotline system pulling status updates."""
    qs = tickets_visible(actor=actor).select_related("call", "township")
    if handled_only:
        qs = qs.filter(call__isnull=False)
    if since is not None:
        qs = qs.filter(Q(updated_at__gte=since) | Q(call__state_changed_at__gte=since))
    return qs.order_by("updated_at", "pk")


def iter_status_rows(qs: QuerySet[Ticket], *, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    for ticket in qs.iterator(chunk_size=chunk):
        yield status_row(ticket)
