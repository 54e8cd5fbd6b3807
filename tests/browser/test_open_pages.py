"""The open government pages in a real browser, without logging in: from the index to a
closed case (masked), the statistics and the JSON twin; on a phone, nothing overflows."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log  # noqa: F401
from tests.calls.conftest import act, new_call  # noqa: F401
from tests.participation.test_open import ID_NUMBER, PHONE, close_call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _open_data_first(_empty_the_event_log):  # noqa: F811
    """Consultations' tasks point at calls: remove them before the calls go."""
    yield
    from xianghu.participation.models_open import Consultation

    Consultation.objects.all().delete()


def test_browse_the_open_pages_without_login(page, phone_page, world, lists, act, new_call):  # noqa: F811
    call = close_call(
        act,
        new_call(
            title="村口易燃物堆放",
            description=f"村民来电{PHONE}反映，身份证{ID_NUMBER}，村口堆放易燃物。",
        ),
        result=f"已清理，回访{PHONE}满意。",
    )
    page.goto("/open/")
    expect(page.get_by_test_id("open-title")).to_contain_text(world.county.name)
    expect(page.get_by_test_id("section-cases")).to_be_visible()
    screenshot(page, "open-index")

    page.get_by_test_id("section-cases").get_by_role("link").first.click()
    rows = page.get_by_test_id("case-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("村口易燃物堆放")
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_test_id("case-number")).to_have_text(call.number)
    expect(page.get_by_test_id("case-description")).to_contain_text("139****5678")
    expect(page.get_by_test_id("case-description")).to_contain_text("371221********4512")
    expect(page.get_by_test_id("case-result")).to_contain_text("已清理，回访139****5678满意。")
    expect(page.get_by_test_id("case-evaluation")).to_have_text("满意")
    body = page.content()
    assert PHONE not in body
    assert ID_NUMBER not in body
    screenshot(page, "open-case")

    # The JSON twin of the case list: same case, masked.
    page.goto("/open/cases/")
    href = page.get_by_test_id("json-link").get_attribute("href")
    page.goto(href)
    doc = json.loads(page.locator("body").inner_text())
    assert doc["count"] == 1
    assert doc["results"][0]["number"] == call.number
    assert PHONE not in json.dumps(doc, ensure_ascii=False)

    page.goto("/open/statistics/")
    expect(page.get_by_test_id("month-row")).to_have_count(12)
    expect(page.get_by_test_id("month-row").first).to_contain_text("100.0%")

    page.goto("/open/notices/")
    expect(page.get_by_test_id("no-notices")).to_be_visible()
    page.goto("/open/duties/")
    expect(page.get_by_test_id("department-row").first).to_be_visible()
    page.get_by_test_id("department-row").filter(has_text=world.orgs["dept"].name).get_by_role(
        "link"
    ).click()
    expect(page.get_by_test_id("primary-item").first).to_be_visible()

    # On a phone the case list reads without sideways scrolling.
    phone_page.goto("/open/cases/")
    expect(phone_page.get_by_test_id("case-row")).to_have_count(1)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "open-cases-phone")
