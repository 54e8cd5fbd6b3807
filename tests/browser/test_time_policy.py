"""The county's time-limit page in a real browser: read-only for an operator, changed by
the county's system administrator, with a wrong limit marked next to its field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import PASSWORD
from xianghu.calls.deadlines import clock_policy
from xianghu.catalog.limits import Limit

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


def test_time_limits_page(page, phone_page, world):
    login(phone_page, "operator", PASSWORD)
    phone_page.goto("/calls/")
    phone_page.get_by_test_id("time-limits").click()
    expect(phone_page.get_by_test_id("policy-title")).to_contain_text("清河县")
    expect(phone_page.get_by_test_id("policy-row")).to_have_count(3)
    expect(phone_page.get_by_test_id("normal-sign")).to_have_text("2个工作小时")
    expect(phone_page.get_by_test_id("save-policy")).to_have_count(0)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "time-limits-phone-read-only")

    login(page, "admin", PASSWORD)
    page.goto("/calls/time-limits/")
    page.fill("[data-testid=morning_start]", "09:00")
    page.fill("[data-testid=normal-complete]", "五天")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("error-normal-complete")).to_be_visible()
    screenshot(page, "time-limits-error")
    assert clock_policy(world.county.pk).limits["normal"].complete == Limit(5, "wd")

    page.fill("[data-testid=normal-complete]", "3wd")
    page.fill("[data-testid=urgent-respond]", "1h")
    page.get_by_test_id("save-policy").click()
    expect(page.get_by_test_id("policy-source")).to_be_visible()
    expect(page.locator(".message-success")).to_be_visible()
    policy = clock_policy(world.county.pk)
    assert policy.limits["normal"].complete == Limit(3, "wd")
    assert policy.limits["urgent"].respond == Limit(1, "h")
    assert policy.hours.morning[0].hour == 9
    screenshot(page, "time-limits-saved")
