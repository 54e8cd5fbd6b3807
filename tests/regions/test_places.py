"""Finding the township or village an address names (regions.places.PlaceFinder)."""

from __future__ import annotations

import pytest

from tests.factories import RegionFactory
from xianghu.regions.places import PlaceFinder
from xianghu.regions.roles import RegionKind, RegionLevel

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    city = RegionFactory(code="371200", name="鲁中市", level=RegionLevel.CITY, kind=RegionKind.CITY)
    county = RegionFactory(code="371202", name="东山县", parent=city)
    RegionFactory(code="371203", name="西河县", parent=city)
    wang = RegionFactory(
        code="371202100",
        name="王庄镇",
        level=RegionLevel.TOWNSHIP,
        kind=RegionKind.TOWN,
        parent=county,
    )
    RegionFactory(
        code="371202100201",
        name="王庄村",
        level=RegionLevel.VILLAGE,
        kind=RegionKind.VILLAGE,
        parent=wang,
    )
    RegionFactory(
        code="371202101",
        name="李集乡",
        level=RegionLevel.TOWNSHIP,
        kind=RegionKind.XIANG,
        parent=county,
    )
    return county


def test_full_names_beat_stems_and_villages_resolve_to_their_township(county):
    places = PlaceFinder(county)
    village = places.by_address("东山县王庄村东头 3 号")
    assert village is not None
    assert village.name == "王庄村"
    assert places.township(village).name == "王庄镇"
    assert places.by_address("王庄镇政府对面").name == "王庄镇"
    # A stem alone still finds the place.
    assert places.by_address("李集大集上").name == "李集乡"


def test_codes_and_other_counties(county):
    places = PlaceFinder(county)
    assert places.by_code["371202101"].name == "李集乡"
    assert places.by_address("西河县城关某路") is False
    assert places.by_address("不知道在哪里") is None
