"""The platform console benchmark (bench/console.py, docs/benchmarks.md) on a tiny
province, so that the script cannot rot: every page the app reads is the bare index
query's page, the keyset page deep in the list is the offset page, and the check fails
when they differ."""

from __future__ import annotations

from datetime import datetime

import pytest

from bench import console_lib as lib
from xianghu.calls.models import Call
from xianghu.core.workdays import CHINA_TZ
from xianghu.demo import province
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county
from xianghu.regions.models import Region

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 18, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def here():
    build_demo_county()
    build_demo_lists(
        county=Region.objects.get(code=COUNTY_CODE),
        province=Region.objects.get(code=PROVINCE_CODE),
    )
    province.build_province(counties=3, calls=700, tickets=0, events=False, now=NOW)
    return lib.setting(deep_page=3)


def test_every_page_is_the_bare_querys_and_the_figures_are_made(here):
    assert here.calls == Call.objects.filter(county=here.county).count() > 100
    names = [s.name for s in here.scenarios]
    assert names[0] == "first page, all calls"
    assert "overdue" in names
    rows = lib.run(here, repeat=2, pages=True)
    for row in rows:
        assert len(row.app.samples) == len(row.bare.samples) == len(row.page.samples) == 2
        assert len(row.sql.samples) == 2
        assert len(row.statements) == row.queries
        # One statement: the page with its leads and the capped count (the township and
        # item filters read their places or the item's versions first).
        filters = row.scenario.filters
        extra = filters.township_region_id is not None or filters.item_id is not None
        # An empty page counts its list by itself.
        assert row.queries == 1 + extra + (not row.rows)
        assert row.ratio > 0
    deep = rows[-1]
    assert deep.scenario.after
    assert deep.offset is not None
    assert deep.rows == 20
    assert rows[0].count is not None
    assert rows[0].total == here.calls
    text = lib.markdown(here, rows, header={"Command": "`test`"})
    assert "SQL ÷ bare" in text
    assert f"OFFSET {deep.scenario.offset:,}" in text


def test_the_check_fails_when_the_app_reads_another_page(here, monkeypatch):
    row = lib.Row(here.scenarios[0])
    lib.check(here, row)  # the true page passes
    real = lib.app_page

    def shifted(h, scenario):
        page = real(h, scenario)
        return lib.selectors.CallPage(
            calls=page.calls[1:],
            count=page.count,
            more=page.more,
            next_cursor="",
            previous_cursor="",
        )

    monkeypatch.setattr(lib, "app_page", shifted)
    with pytest.raises(AssertionError, match="differs"):
        lib.check(here, row)


def test_a_deep_page_beyond_a_small_data_set_is_its_last_page(here):
    """bench/all.sh --quick asks for page 1,001 of a county with a few hundred calls."""
    deep = lib.setting(deep_page=1000).scenarios[-1]
    last = (here.calls - 1) // lib.PAGE_SIZE
    assert deep.offset == last * lib.PAGE_SIZE
    assert deep.after
    row = lib.Row(deep)
    lib.check(here, row)
    assert 0 < row.rows <= lib.PAGE_SIZE
