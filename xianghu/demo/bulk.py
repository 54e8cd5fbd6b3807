"""Bulk call histories: plays the lives of many calls in memory and writes their rows
straight into the tables (PostgreSQL `COPY`; `bulk_create` elsewhere), with the
assessment roll-up derived by the assessment app's own fold.

Used by the province-scale demo (`demo_county --scale province`, `demo/province.py`) and
by the benchmarks (`bench/assessment_ranking_lib.py`, docs/benchmarks.md). Why not through
the workflow services: a call driven through `calls.services.call_transition` costs a
few dozen queries per event, so a million calls would take many hours. The generator
plays each call's life as the services would record it (legal transitions of
`calls.workflow`, the event data the services write: deadlines, leads, extensions,
evaluations, cards) and derives `DispatchFact`, `EventFact` and `SubmissionFact` with
`assessment.facts.facts_from_events` on the very events it writes. The benchmark checks
a sample against the live refresh path (`rollup.refresh_calls`).

Simplifications (the data are for load and for the figures, not for deadline
arithmetic): the clocks are clock-time windows per urgency, not the county's working-time
policy; no automatic reminders are generated.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.db import connection, models, transaction

from xianghu.assessment.access import SUBJECT_KINDS
from xianghu.assessment.facts import (
    CallInfo,
    EpisodeRow,
    EventInfo,
    EventRow,
    OrgInfo,
    SubmissionRow,
    facts_from_events,
)
from xianghu.assessment.models import (
    DispatchFact,
    EventFact,
    PeriodicEvaluation,
    SubmissionFact,
)
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import GRADE_SCORES
from xianghu.calls.models import Attachment, Call, CallEvent, Dispatch
from xianghu.calls.workflow import BY_ACTION, CREATE, State
from xianghu.catalog.models import Item, ItemParty, PartyRole, PrimaryLevel, VersionStatus
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving time
#: The calls are made during 2025; the benchmark's "now" is two weeks after the year.
YEAR_START = datetime(2025, 1, 1, tzinfo=CST)
DAYS = 365
NOW = datetime(2026, 1, 15, tzinfo=CST)
NOW_TS = int(NOW.timestamp())
START_TS = int(YEAR_START.timestamp())

MINUTE, HOUR, DAY = 60, 3600, 86400

#: Clock windows (seconds of clock time, a simplification of the working-time limits of
#: the county's time policy: the benchmark times aggregations, not deadline arithmetic).
WINDOWS: dict[str, tuple[int, int, int]] = {
    # urgency: (sign, respond, complete)
    "urgent": (30 * MINUTE, 2 * HOUR, 1 * DAY),
    "normal": (2 * HOUR, 1 * DAY, 7 * DAY),
    "complex": (4 * HOUR, 2 * DAY, 21 * DAY),
}
URGENCIES = (("urgent", 0.10), ("normal", 0.75), ("complex", 0.15))
#: The platform's own clock (accept and dispatch within): the default limits, 30 minutes
#: for an urgent call and half a working day (taken as four clock hours) otherwise.
ACCEPT_WINDOWS = {"urgent": 30 * MINUTE, "normal": 4 * HOUR, "complex": 4 * HOUR}

P_DOWN = 0.15  # two-way calls: a county department calls a township (事呼双应)

# ---- the cast: the demo county's organisations, people and list items


@dataclass
class Cast:
    """What the generator needs of the county: subjects, people and list items."""

    county_id: int
    county_code: str
    platform_id: int
    operator_id: int | None
    departments: list[int]
    townships: list[int]
    township_weights: list[float]
    region_of: dict[int, int]  # township organisation → its township region
    agencies: dict[tuple[int, int], int]  # (department, host township region) → agency
    orgs: dict[int, OrgInfo]  # every assessed subject, for the fold
    staff: dict[int, int | None]  # organisation → a handler or reporter
    leaders: dict[int, int | None]  # organisation → a leader
    items: list[tuple[int, int, int, tuple[int, ...]]]  # (item, domain, primary, assisting)
    township_items: list[tuple[int, int]]  # (item, domain) of the townships' own duties
    paces: dict[int, Pace] = field(default_factory=dict)
    reject_rate: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Pace:
    """How an organisation handles its calls (drawn once per organisation)."""

    sign_late: float
    respond_late: float
    complete_late: float
    unsatisfied: float
    basically: float
    auto_close: float
    returns: float
    extension: float
    evidence: float


def build_county(*, seed: int) -> Region:
    """The fictional demo county 清河县 with its published lists (idempotent)."""
    from xianghu.demo.catalog import build_demo_lists
    from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county

    build_demo_county(seed=seed)
    county = Region.objects.get(code=COUNTY_CODE)
    build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
    return county


def load_cast(*, county: Region, seed: int) -> Cast:
    """The county's subjects, people and items, and a pace per subject drawn from `seed`."""
    orgs = list(
        Organisation.objects.filter(county=county, kind__in=SUBJECT_KINDS, is_active=True)
        .order_by("pk")
        .values_list("pk", "kind", "township_id", "parent_id")
    )
    infos = {pk: OrgInfo(pk, kind, township, parent) for pk, kind, township, parent in orgs}
    departments = [pk for pk, kind, _t, _p in orgs if kind == OrgKind.DEPARTMENT]
    townships = [pk for pk, kind, _t, _p in orgs if kind == OrgKind.TOWNSHIP]
    agencies = {
        (parent, township): pk
        for pk, kind, township, parent in orgs
        if kind == OrgKind.STATIONED_AGENCY and parent is not None and township is not None
    }
    platform = Organisation.objects.get(county=county, kind=OrgKind.PLATFORM_CENTRE)
    staff: dict[int, int | None] = {}
    leaders: dict[int, int | None] = {}
    for org_id, user_id, role in (
        Membership.objects.filter(organisation__county=county)
        .values_list("organisation_id", "user_id", "role")
        .order_by("pk")
    ):
        if role in (Role.TOWNSHIP_LEADER, Role.DEPARTMENT_LEADER):
            leaders.setdefault(org_id, user_id)
        else:
            staff.setdefault(org_id, user_id)
    operator = staff.get(platform.pk)
    # The items of the county's list: those a county department is primary for, with
    # the departments that assist; and the townships' own duties (two-way calls).
    county_items = Item.objects.filter(
        version__catalogue__region=county, version__status=VersionStatus.PUBLISHED
    )
    parties: dict[int, dict[str, list[int]]] = {}
    for item_id, role, org_id in (
        ItemParty.objects.filter(item__in=county_items, organisation__isnull=False)
        .order_by("item_id", "order", "pk")
        .values_list("item_id", "role", "organisation_id")
    ):
        parties.setdefault(item_id, {}).setdefault(role, []).append(org_id)
    items: list[tuple[int, int, int, tuple[int, ...]]] = []
    township_items: list[tuple[int, int]] = []
    dept_set = set(departments)
    for item_id, domain_id, level in county_items.order_by("pk").values_list(
        "pk", "domain_id", "primary_level"
    ):
        p = parties.get(item_id, {})
        primary = [o for o in p.get(PartyRole.PRIMARY, []) if o in dept_set]
        if level == PrimaryLevel.TOWNSHIP:
            township_items.append((item_id, domain_id))
        elif primary:
            assisting = tuple(
                o for o in p.get(PartyRole.ASSISTING, []) if o in dept_set and o != primary[0]
            )
            items.append((item_id, domain_id, primary[0], assisting))
    rng = random.Random(f"xianghu-bench-cast-{seed}")
    cast = Cast(
        county_id=county.pk,
        county_code=county.code,
        platform_id=platform.pk,
        operator_id=operator,
        departments=departments,
        townships=townships,
        township_weights=[rng.uniform(0.5, 2.0) for _ in townships],
        region_of={pk: infos[pk].township_id or 0 for pk in townships},
        agencies=agencies,
        orgs=infos,
        staff=staff,
        leaders=leaders,
        items=items,
        township_items=township_items,
    )
    for pk in infos:
        good = rng.random()  # one quality factor per organisation: rankings spread out
        cast.paces[pk] = Pace(
            sign_late=0.02 + 0.18 * (1 - good) * rng.random(),
            respond_late=0.02 + 0.2 * (1 - good) * rng.random(),
            complete_late=0.03 + 0.3 * (1 - good) * rng.random(),
            unsatisfied=0.01 + 0.08 * (1 - good) * rng.random(),
            basically=0.05 + 0.15 * rng.random(),
            auto_close=0.02 + 0.06 * rng.random(),
            returns=0.01 + 0.05 * rng.random(),
            extension=0.02 + 0.08 * rng.random(),
            evidence=0.5 + 0.45 * good,
        )
    for pk in townships:
        cast.reject_rate[pk] = 0.02 + 0.1 * rng.random()
    return cast


# ---- the rows of one table, as the generator makes them

CALL_COLUMNS = (
    "id",
    "number",
    "county_id",
    "direction",
    "caller_id",
    "callee_id",
    "title",
    "description",
    "location_id",
    "address",
    "latitude",
    "longitude",
    "item_id",
    "out_of_list",
    "assist_only",
    "urgency",
    "state",
    "state_changed_at",
    "created_by_id",
    "created_at",
    "idempotency_key",
    "merged_into_id",
    "reopen_count",
    "next_deadline",
    "accept_due",
    "remind_at",
    "reminders",
)
DISPATCH_COLUMNS = (
    "id",
    "call_id",
    "organisation_id",
    "role",
    "active",
    "dispatched_at",
    "sign_due",
    "respond_due",
    "complete_due",
    "signed_at",
    "responded_at",
    "completed_at",
    "extension_count",
    "extension_days",
)
EVENT_COLUMNS = (
    "id",
    "call_id",
    "seq",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "actor_org_id",
    "party",
    "at",
    "data",
    "idempotency_key",
)
ATTACHMENT_COLUMNS = (
    "id",
    "call_id",
    "event_id",
    "uploaded_by_id",
    "organisation_id",
    "original_name",
    "content_type",
    "size",
    "sha256",
    "file",
    "created_at",
)
EPISODE_FIELDS = tuple(f.name for f in fields(EpisodeRow))
EVENT_FACT_FIELDS = tuple(f.name for f in fields(EventRow))
SUBMISSION_FIELDS = tuple(f.name for f in fields(SubmissionRow))

#: Every table the generator writes, with its columns (model attribute names).
TABLES: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (Call, CALL_COLUMNS),
    (Dispatch, DISPATCH_COLUMNS),
    (CallEvent, EVENT_COLUMNS),
    (Attachment, ATTACHMENT_COLUMNS),
    (DispatchFact, ("id", *EPISODE_FIELDS)),
    (EventFact, ("id", *EVENT_FACT_FIELDS)),
    (SubmissionFact, ("id", *SUBMISSION_FIELDS)),
)


def check_columns() -> None:
    """The generator writes every column of its tables: a model that gained a field the
    generator does not know fails here, with its name, rather than deep in a COPY."""
    for model, columns in TABLES:
        attnames = {f.attname for f in model._meta.concrete_fields}
        if set(columns) != attnames:
            missing, unknown = attnames - set(columns), set(columns) - attnames
            raise RuntimeError(
                f"bench generator out of date for {model.__name__}: "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )


@dataclass
class Chunk:
    """The rows of a batch of calls, per table, in the order of `TABLES`."""

    rows: dict[type[models.Model], list[tuple[Any, ...]]] = field(
        default_factory=lambda: {model: [] for model, _ in TABLES}
    )

    def __len__(self) -> int:
        return len(self.rows[Call])


# ---- the generator


class _Stop(Exception):
    """The call's next event would happen after the benchmark's "now": its log ends."""


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, CST).isoformat()


_episode_values = attrgetter(*EPISODE_FIELDS)
_event_fact_values = attrgetter(*EVENT_FACT_FIELDS)
_submission_values = attrgetter(*SUBMISSION_FIELDS)


@dataclass
class _Ids:
    """The next id of every table (the generator assigns them, COPY writes them)."""

    next: dict[type[models.Model], int]

    def take(self, model: type[models.Model]) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


class Generator:
    """Plays the life of calls, chunk by chunk, deterministically from a seed."""

    def __init__(
        self,
        cast: Cast,
        *,
        seed: int,
        total: int,
        ids: _Ids,
        start: datetime = YEAR_START,
        now: datetime = NOW,
        events: bool = True,
    ) -> None:
        self.cast = cast
        # Without `events`, only the calls and their dispatches are written (the lists'
        # load tests read nothing else): no events, photos or roll-up, three times faster.
        self.with_events = events
        # Calls are made between `start` and `now` less two weeks (the last ones are
        # still open at "now"); no event happens after `now`.
        self.start_ts = int(start.timestamp())
        self.now_ts = int(now.timestamp())
        self.days = max(1, (self.now_ts - self.start_ts) // DAY - 14)
        self.total = total
        self.ids = ids
        self.rng = random.Random(f"xianghu-bench-calls-{seed}")
        self.made = 0
        self.first_call_id = ids.next[Call]
        self.stats: dict[str, int] = {}

    # -- the calls of one chunk

    def chunk(self, size: int) -> Chunk:
        out = Chunk()
        end = min(self.total, self.made + size)
        # Calls come in order of time, as in a real database (the tables' physical order
        # follows it): the creation moments of the chunk, sorted.
        moments = sorted(self._moment(i) for i in range(self.made, end))
        for created in moments:
            self._call(out, created)
        self.made = end
        return out

    def _moment(self, i: int) -> int:
        day = i * self.days // self.total
        return self.start_ts + day * DAY + 8 * HOUR + self.rng.randrange(10 * HOUR)

    # -- one call

    def _call(self, out: Chunk, created: int) -> None:
        rng, cast = self.rng, self.cast
        call_id = self.ids.take(Call)
        self.call_id = call_id
        self.out = out
        self.events: list[EventInfo] = []
        self.state = ""
        self.state_at = created
        self.last = created
        self.reopen_count = 0
        self.dispatches: list[dict[str, Any]] = []
        self.merged_into: int | None = None
        self.accept_due: int | None = None
        urgency = _pick(rng, URGENCIES)
        self.windows = WINDOWS[urgency]
        self.accept_window = ACCEPT_WINDOWS[urgency]
        up = rng.random() >= P_DOWN
        item_id = domain_id = None
        assisting: tuple[int, ...] = ()
        if up:
            caller = rng.choices(cast.townships, cast.township_weights)[0]
            callee = None
            location = cast.region_of[caller]
            if cast.items and rng.random() < 0.9:
                item_id, domain_id, lead, item_assisting = rng.choice(cast.items)
                if item_assisting and rng.random() < 0.3:
                    assisting = (rng.choice(item_assisting),)
            else:
                lead = rng.choice(cast.departments)
            agency = cast.agencies.get((lead, location))
            if agency is not None and rng.random() < 0.7:
                lead = agency  # the department's agency in the caller's township
        else:
            caller = rng.choice(cast.departments)
            callee = rng.choices(cast.townships, cast.township_weights)[0]
            location = cast.region_of[callee]
            lead = callee
            if cast.township_items and rng.random() < 0.6:
                item_id, domain_id = rng.choice(cast.township_items)
        caller_info = cast.orgs[caller]
        self.caller, self.up = caller, up
        with contextlib.suppress(_Stop):
            self._life(created, lead, assisting)
        state = self.state
        lead_row = next((d for d in self.dispatches if d["active"] and d["role"] == "lead"), None)
        next_deadline = None
        if lead_row is not None:
            next_deadline = {
                State.DISPATCHED: lead_row["sign_due"],
                State.SIGNED: lead_row["respond_due"],
                State.REOPENED: lead_row["respond_due"],
                State.IN_PROGRESS: lead_row["complete_due"],
            }.get(State(state))
        local = datetime.fromtimestamp(created, CST)
        out.rows[Call].append(
            (
                call_id,
                f"{cast.county_code}{local:%y%m%d}{call_id:06d}",
                cast.county_id,
                "up" if up else "down",
                caller,
                callee,
                _TITLES[call_id % len(_TITLES)],
                _DESCRIPTIONS[call_id % len(_DESCRIPTIONS)],
                location,
                "",
                None,
                None,
                item_id,
                item_id is None,
                not up and item_id is not None,
                urgency,
                state,
                _dt(self.state_at),
                cast.staff.get(caller),
                _dt(created),
                None,
                self.merged_into,
                self.reopen_count,
                _dt(next_deadline) if next_deadline else None,
                _dt(self.accept_due) if self.accept_due else None,
                None,  # no automatic reminder is pending (none is generated)
                {},
            )
        )
        for d in self.dispatches:
            out.rows[Dispatch].append(
                (
                    self.ids.take(Dispatch),
                    call_id,
                    d["org"],
                    d["role"],
                    d["active"],
                    _dt(d["at"]),
                    *(_dt(d[k]) if d[k] else None for k in _DISPATCH_TIMES),
                    d["extension_count"],
                    d["extension_days"],
                )
            )
        self.stats[state] = self.stats.get(state, 0) + 1
        if not self.with_events:
            return
        # The roll-up, by the assessment app's own fold over exactly these events.
        info = CallInfo(
            id=call_id,
            county_id=cast.county_id,
            direction="up" if up else "down",
            caller_id=caller,
            caller_kind=caller_info.kind,
            caller_township_id=caller_info.township_id,
            item_id=item_id,
            domain_id=domain_id,
            urgency=urgency,
        )
        facts = facts_from_events(info, self.events, organisations=cast.orgs)
        ids = self.ids
        out.rows[DispatchFact].extend(
            (ids.take(DispatchFact), *_episode_values(r)) for r in facts.episodes
        )
        out.rows[EventFact].extend(
            (ids.take(EventFact), *_event_fact_values(r)) for r in facts.events
        )
        if facts.submission is not None:
            out.rows[SubmissionFact].append(
                (ids.take(SubmissionFact), *_submission_values(facts.submission))
            )

    # -- events

    def _event(
        self,
        action: str,
        at: int,
        data: dict[str, Any],
        party: str,
        org: int | None,
        *,
        photos: int = 0,
    ) -> int:
        """Append an event (a legal transition from the current state); its time."""
        at = max(at, self.last)
        if at > self.now_ts:
            raise _Stop
        if action == CREATE:
            source, target = "", str(State.DRAFT)
        else:
            transition = BY_ACTION[action]
            if self.state not in transition.sources:
                raise AssertionError(f"bench generator: {action} is not allowed in {self.state}")
            source, target = self.state, transition.next_state(self.state, data)
        if target != source:
            self.state_at = at
        self.state = target
        self.last = at
        seq = len(self.events) + 1
        if not self.with_events:
            self.events.append(EventInfo(seq=seq, action=action, at=_dt(at), data=data))
            return at
        event_id = self.ids.take(CallEvent)
        cast = self.cast
        if party == "system":
            actor = None
        elif party in ("caller_leader",):
            actor = cast.leaders.get(org or 0)
        elif party == "platform":
            actor = cast.operator_id
        else:
            actor = cast.staff.get(org or 0)
        self.out.rows[CallEvent].append(
            (
                event_id,
                self.call_id,
                seq,
                action,
                source,
                target,
                actor,
                org,
                party,
                _dt(at),
                data,
                "",
            )
        )
        for n in range(photos):
            self.out.rows[Attachment].append(
                (
                    self.ids.take(Attachment),
                    self.call_id,
                    event_id,
                    actor,
                    org,
                    f"IMG_{event_id:08d}_{n}.jpg",
                    "image/jpeg",
                    180_000 + (event_id * 7919 + n) % 400_000,
                    f"{event_id:016x}{n:048x}",
                    f"calls/bench/{self.call_id}/{event_id}_{n}.jpg",
                    _dt(at),
                )
            )
        self.events.append(EventInfo(seq=seq, action=action, at=_dt(at), data=data, photos=photos))
        return at

    def _dispatch_rows(self, lead: int, assisting: Sequence[int], at: int) -> dict[str, Any]:
        for d in self.dispatches:
            d["active"] = False
        sign, respond, complete = self.windows
        rows = []
        for org, role in [(lead, "lead"), *((a, "assisting") for a in assisting)]:
            row = {
                "org": org,
                "role": role,
                "active": True,
                "at": at,
                "sign_due": at + sign,
                "respond_due": at + respond,
                "complete_due": at + complete,
                "signed_at": None,
                "responded_at": None,
                "completed_at": None,
                "extension_count": 0,
                "extension_days": 0,
            }
            self.dispatches.append(row)
            rows.append(row)
        return rows[0]

    def _send(self, action: str, at: int, lead: int, assisting: Sequence[int]) -> dict[str, Any]:
        """A dispatch or a ruling: the clocks of the lead start."""
        sign, respond, complete = self.windows
        data = {
            "sign_due": _iso(at + sign),
            "respond_due": _iso(at + respond),
            "complete_due": _iso(at + complete),
            "lead": lead,
            "assisting": list(assisting),
            "changed_from_suggestion": False,
        }
        if action == "rule":
            data["reason"] = "经研判，仍由原单位承办。"
        at = self._event(action, at, data, "platform", self.cast.platform_id)
        return self._dispatch_rows(lead, assisting, at)

    def _cards(self, clock: str, start: int, due: int, taken: int, lead: int) -> None:
        """The supervision sweep's cards on a step taken at `taken` (possibly after now):
        a yellow card when the step is still open near its deadline, a red card and a
        supervision order (督办单) once the deadline has passed."""
        base = {"clock": clock, "deadline": _iso(due), "organisation": lead}
        yellow = due - (due - start) // 5
        if taken > yellow:
            self._event("yellow_card", yellow, {**base, "yellow_at": _iso(yellow)}, "system", None)
        red = due + MINUTE
        if taken > red:
            self._event("red_card", red, base, "system", None)
            self._event("supervise", red, {**base, "reason": "overdue"}, "system", None)

    # -- the life of a call

    def _life(self, created: int, lead: int, assisting: tuple[int, ...]) -> None:
        rng, cast = self.rng, self.cast
        caller = self.caller
        t = self._event(CREATE, created, {}, "caller", caller)
        t = self._event("submit", t + rng.randrange(5 * MINUTE, HOUR), {}, "caller", caller)
        if rng.random() < 0.02:
            t = self._event(
                "send_back",
                t + rng.randrange(30 * MINUTE, 4 * HOUR),
                {"reason": "请补充现场照片和具体位置。"},
                "caller_leader",
                caller,
            )
            t = self._event("submit", t + rng.randrange(HOUR, 4 * HOUR), {}, "caller", caller)
        if rng.random() < 0.01:
            self._event(
                "withdraw",
                t + rng.randrange(HOUR, DAY),
                {"reason": "问题已自行解决。"},
                "caller",
                caller,
            )
            return
        t = self._event(
            "approve", t + rng.randrange(10 * MINUTE, 2 * HOUR), {}, "caller_leader", caller
        )
        self.accept_due = t + self.accept_window  # the call reaches the platform
        if self.up and rng.random() < cast.reject_rate[caller]:
            t = self._event(
                "reject",
                t + rng.randrange(10 * MINUTE, 2 * HOUR),
                {"reason": "属乡镇自身职责，请按清单自行处置。"},
                "platform",
                cast.platform_id,
            )
            if rng.random() < 0.5:
                self._event(
                    "withdraw",
                    t + rng.randrange(DAY, 3 * DAY),
                    {"reason": "按平台意见自行处置。"},
                    "caller",
                    caller,
                )
            return
        t = self._event(
            "accept", t + rng.randrange(5 * MINUTE, HOUR), {}, "platform", cast.platform_id
        )
        if rng.random() < 0.008 and self.call_id > self.first_call_id:
            self.merged_into = self.call_id - 1
            self._event(
                "merge",
                t + rng.randrange(10 * MINUTE, HOUR),
                {"into": self.call_id - 1, "reason": "与已受理呼叫重复。"},
                "platform",
                cast.platform_id,
            )
            return
        t += rng.randrange(5 * MINUTE, 90 * MINUTE)
        row = self._send("dispatch", t, lead, assisting)
        pace = cast.paces[lead]
        if self.up and rng.random() < pace.returns:
            t = self._event(
                "request_return",
                row["at"] + rng.randrange(1, max(2, self.windows[0])),
                {"reason": "该事项不属于本单位职责。"},
                "lead",
                lead,
            )
            if rng.random() < 0.7:
                t = self._event(
                    "agree_return",
                    t + rng.randrange(HOUR, 8 * HOUR),
                    {"reason": "同意退回，重新派单。", "released": [lead, *assisting]},
                    "platform",
                    cast.platform_id,
                )
                self.accept_due = t + self.accept_window  # back to the platform
                for d in self.dispatches:
                    d["active"] = False
                others = [d for d in cast.departments if d != lead]
                lead = rng.choice(others)
                row = self._send("dispatch", t + rng.randrange(10 * MINUTE, HOUR), lead, ())
            else:
                t = self._event(
                    "refuse_return",
                    t + rng.randrange(HOUR, 8 * HOUR),
                    {"reason": "清单明确由本单位主办。"},
                    "platform",
                    cast.platform_id,
                )
                row = self._send("rule", t + rng.randrange(HOUR, DAY), lead, assisting)
        self._handle(row, lead)

    def _handle(self, row: dict[str, Any], lead: int) -> None:
        rng, pace = self.rng, self.cast.paces[lead]
        start = row["at"]
        sign_w, respond_w, complete_w = self.windows
        # Sign.
        if rng.random() < pace.sign_late:
            signed = row["sign_due"] + rng.randrange(10 * MINUTE, 6 * HOUR)
        else:
            signed = start + int(rng.uniform(0.05, 0.95) ** 1.5 * sign_w)
        self._cards("sign", start, row["sign_due"], signed, lead)
        signed = self._event("sign", signed, {}, "lead", lead)
        row["signed_at"] = signed
        # Respond (photos on site now and then: evidence of the township's cooperation).
        if rng.random() < pace.respond_late:
            responded = row["respond_due"] + rng.randrange(30 * MINUTE, DAY)
        else:
            responded = max(signed + MINUTE, start + int(rng.uniform(0.1, 0.95) ** 1.5 * respond_w))
        self._cards("respond", start, row["respond_due"], responded, lead)
        photos = 1 if rng.random() < (0.5 if not self.up else 0.2) else 0
        mode = "on_site" if photos or rng.random() < 0.5 else "contact"
        responded = self._event("respond", responded, {"mode": mode}, "lead", lead, photos=photos)
        row["responded_at"] = responded
        # An extension now and then (approved four times out of five).
        if rng.random() < pace.extension:
            asked = self._event(
                "request_extension",
                responded + rng.randrange(HOUR, DAY),
                {"days": 3, "reason": "需协调相关单位，申请延期。"},
                "lead",
                lead,
            )
            seq = len(self.events)
            if rng.random() < 0.8:
                due = row["complete_due"] + 3 * DAY
                self._event(
                    "decide_extension",
                    asked + rng.randrange(HOUR, 8 * HOUR),
                    {
                        "approve": True,
                        "reason": "同意延期。",
                        "request": seq,
                        "days": 3,
                        "complete_due": _iso(due),
                    },
                    "platform",
                    self.cast.platform_id,
                )
                row["complete_due"] = due
                row["extension_count"] += 1
                row["extension_days"] += 3
            else:
                self._event(
                    "decide_extension",
                    asked + rng.randrange(HOUR, 8 * HOUR),
                    {"approve": False, "reason": "时限内可以办结。", "request": seq},
                    "platform",
                    self.cast.platform_id,
                )
        if rng.random() < 0.2:
            self._event(
                "note",
                self.last + rng.randrange(HOUR, DAY),
                {"text": "已联系相关责任人，正在处置。"},
                "lead",
                lead,
            )
        # Complete.
        due = row["complete_due"]
        if rng.random() < pace.complete_late:
            completed = due + rng.randrange(HOUR, 5 * DAY)
        else:
            completed = responded + int(rng.uniform(0.05, 0.95) * max(HOUR, due - responded))
        completed = max(completed, self.last + MINUTE)
        self._cards("complete", start, due, completed, lead)
        evidence = pace.evidence if not self.up else 0.4
        photos = rng.randrange(1, 3) if rng.random() < evidence else 0
        completed = self._event(
            "complete", completed, {"result": "已处置完毕。"}, "lead", lead, photos=photos
        )
        row["completed_at"] = completed
        # Evaluations: a redo round after an unsatisfied one (at most two).
        while True:
            if rng.random() < pace.auto_close:
                self._event(
                    "auto_close",
                    completed + 3 * DAY + HOUR,
                    {"evaluation_due": _iso(completed + 3 * DAY)},
                    "system",
                    None,
                )
                return
            r = rng.random()
            redo = self.reopen_count < 2 and r < pace.unsatisfied * (
                1 if not self.reopen_count else 0.5
            )
            evaluation = (
                "unsatisfied"
                if redo
                else "basically"
                if r < pace.unsatisfied + pace.basically
                else "satisfied"
            )
            at = completed + rng.randrange(HOUR, 3 * DAY)
            data: dict[str, Any] = {
                "evaluation": evaluation,
                "resolved": "no" if redo else "yes",
                "reopen_count": self.reopen_count + (1 if redo else 0),
            }
            if redo:
                data["respond_due"] = _iso(max(at, self.last) + respond_w)
                data["complete_due"] = _iso(max(at, self.last) + complete_w)
            at = self._event("evaluate", at, data, "caller", self.caller)
            if not redo:
                return
            self.reopen_count += 1
            row["responded_at"] = row["completed_at"] = None
            row["respond_due"], row["complete_due"] = at + respond_w, at + complete_w
            responded = self._event(
                "respond", at + rng.randrange(HOUR, respond_w), {"mode": "on_site"}, "lead", lead
            )
            row["responded_at"] = responded
            completed = self._event(
                "complete",
                responded + rng.randrange(HOUR, complete_w),
                {"result": "已重新处置。"},
                "lead",
                lead,
            )
            row["completed_at"] = completed


_DISPATCH_TIMES = (
    "sign_due",
    "respond_due",
    "complete_due",
    "signed_at",
    "responded_at",
    "completed_at",
)
_TITLES = (
    "村道路面塌陷需修复",
    "河道堆积垃圾影响行洪",
    "沿街商户占道经营",
    "企业夜间噪声扰民",
    "违规建设彩钢房",
    "农村饮水管道破裂",
    "小区消防通道被占用",
    "田间秸秆焚烧",
)
_DESCRIPTIONS = (
    "群众反映问题已持续多日，网格员现场核实属实，乡镇无执法权，请县直部门处置。",
    "经乡镇初步处置未能解决，涉及县级职责，请求相关部门协同处理。",
    "现场存在安全隐患，请相关部门尽快到场处置并反馈结果。",
)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    r = rng.random()
    for value, weight in weighted:
        r -= weight
        if r < 0:
            return value
    return weighted[-1][0]


def periodic_forms(
    cast: Cast, *, seed: int, start: datetime = YEAR_START, months: int = 12
) -> list[PeriodicEvaluation]:
    """Monthly evaluation forms of the townships for `months` months from `start`'s
    month: each evaluates some departments, and the agencies it hosts (about a thousand
    forms a year for the demo county)."""
    rng = random.Random(f"xianghu-bench-forms-{seed}")
    grades = list(GRADE_SCORES.items())
    hosted: dict[int, list[int]] = {}
    for (_dept, region), agency in cast.agencies.items():
        hosted.setdefault(region, []).append(agency)
    forms = []
    first = start.astimezone(CST)
    for n in range(months):
        year, month = divmod(first.month - 1 + n, 12)
        period = Period.month(first.year + year, month + 1)
        for township in cast.townships:
            subjects = [d for d in cast.departments if rng.random() < 0.3]
            subjects += [a for a in hosted.get(cast.region_of[township], []) if rng.random() < 0.8]
            for subject in subjects:
                grade, score = rng.choice(grades)
                forms.append(
                    PeriodicEvaluation(
                        county_id=cast.county_id,
                        township_id=township,
                        subject_id=subject,
                        period_key=period.key,
                        starts_on=period.start,
                        ends_on=period.end,
                        score=score,
                        grade=grade,
                        submitted_by_id=cast.leaders.get(township),
                        submitted_at=period.ends_at,
                        updated_at=period.ends_at,
                    )
                )
    return forms


# ---- writing the rows


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind is datetime:
        return value.isoformat(" ")
    if kind is dict or kind is list:
        return _escape(json.dumps(value, ensure_ascii=False))
    if kind is date or kind is Decimal:
        return str(value)
    if isinstance(value, str):  # TextChoices members
        return _escape(str(value))
    if isinstance(value, int):  # IntegerChoices members
        return str(int(value))
    raise TypeError(f"cannot COPY {value!r}")


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def write_rows(
    model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Write rows (values in the order of `columns`, model attribute names) into the
    model's table: `COPY` on PostgreSQL, `bulk_create` elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        meta = model._meta
        names = ", ".join(connection.ops.quote_name(_column(model, c)) for c in columns)
        sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            buffer: list[str] = []
            for row in rows:
                buffer.append("\t".join([_copy_text(v) for v in row]))
                if len(buffer) >= 5000:
                    copy.write("\n".join(buffer) + "\n")
                    buffer = []
            if buffer:
                copy.write("\n".join(buffer) + "\n")
    else:
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
        )


def _column(model: type[models.Model], attname: str) -> str:
    for f in model._meta.concrete_fields:
        if f.attname == attname and f.column:
            return str(f.column)
    raise KeyError(attname)


# ---- building the data set


@dataclass
class BuildReport:
    calls: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _next_ids() -> _Ids:
    out = {}
    for model, _columns in TABLES:
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        out[model] = top + 1
    return _Ids(out)


def build_calls(
    cast: Cast,
    *,
    calls: int,
    seed: int,
    chunk_size: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Generate `calls` calls with their events, dispatches, photos and roll-up, and
    write them (chunk by chunk, each chunk in one transaction), then the forms."""
    check_columns()
    report = BuildReport(calls=calls)
    generator = Generator(cast, seed=seed, total=calls, ids=_next_ids())
    generate = write = 0.0
    began = time.perf_counter()
    while generator.made < calls:
        t0 = time.perf_counter()
        chunk = generator.chunk(chunk_size)
        t1 = time.perf_counter()
        with transaction.atomic():
            for model, columns in TABLES:
                rows = chunk.rows[model]
                write_rows(model, columns, rows)
                report.rows[model.__name__] = report.rows.get(model.__name__, 0) + len(rows)
        t2 = time.perf_counter()
        generate += t1 - t0
        write += t2 - t1
        if progress is not None:
            done = generator.made
            rate = done / (t2 - began)
            progress(
                f"{done:>9,} / {calls:,} calls  ({rate:,.0f} calls/s, "
                f"{(calls - done) / rate:,.0f} s to go)"
            )
    sync_sequences()
    forms = periodic_forms(cast, seed=seed)
    PeriodicEvaluation.objects.bulk_create(forms, batch_size=1000)
    report.rows["PeriodicEvaluation"] = len(forms)
    report.states = dict(sorted(generator.stats.items()))
    report.seconds["generate"] = generate
    report.seconds["write"] = write
    return report


def sync_sequences(tables: Sequence[str] | None = None) -> None:
    """COPY wrote the ids: move the id sequences of `tables` (default: the generator's)
    past them (PostgreSQL; elsewhere the database takes care of it)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables if tables is not None else _big_tables():
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608  (a model's table)
                f"COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 1))",
                [table],
            )


# ---- PostgreSQL: loading fast, then indexing once


def _big_tables() -> list[str]:
    return [model._meta.db_table for model, _columns in TABLES]


@dataclass
class Ddl:
    """The secondary indexes and the unique and foreign-key constraints of the big
    tables, as dropped before the load and created again after it."""

    indexes: list[tuple[str, str]]
    constraints: list[tuple[str, str, str]]


def drop_secondary_indexes() -> Ddl:
    """Drop what makes a bulk load slow (PostgreSQL): every index but the primary keys,
    and the unique and foreign-key constraints. `restore_indexes` creates them again,
    which checks every foreign key and unique constraint over the loaded rows."""
    tables = _big_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f') "
            "ORDER BY contype DESC, conname",
            [tables],
        )
        constraints = [(str(t), str(n), str(d)) for t, n, d in cursor.fetchall()]
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY 1",
            [tables],
        )
        indexes = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
        for table, name, _definition in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return Ddl(indexes=indexes, constraints=constraints)


def restore_indexes(ddl: Ddl, *, vacuum: bool = True) -> None:
    """Create again what `drop_secondary_indexes` dropped, and (with `vacuum`, outside a
    transaction) VACUUM ANALYZE the tables (the planner's statistics; the visibility
    map)."""
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in ddl.indexes:
            cursor.execute(definition)
        for table, name, definition in ddl.constraints:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )
    if vacuum:
        vacuum_analyze()


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        tables = [*_big_tables(), PeriodicEvaluation._meta.db_table, Organisation._meta.db_table]
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
