"""The demo's stakeholder registry and resource coordination (docs/participation.md):
registry profiles for the county's five partners (areas, capacities, skills), two grid
workers of the first township (fictional 170 phone numbers, masked wherever shown), a
few offers, and three needs — the first township's drinking water, partly confirmed and
partly delivered; the county platform's tents, still open; and volunteers already met —
so that the public board shows open needs, remaining quantities and who delivered.

Idempotent: profiles by organisation (grid workers by name and village), offers by title
and stakeholder, needs by title and poster; commitments only for a need made now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from xianghu.core.actor import Actor
from xianghu.participation.coord import services as coord
from xianghu.participation.models_coord import (
    Need,
    Offer,
    ResourceKind,
    Stakeholder,
    StakeholderKind,
    Unit,
    Urgency,
)
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import SOCIETY_KINDS, OrgKind, RegionLevel, Role
from xianghu.regions.selectors import actor_for_user

# A system actor for the profiles no demo user keeps (the partners without accounts).
_SYSTEM = Actor.build(user_id=None, grants=(), is_superuser=True, display_name="demo")

# name → (skills, areas: "county", "home" (its township) or township names, capacities (kind, unit, quantity))
_PROFILES: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str, int | None], ...]]] = {
    "清河县慈善总会": (
        "救灾物资募集、善款管理",
        ("county",),
        ((ResourceKind.GOODS, Unit.BOX, 2000), (ResourceKind.FUNDS, Unit.YUAN, 500000)),
    ),
    "清河县志愿者协会": (
        "应急救援、心理疏导、手语",
        ("county",),
        ((ResourceKind.VOLUNTEERS, Unit.PERSON, 120), (ResourceKind.SKILLS, Unit.PERSON, 15)),
    ),
    "清河县鲁清食品有限公司": (
        "食品储运",
        ("home",),
        ((ResourceKind.GOODS, Unit.BOX, 800), (ResourceKind.TRANSPORT, Unit.VEHICLE, 3)),
    ),
    "清河县宏远建筑工程有限公司": (
        "工程抢险、起重机械操作",
        ("county",),
        ((ResourceKind.TRANSPORT, Unit.VEHICLE, 6), (ResourceKind.VENUE, Unit.SQUARE_METRE, 1500)),
    ),
    "清河县恒泰化工有限公司": (
        "危化品应急处置",
        (),
        ((ResourceKind.SKILLS, Unit.PERSON, 8),),
    ),
}
_GRID_WORKERS = (("刘桂兰", "17000005566", "入户走访、急救"), ("孙建军", "17000007788", "电工"))


@dataclass(frozen=True)
class DemoCoord:
    profiles: int
    offers: int
    needs: int
    commitments: int


def _first_township(county: Region) -> tuple[Organisation, Region]:
    gov = (
        Organisation.objects.filter(county=county, kind=OrgKind.TOWNSHIP, is_active=True)
        .select_related("township")
        .order_by("township__code")
        .first()
    )
    if gov is None or gov.township is None:
        raise RuntimeError("run the demo county first")
    return gov, gov.township


def _actor_of(organisation: Organisation, *roles: str) -> Actor:
    member = (
        Membership.objects.filter(organisation=organisation, role__in=roles, is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    if member is None:
        raise RuntimeError(f"no {roles} in {organisation}")
    return actor_for_user(user=member.user)


def _profiles(county: Region, first: Region) -> dict[str, Stakeholder]:
    townships = {r.name: r for r in Region.objects.filter(parent=county)}
    out: dict[str, Stakeholder] = {}
    partners = Organisation.objects.filter(county=county, kind__in=SOCIETY_KINDS)
    for org in partners.order_by("name"):
        spec = _PROFILES.get(org.name)
        profile = coord.stakeholder_for_organisation(actor=_SYSTEM, organisation=org)
        out[org.name] = profile
        if spec is None or profile.capacities.exists():
            continue
        skills, areas, caps = spec
        regions = [
            county if a == "county" else (org.township or county) if a == "home" else townships[a]
            for a in areas
        ]
        coord.stakeholder_update(
            actor=_SYSTEM,
            stakeholder=profile,
            data=coord.ProfileData(
                name=profile.name,
                skills=skills,
                contact_name="",
                contact_phone=profile.contact_phone,
            ),
            areas=regions,
            capacities=[
                coord.CapacityData(kind=k, unit=u, quantity=Decimal(q) if q else None)
                for k, u, q in caps
            ],
        )
    villages = list(
        Region.objects.filter(parent=first, level=RegionLevel.VILLAGE).order_by("code")[:2]
    )
    for (name, phone, skills), village in zip(_GRID_WORKERS, villages, strict=False):
        existing = Stakeholder.objects.filter(
            kind=StakeholderKind.GRID_WORKER, name=name, village=village
        ).first()
        out[name] = existing or coord.stakeholder_create(
            actor=_SYSTEM,
            county=county,
            kind=StakeholderKind.GRID_WORKER,
            data=coord.ProfileData(name=name, contact_phone=phone, skills=skills, village=village),
        )
    return out


def _offer(
    profile: Stakeholder, *, title: str, kind: str, unit: str, quantity: int, area: Region
) -> Offer:
    existing = Offer.objects.filter(stakeholder=profile, title=title).first()
    if existing is not None:
        return existing
    return coord.offer_create(
        actor=_SYSTEM,
        stakeholder=profile,
        data=coord.OfferData(
            kind=kind,
            title=title,
            quantity=Decimal(quantity),
            unit=unit,
            area=area,
            available_from=timezone.localdate(),
            available_to=timezone.localdate() + timedelta(days=30),
        ),
    )


@transaction.atomic
def build_demo_coord(*, county: Region) -> DemoCoord:
    gov, first = _first_township(county)
    platform = Organisation.objects.get(county=county, kind=OrgKind.PLATFORM_CENTRE)
    township_actor = _actor_of(gov, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_REPORTER)
    platform_actor = _actor_of(platform, Role.PLATFORM_OPERATOR)
    profiles = _profiles(county, first)
    charity = profiles["清河县慈善总会"]
    food = profiles["清河县鲁清食品有限公司"]
    volunteers = profiles["清河县志愿者协会"]
    builders = profiles["清河县宏远建筑工程有限公司"]
    water = _offer(
        charity,
        title="瓶装饮用水",
        kind=ResourceKind.GOODS,
        unit=Unit.BOX,
        quantity=300,
        area=county,
    )
    _offer(
        volunteers,
        title="应急志愿者",
        kind=ResourceKind.VOLUNTEERS,
        unit=Unit.PERSON,
        quantity=30,
        area=county,
    )
    _offer(
        builders,
        title="抢险运输车辆",
        kind=ResourceKind.TRANSPORT,
        unit=Unit.VEHICLE,
        quantity=5,
        area=county,
    )
    village = Region.objects.filter(parent=first).order_by("code").first() or first
    today = timezone.localdate()
    made = 0
    needs: list[tuple[Any, ...]] = [
        (
            gov,
            township_actor,
            "安置点饮用水",
            ResourceKind.GOODS,
            Unit.BOX,
            200,
            village,
            Urgency.URGENT,
            [(charity, water, 120, "confirmed"), (food, None, 50, "delivered")],
        ),
        (
            platform,
            platform_actor,
            "临时安置帐篷",
            ResourceKind.GOODS,
            Unit.PIECE,
            40,
            county,
            Urgency.CRITICAL,
            [],
        ),
        (
            gov,
            township_actor,
            "清淤志愿者",
            ResourceKind.VOLUNTEERS,
            Unit.PERSON,
            10,
            first,
            Urgency.NORMAL,
            [(volunteers, None, 10, "confirmed")],
        ),
    ]
    for poster, actor, title, kind, unit, quantity, place, urgency, gifts in needs:
        if Need.objects.filter(poster=poster, title=title).exists():
            continue
        need = coord.need_create(
            actor=actor,
            poster=poster,
            data=coord.NeedData(
                kind=kind,
                title=title,
                quantity=Decimal(quantity),
                unit=unit,
                place=place,
                needed_by=today + timedelta(days=5),
                urgency=urgency,
                description="",
            ),
        )
        for profile, offer, amount, state in gifts:
            commitment = coord.commitment_create(
                actor=_SYSTEM, need=need, stakeholder=profile, offer=offer, quantity=amount
            )
            coord.commitment_deliver(actor=_SYSTEM, commitment=commitment)
            if state == "confirmed":
                coord.commitment_confirm(actor=actor, commitment=commitment)
            made += 1
    return DemoCoord(
        profiles=Stakeholder.objects.filter(county=county).count(),
        offers=Offer.objects.filter(county=county).count(),
        needs=Need.objects.filter(county=county).count(),
        commitments=made,
    )
