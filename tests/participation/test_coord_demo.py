"""The demo's registry and coordination data: built twice without duplicates, and the
public board shows it masked."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories as f
from xianghu.demo.coord import build_demo_coord
from xianghu.participation.models_coord import Commitment, Need, Stakeholder
from xianghu.regions.roles import OrgKind

pytestmark = pytest.mark.django_db


def test_the_demo_coordination_is_idempotent_and_public_safe(world):
    county = world.county
    for name, kind in (
        ("清河县慈善总会", OrgKind.SOCIAL_ORG),
        ("清河县志愿者协会", OrgKind.VOLUNTEER_TEAM),
        ("清河县宏远建筑工程有限公司", OrgKind.ENTERPRISE),
    ):
        f.OrganisationFactory(
            name=name, kind=kind, region=county, county=county, contact_phone="17000009999"
        )
    first = build_demo_coord(county=county)
    again = build_demo_coord(county=county)
    assert first.needs == again.needs == 3
    assert first.commitments == 3
    assert again.commitments == 0
    assert first.profiles == again.profiles == Stakeholder.objects.count() == 5
    assert Commitment.objects.count() == 3
    water = Need.objects.get(title="安置点饮用水")
    assert water.poster == world.orgs["t1"]

    board = Client().get("/participation/resources/board/", {"format": "json"}).json()
    by_title = {n["title"]: n for n in board["needs"]}
    assert by_title["安置点饮用水"]["remaining"] == "30"
    assert by_title["安置点饮用水"]["confirmed"] == "120"
    assert by_title["清淤志愿者"]["status"] == "fulfilled"
    assert by_title["临时安置帐篷"]["remaining"] == "40"
    html = Client().get("/participation/resources/board/").content.decode()
    for text in (str(board), html):
        assert "17000009999" not in text
        assert "17000005566" not in text
