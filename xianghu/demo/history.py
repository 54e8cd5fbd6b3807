"""A few months of call history for the demo county, driven through the real workflow.

`build_demo_history` files some five hundred calls (over four months) from the county's
townships and departments and takes each through the services every screen uses
(`calls.services.call_create` and `call_transition`, with `at=` set to the moment the
step happens), never writing a state or an event itself. The supervision sweep
(`calls.supervision.run_sweep(now=...)`) runs at the moments the worker's per-minute
sweep would have acted, so every yellow and red card, supervision order and automatic
close is the sweep's own. So the history obeys every rule a live call does, and its
events replay to the calls' stored states (`workflow.replay`).

How it works: every call is a small script (a generator) that yields the moment of its
next step; one clock runs all scripts and the sweeps in time order, so a sweep sees
every call as it was at that moment and a merge finds its target as it then was. Steps
that would fall after `until` are not taken: the calls filed lately are still open, as
on a live platform.

What it looks like (docs/demo.md): calls on working days in office hours (urgent ones
around the clock), weighted to the domains townships call about most; most normal,
some urgent or complex; some departments reliably fast, two slow (late signatures,
overdue completions, more extensions and unsatisfied evaluations), so the rankings
differ; every month topped up so that each department, six stationed agencies and each
township have enough calls to be ranked (`MONTHLY_FLOOR`); sent-back, rejected,
withdrawn and merged calls; refused and granted returns, a dispute ruling, extensions
approved and refused, reopened calls, calls closed without evaluation, two-way calls (a
department asks a township for its cooperating duties), out-of-list calls, dispatches
to stationed agencies, and a few calls left overdue now.

Deterministic: every choice comes from `random.Random` seeded with `seed` (one stream
for the plan, one per call for its timings), so the same seed and `until` give the same
history. Idempotent: the calls carry idempotency keys starting with `KEY_PREFIX`; if
the county has any, nothing is built. The history is the past: it is written in one
transaction and nobody is notified of it (no inbox messages, e-mails or webhooks); the
assessment roll-up is folded once at its end (`_rollup_folded_at_the_end`).
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import zlib
from calendar import monthrange
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Min
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.assessment import rollup
from xianghu.assessment.policy import DEFAULTS as ASSESSMENT_DEFAULTS
from xianghu.calls import services, supervision
from xianghu.calls.models import Attachment, Call, CallEvent, Dispatch, Urgency
from xianghu.calls.outbox import outbox_muted
from xianghu.calls.parties import lead_dispatch
from xianghu.calls.services import CallDraft
from xianghu.calls.signals import event_appended
from xianghu.calls.supervision import CARD_STATES, run_sweep, yellow_moment
from xianghu.calls.workflow import MERGE_TARGET_STATES, OPEN, State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.limits import parse_limit
from xianghu.catalog.models import Item
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, DomainError, InvalidInput
from xianghu.core.workdays import (
    CHINA_TZ,
    HolidayCalendar,
    add_working_hours,
    working_time_between,
)
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, Role
from xianghu.regions.selectors import actor_for_user

from . import stories
from .county import DEFAULT_SEED, DEMO_ACCOUNTS
from .evidence import evidence_photos
from .stories import Story

DEFAULT_MONTHS = 4
MAX_MONTHS = 12

#: The idempotency keys of the history's calls start with this: the marker that the
#: history was built (and the way to tell demo calls from calls made by hand).
KEY_PREFIX = "demo-history-"

#: About this many calls are filed per working day over the whole county, by domain;
#: `top_up` adds more (see `MONTHLY_FLOOR`).
CALLS_PER_WORKING_DAY = 1.6

# Which domains the townships call about (D1 safety, D2 environment, D3 land, D4 urban
# management, D5 market, D6 farming and water, D7 social affairs).
DOMAIN_WEIGHTS = {"D1": 22, "D2": 20, "D3": 12, "D4": 22, "D5": 10, "D6": 9, "D7": 5}
_DOMAIN_OF_LOCAL = {"QH-L01": "D6", "QH-L02": "D6", "QH-L03": "D7"}

# The first township (城关街道, where the demo reporter and leader work) calls most.
_BUSY_TOWNSHIP_WEIGHT = 3

_TWO_WAY_SHARE = 0.07
_OUT_OF_LIST_SHARE = 0.07
_AGENCY_SHARE = 0.6  # where the lead department has an agency in the township

#: The share of a township's calls the platform returns for revision (驳回: the township's
#: own duty, a vague description): invalid calls in the township's assessment. Careless
#: townships are returned more often, so the townships' valid-call rates differ.
_REJECT_SHARE = 0.03
CARELESS_TOWNSHIPS = {"双河镇": 0.2, "白云乡": 0.15, "马集镇": 0.12, "清源街道": 0.08}

#: Every calendar month of the history, each department the list or the stories send
#: calls to, each agency of `FLOOR_AGENCIES` and each township lead (townships: send or
#: lead) at least this many calls — the default minimum volume of a ranking (红黑榜) —
#: so that the rankings have subjects to rank. A month the history covers in part gets
#: its share (`_Planner.top_up`).
MONTHLY_FLOOR = ASSESSMENT_DEFAULTS.min_volume

#: Every month each township leads at least this many two-way calls (双向呼叫: a
#: department asks for its cooperating duties), so that the townships' cooperation and
#: satisfaction count in their assessment.
TWO_WAY_FLOOR = 1

#: Stationed agencies (lead department, host township) held to the monthly floor; the
#: others lead the calls that happen to fall to them.
FLOOR_AGENCIES: tuple[tuple[str, str], ...] = (
    ("市场监管局", "城关街道"),
    ("市场监管局", "王庄镇"),
    ("市场监管局", "马集镇"),
    ("自然资源局", "王庄镇"),
    ("自然资源局", "柳林镇"),
    ("自然资源局", "石桥镇"),
)

# The workers' sweep runs every minute; the simulated one runs at this second of the
# minute after the moment something falls due.
_SWEEP_SECOND = 7
# Closing calls nobody evaluated: a sweep just after the end of every working day (the
# evaluation windows end there).
_EVENING_SWEEP = time(17, 31, _SWEEP_SECOND)

_MERGE_TARGET_STATES = MERGE_TARGET_STATES

# How the assessment app connects its roll-up receivers (`AssessmentConfig.ready`).
_ROLLUP_UID = "assessment_rollup"
_EVIDENCE_UID = "assessment_evidence"

# The documented accounts (README) act three times as often as their colleagues, so that
# logging in as `reporter`, `operator` or `handler` shows plenty of one's own work.
_DOCUMENTED = frozenset(account.username for account in DEMO_ACCOUNTS)


def _pick(rng: random.Random, users: list[Any]) -> Any:
    return rng.choices(users, weights=[3 if u.username in _DOCUMENTED else 1 for u in users])[0]


@dataclass(frozen=True)
class Pace:
    """How an organisation handles its calls. The ranges are fractions of the clock in
    question (signing, response, completion window): below 1 on time, above 1 late."""

    sign: tuple[float, float]
    respond: tuple[float, float]
    complete: tuple[float, float]
    late: float  # chance the completion overruns its deadline
    extension: float  # chance of asking for an extension
    unsatisfied: float  # chance the caller is unsatisfied with the result


FAST = Pace((0.05, 0.4), (0.1, 0.5), (0.2, 0.6), late=0.02, extension=0.03, unsatisfied=0.03)
STEADY = Pace((0.15, 0.9), (0.2, 0.85), (0.35, 0.9), late=0.08, extension=0.07, unsatisfied=0.08)
SLOW = Pace((0.5, 1.6), (0.5, 1.4), (0.6, 1.0), late=0.35, extension=0.18, unsatisfied=0.18)

#: Departments (by short name) that are reliably fast, and the two that are slow;
#: stationed agencies keep their department's pace, townships and the rest are steady.
PACES: dict[str, Pace] = {
    "应急管理局": FAST,
    "消防救援大队": FAST,
    "市场监管局": FAST,
    "公安局": FAST,
    "公安局交警大队": FAST,
    "综合行政执法局": SLOW,
    "自然资源局": SLOW,
}


@dataclass(frozen=True)
class HistorySummary:
    """What `build_demo_history` built (or found): the history's calls and events."""

    start: datetime
    until: datetime
    calls: int
    events: int
    open: int
    overdue: int
    closed: int
    skipped: bool = False  # the county had its history already
    problems: tuple[str, ...] = ()  # steps the workflow refused (none expected)


# --------------------------------------------------------------------------- the cast


@dataclass
class _Township:
    org: Organisation
    region: Region
    villages: list[Region]
    urban: bool


@dataclass
class _Cast:
    """The county's organisations and people, loaded once."""

    county: Region
    version_id: int
    items: dict[str, Item]
    townships: list[_Township]
    departments: dict[str, Organisation]  # by short name
    agencies: dict[tuple[int, int], Organisation]  # (department id, township region id)
    organisations: dict[int, Organisation]
    people: dict[tuple[int, str], list[Any]]  # (organisation id, role) → users
    operators: list[Any]
    # One pace for every organisation (the multi-county demo's peer counties, so that
    # they rank apart); None: `PACES`, careless townships, the rest steady.
    base_pace: Pace | None = None

    @classmethod
    def load(cls, county: Region, *, pace: Pace | None = None) -> _Cast:
        version = catalog_selectors.county_version_in_force(county=county)
        if version is None:
            raise Conflict(
                _("The county has no list in force: build the demo county first."),
                code="demo.no_list",
            )
        items = {
            item.code: item
            for item in Item.objects.filter(version=version, callable=True).prefetch_related(
                "parties"
            )
        }
        orgs = list(
            Organisation.objects.filter(county=county, is_active=True)
            .select_related("region")
            .order_by("name")
        )
        by_id = {o.pk: o for o in orgs}
        people: dict[tuple[int, str], list[Any]] = {}
        memberships = (
            Membership.objects.filter(organisation_id__in=by_id, is_active=True)
            .select_related("user")
            .order_by("user__username")
        )
        for m in memberships:
            people.setdefault((m.organisation_id, m.role), []).append(m.user)
        villages: dict[int, list[Region]] = {}
        for region in Region.objects.filter(parent__parent=county).order_by("code"):
            villages.setdefault(region.parent_id or 0, []).append(region)
        townships = [
            _Township(
                org=o,
                region=o.region,
                villages=villages.get(o.region_id, []),
                urban=o.region.kind == RegionKind.SUBDISTRICT,
            )
            for o in sorted(
                (o for o in orgs if o.kind == OrgKind.TOWNSHIP), key=lambda o: o.region.code
            )
            if people.get((o.pk, Role.TOWNSHIP_REPORTER))
            and people.get((o.pk, Role.TOWNSHIP_LEADER))
        ]
        platform = [o for o in orgs if o.kind == OrgKind.PLATFORM_CENTRE]
        operators = [u for o in platform for u in people.get((o.pk, Role.PLATFORM_OPERATOR), [])]
        if not townships or not operators:
            raise Conflict(
                _("The county has no township staff or platform operators to make a history."),
                code="demo.not_a_demo_county",
            )
        return cls(
            county=county,
            version_id=version.pk,
            items=items,
            townships=townships,
            departments={o.short_name or o.name: o for o in orgs if o.kind == OrgKind.DEPARTMENT},
            agencies={
                (o.parent_id, o.township_id): o
                for o in orgs
                if o.kind == OrgKind.STATIONED_AGENCY and o.parent_id and o.township_id
            },
            organisations=by_id,
            people=people,
            operators=sorted(operators, key=lambda u: u.username),
            base_pace=pace,
        )

    def staff(self, org: Organisation, *roles: str) -> list[Any]:
        for role in roles:
            found = self.people.get((org.pk, role))
            if found:
                return found
        raise Conflict(
            _("%(org)s has no staff to act for it.") % {"org": org.name}, code="demo.no_staff"
        )

    def department_of(self, item: Item) -> Organisation | None:
        """The lead the list names for `item` (the first primary party)."""
        primary = sorted(catalog_selectors.primary_organisation_ids(item))
        return self.organisations.get(primary[0]) if primary else None

    def pace(self, org: Organisation) -> Pace:
        if self.base_pace is not None:
            return self.base_pace
        if org.kind == OrgKind.STATIONED_AGENCY and org.parent_id in self.organisations:
            org = self.organisations[org.parent_id]
        if org.kind == OrgKind.DEPARTMENT:
            return PACES.get(org.short_name, STEADY)
        if org.kind == OrgKind.TOWNSHIP and org.region.name in CARELESS_TOWNSHIPS:
            return SLOW  # careless with its cooperating duties too
        return STEADY


# --------------------------------------------------------------------------- the plan


# The fictional county's centre; each township sits at a fixed offset from it.
_CENTRE = (Decimal("36.700000"), Decimal("116.900000"))


def _coordinates(plan: _Plan) -> dict[str, Decimal]:
    """A point near the call's township, from its code and the call's index only (never
    the random streams, so the rest of the history stays as it was)."""
    code = zlib.crc32(plan.township.region.code.encode())
    spot = zlib.crc32(f"{plan.township.region.code}-{plan.index}".encode())
    lat = _CENTRE[0] + Decimal(code % 300 - 150) / 1000 + Decimal(spot % 21 - 10) / 1000
    lon = _CENTRE[1] + Decimal(code // 300 % 300 - 150) / 1000
    lon += Decimal(spot // 21 % 21 - 10) / 1000
    step = Decimal("0.000001")
    return {"latitude": lat.quantize(step), "longitude": lon.quantize(step)}


@dataclass
class _Plan:
    """One call to make: where, what, and the turns it is meant to take (None: drawn
    from the lead's pace when the time comes)."""

    index: int
    created: datetime
    township: _Township
    story: Story
    urgency: str
    rng: random.Random  # the call's own stream, for its timings and wording
    kind: str = "up"  # up: a township's call; down: a two-way call; out: out of the list
    caller_department: Organisation | None = None  # for a two-way call
    pre: str = ""  # send_back, reject, withdraw
    handling: str = ""  # return_agreed, return_refused
    extension: str | None = None  # "", approve, refuse
    evaluation: str | None = None  # satisfied, basically, unsatisfied, twice, none
    late: bool | None = None
    stuck: bool = False  # the lead never completes: overdue now
    duplicate_of: int | None = None  # merged into this plan's call if still open
    forced: bool = False
    agency: bool = False  # the lead department's agency in the township leads it
    location: Region | None = None
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def item_code(self) -> str | None:
        return self.story.code if self.kind != "out" else None

    @property
    def urgent(self) -> bool:
        return self.urgency == Urgency.URGENT


def _domain(code: str) -> str:
    return _DOMAIN_OF_LOCAL.get(code, code.split("-")[0])


def _is_short(item: Item) -> bool:
    """Completed within 3 working days (or less): fits several rounds in a month."""
    limit = parse_limit(item.complete_limit)
    return limit.unit in ("m", "h") or (limit.unit in ("wd", "d") and limit.amount <= 3)


class _Planner:
    def __init__(
        self,
        *,
        cast: _Cast,
        rng: random.Random,
        seed: int,
        start: datetime,
        until: datetime,
        floor: int = MONTHLY_FLOOR,
    ) -> None:
        self.cast, self.rng, self.seed = cast, rng, seed
        self.floor = floor
        self.start, self.until = start, until
        self.calendar = HolidayCalendar.load(start.year - 1, until.year + 1)
        self.stories = [s for s in stories.STORIES if s.code in cast.items]
        self.two_way = [
            s
            for s in stories.TWO_WAY
            if s.code in cast.items and cast.department_of(cast.items[s.code]) is not None
        ]
        self.out_of_list = [s for s in stories.OUT_OF_LIST if s.department in cast.departments]
        if not self.stories:
            raise Conflict(
                _("The list in force has none of the demo's items."), code="demo.no_items"
            )
        # The stories each department leads: its list items, or (a department that leads
        # none, such as 公安局) the out-of-list calls the platform sends it.
        self.led_by: dict[int, list[Story]] = {}
        for story in self.stories:
            lead = self.story_lead(story)
            if lead is not None:
                self.led_by.setdefault(lead.pk, []).append(story)
        for story in self.out_of_list:
            department = cast.departments[story.department]
            if department.pk not in self.led_by or self.led_by[department.pk][0].code is None:
                self.led_by.setdefault(department.pk, []).append(story)

    def working_days(self) -> list[date]:
        day, end, days = self.start.date(), self.until.date(), []
        while day <= end:
            if self.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def moment(self, day: date) -> datetime:
        """A moment in office hours (08:30–12:00, 13:30–17:30) of `day`."""
        minute = self.rng.randrange(450)
        base = time(8, 30) if minute < 210 else time(13, 30)
        offset = minute if minute < 210 else minute - 210
        at = datetime.combine(day, base, tzinfo=CHINA_TZ)
        return at + timedelta(minutes=offset, seconds=self.rng.randrange(60))

    def plans(self, *, months: int) -> list[_Plan]:
        days = self.working_days()
        latest = self.until - timedelta(minutes=30)
        moments = []
        for _n in range(round(CALLS_PER_WORKING_DAY * len(days))):
            at = self.moment(self.rng.choice(days))
            if self.start <= at <= latest:
                moments.append(at)
        plans = [self.plan(i, at) for i, at in enumerate(sorted(moments))]
        self.force(plans, months=months)
        for plan in plans:
            lead = self.story_lead(plan.story) if plan.kind != "down" else None
            hosted = lead is not None and (lead.pk, plan.township.region.pk) in self.cast.agencies
            plan.agency = hosted and self.rng.random() < _AGENCY_SHARE
        plans.extend(self.top_up(plans))
        plans.extend(self.duplicates(plans, count=months + self.rng.randint(0, months)))
        return sorted(plans, key=lambda p: (p.created, p.index))

    # --- enough calls to rank

    def story_lead(self, story: Story) -> Organisation | None:
        """The department a call about `story` goes to, as `_Simulation.dispatch_target`
        finds it: the list's lead for the item, else the story's department."""
        item = self.cast.items.get(story.code) if story.code else None
        lead = self.cast.department_of(item) if item is not None else None
        return lead or self.cast.departments.get(story.department)

    def lead_of(self, plan: _Plan) -> Organisation | None:
        """The organisation that will lead the plan's call; None for a two-way call (the
        township leads it)."""
        if plan.kind == "down":
            return None
        lead = self.story_lead(plan.story)
        if lead is not None and plan.agency:
            return self.cast.agencies.get((lead.pk, plan.township.region.pk), lead)
        return lead

    def month_slices(self) -> list[tuple[list[date], int]]:
        """The history's working days by calendar month, less the month's last two (a
        call filed then may be dispatched the next month, or after `until`), each with
        its floor: `MONTHLY_FLOOR` times the share of the month's working days the
        history covers, rounded up; none for a month it covers less than half of (the
        calls would crowd into a few days)."""
        by_month: dict[tuple[int, int], list[date]] = {}
        for day in self.working_days():
            by_month.setdefault((day.year, day.month), []).append(day)
        slices = []
        for (year, month), days in by_month.items():
            whole = sum(
                1
                for n in range(1, monthrange(year, month)[1] + 1)
                if self.calendar.is_working_day(date(year, month, n))
            )
            floor = math.ceil(self.floor * len(days) / whole) if 2 * len(days) >= whole else 0
            slices.append((days[:-2], floor))
        return slices

    def tally(self, plans: list[_Plan], days: set[date]) -> tuple[Counter[int], Counter[int]]:
        """Of the plans filed on `days` that reach a lead: the calls each organisation
        leads (a township: the two-way calls), and the calls each township sends or
        leads, by organisation id."""
        leads: Counter[int] = Counter()
        townships: Counter[int] = Counter()
        for plan in plans:
            if plan.created.date() not in days or plan.pre == "withdraw" or plan.duplicate_of:
                continue
            leads[(self.lead_of(plan) or plan.township.org).pk] += 1
            townships[plan.township.org.pk] += 1
        return leads, townships

    def top_up(self, plans: list[_Plan]) -> list[_Plan]:
        """Plain calls added to each month so that every subject of the rankings has
        `MONTHLY_FLOOR` calls (`top_up_month`)."""
        cast = self.cast
        townships = {t.region.name: t for t in cast.townships}
        agencies = []
        for department_name, township_name in FLOOR_AGENCIES:
            department = cast.departments.get(department_name)
            host = townships.get(township_name)
            agency = (
                cast.agencies.get((department.pk, host.region.pk))
                if department is not None and host is not None
                else None
            )
            if agency is not None and department is not None and host is not None:
                agencies.append((agency, department, host))
        made: list[_Plan] = []
        for days, floor in self.month_slices():
            if days:
                made += self.top_up_month([*plans, *made], days, floor, agencies)
        return made

    def top_up_month(
        self,
        plans: list[_Plan],
        days: list[date],
        floor: int,
        agencies: list[tuple[Organisation, Organisation, _Township]],
    ) -> list[_Plan]:
        """The calls one month needs: first for the agencies of `FLOOR_AGENCIES` (from
        their host township), then for each department (from the townships that called
        least that month), then for the townships still below the floor, and two-way
        calls for the townships asked for their cooperating duties less than
        `TWO_WAY_FLOOR` times."""
        rng, cast = self.rng, self.cast
        leads, volume = self.tally(plans, set(days))
        made: list[_Plan] = []

        def fits(story: Story, township: _Township) -> bool:
            return story.place == "any" or (story.place == "urban") == township.urban

        def add(township: _Township, story: Story, *, agency: bool, two_way: bool = False) -> None:
            index = len(plans) + len(made)
            plan = _Plan(
                index=index,
                created=self.moment(rng.choice(days)),
                township=township,
                story=story,
                urgency=self.urgency_for(story) if story.code else Urgency.NORMAL,
                rng=random.Random(f"{self.seed}/{index}"),
                kind="up" if story.code else "out",
                pre="reject" if rng.random() < self.reject_share(township) else "",
                agency=agency,
            )
            if two_way:
                self.make_two_way(plan, story=story)
            self.fill_slots(plan)
            made.append(plan)
            leads[(self.lead_of(plan) or township.org).pk] += 1
            volume[township.org.pk] += 1

        for agency, department, host in agencies:
            fitting = [s for s in self.led_by.get(department.pk, []) if fits(s, host)]
            for _n in range(floor - leads[agency.pk] if fitting else 0):
                add(host, rng.choice(fitting), agency=True)
        for _name, department in sorted(cast.departments.items()):
            # A department the list and the stories send nothing (发展和改革局) has no
            # calls: the rankings show it as "no data".
            led = self.led_by.get(department.pk, [])
            for _n in range(floor - leads[department.pk] if led else 0):
                story = rng.choice(led)
                where = [t for t in cast.townships if fits(story, t)] or cast.townships
                # The township that called least for its share (the first calls most).
                quietest = min(
                    where, key=lambda t: (volume[t.org.pk] / self.weight(t), rng.random())
                )
                add(quietest, story, agency=False)
        for township in cast.townships:
            for _n in range(floor - volume[township.org.pk]):
                story = self.pick_story(township)
                lead = self.story_lead(story)
                hosted = lead is not None and (lead.pk, township.region.pk) in cast.agencies
                add(township, story, agency=hosted and rng.random() < _AGENCY_SHARE)
        for township in cast.townships:
            for _n in range(min(TWO_WAY_FLOOR, floor) - leads[township.org.pk]):
                if self.two_way:
                    add(township, rng.choice(self.two_way), agency=False, two_way=True)
        return made

    def weight(self, township: _Township) -> int:
        """How often the township calls, relative to the others."""
        return _BUSY_TOWNSHIP_WEIGHT if township is self.cast.townships[0] else 1

    def plan(self, index: int, created: datetime) -> _Plan:
        rng = self.rng
        weights = [self.weight(t) for t in self.cast.townships]
        township = rng.choices(self.cast.townships, weights=weights)[0]
        roll = rng.random()
        plan = _Plan(
            index=index,
            created=created,
            township=township,
            story=self.stories[0],
            urgency=Urgency.NORMAL,
            rng=random.Random(f"{self.seed}/{index}"),
        )
        if roll < _TWO_WAY_SHARE and self.two_way:
            self.make_two_way(plan)
        elif roll < _TWO_WAY_SHARE + _OUT_OF_LIST_SHARE and self.out_of_list:
            self.make_out_of_list(plan)
            if rng.random() < 0.3:
                plan.handling = "return_agreed"
        else:
            plan.story = self.pick_story(township)
            plan.urgency = self.urgency_for(plan.story)
            if plan.urgency != Urgency.URGENT and rng.random() < 0.035:
                plan.handling = "return_refused"
        if plan.kind != "down":
            pre = rng.random()
            reject = self.reject_share(township)
            plan.pre = (
                "send_back"
                if pre < 0.03
                else "reject"
                if pre < 0.03 + reject
                else "withdraw"
                if pre < 0.055 + reject
                else ""
            )
        self.fill_slots(plan)
        return plan

    def reject_share(self, township: _Township) -> float:
        return CARELESS_TOWNSHIPS.get(township.region.name, _REJECT_SHARE)

    def pick_story(self, township: _Township, *, short: bool = False, slow: bool = False) -> Story:
        """A story for the township, by domain weight; `short`: on an item completed within
        three working days; `slow`: on an item whose lead is not one of the fast ones."""
        rng = self.rng
        fits = [
            s
            for s in self.stories
            if s.place == "any" or (s.place == "urban") == township.urban
            if not short or _is_short(self.cast.items[s.code or ""])
            if not slow or self.lead_pace(s) is not FAST
        ]
        fits = fits or self.stories
        domains = sorted({_domain(s.code or "") for s in fits})
        domain = rng.choices(domains, weights=[DOMAIN_WEIGHTS.get(d, 1) for d in domains])[0]
        return rng.choice([s for s in fits if _domain(s.code or "") == domain])

    def lead_pace(self, story: Story) -> Pace:
        lead = self.cast.department_of(self.cast.items[story.code or ""])
        return self.cast.pace(lead) if lead is not None else STEADY

    def urgency_for(self, story: Story) -> str:
        roll = self.rng.random()
        if story.urgent:
            return Urgency.URGENT if roll < 0.7 else Urgency.NORMAL
        if story.complex:
            return Urgency.COMPLEX if roll < 0.6 else Urgency.NORMAL
        return Urgency.URGENT if roll < 0.03 else Urgency.COMPLEX if roll < 0.11 else Urgency.NORMAL

    def make_two_way(self, plan: _Plan, *, story: Story | None = None) -> None:
        plan.kind = "down"
        plan.story = story or self.rng.choice(self.two_way)
        plan.caller_department = self.cast.department_of(self.cast.items[plan.story.code or ""])
        plan.urgency = Urgency.NORMAL
        plan.pre = plan.handling = ""

    def make_out_of_list(self, plan: _Plan) -> None:
        plan.kind = "out"
        fits = [
            s
            for s in self.out_of_list
            if s.place == "any" or (s.place == "urban") == plan.township.urban
        ]
        plan.story = self.rng.choice(fits or self.out_of_list)
        plan.urgency = Urgency.NORMAL

    def fill_slots(self, plan: _Plan) -> None:
        rng = self.rng
        township = plan.township
        village = rng.choice(township.villages) if township.villages else township.region
        road, road2 = rng.sample(stories.ROADS, 2)
        short = township.org.short_name or township.region.name
        plan.slots = {
            "t": township.region.name,
            "v": village.name,
            "road": road,
            "road2": road2,
            "co": stories.company(rng, prefix=f"清河县{short[:2]}"),
            "who": stories.person(rng),
            "n": str(rng.randint(3, 480)),
        }
        plan.location = village

    def force(self, plans: list[_Plan], *, months: int) -> None:
        """Make sure every kind of turn happens, on calls filed early enough to take it
        before `until` (the random draws alone could miss one in a short history), and
        leave a few calls overdue now."""
        rng = self.rng
        span = self.until - self.start
        early = [p for p in plans if p.created < self.start + span * 0.55]
        earliest = [p for p in early if p.created < self.start + span * 0.3]
        rng.shuffle(early)
        rng.shuffle(earliest)
        used: set[int] = set()

        def take(pool: list[_Plan], count: int) -> list[_Plan]:
            chosen = [p for p in pool if p.index not in used][:count]
            for p in chosen:
                used.add(p.index)
                p.forced = True
                p.pre = p.handling = ""
                p.kind, p.caller_department = "up", None
                p.extension, p.evaluation, p.late, p.stuck = "", "satisfied", False, False
                if p.story.code is None or p.story in self.two_way:
                    p.story = self.pick_story(p.township)
                p.urgency = Urgency.NORMAL
            return chosen

        for p in take(earliest, 1):
            p.story = self.pick_story(p.township, short=True)
            p.evaluation = "twice"
        for p in take(earliest, months):
            p.story = self.pick_story(p.township, short=True)
            p.evaluation = "unsatisfied"
        for p in take(early, max(1, months // 2)):
            p.pre = "withdraw"
        for p in take(early, max(1, months // 2)):
            p.pre = "send_back"
        for p in take(early, max(1, months // 2)):
            p.pre = "reject"
        for p in take(early, months):
            p.handling = "return_refused"
        for p in take(early, months):
            self.make_out_of_list(p)
            p.handling = "return_agreed"
        for p in take(early, 2 * months):
            if self.two_way:
                self.make_two_way(p)
        for p in take(early, months):
            p.extension = "approve"
        for p in take(early, max(1, months // 2)):
            p.extension = "refuse"
        for p in take(early, months):
            p.evaluation = "none"
        # Overdue now: filed two or three weeks ago, the lead never finishes.
        days = self.working_days()
        window = set(days[-16:-6]) if len(days) > 16 else set(days[: len(days) // 2])
        late = [p for p in plans if p.created.date() in window and p.index not in used]
        rng.shuffle(late)
        for p in take(late, 2 + months // 2):
            p.stuck = True
            p.story = self.pick_story(p.township, slow=True)
        for p in [p for p in plans if p.index in used]:
            self.fill_slots(p)

    def duplicates(self, plans: list[_Plan], *, count: int) -> list[_Plan]:
        """Calls about a problem another reporter of the township called about an hour or
        two earlier: the platform merges them into the first."""
        span = self.until - self.start
        targets = [
            p
            for p in plans
            if p.kind == "up"
            and not p.pre
            and not p.handling
            and not p.forced
            and p.created < self.start + span * 0.8
        ]
        self.rng.shuffle(targets)
        made = []
        for n, target in enumerate(targets[:count]):
            created = add_working_hours(
                target.created, self.rng.uniform(0.4, 2.5), calendar=self.calendar
            ).replace(microsecond=0)
            if created >= self.until - timedelta(minutes=30):
                continue
            index = len(plans) + n
            made.append(
                _Plan(
                    index=index,
                    created=created,
                    township=target.township,
                    story=target.story,
                    urgency=target.urgency,
                    duplicate_of=target.index,
                    location=target.location,
                    slots=dict(target.slots),
                    rng=random.Random(f"{self.seed}/{index}"),
                )
            )
        return made


# --------------------------------------------------------------------------- the clock


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class _Simulation:
    """Runs the call scripts and the sweeps in time order."""

    def __init__(self, *, cast: _Cast, seed: int, start: datetime, until: datetime) -> None:
        self.cast, self.seed = cast, seed
        self.start, self.until = start, until
        self.now = start
        self.calendar = HolidayCalendar.load(start.year - 1, until.year + 1)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.counter = 0
        self.calls: dict[int, Call] = {}  # plan index → call
        self.versions: dict[int, int] = {}  # call id → human steps so far
        self.actors: dict[int, Actor] = {}
        self.last_sweep: datetime | None = None
        self.problems: list[str] = []

    # --- the queue

    def push(self, at: datetime, kind: str, payload: Any) -> None:
        """Queue a step or a sweep at `at` (never before now: time only goes forward)."""
        self.counter += 1
        heapq.heappush(self.queue, (max(at, self.now), self.counter, kind, payload))

    def run(self, plans: list[_Plan], days: list[date]) -> None:
        for plan in plans:
            self.push(plan.created, "call", (plan, self.script(plan)))
        for day in days:
            self.push(datetime.combine(day, _EVENING_SWEEP, tzinfo=CHINA_TZ), "sweep", None)
        while self.queue:
            at, _n, kind, payload = heapq.heappop(self.queue)
            if at > self.until:
                break
            self.now = at
            if kind == "sweep":
                self.sweep(payload)
            else:
                self.step(*payload)
        self.now = self.until
        self.sweep(None)

    def step(self, plan: _Plan, script: Iterator[datetime]) -> None:
        try:
            at = next(script)
        except StopIteration:
            return
        except DomainError as error:
            # Not expected: the scripts take only steps the workflow allows. The call
            # stays where it is and the problem is reported, instead of losing the demo.
            call = self.calls.get(plan.index)
            self.problems.append(
                f"call {call.number if call else plan.index}: {error.code}: {error.message}"
            )
            return
        self.push(at, "call", (plan, script))

    def sweep(self, payload: tuple[int, int] | None) -> None:
        if payload is not None:
            call_id, version = payload
            if self.versions.get(call_id) != version:
                return  # the call moved on: the clock this sweep was for has stopped
        if self.now == self.last_sweep:
            return
        self.last_sweep = self.now
        run_sweep(now=self.now)

    def sweep_after(self, moment: datetime) -> datetime:
        """The first per-minute sweep strictly after `moment`."""
        return moment.replace(second=_SWEEP_SECOND, microsecond=0) + timedelta(minutes=1)

    def schedule_sweeps(self, call: Call) -> None:
        """Sweeps at the yellow moment and just after the deadline of the lead's open
        clock, and after a second reopening (a supervision order)."""
        version = self.versions.get(call.pk, 0)
        # The call's next deadline is its lead's open clock (`supervision.open_clock`).
        due = call.next_deadline
        if call.state in CARD_STATES and due is not None:
            first = self.sweep_after(max(yellow_moment(due, calendar=self.calendar), self.now))
            if first < due:
                self.push(first, "sweep", (call.pk, version))
            self.push(self.sweep_after(max(due, self.now)), "sweep", (call.pk, version))
        # Where the sweep also reminds automatically (催办) once a share of the clock has
        # run, the call says when (`remind_at`): a sweep then too.
        remind = getattr(call, "remind_at", None)
        if remind is not None:
            self.push(self.sweep_after(max(remind, self.now)), "sweep", (call.pk, version))
        if call.reopen_count >= 2 and call.state == State.REOPENED:
            self.push(self.sweep_after(self.now), "sweep", (call.pk, version))

    # --- times

    def later(self, plan: _Plan, low: float, high: float, *, clock: bool = False) -> datetime:
        """A person's next step, `low`–`high` minutes from now: working minutes, or
        clock minutes on an urgent call when `clock` (someone is on duty)."""
        minutes = plan.rng.uniform(low, high)
        if clock and plan.urgent:
            return _second(self.now + timedelta(minutes=minutes))
        return _second(add_working_hours(self.now, minutes / 60, calendar=self.calendar))

    def within(
        self,
        plan: _Plan,
        start: datetime,
        due: datetime | None,
        fraction: float,
        *,
        gap: tuple[float, float],
    ) -> datetime:
        """The moment `fraction` of the way from `start` to `due` (working time; clock
        time on urgent calls), but at least `gap` minutes after now."""
        earliest = self.later(plan, *gap, clock=True)
        if due is None:
            return earliest
        if plan.urgent:
            target = start + (due - start) * fraction
        else:
            span = max(working_time_between(start, due, calendar=self.calendar), timedelta())
            hours = span.total_seconds() * fraction / 3600
            target = add_working_hours(start, hours, calendar=self.calendar)
        return max(_second(target), earliest)

    def between(self, plan: _Plan, a: datetime, b: datetime, fraction: float) -> datetime:
        if plan.urgent:
            return _second(a + (b - a) * fraction)
        span = max(working_time_between(a, b, calendar=self.calendar), timedelta())
        return _second(
            add_working_hours(a, span.total_seconds() * fraction / 3600, calendar=self.calendar)
        )

    # --- acting

    def actor(self, user: Any) -> Actor:
        if user.pk not in self.actors:
            self.actors[user.pk] = actor_for_user(user=user)
        return self.actors[user.pk]

    def act(self, user: Any | None, call: Call, action: str, **data: Any) -> None:
        services.call_transition(
            actor=self.actor(user) if user is not None else None,
            call=call,
            action=action,
            data=data,
            at=self.now,
            # A step the evidence rule covers gets a generated photo (demo/evidence.py).
            photos=evidence_photos(action, data) if user is not None else [],
        )
        self.versions[call.pk] = self.versions.get(call.pk, 0) + 1
        self.schedule_sweeps(call)

    def operator(self, plan: _Plan) -> Any:
        return _pick(plan.rng, self.cast.operators)

    def create(self, plan: _Plan, user: Any, caller: Organisation, **kw: Any) -> Call:
        slots = plan.slots
        title = stories.fill(plan.story.title, slots)
        if plan.duplicate_of is not None:
            title = f"{title}（群众再次反映）"
        assert plan.location is not None
        draft = CallDraft(
            title=title[:120],
            description=stories.fill(plan.story.description, slots),
            location=plan.location,
            urgency=plan.urgency,
            item=self.cast.items[plan.item_code] if plan.item_code else None,
            address=stories.fill(plan.rng.choice(stories.ADDRESSES), slots),
            **{**_coordinates(plan), **kw},
        )
        call, _created = services.call_create(
            actor=self.actor(user),
            caller=caller,
            draft=draft,
            idempotency_key=f"{KEY_PREFIX}{self.seed}-{plan.index:04d}",
            at=self.now,
        )
        self.calls[plan.index] = call
        self.versions[call.pk] = 0
        return call

    # --- the scripts

    def script(self, plan: _Plan) -> Iterator[datetime]:
        if plan.kind == "down":
            yield from self.two_way(plan)
        else:
            yield from self.township_call(plan)

    def township_call(self, plan: _Plan) -> Iterator[datetime]:
        rng, township = plan.rng, plan.township
        reporter = _pick(rng, self.cast.staff(township.org, Role.TOWNSHIP_REPORTER))
        leader = _pick(rng, self.cast.staff(township.org, Role.TOWNSHIP_LEADER))
        call = self.create(plan, reporter, township.org)
        yield self.later(plan, 3, 40, clock=True)
        self.act(reporter, call, "submit")
        if plan.pre == "withdraw":
            yield self.later(plan, 20, 240)
            self.act(reporter, call, "withdraw")
            return
        yield self.later(plan, 10, 150)
        if plan.pre == "send_back":
            self.act(leader, call, "send_back", reason=rng.choice(stories.SEND_BACK_REASONS))
            yield self.later(plan, 30, 300)
            self.act(reporter, call, "submit")
            yield self.later(plan, 10, 150)
        self.act(leader, call, "approve")
        yield self.later(plan, 5, 60, clock=True)
        operator = self.operator(plan)
        target = self.calls.get(plan.duplicate_of) if plan.duplicate_of is not None else None
        if target is not None:
            target.refresh_from_db(fields=["state"])
            if target.state in _MERGE_TARGET_STATES:
                self.act(operator, call, "merge", into=target.pk)
                return
        if plan.pre == "reject":
            self.act(operator, call, "reject", reason=rng.choice(stories.REJECT_REASONS))
            yield self.later(plan, 120, 600)
            self.act(reporter, call, "submit")
            yield self.later(plan, 10, 150)
            self.act(leader, call, "approve")
            yield self.later(plan, 5, 60)
        self.act(operator, call, "accept")
        yield self.later(plan, 2, 30, clock=True)
        lead, assisting = self.dispatch_target(plan, call)
        if plan.handling == "return_agreed":
            wrong = self.wrong_department(plan, right=lead)
            self.act(operator, call, "dispatch", lead=wrong.pk, assisting=[])
            yield self.later(plan, 20, 180)
            boss = _pick(
                rng, self.cast.staff(wrong, Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER)
            )
            reason = f"{rng.choice(stories.RETURN_REASONS)}（建议由{lead.name}办理）"
            self.act(boss, call, "request_return", reason=reason)
            yield self.later(plan, 30, 180)
            self.act(operator, call, "agree_return", reason=rng.choice(stories.RETURN_AGREED))
            yield self.later(plan, 5, 60)
        self.act(operator, call, "dispatch", lead=lead.pk, assisting=[o.pk for o in assisting])
        if plan.handling == "return_refused":
            yield self.later(plan, 20, 180)
            boss = _pick(
                rng, self.cast.staff(lead, Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER)
            )
            self.act(boss, call, "request_return", reason=rng.choice(stories.RETURN_REASONS))
            yield self.later(plan, 30, 180)
            self.act(operator, call, "refuse_return", reason=rng.choice(stories.RETURN_REFUSED))
            yield self.later(plan, 60, 300)
            self.act(operator, call, "rule", reason=rng.choice(stories.RULINGS))
        yield from self.handle(plan, call, lead=lead, callers=(reporter, leader))

    def two_way(self, plan: _Plan) -> Iterator[datetime]:
        """A department asks a township for its cooperating duties (双向呼叫)."""
        rng, department = plan.rng, plan.caller_department
        assert department is not None
        handler = _pick(rng, self.cast.staff(department, Role.DEPARTMENT_HANDLER))
        leader = _pick(rng, self.cast.staff(department, Role.DEPARTMENT_LEADER))
        township = plan.township.org
        call = self.create(plan, handler, department, callee=township)
        yield self.later(plan, 5, 60)
        self.act(handler, call, "submit")
        yield self.later(plan, 20, 240)
        self.act(leader, call, "approve")
        yield self.later(plan, 5, 90)
        operator = self.operator(plan)
        self.act(operator, call, "accept")
        yield self.later(plan, 2, 30)
        self.act(operator, call, "dispatch", lead=township.pk, assisting=[])
        yield from self.handle(plan, call, lead=township, callers=(handler, leader))

    def dispatch_target(self, plan: _Plan, call: Call) -> tuple[Organisation, list[Organisation]]:
        """The list's suggestion, as the dispatch form pre-fills it; where the list names
        no lead (out of the list, the township's own duty) the story's department; and in
        a township hosting an agency of the lead department, often that agency."""
        orgs = self.cast.organisations
        suggestion = services.suggested_dispatch(call=call)
        lead = orgs.get(suggestion["lead"]) if suggestion["lead"] is not None else None
        assisting = [orgs[i] for i in suggestion["assisting"] if i in orgs]
        if lead is None:
            lead = self.cast.departments.get(plan.story.department) or (
                assisting[0] if assisting else None
            )
            assisting = []
        if lead is None:
            raise Conflict(
                _("No department can handle %(call)s.") % {"call": call.number},
                code="demo.no_lead",
            )
        agency = self.cast.agencies.get((lead.pk, plan.township.region.pk))
        if agency is not None and plan.agency:
            lead = agency
        return lead, assisting

    def wrong_department(self, plan: _Plan, *, right: Organisation) -> Organisation:
        others = [o for _n, o in sorted(self.cast.departments.items()) if o.pk != right.pk]
        return plan.rng.choice(others)

    def lead_staff(self, org: Organisation) -> tuple[list[Any], list[Any]]:
        """(handlers, leaders) of the lead organisation."""
        if org.kind == OrgKind.TOWNSHIP:
            return (
                self.cast.staff(org, Role.TOWNSHIP_REPORTER),
                self.cast.staff(org, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_REPORTER),
            )
        return (
            self.cast.staff(org, Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_LEADER),
            self.cast.staff(org, Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER),
        )

    def outcomes(self, plan: _Plan, pace: Pace) -> list[str]:
        rng = plan.rng
        evaluation = plan.evaluation
        if evaluation is None:
            roll = rng.random()
            evaluation = (
                "none"
                if roll < 0.07
                else "unsatisfied"
                if roll < 0.07 + pace.unsatisfied
                else "basically"
                if roll < 0.32 + pace.unsatisfied
                else "satisfied"
            )
            if evaluation == "unsatisfied" and rng.random() < 0.15:
                evaluation = "twice"
        final = "basically" if rng.random() < 0.4 else "satisfied"
        return {
            "unsatisfied": ["unsatisfied", final],
            "twice": ["unsatisfied", "unsatisfied", final],
        }.get(evaluation, [evaluation])

    def handle(
        self, plan: _Plan, call: Call, *, lead: Organisation, callers: tuple[Any, Any]
    ) -> Iterator[datetime]:
        """The lead's part, from signing to the caller's evaluation (and any reopening)."""
        rng = plan.rng
        pace = self.cast.pace(lead)
        handlers, leaders = self.lead_staff(lead)
        handler, boss = _pick(rng, handlers), _pick(rng, leaders)
        dispatch = self.lead(call)
        yield self.within(
            plan, dispatch.dispatched_at, dispatch.sign_due, rng.uniform(*pace.sign), gap=(2, 10)
        )
        self.act(handler, call, "sign")
        start = dispatch.dispatched_at
        for round_, outcome in enumerate(self.outcomes(plan, pace)):
            dispatch = self.lead(call)
            yield self.within(
                plan, start, dispatch.respond_due, rng.uniform(*pace.respond), gap=(3, 20)
            )
            self.act(handler, call, "respond", mode=rng.choice(["contact", "on_site", "on_site"]))
            yield from self.work(
                plan, call, pace, start=start, handler=handler, boss=boss, first=round_ == 0
            )
            if plan.stuck:
                return
            if outcome == "none":
                return  # nobody evaluates: the sweep closes it after the window
            yield self.later(plan, 20, 390)
            evaluator = callers[1] if rng.random() < 0.7 else callers[0]
            resolved = {"satisfied": "yes", "basically": rng.choice(["yes", "partly"])}.get(
                outcome, rng.choice(["partly", "no"])
            )
            comment = rng.choice(stories.COMMENTS[outcome])
            self.act(
                evaluator,
                call,
                "evaluate",
                evaluation=outcome,
                resolved=resolved,
                **({"comment": comment} if comment else {}),
            )
            start = self.now  # a reopened call's clocks restart now

    def lead(self, call: Call) -> Dispatch:
        dispatch = lead_dispatch(call)
        if dispatch is None:
            raise Conflict(
                _("No department can handle %(call)s.") % {"call": call.number},
                code="demo.no_lead",
            )
        return dispatch

    def work(
        self,
        plan: _Plan,
        call: Call,
        pace: Pace,
        *,
        start: datetime,
        handler: Any,
        boss: Any,
        first: bool,
    ) -> Iterator[datetime]:
        """Progress notes, perhaps an extension and a reminder, then the result."""
        rng = plan.rng
        dispatch = self.lead(call)
        late = plan.late if plan.late is not None else rng.random() < pace.late
        fraction = rng.uniform(1.05, 1.6) if late else rng.uniform(*pace.complete)
        extension = plan.extension
        if extension is None:
            extension = ""
            if first and not plan.urgent and rng.random() < pace.extension:
                extension = "approve" if rng.random() < 0.7 else "refuse"
        if extension and first:
            yield self.within(
                plan, start, dispatch.complete_due, rng.uniform(0.5, 0.75), gap=(30, 120)
            )
            self.act(
                boss,
                call,
                "request_extension",
                days=rng.choice([3, 5, 5, 7]),
                reason=rng.choice(stories.EXTENSION_REASONS),
            )
            yield self.later(plan, 20, 240)
            approve = extension == "approve"
            reasons = stories.EXTENSION_APPROVED if approve else stories.EXTENSION_REFUSED
            self.act(
                self.operator(plan),
                call,
                "decide_extension",
                approve="yes" if approve else "no",
                reason=rng.choice(reasons),
            )
            dispatch = self.lead(call)
            if approve and not late:
                fraction = rng.uniform(0.75, 0.97)
        done = self.within(plan, start, dispatch.complete_due, fraction, gap=(30, 240))
        if plan.stuck:
            done = max(done, self.until) + timedelta(days=30)  # not before `until`
        horizon = min(done, self.until)  # notes and reminders fall before both
        steps: list[tuple[datetime, Any, str, dict[str, Any]]] = []
        is_township = call.direction == "down"
        domain = _domain(plan.item_code) if plan.item_code else ""
        notes = (
            stories.TOWNSHIP_NOTES
            if is_township
            else stories.SERVICE_NOTES
            if domain in ("", "D6", "D7")
            else stories.NOTES
        )
        count = rng.choice([0, 0, 1, 1, 1, 2])
        moments = sorted(rng.uniform(0.1, 0.9) for _i in range(count))
        for n, text in zip(moments, rng.sample(notes, count), strict=True):
            steps.append((self.between(plan, self.now, horizon, n), handler, "note",
                          {"text": text}))  # fmt: skip
        due = dispatch.complete_due
        if due is not None and done > due:
            # Overdue: the platform reminds (催办), the caller presses.
            reminder = _second(add_working_hours(due, rng.uniform(0.5, 4), calendar=self.calendar))
            steps.append((reminder, self.operator(plan), "remind", {}))
            if rng.random() < 0.5:
                steps.append((self.between(plan, reminder, horizon, 0.5), self.operator(plan),
                               "note", {"text": rng.choice(stories.PLATFORM_NOTES)}))  # fmt: skip
        if call.direction == "up" and rng.random() < 0.15:
            caller = self.cast.staff(call.caller, Role.TOWNSHIP_REPORTER)
            steps.append((self.between(plan, self.now, horizon, rng.uniform(0.2, 0.8)),
                          rng.choice(caller), "note",
                          {"text": rng.choice(stories.CALLER_NOTES)}))  # fmt: skip
        for at, user, action, data in sorted(steps, key=lambda s: s[0]):
            if at >= done:
                continue
            yield max(at, self.now)
            self.act(user, call, action, **data)
        yield done
        results = stories.TOWNSHIP_RESULTS if is_township else stories.RESULTS[domain]
        self.act(handler, call, "complete", result=rng.choice(results))


# --------------------------------------------------------------------------- entry point


@contextmanager
def _quiet_sweeps() -> Iterator[None]:
    """The sweep logs every run that acts; the command prints a summary instead."""
    log = logging.getLogger(supervision.__name__)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


@contextmanager
def _rollup_folded_at_the_end(calls: Callable[[], Any]) -> Iterator[None]:
    """The assessment roll-up folds all the events of a call again on every event and
    every photo (`assessment.rollup.on_event_appended`, `on_attachment_saved`), a quarter
    of the history's time. Inside the history's transaction nothing reads it, so the
    receivers are paused while the history is made and every history call is folded once
    at the end, exactly as `assessment.rollup.rebuild` does (a test compares the two)."""
    paused = event_appended.disconnect(rollup.on_event_appended, dispatch_uid=_ROLLUP_UID)
    photos = post_save.disconnect(
        rollup.on_attachment_saved, sender=Attachment, dispatch_uid=_EVIDENCE_UID
    )
    try:
        yield
    finally:
        if paused:
            event_appended.connect(rollup.on_event_appended, dispatch_uid=_ROLLUP_UID)
        if photos:
            post_save.connect(
                rollup.on_attachment_saved, sender=Attachment, dispatch_uid=_EVIDENCE_UID
            )
    if paused or photos:
        ids = list(calls().order_by("pk").values_list("pk", flat=True))
        for n in range(0, len(ids), 500):
            rollup.refresh_calls(ids[n : n + 500])


def _months_before(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(CHINA_TZ)
    month = local.month - months
    year = local.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(local.day, monthrange(year, month)[1])
    return datetime.combine(date(year, month, day), time(0, 0), tzinfo=CHINA_TZ)


def history_calls(county: Region) -> Any:
    """The calls of the demo history in `county`."""
    return Call.objects.filter(county=county, idempotency_key__startswith=KEY_PREFIX)


def _summary(county: Region, start: datetime, until: datetime, **kw: Any) -> HistorySummary:
    calls = history_calls(county)
    return HistorySummary(
        start=start.astimezone(CHINA_TZ),
        until=until.astimezone(CHINA_TZ),
        calls=calls.count(),
        events=CallEvent.objects.filter(call__in=calls).count(),
        open=calls.filter(state__in=OPEN).count(),
        overdue=calls.filter(state__in=OPEN, next_deadline__lt=until).count(),
        closed=calls.filter(state=State.CLOSED).count(),
        **kw,
    )


def build_demo_history(
    *,
    county: Region,
    months: int = DEFAULT_MONTHS,
    seed: int = DEFAULT_SEED,
    until: datetime | None = None,
    pace: Pace | None = None,
    floor: int = MONTHLY_FLOOR,
) -> HistorySummary:
    """File and drive `months` months of calls in `county`, ending at `until` (default:
    now). Does nothing if the county has its history already. `pace`, when given, is
    how every organisation of the county works (the multi-county demo's peers); `floor`
    the monthly minimum of calls per ranked subject (0: no top-up, a small history)."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(
            _("The history covers 1 to %(max)s months.") % {"max": MAX_MONTHS},
            code="demo.invalid_months",
        )
    until = until or timezone.now()
    if timezone.is_naive(until):
        raise InvalidInput(
            _("The end of the history needs a time zone."), code="demo.invalid_until"
        )
    until = _second(until).astimezone(CHINA_TZ)
    start = _months_before(until, months)
    built = history_calls(county)
    if built.exists():
        # Built before: report the span it covers.
        span = CallEvent.objects.filter(call__in=built).aggregate(start=Min("at"), until=Max("at"))
        return _summary(county, span["start"], span["until"], skipped=True)
    cast = _Cast.load(county, pace=pace)
    planner = _Planner(
        cast=cast, rng=random.Random(seed), seed=seed, start=start, until=until, floor=floor
    )
    plans = planner.plans(months=months)
    simulation = _Simulation(cast=cast, seed=seed, start=start, until=until)
    # The history is the past: nobody is told of it (no outbox rows, so no inbox
    # messages, e-mails or webhooks, now or from the worker's relay).
    with (
        _quiet_sweeps(),
        outbox_muted(),
        transaction.atomic(),
        _rollup_folded_at_the_end(lambda: history_calls(county)),
    ):
        simulation.run(plans, planner.working_days())
    return _summary(county, start, until, problems=tuple(simulation.problems))
