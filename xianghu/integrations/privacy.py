"""Personal data held by the integrations (docs/privacy.md): the callers of 12345 hotline
tickets. Registered with `core.privacy` (discovered by name)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from xianghu.calls.workflow import TERMINAL
from xianghu.core.privacy.registry import PersonalDataKind, register

from .hotline.models import PERSONAL_FIELDS, Ticket


def _ticket_expired(cutoff: datetime) -> Q:
    """A ticket turned into a call is done when its call ended before `cutoff`; one the
    platform never took over is counted from its receipt (the hotline keeps its own
    record of the caller)."""
    handled = Q(call__isnull=False, call__state__in=TERMINAL, call__state_changed_at__lt=cutoff)
    received = Q(received_at__lt=cutoff) | Q(received_at__isnull=True, created_at__lt=cutoff)
    return handled | (Q(call__isnull=True) & received)


register(
    PersonalDataKind(
        key="integrations.hotline_caller",
        model=Ticket,
        fields=PERSONAL_FIELDS,
        purpose="Following up a 12345 hotline ticket with its caller.",
        retention_setting="XH_RETENTION_HOTLINE_CALLER_DAYS",
        default_days=365,
        expired=_ticket_expired,
        owner=lambda s: Q(caller_phone__in=s.phones),
        export_fields=(
            "county",
            "number",
            "received_at",
            "caller_name",
            "caller_phone",
            "title",
            "content",
            "address",
            "disposition",
            "call",
        ),
    )
)
