"""The supervision sweep (督办): yellow and red cards on the lead department's deadlines,
supervision orders (督办单), and closing calls nobody evaluated in time.

`run_sweep` is run every minute by the worker (`tasks.supervision_sweep`, scheduled by
`XH_PERIODIC_TASKS`) and on demand by `manage.py supervise`. Every card, order and
automatic close is an action of the system party through `services.call_transition`, so it
is an event in the call's log like any other step. The rules are in docs/workflow.md,
section "Supervision (督办)":

- **yellow card** (黄牌预警) on an open deadline `d` of the lead dispatch at its *yellow
  moment* `yellow_moment(d)`: the same wall-clock time (Asia/Shanghai) on the last working
  day before `d`'s date — "one working day before the deadline" on the statutory calendar.
  Issued once per (clock, deadline), and only while `d` has not passed;
- **red card** (红牌警示) once the deadline has passed (`now > d`), once per (clock, deadline);
- **supervision order** (督办单) right after the red card on the completion deadline (once
  per deadline), and when a call has been reopened twice or more (once per reopen count);
- **automatic close** (超期未评价自动办结) of a call awaiting evaluation once its evaluation
  window (counted from the last `complete` event) has passed.

The sweep is idempotent: what was issued is read from the call's events, never kept in
memory, so a second sweep at the same moment writes nothing. Its cost grows with the calls
that are due, not with all open calls: candidates come from indexed columns only
(`Call.next_deadline`, `Call.state` with a bound on `state_changed_at`, and the
`(action, at)` index of the events), and what they need is read in a fixed number of
queries; only a call with something to do is locked and acted on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog.limits import Limit, parse_limit
from xianghu.core.errors import DomainError
from xianghu.core.workdays import CHINA_TZ, HolidayCalendar, deadline

from . import deadlines, services
from .deadlines import DEFAULT_POLICY, ClockPolicy
from .models import Call, CallEvent, Dispatch, DispatchRole, UrgencyLimit
from .workflow import BY_ACTION, State

logger = logging.getLogger(__name__)

YELLOW = "yellow_card"
RED = "red_card"
SUPERVISE = "supervise"
AUTO_CLOSE = "auto_close"

#: The states in which the workflow table allows cards, and supervision orders.
CARD_STATES = BY_ACTION[YELLOW].sources
SUPERVISE_STATES = BY_ACTION[SUPERVISE].sources

#: A call reopened this many times or more gets a supervision order (once per reopen).
REOPEN_SUPERVISION_AT = 2

#: A second reopen the sweep did not see while the call was still `reopened` (the lead
#: responded within the minute) is found from its `evaluate` event for this long.
REOPEN_LOOKBACK = timedelta(days=7)

# The events the sweep reads to know what was issued already (and when a call completed).
_SWEEP_EVENTS = (YELLOW, RED, SUPERVISE, "complete")

# What the lock-free look at a candidate reads (the action itself reloads the call).
_CANDIDATE_FIELDS = (
    "id",
    "number",
    "county_id",
    "state",
    "state_changed_at",
    "urgency",
    "reopen_count",
)

# Ten years without a working day is a broken calendar (as in core.workdays).
_MAX_DAYS = 3660


def _clock_labels() -> dict[str, str]:
    return {"sign": _("signing"), "respond": _("response"), "complete": _("completion")}


# --------------------------------------------------------------------------- the calendar


def previous_working_day(day: date, *, calendar: HolidayCalendar) -> date:
    """The last working day strictly before `day`."""
    for _step in range(_MAX_DAYS):
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            return day
    raise ValueError(f"no working day within {_MAX_DAYS} days before {day}")


def yellow_moment(due: datetime, *, calendar: HolidayCalendar) -> datetime:
    """When a deadline gets its yellow card: `due` moved back by one working day.

    The rule: the same wall-clock time (Asia/Shanghai) on the last working day before the
    deadline's date, whether or not that date is itself a working day. So a deadline on
    Saturday 2024-10-12 17:30 (a swapped working day) has its yellow moment on Friday
    10-11 17:30; one on Tuesday 2024-10-08 17:30 (after National Day) on Monday 09-30
    17:30; one on Wednesday 2025-02-05 17:30 (after the Spring Festival) on Monday
    2025-01-27 17:30; one on Monday 2025-01-27 on the worked Sunday 01-26.
    """
    if timezone.is_naive(due):
        raise ValueError("deadlines are timezone-aware")
    local = due.astimezone(CHINA_TZ)
    day = previous_working_day(local.date(), calendar=calendar)
    return datetime.combine(day, local.time(), tzinfo=CHINA_TZ)


def due_horizon(now: datetime, *, calendar: HolidayCalendar) -> datetime:
    """An exclusive bound on the deadlines whose yellow moment is at or before `now`:
    the start of the day after the first working day after `now`'s date.

    If `yellow_moment(d) <= now`, the last working day P before d's date is on or before
    now's date; the first working day N after now's date is then after P, and since no
    working day lies between P and d's date, d's date is at most N. So every deadline
    that needs a card (yellow or red) lies before this bound.
    """
    local = now.astimezone(CHINA_TZ)
    first = calendar.next_working_day(local.date())
    return datetime.combine(first + timedelta(days=1), time(0, 0), tzinfo=CHINA_TZ)


def _shortest(limit: Limit) -> timedelta:
    """A lower bound of how long `limit` lasts in clock time, whatever its start: n
    working days end at the end of the n-th working day after day 0, at least n × 24 h
    after the start; n working hours take at least n clock hours."""
    if limit.unit == "m":
        return timedelta(minutes=limit.amount)
    if limit.unit in ("h", "wh"):
        return timedelta(hours=limit.amount)
    if limit.unit in ("d", "wd"):
        return timedelta(days=limit.amount)
    return timedelta(0)


# --------------------------------------------------------------------------- the report


@dataclass
class SweepReport:
    """What one sweep did: counts per kind, the calls examined, the actions skipped."""

    now: datetime
    examined: int = 0
    yellow_cards: int = 0
    red_cards: int = 0
    supervision_orders: int = 0
    auto_closed: int = 0
    errors: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    _FIELDS: ClassVar[dict[str, str]] = {
        YELLOW: "yellow_cards",
        RED: "red_cards",
        SUPERVISE: "supervision_orders",
        AUTO_CLOSE: "auto_closed",
    }

    def done(self, call: Call, action: str, data: Mapping[str, Any]) -> None:
        attr = self._FIELDS[action]
        setattr(self, attr, getattr(self, attr) + 1)
        self.actions.append({"call": call.number, "action": action, **data})

    def failed(self, call: Call, action: str, error: DomainError) -> None:
        self.errors += 1
        self.problems.append(
            {"call": call.number, "action": action, "code": error.code, "message": str(error)}
        )

    @property
    def total(self) -> int:
        return self.yellow_cards + self.red_cards + self.supervision_orders + self.auto_closed

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON (the task's return value)."""
        return {
            "now": self.now.isoformat(),
            "examined": self.examined,
            "yellow_cards": self.yellow_cards,
            "red_cards": self.red_cards,
            "supervision_orders": self.supervision_orders,
            "auto_closed": self.auto_closed,
            "errors": self.errors,
            "actions": list(self.actions),
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """One line per action and per skipped action, for the command."""
        labels = _clock_labels()
        out = []
        for item in self.actions:
            label = str(BY_ACTION[item["action"]].label)
            if "clock" in item:
                detail = _("%(clock)s deadline %(deadline)s") % {
                    "clock": labels.get(item["clock"], item["clock"]),
                    "deadline": _short(item["deadline"]),
                }
            elif item.get("reason") == "reopened":
                detail = _("reopened %(count)s times") % {"count": item["reopen_count"]}
            else:
                detail = _("evaluation was due %(deadline)s") % {
                    "deadline": _short(item.get("evaluation_due", ""))
                }
            out.append(f"{item['call']} {label}: {detail}")
        for item in self.problems:
            out.append(
                _("%(call)s: %(action)s skipped (%(code)s)")
                % {
                    "call": item["call"],
                    "action": BY_ACTION[item["action"]].label,
                    "code": item["code"],
                }
            )
        return out

    def __str__(self) -> str:
        return _(
            "Supervision sweep at %(now)s: %(examined)s calls examined; %(yellow)s yellow "
            "cards, %(red)s red cards, %(orders)s supervision orders, %(closed)s closed "
            "without evaluation; %(errors)s skipped."
        ) % {
            "now": self.now.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            "examined": self.examined,
            "yellow": self.yellow_cards,
            "red": self.red_cards,
            "orders": self.supervision_orders,
            "closed": self.auto_closed,
            "errors": self.errors,
        }


def _short(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(iso)


# --------------------------------------------------------------------------- the rules


def _iso(moment: datetime) -> str:
    """How deadlines are written into event data: ISO 8601 in Asia/Shanghai."""
    return moment.astimezone(CHINA_TZ).isoformat()


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if timezone.is_naive(parsed) else parsed


def open_clock(dispatch: Dispatch) -> tuple[str, datetime] | None:
    """The dispatch's clock that is running now and its deadline (as
    `deadlines.next_deadline` counts them: sign, then respond, then complete)."""
    if dispatch.signed_at is None and dispatch.sign_due:
        return "sign", dispatch.sign_due
    if dispatch.responded_at is None and dispatch.respond_due:
        return "respond", dispatch.respond_due
    if dispatch.completed_at is None and dispatch.complete_due:
        return "complete", dispatch.complete_due
    return None


@dataclass
class _History:
    """What the call's events say was issued already, and when it was last completed."""

    issued: set[tuple[Any, ...]] = field(default_factory=set)
    completed_at: datetime | None = None

    def add(self, action: str, data: Mapping[str, Any], at: datetime) -> None:
        if action == "complete":
            if self.completed_at is None or at > self.completed_at:
                self.completed_at = at
            return
        if action == SUPERVISE and data.get("reason") == "reopened":
            self.issued.add((SUPERVISE, "reopened", data.get("reopen_count")))
            return
        due = _parse(data.get("deadline"))
        if due is not None:
            self.issued.add((action, data.get("clock"), due))


def _histories(rows: Iterable[tuple[int, str, Any, datetime]]) -> dict[int, _History]:
    histories: dict[int, _History] = defaultdict(_History)
    for call_id, action, data, at in rows:
        histories[call_id].add(action, data if isinstance(data, dict) else {}, at)
    return histories


def _plan(
    call: Call,
    lead: Dispatch | None,
    history: _History,
    *,
    now: datetime,
    calendar: HolidayCalendar,
    policy: ClockPolicy,
) -> list[tuple[str, dict[str, Any]]]:
    """The actions the sweep owes `call` at `now`, in order (pure: no queries, given a
    loaded calendar)."""
    plan: list[tuple[str, dict[str, Any]]] = []
    issued = history.issued
    clock = open_clock(lead) if lead is not None and call.state in CARD_STATES else None
    if clock is not None and lead is not None:
        name, due = clock
        base = {"clock": name, "deadline": _iso(due), "organisation": lead.organisation_id}
        if now > due:
            if (RED, name, due) not in issued:
                plan.append((RED, base))
            if name == "complete" and (SUPERVISE, name, due) not in issued:
                plan.append((SUPERVISE, {**base, "reason": "overdue"}))
        else:
            moment = yellow_moment(due, calendar=calendar)
            if now >= moment and (YELLOW, name, due) not in issued:
                plan.append((YELLOW, {**base, "yellow_at": _iso(moment)}))
    count = call.reopen_count
    if (
        count >= REOPEN_SUPERVISION_AT
        and call.state in SUPERVISE_STATES
        and (SUPERVISE, "reopened", count) not in issued
    ):
        plan.append((SUPERVISE, {"reason": "reopened", "reopen_count": count}))
    if call.state == State.AWAITING_EVALUATION:
        completed = history.completed_at or call.state_changed_at
        window = policy.limits[call.urgency].evaluation
        ends = deadline(
            completed, window.amount, window.unit, hours=policy.hours, calendar=calendar
        )
        if now > ends:
            plan.append((AUTO_CLOSE, {"evaluation_due": _iso(ends)}))
    return plan


# --------------------------------------------------------------------------- the sweep


def _candidates(now: datetime, calendar: HolidayCalendar) -> dict[int, Call]:
    """The calls that may owe an action at `now`, from indexed columns only."""
    calls: dict[int, Call] = {}
    # Deadlines before the horizon, in a state that can be carded (call_due_idx).
    due = Call.objects.filter(
        next_deadline__lt=due_horizon(now, calendar=calendar), state__in=CARD_STATES
    )
    # Awaiting evaluation for at least the shortest evaluation window (the state index;
    # state_changed_at is the time of the last `complete`).
    shortest = _shortest_evaluation_window()
    waiting = Call.objects.filter(
        state=State.AWAITING_EVALUATION, state_changed_at__lte=now - shortest
    )
    # Reopened twice or more: still `reopened` (the state index), or evaluated
    # unsatisfied lately (the events' (action, at) index).
    evaluated = CallEvent.objects.filter(
        action="evaluate", at__gt=now - REOPEN_LOOKBACK, at__lte=now
    ).values("call_id")
    reopened = Call.objects.filter(
        Q(state=State.REOPENED) | Q(pk__in=Subquery(evaluated), state__in=SUPERVISE_STATES),
        reopen_count__gte=REOPEN_SUPERVISION_AT,
    )
    for queryset in (due, waiting, reopened):
        for call in queryset.only(*_CANDIDATE_FIELDS).order_by("pk"):
            calls.setdefault(call.pk, call)
    return calls


def _shortest_evaluation_window() -> timedelta:
    """The shortest evaluation window of any county (defaults included)."""
    windows = [limits.evaluation for limits in deadlines.DEFAULTS.values()]
    for text in UrgencyLimit.objects.values_list("evaluation", flat=True).distinct():
        try:
            windows.append(parse_limit(text))
        except DomainError:
            continue  # refused when the policy is saved; never stops the sweep
    return min(_shortest(limit) for limit in windows)


def run_sweep(*, now: datetime | None = None) -> SweepReport:
    """Issue the cards, supervision orders and automatic closes due at `now` (default:
    the current time); see the module's docstring for the rules."""
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("the sweep needs a timezone-aware time")
    report = SweepReport(now=now)
    local = now.astimezone(CHINA_TZ)
    calendar = HolidayCalendar.load(local.year - 1, local.year + 1)

    calls = _candidates(now, calendar)
    report.examined = len(calls)
    ids = list(calls)
    leads = {
        d.call_id: d
        for d in Dispatch.objects.filter(call_id__in=ids, role=DispatchRole.LEAD, active=True)
    }
    policies = deadlines.clock_policies(call.county_id for call in calls.values())
    histories = _histories(
        CallEvent.objects.filter(call_id__in=ids, action__in=_SWEEP_EVENTS)
        .order_by()
        .values_list("call_id", "action", "data", "at")
    )

    for call_id, call in calls.items():
        # A lock-free look first: most candidates owe nothing (not yet at their yellow
        # moment, or carded already), and cost no further query.
        plan = _plan(
            call,
            leads.get(call_id),
            histories[call_id],
            now=now,
            calendar=calendar,
            policy=policies.get(call.county_id, DEFAULT_POLICY),
        )
        if plan:
            policy = policies.get(call.county_id, DEFAULT_POLICY)
            _act(call, now=now, calendar=calendar, policy=policy, report=report)
    report.warnings = [w.message for w in calendar.warnings]
    if report.total or report.errors:
        logger.info("%s", report)
    return report


def _act(
    call: Call,
    *,
    now: datetime,
    calendar: HolidayCalendar,
    policy: ClockPolicy,
    report: SweepReport,
) -> None:
    """Lock the call, decide again on fresh data (another sweep may have acted
    meanwhile) and take the actions through the transition service."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().filter(pk=call.pk).first()
        if locked is None:
            return
        lead = Dispatch.objects.filter(call=locked, role=DispatchRole.LEAD, active=True).first()
        history = _histories(
            locked.events.filter(action__in=_SWEEP_EVENTS)
            .order_by()
            .values_list("call_id", "action", "data", "at")
        )[locked.pk]
        plan = _plan(locked, lead, history, now=now, calendar=calendar, policy=policy)
        for action, data in plan:
            try:
                services.call_transition(actor=None, call=locked, action=action, data=data, at=now)
            except DomainError as error:
                # Refused (e.g. the call changed state): nothing was written; the rest of
                # this call's plan waits for the next sweep.
                logger.warning("supervision: %s %s refused: %s", locked.number, action, error.code)
                report.failed(locked, action, error)
                return
            report.done(locked, action, data)
