"""The multi-county demo (`demo_county --counties 3`): 清河县 and 柳河县 in 鲁中市, 青山县
in 鲁东市, each with its list, staff and calls, and the province and city users who
oversee them (/oversight/)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory

from xianghu.assessment.periods import Period
from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import ListVersion
from xianghu.core.workdays import CHINA_TZ
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import (
    CITY_CODE,
    COUNTY_CODE,
    DEMO_PASSWORD,
    PROVINCE_CODE,
    build_demo_county,
)
from xianghu.demo.history import build_demo_history
from xianghu.demo.peers import PEERS, SECOND_CITY_CODE, build_demo_peers
from xianghu.oversight.selectors import counties_under, county_rows
from xianghu.regions.models import Membership, Region


def _login(username: str) -> Any:
    return authenticate(
        request=RequestFactory().post("/"), username=username, password=DEMO_PASSWORD
    )


# A one-month history ending on 30 June 2026: June is its one full month.
UNTIL = datetime(2026, 6, 30, 18, 0, tzinfo=CHINA_TZ)
JUNE = Period.month(2026, 6)
CODES = {COUNTY_CODE, *(p.code for p in PEERS)}


@pytest.mark.django_db
def test_three_counties_in_two_cities_rank_apart() -> None:
    build_demo_county()
    qinghe = Region.objects.get(code=COUNTY_CODE)
    build_demo_lists(county=qinghe, province=Region.objects.get(code=PROVINCE_CODE))
    # A small history for the demo county too (no top-up): the test's size option.
    assert build_demo_history(county=qinghe, months=1, until=UNTIL, floor=0).problems == ()
    summary = build_demo_peers(months=1, until=UNTIL)
    assert summary.counties == tuple(p.name for p in PEERS)
    for name, history in summary.histories:
        assert history.problems == (), name
        assert history.calls > 0, name

    province = Region.objects.get(code=PROVINCE_CODE)
    counties = counties_under(province)
    assert {c.code for c in counties} == CODES
    by_code = {c.code: c for c in counties}
    assert by_code[PEERS[0].code].parent.code == CITY_CODE
    assert by_code[PEERS[1].code].parent.code == SECOND_CITY_CODE

    rows = {r.region.code: r for r in county_rows(counties, period=JUNE, now=UNTIL)}
    assert set(rows) == CODES
    for row in rows.values():
        assert row.list.published, row.region.name  # each its own list in force
        assert row.mechanism.callable_items > 0
        assert row.mechanism.flowing
        assert row.rates.composite is not None, row.region.name
    # Staffed now (the operators' memberships are younger than the history).
    assert all(r.mechanism.staffed for r in county_rows(counties, period=JUNE))
    fast, slow = rows[PEERS[0].code], rows[PEERS[1].code]
    # 柳河县 works fast, 青山县 slowly: they rank apart, the demo county between them.
    assert fast.rates.composite > rows[COUNTY_CODE].rates.composite > slow.rates.composite
    assert fast.rank == 1
    assert slow.rank == 3
    assert fast.rates.completion > slow.rates.completion

    # Built again: nothing new (no second list version, no more calls).
    calls, versions = Call.objects.count(), ListVersion.objects.count()
    again = build_demo_peers(months=1, until=UNTIL)
    assert all(h.skipped for _n, h in again.histories)
    assert (Call.objects.count(), ListVersion.objects.count()) == (calls, versions)


@pytest.mark.django_db
def test_the_command_builds_the_peers_once_and_prints_their_logins(client: Client) -> Any:
    out = io.StringIO()
    call_command("demo_county", "--no-history", "--counties", "3", stdout=out)
    call_command("demo_county", "--quiet", "--no-history", "--counties", "3")
    text = out.getvalue()
    for username in ("province", "city_luzhong", "city_ludong", "lh_operator", "qs_operator"):
        assert username in text
    for peer in PEERS:
        county = Region.objects.get(code=peer.code)
        catalogue = catalog_selectors.county_catalogue(county=county)
        assert catalogue is not None
        assert catalogue.versions.count() == 1
        assert catalog_selectors.version_in_force(catalogue=catalogue) is not None
    assert Membership.objects.filter(user__username="province", is_active=True).count() == 1
    # The overseers log in with the demo password; the province user oversees the three.
    for username in ("province", "city_ludong", "lh_operator", "qs_t01_reporter"):
        assert _login(username) is not None, username
    client.force_login(_login("province"))
    html = client.get("/oversight/").content.decode()
    for code in CODES:
        assert f"/oversight/region/{code}/" in html
    # A city user sees only its city's counties.
    client.force_login(_login("city_ludong"))
    assert client.get(f"/oversight/region/{PEERS[1].code}/").status_code == 200
    assert client.get(f"/oversight/region/{COUNTY_CODE}/").status_code == 404


@pytest.mark.django_db
def test_the_default_builds_one_county() -> None:
    call_command("demo_county", "--quiet", "--no-history")
    assert not Region.objects.filter(code__in=[p.code for p in PEERS]).exists()
    assert not Region.objects.filter(code=SECOND_CITY_CODE).exists()
