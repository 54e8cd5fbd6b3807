"""The province-scale demo (`demo_county --scale province`): a fictional province of 16
cities, about 136 counties and 1,800 townships, each county with its bodies, 18
departments, stationed agencies in its townships, staff and its own list derived from
the province's guidance; then N calls with their events and M 12345 tickets over the
last year, written in bulk (`demo/bulk.py`: PostgreSQL `COPY`).

What it is for: load. The console, the rankings, the oversight pages and the benchmark
suite (`bench/`, docs/benchmarks.md) see a province's volume of rows. The demo county
清河县 keeps its own history played through the workflow services; the generated
counties' calls are played in memory by `bulk.Generator` (legal logs, the assessment
roll-up by the assessment app's own fold), with its simplifications: clock-time windows
instead of the working-time calendar, no automatic reminders.

Realistic distributions: counties differ in size (townships 8–20, weighted), townships
in how often they call, each organisation draws its own pace (late signing, response,
completion, returns, extensions, satisfaction); 85 % of calls go up from a township,
15 % down from a department; urgent 10 %, normal 75 %, complex 15 %. Tickets: the types,
channels and categories of a 12345 export, three in ten without a township (the hotline
named none), the rest about a township or one of its villages.

Idempotent in the demo's way: the structure is upserted (a rerun changes nothing), and
a county that has calls (or tickets) gets no more. Counties' calls are interleaved in
time (the tables' physical order follows time, as in a live database), and on
PostgreSQL a large load runs in one transaction with the secondary indexes and
constraints dropped and created again at the end, which checks every row (an interrupted
load leaves nothing behind).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from xianghu.assessment.models import PeriodicEvaluation
from xianghu.calls.models import Call
from xianghu.integrations.hotline.models import Disposition, Ticket, TicketType
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel, Role

from . import bulk
from .county import (
    _AGENCY_TITLES,
    _AGENCY_TYPES,
    CITY_CODE,
    CITY_NAME,
    DEFAULT_SEED,
    DEPARTMENT_SHORT_NAMES,
    PROVINCE_CODE,
    MembershipSpec,
    OrgSpec,
    RegionSpec,
    UserSpec,
    _apply_membership,
    _apply_organisations,
    _apply_user,
    _local_bodies,
    _People,
    _township_leader_title,
    _unique,
    plan_villages,
)
from .peers import SECOND_CITY_CODE, SECOND_CITY_NAME, _apply_regions, derive_county_list

#: The province's shape (domain brief §10: ~1,800 townships).
CITIES = 16
COUNTIES = 136
TOWNSHIPS = 1_800

# The demo's two cities (鲁中市 with 清河县, 鲁东市 with the multi-county demo's 青山县) and
# fourteen more. Codes 3751–3764 are no city codes in use: the province is fictional.
_CITY_NAMES = (
    "鲁北市", "鲁南市", "鲁西市", "岱南市", "沂蒙市", "汶阳市", "泗源市",
    "潍川市", "渤滨市", "黄河口市", "崂东市", "峄阳市", "蒙阴市", "徂徕市",
)  # fmt: skip
_COUNTY_FIRST = "东西南北安永平长新宁广昌高定乐兴临丰和康泰宝"
_COUNTY_SECOND = ("阳", "山", "城", "丰", "原", "宁", "平", "泽", "州", "陵", "水", "台")
_PLACE_FIRST = "王李张刘马高石柳杨孙赵周黄新大小双龙凤金白青红古"
_PLACE_SECOND = ("庄", "集", "店", "桥", "口", "河", "岭", "坡", "营", "屯", "湖", "泉", "沟", "湾")
#: Taken by the demo's own counties (`county.py`, `peers.py`).
_RESERVED_COUNTIES = {"清河县", "柳河县", "青山县"}


@dataclass(frozen=True)
class CountyPlan:
    code: str
    name: str
    city_code: str
    prefix: str  # of its usernames
    weight: float  # its share of the province's calls and tickets
    regions: tuple[RegionSpec, ...]
    organisations: tuple[OrgSpec, ...]
    users: tuple[UserSpec, ...]
    memberships: tuple[MembershipSpec, ...]

    @property
    def townships(self) -> int:
        return sum(1 for r in self.regions if r.level == RegionLevel.TOWNSHIP)


@dataclass(frozen=True)
class ProvincePlan:
    cities: tuple[RegionSpec, ...]
    counties: tuple[CountyPlan, ...]


def _township_counts(rng: random.Random, counties: int, townships: int) -> list[int]:
    """Townships per county: 8–20, summing to about `townships`."""
    mean = townships / counties
    counts = [max(8, min(20, round(rng.gauss(mean, 3)))) for _ in range(counties)]
    # Nudge towards the total, one township at a time, within the bounds.
    while sum(counts) != townships:
        i = rng.randrange(counties)
        step = 1 if sum(counts) < townships else -1
        if 8 <= counts[i] + step <= 20:
            counts[i] += step
    return counts


def _cities() -> list[tuple[str, str]]:
    cities = [(CITY_CODE, CITY_NAME), (SECOND_CITY_CODE, SECOND_CITY_NAME)]
    cities += [(f"37{51 + i}00", name) for i, name in enumerate(_CITY_NAMES)]
    return cities[:CITIES]


def plan_province(*, seed: int = DEFAULT_SEED, counties: int = COUNTIES) -> ProvincePlan:
    """The province's generated counties (besides the demo county), deterministic from
    `seed`; `counties` is the number of all counties with 清河县 (tests use a few)."""
    rng = random.Random(f"{seed}/province")
    cities = _cities()
    generated = max(1, counties - 1)
    townships = max(8 * generated, round(TOWNSHIPS * generated / COUNTIES))
    counts = _township_counts(rng, generated, townships)
    names: set[str] = set(_RESERVED_COUNTIES)
    plans: list[CountyPlan] = []
    per_city: dict[str, int] = {}
    for n in range(generated):
        # 鲁中市 holds 清河县 (371221) and 柳河县 (371222): its counties start at 23.
        city_code, _city_name = cities[n % len(cities)]
        index = per_city.get(city_code, 23 if city_code == CITY_CODE else 21)
        per_city[city_code] = index + 1
        code = f"{city_code[:4]}{index:02d}"
        name = _unique(
            rng, lambda r: r.choice(_COUNTY_FIRST) + r.choice(_COUNTY_SECOND) + "县", names
        )
        plans.append(
            _plan_county(
                code=code,
                name=name,
                city_code=city_code,
                prefix=f"pv{n + 1:03d}",
                townships=counts[n],
                rng=random.Random(f"{seed}/province/{code}"),
            )
        )
    city_specs = tuple(
        RegionSpec(code, name, RegionLevel.CITY, RegionKind.CITY, PROVINCE_CODE)
        for code, name in cities
    )
    return ProvincePlan(cities=city_specs, counties=tuple(plans))


def _plan_county(
    *, code: str, name: str, city_code: str, prefix: str, townships: int, rng: random.Random
) -> CountyPlan:
    regions = [RegionSpec(code, name, RegionLevel.COUNTY, RegionKind.COUNTY, city_code)]
    # Statistical codes: 街道 001–099, 镇 101–199, 乡 201–299.
    n_sub = 1 + townships // 8
    n_xiang = townships // 5
    kinds = [RegionKind.SUBDISTRICT] * n_sub + [RegionKind.TOWN] * (townships - n_sub - n_xiang)
    kinds += [RegionKind.XIANG] * n_xiang
    suffix = {RegionKind.SUBDISTRICT: "街道", RegionKind.TOWN: "镇", RegionKind.XIANG: "乡"}
    base = {RegionKind.SUBDISTRICT: 1, RegionKind.TOWN: 101, RegionKind.XIANG: 201}
    taken_townships: set[str] = set()
    seen: dict[str, int] = {}
    township_rows: list[tuple[str, str, str]] = []
    for kind in kinds:
        stem = _unique(
            rng, lambda r: r.choice(_PLACE_FIRST) + r.choice(_PLACE_SECOND), taken_townships
        )
        number = base[kind] + seen.get(kind, 0)
        seen[kind] = seen.get(kind, 0) + 1
        township_rows.append((f"{code}{number:03d}", stem + suffix[kind], kind))
    for t_code, t_name, t_kind in township_rows:
        regions.append(RegionSpec(t_code, t_name, RegionLevel.TOWNSHIP, t_kind, code))
    taken_villages: set[str] = set()
    for t_code, t_name, t_kind in township_rows:
        regions += plan_villages(
            rng=rng, township_code=t_code, township_name=t_name, kind=t_kind, taken=taken_villages
        )
    bodies = {
        "office": OrgSpec(f"{name}委县政府办公室（两办）", OrgKind.COUNTY_OFFICE, code, "两办"),
        "platform": OrgSpec(f"{name}乡呼县应指挥中心", OrgKind.PLATFORM_CENTRE, code, "指挥中心"),
        "bianban": OrgSpec(f"{name}委编办", OrgKind.BIANBAN, code, "编办"),
    }
    departments = [
        OrgSpec(f"{name}{short}", OrgKind.DEPARTMENT, code, short_name=short)
        for short in DEPARTMENT_SHORT_NAMES
    ]
    # Stationed agencies: a police station in most townships, market supervision and
    # natural resources in about half, traffic police squads in a few.
    shares = {"派出所": 0.8, "市场监管所": 0.5, "自然资源所": 0.4, "中队": 0.15}
    agencies = []
    for dept, agency_suffix, _hosts in _AGENCY_TYPES:
        for t_code, t_name, _kind in township_rows:
            if rng.random() < shares.get(agency_suffix, 0.3):
                stem = t_name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
                agencies.append(
                    OrgSpec(
                        f"{name}{dept}{stem}{agency_suffix}",
                        OrgKind.STATIONED_AGENCY,
                        t_code,
                        short_name=f"{stem}{agency_suffix}",
                        parent_name=f"{name}{dept}",
                    )
                )
    locals_ = _local_bodies(regions)
    orgs = [*bodies.values(), *departments, *agencies, *locals_]
    people = _People(rng)
    users: list[UserSpec] = []
    members: list[MembershipSpec] = []

    def add(username: str, org: OrgSpec, role: str, title: str) -> None:
        users.append(people.user(username))
        members.append(MembershipSpec(username, org, role, title))

    add(f"{prefix}_operator", bodies["platform"], Role.PLATFORM_OPERATOR, "受理调度员")
    add(f"{prefix}_assessor", bodies["office"], Role.ASSESSOR, "督查考核专员")
    kinds_of = {t_code: kind for t_code, _n, kind in township_rows}
    governments = [o for o in locals_ if o.kind == OrgKind.TOWNSHIP]
    for i, gov in enumerate(governments, start=1):
        add(f"{prefix}_t{i:02d}_reporter", gov, Role.TOWNSHIP_REPORTER, "网格管理员")
        leader = _township_leader_title(kinds_of[gov.region_code])
        add(f"{prefix}_t{i:02d}_leader", gov, Role.TOWNSHIP_LEADER, leader)
    for i, dept_spec in enumerate(departments, start=1):
        add(f"{prefix}_d{i:02d}_handler", dept_spec, Role.DEPARTMENT_HANDLER, "科员")
        add(f"{prefix}_d{i:02d}_leader", dept_spec, Role.DEPARTMENT_LEADER, "副局长")
    for i, agency in enumerate(agencies, start=1):
        handler_title, leader_title = next(
            titles for s, titles in _AGENCY_TITLES.items() if agency.name.endswith(s)
        )
        add(f"{prefix}_a{i:02d}_handler", agency, Role.DEPARTMENT_HANDLER, handler_title)
        add(f"{prefix}_a{i:02d}_leader", agency, Role.DEPARTMENT_LEADER, leader_title)
    return CountyPlan(
        code=code,
        name=name,
        city_code=city_code,
        prefix=prefix,
        weight=townships * rng.uniform(0.6, 1.4),
        regions=tuple(regions),
        organisations=tuple(orgs),
        users=tuple(users),
        memberships=tuple(members),
    )


# ---- the structure ----------------------------------------------------------------------


def build_province_structure(
    plan: ProvincePlan, *, progress: Callable[[int, int], None] | None = None
) -> list[Region]:
    """Upsert the cities and the generated counties with their organisations, staff and
    lists (each county in its own transaction); the counties' regions, in plan order.
    The demo county and the province's guidance must exist (`demo_county` builds them)."""
    password = make_password(None)  # generated staff do not log in
    with transaction.atomic():
        _apply_regions(list(plan.cities))
    counties: list[Region] = []
    for n, county_plan in enumerate(plan.counties, start=1):
        with transaction.atomic():
            regions = _apply_regions(list(county_plan.regions))
            orgs = _apply_organisations(county_plan.organisations, regions=regions)
            users = {
                spec.username: _apply_user(spec, demo_password_hash=password)
                for spec in county_plan.users
            }
            for member in county_plan.memberships:
                _apply_membership(
                    member, user=users[member.username], organisation=orgs[member.organisation]
                )
            county = regions[county_plan.code]
            derive_county_list(county=county, name=f"{county_plan.name}属地管理事项清单")
        counties.append(county)
        if progress is not None:
            progress(n, len(plan.counties))
    return counties


# ---- the calls --------------------------------------------------------------------------


@dataclass
class LoadReport:
    calls: int = 0
    tickets: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


#: On PostgreSQL, loads of at least this many calls drop the secondary indexes first.
BULK_INDEX_THRESHOLD = 200_000


def _shares(total: int, weights: list[float]) -> list[int]:
    """`total` split by weight, the remainders to the largest fractions."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    out = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: out[i] - raw[i])[: total - sum(out)]:
        out[i] += 1
    return out


def build_province_calls(
    counties: list[Region],
    weights: list[float],
    *,
    calls: int,
    seed: int,
    now: datetime,
    events: bool = True,
    chunk_size: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """`calls` calls over the year before `now`, shared among the counties that have
    none yet by weight, with their dispatches, events and roll-up, and the townships'
    monthly evaluation forms (without `events`: the calls and dispatches alone)."""
    report = LoadReport()
    todo = [(c, w) for c, w in zip(counties, weights, strict=True) if not _has_calls(c)]
    if not todo or calls <= 0:
        return report
    shares = _shares(calls, [w for _c, w in todo])
    start = now - timedelta(days=365)
    bulk.check_columns()
    big = connection.vendor == "postgresql" and calls >= BULK_INDEX_THRESHOLD
    began = timezone.now()
    with transaction.atomic():
        ddl = bulk.drop_secondary_indexes() if big else None
        ids = bulk._next_ids()
        generators = [
            bulk.Generator(
                bulk.load_cast(county=county, seed=seed),
                seed=seed + n,
                total=share,
                ids=ids,
                start=start,
                now=now,
                events=events,
            )
            for n, ((county, _w), share) in enumerate(zip(todo, shares, strict=True), start=1)
            if share > 0
        ]
        # Interleave the counties in time: each round takes the same slice of the year
        # (at most a hundredth) from every county.
        rounds = max(1, min(100, calls // (10 * len(generators) or 1)))
        pending = bulk.Chunk()
        for r in range(1, rounds + 1):
            for gen in generators:
                target = gen.total * r // rounds
                if target > gen.made:
                    part = gen.chunk(target - gen.made)
                    for model, rows in part.rows.items():
                        pending.rows[model].extend(rows)
            if len(pending) >= chunk_size or r == rounds:
                _write_chunk(pending, report)
                pending = bulk.Chunk()
                if progress is not None:
                    progress(report.calls, calls)
        forms = [
            form
            for gen in generators
            for form in bulk.periodic_forms(gen.cast, seed=seed, start=start, months=12)
            if events and form.ends_on < now.date()
        ]
        PeriodicEvaluation.objects.bulk_create(forms, batch_size=2000)
        report.rows["PeriodicEvaluation"] = len(forms)
        bulk.sync_sequences()
        if ddl is not None:
            bulk.restore_indexes(ddl, vacuum=False)
    if big:
        bulk.vacuum_analyze()
    report.seconds = (timezone.now() - began).total_seconds()
    return report


def _has_calls(county: Region) -> bool:
    return Call.objects.filter(county=county).exists()


def _write_chunk(chunk: bulk.Chunk, report: LoadReport) -> None:
    for model, columns in bulk.TABLES:
        rows = chunk.rows[model]
        bulk.write_rows(model, columns, rows)
        report.rows[model.__name__] = report.rows.get(model.__name__, 0) + len(rows)
    report.calls += len(chunk)


# ---- the 12345 tickets ------------------------------------------------------------------

TICKET_COLUMNS = (
    "id",
    "county_id",
    "number",
    "source_id",
    "import_run_id",
    "channel",
    "received_at",
    "caller_name",
    "caller_phone",
    "type",
    "category",
    "title",
    "content",
    "address",
    "region_code",
    "township_id",
    "location_id",
    "urgency",
    "handling_unit",
    "deadline",
    "result",
    "followup_result",
    "satisfaction",
    "source_status",
    "disposition",
    "call_id",
    "created_at",
    "updated_at",
)
_TYPES = (
    (TicketType.ENQUIRY, 30),
    (TicketType.HELP, 15),
    (TicketType.COMPLAINT, 30),
    (TicketType.TIP_OFF, 8),
    (TicketType.SUGGESTION, 10),
    (TicketType.THANKS, 2),
    (TicketType.OTHER, 5),
)
_CHANNELS = ("电话", "网站", "微信", "APP", "短信")
_CATEGORIES = (
    ("城乡建设/市容环境/占道经营", "门市房门前长期占道经营，堵塞交通。"),
    ("城乡建设/市政设施/路灯损坏", "路灯不亮已经一周，夜间出行不便，请尽快维修。"),
    ("农业农村/农村人居环境/垃圾清运", "村口垃圾堆积无人清运，气味很大，影响周边居民生活。"),
    ("生态环境/大气污染/秸秆焚烧", "有人在田里焚烧秸秆，烟雾很大，请相关部门处理。"),
    ("社会保障/劳动关系/拖欠工资", "在工地干活半年，老板拖欠工资至今未付，请求帮助讨要。"),
    ("交通运输/道路交通/道路破损", "道路有大坑，雨天积水严重，车辆行人通行困难。"),
    ("民政/社会救助/困难救助", "家中老人生活困难，咨询低保申请需要什么材料。"),
    ("公共安全/消防安全/违规用火", "厂房内堆放大量易燃物品，存在火灾隐患。"),
)
_RESULTS = (
    ("已联系来电人，问题已解决。", "来电人表示满意。", "满意", "已办结"),
    ("已安排人员现场处理。", "来电人表示基本满意。", "基本满意", "已回访"),
    ("已答复来电人相关政策。", "未接通。", "", "已办结"),
    ("", "", "", "办理中"),
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


@dataclass(frozen=True)
class _Place:
    township_id: int
    location_id: int
    code: str
    address: str


def _places(county: Region) -> list[_Place]:
    out = []
    townships = {r.pk: r for r in Region.objects.filter(parent=county, level=RegionLevel.TOWNSHIP)}
    for village in Region.objects.filter(parent__in=list(townships)).order_by("code"):
        township = townships[village.parent_id]  # type: ignore[index]
        address = f"{county.name}{township.name}{village.name}"
        out.append(_Place(township.pk, village.pk, village.code, address))
    for township in townships.values():
        out.append(_Place(township.pk, township.pk, township.code, f"{county.name}{township.name}"))
    return out


def build_province_tickets(
    counties: list[Region],
    weights: list[float],
    *,
    tickets: int,
    seed: int,
    now: datetime,
    chunk_size: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """`tickets` 12345 tickets over the year before `now`, shared among the counties
    that have none yet by weight."""
    report = LoadReport()
    todo = [
        (c, w)
        for c, w in zip(counties, weights, strict=True)
        if not Ticket.objects.filter(county=c).exists()
    ]
    if not todo or tickets <= 0:
        return report
    shares = _shares(tickets, [w for _c, w in todo])
    rng = random.Random(f"{seed}/province/tickets")
    start_ts = int((now - timedelta(days=365)).timestamp())
    span = int(timedelta(days=365).total_seconds()) - 86_400
    types = [t for t, _w in _TYPES]
    type_weights = [w for _t, w in _TYPES]
    next_id = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    stamp = timezone.now()
    with transaction.atomic():
        for (county, _w), share in zip(todo, shares, strict=True):
            places = _places(county)
            moments = sorted(start_ts + rng.randrange(span) for _ in range(share))
            rows: list[tuple[Any, ...]] = []
            for seq, moment in enumerate(moments, start=1):
                received = datetime.fromtimestamp(moment, bulk.CST)
                category, content = rng.choice(_CATEGORIES)
                result, followup, satisfaction, status = rng.choice(_RESULTS)
                place = rng.choice(places) if rng.random() < 0.7 else None
                rows.append(
                    (
                        next_id,
                        county.pk,
                        f"{county.code}{received:%y%m%d}{seq:07d}",
                        None,
                        None,
                        rng.choice(_CHANNELS),
                        received,
                        rng.choice(_SURNAMES) + "先生" if rng.random() < 0.5 else "匿名",
                        f"1{rng.randrange(30, 90)}{rng.randrange(10**8):08d}",
                        rng.choices(types, type_weights)[0],
                        category,
                        content[:20],
                        content,
                        place.address if place else "",
                        place.code if place else "",
                        place.township_id if place else None,
                        place.location_id if place else None,
                        "urgent" if rng.random() < 0.08 else "normal",
                        "",
                        received + timedelta(days=5),
                        result,
                        followup,
                        satisfaction,
                        status,
                        Disposition.NEW,
                        None,
                        stamp,
                        stamp,
                    )
                )
                next_id += 1
                if len(rows) >= chunk_size:
                    _write_tickets(rows, report, progress, tickets)
                    rows = []
            _write_tickets(rows, report, progress, tickets)
        if connection.vendor == "postgresql":
            bulk.sync_sequences([Ticket._meta.db_table])
    return report


def _write_tickets(
    rows: list[tuple[Any, ...]],
    report: LoadReport,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    if not rows:
        return
    bulk.write_rows(Ticket, TICKET_COLUMNS, rows)
    report.tickets += len(rows)
    report.rows["Ticket"] = report.tickets
    if progress is not None:
        progress(report.tickets, total)


# ---- all of it --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvinceSummary:
    cities: int
    counties: int  # with the demo county
    townships: int
    departments: int
    stationed_agencies: int
    calls: LoadReport
    tickets: LoadReport


def build_province(
    *,
    seed: int = DEFAULT_SEED,
    counties: int = COUNTIES,
    calls: int,
    tickets: int,
    events: bool = True,
    now: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ProvinceSummary:
    """The province around the demo county (which `demo_county` builds first): its
    structure, then `calls` calls and `tickets` tickets in the generated counties."""
    plan = plan_province(seed=seed, counties=counties)
    now = now or timezone.now().replace(minute=0, second=0, microsecond=0)

    def step(name: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(name, done, total)

    regions = build_province_structure(plan, progress=step("structure"))
    weights = [c.weight for c in plan.counties]
    call_report = build_province_calls(
        regions,
        weights,
        calls=calls,
        seed=seed,
        now=now,
        events=events,
        progress=step("calls"),
    )
    ticket_report = build_province_tickets(
        regions, weights, tickets=tickets, seed=seed, now=now, progress=step("tickets")
    )
    province = Region.objects.get(code=PROVINCE_CODE)
    in_province = Organisation.objects.filter(county__parent__parent=province)
    return ProvinceSummary(
        cities=Region.objects.filter(parent=province, level=RegionLevel.CITY).count(),
        counties=Region.objects.filter(parent__parent=province, level=RegionLevel.COUNTY).count(),
        townships=Region.objects.filter(
            parent__parent__parent=province, level=RegionLevel.TOWNSHIP
        ).count(),
        departments=in_province.filter(kind=OrgKind.DEPARTMENT).count(),
        stationed_agencies=in_province.filter(kind=OrgKind.STATIONED_AGENCY).count(),
        calls=call_report,
        tickets=ticket_report,
    )
