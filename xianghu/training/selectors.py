"""Reads of the training sandbox: its practice calls and how far the trainee has come.

Progress is folded from the practice calls' own event log (written by the real call
services), against the guided steps of `steps.STEPS`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from xianghu.calls.models import Call, CallEvent

from .models import PracticeIdentity, Sandbox
from .steps import STEPS, Step

_INDEX = {s["action"]: n for n, s in enumerate(STEPS)}
# Actions that send a call back to an earlier step of the guide.
_BACK_TO = {
    "send_back": "submit",
    "reject": "submit",
    "agree_return": "dispatch",
    "rule": "sign",
}


def step_index(events: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
    """How many guided steps the events complete, in order (len(STEPS): all done)."""
    done = 0
    for action, data in events:
        if action == "evaluate" and data.get("evaluation") == "unsatisfied":
            done = _INDEX["respond"]
        elif action in _BACK_TO:
            done = _INDEX[_BACK_TO[action]]
        elif done < len(STEPS) and STEPS[done]["action"] == action:
            done += 1
    return done


@dataclass(frozen=True)
class CallProgress:
    call: Call
    done: int  # steps completed

    @property
    def finished(self) -> bool:
        return self.done >= len(STEPS)

    @property
    def step(self) -> Step | None:
        return None if self.finished else STEPS[self.done]


@dataclass(frozen=True)
class Progress:
    sandbox: Sandbox
    calls: list[CallProgress]

    @property
    def current(self) -> CallProgress | None:
        """The call the guide follows: the first one not yet through the loop."""
        return next((c for c in self.calls if not c.finished), None)

    @property
    def finished_count(self) -> int:
        return sum(1 for c in self.calls if c.finished)


def practice_calls(*, sandbox: Sandbox) -> list[Call]:
    return list(Call.objects.filter(county=sandbox.county).order_by("pk"))


def practice_progress(*, sandbox: Sandbox) -> Progress:
    """Every practice call with its steps done (two queries)."""
    calls = practice_calls(sandbox=sandbox)
    events: dict[int, list[tuple[str, dict[str, Any]]]] = {c.pk: [] for c in calls}
    for call_id, action, data in (
        CallEvent.objects.filter(call__in=calls)
        .order_by("call_id", "seq")
        .values_list("call_id", "action", "data")
    ):
        events[call_id].append((action, data or {}))
    return Progress(
        sandbox=sandbox,
        calls=[CallProgress(call=c, done=step_index(events[c.pk])) for c in calls],
    )


def identities(*, sandbox: Sandbox) -> list[PracticeIdentity]:
    return list(sandbox.identities.select_related("user").order_by("pk"))
