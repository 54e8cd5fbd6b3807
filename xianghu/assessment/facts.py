"""The roll-up as a pure function of a call's events: `facts_from_events(call, events)`.

It folds one call's event log (a few dozen events at most) into

- one `EpisodeRow` per handling episode — an organisation holding the call as lead or
  assisting, from the dispatch (`dispatch`, or a `rule` naming someone new) to the
  approved return, the ruling that hands the call to someone else, or the merge that ends
  it;
- one `EventRow` per evaluation, yellow or red card and supervision order, charged to the
  lead of the moment;
- one `SubmissionRow` if the calling organisation sent the call to the platform.

No query, no clock: the same events give the same rows, whether the roll-up is kept up to
date event by event (`rollup.refresh_call`) or rebuilt from scratch (`rollup.rebuild`).
The rules are written down in docs/scoring.md ("The roll-up"); this module implements
exactly that text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import Exclusion, FactEventKind, StepState, SubmissionOutcome

LEAD = "lead"
ASSISTING = "assisting"

#: Actions that change no fact: the roll-up is not refreshed for them.
IGNORED_ACTIONS = frozenset(
    {"create", "submit", "send_back", "note", "remind", "request_extension", "assist_sign"}
)

#: The exclusions that take an episode out of every figure (not only the handling rates).
CALL_EXCLUSIONS = frozenset({Exclusion.MERGED, Exclusion.CANCELLED})


@dataclass(frozen=True)
class CallInfo:
    """What the fold needs of the call itself."""

    id: int
    county_id: int
    direction: str
    caller_id: int
    caller_kind: str
    caller_township_id: int | None
    item_id: int | None
    domain_id: int | None
    urgency: str


@dataclass(frozen=True)
class EventInfo:
    """One event of the log, with the number of photos attached to it."""

    seq: int
    action: str
    at: datetime
    data: Mapping[str, Any]
    photos: int = 0


@dataclass(frozen=True)
class OrgInfo:
    """What the fold needs of an organisation named in the log."""

    id: int
    kind: str
    township_id: int | None
    parent_id: int | None


@dataclass
class EpisodeRow:
    """The values of one `DispatchFact` (see its model for the meaning of each)."""

    call_id: int
    start_seq: int
    county_id: int
    subject_id: int
    subject_kind: str
    subject_parent_id: int | None
    host_township_id: int | None
    role: str
    direction: str
    caller_id: int
    caller_township_id: int | None
    item_id: int | None
    domain_id: int | None
    urgency: str
    received_at: datetime
    started_at: datetime
    ended_at: datetime | None = None
    sign_due: datetime | None = None
    signed_at: datetime | None = None
    respond_due: datetime | None = None
    responded_at: datetime | None = None
    complete_due: datetime | None = None
    completed_at: datetime | None = None
    sign_seconds: int | None = None
    respond_seconds: int | None = None
    complete_seconds: int | None = None
    extension_count: int = 0
    extension_days: int = 0
    return_requests: int = 0
    returns_refused: int = 0
    return_pending: bool = False
    redo_count: int = 0
    evidence: bool = False
    excluded: bool = False
    exclusion: str = Exclusion.NONE
    counted: bool = False
    rated: bool = False
    sign_state: int = StepState.OPEN
    respond_state: int = StepState.OPEN
    complete_state: int = StepState.OPEN

    def settle(self) -> None:
        """Derive the summary fields from the others (at the end of the fold)."""
        lead = self.role == LEAD
        self.counted = lead and self.exclusion not in CALL_EXCLUSIONS
        self.rated = lead and not self.excluded and not self.return_pending
        self.sign_state = _state(self.signed_at, self.sign_due)
        self.respond_state = _state(self.responded_at, self.respond_due)
        self.complete_state = _state(self.completed_at, self.complete_due)


def _state(done: datetime | None, due: datetime | None) -> int:
    if done is None:
        return StepState.OPEN
    if due is None or done <= due:
        return StepState.ON_TIME
    return StepState.LATE


@dataclass
class EventRow:
    """The values of one `EventFact`."""

    call_id: int
    seq: int
    episode_seq: int
    county_id: int
    subject_id: int
    subject_kind: str
    direction: str
    caller_id: int
    from_host: bool
    kind: str
    at: datetime
    clock: str = ""
    evaluation: str = ""
    default_evaluation: bool = False
    excluded: bool = False


@dataclass
class SubmissionRow:
    """The values of one `SubmissionFact`."""

    call_id: int
    county_id: int
    caller_id: int
    caller_kind: str
    direction: str
    sent_at: datetime
    outcome: str


@dataclass
class CallFacts:
    """Every fact of one call."""

    episodes: list[EpisodeRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    submission: SubmissionRow | None = None


def row_values(row: EpisodeRow | EventRow | SubmissionRow) -> dict[str, Any]:
    """The row as model field values (for `Model(**values)` and comparisons)."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


# ---- reading event data


def _moment(value: Any) -> datetime | None:
    """A deadline written into event data (ISO 8601 with an offset); None if absent."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if timezone.is_naive(moment) else moment


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list | tuple):
        return []
    return [i for i in (_int(v) for v in value) if i is not None]


def _seconds(start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def _approved(value: Any) -> bool:
    return value in (True, "true", "1", 1, "yes")


# ---- the fold


class _Fold:
    def __init__(self, call: CallInfo, organisations: Mapping[int, OrgInfo]) -> None:
        self.call = call
        self.orgs = organisations
        self.facts = CallFacts()
        self.lead: EpisodeRow | None = None
        self.assisting: dict[int, EpisodeRow] = {}
        # The lead's first handling round ends with its first `complete`; later rounds
        # (重办) are measured by the redo count, the evaluations and the cards.
        self.first_round_open = False
        self.sent_at: datetime | None = None
        self.accepted = self.rejected = self.merged = self.cancelled = False

    # -- episodes

    def _start(self, org_id: int, role: str, event: EventInfo) -> EpisodeRow | None:
        org = self.orgs.get(org_id)
        if org is None:
            return None
        call = self.call
        row = EpisodeRow(
            call_id=call.id,
            start_seq=event.seq,
            county_id=call.county_id,
            subject_id=org_id,
            subject_kind=org.kind,
            subject_parent_id=org.parent_id if org.kind == "stationed_agency" else None,
            host_township_id=org.township_id if org.kind == "stationed_agency" else None,
            role=role,
            direction=call.direction,
            caller_id=call.caller_id,
            caller_township_id=call.caller_township_id,
            item_id=call.item_id,
            domain_id=call.domain_id,
            urgency=call.urgency,
            received_at=event.at,
            started_at=event.at,
        )
        self.facts.episodes.append(row)
        return row

    @staticmethod
    def _end(row: EpisodeRow, at: datetime, exclusion: str = Exclusion.NONE) -> None:
        row.ended_at = at
        row.return_pending = False
        if exclusion:
            row.excluded = True
            row.exclusion = exclusion

    def _set_clocks(self, row: EpisodeRow, event: EventInfo) -> None:
        data = event.data
        row.started_at = event.at
        row.sign_due = _moment(data.get("sign_due"))
        row.respond_due = _moment(data.get("respond_due"))
        row.complete_due = _moment(data.get("complete_due"))
        row.signed_at = row.responded_at = row.completed_at = None
        row.sign_seconds = row.respond_seconds = row.complete_seconds = None
        row.return_pending = False
        self.first_round_open = True

    def dispatch(self, event: EventInfo) -> None:
        data = event.data
        lead_id = _int(data.get("lead"))
        assisting_ids = [i for i in _ids(data.get("assisting")) if i != lead_id]
        keep_lead = (
            event.action == "rule" and self.lead is not None and self.lead.subject_id == lead_id
        )
        if self.lead is not None and not keep_lead:
            # A ruling that hands the call to someone else: the old lead was right to ask
            # for the return, as if it had been approved.
            self._end(self.lead, event.at, Exclusion.REASSIGNED)
            self.lead = None
        for org_id, row in list(self.assisting.items()):
            if org_id not in assisting_ids:
                self._end(row, event.at)
                del self.assisting[org_id]
        if keep_lead:
            assert self.lead is not None
            self._set_clocks(self.lead, event)
        elif lead_id is not None:
            self.lead = self._start(lead_id, LEAD, event)
            if self.lead is not None:
                self._set_clocks(self.lead, event)
        for org_id in assisting_ids:
            if org_id not in self.assisting:
                started = self._start(org_id, ASSISTING, event)
                if started is not None:
                    self.assisting[org_id] = started

    def release_all(self, at: datetime, exclusion: str) -> None:
        if self.lead is not None:
            self._end(self.lead, at, exclusion)
            self.lead = None
        for row in self.assisting.values():
            self._end(row, at, exclusion if exclusion in CALL_EXCLUSIONS else Exclusion.NONE)
        self.assisting = {}

    # -- events charged to the lead

    def charge(self, event: EventInfo, kind: str, **values: Any) -> None:
        lead = self.lead
        subject_id = _int(event.data.get("organisation")) if kind != "evaluation" else None
        if lead is None or (subject_id is not None and subject_id != lead.subject_id):
            return
        call = self.call
        self.facts.events.append(
            EventRow(
                call_id=call.id,
                seq=event.seq,
                episode_seq=lead.start_seq,
                county_id=call.county_id,
                subject_id=lead.subject_id,
                subject_kind=lead.subject_kind,
                direction=call.direction,
                caller_id=call.caller_id,
                from_host=lead.host_township_id is not None
                and call.caller_kind == "township"
                and lead.host_township_id == call.caller_township_id,
                kind=kind,
                at=event.at,
                **values,
            )
        )

    # -- the actions

    def apply(self, event: EventInfo) -> None:
        action, data, lead = event.action, event.data, self.lead
        if action == "approve":
            self.sent_at = self.sent_at or event.at
        elif action == "accept":
            self.accepted = True
        elif action == "reject":
            self.rejected = True
        elif action in ("dispatch", "rule"):
            self.dispatch(event)
        elif action == "sign":
            if lead is not None and lead.signed_at is None:
                lead.signed_at = event.at
                lead.sign_seconds = _seconds(lead.started_at, event.at)
        elif action == "respond":
            if lead is not None:
                if self.first_round_open and lead.responded_at is None:
                    lead.responded_at = event.at
                    lead.respond_seconds = _seconds(lead.started_at, event.at)
                if self.first_round_open and event.photos:
                    lead.evidence = True
        elif action == "complete":
            if lead is not None and self.first_round_open:
                lead.completed_at = event.at
                lead.complete_seconds = _seconds(lead.started_at, event.at)
                lead.evidence = lead.evidence or event.photos > 0
                self.first_round_open = False
        elif action == "decide_extension":
            if lead is not None and _approved(data.get("approve")):
                lead.extension_count += 1
                lead.extension_days += _int(data.get("days")) or 0
                due = _moment(data.get("complete_due"))
                if self.first_round_open and due is not None:
                    lead.complete_due = due
        elif action == "request_return":
            if lead is not None:
                lead.return_requests += 1
                lead.return_pending = True
        elif action == "refuse_return":
            if lead is not None:
                lead.returns_refused += 1
        elif action == "agree_return":
            self.release_all(event.at, Exclusion.RETURN_APPROVED)
        elif action == "evaluate":
            evaluation = str(data.get("evaluation") or "")
            self.charge(event, FactEventKind.EVALUATION, evaluation=evaluation)
            if lead is not None and evaluation == "unsatisfied":
                lead.redo_count += 1
        elif action == "auto_close":
            self.charge(
                event,
                FactEventKind.EVALUATION,
                evaluation=str(data.get("evaluation") or "satisfied"),
                default_evaluation=True,
            )
        elif action in ("yellow_card", "red_card"):
            self.charge(event, action, clock=str(data.get("clock") or ""))
        elif action == "supervise":
            self.charge(event, FactEventKind.SUPERVISE, clock=str(data.get("clock") or ""))
        elif action == "merge":
            self.merged = True
            self.release_all(event.at, Exclusion.MERGED)
        elif action == "withdraw":
            self.cancelled = True
            self.release_all(event.at, Exclusion.CANCELLED)

    def finish(self) -> CallFacts:
        facts = self.facts
        for row in facts.episodes:
            row.settle()
        excluded = {
            (row.start_seq, row.subject_id)
            for row in facts.episodes
            if row.role == LEAD and row.excluded
        }
        for event_row in facts.events:
            event_row.excluded = (event_row.episode_seq, event_row.subject_id) in excluded
        if self.sent_at is not None:
            call = self.call
            if self.merged:
                outcome = SubmissionOutcome.EXCLUDED
            elif self.rejected:
                outcome = SubmissionOutcome.INVALID
            elif self.accepted:
                outcome = SubmissionOutcome.VALID
            else:
                outcome = SubmissionOutcome.PENDING
            facts.submission = SubmissionRow(
                call_id=call.id,
                county_id=call.county_id,
                caller_id=call.caller_id,
                caller_kind=call.caller_kind,
                direction=call.direction,
                sent_at=self.sent_at,
                outcome=outcome,
            )
        return facts


def facts_from_events(
    call: CallInfo, events: Iterable[EventInfo], *, organisations: Mapping[int, OrgInfo]
) -> CallFacts:
    """Every fact of `call` from its events (in `seq` order). `organisations` holds the
    organisations the events name as lead or assisting (an unknown one is skipped)."""
    fold = _Fold(call, organisations)
    for event in sorted(events, key=lambda e: e.seq):
        fold.apply(event)
    return fold.finish()


def organisations_named(events: Sequence[EventInfo]) -> set[int]:
    """The organisations a call's events dispatch it to (what the fold must know)."""
    ids: set[int] = set()
    for event in events:
        if event.action in ("dispatch", "rule"):
            lead = _int(event.data.get("lead"))
            if lead is not None:
                ids.add(lead)
            ids.update(_ids(event.data.get("assisting")))
    return ids
