"""The supervision-sweep scale benchmark (issue #9): a data set of open calls with a fixed
set of calls due at the sweep moment, and the measurements of `supervision.run_sweep` on
it. Run it with `bench/sweep.sh` (`sweep.py`); a test runs these parts on a tiny data
set (`tests/bench/test_sweep_bench.py`). Needs Django set up.

The data set. Every call is played as the services and the sweep would have recorded it:
legal transitions of `calls.workflow` with the event data the services write (the
dispatch's deadlines, the evaluation's restarted clocks), the clocks computed by the
product's own functions (`deadlines._due` with the county's policy and `limits_for`,
`deadlines.remind_moment`, `supervision.yellow_moment`), and the sweep's own events
(reminders, yellow and red cards, supervision orders) where a sweep running every minute
would have issued them — up to `T0`, an hour before the benchmark's moment `T`. So at
`T` exactly the calls whose moments fell in that last hour owe something: the planted
*due set*, generated from its own seed and the same whatever the number of open calls.
What each due call owes at `T` is `supervision._plan` of the call as generated (the
sweep's rule on the very rows written); `check_sample` checks the written rows against
`deadlines.set_dispatch_clocks`, `deadlines.refresh_call_clocks` and `workflow.replay`.

The helpers that write rows (`write_rows`: COPY on PostgreSQL, `bulk_create` elsewhere;
the demo county as the cast) are the assessment benchmark's, now in `xianghu.demo.bulk`.

The rest, the *filler* that grows 10×, is open calls whose running clock ends after the
sweep's horizon (`supervision.due_horizon`) and whose reminder is issued or still ahead:
calls in progress on a completion clock of three working days or more (some of them
reopened once, whose evaluation lies within the sweep's 7-day look-back), and calls
awaiting evaluation for less than the shortest evaluation window. The short clocks
(the platform's, signing, responding, urgent calls) always end within the horizon: such
calls are in the due set, or in the *near set* — candidates the sweep examines but that
owe nothing (carded already, or awaiting evaluation within the window).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from xianghu.calls import deadlines, supervision
from xianghu.calls.deadlines import ClockPolicy, Limits
from xianghu.calls.models import Call, CallEvent, Dispatch, DispatchRole
from xianghu.calls.workflow import BY_ACTION, CREATE, OPEN, State, replay
from xianghu.catalog.models import Item
from xianghu.core.workdays import HolidayCalendar, deadline
from xianghu.demo.bulk import (
    _DESCRIPTIONS,
    _TITLES,
    CALL_COLUMNS,
    CST,
    DISPATCH_COLUMNS,
    EVENT_COLUMNS,
    Cast,
    _Ids,
    _next_ids,
    check_columns,
    sync_sequences,
    write_rows,
)
from xianghu.regions.models import Organisation

#: Bump when the generator changes: a cached data set of another version is rebuilt.
GENERATOR_VERSION = 1

#: The benchmark's sweep moment: a Wednesday of an ordinary week, a quarter of an hour
#: after office hours, so that the completion clocks (which end at 17:30 of a working
#: day), their yellow moments and the evaluation windows fall due together with the
#: short clocks.
T = datetime(2025, 11, 19, 17, 45, tzinfo=CST)
#: The last sweep before T: what fell due since is the due set.
T0 = T - timedelta(hours=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: People act at hh:mm:20, the sweep runs at hh:mm:00: no step coincides with a sweep.
STEP_SECOND = 20

REMIND, YELLOW, RED, SUPERVISE, AUTO_CLOSE = (
    supervision.REMIND,
    supervision.YELLOW,
    supervision.RED,
    supervision.SUPERVISE,
    supervision.AUTO_CLOSE,
)
ACTIONS = (REMIND, YELLOW, RED, SUPERVISE, AUTO_CLOSE)
#: The report's counter of each action.
REPORT_FIELDS = {
    REMIND: "reminders",
    YELLOW: "yellow_cards",
    RED: "red_cards",
    SUPERVISE: "supervision_orders",
    AUTO_CLOSE: "auto_closed",
}
# The filler's completion limits must outlast the horizon: at least 3 working days.
_FILLER_MIN_DAYS = 3
_P_REOPENED = 0.05  # of the filler in progress: reopened once
_P_WAITING = 0.15  # of the filler: awaiting evaluation
_P_LATE = 0.03  # a step taken after its deadline (red card and order in the log)


def _tick_at_or_after(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def _tick_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + MINUTE


def _step_time(moment: datetime) -> datetime:
    return moment.astimezone(CST).replace(second=STEP_SECOND, microsecond=0)


# --------------------------------------------------------------------------- the clocks


class Clocks:
    """The county's clocks, computed with the product's functions and remembered (the
    generator asks for the same few thousand moments millions of times)."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self.policy: ClockPolicy = deadlines.clock_policy(cast.county_id)
        self.calendar = HolidayCalendar.load(T.year - 1, T.year + 1)
        self.horizon = supervision.due_horizon(T, calendar=self.calendar)
        self.shortest = supervision._shortest_evaluation_window()
        items = Item.objects.in_bulk([i for i, _d, _p, _a in cast.items])
        self.items = items
        self.limits: dict[tuple[str, int | None], Limits] = {}
        for urgency in ("urgent", "normal", "complex"):
            for item_id in [None, *items]:
                call = Call(urgency=urgency, item=items[item_id] if item_id else None)
                self.limits[(urgency, item_id)] = deadlines.limits_for(call, self.policy)
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = make()
        return value

    def due(self, start: datetime, limit: Any) -> datetime:
        return self._cached(
            ("due", start, limit),
            lambda: deadlines._due(start, limit, self.policy.hours, self.calendar),
        )

    def dispatch(self, at: datetime, limits: Limits) -> tuple[datetime, datetime, datetime]:
        """sign, respond and complete deadlines as `set_dispatch_clocks` sets them."""
        sign = self.due(at, limits.sign)
        respond = max(self.due(at, limits.respond), sign)
        return sign, respond, max(self.due(at, limits.complete), respond)

    def redo(self, at: datetime, limits: Limits) -> tuple[datetime, datetime]:
        """respond and complete deadlines as `restart_for_redo` sets them."""
        respond = self.due(at, limits.respond)
        return respond, max(self.due(at, limits.complete), respond)

    def remind(self, start: datetime, due: datetime, limit: Any) -> datetime:
        return self._cached(
            ("remind", start, due, limit),
            lambda: deadlines.remind_moment(
                start,
                due,
                limit,
                share=self.policy.remind_share,
                hours=self.policy.hours,
                calendar=self.calendar,
            ),
        )

    def yellow(self, due: datetime) -> datetime:
        return self._cached(
            ("yellow", due), lambda: supervision.yellow_moment(due, calendar=self.calendar)
        )

    def evaluation_ends(self, completed: datetime, urgency: str) -> datetime:
        window = self.policy.limits[urgency].evaluation
        return self._cached(
            ("evaluation", completed, urgency),
            lambda: deadline(
                completed,
                window.amount,
                window.unit,
                hours=self.policy.hours,
                calendar=self.calendar,
            ),
        )

    def working_moment(self, rng: random.Random, day: date) -> datetime:
        """A moment in office hours of `day`, at a step's second."""
        hours = self.policy.hours
        (m0, m1), (a0, a1) = hours.periods
        minutes = [(m0, m1), (a0, a1)]
        lengths = [(e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in minutes]
        pick = rng.randrange(sum(lengths))
        start = minutes[0][0] if pick < lengths[0] else minutes[1][0]
        offset = pick if pick < lengths[0] else pick - lengths[0]
        base = datetime.combine(day, start, tzinfo=CST)
        return base + timedelta(minutes=offset, seconds=STEP_SECOND)

    def working_days(self, back: int) -> list[date]:
        """The working days from `back` calendar days before T's date to T's date."""
        today = T.astimezone(CST).date()
        days = [today - timedelta(days=n) for n in range(back, -1, -1)]
        return [d for d in days if self.calendar.is_working_day(d)]


# --------------------------------------------------------------------------- one call


class Refused(Exception):
    """The sampled life does not fit (a step after its bound, a close before T0)."""


@dataclass
class Life:
    """One call as the services and a minute-by-minute sweep up to T0 leave it."""

    clocks: Clocks
    urgency: str
    item_id: int | None
    caller: int
    lead: int
    kind: str = ""
    events: list[tuple[Any, ...]] = field(default_factory=list)  # without ids
    state: str = ""
    state_at: datetime | None = None
    created_at: datetime | None = None
    last: datetime | None = None
    accept_due: datetime | None = None
    reminders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dispatch: dict[str, Any] | None = None
    reopen_count: int = 0
    completed_at: datetime | None = None
    issued: set[tuple[Any, ...]] = field(default_factory=set)
    expected: tuple[str, ...] = ()

    @property
    def limits(self) -> Limits:
        return self.clocks.limits[(self.urgency, self.item_id)]

    # -- what the call looks like to the sweep

    def running(self) -> tuple[str, datetime] | None:
        if self.state in deadlines.PLATFORM_STATES:
            return ("accept", self.accept_due) if self.accept_due else None
        d = self.dispatch
        if d is None:
            return None
        for name, done in (("sign", "signed_at"), ("respond", "responded_at")):
            if d[done] is None and d[f"{name}_due"]:
                return name, d[f"{name}_due"]
        if d["completed_at"] is None and d["complete_due"]:
            return "complete", d["complete_due"]
        return None

    def next_deadline(self) -> datetime | None:
        clock = self.running() if self.state in OPEN else None
        return clock[1] if clock else None

    def remind_at(self) -> datetime | None:
        clock = self.running() if self.state in OPEN else None
        if clock is None or self.state not in deadlines.REMIND_STATES:
            return None
        entry = self._entry(*clock)
        if entry is None or entry.get("done"):
            return None
        return deadlines.parse_iso(entry["at"])

    def _entry(self, name: str, due: datetime) -> dict[str, Any] | None:
        entry = self.reminders.get(name)
        if entry is not None and deadlines.parse_iso(entry.get("deadline")) == due:
            return entry
        return None

    def _set_reminder(self, name: str, start: datetime, due: datetime, limit: Any) -> None:
        if self._entry(name, due) is None:
            moment = self.clocks.remind(start, due, limit)
            self.reminders[name] = {"deadline": deadlines.iso(due), "at": deadlines.iso(moment)}

    # -- the sweep, every minute up to T0

    def _sweeps_until(self, end: datetime) -> None:
        """The sweep's events at the minutes after the last event and before `end`."""
        assert self.last is not None
        first = _tick_after(self.last)
        if first >= end or first > T0:
            return
        out: list[tuple[datetime, int, str, dict[str, Any]]] = []

        def due_at(moment: datetime) -> bool:
            return moment < end and moment <= T0

        state = self.state
        clock = self.running() if state in supervision.CARD_STATES else None
        if clock is not None:
            name, due = clock
            org = self.clocks.cast.platform_id if name == "accept" else self.lead
            base = {"clock": name, "deadline": deadlines.iso(due), "organisation": org}
            red = max(first, _tick_after(due))
            if due_at(red):
                if (RED, name, due) not in self.issued:
                    out.append((red, 0, RED, base))
                if state in supervision.SUPERVISE_STATES and (SUPERVISE, name, due) not in (
                    self.issued
                ):
                    out.append((red, 1, SUPERVISE, {**base, "reason": "overdue"}))
            entry = self._entry(name, due)
            if state in deadlines.REMIND_STATES and entry is not None and not entry.get("done"):
                moment = deadlines.parse_iso(entry["at"])
                assert moment is not None
                at = max(first, _tick_at_or_after(moment))
                if due_at(at):
                    if at <= due and (REMIND, name, due) not in self.issued:
                        data = {**base, "automatic": True, "remind_at": deadlines.iso(moment)}
                        out.append((at, 2, REMIND, data))
                    # Issued, or no longer owed: either way the sweep marks it done.
                    self.reminders[name] = {**entry, "done": True}
            moment = self.clocks.yellow(due)
            at = max(first, _tick_at_or_after(moment))
            if due_at(at) and at <= due and (YELLOW, name, due) not in self.issued:
                out.append((at, 3, YELLOW, {**base, "yellow_at": deadlines.iso(moment)}))
        count = self.reopen_count
        if (
            count >= supervision.REOPEN_SUPERVISION_AT
            and state in supervision.SUPERVISE_STATES
            and (SUPERVISE, "reopened", count) not in self.issued
            and due_at(first)
        ):
            out.append((first, 4, SUPERVISE, {"reason": "reopened", "reopen_count": count}))
        if state == State.AWAITING_EVALUATION and self.completed_at is not None:
            ends = self.clocks.evaluation_ends(self.completed_at, self.urgency)
            if due_at(max(first, _tick_after(ends))):
                raise Refused("closed without evaluation before T0")
        for at, _order, action, data in sorted(out, key=lambda item: (item[0], item[1])):
            self._append(action, at, data, "system", None)
            if action == SUPERVISE and data.get("reason") == "reopened":
                self.issued.add((SUPERVISE, "reopened", data["reopen_count"]))
            else:
                self.issued.add((action, data["clock"], due))

    # -- people's steps

    def _append(
        self, action: str, at: datetime, data: dict[str, Any], party: str, org: int | None
    ) -> None:
        if action == CREATE:
            source, target = "", str(State.DRAFT)
        else:
            source = self.state
            transition = BY_ACTION[action]
            if source not in transition.sources:
                raise AssertionError(f"sweep bench: {action} is not allowed in {source}")
            target = transition.next_state(source, data)
        if target != source:
            self.state_at = at
        self.state = target
        self.last = at
        cast = self.clocks.cast
        if party == "system":
            actor = None
        elif party == "caller_leader":
            actor = cast.leaders.get(org or 0)
        elif party == "platform":
            actor = cast.operator_id
        else:
            actor = cast.staff.get(org or 0)
        self.events.append((action, source, target, actor, org, party, at, data))

    def step(
        self, action: str, at: datetime, data: dict[str, Any], party: str, org: int | None
    ) -> None:
        if self.last is not None:
            if at <= self.last:
                raise Refused(f"{action} before the previous step")
            self._sweeps_until(at)
        self._append(action, at, data, party, org)

    def finish(self) -> None:
        """The sweeps up to T0 after the last step."""
        self._sweeps_until(T0 + MINUTE)


# --------------------------------------------------------------------------- playing a call


@dataclass
class Plan:
    """How far a call goes and when: the dispatch at `dispatched`, then the steps up to
    `target` (the call's state at T), each before `bound`; `forced` fixes the time of
    the last step."""

    urgency: str
    item_id: int | None
    target: str
    approved: datetime | None = None  # for the platform's states
    dispatched: datetime | None = None
    reopens: int = 0
    forced: datetime | None = None
    bound: datetime = T0
    late: bool = False


_ORDER = (
    State.APPROVED,
    State.ACCEPTED,
    State.DISPATCHED,
    State.SIGNED,
    State.IN_PROGRESS,
    State.AWAITING_EVALUATION,
)


class Player:
    """Plays calls for the data set (deterministic given the random generator)."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self.clocks = Clocks(cast)
        self.item_info = {i: (primary, codes) for i, _d, primary, codes in cast.items}
        self.codes = dict(Item.objects.values_list("pk", "code"))
        self.names = dict(
            Organisation.objects.filter(county_id=cast.county_id).values_list("pk", "name")
        )

    def _gap(self, rng: random.Random, start: datetime, due: datetime, cap: datetime) -> datetime:
        end = min(due, cap)
        if end <= start + MINUTE:
            raise Refused("no time left for the step")
        return _step_time(start + (end - start) * rng.uniform(0.05, 0.9))

    def play(self, rng: random.Random, plan: Plan) -> Life:
        cast, clocks = self.cast, self.clocks
        item_id = plan.item_id
        lead = self.item_info[item_id][0] if item_id else cast.departments[0]
        caller = rng.choice(cast.townships)
        life = Life(clocks, plan.urgency, item_id, caller, lead)
        limits = life.limits
        target_rank = _ORDER.index(State(plan.target)) if plan.target in _ORDER else len(_ORDER) - 1
        cap = plan.bound
        if plan.dispatched is not None:
            dispatched = plan.dispatched
            window = 25 * MINUTE if plan.urgency == "urgent" else 90 * MINUTE
            approved = _step_time(dispatched - window * rng.uniform(0.2, 1.0))
        else:
            assert plan.approved is not None
            approved, dispatched = plan.approved, None
        submitted = _step_time(approved - rng.uniform(10, 120) * MINUTE)
        created = _step_time(submitted - rng.uniform(5, 60) * MINUTE)
        life.created_at = created
        item = {"item": self.codes.get(item_id) if item_id else None, "urgency": plan.urgency}
        life.step(CREATE, created, item, "caller", caller)
        life.step("submit", submitted, {}, "caller", caller)
        life.step("approve", approved, {}, "caller_leader", caller)
        life.accept_due = clocks.due(approved, limits.accept)
        life._set_reminder("accept", approved, life.accept_due, limits.accept)
        if plan.target == State.APPROVED:
            return self._end(life)
        if dispatched is None:  # accepted, not dispatched yet
            accepted = plan.forced or self._gap(rng, approved, life.accept_due, cap)
        else:
            accepted = _step_time(approved + (dispatched - approved) * rng.uniform(0.1, 0.9))
        life.step("accept", accepted, {}, "platform", cast.platform_id)
        if plan.target == State.ACCEPTED:
            return self._end(life)
        assert dispatched is not None
        sign_due, respond_due, complete_due = clocks.dispatch(dispatched, limits)
        assisting = list(self.item_info[item_id][1]) if item_id else []
        data = {
            "sign_due": sign_due.isoformat(),
            "respond_due": respond_due.isoformat(),
            "complete_due": complete_due.isoformat(),
            "lead": lead,
            "assisting": [],
            "lead_name": self.names.get(lead, ""),
            "assisting_names": [],
            # The list suggests the item's assisting departments too; none are named.
            "changed_from_suggestion": bool(assisting),
        }
        life.step("dispatch", dispatched, data, "platform", cast.platform_id)
        life.dispatch = {
            "at": dispatched,
            "sign_due": sign_due,
            "respond_due": respond_due,
            "complete_due": complete_due,
            "signed_at": None,
            "responded_at": None,
            "completed_at": None,
        }
        for name, due, limit in (
            ("sign", sign_due, limits.sign),
            ("respond", respond_due, limits.respond),
            ("complete", complete_due, limits.complete),
        ):
            life._set_reminder(name, dispatched, due, limit)
        # The steps after the dispatch, each before its deadline (or late, rarely).
        steps: list[str] = []
        if target_rank >= _ORDER.index(State.SIGNED):
            steps.append("sign")
        if target_rank >= _ORDER.index(State.IN_PROGRESS):
            steps.append("respond")
        for _round in range(plan.reopens):
            steps += ["complete", "evaluate", "respond"]
        if plan.target == State.AWAITING_EVALUATION:
            steps.append("complete")
        if plan.target == State.REOPENED:
            steps = [*steps[:-1]]  # the last reopening waits for its response
        for n, action in enumerate(steps):
            last = n == len(steps) - 1
            self._take(rng, life, action, plan, cap, forced=plan.forced if last else None)
        return self._end(life)

    def _take(
        self,
        rng: random.Random,
        life: Life,
        action: str,
        plan: Plan,
        cap: datetime,
        *,
        forced: datetime | None,
    ) -> None:
        d = life.dispatch
        assert d is not None
        assert life.last is not None
        lead = life.lead
        clock = life.running()
        due = clock[1] if clock else cap
        if forced is not None:
            at = forced
        elif plan.late and rng.random() < 0.5 and due + HOUR < cap:
            at = _step_time(due + rng.uniform(1, 60) * MINUTE)
        else:
            room = cap - MINUTE * 4  # later steps need room too
            at = self._gap(rng, life.last, due, room)
        if action == "sign":
            life.step("sign", at, {}, "lead", lead)
            d["signed_at"] = at
        elif action == "respond":
            mode = rng.choice(("contact", "on_site"))
            life.step("respond", at, {"mode": mode}, "lead", lead)
            d["responded_at"] = at
        elif action == "complete":
            life.step("complete", at, {"result": "已处置完毕。"}, "lead", lead)
            d["completed_at"] = life.completed_at = at
        elif action == "evaluate":
            limits = life.limits
            respond_due, complete_due = self.clocks.redo(at, limits)
            data = {
                "evaluation": "unsatisfied",
                "resolved": "no",
                "reopen_count": life.reopen_count + 1,
                "respond_due": respond_due.isoformat(),
                "complete_due": complete_due.isoformat(),
            }
            life.reopen_count += 1
            life.step("evaluate", at, data, "caller", life.caller)
            d.update(
                responded_at=None,
                completed_at=None,
                respond_due=respond_due,
                complete_due=complete_due,
            )
            life.completed_at = None
            life._set_reminder("respond", at, respond_due, limits.respond)
            life._set_reminder("complete", at, complete_due, limits.complete)

    def _end(self, life: Life) -> Life:
        life.finish()
        return life


# --------------------------------------------------------------------------- what the sweep sees


def as_rows(life: Life, *, call_id: int, ids: _Ids) -> dict[type, list[tuple[Any, ...]]]:
    """The rows of `Call`, `Dispatch` and `CallEvent` of a played call."""
    cast = life.clocks.cast
    assert life.created_at is not None
    assert life.state_at is not None
    local = life.created_at.astimezone(CST)
    call = (
        call_id,
        f"371221{local:%y%m%d}{call_id:08d}",
        cast.county_id,
        "up",
        life.caller,
        None,
        _TITLES[call_id % len(_TITLES)],
        _DESCRIPTIONS[call_id % len(_DESCRIPTIONS)],
        cast.region_of[life.caller],
        "",
        None,
        None,
        life.item_id,
        life.item_id is None,
        False,
        life.urgency,
        life.state,
        life.state_at,
        cast.staff.get(life.caller),
        life.created_at,
        None,
        None,
        life.reopen_count,
        life.next_deadline(),
        life.accept_due,
        life.remind_at(),
        life.reminders,
    )
    dispatches = []
    d = life.dispatch
    if d is not None:
        dispatches.append(
            (
                ids.take(Dispatch),
                call_id,
                life.lead,
                DispatchRole.LEAD.value,
                True,
                d["at"],
                d["sign_due"],
                d["respond_due"],
                d["complete_due"],
                d["signed_at"],
                d["responded_at"],
                d["completed_at"],
                0,
                0,
            )
        )
    events = [
        (ids.take(CallEvent), call_id, seq, action, source, target, actor, org, party, at, data, "")
        for seq, (action, source, target, actor, org, party, at, data) in enumerate(
            life.events, start=1
        )
    ]
    return {Call: [call], Dispatch: dispatches, CallEvent: events}


def _models(life: Life) -> tuple[Call, Dispatch | None]:
    call = Call(
        id=0,
        number="",
        county_id=life.clocks.cast.county_id,
        state=life.state,
        state_changed_at=life.state_at,
        urgency=life.urgency,
        reopen_count=life.reopen_count,
        next_deadline=life.next_deadline(),
        accept_due=life.accept_due,
        remind_at=life.remind_at(),
        reminders=life.reminders,
    )
    d = life.dispatch
    lead = None
    if d is not None:
        lead = Dispatch(
            call_id=0,
            organisation_id=life.lead,
            role=DispatchRole.LEAD,
            active=True,
            dispatched_at=d["at"],
            **{k: d[k] for k in ("sign_due", "respond_due", "complete_due")},
            **{k: d[k] for k in ("signed_at", "responded_at", "completed_at")},
        )
    return call, lead


def owed(life: Life) -> tuple[str, ...]:
    """What the sweep owes the call at T: `supervision._plan` on the call as written."""
    clocks = life.clocks
    call, lead = _models(life)
    history = supervision._histories(
        (0, action, data, at)
        for action, _s, _t, _a, _o, _p, at, data in life.events
        if action in supervision._SWEEP_EVENTS
    )[0]
    plan = supervision._plan(
        call,
        lead,
        history,
        now=T,
        calendar=clocks.calendar,
        policy=clocks.policy,
        platform=clocks.cast.platform_id,
    )
    return tuple(action for action, _data in plan)


def candidate(life: Life) -> bool:
    """Whether `supervision._candidates` finds the call at T (its conditions, in Python)."""
    clocks = life.clocks
    state = life.state
    nd, ra = life.next_deadline(), life.remind_at()
    if nd is not None and nd < clocks.horizon and state in supervision.CARD_STATES:
        return True
    if ra is not None and ra <= T and state in deadlines.REMIND_STATES:
        return True
    if state == State.AWAITING_EVALUATION and life.state_at <= T - clocks.shortest:
        return True
    if life.reopen_count >= supervision.REOPEN_SUPERVISION_AT:
        if state == State.REOPENED:
            return True
        recent = any(
            a == "evaluate" and T - supervision.REOPEN_LOOKBACK < at <= T
            for a, _s, _t, _ac, _o, _p, at, _d in life.events
        )
        return recent and state in supervision.SUPERVISE_STATES
    return False


# --------------------------------------------------------------------------- the three sets


def _items(cast: Cast, clocks: Clocks, predicate: Callable[[Limits], bool]) -> list[int]:
    return [i for i, _d, _p, _a in cast.items if predicate(clocks.limits[("normal", i)])] or [
        cast.items[0][0]
    ]


class Sets:
    """Samples the filler, the due set and the near set."""

    def __init__(self, player: Player) -> None:
        self.player = player
        clocks = self.clocks = player.clocks
        cast = player.cast

        def long(limits: Limits) -> bool:
            return limits.complete.unit == "wd" and limits.complete.amount >= _FILLER_MIN_DAYS

        self.long_items = _items(cast, clocks, long)
        self.all_items = [i for i, _d, _p, _a in cast.items]
        # The working days on which a dispatch gives a completion deadline after the
        # horizon, per (urgency, item): the filler's dispatch days.
        self.filler_days: dict[tuple[str, int], list[date]] = {}
        days = clocks.working_days(40)
        for urgency in ("normal", "complex"):
            for item in self.long_items:
                limits = clocks.limits[(urgency, item)]
                fit = []
                for day in days:
                    noon = datetime.combine(day, datetime.min.time(), tzinfo=CST) + 11 * HOUR
                    if noon < T0 and clocks.dispatch(noon, limits)[2] >= clocks.horizon:
                        fit.append(day)
                if fit:
                    self.filler_days[(urgency, item)] = fit
        self.filler_keys = sorted(self.filler_days)

    # -- the filler: never a candidate at T

    def filler(self, rng: random.Random) -> Life:
        for _attempt in range(200):
            try:
                life = self._filler(rng)
            except Refused:
                continue
            if not candidate(life):
                return life
        raise RuntimeError("sweep bench: cannot sample a filler call")

    def _filler(self, rng: random.Random) -> Life:
        urgency, item = rng.choice(self.filler_keys)
        day = rng.choice(self.filler_days[(urgency, item)])
        dispatched = self.clocks.working_moment(rng, day)
        if dispatched > T0 - 2 * HOUR:
            raise Refused("too late for the filler")
        r = rng.random()
        late = rng.random() < _P_LATE
        if r < _P_WAITING:
            # Completed within the shortest evaluation window: not a candidate yet.
            completed = _step_time(T - self.clocks.shortest + rng.uniform(2, 23 * 60 - 62) * MINUTE)
            if completed <= dispatched + 30 * MINUTE or completed > T0:
                raise Refused("no room")
            plan = Plan(urgency, item, State.AWAITING_EVALUATION, dispatched=dispatched)
            plan.forced, plan.late = completed, late
            return self.player.play(rng, plan)
        reopens = 1 if r < _P_WAITING + _P_REOPENED else 0
        plan = Plan(urgency, item, State.IN_PROGRESS, dispatched=dispatched, reopens=reopens)
        plan.late = late
        return self.player.play(rng, plan)

    # -- the due set: owes exactly one kind of action (with its companions) at T

    def pool(
        self,
        keys: Sequence[tuple[str, int]],
        days: Sequence[date],
        predicate: Callable[[datetime, Limits], bool],
    ) -> list[tuple[list[tuple[str, int]], datetime]]:
        """Dispatch moments (a 5-minute grid of office hours on `days`) whose clocks
        satisfy `predicate`, with the (urgency, item) pairs sharing those limits: the
        samplers of the rare moments draw from it instead of waiting for luck."""
        by_limits: dict[Limits, list[tuple[str, int]]] = {}
        for key in keys:
            by_limits.setdefault(self.clocks.limits[key], []).append(key)
        (m0, m1), (a0, a1) = self.clocks.policy.hours.periods
        out = []
        for day in days:
            moments = []
            for start, end in ((m0, m1), (a0, a1)):
                at = datetime.combine(day, start, tzinfo=CST)
                stop = datetime.combine(day, end, tzinfo=CST)
                while at < stop:
                    moments.append(at + timedelta(seconds=STEP_SECOND))
                    at += 5 * MINUTE
            for limits, members in by_limits.items():
                out += [(members, at) for at in moments if at < T0 and predicate(at, limits)]
        if not out:
            raise RuntimeError("sweep bench: no dispatch moment fits a recipe")
        return out

    def recipes(self) -> list[tuple[str, str, Callable[[random.Random], Plan]]]:
        """(name, the action the recipe plants, a sampler of plans)."""
        clocks = self.clocks
        today = T.astimezone(CST).date()
        yesterday = clocks.working_days(4)[-2]
        recent = [d for d in clocks.working_days(30) if d < today]
        window = (T - T0).total_seconds() / 60

        def within(rng: random.Random, lo: float, hi: float) -> datetime:
            return _step_time(T - rng.uniform(lo, hi) * MINUTE)

        def item(rng: random.Random) -> int:
            return rng.choice(self.all_items)

        def long_item(rng: random.Random) -> int:
            return rng.choice(self.long_items)

        def in_window(moment: datetime) -> bool:
            return T0 < moment <= T

        keys = [(u, i) for u in ("normal", "complex") for i in self.all_items]
        days = [d for d in clocks.working_days(40) if d <= today][-17:]
        sign_remind = self.pool(
            [("normal", i) for i in self.all_items],
            [today],
            lambda at, lim: in_window(clocks.remind(at, clocks.dispatch(at, lim)[0], lim.sign)),
        )
        complete_remind = self.pool(
            keys,
            days,
            lambda at, lim: in_window(clocks.remind(at, clocks.dispatch(at, lim)[2], lim.complete)),
        )
        complete_yellow = self.pool(
            keys, days, lambda at, lim: in_window(clocks.yellow(clocks.dispatch(at, lim)[2]))
        )
        complete_red = self.pool(keys, days, lambda at, lim: T0 < clocks.dispatch(at, lim)[2] < T)

        def pooled(
            rng: random.Random,
            pool: list[tuple[list[tuple[str, int]], datetime]],
            target: str,
            bound: datetime = T0,
        ) -> Plan:
            members, at = rng.choice(pool)
            urgency, item_id = rng.choice(members)
            return Plan(urgency, item_id, target, dispatched=at, bound=bound)

        return [
            # The platform's clock: approved in the last hour (yellow at once), or an
            # urgent call not accepted and dispatched within its 30 minutes (red).
            (
                "accept: yellow card",
                YELLOW,
                lambda rng: Plan("normal", item(rng), State.APPROVED, approved=within(rng, 1, 59)),
            ),
            (
                "accept: red card",
                RED,
                lambda rng: Plan(
                    "urgent",
                    item(rng),
                    rng.choice((State.APPROVED, State.ACCEPTED)),
                    approved=within(rng, 31, 59),
                    bound=T - MINUTE,
                ),
            ),
            # Signing: dispatched in the last hour (yellow), half the clock run in the
            # last hour (reminder), the deadline passed in the last hour (red, order).
            (
                "sign: yellow card",
                YELLOW,
                lambda rng: Plan(
                    "normal", item(rng), State.DISPATCHED, dispatched=within(rng, 1, 59)
                ),
            ),
            (
                "sign: reminder",
                REMIND,
                lambda rng: pooled(rng, sign_remind, State.DISPATCHED),
            ),
            (
                "sign: red card",
                RED,
                lambda rng: Plan(
                    rng.choice(("urgent", "normal", "complex")),
                    item(rng),
                    State.DISPATCHED,
                    dispatched=clocks.working_moment(rng, rng.choice((yesterday, today))),
                ),
            ),
            # Responding: signed in the last hour (yellow at once), deadline passed.
            (
                "respond: yellow card",
                YELLOW,
                lambda rng: Plan(
                    "normal",
                    item(rng),
                    State.SIGNED,
                    dispatched=within(rng, 62, 180),
                    forced=within(rng, 1, 59),
                    bound=T - MINUTE,
                ),
            ),
            (
                "respond: red card",
                RED,
                lambda rng: Plan(
                    rng.choice(("normal", "complex")),
                    item(rng),
                    State.SIGNED,
                    dispatched=_step_time(T - DAY - rng.uniform(1, window - 1) * MINUTE),
                ),
            ),
            # Completing: the reminder, the yellow moment (17:30 the day before the
            # deadline), the deadline (17:30) in the last hour.
            (
                "complete: reminder",
                REMIND,
                lambda rng: pooled(rng, complete_remind, State.IN_PROGRESS),
            ),
            (
                "complete: yellow card",
                YELLOW,
                lambda rng: pooled(rng, complete_yellow, State.IN_PROGRESS),
            ),
            (
                "complete: red card",
                RED,
                lambda rng: pooled(rng, complete_red, State.IN_PROGRESS, bound=T - MINUTE),
            ),
            # Evaluation: the window ended in the last hour (closed without evaluation).
            (
                "evaluation: automatic close",
                AUTO_CLOSE,
                lambda rng: Plan(
                    rng.choice(("urgent", "normal", "complex")),
                    item(rng),
                    State.AWAITING_EVALUATION,
                    dispatched=clocks.working_moment(rng, rng.choice(recent[-8:])),
                    bound=T - MINUTE,
                ),
            ),
            # Reopened a second time in the last hour: a supervision order, whether the
            # lead has responded since (found by the events' (action, at) index) or not.
            (
                "reopened twice: supervision order",
                SUPERVISE,
                lambda rng: Plan(
                    "urgent",
                    item(rng),
                    rng.choice((State.IN_PROGRESS, State.REOPENED)),
                    dispatched=_step_time(T - rng.uniform(4, 8) * HOUR),
                    reopens=2,
                    forced=within(rng, 1, 50),
                    bound=T - MINUTE,
                ),
            ),
        ]

    def near_recipes(self) -> list[tuple[str, Callable[[random.Random], Plan]]]:
        clocks = self.clocks
        recent = [d for d in clocks.working_days(10) if d < T.astimezone(CST).date()]
        return [
            # An urgent call in progress, due within the horizon, carded and reminded.
            (
                "urgent in progress, carded already",
                lambda rng: Plan(
                    "urgent",
                    rng.choice(self.all_items),
                    State.IN_PROGRESS,
                    dispatched=_step_time(T0 - rng.uniform(2, 22) * HOUR),
                ),
            ),
            # Awaiting evaluation for longer than the shortest window, not yet closed.
            (
                "awaiting evaluation within the window",
                lambda rng: Plan(
                    rng.choice(("normal", "complex")),
                    rng.choice(self.all_items),
                    State.AWAITING_EVALUATION,
                    dispatched=clocks.working_moment(rng, rng.choice(recent[-3:])),
                    forced=_step_time(T - DAY - rng.uniform(1, 30) * HOUR),
                ),
            ),
        ]

    def special(self, *, due: int, near: int, seed: int) -> list[Life]:
        """The due set and the near set: `due` calls owing something at T (spread over
        the recipes), `near` candidates owing nothing."""
        rng = random.Random(f"xianghu-bench-sweep-due-{seed}")
        out: list[Life] = []
        recipes = self.recipes()
        for n, (name, action, sampler) in enumerate(recipes):
            count = due // len(recipes) + (1 if n < due % len(recipes) else 0)
            out += self._sample(rng, name, sampler, count, lambda owes, a=action: a in owes)
        nears = self.near_recipes()
        for n, (name, sampler) in enumerate(nears):
            count = near // len(nears) + (1 if n < near % len(nears) else 0)
            out += self._sample(rng, name, sampler, count, lambda owes: not owes)
        return out

    def _sample(
        self,
        rng: random.Random,
        name: str,
        sampler: Callable[[random.Random], Plan],
        count: int,
        wanted: Callable[[tuple[str, ...]], bool],
    ) -> list[Life]:
        out: list[Life] = []
        tries = 0
        while len(out) < count:
            tries += 1
            if tries > 2000 + 400 * count:
                raise RuntimeError(f"sweep bench: cannot sample {name!r} ({len(out)}/{count})")
            try:
                life = self.player.play(rng, sampler(rng))
            except Refused:
                continue
            owes = owed(life)
            if wanted(owes) and candidate(life):
                life.kind, life.expected = name, owes
                out.append(life)
        return out


# --------------------------------------------------------------------------- building


@dataclass
class BuildReport:
    open_calls: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # action → count at T
    due_calls: int = 0
    near_calls: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


TABLES = ((Call, CALL_COLUMNS), (Dispatch, DISPATCH_COLUMNS), (CallEvent, EVENT_COLUMNS))


def build(
    cast: Cast,
    *,
    open_calls: int,
    due: int,
    near: int,
    seed: int,
    chunk_size: int = 20_000,
    pool: int = 100_000,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Generate `open_calls` open calls — the due set (`due` calls), the near set
    (`near`) and filler — and write them, chunk by chunk. The due and near calls are
    spread evenly over the table (its pages), in the same order whatever the size."""
    check_columns()
    began = time.perf_counter()
    player = Player(cast)
    sets = Sets(player)
    specials = sets.special(due=due, near=near, seed=seed)
    if len(specials) > open_calls:
        raise ValueError(f"--open {open_calls} is smaller than the due and near sets")
    report = BuildReport(open_calls=open_calls, due_calls=due, near_calls=near)
    for life in specials:
        report.kinds[life.kind] = report.kinds.get(life.kind, 0) + 1
        for action in life.expected:
            report.expected[action] = report.expected.get(action, 0) + 1
    filler = open_calls - len(specials)
    # Special j goes after filler call number at[j]: evenly spread.
    at = [(2 * j + 1) * filler // (2 * len(specials)) for j in range(len(specials))]
    rng = random.Random(f"xianghu-bench-sweep-filler-{seed}")
    ids: _Ids = _next_ids()
    rows: dict[type, list[tuple[Any, ...]]] = {model: [] for model, _c in TABLES}
    states: Counter[str] = Counter()
    made = special = 0
    generate = write = 0.0
    t0 = time.perf_counter()

    def add(life: Life) -> None:
        for model, model_rows in as_rows(life, call_id=ids.take(Call), ids=ids).items():
            rows[model].extend(model_rows)
        states[life.state] += 1

    def flush() -> None:
        nonlocal generate, write, t0
        t1 = time.perf_counter()
        with transaction.atomic():
            for model, columns in TABLES:
                write_rows(model, columns, rows[model])
                name = model.__name__
                report.rows[name] = report.rows.get(name, 0) + len(rows[model])
                rows[model] = []
        t2 = time.perf_counter()
        generate += t1 - t0
        write += t2 - t1
        t0 = t2
        if progress is not None:
            done = made + special
            rate = done / (t2 - began)
            progress(
                f"{done:>9,} / {open_calls:,} calls  ({rate:,.0f} calls/s, "
                f"{(open_calls - done) / rate:,.0f} s to go)"
            )

    # Playing a call costs about as much as writing it: past `pool` calls the filler's
    # lives are played once and written again under new ids (their clocks repeat; the
    # sweep never reads them, it only has to pass them by).
    played: list[Life] = []
    while made < filler or special < len(specials):
        while special < len(specials) and at[special] <= made:
            add(specials[special])
            special += 1
        if made < filler:
            if len(played) < pool:
                played.append(sets.filler(rng))
                add(played[-1])
            else:
                add(played[rng.randrange(pool)])
            made += 1
        if len(rows[Call]) >= chunk_size:
            flush()
    flush()
    # COPY wrote the ids: the sweep inserts events after them.
    sync_sequences([model._meta.db_table for model, _columns in TABLES])
    report.states = dict(sorted(states.items()))
    report.seconds = {"generate": generate, "write": write}
    return report


# --------------------------------------------------------------------------- the check


@dataclass
class SampleReport:
    calls: int
    events: int


def check_sample(*, size: int, seed: int = 0) -> SampleReport:
    """Check a sample of the written calls against the product: `workflow.replay` of the
    log gives the state; `deadlines.set_dispatch_clocks` gives the dispatch's deadlines;
    `deadlines.refresh_call_clocks` leaves `next_deadline`, `remind_at`, `accept_due` and
    the reminder moments as written. Raises AssertionError on a difference."""
    top = Call.objects.aggregate(top=Max("pk"))["top"] or 0
    rng = random.Random(seed)
    ids = sorted({rng.randint(1, top) for _ in range(size)})
    calls = Call.objects.filter(pk__in=ids).order_by("pk")
    leads = {
        d.call_id: d
        for d in Dispatch.objects.filter(call__in=calls, role=DispatchRole.LEAD, active=True)
    }
    events: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    first_dispatch: dict[int, datetime] = {}
    reopened: set[int] = set()
    count = 0
    for call_id, action, data, at in (
        CallEvent.objects.filter(call__in=calls)
        .order_by("call_id", "seq")
        .values_list("call_id", "action", "data", "at")
    ):
        events.setdefault(call_id, []).append((action, data))
        if action == "dispatch":
            first_dispatch[call_id] = at
        if action == "evaluate":
            reopened.add(call_id)
        count += 1
    checked = 0
    for call in calls.select_related("item"):
        assert replay(events[call.pk]) == call.state, f"call {call.pk}: replay differs"
        lead = leads.get(call.pk)
        if lead is not None and call.pk not in reopened:
            fresh = Dispatch(call=call, organisation_id=lead.organisation_id)
            deadlines.set_dispatch_clocks(dispatch=fresh, call=call, at=lead.dispatched_at)
            for name in ("sign_due", "respond_due", "complete_due"):
                assert getattr(fresh, name) == getattr(lead, name), f"call {call.pk}: {name}"
        copy = Call.objects.get(pk=call.pk)
        deadlines.refresh_call_clocks(copy, from_state=copy.state, at=T0)
        for name in ("next_deadline", "remind_at", "accept_due", "reminders"):
            assert getattr(copy, name) == getattr(call, name), (
                f"call {call.pk}: {name} {getattr(call, name)!r} but refresh_call_clocks "
                f"gives {getattr(copy, name)!r}"
            )
        checked += 1
    return SampleReport(calls=checked, events=count)


# --------------------------------------------------------------------------- measuring


@dataclass
class Counts:
    """What one sweep did to the database."""

    queries: int = 0
    writes: int = 0  # INSERT, UPDATE, DELETE statements
    by_kind: Counter[str] = field(default_factory=Counter)
    statements: list[str] = field(default_factory=list)


@contextmanager
def counting(*, keep: bool = False) -> Iterator[Counts]:
    """Count the statements run (and keep their SQL with `keep`), cheaply enough to stay
    on while timing."""
    counts = Counts()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counts.queries += 1
        verb = sql.lstrip().split(None, 1)[0].upper()
        counts.by_kind[verb] += 1
        if verb in ("INSERT", "UPDATE", "DELETE"):
            counts.writes += 1
        if keep:
            counts.statements.append(sql if params is None else _bound(sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counts


def _bound(sql: str, params: Any) -> str:
    if connection.vendor != "postgresql":
        return sql
    return connection.ops.compose_sql(sql, params)


STAT_COLUMNS = ("seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch")
BIG = (Call, Dispatch, CallEvent)


def xact_stats() -> dict[str, dict[str, int]]:
    """This transaction's scans of the big tables so far (PostgreSQL; empty elsewhere)."""
    if connection.vendor != "postgresql":
        return {}
    names = [m._meta.db_table for m in BIG]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, seq_scan, seq_tup_read, COALESCE(idx_scan, 0), "
            "COALESCE(idx_tup_fetch, 0), n_tup_ins, n_tup_upd, n_tup_del "
            "FROM pg_stat_xact_user_tables WHERE relname = ANY(%s)",
            [names],
        )
        out = {}
        for name, *values in cursor.fetchall():
            out[name] = dict(
                zip(
                    (*STAT_COLUMNS, "ins", "upd", "del"),
                    (int(v or 0) for v in values),
                    strict=True,
                )
            )
    return out


def stats_delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    return {
        table: {k: after[table][k] - before.get(table, {}).get(k, 0) for k in after[table]}
        for table in after
    }


@dataclass
class Round:
    first: float
    idle: float
    first_counts: Counts
    idle_counts: Counts
    first_report: supervision.SweepReport
    idle_report: supervision.SweepReport
    first_stats: dict[str, dict[str, int]]
    idle_stats: dict[str, dict[str, int]]


class Mismatch(AssertionError):
    pass


def sweep_round_in_transaction(*, expected: dict[str, int], keep: bool = False) -> Round:
    """The first sweep at T (issues the due set's actions) and the idle one (again at T:
    must write nothing), timed and counted, in the current transaction."""
    s0 = xact_stats()
    with counting(keep=keep) as first_counts:
        t0 = time.perf_counter()
        first = supervision.run_sweep(now=T)
        t1 = time.perf_counter()
    s1 = xact_stats()
    with counting(keep=keep) as idle_counts:
        t2 = time.perf_counter()
        idle = supervision.run_sweep(now=T)
        t3 = time.perf_counter()
    s2 = xact_stats()
    result = Round(
        first=t1 - t0,
        idle=t3 - t2,
        first_counts=first_counts,
        idle_counts=idle_counts,
        first_report=first,
        idle_report=idle,
        first_stats=stats_delta(s0, s1),
        idle_stats=stats_delta(s1, s2),
    )
    check_round(result, expected=expected)
    return result


def sweep_round(*, expected: dict[str, int], keep: bool = False) -> Round:
    """One round inside a transaction that is rolled back, so that every round does the
    same work on the same data. The after-commit effects (notifications, webhooks) never
    run: they are dropped with the transaction."""
    with transaction.atomic():
        result = sweep_round_in_transaction(expected=expected, keep=keep)
        transaction.set_rollback(True)
    return result


def issued(report: supervision.SweepReport) -> dict[str, int]:
    return {a: getattr(report, f) for a, f in REPORT_FIELDS.items() if getattr(report, f)}


def check_round(result: Round, *, expected: dict[str, int]) -> None:
    """The first sweep issues exactly the planted actions; the idle one writes nothing."""
    got = issued(result.first_report)
    if got != {a: n for a, n in expected.items() if n}:
        raise Mismatch(f"the sweep issued {got}, the due set plants {expected}")
    if result.first_report.errors:
        raise Mismatch(f"the sweep skipped actions: {result.first_report.problems[:5]}")
    if result.idle_report.total or result.idle_report.errors:
        raise Mismatch(f"the idle sweep acted: {issued(result.idle_report)}")
    if result.idle_counts.writes:
        raise Mismatch(f"the idle sweep wrote: {dict(result.idle_counts.by_kind)}")
    for table, values in result.idle_stats.items():
        if values["ins"] or values["upd"] or values["del"]:
            raise Mismatch(f"the idle sweep changed {table}: {values}")


@dataclass
class Timing:
    label: str
    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


def naive_scan() -> int:
    """What a sweep that looked at every open call would read at least: the clock columns
    of each open call, fetched (one query; the sweep itself reads only candidates)."""
    sql = (
        "SELECT id, state, next_deadline, remind_at, accept_due FROM calls_call "
        "WHERE state = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(str(state) for state in OPEN)])
        return len(cursor.fetchall())


def due_index_count() -> int:
    """The bare index query the sweep's candidates start from: calls whose running
    deadline lies before the horizon (`call_due_idx`)."""
    calendar = HolidayCalendar.load(T.year - 1, T.year + 1)
    return Call.objects.filter(
        next_deadline__lt=supervision.due_horizon(T, calendar=calendar)
    ).count()


def is_read(sql: str) -> bool:
    """A statement that only reads (a query, a union of queries; no row locks)."""
    head = sql.lstrip().lstrip("(").lstrip()
    return head[:6].upper() in ("SELECT", "WITH ") and "FOR UPDATE" not in sql.upper()


def explain(statements: Sequence[str]) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of read-only statements (PostgreSQL): per statement the
    pages touched, the rows the plan read from the big tables, and any sequential scan
    of them."""
    big = {m._meta.db_table for m in BIG}
    out = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not is_read(sql):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            seq: list[str] = []
            nodes: list[str] = []
            read = [0]

            def walk(
                node: dict[str, Any],
                seq: list[str] = seq,
                nodes: list[str] = nodes,
                read: list[int] = read,
            ) -> None:
                relation = node.get("Relation Name")
                if relation:
                    index = node.get("Index Name")
                    nodes.append(
                        f"{node['Node Type']} on {relation}" + (f" ({index})" if index else "")
                    )
                if relation in big:
                    # Rows the scan read: those it returned and those its filter dropped.
                    loops = int(node.get("Actual Loops", 1))
                    kept = int(node.get("Actual Rows", 0))
                    dropped = int(node.get("Rows Removed by Filter", 0)) + int(
                        node.get("Rows Removed by Index Recheck", 0)
                    )
                    read[0] += (kept + dropped) * loops
                    if node.get("Node Type") == "Seq Scan":
                        seq.append(f"{relation} ({(kept + dropped) * loops:,} rows read)")
                for child in node.get("Plans", []):
                    walk(child)

            walk(plan)
            out.append(
                {
                    "sql": sql,
                    "pages": int(plan.get("Shared Hit Blocks", 0))
                    + int(plan.get("Shared Read Blocks", 0)),
                    "seq_scans": seq,
                    "nodes": nodes,
                    "rows": read[0],
                    "ms": float(plan.get("Actual Total Time", 0.0)),
                }
            )
    return out


def vacuum() -> None:
    """Clear what the rolled-back rounds left (dead rows), between rounds (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in BIG:
            cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")


def seq_scan_rows(stats: dict[str, dict[str, int]]) -> int:
    return sum(v["seq_tup_read"] for v in stats.values())


def index_rows(stats: dict[str, dict[str, int]]) -> int:
    return sum(v["idx_tup_fetch"] for v in stats.values())


def seq_scans(stats: dict[str, dict[str, int]]) -> int:
    return sum(v["seq_scan"] for v in stats.values())


# The statements of an idle sweep, named for the report (by what their WHERE reads).
_LABELS = (
    ("calls_urgencylimit", "evaluation windows (`UrgencyLimit`)"),
    ("calls_timepolicy", "time policies"),
    ("core_holiday", "holiday calendar"),
    ("calls_callevent", "candidates: reopened twice (`state` or events' `(action, at)`)"),
    ("'awaiting_evaluation'", "candidates: awaiting evaluation (`state`, `state_changed_at`)"),
    ('"next_deadline" <', "candidates: deadlines and reminders (`next_deadline`, `remind_at`)"),
    ("calls_dispatch", "lead dispatches of the candidates"),
    ("regions_organisation", "platform centres"),
)


def label(sql: str) -> str:
    head, _sep, where = sql.partition(" WHERE ")
    for needle, name in _LABELS:
        if needle in where or (needle in head and "calls_call" not in needle):
            if needle == "calls_callevent" and 'FROM "calls_callevent"' in head:
                return "events of the candidates (what was issued)"
            return name
    return " ".join(sql.split())[:60]
