"""Public reporting in a real browser, on a phone: a resident reports with a photo →
the township's triage turns it into a call → the call closes (driven through the
workflow's services) → the resident sees the outcome and rates it. Bad input on the
phone (a place outside the county, a file that is not a photo, a flood), and a report
written offline by an account, sent by the outbox when the network returns."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.utils import translation
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log  # noqa: F401
from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from tests.factories import PASSWORD
from xianghu.calls.models import Call
from xianghu.calls.services import call_transition
from xianghu.calls.workflow import State
from xianghu.participation import public_reports
from xianghu.participation.models import PublicReport, ReportStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clean(_empty_the_event_log, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()
    yield
    cache.clear()
    PublicReport.objects.all().delete()  # reports point at calls: before the calls go


def _close(world, call: Call) -> None:
    steps = [
        ("reporter", "submit", {}),
        ("tleader", "approve", {}),
        ("operator", "accept", {}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
        ("handler", "sign", {}),
        ("handler", "respond", {"mode": "on_site"}),
        ("handler", "complete", {"result": "已更换村口路灯，恢复夜间照明。"}),
        ("reporter", "evaluate", {"evaluation": "satisfied", "resolved": "yes"}),
    ]
    for key, action, data in steps:
        call_transition(actor=as_(world, key), call=call, action=action, data=data)
    call.refresh_from_db()
    assert call.state == State.CLOSED


def test_a_resident_reports_the_township_handles_it_and_the_resident_rates(
    phone_page, page, live_server, world, lists
):
    phone = phone_page
    phone.goto("/participation/report/")
    expect(phone.get_by_test_id("report-form")).to_be_visible()
    assert_chinese_rendered(phone, "反映问题")
    assert phone.evaluate(OVERFLOW_JS) <= 0
    phone.fill("#id_description", "王庄镇1村村口路灯坏了一个月，晚上很黑，老人出行不便。")
    phone.set_input_files(
        "#id_photos", files=[{"name": "路灯.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    phone.select_option("#id_location", str(world.t1.pk))
    phone.fill("#id_address", "村口大槐树旁")
    phone.fill("#id_contact", "13800001111")
    phone.check("#id_consent")
    screenshot(phone, "public-report-form-phone")
    phone.get_by_test_id("report-submit").click()
    expect(phone.get_by_test_id("track-page")).to_be_visible()
    report = PublicReport.objects.get()
    expect(phone.get_by_test_id("tracking-number")).to_have_text(report.token)
    expect(phone.get_by_test_id("photos-waiting")).to_be_visible()
    expect(phone.get_by_test_id("track-update")).to_have_count(1)
    assert "13800001111" not in phone.content()
    assert phone.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone, "public-track-received-phone")

    # The township's triage turns it into a call.
    login(page, "tleader", PASSWORD)
    page.goto("/participation/triage/")
    row = page.locator(f"[data-token='{report.token}']")
    expect(row.get_by_test_id("report-phone")).to_have_text("138****1111")
    expect(row.get_by_test_id("report-photo")).to_be_visible()
    row.get_by_test_id("accept").click()
    expect(page.get_by_test_id("call-title")).to_be_visible()
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    call = report.call
    assert call is not None

    phone.reload()
    with translation.override("zh-hans"):  # the page's language (zh-CN browser)
        preparing = str(public_reports.PHASES["preparing"])
    expect(phone.get_by_test_id("track-status")).to_have_text(preparing)
    expect(phone.get_by_test_id("rating-card")).to_have_count(0)

    # The call goes round the loop and closes.
    _close(world, call)

    phone.reload()
    expect(phone.get_by_test_id("track-outcome")).to_contain_text("已更换村口路灯")
    expect(phone.get_by_test_id("rating-card")).to_be_visible()
    screenshot(phone, "public-track-closed-phone")
    phone.locator("input[name=rating][value='4']").check()
    phone.fill("#id_comment", "修得很快，谢谢！")
    phone.get_by_test_id("rate-submit").click()
    expect(phone.get_by_test_id("rating-stars")).to_have_text("★★★★☆")
    expect(phone.get_by_test_id("rating-card")).to_have_count(0)
    report.refresh_from_db()
    assert report.rating == 4
    assert report.rating_comment == "修得很快，谢谢！"
    kinds = [u.kind for u in report.updates.all()]
    assert kinds[0] == "received"
    assert "accepted" in kinds
    assert "closed" in kinds
    assert kinds[-1] == "rated"
    screenshot(phone, "public-track-rated-phone")


def test_bad_input_on_the_phone(phone_page, live_server, world, lists, settings):
    phone = phone_page
    phone.goto("/participation/report/")
    text = "路边有大坑，电动车容易摔倒。"
    phone.fill("#id_description", text)
    phone.fill("#id_address", "火星基地")
    phone.get_by_test_id("report-submit").click()
    expect(phone.get_by_test_id("error-location")).to_contain_text(world.county.name)
    expect(phone.locator("#id_description")).to_have_value(text)  # nothing lost
    expect(phone.locator("#id_address")).to_have_value("火星基地")
    screenshot(phone, "public-report-outside-phone")

    phone.select_option("#id_location", str(world.t2.pk))
    phone.set_input_files(
        "#id_photos",
        files=[{"name": "坑.png", "mimeType": "image/png", "buffer": b"MZ not an image at all"}],
    )
    phone.get_by_test_id("report-submit").click()
    expect(phone.get_by_test_id("error-photos")).to_be_visible()
    expect(phone.locator("#id_description")).to_have_value(text)
    assert not PublicReport.objects.exists()

    settings.XH_PUBLIC_RATE_LIMITS = {"report": (1, 3600)}
    cache.clear()
    phone.get_by_test_id("report-submit").click()  # allowed (no photo now): it is filed
    expect(phone.get_by_test_id("track-page")).to_be_visible()
    phone.goto("/participation/report/")
    phone.fill("#id_description", "再报一次：路边有大坑。")
    phone.select_option("#id_location", str(world.t2.pk))
    phone.get_by_test_id("report-submit").click()
    expect(phone.get_by_test_id("too-many")).to_be_visible()
    expect(phone.get_by_test_id("error-message")).to_contain_text(re.compile(r"\d+"))
    assert PublicReport.objects.count() == 1
    screenshot(phone, "public-report-429-phone")


def test_a_report_written_offline_is_sent_when_the_network_returns(
    phone_page, live_server, world, lists
):
    phone = phone_page
    login(phone, "citizen", PASSWORD)
    phone.goto("/participation/report/")
    expect(phone.get_by_test_id("report-form")).to_be_visible()
    phone.wait_for_load_state("networkidle")
    phone.context.set_offline(True)
    phone.fill("#id_description", "柳林镇集市东口井盖缺失，很危险。")
    phone.select_option("#id_location", str(world.t2.pk))
    phone.get_by_test_id("report-submit").click()
    expect(phone.get_by_test_id("offline-saved")).to_be_visible()
    expect(phone.get_by_test_id("outbox-item")).to_have_count(1)
    expect(phone.get_by_test_id("outbox")).to_contain_text("柳林镇集市东口井盖缺失")
    assert not PublicReport.objects.exists()
    screenshot(phone, "public-report-offline-phone")

    phone.context.set_offline(False)
    expect(phone.get_by_test_id("outbox-sent")).to_have_count(1, timeout=20_000)
    expect(phone.get_by_test_id("outbox-item")).to_have_count(0)
    report = PublicReport.objects.get()
    assert report.reporter == world.users["citizen"]
    assert report.township == world.t2
    phone.evaluate("window.xhOutbox.sync()")  # nothing is sent twice
    phone.goto("/participation/mine/")
    expect(phone.get_by_test_id("my-report")).to_have_count(1)
    assert PublicReport.objects.count() == 1
