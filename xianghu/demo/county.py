"""A deterministic, fictional demo county: 山东省 › 鲁中市 › 清河县.

Everything built here is **fictional**. 鲁中市 uses the city code 371200, vacant since
Laiwu was merged into Jinan in 2019; 清河县 (371221), its townships, villages,
organisations, enterprises, credit codes, people and phone numbers (170-0000-xxxx) are
invented for demonstration and testing and do not describe any real place or person.
Only 山东省 (370000) is real, as the root the fictional county hangs under.

Two steps keep the build testable and repeatable:

* `plan_demo_county(seed=...)` is pure: from a `random.Random(seed)` it derives every
  region, organisation, user and membership as plain frozen dataclasses, touching no
  database. The same seed always gives an equal plan.
* `build_demo_county(seed=...)` applies a plan through the region/organisation/membership
  services inside one transaction. Every write is an upsert, so running it again leaves
  the same rows.

The county's structure (townships, departments, stationed agencies, partners and the
documented demo accounts) is fixed; the seed varies only villages and people. Building
with a different seed over an earlier build renames villages and people in place but
adds village committees under the new names rather than deleting the old ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from xianghu.accounts.services import user_create
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel, Role
from xianghu.regions.services import membership_create, organisation_upsert, region_upsert

DEFAULT_SEED = 2026

# The one password of the documented demo accounts; the README prints it.
DEMO_PASSWORD = "Xianghu@2026"

# Documented Open311 keys (README, docs/integrations.md): a township system's key (its
# requests become draft calls of the first township) and a public app's key (its reports
# queue for the township's triage). Published on purpose, like the password.
DEMO_API_KEYS = (
    (
        "xianghu-demo-key",
        "demo311",
        OrgKind.TOWNSHIP,
        Role.TOWNSHIP_REPORTER,
        "Open311 演示对接系统",
    ),
    (
        "xianghu-public-demo-key",
        "demo311pub",
        OrgKind.SOCIAL_ORG,
        Role.PUBLIC_USER,
        "Open311 随手拍演示",
    ),
)

PROVINCE_CODE, PROVINCE_NAME = "370000", "山东省"
CITY_CODE, CITY_NAME = "371200", "鲁中市"
COUNTY_CODE, COUNTY_NAME = "371221", "清河县"
# The fictional county's bounding box (south, north, west, east), about 55 × 45 km: the
# coordinates of its calls must lie inside it; the history's calls
# (`history._coordinates`, within 0.16° of 36.70 N 116.90 E) do.
COUNTY_BOUNDS = (
    Decimal("36.450000"),
    Decimal("36.950000"),
    Decimal("116.650000"),
    Decimal("117.150000"),
)

COUNTY_OFFICE_NAME = "清河县委县政府办公室（两办）"
PLATFORM_CENTRE_NAME = "清河县乡呼县应指挥中心"
BIANBAN_NAME = "清河县委编办"

# The county departments named in the demonstration catalogue
# (shared/catalog/default-catalog.csv), exactly as the catalogue spells them. The
# responsibility-list import resolves departments by this short name, so the list is
# hard-coded here (the catalogue file is not shipped) and a test keeps it in step.
DEPARTMENT_SHORT_NAMES: tuple[str, ...] = (
    "发展和改革局",
    "教育局",
    "工业和信息化局",
    "公安局",
    "公安局交警大队",
    "民政局",
    "人力资源社会保障局",
    "自然资源局",
    "生态环境局",
    "住房城乡建设局",
    "水利局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "应急管理局",
    "市场监管局",
    "综合行政执法局",
    "消防救援大队",
)


def department_name(short_name: str) -> str:
    return f"{COUNTY_NAME}{short_name}"


# --- townships -------------------------------------------------------------------------

# (code, name, kind). Statistical codes: 街道 001–099, 镇 100–199, 乡 200–299.
TOWNSHIPS: tuple[tuple[str, str, RegionKind], ...] = (
    ("371221001", "城关街道", RegionKind.SUBDISTRICT),
    ("371221002", "清源街道", RegionKind.SUBDISTRICT),
    ("371221003", "河东街道", RegionKind.SUBDISTRICT),
    ("371221101", "王庄镇", RegionKind.TOWN),
    ("371221102", "柳林镇", RegionKind.TOWN),
    ("371221103", "石桥镇", RegionKind.TOWN),
    ("371221104", "马集镇", RegionKind.TOWN),
    ("371221105", "新店镇", RegionKind.TOWN),
    ("371221106", "高庄镇", RegionKind.TOWN),
    ("371221107", "双河镇", RegionKind.TOWN),
    ("371221201", "李家乡", RegionKind.XIANG),
    ("371221202", "白云乡", RegionKind.XIANG),
)

_TOWNSHIP_SUFFIX = {RegionKind.SUBDISTRICT: "街道", RegionKind.TOWN: "镇", RegionKind.XIANG: "乡"}


def township_short(name: str) -> str:
    """王庄镇 → 王庄: the form used inside agency names (清河县公安局王庄派出所)."""
    for suffix in _TOWNSHIP_SUFFIX.values():
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def township_government_name(name: str, kind: str) -> str:
    return f"{name}办事处" if kind == RegionKind.SUBDISTRICT else f"{name}人民政府"


# Stationed agencies (派驻机构): which townships host one, by short township name.
# Fixed rather than drawn so that agency usernames (a01…) keep their meaning across
# seeds. Small or central townships share a neighbour's police station.
_AGENCY_TYPES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (department short name, agency name suffix, host townships)
    (
        "公安局",
        "派出所",
        ("城关", "河东", "王庄", "柳林", "石桥", "马集", "新店", "高庄", "双河", "白云"),
    ),
    ("市场监管局", "市场监管所", ("城关", "河东", "王庄", "马集", "新店", "双河")),
    ("自然资源局", "自然资源所", ("王庄", "柳林", "石桥", "高庄", "白云")),
    ("公安局交警大队", "中队", ("王庄", "马集")),
)

_AGENCY_TITLES = {
    "派出所": ("民警", "所长"),
    "市场监管所": ("科员", "所长"),
    "自然资源所": ("科员", "所长"),
    "中队": ("民警", "中队长"),
}

# --- co-governance partners ------------------------------------------------------------

# (name, kind, host township name or None for the county, credit-code prefix, body).
# Prefix: registration authority + type (51 = 民政 social group, 91 = 市场监管 enterprise);
# body: the 8 characters of the organisation code before its check digit.
_PARTNERS: tuple[tuple[str, OrgKind, str | None, str, str], ...] = (
    ("清河县慈善总会", OrgKind.SOCIAL_ORG, None, "51", "5QH00017"),
    ("清河县志愿者协会", OrgKind.VOLUNTEER_TEAM, None, "51", "5QH00025"),
    ("清河县鲁清食品有限公司", OrgKind.ENTERPRISE, "王庄镇", "91", "MA3CQH1K"),
    ("清河县宏远建筑工程有限公司", OrgKind.ENTERPRISE, None, "91", "MA3CQH2N"),
    ("清河县恒泰化工有限公司", OrgKind.ENTERPRISE, "马集镇", "91", "MA3CQH3R"),
)
VOLUNTEER_TEAM_NAME = "清河县志愿者协会"

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(*, prefix: str, region_code: str, body: str) -> str:
    """A unified social credit code (GB 32100-2015) with both check characters right.

    The codes here are invented; computing the check characters only keeps them from
    failing a validator, it does not make them real.
    """
    org_sum = sum(int(c, 36) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - org_sum % 11, str(11 - org_sum % 11))
    first17 = f"{prefix}{region_code}{body}{org_check}"
    total = sum(_USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + _USCC_CHARSET[(31 - total % 31) % 31]


# --- documented demo accounts ----------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    """A login the README documents; all share `DEMO_PASSWORD`."""

    username: str
    role: str
    organisation_name: str  # empty for the public account, which holds no membership
    description_en: str


FIRST_TOWNSHIP_GOVERNMENT = township_government_name(TOWNSHIPS[0][1], TOWNSHIPS[0][2])
_DEMO_DEPARTMENT = department_name("应急管理局")

DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "reporter",
        Role.TOWNSHIP_REPORTER,
        FIRST_TOWNSHIP_GOVERNMENT,
        "Township reporter: drafts and submits calls",
    ),
    DemoAccount(
        "tleader",
        Role.TOWNSHIP_LEADER,
        FIRST_TOWNSHIP_GOVERNMENT,
        "Township leader: approves calls and evaluates results",
    ),
    DemoAccount(
        "operator",
        Role.PLATFORM_OPERATOR,
        PLATFORM_CENTRE_NAME,
        "Platform operator: accepts, dispatches and supervises calls",
    ),
    DemoAccount(
        "handler",
        Role.DEPARTMENT_HANDLER,
        _DEMO_DEPARTMENT,
        "Department handler: signs for and handles dispatched calls",
    ),
    DemoAccount(
        "dleader",
        Role.DEPARTMENT_LEADER,
        _DEMO_DEPARTMENT,
        "Department leader: approves returns, extensions and results",
    ),
    DemoAccount(
        "bianban",
        Role.BIANBAN_REVIEWER,
        BIANBAN_NAME,
        "Establishment office reviewer: reviews list changes and task admissions",
    ),
    DemoAccount(
        "assessor",
        Role.ASSESSOR,
        COUNTY_OFFICE_NAME,
        "Assessor: reads and publishes the two-way assessment",
    ),
    DemoAccount(
        "admin",
        Role.SYSTEM_ADMIN,
        PLATFORM_CENTRE_NAME,
        "System administrator: manages organisations, users and settings (staff, not superuser)",
    ),
    DemoAccount(
        "auditor",
        Role.SECURITY_AUDITOR,
        COUNTY_OFFICE_NAME,
        "Security auditor: reads the security audit log of the county (/audit/)",
    ),
    DemoAccount(
        "citizen",
        Role.PUBLIC_USER,
        "",
        "Resident with a public account and no membership: reports and follows problems",
    ),
    DemoAccount(
        "volunteer",
        Role.PUBLIC_USER,
        VOLUNTEER_TEAM_NAME,
        "Volunteer: a public user acting for a co-governance partner",
    ),
)

_DEMO_TITLES = {
    "reporter": "网格管理员",
    "tleader": "办事处副主任",
    "operator": "受理调度员",
    "handler": "科员",
    "dleader": "副局长",
    "bianban": "机构编制股股长",
    "assessor": "督查考核专员",
    "admin": "系统管理员",
    "auditor": "安全审计员",
    "volunteer": "志愿者",
}

# --- plan dataclasses ------------------------------------------------------------------


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class OrgSpec:
    name: str
    kind: str
    region_code: str
    short_name: str = ""
    parent_name: str | None = None  # for stationed agencies: the department
    credit_code: str = ""


@dataclass(frozen=True)
class UserSpec:
    username: str
    name: str
    phone: str
    is_public: bool = False
    is_staff: bool = False
    is_demo: bool = False  # documented account: always (re)gets DEMO_PASSWORD


@dataclass(frozen=True)
class MembershipSpec:
    username: str
    organisation: OrgSpec
    role: str
    title: str


@dataclass(frozen=True)
class CountyPlan:
    seed: int
    regions: tuple[RegionSpec, ...]
    organisations: tuple[OrgSpec, ...]
    users: tuple[UserSpec, ...]
    memberships: tuple[MembershipSpec, ...]

    def regions_at(self, level: str) -> tuple[RegionSpec, ...]:
        return tuple(r for r in self.regions if r.level == level)

    def organisations_of(self, kind: str) -> tuple[OrgSpec, ...]:
        return tuple(o for o in self.organisations if o.kind == kind)


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    townships: int
    villages: int
    departments: int
    stationed_agencies: int
    partners: int
    users: int
    memberships: int


# --- name generation (pure, seeded) ----------------------------------------------------

_PLACE_SURNAMES = (
    "张王李刘陈杨赵孙周吴徐马朱胡郭何高林罗郑梁谢宋韩冯曹田董袁蒋蔡杜程魏吕丁任姚卢崔孟秦侯邢葛"
)
_PLACE_SUFFIXES_JIA = ("庄", "洼", "楼", "店", "寨", "岭", "坡", "集", "屯", "营", "湾", "峪", "疃")
_PLACE_SUFFIXES_BARE = ("庄", "官庄", "楼", "集", "屯", "营", "店", "寨", "桥", "圈")
_DIRECTIONS = "前后东西南北大小"
_DIRECTION_FEATURES = ("楼", "屯", "洼", "营", "河", "岭", "庄", "坡", "店", "寨", "泉", "沟")
_TREES = "柳杏枣槐桑杨梨桃松榆"
_TREE_FEATURES = ("行", "林", "园", "树", "庄", "沟")
_COMMUNITY_NAMES = (
    "东关", "西关", "南关", "北关", "府前", "文化路", "新华", "幸福", "和平", "振兴",
    "育才", "滨河", "花园", "建设", "人民路", "胜利", "青年路", "太平", "翠苑", "锦绣",
    "阳光", "站前", "钟楼", "书院", "龙泉", "凤凰", "金桥", "银河", "康宁", "丰泽",
    "长安", "永安", "兴隆", "富民", "民主路", "解放路", "光明", "团结", "红旗", "向阳",
    "新城", "园丁", "双拥", "怡园", "嘉禾", "河滨", "柳园", "杏坛", "东城", "西城",
)  # fmt: skip


def _village_name(rng: random.Random) -> str:
    """One village stem (without 村), in one of the patterns common in Shandong."""
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{rng.choice(_PLACE_SURNAMES)}家{rng.choice(_PLACE_SUFFIXES_JIA)}"
    if pattern == 1:
        return f"{rng.choice(_PLACE_SURNAMES)}{rng.choice(_PLACE_SUFFIXES_BARE)}"
    if pattern == 2:
        direction = rng.choice(_DIRECTIONS)
        if rng.random() < 0.5:
            return f"{direction}{rng.choice(_PLACE_SURNAMES)}庄"
        return f"{direction}{rng.choice(_DIRECTION_FEATURES)}"
    return f"{rng.choice(_TREES)}{rng.choice(_TREE_FEATURES)}"


def _unique(rng: random.Random, make: Callable[[random.Random], str], taken: set[str]) -> str:
    """Draw names until one is not taken; the draws stay on the seeded stream."""
    for _attempt in range(1000):
        name = make(rng)
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("name lists exhausted")  # pragma: no cover - the lists are large


def _village_counts(*, rng: random.Random, kind: str) -> tuple[int, int]:
    """(communities, villages) for one township: 街道 mostly 社区, 镇/乡 mostly 村."""
    total = rng.randint(6, 10)
    if kind == RegionKind.SUBDISTRICT:
        villages = rng.randint(0, 2)  # a few 城中村 remain in the subdistricts
        return total - villages, villages
    communities = rng.randint(1, 2) if kind == RegionKind.TOWN else rng.randint(0, 1)
    return communities, total - communities


def plan_villages(
    *,
    rng: random.Random,
    township_code: str,
    township_name: str,
    kind: str,
    taken: set[str] | None = None,
) -> list[RegionSpec]:
    """The villages and communities of one township, with statistical codes.

    Communities take 001–199 and villages 200–399 after the township code. `taken`
    holds the name stems already used; passing one set for the whole county keeps the
    names unique county-wide (two 北关社区 in one county town would confuse everyone).
    """
    n_communities, n_villages = _village_counts(rng=rng, kind=kind)
    taken = set() if taken is None else taken
    communities: list[str] = []
    if (
        n_communities
        and kind != RegionKind.SUBDISTRICT
        and township_short(township_name) not in taken
    ):
        # A town's seat is usually a community named after the town itself.
        communities.append(township_short(township_name))
        taken.add(communities[0])
    while len(communities) < n_communities:
        communities.append(_unique(rng, lambda r: r.choice(_COMMUNITY_NAMES), taken))
    specs = [
        RegionSpec(
            code=f"{township_code}{1 + i:03d}",
            name=f"{name}社区",
            level=RegionLevel.VILLAGE,
            kind=RegionKind.COMMUNITY,
            parent_code=township_code,
        )
        for i, name in enumerate(communities)
    ]
    for i in range(n_villages):
        name = _unique(rng, _village_name, taken)
        specs.append(
            RegionSpec(
                code=f"{township_code}{201 + i:03d}",
                name=f"{name}村",
                level=RegionLevel.VILLAGE,
                kind=RegionKind.VILLAGE,
                parent_code=township_code,
            )
        )
    return specs


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
_GIVEN_NAMES = (
    "建国", "秀英", "桂兰", "志强", "海燕", "丽华", "俊杰", "文博", "晓明", "红梅",
    "玉兰", "春生", "德顺", "子涵", "欣怡", "浩然", "宇轩", "雨桐", "立新", "庆华",
    "永刚", "淑芬", "国栋", "凤英", "振华", "金凤", "明亮", "新民", "雪梅", "光辉",
    "晓燕", "文静", "宏伟", "玉珍", "志刚", "美玲", "家豪", "思远", "佳琪", "梦洁",
    "长青", "秋菊", "兆丰", "继成", "慧敏", "学军", "亚楠", "瑞雪", "晨阳", "爱民",
)  # fmt: skip
_GIVEN_SINGLE = "伟芳娜敏静强磊军洋勇艳杰涛明超霞平刚辉鹏华红飞斌"


def _person_name(rng: random.Random) -> str:
    surname = rng.choice(_SURNAMES)
    if rng.random() < 0.2:
        return surname + rng.choice(_GIVEN_SINGLE)
    return surname + rng.choice(_GIVEN_NAMES)


class _People:
    """Hands out fictional names and 1700000xxxx phone numbers, unique within a plan."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._names: set[str] = set()
        self._phones = iter(rng.sample(range(10_000), 2_000))

    def user(self, username: str, **flags: bool) -> UserSpec:
        name = _unique(self._rng, _person_name, self._names)
        return UserSpec(
            username=username, name=name, phone=f"1700000{next(self._phones):04d}", **flags
        )


# --- the plan --------------------------------------------------------------------------


def _plan_regions(*, rng: random.Random) -> list[RegionSpec]:
    regions = [
        RegionSpec(PROVINCE_CODE, PROVINCE_NAME, RegionLevel.PROVINCE, RegionKind.PROVINCE, None),
        RegionSpec(CITY_CODE, CITY_NAME, RegionLevel.CITY, RegionKind.CITY, PROVINCE_CODE),
        RegionSpec(COUNTY_CODE, COUNTY_NAME, RegionLevel.COUNTY, RegionKind.COUNTY, CITY_CODE),
    ]
    for code, name, kind in TOWNSHIPS:
        regions.append(RegionSpec(code, name, RegionLevel.TOWNSHIP, kind, COUNTY_CODE))
    taken: set[str] = set()
    for code, name, kind in TOWNSHIPS:
        regions.extend(
            plan_villages(rng=rng, township_code=code, township_name=name, kind=kind, taken=taken)
        )
    return regions


def _county_bodies() -> list[OrgSpec]:
    return [
        OrgSpec(COUNTY_OFFICE_NAME, OrgKind.COUNTY_OFFICE, COUNTY_CODE, short_name="两办"),
        OrgSpec(PLATFORM_CENTRE_NAME, OrgKind.PLATFORM_CENTRE, COUNTY_CODE, short_name="指挥中心"),
        OrgSpec(BIANBAN_NAME, OrgKind.BIANBAN, COUNTY_CODE, short_name="编办"),
    ]


def _departments() -> list[OrgSpec]:
    return [
        OrgSpec(department_name(short), OrgKind.DEPARTMENT, COUNTY_CODE, short_name=short)
        for short in DEPARTMENT_SHORT_NAMES
    ]


def _stationed_agencies() -> list[OrgSpec]:
    codes = {township_short(name): code for code, name, _kind in TOWNSHIPS}
    return [
        OrgSpec(
            f"{department_name(dept)}{host}{suffix}",
            OrgKind.STATIONED_AGENCY,
            codes[host],
            short_name=f"{host}{suffix}",
            parent_name=department_name(dept),
        )
        for dept, suffix, hosts in _AGENCY_TYPES
        for host in hosts
    ]


def _partners() -> list[OrgSpec]:
    codes = {name: code for code, name, _kind in TOWNSHIPS}
    return [
        OrgSpec(
            name,
            kind,
            codes[host] if host else COUNTY_CODE,
            credit_code=credit_code(prefix=prefix, region_code=COUNTY_CODE, body=body),
        )
        for name, kind, host, prefix, body in _PARTNERS
    ]


def _local_bodies(regions: Iterable[RegionSpec]) -> list[OrgSpec]:
    """A government for every township, a committee for every village or community."""
    orgs = []
    for region in regions:
        if region.level == RegionLevel.TOWNSHIP:
            orgs.append(
                OrgSpec(
                    township_government_name(region.name, region.kind),
                    OrgKind.TOWNSHIP,
                    region.code,
                    short_name=region.name,
                )
            )
        elif region.level == RegionLevel.VILLAGE:
            committee = "居民委员会" if region.kind == RegionKind.COMMUNITY else "村民委员会"
            orgs.append(
                OrgSpec(
                    f"{region.name}{committee}",
                    OrgKind.VILLAGE,
                    region.code,
                    short_name=region.name,
                )
            )
    return orgs


def _township_leader_title(kind: str) -> str:
    titles: dict[str, str] = {RegionKind.TOWN: "副镇长", RegionKind.XIANG: "副乡长"}
    return titles.get(kind, "办事处副主任")


def _plan_people(
    *, people: _People, orgs: dict[str, OrgSpec], regions: list[RegionSpec]
) -> tuple[list[UserSpec], list[MembershipSpec]]:
    users: list[UserSpec] = []
    members: list[MembershipSpec] = []

    def add(username: str, org: OrgSpec | None, role: str, title: str, **flags: bool) -> None:
        users.append(people.user(username, **flags))
        if org is not None:
            members.append(MembershipSpec(username, org, role, title))

    for account in DEMO_ACCOUNTS:
        org = orgs[account.organisation_name] if account.organisation_name else None
        add(
            account.username,
            org,
            account.role,
            _DEMO_TITLES.get(account.username, ""),
            is_demo=True,
            is_staff=account.role == Role.SYSTEM_ADMIN,
            is_public=account.role == Role.PUBLIC_USER,
        )
    for i in range(1, 3):
        add(f"p{i:02d}_operator", orgs[PLATFORM_CENTRE_NAME], Role.PLATFORM_OPERATOR, "受理调度员")
    townships = [r for r in regions if r.level == RegionLevel.TOWNSHIP]
    for i, township in enumerate(townships, start=1):
        gov = orgs[township_government_name(township.name, township.kind)]
        add(f"t{i:02d}_reporter1", gov, Role.TOWNSHIP_REPORTER, "综治中心干事")
        add(f"t{i:02d}_reporter2", gov, Role.TOWNSHIP_REPORTER, "网格管理员")
        add(f"t{i:02d}_leader", gov, Role.TOWNSHIP_LEADER, _township_leader_title(township.kind))
    for i, short in enumerate(DEPARTMENT_SHORT_NAMES, start=1):
        dept = orgs[department_name(short)]
        leader = "副大队长" if short.endswith("大队") else "副局长"
        add(f"d{i:02d}_handler", dept, Role.DEPARTMENT_HANDLER, "科员")
        add(f"d{i:02d}_leader", dept, Role.DEPARTMENT_LEADER, leader)
    agencies = [o for o in orgs.values() if o.kind == OrgKind.STATIONED_AGENCY]
    for i, agency in enumerate(agencies, start=1):
        suffix = next(s for s in _AGENCY_TITLES if agency.name.endswith(s))
        handler_title, leader_title = _AGENCY_TITLES[suffix]
        add(f"a{i:02d}_handler", agency, Role.DEPARTMENT_HANDLER, handler_title)
        add(f"a{i:02d}_leader", agency, Role.DEPARTMENT_LEADER, leader_title)
    return users, members


def plan_demo_county(*, seed: int = DEFAULT_SEED) -> CountyPlan:
    """Everything the demo county consists of, derived from the seed without the DB."""
    rng = random.Random(seed)
    regions = _plan_regions(rng=rng)
    org_list = (
        _county_bodies()
        + _departments()
        + _stationed_agencies()
        + _partners()
        + _local_bodies(regions)
    )
    orgs = {o.name: o for o in org_list}
    users, members = _plan_people(people=_People(rng), orgs=orgs, regions=regions)
    return CountyPlan(
        seed=seed,
        regions=tuple(regions),
        organisations=tuple(org_list),
        users=tuple(users),
        memberships=tuple(members),
    )


# --- applying the plan -----------------------------------------------------------------


def _apply_regions(specs: Iterable[RegionSpec]) -> dict[str, Region]:
    by_code: dict[str, Region] = {}
    for spec in specs:  # parents come before children in the plan
        by_code[spec.code] = region_upsert(
            code=spec.code,
            name=spec.name,
            level=spec.level,
            kind=spec.kind,
            parent=by_code[spec.parent_code] if spec.parent_code else None,
        )
    county = by_code[COUNTY_CODE]
    if county.bounds != COUNTY_BOUNDS:
        county.min_latitude, county.max_latitude = COUNTY_BOUNDS[:2]
        county.min_longitude, county.max_longitude = COUNTY_BOUNDS[2:]
        county.clean()
        county.save(
            update_fields=["min_latitude", "max_latitude", "min_longitude", "max_longitude"]
        )
    return by_code


def _apply_organisations(
    specs: Iterable[OrgSpec], *, regions: dict[str, Region]
) -> dict[OrgSpec, Organisation]:
    built: dict[OrgSpec, Organisation] = {}
    by_name: dict[str, Organisation] = {}
    for spec in specs:  # departments come before their stationed agencies
        parent = by_name[spec.parent_name] if spec.parent_name else None
        region = regions[spec.region_code]
        org = organisation_upsert(
            name=spec.name,
            kind=spec.kind,
            region=region,
            parent=parent,
            host_township=region if spec.kind == OrgKind.STATIONED_AGENCY else None,
            short_name=spec.short_name,
            credit_code=spec.credit_code,
            is_active=True,
        )
        built[spec] = org
        by_name[spec.name] = org
    return built


def _apply_user(spec: UserSpec, *, demo_password_hash: str) -> Any:
    """Create or update one user; only documented accounts get their password reset."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=spec.username).first()
    if user is None:
        # Generated staff get an unusable password: only the documented accounts log in.
        user = user_create(
            username=spec.username,
            password=None,
            name=spec.name,
            phone=spec.phone,
            is_public=spec.is_public,
            is_staff=spec.is_staff,
            validate_password=False,
        )
    user.name, user.phone = spec.name, spec.phone
    user.is_public, user.is_staff = spec.is_public, spec.is_staff
    if spec.is_demo:
        user.password = demo_password_hash
        user.is_active = True
        user.is_superuser = False
    user.save()
    return user


def _apply_membership(spec: MembershipSpec, *, user: Any, organisation: Organisation) -> None:
    existing = Membership.objects.filter(
        user=user, organisation=organisation, role=spec.role
    ).first()
    if existing is None or not existing.is_active:
        membership_create(
            actor=None, user=user, organisation=organisation, role=spec.role, title=spec.title
        )
    elif existing.title != spec.title:
        existing.title = spec.title
        existing.save(update_fields=["title"])


def _apply_api_keys(plan: CountyPlan, orgs: dict[OrgSpec, Organisation]) -> None:
    import hashlib

    from xianghu.accounts.models import ApiKey

    for plain, prefix, kind, role, name in DEMO_API_KEYS:
        org = orgs[plan.organisations_of(kind)[0]]
        ApiKey.objects.update_or_create(
            prefix=prefix,
            defaults={
                "organisation": org,
                "role": role,
                "name": name,
                "key_hash": hashlib.sha256(plain.encode()).hexdigest(),
                "revoked_at": None,
            },
        )


def build_demo_county(*, seed: int = DEFAULT_SEED) -> DemoSummary:
    """Build (or bring up to date) the fictional demo county in one transaction."""
    plan = plan_demo_county(seed=seed)
    # One hash for all documented accounts: their password is published anyway, and
    # hashing once keeps a rerun fast with the production-strength hasher.
    demo_password_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        regions = _apply_regions(plan.regions)
        orgs = _apply_organisations(plan.organisations, regions=regions)
        users = {
            spec.username: _apply_user(spec, demo_password_hash=demo_password_hash)
            for spec in plan.users
        }
        for membership in plan.memberships:
            _apply_membership(
                membership,
                user=users[membership.username],
                organisation=orgs[membership.organisation],
            )
        _apply_api_keys(plan, orgs)
    return DemoSummary(
        seed=seed,
        townships=len(plan.regions_at(RegionLevel.TOWNSHIP)),
        villages=len(plan.regions_at(RegionLevel.VILLAGE)),
        departments=len(plan.organisations_of(OrgKind.DEPARTMENT)),
        stationed_agencies=len(plan.organisations_of(OrgKind.STATIONED_AGENCY)),
        partners=sum(
            len(plan.organisations_of(kind))
            for kind in (OrgKind.SOCIAL_ORG, OrgKind.ENTERPRISE, OrgKind.VOLUNTEER_TEAM)
        ),
        users=len(plan.users),
        memberships=len(plan.memberships),
    )
