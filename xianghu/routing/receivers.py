"""What routing learns from the call workflow (receivers of `calls.signals.event_appended`,
inside the event's transaction): when a call is created, and when the platform accepts
a township's call, the suggestion for its text is kept with the item that was chosen.
That gives the acceptance figures, and every choice that differs from the suggestion is
a correction the next training learns from."""

from __future__ import annotations

from typing import Any

from xianghu.calls.models import Call, CallEvent, Direction
from xianghu.calls.workflow import CREATE

from . import selectors, services
from .models import SuggestionStage
from .training import call_text

STAGES = {CREATE: SuggestionStage.CALL_FORM, "accept": SuggestionStage.PLATFORM}


def on_event_appended(sender: Any, *, event: CallEvent, call: Call, **kwargs: Any) -> None:
    stage = STAGES.get(event.action)
    if stage is None:
        return
    if stage == SuggestionStage.PLATFORM and call.direction != Direction.UP:
        return
    text = call_text(call)
    # A new call's item was checked to be of the list in force (calls.services): no need
    # to look the list up again.
    version = call.item.version if stage == SuggestionStage.CALL_FORM and call.item else None
    suggestion = selectors.route_suggest(
        county=call.county, text=text, township=call.location, explain=False, version=version
    )
    if suggestion.status in (selectors.Status.NO_LIST, selectors.Status.EMPTY):
        return
    services.suggestion_record(
        county=call.county,
        text=text,
        suggestion=suggestion,
        township=call.location,
        call=call,
        user=event.actor,
        at=event.at,
        stage=stage,
        settled=call.item,
    )
