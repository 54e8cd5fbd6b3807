"""The installable app offline, in Chromium with the network switched off: the new-call
page comes from the phone, a call written offline waits in the outbox and is sent once
the network is back — exactly once, however often the sending is tried."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_calls import _empty_the_event_log  # noqa: F401
from tests.factories import PASSWORD
from xianghu.calls.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_READY_JS = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return !!reg.active;
}"""


def test_a_call_written_offline_is_sent_when_the_network_returns(
    phone_page, live_server, world, lists
):
    page = phone_page
    login(page, "reporter", PASSWORD)
    page.goto("/calls/new/")
    assert page.evaluate(WORKER_READY_JS)
    page.reload()  # now under the worker's control: the form page is kept
    expect(page.get_by_test_id("call-form")).to_be_visible()
    page.wait_for_load_state("networkidle")

    page.context.set_offline(True)
    page.reload()  # served from the phone
    expect(page.get_by_test_id("call-form")).to_be_visible()
    page.fill("#id_title", "村口变压器冒烟")
    page.fill("#id_description", "王庄镇1村村口变压器冒烟，有焦糊味，请供电部门处理。")
    page.get_by_test_id("save-call").click()
    expect(page.get_by_test_id("offline-saved")).to_be_visible()
    expect(page.get_by_test_id("outbox-item")).to_have_count(1)
    expect(page.get_by_test_id("outbox")).to_contain_text("村口变压器冒烟")
    screenshot(page, "offline-outbox")
    assert not Call.objects.filter(title="村口变压器冒烟").exists()

    # a second call offline, with its own idempotency key
    page.fill("#id_title", "村道积水")
    page.fill("#id_description", "王庄镇1村村道积水严重，车辆无法通行。")
    page.get_by_test_id("save-call").click()
    expect(page.get_by_test_id("outbox-item")).to_have_count(2)

    page.context.set_offline(False)  # the page's "online" event sends the outbox
    expect(page.get_by_test_id("outbox-sent")).to_have_count(2, timeout=20_000)
    expect(page.get_by_test_id("outbox-item")).to_have_count(0)
    first = Call.objects.get(title="村口变压器冒烟")
    assert first.state == "draft"
    assert first.idempotency_key.startswith("pwa-")
    assert first.created_by == world.users["reporter"]
    assert Call.objects.filter(title="村道积水").count() == 1

    # trying again sends nothing twice
    page.evaluate("window.xhOutbox.sync()")
    page.goto(f"/calls/{first.pk}/")
    expect(page.get_by_test_id("call-title")).to_contain_text("村口变压器冒烟")
    assert Call.objects.filter(title__in=["村口变压器冒烟", "村道积水"]).count() == 2


def test_an_offline_page_that_was_never_kept(phone_page, live_server, world, lists):
    page = phone_page
    login(page, "reporter", PASSWORD)
    page.goto("/calls/")
    assert page.evaluate(WORKER_READY_JS)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.context.set_offline(True)
    page.goto("/directory/organisations/?x=1", wait_until="commit")
    expect(page.get_by_test_id("offline-title")).to_be_visible()


def test_a_call_the_server_refuses_stays_in_the_outbox_with_the_reason(
    phone_page, live_server, world, lists
):
    page = phone_page
    login(page, "reporter", PASSWORD)
    page.goto("/calls/new/")
    assert page.evaluate(WORKER_READY_JS)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.context.set_offline(True)
    page.fill("#id_description", "没有写标题的呼叫。")
    page.get_by_test_id("save-call").click()
    expect(page.get_by_test_id("outbox-item")).to_have_count(1)
    page.context.set_offline(False)
    expect(page.get_by_test_id("outbox-error")).to_be_visible(timeout=20_000)
    assert not Call.objects.filter(description="没有写标题的呼叫。").exists()
    page.get_by_test_id("outbox-drop").click()
    expect(page.get_by_test_id("outbox")).to_be_hidden()


def test_a_resident_without_an_account_reports_offline(phone_page, live_server, world, lists):
    from xianghu.participation.models import PublicReport

    page = phone_page
    page.goto("/participation/report/")
    assert page.evaluate(WORKER_READY_JS)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.context.set_offline(True)
    page.reload()  # the report form comes from the phone
    expect(page.get_by_test_id("report-form")).to_be_visible()
    page.fill("#id_description", "王庄镇集市路口井盖缺失，很危险。")
    page.select_option("#id_location", str(world.t1.pk))
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("outbox-item")).to_have_count(1)
    assert not PublicReport.objects.exists()
    page.context.set_offline(False)
    expect(page.get_by_test_id("outbox-sent")).to_have_count(1, timeout=20_000)
    report = PublicReport.objects.get()
    assert report.reporter is None
    assert report.township == world.t1
