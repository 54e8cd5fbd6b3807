"""Routing in a real browser: suggestions while a township writes a call (one click fills
the item), the platform's panel (accept as the suggested item in one click, merge a
duplicate in one click) and the acceptance monitor."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_calls import _empty_the_event_log, switch  # noqa: F401
from tests.calls.conftest import as_
from tests.factories import PASSWORD
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.routing import selectors, services
from xianghu.routing.models import RoutingSuggestionLog, SuggestionStage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def model(world, lists):
    selectors.CACHE.clear()
    row = services.routing_train(county=world.county, evaluate=False)
    yield row
    selectors.CACHE.clear()


def test_suggestions_on_the_call_form_and_the_platforms_one_click_accept(
    page, live_server, world, lists, model
):
    login(page, "reporter", PASSWORD)
    page.goto("/calls/new/")
    slot = page.get_by_test_id("routing-suggestions")
    expect(slot).to_contain_text("描述")  # the hint, in Chinese
    page.fill("#id_title", "麦地焚烧秸秆")
    page.fill("#id_description", "王庄镇1村麦地里有人焚烧秸秆，浓烟很大，影响道路通行。")
    candidates = page.get_by_test_id("routing-candidate")
    expect(candidates.first).to_be_visible()
    best = candidates.first.get_attribute("data-code")
    expected = selectors.route_suggest(
        county=world.county,
        text="麦地焚烧秸秆\n王庄镇1村麦地里有人焚烧秸秆，浓烟很大，影响道路通行。",
        township=world.t1,
    )
    assert best == expected.candidates[0].code
    expect(candidates.first.get_by_test_id("routing-confidence")).to_contain_text("%")
    candidates.first.get_by_test_id("use-suggestion").click()
    expect(page.locator("#id_item")).to_have_value(str(expected.candidates[0].item.pk))
    screenshot(page, "routing-call-form")
    with page.expect_navigation():
        page.get_by_test_id("save-call").click()
    call = Call.objects.get(title="麦地焚烧秸秆")
    assert call.item.code == best
    log = RoutingSuggestionLog.objects.get(call=call, stage=SuggestionStage.CALL_FORM)
    assert log.accepted is (not expected.outside_list)

    # the leader approves; the platform accepts it in one click as the suggested item
    for key, action in (("reporter", "submit"), ("tleader", "approve")):
        call_services.call_transition(actor=as_(world, key), call=call, action=action)
    switch(page, "operator")
    page.goto(f"/calls/{call.pk}/")
    panel = page.get_by_test_id("routing-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("routing-candidate").first).to_have_attribute("data-code", best)
    screenshot(page, "routing-platform-panel")
    with page.expect_navigation():
        panel.get_by_test_id("accept-as").first.click()
    call.refresh_from_db()
    assert call.state == "accepted"
    assert call.item.code == best

    # the monitor shows the decisions
    page.goto("/routing/acceptance/")
    expect(page.get_by_test_id("acceptance-row").first).to_have_attribute("data-code", best)
    expect(page.get_by_test_id("acceptance-summary")).to_contain_text("2")
    screenshot(page, "routing-acceptance")


def test_the_platform_merges_a_duplicate_in_one_click(page, live_server, world, lists, model):
    from xianghu.calls.services import CallDraft
    from xianghu.catalog import selectors as catalog_selectors

    item = catalog_selectors.item_get(version=lists.version, code="D1-01")
    calls = []
    for title, text in (
        ("村口厂房堆放易燃物", "王庄镇1村村口厂房内堆放大量易燃物品，存在火灾隐患。"),
        ("厂房堆放易燃物品", "王庄镇1村村口的厂房里堆着很多易燃物品，有火灾隐患。"),
    ):
        call, _ = call_services.call_create(
            actor=as_(world, "reporter"),
            caller=world.orgs["t1"],
            draft=CallDraft(title=title, description=text, location=world.t1, item=item),
        )
        for key, action in (("reporter", "submit"), ("tleader", "approve")):
            call_services.call_transition(actor=as_(world, key), call=call, action=action)
        calls.append(call)
    first, second = calls
    login(page, "operator", PASSWORD)
    page.goto(f"/calls/{second.pk}/")
    duplicate = page.get_by_test_id("duplicate")
    expect(duplicate).to_have_count(1)
    expect(duplicate).to_have_attribute("data-number", first.number)
    screenshot(page, "routing-duplicates")
    with page.expect_navigation():
        duplicate.get_by_test_id("merge-into").click()
    second.refresh_from_db()
    assert second.state == "merged"
    assert second.events.get(action="merge").data["into_number"] == first.number
