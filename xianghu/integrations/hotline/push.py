"""Status updates pushed back to the hotline: every event of a call made from a ticket is
emitted as `hotline.ticket_status` to the webhooks of the county's platform centre
(notify's signed webhooks, docs/notifications.md), with the ticket's status row."""

from __future__ import annotations

import logging

from django.db import DatabaseError

from xianghu.calls import outbox
from xianghu.calls.models import CallEvent
from xianghu.notify import services as notify_services
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from .models import Ticket
from .selectors import status_row

logger = logging.getLogger(__name__)
EVENT = "hotline.ticket_status"


def on_call_event(event: CallEvent) -> None:
    """After commit of a call event, through the event outbox; raises only database
    errors (the outbox tries again)."""
    call_id = event.call_id
    try:
        ticket = Ticket.objects.select_related("call", "township").filter(call_id=call_id).first()
        if ticket is None:
            return
        payload = status_row(ticket)
        orgs = Organisation.objects.filter(
            county_id=ticket.county_id, kind=OrgKind.PLATFORM_CENTRE, is_active=True
        ).values_list("pk", flat=True)
        for org_id in orgs:
            notify_services.webhook_emit(
                organisation=org_id,
                event=EVENT,
                payload=payload,
                event_key=f"hotline:{ticket.pk}:{event.pk}",
            )
    except DatabaseError:
        raise
    except Exception:
        logger.exception("hotline: pushing the status of call %s failed", call_id)


@outbox.effect_probe_many(on_call_event)
def on_call_events_concern(events: list[CallEvent]) -> set[int]:
    """The events whose calls have a ticket to push the status of, in one query."""
    calls = {event.call_id for event in events}
    ticketed = set(
        Ticket.objects.filter(call_id__in=calls).order_by().values_list("call_id", flat=True)
    )
    return {event.pk for event in events if event.call_id in ticketed}
