"""Oversight in a real browser: a province user opens the rollout report, drills into
a county, then into one of its townships."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import PASSWORD
from tests.oversight import scene as sc

pytestmark = pytest.mark.django_db(transaction=True)


def test_province_user_drills_from_the_rollout_report_to_a_township(page):
    sc.build()
    login(page, "province", PASSWORD)
    expect(page.get_by_test_id("who")).to_be_visible()
    # The menu leads a province user to the oversight pages.
    page.get_by_test_id("nav-oversight").click()
    expect(page.get_by_test_id("oversight-title")).to_have_text("山东省")
    table = page.get_by_test_id("county-table")
    for name in ("清河县", "东山县", "南湖县"):
        expect(table).to_contain_text(name)

    page.get_by_test_id("rollout-link").click()
    expect(page.get_by_test_id("rollout-title")).to_be_visible()
    report = page.get_by_test_id("rollout-table")
    expect(report.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("rollout-totals")).to_contain_text("3")
    screenshot(page, "oversight-rollout")

    report.get_by_role("link", name="清河县").click()
    expect(page.get_by_test_id("oversight-title")).to_have_text("清河县")
    townships = page.get_by_test_id("township-table")
    expect(townships.locator("tbody tr")).to_have_count(2)
    expect(page.locator("[data-county='371221']")).to_be_visible()

    townships.get_by_role("link", name="王庄镇").click()
    expect(page.get_by_test_id("oversight-title")).to_have_text("王庄镇")
    row = page.locator("[data-township='371221101']")
    expect(row).to_be_visible()
    expect(row.locator("td").nth(5)).to_have_text("1")  # the overdue call it made
    expect(page.locator(".breadcrumb")).to_contain_text("清河县")
    screenshot(page, "oversight-township")
