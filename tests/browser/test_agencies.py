"""Stationed agencies in a real browser: the leader of 公安局 finds its 派出所 in 王庄镇
in the list, reads its figures of March 2025 (the worked example of docs/scoring.md: the
host township's evaluation at 3/5), proposes appointing a new head (after an empty,
refused proposal); the leader of 王庄镇 records the township's reservations (after a
refused disagreement without reasons); the department leader approves, with the reasons
that approving over reservations needs; the 两办 records that the township manages the
agency's daily funds. The agency's page shows the whole record and the figures."""

# ruff: noqa: F811  (fixtures are imported from the assessment tests)
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.assessment.conftest import calendar  # noqa: F401
from tests.assessment.example import build
from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD
from xianghu.calls.integrity import install_append_only_triggers
from xianghu.regions.models import AgencyFunds, HeadConsultation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_the_event_log(transactional_db):
    """The call log refuses DELETE (database triggers), which the flush after a
    transactional test needs: empty it with the triggers lifted, then put them back."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM regions_headconsultation")
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS call_event_no_delete")
        cursor.execute("DELETE FROM calls_attachment")
        cursor.execute("DELETE FROM calls_callevent")
    install_append_only_triggers()


@pytest.fixture
def example(world, lists, calendar, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build(world, lists)


@pytest.fixture
def second_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _figure(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="figures-table"] tr[data-figure="{name}"] td').nth(1)


def test_a_head_is_appointed_after_the_townships_opinion(page, second_page, world, example):
    agency = world.orgs["agency"]
    url = f"/orgs/agencies/{agency.pk}/"

    # The department leader finds the agency through the list's township filter.
    login(page, "police_leader", PASSWORD)
    expect(page.get_by_test_id("who")).to_be_visible()
    page.goto("/orgs/agencies/")
    page.select_option("#agency-township", str(world.t1.pk))
    with page.expect_navigation():
        page.get_by_test_id("filter-agencies").click()
    expect(page.get_by_test_id("agency-row")).to_have_count(1)
    with page.expect_navigation():
        page.get_by_role("link", name=agency.name).click()
    expect(page.get_by_test_id("agency-name")).to_have_text(agency.name)
    expect(page.get_by_test_id("agency-township")).to_have_text(world.t1.name)
    expect(page.get_by_test_id("no-consultations")).to_be_visible()

    # Its figures of March 2025 and February (before: no data).
    page.fill("#agency-period", "2025-03")
    with page.expect_navigation():
        page.get_by_test_id("figures-period").get_by_role("button").click()
    expect(_figure(page, "response_rate")).to_have_text("50.0%")
    expect(_figure(page, "completion_rate")).to_have_text("100.0%")
    expect(_figure(page, "composite")).to_have_text("72.33")
    expect(_figure(page, "township_evaluation")).to_have_text("92.50")
    expect(_figure(page, "township_share")).to_have_text("60.0%")
    expect(_figure(page, "score")).to_have_text("84.43")
    expect(
        page.locator('[data-testid="figures-table"] tr[data-figure="score"] td').nth(2)
    ).to_contain_text("无数据")

    # An empty proposal is refused on its fields; nothing is recorded.
    form = page.get_by_test_id("proposal-form")
    with page.expect_navigation():
        form.get_by_test_id("submit-proposal").click()
    expect(page.get_by_test_id("error-person_name")).to_be_visible()
    expect(page.get_by_test_id("error-kind")).to_be_visible()
    assert not HeadConsultation.objects.exists()
    form = page.get_by_test_id("proposal-form")
    form.locator("input[name='proposal-kind'][value='appointment']").check()
    page.fill("#id_proposal-person_name", "张建国")
    page.fill("#id_proposal-position", "所长")
    page.fill("#id_proposal-proposal", "原所长调任县局，拟任命张建国同志为王庄镇派出所所长。")
    with page.expect_navigation():
        form.get_by_test_id("submit-proposal").click()
    record = page.get_by_test_id("consultation")
    expect(record).to_have_count(1)
    expect(record).to_have_attribute("data-opinion", "")
    expect(record).to_contain_text("张建国")
    # No decision before the township's opinion.
    expect(page.get_by_test_id("decision-form")).to_have_count(0)
    c = HeadConsultation.objects.get()

    # The township's leader: a disagreement needs reasons; then reservations.
    login(second_page, "tleader", PASSWORD)
    expect(second_page.get_by_test_id("who")).to_be_visible()
    second_page.goto(url)
    opinion = second_page.get_by_test_id("opinion-form")
    opinion.locator(f"input[name='opinion-{c.pk}-opinion'][value='disagree']").check()
    with second_page.expect_navigation():
        opinion.get_by_test_id("submit-opinion").click()
    expect(second_page.get_by_test_id("error-opinion_text")).to_be_visible()
    c.refresh_from_db()
    assert not c.opinion
    opinion = second_page.get_by_test_id("opinion-form")
    opinion.locator(f"input[name='opinion-{c.pk}-opinion'][value='reservations']").check()
    second_page.fill(f"#id_opinion-{c.pk}-opinion_text", "该同志熟悉业务，但缺少农村工作经验。")
    with second_page.expect_navigation():
        opinion.get_by_test_id("submit-opinion").click()
    expect(second_page.get_by_test_id("consultation")).to_have_attribute(
        "data-opinion", "reservations"
    )
    expect(second_page.get_by_test_id("opinion-form")).to_have_count(0)
    expect(second_page.get_by_test_id("proposal-form")).to_have_count(0)
    screenshot(second_page, "agency-opinion")

    # The department leader decides: approving over reservations needs reasons.
    page.goto(url)
    decision = page.get_by_test_id("decision-form")
    decision.locator(f"input[name='decision-{c.pk}-decision'][value='approved']").check()
    with page.expect_navigation():
        decision.get_by_test_id("submit-decision").click()
    expect(page.get_by_test_id("error-decision_text")).to_be_visible()
    decision = page.get_by_test_id("decision-form")
    decision.locator(f"input[name='decision-{c.pk}-decision'][value='approved']").check()
    page.fill(f"#id_decision-{c.pk}-decision_text", "已安排其到王庄镇综治中心跟班学习三个月。")
    with page.expect_navigation():
        decision.get_by_test_id("submit-decision").click()
    record = page.get_by_test_id("consultation")
    expect(record).to_have_attribute("data-decision", "approved")
    expect(page.get_by_test_id("decision-form")).to_have_count(0)  # decided once
    c.refresh_from_db()
    assert c.decision == "approved"
    assert c.opinion == "reservations"

    # The 两办 records that the township manages the agency's daily funds.
    second_page.context.clear_cookies()
    login(second_page, "assessor", PASSWORD)
    expect(second_page.get_by_test_id("who")).to_be_visible()
    second_page.goto(url)
    funds = second_page.get_by_test_id("funds-form")
    funds.locator("input[name='funds-managed_by_township']").check()
    second_page.fill("#id_funds-note", "日常办公经费由王庄镇财政所代管。")
    with second_page.expect_navigation():
        funds.get_by_test_id("submit-funds").click()
    expect(second_page.get_by_test_id("agency-funds")).to_have_attribute("data-managed", "yes")
    assert AgencyFunds.objects.get(agency=agency).managed_by_township

    # The agency's page, as the host township sees it: the record, the funds, the figures.
    second_page.context.clear_cookies()
    login(second_page, "tleader", PASSWORD)
    expect(second_page.get_by_test_id("who")).to_be_visible()
    second_page.goto(f"{url}?period=2025-03")
    record = second_page.get_by_test_id("consultation")
    expect(record).to_contain_text("张建国")
    expect(record).to_contain_text("缺少农村工作经验")
    expect(record).to_contain_text("跟班学习三个月")
    expect(record.get_by_test_id("consultation-decision")).to_be_visible()
    expect(second_page.get_by_test_id("funds-badge")).to_be_visible()
    expect(second_page.get_by_test_id("agency-funds-note")).to_have_text(
        "日常办公经费由王庄镇财政所代管。"
    )
    expect(_figure(second_page, "score")).to_have_text("84.43")
    assert_chinese_rendered(second_page, agency.name)
    screenshot(second_page, "agency-page")
