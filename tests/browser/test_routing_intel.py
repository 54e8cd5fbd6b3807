"""The list-gap page and the overview's hotspots in a real browser: the 编办 reads the
recurring out-of-list topics, a department leader drafts a change request from one, the
platform and a township leader see their hotspots and follow one to its call; on a phone
the pages fit in 375 px."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log, switch  # noqa: F401
from tests.routing.test_duplicates import make
from tests.routing.test_hotspots import DOGS, FIRE, LAMPS, SINGLES

pytestmark = pytest.mark.django_db(transaction=True)


def test_list_gaps_and_hotspots(page, phone_page, world, lists):
    now = timezone.now()
    v2 = f.village(world.t1, 2)
    w1 = f.village(world.t2, 1)
    places = [world.orgs["v1"].region, w1, v2, world.t2]
    gaps = []
    for n, (title, description) in enumerate(LAMPS + DOGS + SINGLES):
        where = places[n % 4]
        gaps.append(
            make(
                world,
                lists,
                (f"{where.name}{title}", description),
                code=None,
                location=where,
                caller=world.orgs["t2" if where in (w1, world.t2) else "t1"],
                at=now - timedelta(days=30 - n),
            )
        )
    fires = [make(world, lists, FIRE, at=now - timedelta(days=d)) for d in (5, 3, 1)]

    # The 编办 reads the clusters; it does not file change requests itself.
    switch(page, "bianban")
    page.goto("/routing/gaps/")
    expect(page.get_by_test_id("gaps-title")).to_be_visible()
    clusters = page.get_by_test_id("gap-cluster")
    expect(clusters).to_have_count(2)
    expect(clusters.first.get_by_test_id("gap-label")).to_contain_text("路灯")
    expect(clusters.first.get_by_test_id("gap-call")).to_have_count(4)
    expect(clusters.nth(1).get_by_test_id("gap-label")).to_contain_text("流浪")
    expect(page.get_by_test_id("gap-draft")).to_have_count(0)
    expect(page.get_by_test_id("gaps-no-filing")).to_be_visible()
    screenshot(page, "routing-gaps-bianban")
    # A shorter period leaves the lamps out (the first three are older).
    page.fill("#gaps-since", (timezone.localdate() - timedelta(days=27)).isoformat())
    page.get_by_test_id("gaps-apply").click()
    expect(clusters).to_have_count(1)
    expect(clusters.first.get_by_test_id("gap-label")).to_contain_text("流浪")

    # A department leader drafts a change request from the lamps.
    switch(page, "dleader")
    page.goto("/routing/gaps/")
    lamps = page.get_by_test_id("gap-cluster").first
    lamps.get_by_test_id("gap-draft").click()
    expect(page.get_by_test_id("change-form")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value(re.compile(r"^路灯"))
    reason = page.locator("#id_reason").input_value()
    assert all(call.number in reason for call in gaps[: len(LAMPS)])
    assert page.locator("#id_keywords").input_value().startswith("路灯")
    screenshot(page, "routing-gaps-draft")

    # The platform sees the county's hotspot and follows it to the latest call.
    switch(page, "operator")
    page.goto("/overview/")
    hotspot = page.get_by_test_id("hotspot")
    expect(hotspot).to_have_count(1)
    expect(hotspot).to_contain_text("王庄镇1村")
    expect(hotspot).to_contain_text("D1-01")
    expect(hotspot.locator(".count")).to_have_text("3")
    screenshot(page, "overview-hotspots")
    page.locator('.list-actions a[href="/routing/gaps/"]').click()
    expect(page.get_by_test_id("gaps-title")).to_be_visible()
    page.goto("/overview/")
    page.get_by_test_id("hotspot-call").first.click()
    expect(page.get_by_test_id("call-title")).to_contain_text(fires[-1].title)

    # The township leader sees its own township's hotspot.
    switch(page, "tleader")
    page.goto("/overview/")
    expect(page.get_by_test_id("hotspot")).to_have_count(1)

    # Anybody else: the friendly 403 page.
    switch(page, "reporter")
    page.goto("/routing/gaps/")
    expect(page.get_by_test_id("error-message")).to_be_visible()

    # On a phone both pages fit.
    switch(phone_page, "operator")
    for url in ("/routing/gaps/", "/overview/"):
        phone_page.goto(url)
        assert phone_page.evaluate(OVERFLOW_JS) <= 0, url
    screenshot(phone_page, "routing-gaps-phone")
