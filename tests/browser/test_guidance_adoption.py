"""Guidance catalogue governance in a real browser: the province publishes a new
guidance version; the county's 编办 opens the changes from its workbench, adopts one
and declines another with a reason, and sees the progress; the province follows it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tests.catalog import conftest as catalog_conftest
from tests.catalog.conftest import GUIDANCE_SPECS, spec
from tests.factories import PASSWORD
from xianghu.catalog import selectors, services
from xianghu.regions.roles import OrgKind, Role
from xianghu.regions.selectors import actor_for_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lists(world):
    """tests/catalog/conftest.py's `lists` (guidance v1 and the county's derived list)."""
    return catalog_conftest.lists.__wrapped__(world)


@pytest.fixture
def province_user(world):
    bianban = f.OrganisationFactory(name="山东省委编办", kind=OrgKind.BIANBAN, region=f.province())
    user = f.UserFactory(username="province")
    f.MembershipFactory(user=user, organisation=bianban, role=Role.BIANBAN_REVIEWER)
    return user


@pytest.fixture
def v2(lists, province_user):
    """The province's 编办 publishes guidance v2: D1-01 completes within 3 working days,
    D3-01 is new, D2-09 and D7-04 are dropped, D1-04 responds within 1 hour."""
    old = {s.code: s for s in GUIDANCE_SPECS}
    specs = [
        replace(old["D1-01"], complete_limit="3wd"),
        replace(old["D1-04"], respond_limit="1h"),
        spec("D3-01", "农村自建房安全隐患排查", domain=("D3", "自然资源与村镇建设")),
    ]
    actor = actor_for_user(user=province_user)
    draft = services.version_create_draft(
        catalogue=lists.guidance_catalogue, specs=specs, title="指导目录（第2版）", actor=actor
    )
    return services.version_publish(version=draft, actor=actor)


def logout(page) -> None:
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def task(page, code):
    return page.locator(f"[data-testid=task][data-code='{code}']")


def test_a_county_adopts_one_change_and_declines_another(page, world, lists, v2):
    # The 编办 finds the changes on its workbench.
    login(page, "bianban", PASSWORD)
    page.goto("/catalog/review/")
    summary = page.get_by_test_id("adoption-summary")
    expect(summary.get_by_test_id("n-open")).to_have_text("5")
    screenshot(page, "adoption-workbench")
    summary.get_by_test_id("open-adoption").click()
    expect(page.get_by_test_id("adoption-title")).to_be_visible()
    expect(page.get_by_test_id("task")).to_have_count(5)
    # What each change does: D1-01's limit, before and after.
    change = task(page, "D1-01").locator("[data-field=complete_limit]")
    expect(change.get_by_test_id("old-value")).to_have_text("5个工作日")
    expect(change.get_by_test_id("new-value")).to_have_text("3个工作日")
    # D1-04 was split by the county: it cannot be adopted as such, only declined.
    expect(task(page, "D1-04").get_by_test_id("adopt")).to_have_count(0)
    expect(task(page, "D1-04").get_by_test_id("fit")).to_contain_text("D1-04-1")
    screenshot(page, "adoption-open")

    # Adopt D1-01: a new version of the list is in force at once.
    task(page, "D1-01").get_by_test_id("adopt").click()
    expect(page.get_by_test_id("n-adopted")).to_have_text("1")
    expect(page.get_by_test_id("n-open")).to_have_text("4")
    adopted = page.locator("[data-testid=history-row][data-code='D1-01']")
    expect(adopted).to_have_attribute("data-status", "adopted")
    expect(adopted.get_by_test_id("history-version")).to_be_visible()

    # Decline D3-01: the reason is required.
    row = task(page, "D3-01")
    expect(row.get_by_test_id("decline")).to_be_hidden()
    row.get_by_test_id("decline-open").click()
    row.get_by_test_id("decline").click()
    expect(task(page, "D3-01").get_by_test_id("error-reason")).to_be_visible()
    screenshot(page, "adoption-decline-needs-reason")
    row = task(page, "D3-01")
    row.get_by_test_id("decline-reason").fill("本县农村自建房已纳入D1-01统一监管")
    row.get_by_test_id("decline").click()
    declined = page.locator("[data-testid=history-row][data-code='D3-01']")
    expect(declined).to_have_attribute("data-status", "declined")
    expect(declined.get_by_test_id("history-reason")).to_have_text(
        "本县农村自建房已纳入D1-01统一监管"
    )
    # Progress: 2 of 5 decided.
    expect(page.get_by_test_id("n-open")).to_have_text("3")
    expect(page.get_by_test_id("n-declined")).to_have_text("1")
    expect(page.get_by_test_id("progress")).to_contain_text("2")
    expect(page.get_by_test_id("progress")).to_contain_text("40%")
    expect(page.get_by_test_id("task")).to_have_count(3)
    screenshot(page, "adoption-progress")

    # The adopted change is in the list in force, for everyone.
    adopted.get_by_test_id("history-version").click()
    expect(page.locator("[data-testid=item-row][data-code=D1-01]")).to_contain_text("3个工作日")
    in_force = selectors.version_in_force(catalogue=lists.catalogue)
    assert in_force.based_on == v2
    assert not in_force.items.filter(code="D3-01").exists()
    logout(page)

    # The province follows the county's progress but cannot decide.
    login(page, "province", PASSWORD)
    page.goto("/catalog/adoption/")
    row = page.locator(f"[data-testid=county-row][data-county='{world.county.code}']")
    expect(row).to_have_attribute("data-open", "3")
    expect(row).to_have_attribute("data-adopted", "1")
    expect(row).to_have_attribute("data-declined", "1")
    screenshot(page, "adoption-province-overview")
    row.get_by_role("link").first.click()
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("decline-form")).to_have_count(0)
    expect(page.get_by_test_id("adopt")).to_have_count(0)
