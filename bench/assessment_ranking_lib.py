"""The assessment ranking benchmark (issue #5): build a large data set of calls, their
events and the roll-up, then time the monthly ranking of every subject as the app
computes it against one hand-written SQL aggregation over the same fact rows.

Run it with `bench/assessment_ranking.sh` (or `python bench/assessment_ranking.py`); this
module holds the parts a test runs on a tiny data set (`tests/bench/`), and needs Django
set up. The results are written down in docs/benchmarks.md ("Assessment ranking").

How the data set is made, and why not through the workflow services: a call driven
through `calls.services.call_transition` costs a few dozen queries per event, so a
million calls would take many hours. The generator below plays each call's life as the
services would record it (legal transitions of `calls.workflow`, the event data the
services write: deadlines, leads, extensions, evaluations, cards), writes the rows of
`Call`, `Dispatch`, `CallEvent` and `Attachment` straight into the tables (PostgreSQL
`COPY`; `bulk_create` elsewhere), and derives the roll-up (`DispatchFact`, `EventFact`,
`SubmissionFact`) with the assessment app's own fold, `facts.facts_from_events`, on the
very events it writes — only the database round trip of `rollup.rebuild` is skipped.
`check_sample` then refreshes a sample of calls through `rollup.refresh_calls` (the
path of every live event: it reads the events back from the database and folds them)
and checks that it gives exactly the stored rows.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from fractions import Fraction
from operator import attrgetter
from typing import Any

from django.db import connection, models, transaction

from xianghu.assessment import rollup
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
from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.models import (
    DispatchFact,
    EventFact,
    FactEventKind,
    PeriodicEvaluation,
    StepState,
    SubmissionFact,
    SubmissionOutcome,
)
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import GRADE_SCORES, Policy, policy_for
from xianghu.assessment.scores import ranking_for_period, rankings_for_period
from xianghu.calls.models import Attachment, Call, CallEvent, Dispatch
from xianghu.calls.workflow import BY_ACTION, CREATE, State, replay
from xianghu.catalog.models import Item, ItemParty, PartyRole, PrimaryLevel, VersionStatus
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role

#: Bump when the generator changes: a cached data set of another version is rebuilt.
GENERATOR_VERSION = 2

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

    def __init__(self, cast: Cast, *, seed: int, total: int, ids: _Ids) -> None:
        self.cast = cast
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
        day = i * DAYS // self.total
        return START_TS + day * DAY + 8 * HOUR + self.rng.randrange(10 * HOUR)

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
                f"371221{local:%y%m%d}{call_id:06d}",
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
        self.stats[state] = self.stats.get(state, 0) + 1

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
        if at > NOW_TS:
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


def periodic_forms(cast: Cast, *, seed: int) -> list[PeriodicEvaluation]:
    """Monthly evaluation forms of the townships: each evaluates some departments, and
    the agencies it hosts (about a thousand forms a year)."""
    rng = random.Random(f"xianghu-bench-forms-{seed}")
    grades = list(GRADE_SCORES.items())
    hosted: dict[int, list[int]] = {}
    for (_dept, region), agency in cast.agencies.items():
        hosted.setdefault(region, []).append(agency)
    forms = []
    for month in range(1, 13):
        period = Period.month(2025, month)
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
    if connection.vendor == "postgresql":
        # COPY wrote the ids: move the id sequences past them.
        with connection.cursor() as cursor:
            for table in _big_tables():
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608  (a model's table)
                    f"COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 1))",
                    [table],
                )
    forms = periodic_forms(cast, seed=seed)
    PeriodicEvaluation.objects.bulk_create(forms, batch_size=1000)
    report.rows["PeriodicEvaluation"] = len(forms)
    report.states = dict(sorted(generator.stats.items()))
    report.seconds["generate"] = generate
    report.seconds["write"] = write
    return report


# ---- the check: the live refresh path gives exactly the generated roll-up


def _fact_rows(call_ids: Sequence[int]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for model, names in (
        (DispatchFact, EPISODE_FIELDS),
        (EventFact, EVENT_FACT_FIELDS),
        (SubmissionFact, SUBMISSION_FIELDS),
    ):
        rows = model._default_manager.filter(call_id__in=list(call_ids)).values_list(*names)
        out[model.__name__] = sorted(rows, key=repr)
    return out


@dataclass
class SampleReport:
    calls: int
    fact_rows: int
    seconds: float  # `rollup.refresh_calls` over the sample

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def check_sample(*, size: int, batch: int = 500) -> SampleReport:
    """Refresh `size` calls spread over the data set through `rollup.refresh_calls` (it
    reads their events back and folds them, as for every live event) inside a
    transaction that is rolled back, and check that it gives exactly the generated fact
    rows; check too that every sampled log is a legal path of the workflow ending in the
    call's state. Raises AssertionError on the first difference."""
    ids = list(Call.objects.order_by("pk").values_list("pk", flat=True))
    step = max(1, len(ids) // max(1, size))
    sample = ids[::step][:size]
    before = _fact_rows(sample)
    elapsed = 0.0
    with transaction.atomic():
        for i in range(0, len(sample), batch):
            part = sample[i : i + batch]
            t0 = time.perf_counter()
            rollup.refresh_calls(part)
            elapsed += time.perf_counter() - t0
        after = _fact_rows(sample)
        transaction.set_rollback(True)
    for name, rows in before.items():
        if rows != after[name]:
            diff = [(a, b) for a, b in zip(rows, after[name], strict=False) if a != b][:3]
            raise AssertionError(
                f"{name}: the generated roll-up differs from rollup.refresh_calls "
                f"({len(rows)} vs {len(after[name])} rows; first differences {diff})"
            )
    states = dict(Call.objects.filter(pk__in=sample).values_list("pk", "state"))
    logs: dict[int, list[tuple[str, Any]]] = {pk: [] for pk in sample}
    for call_id, action, data in (
        CallEvent.objects.filter(call_id__in=sample)
        .order_by("call_id", "seq")
        .values_list("call_id", "action", "data")
    ):
        logs[call_id].append((action, data))
    for pk, log in logs.items():
        if replay(log) != states[pk]:
            raise AssertionError(f"call {pk}: its log does not end in its state {states[pk]}")
    return SampleReport(
        calls=len(sample), fact_rows=sum(len(r) for r in before.values()), seconds=elapsed
    )


# ---- the hand-written SQL


HAND_WRITTEN_SQL = """
WITH d AS (
    SELECT subject_id,
        COUNT(*) FILTER (WHERE counted AND {recv}) AS received,
        COUNT(*) FILTER (WHERE rated AND {recv} AND sign_state = %(on_time)s) AS sign_ok,
        COUNT(*) FILTER (WHERE rated AND {recv} AND sign_state = %(on_time)s
                         AND respond_state = %(on_time)s) AS response_ok,
        COUNT(*) FILTER (WHERE rated AND {recv} AND (
            sign_state = %(late)s OR (sign_state = %(open)s AND sign_due < %(now)s)
            OR respond_state = %(late)s OR (respond_state = %(open)s AND respond_due < %(now)s)
        )) AS response_failed,
        COUNT(*) FILTER (WHERE rated AND {due} AND complete_state = %(on_time)s) AS completion_ok,
        COUNT(*) FILTER (WHERE rated AND {due} AND (
            complete_state = %(late)s OR (complete_state = %(open)s AND complete_due < %(now)s)
        )) AS completion_late,
        COUNT(*) FILTER (WHERE rated AND {due} AND complete_state = %(on_time)s
                         AND evidence) AS cooperation_done,
        COALESCE(SUM(returns_refused) FILTER (WHERE counted AND {recv}), 0) AS returns_refused
    FROM {dispatch_fact}
    WHERE county_id = %(county)s AND subject_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND ({recv} OR {due})
    GROUP BY subject_id
),
e AS (
    SELECT subject_id,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(satisfied)s) AS satisfied,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(basically)s) AS basically,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(unsatisfied)s) AS unsatisfied,
        COUNT(*) FILTER (WHERE {evaluation} AND default_evaluation) AS defaults,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(satisfied)s) AS host_satisfied,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(basically)s) AS host_basically,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(unsatisfied)s) AS host_unsatisfied,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND default_evaluation) AS host_defaults,
        COUNT(*) FILTER (WHERE kind = %(red_card)s) AS red_cards
    FROM {event_fact}
    WHERE county_id = %(county)s AND subject_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND at >= %(p_start)s AND at < %(p_end)s AND NOT excluded
    GROUP BY subject_id
),
s AS (
    SELECT caller_id,
        COUNT(*) AS sent,
        COUNT(*) FILTER (WHERE outcome = %(valid)s) AS valid,
        COUNT(*) FILTER (WHERE outcome = %(invalid)s) AS invalid
    FROM {submission_fact}
    WHERE county_id = %(county)s AND caller_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND sent_at >= %(p_start)s AND sent_at < %(p_end)s
    GROUP BY caller_id
),
f AS (
    SELECT pe.subject_id,
        COUNT(*) AS forms,
        SUM(pe.score) AS forms_total,
        COUNT(*) FILTER (WHERE so.kind = %(k_agency)s AND tw.township_id = so.township_id)
            AS host_forms,
        SUM(pe.score) FILTER (WHERE so.kind = %(k_agency)s AND tw.township_id = so.township_id)
            AS host_forms_total
    FROM {forms} pe
    JOIN {organisation} so ON so.id = pe.subject_id
    JOIN {organisation} tw ON tw.id = pe.township_id
    WHERE pe.county_id = %(county)s AND so.kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND pe.starts_on >= %(d_start)s AND pe.ends_on <= %(d_end)s
    GROUP BY pe.subject_id
),
m AS MATERIALIZED (
    SELECT o.id, o.kind, o.name,
        o.kind = %(k_township)s AS township,
        o.kind = %(k_agency)s AS agency,
        COALESCE(d.received, 0) AS received,
        COALESCE(d.response_ok, 0) AS response_ok,
        COALESCE(d.response_failed, 0) AS response_failed,
        COALESCE(d.completion_ok, 0) AS completion_ok,
        COALESCE(d.completion_late, 0) AS completion_late,
        COALESCE(d.cooperation_done, 0) AS cooperation_done,
        COALESCE(d.returns_refused, 0) AS returns_refused,
        COALESCE(e.satisfied, 0) AS satisfied,
        COALESCE(e.basically, 0) AS basically,
        COALESCE(e.unsatisfied, 0) AS unsatisfied,
        COALESCE(e.defaults, 0) AS defaults,
        COALESCE(e.host_satisfied, 0) AS host_satisfied,
        COALESCE(e.host_basically, 0) AS host_basically,
        COALESCE(e.host_unsatisfied, 0) AS host_unsatisfied,
        COALESCE(e.host_defaults, 0) AS host_defaults,
        COALESCE(e.red_cards, 0) AS red_cards,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.sent, 0) ELSE 0 END AS sent,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.valid, 0) ELSE 0 END AS valid,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.invalid, 0) ELSE 0 END AS invalid,
        COALESCE(f.forms, 0) AS forms,
        COALESCE(f.forms_total, 0) AS forms_total,
        COALESCE(f.host_forms, 0) AS host_forms,
        COALESCE(f.host_forms_total, 0) AS host_forms_total
    FROM {organisation} o
    LEFT JOIN d ON d.subject_id = o.id
    LEFT JOIN e ON e.subject_id = o.id
    LEFT JOIN s ON s.caller_id = o.id
    LEFT JOIN f ON f.subject_id = o.id
    WHERE o.county_id = %(county)s AND o.kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND (o.is_active OR d.subject_id IS NOT NULL OR e.subject_id IS NOT NULL
             OR s.caller_id IS NOT NULL OR f.subject_id IS NOT NULL)
),
c AS MATERIALIZED (
    -- The three components of the composite score (docs/scoring.md, "Scores"). The
    -- steps from here on are materialised: one row per subject each, and inlined they
    -- would repeat every expression of the score in every later one.
    SELECT m.*,
        CASE WHEN township THEN %(w_valid)s ELSE %(w_response)s END AS w1,
        CASE WHEN township THEN valid ELSE response_ok END AS n1,
        CASE WHEN township THEN valid + invalid ELSE response_ok + response_failed END AS d1,
        CASE WHEN township THEN %(w_cooperation)s ELSE %(w_completion)s END AS w2,
        CASE WHEN township THEN cooperation_done ELSE completion_ok END AS n2,
        completion_ok + completion_late AS d2,
        CASE WHEN township THEN %(w_township_satisfaction)s ELSE %(w_satisfaction)s END AS w3,
        satisfied + %(w_basic)s * basically + %(count_defaults)s * defaults AS n3,
        satisfied + basically + unsatisfied + %(count_defaults)s * defaults AS d3,
        CASE WHEN agency THEN host_satisfied + %(w_basic)s * host_basically
                              + %(count_defaults)s * host_defaults
             ELSE satisfied + %(w_basic)s * basically + %(count_defaults)s * defaults
        END AS ev_n,
        CASE WHEN agency THEN host_satisfied + host_basically + host_unsatisfied
                              + %(count_defaults)s * host_defaults
             ELSE satisfied + basically + unsatisfied + %(count_defaults)s * defaults
        END AS ev_d,
        CASE WHEN agency THEN host_forms ELSE forms END AS f_n,
        CASE WHEN agency THEN host_forms_total ELSE forms_total END AS f_total,
        %(p_red)s * red_cards + %(p_refused)s * returns_refused + %(p_redo)s * unsatisfied
            AS penalty
    FROM m
),
b AS MATERIALIZED (
    SELECT c.*,
        (CASE WHEN d1 > 0 THEN w1 ELSE 0 END) + (CASE WHEN d2 > 0 THEN w2 ELSE 0 END)
            + (CASE WHEN d3 > 0 THEN w3 ELSE 0 END) AS w_total,
        (CASE WHEN d1 > 0 THEN w1 * n1 * %(one)s / d1 ELSE 0 END)
            + (CASE WHEN d2 > 0 THEN w2 * n2 * %(one)s / d2 ELSE 0 END)
            + (CASE WHEN d3 > 0 THEN w3 * n3 * %(one)s / d3 ELSE 0 END) AS weighted,
        CASE WHEN township OR ev_d = 0 THEN NULL ELSE 100 * ev_n * %(one)s / ev_d END AS per_call,
        CASE WHEN township OR f_n = 0 THEN NULL ELSE f_total * %(one)s / f_n END AS forms_average
    FROM c
),
v AS MATERIALIZED (
    SELECT b.*,
        CASE WHEN w_total > 0 THEN 100 * weighted / w_total END AS base,
        CASE WHEN per_call IS NOT NULL AND forms_average IS NOT NULL
                 THEN (1 - %(form_share)s) * per_call + %(form_share)s * forms_average
             WHEN per_call IS NOT NULL THEN per_call
             ELSE forms_average
        END AS evaluation
    FROM b
),
w AS MATERIALIZED (
    SELECT v.*,
        CASE WHEN base IS NULL THEN NULL
             WHEN base - penalty < 0 THEN 0
             WHEN base - penalty > 100 THEN 100
             ELSE base - penalty
        END AS composite
    FROM v
),
x AS MATERIALIZED (
    SELECT w.*,
        ROUND(CASE WHEN composite IS NULL THEN NULL
                   WHEN evaluation IS NULL THEN composite
                   ELSE (1 - CASE WHEN agency THEN %(share_agency)s ELSE %(share_department)s END)
                        * composite
                        + CASE WHEN agency THEN %(share_agency)s ELSE %(share_department)s END
                        * evaluation
              END, 2) AS score,
        received + sent AS volume
    FROM w
)
SELECT id, kind, name, received, response_ok, response_failed, completion_ok,
    completion_late, cooperation_done, satisfied, basically, unsatisfied, defaults,
    red_cards, returns_refused, valid, invalid, forms,
    ROUND(CASE WHEN response_ok + response_failed > 0
               THEN response_ok * %(one)s / (response_ok + response_failed) END, 4)
        AS response_rate,
    ROUND(CASE WHEN completion_ok + completion_late > 0
               THEN completion_ok * %(one)s / (completion_ok + completion_late) END, 4)
        AS completion_rate,
    ROUND(CASE WHEN d3 > 0 THEN n3 * %(one)s / d3 END, 4) AS satisfaction_rate,
    score,
    CASE WHEN score IS NOT NULL AND volume >= %(min_volume)s
         THEN RANK() OVER (PARTITION BY kind, score IS NOT NULL AND volume >= %(min_volume)s
                           ORDER BY score DESC)
    END AS rank
FROM x
ORDER BY kind, rank, name, id
"""

SQL_COLUMNS = (
    "id",
    "kind",
    "name",
    "received",
    "response_ok",
    "response_failed",
    "completion_ok",
    "completion_late",
    "cooperation_done",
    "satisfied",
    "basically",
    "unsatisfied",
    "defaults",
    "red_cards",
    "returns_refused",
    "valid",
    "invalid",
    "forms",
    "response_rate",
    "completion_rate",
    "satisfaction_rate",
    "score",
    "rank",
)


def hand_written_sql() -> str:
    """The statement, with the tables' names filled in."""

    def table(model: type[models.Model]) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    return HAND_WRITTEN_SQL.format(
        dispatch_fact=table(DispatchFact),
        event_fact=table(EventFact),
        submission_fact=table(SubmissionFact),
        forms=table(PeriodicEvaluation),
        organisation=table(Organisation),
        recv="(received_at >= %(p_start)s AND received_at < %(p_end)s)",
        due="(complete_due >= %(p_start)s AND complete_due < %(p_end)s)",
        evaluation="kind = %(evaluation)s",
    )


def _number(value: Fraction | int) -> Any:
    """A policy value as an SQL parameter: an exact decimal of 30 places on PostgreSQL
    (numeric), a float on SQLite."""
    if connection.vendor == "postgresql":
        fraction = Fraction(value)
        with localcontext(prec=60):
            return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
                Decimal(10) ** -30
            )
    return float(value)


def sql_params(*, county_id: int, period: Period, now: datetime, policy: Policy) -> dict[str, Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "county": county_id,
        "p_start": adapt(period.starts_at),
        "p_end": adapt(period.ends_at),
        "d_start": connection.ops.adapt_datefield_value(period.start),
        "d_end": connection.ops.adapt_datefield_value(period.end),
        "now": adapt(now),
        "on_time": int(StepState.ON_TIME),
        "late": int(StepState.LATE),
        "open": int(StepState.OPEN),
        "k_dept": str(OrgKind.DEPARTMENT),
        "k_agency": str(OrgKind.STATIONED_AGENCY),
        "k_township": str(OrgKind.TOWNSHIP),
        "evaluation": str(FactEventKind.EVALUATION),
        "red_card": str(FactEventKind.RED_CARD),
        "satisfied": "satisfied",
        "basically": "basically",
        "unsatisfied": "unsatisfied",
        "valid": str(SubmissionOutcome.VALID),
        "invalid": str(SubmissionOutcome.INVALID),
        "one": _number(1),
        "w_response": _number(policy.weight_response),
        "w_completion": _number(policy.weight_completion),
        "w_satisfaction": _number(policy.weight_satisfaction),
        "w_valid": _number(policy.weight_valid_calls),
        "w_cooperation": _number(policy.weight_cooperation),
        "w_township_satisfaction": _number(policy.weight_township_satisfaction),
        "w_basic": _number(policy.w_basic),
        "count_defaults": 1 if policy.count_default_evaluations else 0,
        "p_red": _number(policy.penalty_red_card),
        "p_refused": _number(policy.penalty_refused_return),
        "p_redo": _number(policy.penalty_redo),
        "form_share": _number(policy.form_share),
        "share_agency": _number(policy.township_share_agency),
        "share_department": _number(policy.township_share_department),
        "min_volume": policy.min_volume,
    }


def sql_ranking(*, county_id: int, period: Period, now: datetime) -> list[dict[str, Any]]:
    """The ranking of every subject by the hand-written SQL (one statement; the county's
    policy read as the app reads it)."""
    params = sql_params(county_id=county_id, period=period, now=now, policy=policy_for(county_id))
    with connection.cursor() as cursor:
        cursor.execute(hand_written_sql(), params)
        return [dict(zip(SQL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# ---- the app's way


def app_rankings(*, county_id: int, period: Period, now: datetime) -> dict[str, Any]:
    """As the pages rank (the rankings page, the dashboards, the API): one call of
    `rankings_for_period` for every kind of subject, which scores them all in one pass
    and ranks kind by kind."""
    return rankings_for_period(county=county_id, period=period, kinds=SUBJECT_KINDS, now=now)


def app_rankings_per_kind(*, county_id: int, period: Period, now: datetime) -> dict[str, Any]:
    """One kind at a time: `ranking_for_period` for each kind of subject (three passes)."""
    return {
        kind: ranking_for_period(county=county_id, period=period, subject_kind=kind, now=now)
        for kind in SUBJECT_KINDS
    }


# ---- the comparison


@dataclass
class Agreement:
    subjects: int
    ranked: int
    score_mismatches: list[tuple[int, Decimal, Decimal]]


class Disagreement(AssertionError):
    """The app and the hand-written SQL do not give the same figures."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise Disagreement(message)


def _same(value: Any, other: Any) -> bool:
    return (value is None) == (other is None)


def compare(app: dict[str, Any], sql: list[dict[str, Any]], *, exact: bool) -> Agreement:
    """Check that the app's rankings and the hand-written SQL agree: the same subjects,
    the same counts and rates per subject, scores within 0.01 (a score exactly halfway
    between two hundredths may round either way after the SQL's 30-place division;
    `exact`: every rate equal, otherwise within 0.0001 — floats on SQLite), and the same
    ranks wherever the scores agree. Raises `Disagreement` on the first difference."""
    by_id = {row["id"]: row for row in sql}
    entries = {e.score.subject_id: e for ranking in app.values() for e in ranking.entries}
    _check(
        set(entries) == set(by_id),
        f"subjects differ: app only {sorted(set(entries) - set(by_id))}, "
        f"SQL only {sorted(set(by_id) - set(entries))}",
    )
    mismatches: list[tuple[int, Decimal, Decimal]] = []
    for pk, entry in entries.items():
        m, row = entry.score.metrics, by_id[pk]
        counts = {
            "received": m.received,
            "response_ok": m.response_ok,
            "response_failed": m.response_failed,
            "completion_ok": m.completion_ok,
            "completion_late": m.completion_late,
            "satisfied": m.satisfaction.satisfied,
            "basically": m.satisfaction.basically,
            "unsatisfied": m.satisfaction.unsatisfied,
            "defaults": m.satisfaction.defaults,
            "red_cards": m.red_cards,
            "returns_refused": m.returns_refused,
            "forms": m.forms,
        }
        if m.subject_kind == OrgKind.TOWNSHIP:
            counts["cooperation_done"] = m.cooperation_done
            counts["valid"] = m.calls_valid
            counts["invalid"] = m.calls_invalid
        for key, value in counts.items():
            _check(int(row[key]) == value, f"subject {pk}: {key} app {value} SQL {row[key]}")
        for key, rate in (
            ("response_rate", m.response_rate),
            ("completion_rate", m.completion_rate),
            ("satisfaction_rate", m.satisfaction.rate),
        ):
            other = row[key]
            _check(_same(rate, other), f"subject {pk}: {key} app {rate} SQL {other}")
            if rate is not None and other is not None:
                delta = abs(Decimal(str(other)) - rate)
                _check(
                    delta == 0 if exact else delta <= Decimal("0.0001"),
                    f"subject {pk}: {key} app {rate} SQL {other}",
                )
        app_score, sql_score = entry.score.score, row["score"]
        _check(_same(app_score, sql_score), f"subject {pk}: score app {app_score} SQL {sql_score}")
        if app_score is None or sql_score is None:
            continue
        sql_decimal = Decimal(str(sql_score)).quantize(Decimal("0.01"))
        if sql_decimal != app_score:
            _check(
                abs(sql_decimal - app_score) <= Decimal("0.01"),
                f"subject {pk}: score app {app_score} SQL {sql_score}",
            )
            mismatches.append((pk, app_score, sql_decimal))
    # Ranks: equal for every subject whose score no mismatching score could displace.
    doubtful = [score for _pk, score, _sql in mismatches]
    ranked = 0
    for pk, entry in entries.items():
        score = entry.score.score
        if score is not None and any(abs(score - d) <= Decimal("0.011") for d in doubtful):
            continue
        sql_rank = by_id[pk]["rank"]
        _check(
            entry.rank == (int(sql_rank) if sql_rank is not None else None),
            f"subject {pk}: rank app {entry.rank} SQL {sql_rank}",
        )
        ranked += entry.rank is not None
    return Agreement(subjects=len(entries), ranked=ranked, score_mismatches=mismatches)


# ---- timing


@dataclass
class Timing:
    label: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


def timed_together(
    runs: dict[str, tuple[str, Callable[[], Any]]], *, repeat: int
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Run each once to warm the caches, then `repeat` rounds that run each once (in
    turn, so that a change of load on a shared machine touches all alike); the timings
    and the result of each."""
    results = {key: run() for key, (_label, run) in runs.items()}
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeat):
        for key, (_label, run) in runs.items():
            t0 = time.perf_counter()
            results[key] = run()
            times[key].append(time.perf_counter() - t0)
    return {key: Timing(runs[key][0], times[key]) for key in runs}, results


@contextlib.contextmanager
def jit(setting: str | None) -> Iterator[None]:
    """PostgreSQL's JIT compilation `on` or `off` for the session (None: as configured)."""
    if setting is None or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, false)", [setting])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


#: The configurations compared: the server's own (JIT on in PostgreSQL's default), and
#: JIT off — it compiles the hand-written statement (big enough to pass
#: `jit_above_cost`) for longer than the statement runs, and none of the app's.
CONFIGURATIONS: tuple[tuple[str, str | None], ...] = (("", None), (":jit_off", "off"))


@dataclass
class Results:
    timings: dict[str, Timing]
    agreement: Agreement

    def ratio(self, app: str, sql: str = "sql") -> float:
        return self.timings[app].median / self.timings[sql].median


def run_comparison(
    *, county_id: int, period: Period, now: datetime = NOW, repeat: int = 5
) -> Results:
    """Time the app's ranking of every subject against the hand-written SQL on the same
    rows, check that they agree, and time `metrics_for_period` for the month, its
    quarter and its year; with the server's settings, and on PostgreSQL with JIT off
    too. Keys: `app` (`rankings_for_period` for all three kinds, as the pages rank),
    `app_per_kind` (`ranking_for_period` once per kind), `sql`,
    `metrics_month|quarter|year`, each also with the suffix `:jit_off` on PostgreSQL."""
    args: dict[str, Any] = {"county_id": county_id, "period": period, "now": now}
    quarter = Period.quarter(period.start.year, (period.start.month - 1) // 3 + 1)
    year = Period.year(period.start.year)

    def metrics(p: Period) -> Callable[[], Any]:
        return lambda: metrics_for_period(county=county_id, period=p, now=now)

    timings: dict[str, Timing] = {}
    configurations = CONFIGURATIONS if connection.vendor == "postgresql" else CONFIGURATIONS[:1]
    agreement = None
    for suffix, setting in configurations:
        with jit(setting):
            found, results = timed_together(
                {
                    f"app{suffix}": (
                        "rankings_for_period, all 3 kinds (the pages)",
                        lambda: app_rankings(**args),
                    ),
                    f"app_per_kind{suffix}": (
                        "ranking_for_period × 3 kinds",
                        lambda: app_rankings_per_kind(**args),
                    ),
                    f"sql{suffix}": ("hand-written SQL", lambda: sql_ranking(**args)),
                },
                repeat=repeat,
            )
            timings.update(found)
            found, _results = timed_together(
                {
                    f"metrics_{name}{suffix}": (f"metrics_for_period {p.key}", metrics(p))
                    for name, p in (("month", period), ("quarter", quarter), ("year", year))
                },
                repeat=repeat,
            )
            timings.update(found)
        app, per_kind = results[f"app{suffix}"], results[f"app_per_kind{suffix}"]
        for kind, ranking in per_kind.items():
            _check(
                [(e.score.subject_id, e.rank, e.status) for e in ranking.entries]
                == [(e.score.subject_id, e.rank, e.status) for e in app[kind].entries],
                f"{kind}: rankings_for_period ranks differently from ranking_for_period",
            )
        agreement = compare(app, results[f"sql{suffix}"], exact=connection.vendor == "postgresql")
    assert agreement is not None
    return Results(timings=timings, agreement=agreement)


def _buffers(sql: str, params: Any = None) -> int:
    """The 8 kB pages a statement touches (shared buffers hit or read; PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


def pages_read(
    *, county_id: int, period: Period, now: datetime = NOW
) -> dict[str, tuple[int, int]]:
    """Queries and pages touched by each way of ranking (PostgreSQL): a measure of the
    work that, unlike the times, does not depend on what else the machine is doing."""
    from django.test.utils import CaptureQueriesContext

    args: dict[str, Any] = {"county_id": county_id, "period": period, "now": now}
    out = {}
    for key, run in (("app", app_rankings), ("app_per_kind", app_rankings_per_kind)):
        with CaptureQueriesContext(connection) as queries:
            run(**args)
        statements = [q["sql"] for q in queries.captured_queries]
        out[key] = (len(statements), sum(_buffers(sql) for sql in statements))
    params = sql_params(county_id=county_id, period=period, now=now, policy=policy_for(county_id))
    out["sql"] = (1, _buffers(hand_written_sql(), params))
    return out


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


def restore_indexes(ddl: Ddl) -> None:
    """Create again what `drop_secondary_indexes` dropped, and VACUUM ANALYZE the
    tables (the planner's statistics; the visibility map)."""
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in ddl.indexes:
            cursor.execute(definition)
        for table, name, definition in ddl.constraints:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )
    vacuum_analyze()


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        tables = [*_big_tables(), PeriodicEvaluation._meta.db_table, Organisation._meta.db_table]
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
