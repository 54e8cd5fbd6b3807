"""The printed manual (说明书) of a list item in a real browser: opened from the item page,
its procedure and call route, its print layout, and the PDF download."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.catalog import conftest as catalog_conftest
from xianghu.catalog.limits import limit_label
from xianghu.catalog.models import Item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lists(world):
    """tests/catalog/conftest.py's `lists`, which this directory does not see."""
    return catalog_conftest.lists.__wrapped__(world)


def test_the_manual_opens_from_the_item_page_and_prints(page, phone_page, lists):
    item = Item.objects.get(version=lists.version, code="D1-04-2")
    steps = list(item.steps.order_by("order"))
    page.goto(f"/catalog/versions/{lists.version.pk}/items/{item.code}/")
    page.get_by_test_id("manual-link").click()
    expect(page).to_have_url(re.compile(rf"/items/{item.code}/manual/$"))
    manual = page.get_by_test_id("manual")
    expect(manual).to_have_attribute("data-item", item.code)
    expect(page.get_by_test_id("manual-code")).to_have_text(item.code)
    expect(page.get_by_test_id("manual-domain")).to_have_text(item.domain.name)
    rows = page.get_by_test_id("manual-step")
    expect(rows).to_have_count(len(steps))
    for n, step in enumerate(steps):
        expect(rows.nth(n).get_by_test_id("manual-step-name")).to_have_text(step.name)
        expect(rows.nth(n).get_by_test_id("manual-step-limit")).to_have_text(
            limit_label(step.time_limit) or "—"
        )
        expect(rows.nth(n).get_by_test_id("manual-step-handoff")).to_have_text(step.handoff or "—")
    expect(page.get_by_test_id("manual-clock")).to_have_count(3)
    expect(page.get_by_test_id("manual-route")).to_contain_text("清河县乡呼县应指挥中心")
    screenshot(page, "catalog-item-manual")

    # On paper: the toolbar is gone, the manual stays.
    page.emulate_media(media="print")
    expect(page.get_by_test_id("manual-pdf")).to_be_hidden()
    expect(page.get_by_test_id("manual-procedure")).to_be_visible()
    page.emulate_media(media="screen")

    # The PDF of the same manual.
    with page.expect_download() as info:
        page.get_by_test_id("manual-pdf").click()
    download = info.value
    assert download.suggested_filename == f"manual-{item.code}.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(4) == b"%PDF"

    # Back to the item.
    page.get_by_test_id("manual-back").click()
    expect(page.get_by_test_id("item-title")).to_contain_text(item.code)

    # A phone: the page fits its width.
    phone_page.goto(f"/catalog/versions/{lists.version.pk}/items/{item.code}/manual/")
    expect(phone_page.get_by_test_id("manual-step")).to_have_count(len(steps))
    assert phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(phone_page, "catalog-item-manual-phone")
