"""The call workflow as data (docs/workflow.md is generated from this table).

One row per action: the states it may start from, the state it leads to (or, for an
evaluation, a rule choosing it from the outcome), which party of the call may take it,
and which fields it requires. `services.call_transition` is the only code that changes a
call's state, and it does so only through this table; `replay` folds a call's events
through the same table, so the stored state can always be checked against the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting the leader's approval")
    APPROVED = "approved", _("Awaiting acceptance by the platform")
    ACCEPTED = "accepted", _("Accepted, awaiting dispatch")
    RETURNED = "returned", _("Returned to the caller")
    DISPATCHED = "dispatched", _("Dispatched, awaiting signature")
    SIGNED = "signed", _("Signed for")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    DISPUTED = "disputed", _("Disputed")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_EVALUATION = "awaiting_evaluation", _("Awaiting evaluation")
    REOPENED = "reopened", _("Reopened for re-handling")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged into another call")
    CANCELLED = "cancelled", _("Withdrawn")


TERMINAL = frozenset({State.CLOSED, State.MERGED, State.CANCELLED})
# States in which the calling side has handed the call to the county (it counts as open).
OPEN = frozenset(set(State) - TERMINAL - {State.DRAFT})


class Party(models.TextChoices):
    """How an actor relates to a call; the table grants actions to parties."""

    CALLER = "caller", _("The calling organisation")
    CALLER_LEADER = "caller_leader", _("A leader of the calling organisation")
    PLATFORM = "platform", _("The county platform centre")
    LEAD = "lead", _("The lead handling organisation")
    ASSISTING = "assisting", _("An assisting organisation")
    SYSTEM = "system", _("The system (supervision sweep)")


class Evaluation(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


def _after_evaluation(data: Mapping[str, Any]) -> str:
    return State.REOPENED if data.get("evaluation") == Evaluation.UNSATISFIED else State.CLOSED


@dataclass(frozen=True)
class Transition:
    action: str
    label: Any
    sources: frozenset[str]
    parties: frozenset[str]
    target: str | None = None  # None: the state does not change (a note, a card)
    route: Callable[[Mapping[str, Any]], str] | None = None
    targets: tuple[str, ...] = ()  # the states `route` may choose (for the diagram)
    requires: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Fields a client may add; anything else a client sends is dropped (`fields`).
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """Every field a client may send with this action."""
        return frozenset((*self.requires, *self.choices, *self.optional))

    def next_state(self, current: str, data: Mapping[str, Any]) -> str:
        if self.route is not None:
            return self.route(data)
        return self.target or current


def _t(
    action: str,
    label: Any,
    sources: Iterable[str],
    parties: Iterable[str],
    target: str | None = None,
    **kw: Any,
) -> Transition:
    return Transition(action, label, frozenset(sources), frozenset(parties), target, **kw)


S, P = State, Party
_WORKING = (S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.REOPENED)

# Free-text fields of the actions, and the most characters each may have.
TEXT_FIELDS = ("reason", "text", "result", "comment")
TEXT_MAX = 2000
# The most assisting departments one dispatch may name.
ASSISTING_MAX = 20

TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", _("Submit"), [S.DRAFT, S.RETURNED], [P.CALLER], S.SUBMITTED),
    _t(
        "approve",
        _("Approve and send to the platform"),
        [S.SUBMITTED],
        [P.CALLER_LEADER],
        S.APPROVED,
    ),
    _t(
        "send_back",
        _("Send back for revision"),
        [S.SUBMITTED],
        [P.CALLER_LEADER],
        S.RETURNED,
        requires=("reason",),
    ),
    _t(
        "accept",
        _("Accept"),
        [S.APPROVED],
        [P.PLATFORM],
        S.ACCEPTED,
        optional=("item", "as_assistance"),
    ),
    _t(
        "reject",
        _("Return to the caller"),
        [S.APPROVED, S.ACCEPTED],
        [P.PLATFORM],
        S.RETURNED,
        requires=("reason",),
    ),
    _t(
        "dispatch",
        _("Dispatch"),
        [S.ACCEPTED],
        [P.PLATFORM],
        S.DISPATCHED,
        requires=("lead",),
        optional=("assisting",),
    ),
    _t("sign", _("Sign for"), [S.DISPATCHED], [P.LEAD], S.SIGNED),
    # An assisting organisation signs for its own dispatch record; the call's state is
    # the lead's to move.
    _t(
        "assist_sign",
        _("Sign for the assisting task (协办签收)"),
        [*_WORKING, S.RETURN_REQUESTED, S.DISPUTED],
        [P.ASSISTING],
    ),
    _t(
        "request_return",
        _("Ask to return the call"),
        [S.DISPATCHED, S.SIGNED],
        [P.LEAD],
        S.RETURN_REQUESTED,
        requires=("reason",),
    ),
    _t(
        "agree_return",
        _("Agree to the return"),
        [S.RETURN_REQUESTED],
        [P.PLATFORM],
        S.ACCEPTED,
        requires=("reason",),
    ),
    _t(
        "refuse_return",
        _("Refuse the return"),
        [S.RETURN_REQUESTED],
        [P.PLATFORM],
        S.DISPUTED,
        requires=("reason",),
    ),
    _t(
        "rule",
        _("Rule on the dispute"),
        [S.DISPUTED],
        [P.PLATFORM],
        S.DISPATCHED,
        requires=("reason",),
        optional=("lead", "assisting"),
    ),
    _t(
        "respond",
        _("Respond (contact or on site)"),
        [S.SIGNED, S.REOPENED],
        [P.LEAD],
        S.IN_PROGRESS,
        requires=("mode",),
        choices={"mode": ("contact", "on_site")},
    ),
    _t(
        "note",
        _("Add a progress note"),
        [S.IN_PROGRESS],
        [P.LEAD, P.ASSISTING, P.PLATFORM, P.CALLER],
        requires=("text",),
    ),
    _t(
        "request_extension",
        _("Ask for an extension"),
        [S.IN_PROGRESS],
        [P.LEAD],
        requires=("days", "reason"),
    ),
    _t(
        "decide_extension",
        _("Decide on the extension"),
        [S.IN_PROGRESS],
        [P.PLATFORM],
        requires=("approve", "reason"),
    ),
    _t(
        "complete",
        _("Report the result"),
        [S.IN_PROGRESS],
        [P.LEAD],
        S.AWAITING_EVALUATION,
        requires=("result",),
    ),
    _t(
        "evaluate",
        _("Evaluate"),
        [S.AWAITING_EVALUATION],
        [P.CALLER],
        route=_after_evaluation,
        targets=(S.CLOSED, S.REOPENED),
        requires=("evaluation", "resolved"),
        choices={
            "evaluation": tuple(Evaluation.values),
            "resolved": ("yes", "partly", "no"),
        },
        optional=("comment",),
    ),
    _t("auto_close", _("Close without evaluation"), [S.AWAITING_EVALUATION], [P.SYSTEM], S.CLOSED),
    _t(
        "merge",
        _("Merge into a duplicate"),
        [S.SUBMITTED, S.APPROVED, S.ACCEPTED, *_WORKING],
        [P.PLATFORM],
        S.MERGED,
        requires=("into",),
    ),
    _t("withdraw", _("Withdraw"), [S.DRAFT, S.SUBMITTED, S.RETURNED], [P.CALLER], S.CANCELLED),
    _t("remind", _("Remind (催办)"), [*_WORKING], [P.PLATFORM, P.SYSTEM]),
    # Cards also on the platform's own clock (accept and dispatch) while the call waits
    # for the platform.
    _t("yellow_card", _("Yellow card"), [S.APPROVED, S.ACCEPTED, *_WORKING], [P.SYSTEM]),
    _t("red_card", _("Red card"), [S.APPROVED, S.ACCEPTED, *_WORKING], [P.SYSTEM]),
    _t(
        "supervise",
        _("Supervision order (督办单)"),
        [*_WORKING, S.AWAITING_EVALUATION],
        [P.PLATFORM, P.SYSTEM],
    ),
)

# The first event of every call: it is created as a draft.
CREATE = "create"

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
# The calls another call may be merged into: open, past the township's leader, not
# returned, disputed or awaiting evaluation (the same states a call may be merged from).
MERGE_TARGET_STATES = frozenset({S.SUBMITTED, S.APPROVED, S.ACCEPTED, *_WORKING})
assert len(BY_ACTION) == len(TRANSITIONS), "one row per action"


def allowed_actions(state: str) -> list[str]:
    return [t.action for t in TRANSITIONS if state in t.sources]


class ReplayError(ValueError):
    pass


def replay(events: Iterable[tuple[str, Mapping[str, Any]]], *, start: str = State.DRAFT) -> str:
    """The state a call must be in after `events` ((action, data) in order)."""
    state = start
    for action, data in events:
        if action == CREATE:
            state = State.DRAFT
            continue
        transition = BY_ACTION.get(action)
        if transition is None or state not in transition.sources:
            raise ReplayError(f"{action} is not allowed in {state}")
        state = transition.next_state(state, data)
    return state
