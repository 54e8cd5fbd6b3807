"""Who is told about each committed call event, and which webhooks receive it.

`on_call_event` is appended to `services.AFTER_COMMIT` (apps.py), so it runs after the
transition's transaction has committed, through the event outbox (outbox.py). A failed
notification or webhook never affects the call (docs/notifications.md); a database error
leaves the event in the outbox, to be tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from xianghu.notify import services as notify_services
from xianghu.regions.models import Membership
from xianghu.regions.roles import Role

from . import outbox
from .models import Call, CallEvent, Direction
from .parties import LEADER_ROLES, lead_dispatch
from .workflow import CREATE

logger = logging.getLogger(__name__)

# Recipient groups per action (see `_GROUPS`); actions not listed notify nobody
# (create, note, withdraw). "lead" is every staff member of the lead organisation,
# its leaders included.
WHO: dict[str, tuple[str, ...]] = {
    "submit": ("caller_leaders",),
    "approve": ("platform",),
    "accept": ("caller",),
    "reject": ("caller",),
    "send_back": ("caller",),
    "dispatch": ("dispatched",),
    "rule": ("dispatched",),
    "sign": ("caller",),
    "respond": ("caller",),
    "complete": ("caller",),
    "evaluate": ("lead", "platform"),
    "auto_close": ("lead", "platform"),
    "request_return": ("platform",),
    "request_extension": ("platform",),
    "agree_return": ("released",),
    "refuse_return": ("lead",),
    "decide_extension": ("lead",),
    "remind": ("lead",),
    "yellow_card": ("carded",),
    "red_card": ("carded",),
    "supervise": ("carded",),
    "merge": ("caller",),
}


def _title(event: CallEvent) -> str:
    """The notification's title, in the active language."""
    action, data = event.action, event.data or {}
    titles: dict[str, Callable[[], str]] = {
        "submit": lambda: _("Call %(number)s is waiting for your approval"),
        "approve": lambda: _("Call %(number)s was sent to the platform"),
        "accept": lambda: _("Call %(number)s was accepted by the platform"),
        "reject": lambda: _("Call %(number)s was returned by the platform"),
        "send_back": lambda: _("Call %(number)s was sent back for changes"),
        "dispatch": lambda: _("Call %(number)s was dispatched to your organisation"),
        "rule": lambda: _("Call %(number)s was dispatched to your organisation"),
        "sign": lambda: _("Call %(number)s was signed for"),
        "respond": lambda: _("Call %(number)s: the department has responded"),
        "complete": lambda: _("Call %(number)s was completed and awaits your evaluation"),
        "evaluate": lambda: (
            _("Call %(number)s was reopened after the evaluation")
            if event.to_state == "reopened"
            else _("Call %(number)s was evaluated and closed")
        ),
        "auto_close": lambda: _("Call %(number)s was closed automatically"),
        "request_return": lambda: _("Call %(number)s: the department asks to return it"),
        "request_extension": lambda: _("Call %(number)s: the department asks for an extension"),
        "agree_return": lambda: _("Call %(number)s: the return was granted"),
        "refuse_return": lambda: _("Call %(number)s: the return was refused"),
        "decide_extension": lambda: (
            _("Call %(number)s: the extension was approved")
            if data.get("approve")
            else _("Call %(number)s: the extension was refused")
        ),
        "remind": lambda: _("Call %(number)s: reminder from the platform"),
        "yellow_card": lambda: _("Call %(number)s: yellow card, the deadline is near"),
        "red_card": lambda: _("Call %(number)s: red card, the deadline has passed"),
        "supervise": lambda: _("Call %(number)s: supervision order"),
        "merge": lambda: _("Call %(number)s was merged into another call"),
    }
    return titles[action]() % {"number": event.call.number}


def _body(event: CallEvent) -> str:
    lines = [event.call.title]
    reason = (event.data or {}).get("reason")
    if isinstance(reason, str) and reason:
        lines.append(_("Reason: %(reason)s") % {"reason": reason[:500]})
    return "\n".join(lines)


# ---- recipients -----------------------------------------------------------------------------


def _staff(org_ids: set[int], roles: set[str] | None = None) -> set[int]:
    if not org_ids:
        return set()
    qs = Membership.objects.filter(
        organisation_id__in=org_ids,
        is_active=True,
        organisation__is_active=True,
        user__is_active=True,
    ).exclude(role=Role.PUBLIC_USER)
    if roles is not None:
        qs = qs.filter(role__in=roles)
    return set(qs.values_list("user_id", flat=True))


def _ids(*values: Any) -> set[int]:
    found: set[int] = set()
    for value in values:
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool):
                found.add(item)
    return found


def _lead_org(call: Call) -> set[int]:
    lead = lead_dispatch(call)
    return {lead.organisation_id} if lead is not None else set()


def _group(name: str, event: CallEvent) -> set[int]:
    call, data = event.call, event.data or {}
    if name == "caller":
        return _staff({call.caller_id})
    if name == "caller_leaders":
        return _staff({call.caller_id}, {LEADER_ROLES[Direction(call.direction)]})
    if name == "platform":
        return set(
            Membership.objects.filter(
                role=Role.PLATFORM_OPERATOR,
                organisation__county_id=call.county_id,
                organisation__is_active=True,
                is_active=True,
                user__is_active=True,
            ).values_list("user_id", flat=True)
        )
    if name == "dispatched":
        return _staff(_ids(data.get("lead"), data.get("assisting")))
    if name == "released":
        return _staff(_ids(data.get("released")))
    if name == "lead":
        return _staff(_lead_org(call))
    if name == "carded":
        return _staff(_ids(data.get("organisation")) or _lead_org(call))
    raise ValueError(name)


def recipients(event: CallEvent) -> set[int]:
    """The ids of the users to tell about `event` (never the one who acted)."""
    users: set[int] = set()
    for name in WHO.get(event.action, ()):
        users |= _group(name, event)
    users.discard(event.actor_id or 0)
    return users


# ---- webhooks -------------------------------------------------------------------------------


def webhook_payload(event: CallEvent) -> dict[str, Any]:
    """What a webhook receives: no personal data, only the call and the step."""
    call = event.call
    return {
        "call": {"id": call.pk, "number": call.number, "state": call.state, "title": call.title},
        "event": {
            "seq": event.seq,
            "action": event.action,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "at": timezone.localtime(event.at).isoformat(),
        },
    }


def webhook_organisations(event: CallEvent) -> set[int]:
    """The calling organisation and every organisation dispatched (or released) here; a
    creation only the calling organisation (a new call has no dispatches)."""
    call, data = event.call, event.data or {}
    orgs = {call.caller_id}
    if event.action == CREATE:
        return orgs
    orgs |= set(call.dispatches.filter(active=True).values_list("organisation_id", flat=True))
    orgs |= _ids(data.get("lead"), data.get("assisting"), data.get("released"))
    return orgs


# ---- the hook -------------------------------------------------------------------------------


def on_call_event(event: CallEvent) -> None:
    """Notify the people concerned and emit the event to the webhooks. Raises only
    database errors, so that the event's outbox row stays for the relay (outbox.py);
    anything else is logged."""
    key = f"call-event:{event.pk}"
    try:
        users = recipients(event)
        if users:
            with translation.override(settings.LANGUAGE_CODE):
                title, body = _title(event), _body(event)
            notify_services.notify(
                users=notify_services.users_with_ids(users),
                title=title,
                body=body,
                url=f"/calls/{event.call_id}/",
                kind=f"call.{event.action}",
                source_key=key,
            )
    except DatabaseError:
        raise  # the outbox keeps the event and the relay tries again
    except Exception:
        logger.exception("calls: notifying event %s failed", event.pk)
    try:
        payload = webhook_payload(event)
        for org_id in sorted(webhook_organisations(event)):
            notify_services.webhook_emit(
                organisation=org_id,
                event=f"call.{event.action}",
                payload=payload,
                event_key=key,
            )
    except DatabaseError:
        raise
    except Exception:
        logger.exception("calls: webhooks for event %s failed", event.pk)


@outbox.effect_probe(on_call_event)
def on_call_event_concerns(event: CallEvent) -> bool:
    """Whether `on_call_event` could tell anybody of the event: an action with
    recipients, or a webhook of its organisations that wants it."""
    if event.action in WHO:
        return True
    return notify_services.webhooks_want(
        organisations=webhook_organisations(event), event=f"call.{event.action}"
    )
