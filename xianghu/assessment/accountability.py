"""Accountability by the list (依单追责 / 尽职免责): the evidence and the proposal.

For a call, or for an incident tied to a list item and a township, this module assembles
what the list in force and the event log say (`evidence_for_call`,
`evidence_for_incident`) and proposes a finding with its reasons (`propose_finding`).
It only reads; a person records the final finding (`accountability_services`). The
rules, and the reason each one gives, are written down in docs/accountability.md.

Who answers for what comes from the list, never from who happened to act:
- on a county-primary item the primary department answers for signing, responding and
  completing within the limits; the township answers only for its cooperating duties
  (patrol, discovery, report), never beyond them;
- on a township-primary item the township is primary and the departments assist;
- a task off the list that reached a township without an approved admission (准入) is
  not the township's to answer for.

The log is read as facts with times: each clock (the township's report, the platform's
dispatch, the lead's signing, response and completion, extensions included, each
re-handling after an unsatisfied evaluation) is one `Check` measured against its
deadline. The proposal is a pure function of the checks and the list.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls.deadlines import clock_policy
from xianghu.calls.models import Call, CallEvent, Direction
from xianghu.calls.workflow import BY_ACTION, CREATE, Evaluation, State
from xianghu.catalog import guard
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.limits import limit_label, parse_limit
from xianghu.catalog.models import (
    Item,
    ItemParty,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    StepParty,
)
from xianghu.core.errors import InvalidInput
from xianghu.core.masking import mask_phone
from xianghu.core.workdays import HolidayCalendar, deadline
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from .models import Finding, Incident

# ---- the facts ------------------------------------------------------------------------


class Outcome:
    """How a clock ended, measured against its deadline."""

    ON_TIME = "on_time"
    LATE = "late"  # done, after the deadline
    MISSING = "missing"  # not done, and the deadline has passed
    PENDING = "pending"  # not done, the deadline has not passed
    DONE = "done"  # done, and the list sets no limit to measure it by
    EXEMPT = "exempt"  # the party is not accountable for it
    RELEASED = "released"  # the platform agreed to a return: the clocks do not count
    NOT_MEASURED = "not_measured"  # the clock stopped before its deadline without the step

    FAILED = frozenset({"late", "missing"})
    MET = frozenset({"on_time", "done"})


class Capacity:
    """In what capacity the list makes a party answer for a check."""

    PRIMARY = "primary"  # 主体责任: a primary department, or the township on its own item
    COOPERATING = "cooperating"  # 配合责任: the township on a county item, assisting departments
    PLATFORM = "platform"  # the platform centre's own step (never decides the finding)


def outcome_label(outcome: str) -> str:
    return {
        Outcome.ON_TIME: _("on time"),
        Outcome.LATE: _("late"),
        Outcome.MISSING: _("not done by the deadline"),
        Outcome.PENDING: _("clock still running"),
        Outcome.DONE: _("done (the list sets no time limit)"),
        Outcome.EXEMPT: _("exempt"),
        Outcome.RELEASED: _("released by the platform"),
        Outcome.NOT_MEASURED: _("not measured"),
    }.get(outcome, outcome)


def role_label(role: str) -> str:
    return {
        Capacity.PRIMARY: _("primary responsibility"),
        Capacity.COOPERATING: _("cooperating responsibility"),
        Capacity.PLATFORM: _("platform centre"),
    }.get(role, role)


def finding_label(finding: str) -> str:
    return str(Finding(finding).label) if finding in Finding.values else finding


@dataclass
class OrgRef:
    id: int
    name: str


@dataclass
class StepInfo:
    order: int
    name: str
    party: str
    party_label: str
    time_limit: str
    limit_label: str
    handoff: str


@dataclass
class ListInfo:
    """The list version in force at the time and the item, as the case saw them."""

    version_id: int
    version_label: str
    valid_from: datetime | None
    valid_to: datetime | None
    item_id: int | None = None
    item_code: str = ""
    item_name: str = ""
    primary_level: str = ""
    primary_departments: list[str] = field(default_factory=list)
    assisting_departments: list[str] = field(default_factory=list)
    primary_duties: str = ""
    cooperating_duties: str = ""
    legal_basis: str = ""
    respond_limit: str = ""
    complete_limit: str = ""
    steps: list[StepInfo] = field(default_factory=list)


@dataclass
class Check:
    """One clock of one party, measured against its deadline."""

    code: str  # township.report, platform.dispatch, lead.sign, lead.respond, lead.complete, …
    label: str
    organisation: OrgRef | None
    role: str
    outcome: str
    decisive: bool  # whether it bears on the finding (a missed evaluation does not)
    start: datetime | None = None
    due: datetime | None = None
    done: datetime | None = None
    limit: str = ""  # the limit as the list writes it (24小时)
    call_number: str = ""
    event_seq: int | None = None  # the event that closed the clock (or showed it open)
    step_order: int | None = None  # the procedure step it measures
    basis: str = ""  # the list's word for it: the step, or the duty
    text: str = ""
    plain: bool = False  # the text only restates the measurement (label, due, done)


@dataclass
class TimelineEntry:
    at: datetime
    call_number: str
    seq: int | None
    action: str
    label: str
    organisation: str
    who: str
    summary: str


@dataclass
class Evidence:
    subject: str  # "call" | "incident"
    subject_id: int
    title: str
    county: OrgRef
    reference_at: datetime  # when the matter arose: the call was made, the incident found
    as_of: datetime
    township: OrgRef | None
    departments: list[OrgRef]
    direction: str  # "up" | "down" | "" (an incident)
    out_of_list: bool
    list_info: ListInfo | None
    township_duty: str  # primary | cooperating | admitted | not_admitted | none
    township_duties_text: str
    report_duty: bool
    admission: dict[str, Any] | None
    calls: list[dict[str, Any]]
    checks: list[Check]
    timeline: list[TimelineEntry]
    notes: list[str]
    incident: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The evidence as JSON (times as ISO 8601): the case stores this snapshot."""
        return _jsonable(asdict(self))

    def party_ids(self) -> set[int]:
        ids = {d.id for d in self.departments}
        if self.township is not None:
            ids.add(self.township.id)
        return ids


@dataclass
class Reason:
    code: str
    verdict: str  # against_primary | against_cooperating | diligent | exempt | info
    text: str
    basis: str = ""
    item: str = ""
    step: int | None = None
    call: str = ""
    event: int | None = None


@dataclass
class Proposal:
    finding: str
    party: OrgRef | None
    reasons: list[Reason]

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def verdict_label(verdict: str) -> str:
    return {
        "against_primary": _("against the primary party"),
        "against_cooperating": _("against the cooperating party"),
        "diligent": _("diligent"),
        "exempt": _("exempt"),
        "info": _("for information"),
        "summary": _("conclusion"),
    }.get(verdict, verdict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# ---- small helpers ----------------------------------------------------------------------

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def masked(value: Any) -> str:
    """Free text as the record shows it: mobile numbers masked."""
    return _PHONE.sub(lambda m: mask_phone(m.group()), str(value))


def when(value: datetime | str | None) -> str:
    """A moment as people read it, in China's time: 2024-03-12 09:00."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if timezone.is_naive(moment):
        return moment.strftime("%Y-%m-%d %H:%M")
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def _ref(org: Organisation | None) -> OrgRef | None:
    return OrgRef(org.pk, org.name) if org is not None else None


def _limit_text(value: str) -> str:
    return limit_label(value) if value else ""


# ---- the list -----------------------------------------------------------------------------


def _item_loaded(item: Item) -> Item:
    return (
        Item.objects.select_related("version", "version__catalogue", "domain")
        .prefetch_related(
            Prefetch("parties", queryset=ItemParty.objects.select_related("organisation")),
            Prefetch("steps", queryset=ProcedureStep.objects.order_by("order")),
        )
        .get(pk=item.pk)
    )


def _list_info(version: ListVersion | None, item: Item | None) -> ListInfo | None:
    if version is None:
        return None
    info = ListInfo(
        version_id=version.pk,
        version_label=str(version),
        valid_from=version.valid_from,
        valid_to=version.valid_to,
    )
    if item is None:
        return info
    parties = list(item.parties.all())
    info.item_id = item.pk
    info.item_code = item.code
    info.item_name = item.name
    info.primary_level = item.primary_level
    info.primary_departments = [
        p.organisation.name if p.organisation else p.name
        for p in parties
        if p.role == PartyRole.PRIMARY
    ]
    info.assisting_departments = [
        p.organisation.name if p.organisation else p.name
        for p in parties
        if p.role == PartyRole.ASSISTING
    ]
    info.primary_duties = item.primary_duties
    info.cooperating_duties = item.cooperating_duties
    info.legal_basis = item.legal_basis
    info.respond_limit = _limit_text(item.respond_limit)
    info.complete_limit = _limit_text(item.complete_limit)
    info.steps = [
        StepInfo(
            order=s.order,
            name=s.name,
            party=s.party,
            party_label=str(StepParty(s.party).label) if s.party in StepParty.values else s.party,
            time_limit=s.time_limit,
            limit_label=_limit_text(s.time_limit),
            handoff=s.handoff,
        )
        for s in item.steps.all()
    ]
    return info


def _steps(item: Item | None) -> list[ProcedureStep]:
    return sorted(item.steps.all(), key=lambda s: s.order) if item is not None else []


def _discovery_step(item: Item | None) -> ProcedureStep | None:
    """The township's first step (巡查发现并报告 / 巡查发现并处置), when the procedure
    starts with the township: its limit runs from discovery to the township's hand-off."""
    steps = _steps(item)
    return steps[0] if steps and steps[0].party == StepParty.TOWNSHIP else None


def _first(item: Item | None, party: str) -> ProcedureStep | None:
    return next((s for s in _steps(item) if s.party == party), None)


def _last(item: Item | None, party: str) -> ProcedureStep | None:
    found = [s for s in _steps(item) if s.party == party]
    return found[-1] if found else None


def _evaluation_step(item: Item | None) -> ProcedureStep | None:
    """The township's last step, when it follows the county's steps (评价反馈)."""
    steps = _steps(item)
    if (
        len(steps) > 1
        and steps[-1].party == StepParty.TOWNSHIP
        and any(s.party != StepParty.TOWNSHIP for s in steps[:-1])
    ):
        return steps[-1]
    return None


# Words of the cooperating duties that make patrol, discovery or reporting a duty when
# the procedure has no township step to say so.
REPORT_WORDS = ("巡查", "发现", "报告", "上报", "报送", "排查", "摸底")


def _has_report_duty(item: Item | None, township_duty: str) -> bool:
    if item is None:
        return township_duty == "admitted"
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        return True
    if _discovery_step(item) is not None:
        return True
    return any(word in item.cooperating_duties for word in REPORT_WORDS)


def _step_basis(item: Item | None, step: ProcedureStep | None) -> str:
    if item is None or step is None:
        return ""
    limit = _limit_text(step.time_limit) or _("no time limit")
    text = _("%(item)s step %(order)s “%(name)s” (%(party)s, %(limit)s)") % {
        "item": item.code,
        "order": step.order,
        "name": step.name,
        "party": StepParty(step.party).label if step.party in StepParty.values else step.party,
        "limit": limit,
    }
    if step.handoff:
        text += _("; hand-off: %(handoff)s") % {"handoff": step.handoff}
    return text


# ---- measuring a clock ----------------------------------------------------------------------


def _measure(
    *,
    due: datetime | None,
    done: datetime | None,
    stopped: datetime | None,
    as_of: datetime,
) -> str:
    """The outcome of a clock: `done` when the step was taken, `stopped` when the clock
    ended without it (a return agreed, a merge, a new dispatch), `as_of` otherwise."""
    if done is not None:
        if due is None:
            return Outcome.DONE
        return Outcome.ON_TIME if done <= due else Outcome.LATE
    if due is None:
        return Outcome.NOT_MEASURED if stopped is not None else Outcome.PENDING
    end = stopped or as_of
    if end > due:
        return Outcome.MISSING
    return Outcome.NOT_MEASURED if stopped is not None else Outcome.PENDING


def _check_text(check: Check) -> str:
    return _("%(label)s — %(org)s: due %(due)s, done %(done)s: %(outcome)s.") % {
        "label": check.label,
        "org": check.organisation.name if check.organisation else "—",
        "due": when(check.due) if check.due else _("no limit"),
        "done": when(check.done) if check.done else _("not done"),
        "outcome": outcome_label(check.outcome),
    }


def _finish(check: Check) -> Check:
    if not check.text:
        check.text = _check_text(check)
        check.plain = True
    return check


# ---- the log of a call ------------------------------------------------------------------------


@dataclass
class _Round:
    """One stretch of a lead's clocks: a dispatch (or a ruling that re-dispatched), or a
    re-handling after an unsatisfied evaluation (fresh respond and complete clocks)."""

    kind: str  # dispatch | rule | redo
    organisation: OrgRef
    start: CallEvent
    sign_due: datetime | None
    respond_due: datetime | None
    complete_due: datetime | None
    signed: CallEvent | None = None
    responded: CallEvent | None = None
    completed: CallEvent | None = None
    return_request: CallEvent | None = None
    return_refused: CallEvent | None = None
    released: CallEvent | None = None
    stopped: CallEvent | None = None
    extensions: list[CallEvent] = field(default_factory=list)
    refused_extensions: list[CallEvent] = field(default_factory=list)
    cards: list[CallEvent] = field(default_factory=list)


@dataclass
class _CallLog:
    call: Call
    events: list[CallEvent]
    created: CallEvent | None = None
    approved: CallEvent | None = None
    rounds: list[_Round] = field(default_factory=list)
    evaluations: list[CallEvent] = field(default_factory=list)
    auto_close: CallEvent | None = None
    ended: CallEvent | None = None  # merge, withdraw


def _read_log(call: Call) -> _CallLog:
    events = list(
        CallEvent.objects.filter(call=call).select_related("actor", "actor_org").order_by("seq")
    )
    log = _CallLog(call=call, events=events)
    current: _Round | None = None
    for e in events:
        data = e.data or {}
        action = e.action
        if action == CREATE:
            log.created = e
        elif action == "approve" and log.approved is None:
            log.approved = e
        elif action in ("dispatch", "rule"):
            if current is not None and current.stopped is None:
                current.stopped = e
            lead_id = data.get("lead")
            name = str(data.get("lead_name") or "")
            current = _Round(
                kind=action,
                organisation=OrgRef(int(lead_id) if isinstance(lead_id, int) else 0, name),
                start=e,
                sign_due=_parse(data.get("sign_due")),
                respond_due=_parse(data.get("respond_due")),
                complete_due=_parse(data.get("complete_due")),
            )
            log.rounds.append(current)
        elif current is None:
            if action == "auto_close":
                log.auto_close = e
            elif action in ("merge", "withdraw"):
                log.ended = e
            continue
        elif action == "sign" and current.signed is None:
            current.signed = e
        elif action == "respond" and current.responded is None:
            current.responded = e
        elif action == "decide_extension":
            if data.get("approve") is True:
                current.extensions.append(e)
                current.complete_due = _parse(data.get("complete_due")) or current.complete_due
            else:
                current.refused_extensions.append(e)
        elif action == "complete" and current.completed is None:
            current.completed = e
        elif action == "evaluate":
            log.evaluations.append(e)
            if data.get("evaluation") == "unsatisfied":
                current.stopped = current.stopped or e
                current = _Round(
                    kind="redo",
                    organisation=current.organisation,
                    start=e,
                    sign_due=None,
                    respond_due=_parse(data.get("respond_due")),
                    complete_due=_parse(data.get("complete_due")),
                )
                log.rounds.append(current)
        elif action == "auto_close":
            log.auto_close = e
        elif action == "request_return":
            current.return_request = e
        elif action == "refuse_return":
            current.return_refused = e
        elif action == "agree_return":
            current.released = e
            current.stopped = e
            current = None
        elif action in ("yellow_card", "red_card", "supervise", "remind"):
            current.cards.append(e)
        elif action == "merge":
            current.stopped = current.stopped or e
            log.ended = e
    return log


def _red_card(round_: _Round, clock: str) -> CallEvent | None:
    return next(
        (e for e in round_.cards if e.action == "red_card" and e.data.get("clock") == clock),
        None,
    )


def _round_checks(
    log: _CallLog,
    round_: _Round,
    *,
    role: str,
    item: Item | None,
    as_of: datetime,
    exempt: bool,
) -> list[Check]:
    call = log.call
    if round_.released is not None:
        reason = masked(round_.released.data.get("reason", ""))
        return [
            _finish(
                Check(
                    code="lead.released",
                    label=_("Return agreed"),
                    organisation=round_.organisation,
                    role=role,
                    outcome=Outcome.RELEASED,
                    decisive=False,
                    start=round_.start.at,
                    done=round_.released.at,
                    call_number=call.number,
                    event_seq=round_.released.seq,
                    text=_(
                        "%(org)s asked to return the call and the platform agreed at %(at)s "
                        "(%(reason)s): it was not the right party, its clocks do not count."
                    )
                    % {
                        "org": round_.organisation.name,
                        "at": when(round_.released.at),
                        "reason": reason,
                    },
                )
            )
        ]
    party = StepParty.PRIMARY if role == Capacity.PRIMARY else StepParty.ASSISTING
    if call.direction == Direction.DOWN:
        first_step = last_step = None
    else:
        first_step, last_step = _first(item, party), _last(item, party)
    stopped_at = round_.stopped.at if round_.stopped is not None else None
    checks: list[Check] = []
    clocks: list[tuple[str, str, datetime | None, CallEvent | None, ProcedureStep | None]] = []
    if round_.kind != "redo":
        # Asking to return the call answers the dispatch as signing does; whether the
        # request was right is for the platform, and a refusal is shown as a fact.
        answer = round_.signed
        if answer is None and round_.return_request is not None:
            answer = round_.return_request
        clocks.append(("sign", _("Sign for (签收)"), round_.sign_due, answer, first_step))
    respond_label = _("Respond (响应)") if round_.kind != "redo" else _("Respond again (重办响应)")
    complete_label = (
        _("Complete (办结)") if round_.kind != "redo" else _("Complete again (重办办结)")
    )
    clocks.append(("respond", respond_label, round_.respond_due, round_.responded, first_step))
    clocks.append(("complete", complete_label, round_.complete_due, round_.completed, last_step))
    for key, label, due, done_event, step in clocks:
        done = done_event.at if done_event is not None else None
        outcome = _measure(due=due, done=done, stopped=stopped_at, as_of=as_of)
        seq = done_event.seq if done_event is not None else None
        red = _red_card(round_, key)
        if seq is None and red is not None:
            seq = red.seq
        check = Check(
            code=f"lead.{key}",
            label=label,
            organisation=round_.organisation,
            role=role,
            outcome=outcome,
            decisive=True,
            start=round_.start.at,
            due=due,
            done=done,
            call_number=call.number,
            event_seq=seq,
            step_order=step.order if step is not None else None,
            basis=_step_basis(item, step),
        )
        if key == "complete" and round_.extensions:
            days = sum(int(e.data.get("days") or 0) for e in round_.extensions)
            check.basis = (check.basis + "; " if check.basis else "") + _(
                "deadline moved by %(days)s working days of approved extension"
            ) % {"days": days}
        if exempt and outcome in Outcome.FAILED:
            check.text = (
                _check_text(check)
                + " "
                + _(
                    "Not held against the township: the task is off the list without an "
                    "approved admission."
                )
            )
            check.outcome = Outcome.EXEMPT
            check.decisive = False
        checks.append(_finish(check))
        if done is None:
            # A clock that has not closed: the later clocks of the round tell nothing more.
            break
    return checks


def _platform_check(log: _CallLog, item: Item | None, as_of: datetime) -> Check | None:
    """From the township's report to the first dispatch, against the platform's step."""
    step = _first(item, StepParty.PLATFORM)
    if log.approved is None or step is None or not step.time_limit:
        return None
    due = _due(log.call.county_id, log.approved.at, step.time_limit)
    first = log.rounds[0].start if log.rounds else None
    platform = Organisation.objects.filter(
        county_id=log.call.county_id, kind=OrgKind.PLATFORM_CENTRE
    ).first()
    stopped = log.ended.at if log.ended is not None and first is None else None
    return _finish(
        Check(
            code="platform.dispatch",
            label=_("Accept and dispatch (受理派单)"),
            organisation=_ref(platform),
            role=Capacity.PLATFORM,
            outcome=_measure(
                due=due, done=first.at if first else None, stopped=stopped, as_of=as_of
            ),
            decisive=False,
            start=log.approved.at,
            due=due,
            done=first.at if first else None,
            limit=_limit_text(step.time_limit),
            call_number=log.call.number,
            event_seq=first.seq if first else None,
            step_order=step.order,
            basis=_step_basis(item, step),
        )
    )


def _due(county_id: int, start: datetime, limit: str) -> datetime | None:
    try:
        parsed = parse_limit(limit)
    except InvalidInput:
        return None
    hours = clock_policy(county_id).hours
    calendar = HolidayCalendar.load(start.year, start.year + 1)
    return deadline(start, parsed.amount, parsed.unit, hours=hours, calendar=calendar)


def _evaluation_check(log: _CallLog, township: OrgRef | None, item: Item | None) -> Check | None:
    if log.auto_close is None and not log.evaluations:
        return None
    step = _evaluation_step(item)
    if log.auto_close is not None:
        due = _parse(log.auto_close.data.get("evaluation_due"))
        return _finish(
            Check(
                code="township.evaluate",
                label=_("Evaluate (评价)"),
                organisation=township,
                role=Capacity.COOPERATING,
                outcome=Outcome.MISSING,
                decisive=False,
                due=due,
                call_number=log.call.number,
                event_seq=log.auto_close.seq,
                step_order=step.order if step else None,
                basis=_step_basis(item, step),
                text=_(
                    "The calling side did not evaluate within the window (until %(due)s); "
                    "the call was closed by default."
                )
                % {"due": when(due)},
            )
        )
    last = log.evaluations[-1]
    return _finish(
        Check(
            code="township.evaluate",
            label=_("Evaluate (评价)"),
            organisation=township,
            role=Capacity.COOPERATING,
            outcome=Outcome.DONE,
            decisive=False,
            done=last.at,
            call_number=log.call.number,
            event_seq=last.seq,
            step_order=step.order if step else None,
            basis=_step_basis(item, step),
            text=_("The calling side evaluated the result at %(at)s: %(evaluation)s.")
            % {"at": when(last.at), "evaluation": _evaluation_label(last.data.get("evaluation"))},
        )
    )


def _evaluation_label(value: Any) -> str:
    return str(Evaluation(value).label) if value in Evaluation.values else str(value or "")


def _lead_role(
    call: Call, round_: _Round, item: Item | None, township_duty: str
) -> tuple[str, bool]:
    """(role, exempt) in which the list makes the lead of `round_` answer."""
    if call.direction == Direction.DOWN:
        # The township handles a department's call: its cooperating duty, its own duty
        # on a township item, or an admitted task; off the list without admission: exempt.
        if township_duty == "primary":
            return Capacity.PRIMARY, False
        return Capacity.COOPERATING, township_duty in ("not_admitted", "none")
    if item is None:
        # Off the list the platform's dispatch makes the lead answer for the call.
        return Capacity.PRIMARY, False
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        return Capacity.COOPERATING, False
    if round_.organisation.id in catalog_selectors.primary_organisation_ids(item):
        return Capacity.PRIMARY, False
    return Capacity.COOPERATING, False


# ---- the township's duty --------------------------------------------------------------------


@dataclass
class _Duty:
    kind: str  # primary | cooperating | admitted | not_admitted | none
    text: str
    admission: dict[str, Any] | None = None
    department: Organisation | None = None
    on: date | None = None


def _township_duty(
    *,
    item: Item | None,
    township: Organisation | None,
    department: Organisation | None,
    at: datetime,
) -> _Duty:
    if item is not None:
        if item.primary_level == PrimaryLevel.TOWNSHIP:
            return _Duty("primary", item.primary_duties)
        return _Duty("cooperating", item.cooperating_duties)
    if department is None or township is None:
        return _Duty("none", "")
    on = timezone.localdate(at)
    admission = guard.admission_for(department=department, township=township, on=on)
    if admission is None:
        return _Duty("not_admitted", "", department=department, on=on)
    return _Duty(
        "admitted",
        admission.content,
        admission={
            "id": admission.pk,
            "title": admission.title,
            "starts_on": admission.starts_on,
            "ends_on": admission.ends_on,
            "department": department.name,
        },
        department=department,
        on=on,
    )


# ---- the timeline ------------------------------------------------------------------------------


def _summary(event: CallEvent) -> str:
    data = event.data or {}
    parts: list[str] = []
    if data.get("lead_name"):
        parts.append(_("lead: %(name)s") % {"name": data["lead_name"]})
    for key, label in (
        ("sign_due", _("sign by")),
        ("respond_due", _("respond by")),
        ("complete_due", _("complete by")),
        ("deadline", _("deadline")),
    ):
        if data.get(key):
            parts.append(f"{label} {when(data[key])}")
    if "approve" in data:
        parts.append(_("approved") if data["approve"] is True else _("refused"))
    if data.get("days"):
        parts.append(_("%(days)s working days") % {"days": data["days"]})
    if data.get("evaluation"):
        parts.append(_("evaluation: %(value)s") % {"value": _evaluation_label(data["evaluation"])})
    if data.get("default_evaluation"):
        parts.append(_("not evaluated in time"))
    for key in ("reason", "result", "text"):
        if data.get(key) and isinstance(data[key], str):
            parts.append(masked(data[key])[:200])
    return "; ".join(str(p) for p in parts)


def _timeline(log: _CallLog) -> list[TimelineEntry]:
    entries = []
    for e in log.events:
        if e.action == CREATE:
            label = _("Created")
        elif e.action in BY_ACTION:
            label = str(BY_ACTION[e.action].label)
        else:
            label = e.action
        who = masked(e.actor.name or e.actor.username) if e.actor is not None else ""
        entries.append(
            TimelineEntry(
                at=e.at,
                call_number=log.call.number,
                seq=e.seq,
                action=e.action,
                label=label,
                organisation=e.actor_org.name if e.actor_org else "",
                who=who or (_("System") if e.party == "system" else ""),
                summary=_summary(e),
            )
        )
    return entries


def _call_ref(call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "number": call.number,
        "title": call.title,
        "state": call.state,
        "state_label": str(State(call.state).label) if call.state in State.values else call.state,
    }


# ---- the version in force --------------------------------------------------------------------


def _item_in_force(
    *, county: Region, item: Item | None, at: datetime, notes: list[str]
) -> tuple[ListVersion | None, Item | None]:
    """The county's list version in force at `at` and, in it, the item with `item`'s
    code (the item a call names was taken from the list in force when it was made)."""
    version = catalog_selectors.county_version_in_force(county=county, at=at)
    if item is None:
        return version, None
    if version is None:
        notes.append(
            _("No list version was in force at %(at)s; the item is read from version %(v)s.")
            % {"at": when(at), "v": item.version}
        )
        return item.version, _item_loaded(item)
    if item.version_id != version.pk:
        found = catalog_selectors.item_get(version=version, code=item.code)
        if found is None:
            notes.append(
                _(
                    "Item %(code)s is not in the version in force at %(at)s (%(v)s); it is "
                    "read from the version the call named."
                )
                % {"code": item.code, "at": when(at), "v": version}
            )
            return item.version, _item_loaded(item)
        item = found
    return version, _item_loaded(item)


# ---- evidence for a call -------------------------------------------------------------------------


def _township_report_check(
    *,
    log: _CallLog,
    township: OrgRef | None,
    item: Item | None,
    duty: _Duty,
    report_duty: bool,
    as_of: datetime,
) -> Check | None:
    """The township's report on its own call: from recording the call (the draft) to the
    leader sending it to the platform, against the procedure's first township step."""
    call = log.call
    if call.direction != Direction.UP or log.created is None:
        return None
    step = _discovery_step(item)
    role = Capacity.PRIMARY if duty.kind == "primary" else Capacity.COOPERATING
    start = log.created.at
    due = _due(call.county_id, start, step.time_limit) if step and step.time_limit else None
    done = log.approved.at if log.approved is not None else None
    stopped = log.ended.at if log.ended is not None and done is None else None
    check = Check(
        code="township.report",
        label=_("Report to the platform (报告)"),
        organisation=township,
        role=role,
        outcome=_measure(due=due, done=done, stopped=stopped, as_of=as_of),
        decisive=report_duty and duty.kind in ("primary", "cooperating", "admitted"),
        start=start,
        due=due,
        done=done,
        limit=_limit_text(step.time_limit) if step else "",
        call_number=call.number,
        event_seq=log.approved.seq if log.approved else log.created.seq,
        step_order=step.order if step else None,
        basis=_step_basis(item, step) or (item.cooperating_duties if item else ""),
    )
    if duty.kind == "none":
        check.outcome = Outcome.NOT_MEASURED if check.outcome in Outcome.FAILED else check.outcome
        check.decisive = False
    return _finish(check)


def evidence_for_call(*, call: Call, as_of: datetime | None = None) -> Evidence:
    """The evidence of one call: the list in force when it was made, the township's
    duty, and every clock of the log measured against its deadline."""
    as_of = as_of or timezone.now()
    call = Call.objects.select_related("county", "caller", "callee", "item").get(pk=call.pk)
    notes: list[str] = []
    version, item = _item_in_force(
        county=call.county, item=call.item, at=call.created_at, notes=notes
    )
    if call.direction == Direction.DOWN:
        township_org = call.callee
        department: Organisation | None = call.caller
    else:
        township_org = call.caller if call.caller.kind == OrgKind.TOWNSHIP else None
        department = None
    township = _ref(township_org)
    duty = _township_duty(
        item=item,
        township=township_org,
        department=department,
        at=call.created_at,
    )
    if call.direction == Direction.UP and item is None:
        duty = _Duty("none", "")
    report_duty = _has_report_duty(item, duty.kind)
    log = _read_log(call)
    checks: list[Check] = []
    report = _township_report_check(
        log=log, township=township, item=item, duty=duty, report_duty=report_duty, as_of=as_of
    )
    if report is not None:
        checks.append(report)
    platform = _platform_check(log, item, as_of)
    if platform is not None:
        checks.append(platform)
    departments: dict[int, OrgRef] = {}
    if department is not None:
        departments[department.pk] = OrgRef(department.pk, department.name)
    for org_id in sorted(catalog_selectors.primary_organisation_ids(item)) if item else []:
        departments.setdefault(org_id, OrgRef(org_id, ""))
    for round_ in log.rounds:
        role, exempt = _lead_role(call, round_, item, duty.kind)
        checks += _round_checks(log, round_, role=role, item=item, as_of=as_of, exempt=exempt)
        if call.direction == Direction.UP and round_.organisation.id:
            departments.setdefault(round_.organisation.id, round_.organisation)
    if call.direction == Direction.UP:
        evaluation = _evaluation_check(log, township, item)
        if evaluation is not None:
            checks.append(evaluation)
    return Evidence(
        subject="call",
        subject_id=call.pk,
        title=f"{call.number} {call.title}",
        county=OrgRef(call.county_id, call.county.name),
        reference_at=call.created_at,
        as_of=as_of,
        township=township,
        departments=_named(departments),
        direction=call.direction,
        out_of_list=item is None,
        list_info=_list_info(version, item),
        township_duty=duty.kind,
        township_duties_text=duty.text,
        report_duty=report_duty,
        admission=duty.admission,
        calls=[_call_ref(call)],
        checks=checks,
        timeline=_timeline(log),
        notes=notes + _log_notes(log),
    )


def _named(departments: dict[int, OrgRef]) -> list[OrgRef]:
    missing = [pk for pk, ref in departments.items() if not ref.name]
    names = dict(Organisation.objects.filter(pk__in=missing).values_list("pk", "name"))
    return [OrgRef(pk, ref.name or names.get(pk, "")) for pk, ref in departments.items()]


def _log_notes(log: _CallLog) -> list[str]:
    notes = []
    for round_ in log.rounds:
        if round_.return_refused is not None:
            notes.append(
                _(
                    "%(org)s asked to return call %(call)s (%(reason)s); the platform refused "
                    "at %(at)s, so the dispatch stood."
                )
                % {
                    "org": round_.organisation.name,
                    "call": log.call.number,
                    "reason": masked(
                        (round_.return_request.data if round_.return_request else {}).get(
                            "reason", ""
                        )
                    ),
                    "at": when(round_.return_refused.at),
                }
            )
        for e in round_.refused_extensions:
            notes.append(
                _("An extension asked on call %(call)s was refused at %(at)s.")
                % {"call": log.call.number, "at": when(e.at)}
            )
        reds = [e for e in round_.cards if e.action == "red_card"]
        if reds:
            notes.append(
                _("%(count)s red card(s) were issued to %(org)s on call %(call)s.")
                % {"count": len(reds), "org": round_.organisation.name, "call": log.call.number}
            )
    reopened = [e for e in log.evaluations if e.data.get("evaluation") == "unsatisfied"]
    if reopened:
        notes.append(
            _("The caller was unsatisfied %(count)s time(s) with call %(call)s; it was reopened.")
            % {"count": len(reopened), "call": log.call.number}
        )
    if log.ended is not None and log.ended.action == "merge":
        notes.append(
            _("Call %(call)s was merged into %(into)s.")
            % {"call": log.call.number, "into": log.ended.data.get("into_number", "")}
        )
    return notes


# ---- evidence for an incident ---------------------------------------------------------------


def _incident_report_check(
    *,
    incident: Incident,
    township: OrgRef,
    item: Item | None,
    duty: _Duty,
    report_duty: bool,
    logs: list[_CallLog],
    as_of: datetime,
) -> Check:
    """Did the township discover and report it in time? Its report is the earliest of
    its related calls that reached the platform (the leader's approval)."""
    step = _discovery_step(item)
    limit = step.time_limit if step else ""
    start = incident.discovered_at
    due = _due(incident.county_id, start, limit) if limit else None
    reports = [
        log
        for log in logs
        if log.call.direction == Direction.UP
        and log.call.caller_id == township.id
        and log.approved is not None
    ]
    first = min(reports, key=lambda log: log.approved.at if log.approved else as_of, default=None)
    approved = first.approved if first is not None else None
    by_township = incident.discovered_by_org_id == township.id
    role = Capacity.PRIMARY if duty.kind == "primary" else Capacity.COOPERATING
    check = Check(
        code="township.report",
        label=_("Discover and report (巡查发现报告)"),
        organisation=township,
        role=role,
        outcome=Outcome.PENDING,
        decisive=report_duty and duty.kind in ("primary", "cooperating", "admitted"),
        start=start,
        due=due,
        done=approved.at if approved else None,
        limit=_limit_text(limit),
        call_number=first.call.number if first else "",
        event_seq=approved.seq if approved else None,
        step_order=step.order if step else None,
        basis=_step_basis(item, step) or (item.cooperating_duties if item else duty.text),
    )
    if approved is not None:
        if approved.at <= start:
            check.outcome = Outcome.ON_TIME
            check.text = _(
                "%(township)s had reported it on call %(call)s at %(at)s, before it was "
                "discovered by %(by)s at %(found)s."
            ) % {
                "township": township.name,
                "call": first.call.number if first else "",
                "at": when(approved.at),
                "by": incident.discovered_by,
                "found": when(start),
            }
        else:
            check.outcome = _measure(due=due, done=approved.at, stopped=None, as_of=as_of)
    elif by_township:
        check.outcome = _measure(due=due, done=None, stopped=None, as_of=as_of)
        if due is None:
            check.outcome = Outcome.NOT_MEASURED
        check.text = (
            _check_text(check)
            + " "
            + _("The township discovered it itself and no call of its reached the platform.")
        )
    else:
        check.outcome = Outcome.MISSING
        check.text = _(
            "%(township)s never reported it: it was discovered by %(by)s at %(at)s, and no "
            "call of the township about it reached the platform."
        ) % {"township": township.name, "by": incident.discovered_by, "at": when(start)}
    if not check.decisive and check.outcome in Outcome.FAILED:
        check.outcome = Outcome.EXEMPT
        check.text = (check.text or _check_text(check)) + " " + _no_duty_text(item, duty)
    return _finish(check)


def _no_duty_text(item: Item | None, duty: _Duty) -> str:
    if duty.kind == "not_admitted":
        return _("Exempt: the task is off the list without an approved admission.")
    if duty.kind == "none":
        return _("Exempt: the matter is not on the list.")
    return _("Exempt: the list gives the township no patrol or reporting duty on this item.")


def evidence_for_incident(*, incident: Incident, as_of: datetime | None = None) -> Evidence:
    """The evidence of an incident: the list in force when it was discovered, whether the
    township discovered and reported it in time, and the clocks of its related calls."""
    as_of = as_of or timezone.now()
    incident = Incident.objects.select_related(
        "county", "township", "item", "department", "discovered_by_org"
    ).get(pk=incident.pk)
    notes: list[str] = []
    version, item = _item_in_force(
        county=incident.county, item=incident.item, at=incident.discovered_at, notes=notes
    )
    township = OrgRef(incident.township_id, incident.township.name)
    duty = _township_duty(
        item=item,
        township=incident.township,
        department=incident.department,
        at=incident.discovered_at,
    )
    report_duty = _has_report_duty(item, duty.kind)
    calls = list(
        incident.calls.select_related("county", "caller", "callee", "item").order_by(
            "created_at", "pk"
        )
    )
    logs = [_read_log(call) for call in calls]
    checks = [
        _incident_report_check(
            incident=incident,
            township=township,
            item=item,
            duty=duty,
            report_duty=report_duty,
            logs=logs,
            as_of=as_of,
        )
    ]
    departments: dict[int, OrgRef] = {}
    if incident.department is not None:
        departments[incident.department.pk] = OrgRef(
            incident.department.pk, incident.department.name
        )
    for org_id in sorted(catalog_selectors.primary_organisation_ids(item)) if item else []:
        departments.setdefault(org_id, OrgRef(org_id, ""))
    timeline = [
        TimelineEntry(
            at=incident.discovered_at,
            call_number="",
            seq=None,
            action="discovered",
            label=_("Discovered"),
            organisation=incident.discovered_by_org.name if incident.discovered_by_org else "",
            who=incident.discovered_by,
            summary=masked(incident.title),
        )
    ]
    for log in logs:
        platform = _platform_check(log, item, as_of)
        if platform is not None:
            checks.append(platform)
        for round_ in log.rounds:
            role, exempt = _lead_role(log.call, round_, item, duty.kind)
            checks += _round_checks(log, round_, role=role, item=item, as_of=as_of, exempt=exempt)
            if log.call.direction == Direction.UP and round_.organisation.id:
                departments.setdefault(round_.organisation.id, round_.organisation)
        timeline += _timeline(log)
        notes += _log_notes(log)
    timeline.sort(key=lambda e: (e.at, e.call_number, e.seq or 0))
    return Evidence(
        subject="incident",
        subject_id=incident.pk,
        title=incident.title,
        county=OrgRef(incident.county_id, incident.county.name),
        reference_at=incident.discovered_at,
        as_of=as_of,
        township=township,
        departments=_named(departments),
        direction="",
        out_of_list=item is None,
        list_info=_list_info(version, item),
        township_duty=duty.kind,
        township_duties_text=duty.text,
        report_duty=report_duty,
        admission=duty.admission,
        calls=[_call_ref(c) for c in calls],
        checks=checks,
        timeline=timeline,
        notes=notes,
        incident={
            "id": incident.pk,
            "description": masked(incident.description),
            "discovered_at": incident.discovered_at,
            "discovered_by": incident.discovered_by,
            "discovered_by_org": incident.discovered_by_org.name
            if incident.discovered_by_org
            else "",
            "department": incident.department.name if incident.department else "",
        },
    )


# ---- the proposal ------------------------------------------------------------------------------


def _cite(evidence: Evidence, check: Check) -> dict[str, Any]:
    return {
        "basis": check.basis,
        "item": evidence.list_info.item_code if evidence.list_info else "",
        "step": check.step_order,
        "call": check.call_number,
        "event": check.event_seq,
    }


def _duty_reasons(evidence: Evidence) -> list[Reason]:
    """What the list makes the township answer for (before any clock is read)."""
    info = evidence.list_info
    township = evidence.township.name if evidence.township else _("the township")
    item = info.item_code if info else ""
    if info is None:
        return [
            Reason(
                code="list.none",
                verdict="info",
                text=_(
                    "No list version of the county was in force at %(at)s: the list cannot "
                    "say who answered for what."
                )
                % {"at": when(evidence.reference_at)},
            )
        ]
    if evidence.township_duty == "not_admitted":
        admission_text = _(
            "The task is not on the list and %(department)s had no approved admission (准入) "
            "naming %(township)s on %(day)s: the township is not accountable for it "
            "(清单外事项未经准入，乡镇不承担责任)."
        ) % {
            "department": ", ".join(d.name for d in evidence.departments) or _("the department"),
            "township": township,
            "day": timezone.localtime(evidence.reference_at).date().isoformat(),
        }
        return [
            Reason(code="township.out_of_list_not_admitted", verdict="exempt", text=admission_text)
        ]
    if evidence.township_duty == "none":
        return [
            Reason(
                code="township.out_of_list",
                verdict="exempt",
                text=_("The matter is not on the list: the list gives %(township)s no duty for it.")
                % {"township": township},
            )
        ]
    if evidence.township_duty == "admitted" and evidence.admission:
        return [
            Reason(
                code="township.admitted",
                verdict="info",
                text=_(
                    "Off the list, but admitted as “%(title)s” (%(start)s to %(end)s): "
                    "%(township)s answers for it as for a cooperating duty."
                )
                % {
                    "title": evidence.admission.get("title", ""),
                    "start": evidence.admission.get("starts_on", ""),
                    "end": evidence.admission.get("ends_on", ""),
                    "township": township,
                },
            )
        ]
    if evidence.township_duty == "primary":
        return [
            Reason(
                code="township.primary",
                verdict="info",
                item=item,
                text=_(
                    "“%(item)s” is the township's own duty on the list: %(township)s is primary "
                    "(%(duties)s); departments only assist."
                )
                % {"item": info.item_name, "township": township, "duties": info.primary_duties},
            )
        ]
    reasons = [
        Reason(
            code="township.cooperating_only",
            verdict="info",
            item=item,
            text=_(
                "“%(item)s” is a county duty on the list (primary: %(primary)s): %(township)s "
                "answers only for its cooperating duties: %(duties)s."
            )
            % {
                "item": info.item_name,
                "primary": "、".join(info.primary_departments) or "—",
                "township": township,
                "duties": info.cooperating_duties or "—",
            },
        )
    ]
    if not evidence.report_duty:
        reasons.append(
            Reason(
                code="township.no_report_duty",
                verdict="exempt",
                item=item,
                text=_(
                    "The list gives %(township)s no patrol, discovery or reporting duty on this "
                    "item: not discovering or reporting it is not held against the township."
                )
                % {"township": township},
            )
        )
    return reasons


def _check_reason(evidence: Evidence, check: Check) -> Reason:
    cite = _cite(evidence, check)
    if check.decisive and check.outcome in Outcome.FAILED:
        verdict = "against_primary" if check.role == Capacity.PRIMARY else "against_cooperating"
    elif check.decisive and check.outcome in Outcome.MET:
        verdict = "diligent"
    elif check.outcome == Outcome.EXEMPT:
        verdict = "exempt"
    else:
        verdict = "info"
    return Reason(
        code=f"{check.code}.{check.outcome}",
        verdict=verdict,
        text=check.text,
        basis=cite["basis"],
        item=cite["item"],
        step=cite["step"],
        call=cite["call"],
        event=cite["event"],
    )


def propose_finding(evidence: Evidence) -> Proposal:
    """The finding the rules propose, with a reason for every fact that bears on it.

    1. A decisive clock of a party with primary responsibility missed → primary failure
       (against that party), whatever else happened.
    2. Otherwise a decisive clock of a cooperating party missed → cooperation failure.
    3. Otherwise, a decisive clock still running → insufficient evidence (not yet).
    4. Otherwise, the township exempt by the list (off the list without admission, or
       no duty), or every decisive clock met → diligent, exempt.
    5. Otherwise (nothing measurable in the log) → insufficient evidence.
    """
    reasons = _duty_reasons(evidence)
    checked = [_check_reason(evidence, c) for c in evidence.checks]
    primary = [
        (c, r)
        for c, r in zip(evidence.checks, checked, strict=True)
        if r.verdict == "against_primary"
    ]
    cooperating = [
        (c, r)
        for c, r in zip(evidence.checks, checked, strict=True)
        if r.verdict == "against_cooperating"
    ]
    pending = [c for c in evidence.checks if c.decisive and c.outcome == Outcome.PENDING]
    met = [c for c in evidence.checks if c.decisive and c.outcome in Outcome.MET]
    exempt_township = evidence.township_duty in ("not_admitted", "none") or any(
        r.code == "township.no_report_duty" for r in reasons
    )
    party: OrgRef | None
    if primary:
        finding, party = Finding.PRIMARY_FAILURE, primary[0][0].organisation
        summary = _(
            "%(org)s, with primary responsibility, did not act within the list's limits: "
            "primary responsibility not fulfilled."
        ) % {"org": party.name if party else "—"}
        if cooperating:
            summary += " " + _("%(org)s also fell short of its cooperating duties (below).") % {
                "org": cooperating[0][0].organisation.name
                if cooperating[0][0].organisation
                else "—"
            }
    elif cooperating:
        finding, party = Finding.COOPERATION_FAILURE, cooperating[0][0].organisation
        summary = _(
            "Nothing decisive is held against the primary party, but %(org)s did not fulfil "
            "its cooperating duties in time: cooperating responsibility not fulfilled."
        ) % {"org": party.name if party else "—"}
    elif pending:
        finding, party = Finding.INSUFFICIENT_EVIDENCE, None
        summary = _(
            "Clocks are still running (%(what)s): the log cannot yet show whether the limits "
            "will be met."
        ) % {
            "what": "; ".join(
                f"{c.label} — {c.organisation.name if c.organisation else ''}" for c in pending
            )
        }
    elif met or (exempt_township and evidence.list_info is not None):
        finding = Finding.DILIGENT_EXEMPT
        party = evidence.township
        if exempt_township and not met:
            summary = _(
                "By the list the township is not accountable for this matter, and the log "
                "holds nothing against anyone else: exempt (尽职免责)."
            )
        else:
            summary = _(
                "Everyone concerned acted within the list's limits: diligent, exempt from "
                "accountability (尽职免责)."
            )
    else:
        finding, party = Finding.INSUFFICIENT_EVIDENCE, None
        summary = _(
            "The log holds no step that the list's limits can measure: the evidence does not "
            "support a finding."
        )
    if (
        evidence.subject == "incident"
        and evidence.list_info is not None
        and evidence.township_duty == "cooperating"
        and not any(c.code.startswith("lead.") for c in evidence.checks)
    ):
        reasons.append(
            Reason(
                code="primary.not_in_log",
                verdict="info",
                item=evidence.list_info.item_code,
                text=_(
                    "The log holds no handling of this incident by the primary department "
                    "(%(primary)s): its own supervision and inspection records are outside "
                    "the platform and must be looked at by the person deciding."
                )
                % {"primary": "、".join(evidence.list_info.primary_departments) or "—"},
            )
        )
    ordered = (
        [Reason(code=f"finding.{finding}", verdict="summary", text=summary)]
        + [r for _c, r in primary]
        + [r for _c, r in cooperating]
        + reasons
        + [r for r in checked if r.verdict not in ("against_primary", "against_cooperating")]
        + [Reason(code="log.note", verdict="info", text=note) for note in evidence.notes]
    )
    return Proposal(finding=str(finding), party=party, reasons=ordered)
