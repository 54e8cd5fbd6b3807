"""The supervision sweep (督办): automatic reminders (催办), yellow and red cards on the
running clock, supervision orders (督办单), and closing calls nobody evaluated in time;
and the overdue board's reads.

`run_sweep` is run every minute by the worker (`tasks.supervision_sweep`, scheduled by
`XH_PERIODIC_TASKS`) and on demand by `manage.py supervise`. Every reminder, card, order
and automatic close is an action of the system party through `services.call_transition`,
so it is an event in the call's log like any other step. The rules are in
docs/workflow.md, section "Supervision (督办)". The running clock is the platform's
(`accept`: accept and dispatch) while the call waits for the platform, else the lead
dispatch's (sign, respond, complete; `deadlines.running_clock`):

- **reminder** (`remind` with `automatic: true`) once the county's share of the clock
  (`remind_share`, default half) has run, while its deadline has not passed; once per
  (clock, deadline), in the states where the workflow lets the system remind;
- **yellow card** (黄牌预警) on an open deadline `d` at its *yellow moment*
  `yellow_moment(d)`: the same wall-clock time (Asia/Shanghai) on the last working day
  before `d`'s date — "one working day before the deadline" on the statutory calendar.
  Issued once per (clock, deadline), and only while `d` has not passed;
- **red card** (红牌警示) once the deadline has passed (`now > d`), once per (clock, deadline);
- **supervision order** (督办单) right after the red card on any clock (once per
  deadline) where the workflow allows one, and when a call has been reopened twice or more
  (once per reopen count);
- **automatic close** (超期未评价自动办结) of a call awaiting evaluation once its evaluation
  window (counted from the last `complete` event) has passed.

The sweep is idempotent: what was issued is read from the call's events, never kept in
memory, so a second sweep at the same moment writes nothing. Its cost grows with the calls
that are due, not with all open calls: candidates come from indexed columns only
(`Call.next_deadline`, `Call.remind_at`, `Call.state` with a bound on `state_changed_at`,
and the `(action, at)` index of the events), and what they need is read in a fixed number
of queries; only a call with something to do is locked and acted on. `remind_at` holds a
reminder only while it is to be issued: the sweep clears it when it issues the reminder,
or when the reminder is no longer owed (the deadline passed first).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog.limits import Limit, parse_limit
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import DomainError
from xianghu.core.workdays import CHINA_TZ, HolidayCalendar, deadline
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from . import deadlines, selectors, services
from .deadlines import (
    DEFAULT_POLICY,
    PLATFORM_STATES,
    REMIND_STATES,
    ClockPolicy,
    reminder_entry,
    running_clock,
)
from .deadlines import open_clock as open_clock  # the call page reads it from here
from .models import Call, CallEvent, Dispatch, DispatchRole, UrgencyLimit
from .workflow import BY_ACTION, State

logger = logging.getLogger(__name__)

REMIND = "remind"
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
_SWEEP_EVENTS = (REMIND, YELLOW, RED, SUPERVISE, "complete")

# What the lock-free look at a candidate reads (the action itself reloads the call).
_CANDIDATE_FIELDS = (
    "id",
    "number",
    "county_id",
    "state",
    "state_changed_at",
    "urgency",
    "reopen_count",
    "next_deadline",
    "accept_due",
    "remind_at",
    "reminders",
)

# Ten years without a working day is a broken calendar (as in core.workdays).
_MAX_DAYS = 3660


def _clock_labels() -> dict[str, str]:
    return {
        "accept": _("acceptance and dispatch"),
        "sign": _("signing"),
        "respond": _("response"),
        "complete": _("completion"),
    }


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
    reminders: int = 0
    yellow_cards: int = 0
    red_cards: int = 0
    supervision_orders: int = 0
    auto_closed: int = 0
    errors: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    _FIELDS: ClassVar[dict[str, str]] = {
        REMIND: "reminders",
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
        return (
            self.reminders
            + self.yellow_cards
            + self.red_cards
            + self.supervision_orders
            + self.auto_closed
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON (the task's return value)."""
        return {
            "now": self.now.isoformat(),
            "examined": self.examined,
            "reminders": self.reminders,
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
            "Supervision sweep at %(now)s: %(examined)s calls examined; %(reminders)s "
            "reminders, %(yellow)s yellow cards, %(red)s red cards, %(orders)s supervision "
            "orders, %(closed)s closed without evaluation; %(errors)s skipped."
        ) % {
            "now": self.now.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            "examined": self.examined,
            "reminders": self.reminders,
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


_iso = deadlines.iso
_parse = deadlines.parse_iso


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
        if action == REMIND and not data.get("automatic"):
            return  # a platform operator's reminder does not stand for the automatic one
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
    platform: int | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The actions the sweep owes `call` at `now`, in order (pure: no queries, given a
    loaded calendar). `platform` is the county's platform centre (the organisation the
    platform's clock is charged to)."""
    plan: list[tuple[str, dict[str, Any]]] = []
    issued = history.issued
    clock = running_clock(call, lead) if call.state in CARD_STATES else None
    if clock is not None:
        name, due = clock
        organisation = platform if name == "accept" else (lead.organisation_id if lead else None)
        base = {"clock": name, "deadline": _iso(due), "organisation": organisation}
        if now > due:
            if (RED, name, due) not in issued:
                plan.append((RED, base))
            if call.state in SUPERVISE_STATES and (SUPERVISE, name, due) not in issued:
                plan.append((SUPERVISE, {**base, "reason": "overdue"}))
        else:
            entry = reminder_entry(call, name, due)
            remind = _parse(entry.get("at")) if entry is not None else None
            if (
                remind is not None
                and now >= remind
                and call.state in REMIND_STATES
                and (REMIND, name, due) not in issued
            ):
                plan.append((REMIND, {**base, "automatic": True, "remind_at": _iso(remind)}))
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
    # Deadlines before the horizon, in a state that can be carded (call_due_idx), and
    # reminders due (call_remind_idx).
    due = Call.objects.filter(
        Q(next_deadline__lt=due_horizon(now, calendar=calendar), state__in=CARD_STATES)
        | Q(remind_at__lte=now, state__in=REMIND_STATES)
    )
    # Awaiting evaluation for at least the shortest evaluation window (the partial index
    # `call_awaiting_idx`; state_changed_at is the time of the last `complete`).
    shortest = _shortest_evaluation_window()
    waiting = Call.objects.filter(
        state=State.AWAITING_EVALUATION, state_changed_at__lte=now - shortest
    )
    # Reopened twice or more (the partial index `call_reopened_idx` holds only those
    # calls): still `reopened`, or evaluated unsatisfied lately (an index probe of each
    # one's events). Two queries, not one with OR, and EXISTS rather than IN over the
    # week's evaluations: each is served by its index (benchmarks.md, "The supervision
    # sweep at scale").
    still_reopened = Call.objects.filter(
        state=State.REOPENED, reopen_count__gte=REOPEN_SUPERVISION_AT
    )
    evaluated_again = Call.objects.filter(
        Exists(
            CallEvent.objects.filter(
                call_id=OuterRef("pk"),
                action="evaluate",
                at__gt=now - REOPEN_LOOKBACK,
                at__lte=now,
            ).order_by()
        ),
        state__in=SUPERVISE_STATES,
        reopen_count__gte=REOPEN_SUPERVISION_AT,
    )
    for queryset in (due, waiting, still_reopened, evaluated_again):
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


def _platforms(county_ids: Iterable[int]) -> dict[int, int]:
    """The platform centre of each county (the first one, as dispatch finds it)."""
    found: dict[int, int] = {}
    rows = Organisation.objects.filter(
        county_id__in=set(county_ids), kind=OrgKind.PLATFORM_CENTRE
    ).order_by("kind", "name", "pk")
    for county_id, pk in rows.values_list("county_id", "pk"):
        found.setdefault(county_id, pk)
    return found


def run_sweep(*, now: datetime | None = None) -> SweepReport:
    """Issue the reminders, cards, supervision orders and automatic closes due at `now`
    (default: the current time); see the module's docstring for the rules."""
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
        for d in Dispatch.objects.filter(
            call_id__in=ids, role=DispatchRole.LEAD, active=True
        ).order_by()  # the default ordering would join the calls table
    }
    policies = deadlines.clock_policies(call.county_id for call in calls.values())
    histories = _histories(
        CallEvent.objects.filter(call_id__in=ids, action__in=_SWEEP_EVENTS)
        .order_by()
        .values_list("call_id", "action", "data", "at")
    )
    waiting = {c.county_id for c in calls.values() if c.state in PLATFORM_STATES}
    platforms = _platforms(waiting) if waiting else {}

    for call_id, call in calls.items():
        # A lock-free look first: most candidates owe nothing (not yet at their yellow
        # moment, or carded already), and cost no further query.
        policy = policies.get(call.county_id, DEFAULT_POLICY)
        plan = _plan(
            call,
            leads.get(call_id),
            histories[call_id],
            now=now,
            calendar=calendar,
            policy=policy,
            platform=platforms.get(call.county_id),
        )
        if plan:
            _act(
                call,
                now=now,
                calendar=calendar,
                policy=policy,
                platform=platforms.get(call.county_id),
                report=report,
            )
        elif call.remind_at is not None and call.remind_at <= now:
            # The reminder is no longer owed (its deadline passed first, or it was
            # issued): the call leaves the reminder index.
            _reminder_done(call, lead=leads.get(call_id))
    report.warnings = [w.message for w in calendar.warnings]
    if report.total or report.errors:
        logger.info("%s", report)
    return report


def _marked(call: Call, lead: Dispatch | None) -> dict[str, Any]:
    """The call's reminder moments with the running clock's marked done."""
    reminders = dict(call.reminders or {})
    clock = running_clock(call, lead)
    if clock is not None and reminder_entry(call, *clock) is not None:
        reminders[clock[0]] = {**reminders[clock[0]], "done": True}
    return reminders


def _reminder_done(call: Call, *, lead: Dispatch | None) -> None:
    """Take the call out of the reminder index, unless it changed meanwhile (then the
    transition that changed it has set `remind_at` afresh)."""
    Call.objects.filter(
        pk=call.pk, remind_at=call.remind_at, next_deadline=call.next_deadline
    ).update(remind_at=None, reminders=_marked(call, lead))


def _act(
    call: Call,
    *,
    now: datetime,
    calendar: HolidayCalendar,
    policy: ClockPolicy,
    report: SweepReport,
    platform: int | None = None,
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
        plan = _plan(
            locked, lead, history, now=now, calendar=calendar, policy=policy, platform=platform
        )
        for action, data in plan:
            try:
                services.call_transition(actor=None, call=locked, action=action, data=data, at=now)
            except DomainError as error:
                # Refused (e.g. the call changed state): nothing was written; the rest of
                # this call's plan waits for the next sweep.
                logger.warning("supervision: %s %s refused: %s", locked.number, action, error.code)
                report.failed(locked, action, error)
                return
            if action == REMIND:
                # Issued: the call leaves the reminder index (the transition, which cannot
                # see its own event yet, kept the moment).
                locked.remind_at = None
                locked.reminders = _marked(locked, lead)
                locked.save(update_fields=["remind_at", "reminders"])
            report.done(locked, action, data)
        if locked.remind_at is not None and locked.remind_at <= now:
            locked.remind_at = None
            locked.reminders = _marked(locked, lead)
            locked.save(update_fields=["remind_at", "reminders"])


# --------------------------------------------------------------------------- the overdue board

BOARD_PAGE_SIZE = 50
BOARD_CLOCKS = ("accept", "sign", "respond", "complete")
BOARD_CARDS = ("red", "yellow")
#: The supervision events the board shows with each call.
BOARD_EVENTS = (REMIND, YELLOW, RED, SUPERVISE)


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters; empty values do not filter. `card`: "red" for calls whose
    running clock has passed, "yellow" for those due before the horizon but not yet."""

    township: int | None = None
    department: int | None = None
    clock: str = ""
    card: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> BoardFilters:
        def number(key: str) -> int | None:
            value = str(query.get(key) or "")
            return int(value) if value.isdigit() else None

        clock = str(query.get("clock") or "")
        card = str(query.get("card") or "")
        return cls(
            township=number("township"),
            department=number("department"),
            clock=clock if clock in BOARD_CLOCKS else "",
            card=card if card in BOARD_CARDS else "",
        )


@dataclass
class BoardRow:
    call: Call
    lead: str
    clock: str
    due: datetime | None
    overdue: bool
    cards: list[tuple[str, str, str]]


@dataclass
class Board:
    page: Page
    rows: list[BoardRow]
    horizon: datetime
    filters: BoardFilters


def _clock_q(name: str) -> Q:
    """The calls whose running clock is `name` (as `deadlines.running_clock` says)."""
    if name == "accept":
        return Q(state__in=PLATFORM_STATES)
    sign = Q(signed_at__isnull=True, sign_due__isnull=False)
    respond = Q(responded_at__isnull=True, respond_due__isnull=False)
    complete = Q(completed_at__isnull=True, complete_due__isnull=False)
    running = {"sign": sign, "respond": ~sign & respond, "complete": ~sign & ~respond & complete}
    leads = Dispatch.objects.filter(
        running[name], call=OuterRef("pk"), active=True, role=DispatchRole.LEAD
    )
    return ~Q(state__in=PLATFORM_STATES) & Q(Exists(leads))


def board_calls(
    *, actor: Actor, now: datetime, horizon: datetime, filters: BoardFilters
) -> QuerySet[Call]:
    """The open calls the actor may see whose running clock has passed or ends before
    `horizon`, earliest deadline first, with their lead (`active_leads`)."""
    qs = selectors.call_list(
        actor=actor, filters=selectors.CallFilters(states=tuple(CARD_STATES))
    ).filter(next_deadline__lt=horizon)
    if filters.township is not None:
        qs = qs.filter(Q(caller_id=filters.township) | Q(callee_id=filters.township))
    if filters.department is not None:
        leads = Dispatch.objects.filter(
            call=OuterRef("pk"),
            active=True,
            role=DispatchRole.LEAD,
            organisation_id=filters.department,
        )
        qs = qs.filter(Exists(leads))
    if filters.clock:
        qs = qs.filter(_clock_q(filters.clock))
    if filters.card == "red":
        qs = qs.filter(next_deadline__lt=now)
    elif filters.card == "yellow":
        qs = qs.filter(next_deadline__gte=now)
    return qs.order_by("next_deadline", "pk")


def _board_events(actor: Actor, calls: list[Call]) -> dict[int, list[CallEvent]]:
    """The reminders, cards and orders of these calls, in one query."""
    qs = access.visible(
        actor,
        CallEvent.objects.filter(call_id__in=[c.pk for c in calls], action__in=BOARD_EVENTS),
    ).order_by("call_id", "seq")
    out: dict[int, list[CallEvent]] = defaultdict(list)
    for event in qs:
        out[event.call_id].append(event)
    return out


def _board_label(event: CallEvent) -> str:
    label = str(BY_ACTION[event.action].label)
    if event.action == REMIND and (event.data or {}).get("automatic"):
        return _("%(action)s, automatic") % {"action": label}
    return label


def board(
    *, actor: Actor, filters: BoardFilters, page: Any = 1, now: datetime | None = None
) -> Board:
    """One page (`BOARD_PAGE_SIZE` calls) of the overdue board, in a fixed number of
    queries: count, calls, their leads, their supervision events, the calendar."""
    now = now or timezone.now()
    local = now.astimezone(CHINA_TZ)
    calendar = HolidayCalendar.load(local.year, local.year + 1)
    horizon = due_horizon(now, calendar=calendar)
    paginator = Paginator(
        board_calls(actor=actor, now=now, horizon=horizon, filters=filters), BOARD_PAGE_SIZE
    )
    current = paginator.get_page(page)
    calls = list(current.object_list)
    events = _board_events(actor, calls)
    labels = _clock_labels()
    rows = []
    for call in calls:
        leads = getattr(call, "active_leads", [])
        lead = leads[0] if leads else None
        clock = running_clock(call, lead)
        rows.append(
            BoardRow(
                call=call,
                lead=lead.organisation.name if lead is not None else "",
                clock=labels[clock[0]] if clock else "",
                due=clock[1] if clock else call.next_deadline,
                overdue=call.next_deadline is not None and call.next_deadline < now,
                cards=[
                    (
                        e.action,
                        _board_label(e),
                        " · ".join(
                            v
                            for v in (
                                labels.get(str(e.data.get("clock")), ""),
                                e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
                            )
                            if v
                        ),
                    )
                    for e in events.get(call.pk, [])
                ],
            )
        )
    return Board(page=current, rows=rows, horizon=horizon, filters=filters)


def board_choices(*, county_id: int | None) -> dict[str, list[Organisation]]:
    """The townships and departments of the county, for the board's filters."""
    if county_id is None:
        return {"townships": [], "departments": []}
    orgs = list(
        Organisation.objects.filter(
            county_id=county_id,
            kind__in=(OrgKind.TOWNSHIP, OrgKind.DEPARTMENT),
            is_active=True,
        ).order_by("name", "pk")
    )
    return {
        "townships": [o for o in orgs if o.kind == OrgKind.TOWNSHIP],
        "departments": [o for o in orgs if o.kind == OrgKind.DEPARTMENT],
    }
