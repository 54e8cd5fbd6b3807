"""Fixtures of the coordination tests: two society organisations with members, and
helpers that post needs and offers (imported by the test_coord* modules and the browser
test)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.participation.coord import services
from xianghu.participation.models_coord import Need, Offer, ResourceKind, Unit
from xianghu.regions.models import Region
from xianghu.regions.roles import OrgKind, Role


@pytest.fixture
def coord(world: Any) -> Any:
    """`world` plus a rescue team (member 'ngo') next to the enterprise (member
    'volunteer'); both profiles made."""
    county = world.county
    world.orgs["ngo"] = f.OrganisationFactory(
        name="清河县蓝天救援队",
        kind=OrgKind.SOCIAL_ORG,
        region=county,
        county=county,
        contact_phone="13912345678",
    )
    user = f.UserFactory(username="ngo")
    f.MembershipFactory(user=user, organisation=world.orgs["ngo"], role=Role.PUBLIC_USER)
    world.users["ngo"] = user
    world.enterprise = services.stakeholder_for_organisation(
        actor=as_(world, "volunteer"), organisation=world.orgs["enterprise"]
    )
    world.ngo = services.stakeholder_for_organisation(
        actor=as_(world, "ngo"), organisation=world.orgs["ngo"]
    )
    world.village = Region.objects.get(parent=world.t1)
    return world


def post_need(world: Any, key: str = "tleader", **kw: Any) -> Need:
    data = {
        "kind": ResourceKind.GOODS,
        "title": "王庄镇安置点饮用水",
        "quantity": Decimal("100"),
        "unit": Unit.BOX,
        "place": world.village,
        "needed_by": timezone.localdate() + timedelta(days=3),
    }
    data.update(kw)
    poster = kw.pop("poster", None) or world.orgs["t1"]
    data.pop("poster", None)
    return services.need_create(
        actor=as_(world, key), poster=poster, data=services.NeedData(**data)
    )


def post_offer(world: Any, stakeholder: Any, key: str, **kw: Any) -> Offer:
    data = {
        "kind": ResourceKind.GOODS,
        "title": "矿泉水",
        "quantity": Decimal("60"),
        "unit": Unit.BOX,
        "area": world.county,
        "available_from": timezone.localdate(),
    }
    data.update(kw)
    return services.offer_create(
        actor=as_(world, key), stakeholder=stakeholder, data=services.OfferData(**data)
    )
