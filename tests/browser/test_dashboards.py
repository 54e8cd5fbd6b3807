"""The assessment dashboards in a real browser: every dashboard as an assessor and as a
department leader (charts drawn on their canvas, no console error, nothing wider than a
375 px phone), the period picker's error, the township leader's evaluation form and the
county's rules refusing weights that do not add up."""

# ruff: noqa: F811  (fixtures imported from the assessment tests)
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.assessment.conftest import calendar  # noqa: F401  (fixture)
from tests.assessment.test_worked_example import example  # noqa: F401  (fixture)
from tests.browser.conftest import assert_chinese_rendered, screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log, switch  # noqa: F401
from xianghu.assessment.models import AssessmentPolicy, PeriodicEvaluation

pytestmark = pytest.mark.django_db(transaction=True)

MARCH = "2025-03"
DASHBOARDS = {
    "assessor": ("overview", "domains", "departments", "townships", "steps", "rankings"),
    "dleader": ("overview", "domains", "departments", "steps", "rankings"),
}
PATHS = {
    "overview": "/assessment/",
    "domains": "/assessment/domains/",
    "departments": "/assessment/departments/",
    "townships": "/assessment/townships/",
    "steps": "/assessment/steps/",
    "rankings": "/assessment/rankings/",
}

# Every chart's canvas: its size, and whether anything was painted on it.
CANVASES_JS = """
() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const canvas = el.querySelector('canvas');
  if (!canvas) return {ready: el.hasAttribute('data-chart-ready'), width: 0, painted: false};
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = false;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted = true; break; } }
  return {
    ready: el.hasAttribute('data-chart-ready'),
    width: canvas.getBoundingClientRect().width,
    right: canvas.getBoundingClientRect().right,
    painted,
  };
})
"""


class Console:
    """The console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: Any) -> None:
        url = (message.location or {}).get("url", "")
        # The browser asks for /favicon.ico on its own; the site has none.
        if message.type == "error" and not url.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} @ {url}")


def open_dashboard(page: Any, path: str) -> list[dict[str, Any]]:
    """Open a dashboard and wait until each of its charts is drawn."""
    page.goto(f"{path}?period={MARCH}")
    expect(page.get_by_test_id("dashboard-title")).to_be_visible()
    charts = page.locator("[data-chart]")
    count = charts.count()
    assert count > 0, path
    expect(page.locator("[data-chart][data-chart-ready]")).to_have_count(count)
    return page.evaluate(CANVASES_JS)


def test_every_dashboard_draws_its_charts_for_each_role(page, phone_page, world, example):
    desktop, phone = Console(page), Console(phone_page)
    for key, names in DASHBOARDS.items():
        switch(page, key)
        page.get_by_test_id("nav-assessment").click()
        expect(page.get_by_test_id("dashboard-title")).to_be_visible()
        for name in names:
            canvases = open_dashboard(page, PATHS[name])
            assert all(c["ready"] and c["width"] > 100 and c["painted"] for c in canvases), (
                key,
                name,
                canvases,
            )
            expect(page.locator("main")).not_to_contain_text("北关镇")
            screenshot(page, f"dashboard-{name}-{key}")
        # A department leader's pages show only its own department.
        if key == "dleader":
            expect(page.get_by_test_id("tab-townships")).to_have_count(0)
            page.goto(f"/assessment/departments/?period={MARCH}")
            expect(page.get_by_test_id("departments-table")).to_contain_text("清河县应急管理局")
            expect(page.get_by_test_id("departments-table")).not_to_contain_text("清河县公安局")
    assert desktop.errors == []

    # On a phone every dashboard fits in 375 px and its charts are drawn within it.
    for key, names in DASHBOARDS.items():
        switch(phone_page, key)
        for name in names:
            canvases = open_dashboard(phone_page, PATHS[name])
            assert all(c["painted"] and c["right"] <= 375 for c in canvases), (key, name, canvases)
            assert phone_page.evaluate(OVERFLOW_JS) <= 0, (key, name)
            screenshot(phone_page, f"dashboard-phone-{name}-{key}")
    assert phone.errors == []


def test_the_subject_page_and_the_rankings(page, phone_page, world, example):
    errors = Console(page)
    switch(page, "assessor")
    page.goto(f"/assessment/rankings/?period={MARCH}")
    departments = page.get_by_test_id("ranking-department")
    expect(departments.get_by_test_id("red-list")).to_contain_text("清河县应急管理局")
    expect(departments.get_by_test_id("ranking-table")).to_contain_text("76.83")
    screenshot(page, "dashboard-rankings-lists")
    departments.get_by_test_id("red-list").get_by_role("link", name="清河县应急管理局").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text("清河县应急管理局")
    expect(page.locator("[data-chart][data-chart-ready]")).to_have_count(1)
    losses = page.get_by_test_id("losses-table")
    expect(losses.get_by_test_id("loss-row")).to_have_count(7)
    assert_chinese_rendered(page, "清河县应急管理局")
    screenshot(page, "dashboard-subject")
    # The losses go down to the calls.
    call = example.calls["D"]
    losses.get_by_role("link", name=call.number).first.click()
    expect(page.get_by_test_id("call-title")).to_contain_text(call.title)
    assert errors.errors == []
    switch(phone_page, "assessor")
    phone_page.goto(f"/assessment/subjects/{world.orgs['dept'].pk}/?period={MARCH}")
    expect(phone_page.locator("[data-chart][data-chart-ready]")).to_have_count(1)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "dashboard-phone-subject")


def test_the_period_picker_explains_bad_periods(page, world, example):
    errors = Console(page)
    switch(page, "assessor")
    page.goto("/assessment/")
    picker = page.get_by_test_id("period-picker")
    # Only the fields of the chosen kind show.
    expect(picker.get_by_test_id("period-month")).to_be_visible()
    expect(picker.get_by_test_id("period-start")).to_be_hidden()
    picker.get_by_test_id("period-kind").select_option("range")
    expect(picker.get_by_test_id("period-start")).to_be_visible()
    expect(picker.get_by_test_id("period-month")).to_be_hidden()
    picker.get_by_test_id("period-start").fill("2025-03-15")
    picker.get_by_test_id("period-end").fill("2025-03-01")
    picker.get_by_test_id("period-apply").click()
    error = page.get_by_test_id("period-error")
    expect(error).to_have_attribute("data-code", "assessment.period_reversed")
    expect(page.locator("[data-chart]")).to_have_count(0)
    screenshot(page, "dashboard-period-reversed")
    # A quarter works.
    picker = page.get_by_test_id("period-picker")
    picker.get_by_test_id("period-kind").select_option("quarter")
    picker.get_by_test_id("period-quarter-year").fill("2025")
    picker.get_by_test_id("period-quarter").select_option("1")
    picker.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("period-key")).to_have_text("2025-Q1")
    expect(
        page.get_by_test_id("overview-figures").locator("[data-figure=received] dd")
    ).to_have_text("10")
    expect(page.locator("[data-chart][data-chart-ready]")).to_have_count(2)
    # A future month.
    page.goto("/assessment/?period=2099-01")
    expect(page.get_by_test_id("period-error")).to_have_attribute(
        "data-code", "assessment.period_future"
    )
    # The error pages of the picker are ordinary 400 answers, not script errors.
    assert [e for e in errors.errors if "400" not in e] == []


def test_a_township_leader_evaluates_a_department(page, phone_page, world, example):
    errors = Console(phone_page)
    switch(phone_page, "tleader")
    phone_page.goto("/")
    phone_page.locator('a[href="/assessment/evaluations/"]').first.click()
    card = phone_page.locator(
        f'[data-testid=evaluation-card][data-subject="{world.orgs["police"].pk}"]'
    )
    card.get_by_test_id("score").fill("120")
    card.get_by_test_id("save-evaluation").click()
    card = phone_page.locator(
        f'[data-testid=evaluation-card][data-subject="{world.orgs["police"].pk}"]'
    )
    expect(card.get_by_test_id("error-score")).to_be_visible()
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "dashboard-evaluation-error")
    card.get_by_test_id("score").fill("")
    card.get_by_test_id("grade").select_option("excellent")
    card.get_by_test_id("comment").fill("配合及时")
    card.get_by_test_id("save-evaluation").click()
    card = phone_page.locator(
        f'[data-testid=evaluation-card][data-subject="{world.orgs["police"].pk}"]'
    )
    expect(card.get_by_test_id("form-current")).to_contain_text("95.00")
    screenshot(phone_page, "dashboard-evaluation-saved")
    form = PeriodicEvaluation.objects.get(subject=world.orgs["police"])
    assert (form.grade, form.comment, form.township_id) == (
        "excellent",
        "配合及时",
        world.orgs["t1"].pk,
    )
    assert [e for e in errors.errors if "400" not in e] == []


def test_the_county_rules_refuse_weights_that_do_not_add_up(page, world):
    switch(page, "assessor")
    page.goto("/assessment/policy/")
    page.get_by_test_id("weight_response").fill("40")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("error-weights")).to_contain_text("110")
    assert not AssessmentPolicy.objects.exists()
    screenshot(page, "dashboard-policy-error")
    page.get_by_test_id("weight_completion").fill("25")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("policy-source")).to_be_visible()
    expect(page.get_by_test_id("error-weights")).to_have_count(0)
    assert AssessmentPolicy.objects.get().weight_response == 40
    # A department leader reads them.
    switch(page, "dleader")
    page.goto("/assessment/policy/")
    expect(page.get_by_test_id("policy-readonly")).to_be_visible()
    expect(page.get_by_test_id("weight_response")).to_have_text("40")
