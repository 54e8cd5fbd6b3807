"""The routing panels of the call pages (registered with `calls.panels` by the app).

- New-call form: a slot that htmx fills with suggestions as the caller types
  (`views.suggest_panel`).
- Call page, for the platform while it accepts or dispatches a township's call: the
  list items the text points to, each accepted with one click (the accept action with
  that item), and the open calls it may duplicate, each merged with one click.
"""

from __future__ import annotations

from django.http import HttpRequest

from xianghu.calls.models import Call, Direction
from xianghu.calls.panels import Panel
from xianghu.calls.workflow import BY_ACTION, Party, State
from xianghu.regions.models import Organisation
from xianghu.regions.roles import GOVERNMENT_KINDS

from . import selectors
from .duplicates import call_duplicates
from .training import call_text

# The states in which the platform decides what a township's call is about.
ROUTING_STATES = frozenset({State.APPROVED, State.ACCEPTED})


def form_panel(request: HttpRequest, organisation: Organisation) -> Panel | None:
    if organisation.kind not in GOVERNMENT_KINDS or organisation.county_id is None:
        return None
    return Panel("routing/_suggest_slot.html", {"target": "id_item"})


def call_panel(request: HttpRequest, call: Call, parties: set[str]) -> Panel | None:
    if Party.PLATFORM not in parties or call.state not in ROUTING_STATES:
        return None
    actor = request.actor  # type: ignore[attr-defined]
    suggestion = None
    if call.direction == Direction.UP:
        suggestion = selectors.route_suggest(
            county=call.county, text=call_text(call), township=call.location
        )
    may_merge = call.state in BY_ACTION["merge"].sources
    duplicates = call_duplicates(actor=actor, call=call) if may_merge else []
    return Panel(
        "routing/_call_panel.html",
        {
            "call": call,
            "suggestion": suggestion,
            "may_accept": call.state == State.APPROVED and call.direction == Direction.UP,
            "duplicates": duplicates,
            "may_merge": may_merge,
        },
    )
