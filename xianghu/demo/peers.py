"""The multi-county demo: two more fictional counties beside 清河县, so that the
province's and the cities' oversight (`/oversight/`) has peers to compare.

山东省 › 鲁中市 (371200) › 清河县 (371221, the demo county) and 柳河县 (371222);
山东省 › 鲁东市 (371800) › 青山县 (371821). 371800 is no city code in use, and both
counties, their townships, organisations and people are as fictional as 清河县.

Each peer county gets what oversight looks at: county bodies (两办, platform centre,
编办), the departments the demonstration catalogue names, four townships with their
villages, a few staff per organisation, its own list derived from the province's guidance
(every guidance item inherited) and a smaller history of calls driven through the real
workflow (`history.build_demo_history` with one pace for the whole county: 柳河县 works
fast, 青山县 slowly, so the rankings among peers differ). A province user (the province's
编办) and a user of each city's 编办 oversee them.

Idempotent like the rest of the demo: every write is an upsert, an existing published
list is kept, and a county that has its history keeps it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog import services as catalog_services
from xianghu.catalog.models import ScopeLevel
from xianghu.core.errors import Conflict
from xianghu.regions.models import Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel, Role
from xianghu.regions.services import region_upsert

from .catalog import GUIDANCE_NAME, lists_in_force_from
from .county import (
    CITY_CODE,
    CITY_NAME,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEPARTMENT_SHORT_NAMES,
    PROVINCE_CODE,
    PROVINCE_NAME,
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
    plan_villages,
)
from .history import FAST, SLOW, HistorySummary, Pace, build_demo_history

SECOND_CITY_CODE, SECOND_CITY_NAME = "371800", "鲁东市"

#: The peers' histories have no monthly top-up (`history.MONTHLY_FLOOR`): some 35 calls a
#: month each, enough for the county's rates, not to rank its departments.
PEER_FLOOR = 0


@dataclass(frozen=True)
class PeerCounty:
    code: str
    name: str
    city_code: str
    prefix: str  # of its usernames
    townships: tuple[tuple[str, str, str], ...]  # (code, name, kind)
    pace: Pace

    def department(self, short: str) -> str:
        return f"{self.name}{short}"

    @property
    def platform_centre(self) -> str:
        return f"{self.name}乡呼县应指挥中心"


PEERS: tuple[PeerCounty, ...] = (
    PeerCounty(
        code="371222",
        name="柳河县",
        city_code=CITY_CODE,
        prefix="lh",
        townships=(
            ("371222001", "柳河街道", RegionKind.SUBDISTRICT),
            ("371222101", "杨集镇", RegionKind.TOWN),
            ("371222102", "河口镇", RegionKind.TOWN),
            ("371222201", "北坡乡", RegionKind.XIANG),
        ),
        pace=FAST,
    ),
    PeerCounty(
        code="371821",
        name="青山县",
        city_code=SECOND_CITY_CODE,
        prefix="qs",
        townships=(
            ("371821001", "青山街道", RegionKind.SUBDISTRICT),
            ("371821101", "石门镇", RegionKind.TOWN),
            ("371821102", "南岭镇", RegionKind.TOWN),
            ("371821201", "松林乡", RegionKind.XIANG),
        ),
        pace=SLOW,
    ),
)

# The overseers: the province's 编办 and each city's (province and city users, see
# catalog/access.py), as (username, organisation name, region code, description).
OVERSEERS: tuple[tuple[str, str, str, str], ...] = (
    ("province", f"{PROVINCE_NAME}委编办", PROVINCE_CODE, "Province user: oversees every county"),
    ("city_luzhong", f"{CITY_NAME}委编办", CITY_CODE, "City user: 清河县 and 柳河县"),
    ("city_ludong", f"{SECOND_CITY_NAME}委编办", SECOND_CITY_CODE, "City user: 青山县"),
)


@dataclass(frozen=True)
class PeerLogin:
    username: str
    role: str
    organisation: str


@dataclass(frozen=True)
class PeerSummary:
    counties: tuple[str, ...]
    logins: tuple[PeerLogin, ...]
    histories: tuple[tuple[str, HistorySummary], ...]  # (county name, its history)


def _plan_peer(
    peer: PeerCounty, *, rng: random.Random
) -> tuple[list[RegionSpec], list[OrgSpec], list[UserSpec], list[MembershipSpec]]:
    regions = [
        RegionSpec(peer.code, peer.name, RegionLevel.COUNTY, RegionKind.COUNTY, peer.city_code)
    ]
    regions += [
        RegionSpec(code, name, RegionLevel.TOWNSHIP, kind, peer.code)
        for code, name, kind in peer.townships
    ]
    taken: set[str] = set()
    for code, name, kind in peer.townships:
        regions += plan_villages(
            rng=rng, township_code=code, township_name=name, kind=kind, taken=taken
        )
    bodies = {
        "office": OrgSpec(
            f"{peer.name}委县政府办公室（两办）", OrgKind.COUNTY_OFFICE, peer.code, "两办"
        ),
        "platform": OrgSpec(peer.platform_centre, OrgKind.PLATFORM_CENTRE, peer.code, "指挥中心"),
        "bianban": OrgSpec(f"{peer.name}委编办", OrgKind.BIANBAN, peer.code, "编办"),
    }
    departments = [
        OrgSpec(peer.department(short), OrgKind.DEPARTMENT, peer.code, short_name=short)
        for short in DEPARTMENT_SHORT_NAMES
    ]
    locals_ = _local_bodies(regions)
    orgs = [*bodies.values(), *departments, *locals_]
    people = _People(rng)
    users: list[UserSpec] = []
    members: list[MembershipSpec] = []

    def add(username: str, org: OrgSpec, role: str, title: str, *, demo: bool = False) -> None:
        users.append(people.user(username, is_demo=demo))
        members.append(MembershipSpec(username, org, role, title))

    p = peer.prefix
    add(f"{p}_operator", bodies["platform"], Role.PLATFORM_OPERATOR, "受理调度员", demo=True)
    add(f"{p}_p02_operator", bodies["platform"], Role.PLATFORM_OPERATOR, "受理调度员")
    add(f"{p}_bianban", bodies["bianban"], Role.BIANBAN_REVIEWER, "机构编制股股长", demo=True)
    add(f"{p}_assessor", bodies["office"], Role.ASSESSOR, "督查考核专员", demo=True)
    governments = [o for o in locals_ if o.kind == OrgKind.TOWNSHIP]
    kinds = {code: kind for code, _name, kind in peer.townships}
    for i, gov in enumerate(governments, start=1):
        first = i == 1  # the first township's reporter and leader log in
        leader = _township_leader_title(kinds[gov.region_code])
        add(f"{p}_t{i:02d}_reporter", gov, Role.TOWNSHIP_REPORTER, "网格管理员", demo=first)
        add(f"{p}_t{i:02d}_leader", gov, Role.TOWNSHIP_LEADER, leader, demo=first)
    for i, dept in enumerate(departments, start=1):
        add(f"{p}_d{i:02d}_handler", dept, Role.DEPARTMENT_HANDLER, "科员")
        add(f"{p}_d{i:02d}_leader", dept, Role.DEPARTMENT_LEADER, "副局长")
    return regions, orgs, users, members


def _apply_regions(specs: list[RegionSpec]) -> dict[str, Region]:
    """Upsert regions (parents before children); the result also holds the province and
    the demo's two cities, and every parent outside `specs` (read, not written)."""
    outside = {s.parent_code for s in specs if s.parent_code} - {s.code for s in specs}
    parents = {PROVINCE_CODE, CITY_CODE, SECOND_CITY_CODE} | outside
    by_code = {r.code: r for r in Region.objects.filter(code__in=parents)}
    for spec in specs:  # parents come before children
        by_code[spec.code] = region_upsert(
            code=spec.code,
            name=spec.name,
            level=spec.level,
            kind=spec.kind,
            parent=by_code[spec.parent_code] if spec.parent_code else None,
        )
    return by_code


def peer_list_name(peer: PeerCounty) -> str:
    return f"{peer.name}属地管理事项清单"


def _derive_list(peer: PeerCounty, county: Region) -> None:
    derive_county_list(county=county, name=peer_list_name(peer))


def derive_county_list(*, county: Region, name: str) -> None:
    """A county's list `name`: every item of the province's guidance inherited, published
    from the same day as 清河县's (so the history's calls fall under it); kept if it is
    in force already."""
    province = Region.objects.get(code=PROVINCE_CODE)
    guidance_catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.PROVINCE, region=province, name=GUIDANCE_NAME
    )
    guidance = catalog_selectors.version_in_force(catalogue=guidance_catalogue)
    if guidance is None:  # the demo county's lists are built first (build_demo_lists)
        raise Conflict(
            _("The province's guidance catalogue is not built yet: build the demo county first."),
            code="demo.no_guidance",
        )
    catalogue = catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY,
        region=county,
        name=name,
        guidance=guidance_catalogue,
    )
    if catalog_selectors.version_in_force(catalogue=catalogue) is None:
        draft = catalog_services.version_derive(
            catalogue=catalogue, guidance=guidance, title=f"{name}（第1版）"
        )
        catalog_services.version_publish(version=draft, at=lists_in_force_from())


def build_demo_peers(
    *,
    seed: int = DEFAULT_SEED,
    months: int | None = 2,
    until: datetime | None = None,
) -> PeerSummary:
    """Build (or bring up to date) the two peer counties, their lists, the overseers and
    (unless `months` is None) `months` months of history in each. The demo county and
    the province's guidance must be built first (`demo_county` does it)."""
    password = make_password(DEMO_PASSWORD)
    logins: list[PeerLogin] = []
    counties: list[Region] = []
    with transaction.atomic():
        regions = _apply_regions(
            [
                RegionSpec(
                    SECOND_CITY_CODE,
                    SECOND_CITY_NAME,
                    RegionLevel.CITY,
                    RegionKind.CITY,
                    PROVINCE_CODE,
                )
            ]
        )
        overseers = [
            OrgSpec(name, OrgKind.BIANBAN, code, short_name="编办")
            for _user, name, code, _text in OVERSEERS
        ]
        built = _apply_organisations(overseers, regions=regions)
        people = _People(random.Random(f"{seed}/overseers"))
        for (username, name, _code, _text), spec in zip(OVERSEERS, overseers, strict=True):
            user = _apply_user(people.user(username, is_demo=True), demo_password_hash=password)
            _apply_membership(
                MembershipSpec(username, spec, Role.BIANBAN_REVIEWER, "督导专员"),
                user=user,
                organisation=built[spec],
            )
            logins.append(PeerLogin(username, Role.BIANBAN_REVIEWER, name))
        for n, peer in enumerate(PEERS, start=1):
            region_specs, org_specs, user_specs, member_specs = _plan_peer(
                peer, rng=random.Random(f"{seed}/peer/{n}")
            )
            regions = _apply_regions(region_specs)
            orgs = _apply_organisations(org_specs, regions=regions)
            documented = {u.username for u in user_specs if u.is_demo}
            users = {
                spec.username: _apply_user(spec, demo_password_hash=password) for spec in user_specs
            }
            for member in member_specs:
                _apply_membership(
                    member, user=users[member.username], organisation=orgs[member.organisation]
                )
                if member.username in documented:
                    logins.append(PeerLogin(member.username, member.role, member.organisation.name))
            county = regions[peer.code]
            _derive_list(peer, county)
            counties.append(county)
    histories: list[tuple[str, HistorySummary]] = []
    if months is not None:
        for n, (peer, county) in enumerate(zip(PEERS, counties, strict=True), start=1):
            histories.append(
                (
                    peer.name,
                    build_demo_history(
                        county=county,
                        months=months,
                        seed=seed + n,
                        until=until,
                        pace=peer.pace,
                        floor=PEER_FLOOR,
                    ),
                )
            )
    return PeerSummary(
        counties=tuple(c.name for c in counties), logins=tuple(logins), histories=tuple(histories)
    )
