"""The province-scale demo (`demo_county --scale province`, `demo/province.py`): the plan
has the province's shape, a small province is built with legal call logs interleaved in
time, tickets about its places, and a rerun adds nothing."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

import pytest
from django.core.management import call_command

from xianghu.assessment.models import DispatchFact
from xianghu.calls.models import Call, CallEvent, Dispatch
from xianghu.calls.workflow import replay
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.workdays import CHINA_TZ
from xianghu.demo import province
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county
from xianghu.integrations.hotline.models import Ticket
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel

NOW = datetime(2026, 6, 30, 18, 0, tzinfo=CHINA_TZ)


def test_the_full_plan_has_the_provinces_shape() -> None:
    plan = province.plan_province(seed=2026)
    assert len(plan.cities) == 16
    assert len(plan.counties) == 135  # with 清河县: 136
    townships = [c.townships for c in plan.counties]
    assert sum(townships) == round(1_800 * 135 / 136)
    assert min(townships) >= 8
    assert max(townships) <= 20
    codes = [c.code for c in plan.counties]
    assert len(set(codes)) == len(codes)
    assert COUNTY_CODE not in codes
    names = [c.name for c in plan.counties]
    assert len(set(names)) == len(names)
    assert "清河县" not in names
    # Every county has the 18 departments and stationed agencies in its townships.
    for county in plan.counties:
        kinds = Counter(o.kind for o in county.organisations)
        assert kinds[OrgKind.DEPARTMENT] == 18
        assert kinds[OrgKind.TOWNSHIP] == county.townships
        assert kinds[OrgKind.STATIONED_AGENCY] > 0
    # Deterministic from the seed, different for another.
    assert province.plan_province(seed=2026) == plan
    assert province.plan_province(seed=7).counties[0] != plan.counties[0]


@pytest.mark.django_db
def test_a_small_province_is_built_with_legal_interleaved_histories_once() -> None:
    build_demo_county()
    build_demo_lists(
        county=Region.objects.get(code=COUNTY_CODE),
        province=Region.objects.get(code=PROVINCE_CODE),
    )
    summary = province.build_province(counties=4, calls=900, tickets=400, now=NOW)
    assert summary.counties == 4
    assert summary.cities == 16
    generated = Region.objects.filter(level=RegionLevel.COUNTY).exclude(code=COUNTY_CODE)
    assert generated.count() == 3
    for county in generated:
        # Its own list in force, staff in every township and department.
        assert catalog_selectors.county_version_in_force(county=county) is not None
        orgs = Organisation.objects.filter(
            county=county, kind__in=[OrgKind.TOWNSHIP, OrgKind.DEPARTMENT]
        )
        assert not orgs.exclude(memberships__isnull=False).exists()
    assert Membership.objects.filter(organisation__county__in=generated).count() > 200

    calls = Call.objects.filter(county__in=generated)
    assert summary.calls.calls == calls.count() == 900
    assert summary.calls.rows["CallEvent"] == CallEvent.objects.filter(call__in=calls).count()
    assert DispatchFact.objects.filter(call__in=calls).exists()
    # Every county got calls, in proportion to its weight; numbers carry its code.
    per_county = Counter(calls.values_list("county__code", flat=True))
    assert set(per_county) == set(generated.values_list("code", flat=True))
    for call in calls.select_related("county")[:50]:
        assert call.number.startswith(call.county.code)
    # The logs are legal: each replays to the call's state.
    sample = list(calls.order_by("pk")[::30])
    for call in sample:
        events = CallEvent.objects.filter(call=call).order_by("seq")
        assert replay((e.action, e.data) for e in events) == call.state
        assert all(e.at <= NOW for e in events)
    # Within the year before "now", and the counties interleaved in time: ids follow
    # time roughly, so the first tenth of the ids holds calls of every county.
    first = calls.order_by("created_at").first()
    assert first is not None
    assert (NOW - first.created_at).days <= 366
    early = calls.order_by("pk")[: calls.count() // 10]
    assert len({c.county_id for c in early}) == 3
    assert Dispatch.objects.filter(call__in=calls, role="lead").exists()

    tickets = Ticket.objects.filter(county__in=generated)
    assert summary.tickets.tickets == tickets.count() == 400
    assert tickets.values("county", "number").distinct().count() == 400
    placed = tickets.exclude(township=None)
    assert placed.exists()
    assert tickets.filter(township=None).exists()
    for ticket in placed[:20]:
        township = Region.objects.get(pk=ticket.township_id)
        assert township.parent_id == ticket.county_id
        assert ticket.region_code.startswith(township.code)

    # A rerun adds nothing.
    again = province.build_province(counties=4, calls=900, tickets=400, now=NOW)
    assert again.calls.calls == 0
    assert again.tickets.tickets == 0
    assert calls.count() == 900
    assert tickets.count() == 400


@pytest.mark.django_db
def test_the_command_builds_the_province_with_a_progress_bar() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "demo_county",
        "--no-history",
        "--scale",
        "province",
        "--province-counties",
        "2",
        "--calls",
        "200",
        "--tickets",
        "100",
        stdout=out,
        stderr=err,
    )
    assert "全省演示: 16 cities, 2 counties" in out.getvalue()
    assert "200 Call" in out.getvalue()
    assert "100 Ticket" in out.getvalue()
    progress = err.getvalue()
    assert "calls" in progress
    assert "200 / 200" in progress
    assert "tickets" in progress
    assert "100 / 100" in progress


@pytest.mark.django_db
def test_the_command_refuses_bad_sizes() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--calls"):
        call_command("demo_county", "--scale", "province", "--calls", "-1")
    with pytest.raises(CommandError, match="--province-counties"):
        call_command("demo_county", "--scale", "province", "--province-counties", "1")


@pytest.mark.django_db
def test_without_events_only_the_calls_and_their_dispatches_are_written() -> None:
    build_demo_county()
    build_demo_lists(
        county=Region.objects.get(code=COUNTY_CODE),
        province=Region.objects.get(code=PROVINCE_CODE),
    )
    summary = province.build_province(counties=3, calls=300, tickets=0, events=False, now=NOW)
    calls = Call.objects.exclude(county__code=COUNTY_CODE)
    assert summary.calls.calls == calls.count() == 300
    assert Dispatch.objects.filter(call__in=calls).exists()
    assert not CallEvent.objects.filter(call__in=calls).exists()
    assert not DispatchFact.objects.filter(call__in=calls).exists()
    # The states are those the played lives reached: open and closed calls alike.
    assert len(set(calls.values_list("state", flat=True))) > 3
