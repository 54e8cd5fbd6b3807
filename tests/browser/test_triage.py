"""The township's triage of public reports in a real browser, on a phone: a report
posted by a public Open311 app is accepted and becomes a draft call; another is rejected."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log  # noqa: F401
from tests.factories import PASSWORD
from xianghu.accounts.services import apikey_create
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.participation.models import PublicReport, ReportStatus
from xianghu.regions.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reports_first(_empty_the_event_log):  # noqa: F811
    """Reports point at calls: remove them before the calls go."""
    yield
    PublicReport.objects.all().delete()


def test_accept_and_reject_public_reports_on_a_phone(phone_page, live_server, world, lists):
    from django.test import Client

    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["enterprise"], role=Role.PUBLIC_USER, name="随手拍"
    )
    client = Client()
    for text in ("王庄镇1村路口堆放烟花爆竹", "王庄镇集市占道经营"):
        r = client.post(
            "/open311/v2/requests.json",
            {
                "api_key": plain,
                "service_code": "D1-01",
                "address_string": "王庄镇",
                "description": text,
                "phone": "13800001111",
            },
        )
        assert r.status_code == 200, r.content
    first, second = PublicReport.objects.order_by("created_at")

    page = phone_page
    login(page, "tleader", PASSWORD)
    page.goto("/participation/triage/")
    rows = page.get_by_test_id("report-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("report-phone").first).to_have_text("138****1111")
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "triage-phone")

    row = page.locator(f"[data-token='{second.token}']")
    row.get_by_test_id("reject-reason").fill("占道经营不属于该事项，已转市场监管")
    row.get_by_test_id("reject").click()
    expect(page.get_by_test_id("report-row")).to_have_count(1)

    page.locator(f"[data-token='{first.token}']").get_by_test_id("accept").click()
    expect(page.get_by_test_id("call-title")).to_be_visible()
    call = Call.objects.get()
    assert call.state == State.DRAFT
    assert call.caller == world.orgs["t1"]
    expect(page.get_by_test_id("description")).to_contain_text("王庄镇1村路口堆放烟花爆竹")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ReportStatus.ACCEPTED
    assert first.call == call
    assert second.status == ReportStatus.REJECTED

    token = client.get(f"/open311/v2/tokens/{first.token}.json").json()
    assert token == [{"service_request_id": call.number, "token": first.token}]
