"""Resource coordination in a real browser (issue #8): a township posts a need, two
organisations commit partial quantities (one of them on a phone, from its offer's
suggested match), both report delivery, the township confirms, and the public board
(no login) shows what was delivered by whom."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD
from tests.participation import coord_world
from tests.participation.coord_world import post_offer
from xianghu.participation.models_coord import (
    Commitment,
    CommitmentStatus,
    Need,
    NeedStatus,
)

pytestmark = pytest.mark.django_db(transaction=True)
coord = coord_world.coord  # the fixture


def _context(browser: Any, live_server: Any, *, phone: bool = False) -> Any:
    options: dict[str, Any] = {"base_url": live_server.url, "locale": "zh-CN"}
    if phone:
        options.update(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context


def test_a_need_is_met_by_two_organisations_and_the_board_shows_it(browser, live_server, coord):
    w = coord
    offer = post_offer(w, w.ngo, "ngo", title="桶装饮用水", quantity=80)
    township = _context(browser, live_server)
    enterprise = _context(browser, live_server)
    ngo = _context(browser, live_server, phone=True)
    public = _context(browser, live_server, phone=True)
    try:
        # 1. the township posts a need; bad input first: kept, with a clear message
        page = township.new_page()
        login(page, "tleader", PASSWORD)
        page.goto("/participation/resources/needs/")
        page.get_by_test_id("need-new").click()
        page.select_option("#id_kind", "goods")
        page.fill("#id_title", "王庄镇安置点饮用水")
        page.fill("#id_quantity", "0")
        page.select_option("#id_unit", "box")
        page.select_option("#id_place", str(w.village.pk))
        page.fill("#id_needed_by", (timezone.localdate() + timedelta(days=2)).isoformat())
        page.select_option("#id_urgency", "urgent")
        page.get_by_test_id("save-need").click()
        expect(page.get_by_test_id("error-quantity")).to_be_visible()
        expect(page.locator("#id_title")).to_have_value("王庄镇安置点饮用水")
        page.fill("#id_quantity", "100")
        page.get_by_test_id("save-need").click()
        expect(page.get_by_test_id("need-title")).to_have_text("王庄镇安置点饮用水")
        expect(page.get_by_test_id("need-remaining")).to_contain_text("100")
        need = Need.objects.get()
        # the platform suggests the rescue team's offer
        expect(page.get_by_test_id("match-row")).to_have_count(1)
        expect(page.get_by_test_id("match-row")).to_contain_text("清河县蓝天救援队")

        # 2. the enterprise commits 60 boxes directly; asking for more than needed is refused
        ep = enterprise.new_page()
        login(ep, "volunteer", PASSWORD)
        ep.goto(f"/participation/resources/needs/{need.pk}/")
        ep.fill("#id_quantity", "120")
        ep.fill("#id_note", "明早送达")
        ep.get_by_test_id("commit").click()
        expect(ep.get_by_test_id("form-error")).to_contain_text("100")
        expect(ep.locator("#id_note")).to_have_value("明早送达")
        ep.fill("#id_quantity", "60")
        ep.get_by_test_id("commit").click()
        expect(ep.get_by_test_id("need-remaining")).to_contain_text("40")

        # 3. the rescue team, on a phone, goes from its offer to the need and commits the rest
        np = ngo.new_page()
        login(np, "ngo", PASSWORD)
        np.goto(f"/participation/resources/offers/{offer.pk}/")
        np.get_by_test_id("commit-to-need").click()
        expect(np.locator("#id_quantity")).to_have_value("40")
        np.get_by_test_id("commit").click()
        expect(np.get_by_test_id("need-remaining")).to_contain_text("0")
        screenshot(np, "resources-need-phone")
        np.get_by_test_id("deliver").click()
        expect(np.locator("[data-status='delivered']")).to_have_count(1)

        ep.reload()
        ep.get_by_test_id("deliver").click()
        expect(ep.locator("[data-status='delivered']")).to_have_count(2)

        # 4. the township confirms both deliveries
        page.reload()
        for _ in range(2):
            page.get_by_test_id("confirm").first.click()
            page.wait_for_load_state()
        expect(page.locator("[data-status='confirmed']")).to_have_count(2)
        expect(page.get_by_test_id("need-status")).to_have_attribute("data-status", "fulfilled")
        screenshot(page, "resources-need-confirmed")
        assert set(Commitment.objects.values_list("status", flat=True)) == {
            CommitmentStatus.CONFIRMED
        }
        need.refresh_from_db()
        assert need.status == NeedStatus.FULFILLED

        # 5. the public board, without logging in
        pp = public.new_page()
        pp.goto("/participation/resources/board/")
        card = pp.locator(f"[data-testid='board-need'][data-id='{need.pk}']")
        expect(card).to_contain_text("王庄镇安置点饮用水")
        expect(card.get_by_test_id("board-delivered")).to_contain_text("100")
        expect(card.get_by_test_id("board-contribution")).to_have_count(2)
        expect(card).to_contain_text("清河县鲁清食品有限公司")
        expect(card).to_contain_text("清河县蓝天救援队")
        assert_chinese_rendered(pp, "王庄镇安置点饮用水")
        assert "13912345678" not in pp.content()
        screenshot(pp, "resources-board-phone")
        data = pp.request.get("/participation/resources/board/?format=json").json()
        [entry] = data["needs"]
        assert entry["delivered"] == "100"
        assert entry["remaining"] == "0"
    finally:
        for context in (township, enterprise, ngo, public):
            context.close()


def test_a_partner_keeps_its_profile_and_offers_and_the_township_finds_it(
    browser, live_server, coord
):
    w = coord
    ngo = _context(browser, live_server, phone=True)
    township = _context(browser, live_server)
    try:
        # the rescue team edits its profile on a phone: a bad quantity is kept and explained
        np = ngo.new_page()
        login(np, "ngo", PASSWORD)
        np.goto("/participation/registry/")  # a partner lands on its own profile
        expect(np.get_by_test_id("stakeholder-name")).to_have_text("清河县蓝天救援队")
        expect(np.get_by_test_id("stakeholder-phone")).to_have_text("139****5678")
        np.get_by_test_id("stakeholder-edit").click()
        np.fill("#id_skills", "水上救援、急救")
        np.check(f"#field-townships input[value='{w.t1.pk}']")
        np.check("#id_cap_transport")
        np.fill("#id_cap_transport_quantity", "-2")
        np.select_option("#id_cap_transport_unit", "vehicle")
        np.get_by_test_id("save-profile").click()
        expect(np.get_by_test_id("error-cap_transport_quantity")).to_be_visible()
        expect(np.locator("#id_skills")).to_have_value("水上救援、急救")
        np.fill("#id_cap_transport_quantity", "4")
        np.get_by_test_id("save-profile").click()
        expect(np.get_by_test_id("capacity")).to_have_count(1)
        expect(np.get_by_test_id("stakeholder-areas")).to_contain_text("王庄镇")
        screenshot(np, "resources-profile-phone")

        # ... and offers two boats (a date in the past is refused first)
        np.get_by_test_id("offer-new").click()
        np.select_option("#id_kind", "transport")
        np.fill("#id_title", "冲锋舟")
        np.fill("#id_quantity", "2")
        np.select_option("#id_unit", "vehicle")
        np.select_option("#id_area", str(w.t1.pk))
        np.fill("#id_available_from", (timezone.localdate() - timedelta(days=1)).isoformat())
        np.get_by_test_id("save-offer").click()
        expect(np.get_by_test_id("error-available_from")).to_be_visible()
        np.fill("#id_available_from", timezone.localdate().isoformat())
        np.get_by_test_id("save-offer").click()
        expect(np.get_by_test_id("offer-title")).to_have_text("冲锋舟")

        # the township searches the registry by capacity and sees the offer
        page = township.new_page()
        login(page, "tleader", PASSWORD)
        page.goto("/participation/registry/")
        page.select_option("#reg-township", str(w.t1.pk))
        page.select_option("#reg-capacity", "transport")
        page.get_by_test_id("registry-search").click()
        rows = page.get_by_test_id("stakeholder-row")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("清河县蓝天救援队")
        expect(rows.get_by_test_id("stakeholder-phone")).to_have_text("139****5678")
        assert "13912345678" not in page.content()
        screenshot(page, "resources-registry")
        page.get_by_test_id("nav-offers").click()
        expect(page.get_by_test_id("offer-row")).to_contain_text("冲锋舟")
    finally:
        ngo.close()
        township.close()
