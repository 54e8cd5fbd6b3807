"""Deliberation in a real browser (issue #8): a consultation is opened from a hotspot of
the township's overview, an enterprise's public user comments, the township leader
records the decision with a follow-up call and closes it; the outcome is public."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_calls import _empty_the_event_log, switch  # noqa: F401
from tests.calls.conftest import act, new_call  # noqa: F401
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.participation.models_open import Consultation, ConsultationState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _consultations_first(_empty_the_event_log):  # noqa: F811
    yield
    Consultation.objects.all().delete()


def test_a_consultation_is_opened_from_a_hotspot_and_closed_with_a_decision(
    page,
    world,
    lists,
    act,  # noqa: F811
    new_call,  # noqa: F811
):
    for i in range(3):
        call = new_call(title=f"1村路口堆放易燃物（第{i + 1}次）")
        act("reporter", call, "submit")

    switch(page, "tleader")
    page.goto("/overview/")
    link = page.get_by_test_id("hotspot-consult").first
    expect(link).to_be_visible()
    screenshot(page, "deliberation-hotspot")
    link.click()
    expect(page.get_by_test_id("from-hotspot")).to_be_visible()
    expect(page.get_by_test_id("item")).to_have_value("D1-01")
    expect(page.get_by_test_id("topic")).not_to_have_value("")
    page.get_by_test_id("create").click()

    expect(page.get_by_test_id("consultation-state")).to_have_attribute("data-state", "draft")
    consultation = Consultation.objects.get()
    assert consultation.source == "hotspot"
    assert consultation.item.code == "D1-01"
    page.get_by_test_id("organisation").select_option(str(world.orgs["enterprise"].pk))
    page.get_by_test_id("add-organisation-submit").click()
    page.get_by_test_id("resident-name").fill("李建国")
    page.get_by_test_id("add-resident-submit").click()
    expect(page.get_by_test_id("participant")).to_have_count(2)
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("consultation-state")).to_have_attribute("data-state", "open")

    # The enterprise's public user comments.
    switch(page, "volunteer")
    page.goto(f"/participation/consultations/{consultation.pk}/")
    page.get_by_test_id("comment-text").fill("企业愿意出资建设专用存放点")
    page.get_by_test_id("comment-submit").click()
    expect(page.get_by_test_id("comment")).to_have_count(1)
    expect(page.get_by_test_id("decide-form")).to_have_count(0)

    # The leader decides, adds the follow-up call and closes.
    switch(page, "tleader")
    page.goto(f"/participation/consultations/{consultation.pk}/")
    page.get_by_test_id("decision-input").fill(
        "在1村西侧建设集中存放点，企业出资，村委会提供场地。"
    )
    page.get_by_test_id("decide").click()
    expect(page.get_by_test_id("decision-text")).to_contain_text("集中存放点")
    page.get_by_test_id("task-title").fill("建设集中存放点")
    page.get_by_test_id("task-submit").click()
    expect(page.get_by_test_id("task")).to_have_count(1)
    task_call = Call.objects.get(title="建设集中存放点")
    assert task_call.state == State.DRAFT
    assert task_call.caller == world.orgs["t1"]
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("consultation-state")).to_have_attribute("data-state", "closed")
    screenshot(page, "deliberation-closed")
    consultation.refresh_from_db()
    assert consultation.state == ConsultationState.CLOSED

    # The outcome is public, the resident masked.
    page.context.clear_cookies()
    page.goto("/open/consultations/")
    page.get_by_test_id("consultation-row").first.get_by_role("link").click()
    expect(page.get_by_test_id("consultation-decision")).to_contain_text("集中存放点")
    expect(page.get_by_test_id("consultation-participants")).to_contain_text("李*国")
    expect(page.get_by_test_id("consultation-participants")).not_to_contain_text("李建国")
    expect(page.get_by_test_id("consultation-tasks")).to_contain_text(task_call.number)
    screenshot(page, "deliberation-public")
