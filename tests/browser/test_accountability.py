"""Accountability by the list in a real browser: an assessor opens a case from a call page,
records the finding, prints it and downloads the PDF and the Excel workbook, then records
an incident on a phone and lands on its case; the township's leader reads the cases on a
phone."""

# ruff: noqa: F811  (the fixture `acc_list` is imported from test_accountability)
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.db import connection
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.assessment.test_accountability import acc_list, loop, t, up_call  # noqa: F401
from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD
from xianghu.assessment.models import AccountabilityCase, CaseStatus, Finding
from xianghu.calls.integrity import install_append_only_triggers

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(autouse=True)
def _empty_the_event_log(transactional_db):
    """The call log refuses DELETE (database triggers), which the flush after a
    transactional test needs: empty it with the triggers lifted, then put them back."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assessment_accountabilitycase_parties")
        cursor.execute("DELETE FROM assessment_accountabilitycase")
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS call_event_no_delete")
        cursor.execute("DELETE FROM calls_attachment")
        cursor.execute("DELETE FROM calls_callevent")
    install_append_only_triggers()


def test_an_assessor_records_the_finding_and_downloads_the_report(
    page, phone_page, world, acc_list, tmp_path
):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    login(page, "assessor", PASSWORD)
    expect(page.get_by_test_id("who")).to_be_visible()
    page.goto(f"/calls/{call.pk}/")
    page.get_by_test_id("call-accountability").click()

    # The evidence as it stands, and the proposal with its reasons.
    expect(page.get_by_test_id("acc-preview-title")).to_contain_text(call.number)
    expect(page.get_by_test_id("proposed-finding")).to_have_attribute(
        "data-finding", "primary_failure"
    )
    expect(page.locator("[data-testid=acc-check][data-outcome=late]")).to_have_count(1)
    expect(page.get_by_test_id("acc-steps")).to_contain_text("主体责任部门签收响应")
    assert_chinese_rendered(page, "王庄镇人民政府")
    screenshot(page, "accountability-preview")
    page.get_by_test_id("open-case").click()

    # The case: the evidence kept as the record, and the form of the finding.
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "open")
    case = AccountabilityCase.objects.get()
    form = page.get_by_test_id("decide-form")
    expect(form.locator("input[name=finding][value=primary_failure]")).to_be_checked()
    form.get_by_test_id("record-finding").click()  # without reasons: refused
    expect(page.get_by_test_id("error-reasons")).to_be_visible()
    page.get_by_test_id("decide-form").locator("textarea[name=reasons]").fill(
        "应急管理局签收超时两个半小时，无正当理由，认定主体责任未落实。"
    )
    with page.expect_navigation():
        page.get_by_test_id("record-finding").click()
    expect(page.get_by_test_id("final-finding")).to_have_attribute(
        "data-finding", "primary_failure"
    )
    expect(page.get_by_test_id("acc-final")).to_contain_text("无正当理由")
    expect(page.get_by_test_id("decide-form")).to_have_count(0)
    case.refresh_from_db()
    assert (case.status, case.final_finding) == (CaseStatus.DECIDED, Finding.PRIMARY_FAILURE)
    screenshot(page, "accountability-case-decided")

    # The downloads.
    with page.expect_download() as pdf_download:
        page.get_by_test_id("download-pdf").click()
    pdf_file = Path(pdf_download.value.path())
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    with page.expect_download() as xlsx_download:
        page.get_by_test_id("download-xlsx").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    summary = book[book.sheetnames[0]]
    assert any("无正当理由" in str(v) for row in summary.iter_rows(values_only=True) for v in row)

    # The printable page, as the printer sees it.
    page.goto(f"/assessment/accountability/{case.pk}/print/")
    expect(page.get_by_test_id("print-title")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".acc-print-note")).to_be_hidden()
    screenshot(page, "accountability-print")
    page.emulate_media(media="screen")

    # Recording an incident, on a phone-sized screen, prefilled from the call.
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"/assessment/accountability/incidents/new/?call={call.pk}")
    form = page.get_by_test_id("incident-form")
    expect(form).to_be_visible()
    expect(page.locator("#id_calls")).to_have_value(call.number)
    expect(page.locator("#id_township")).to_have_value(str(world.orgs["t1"].pk))
    expect(page.locator("#id_item")).to_have_value("AC-01")
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "accountability-incident-phone")

    # An enforcement check finds the problem again on the 20th, after the township had
    # called about it: the township reported in time, the department signed late.
    title = "王庄镇1村厂房内仍堆放大量易燃物品"
    page.locator("#id_title").fill(title)
    page.locator("#id_description").fill("县应急管理局执法检查发现该厂房内仍堆放大量易燃物品。")
    page.locator("#id_discovered_at").fill("2024-03-20T09:00")
    page.locator("#id_discovered_by").fill("县应急管理局执法检查")
    page.locator("#id_calls").fill(f"{call.number}，999999")  # one number unknown: refused
    page.get_by_test_id("save-incident").click()
    expect(page.get_by_test_id("error-calls")).to_contain_text("999999")
    assert AccountabilityCase.objects.count() == 1
    page.locator("#id_calls").fill(call.number)
    with page.expect_navigation():
        page.get_by_test_id("save-incident").click()

    # The incident's case, opened at once with its evidence and proposal.
    incident_case = AccountabilityCase.objects.exclude(pk=case.pk).get()
    assert incident_case.call_id is None
    assert page.url.endswith(f"/assessment/accountability/{incident_case.pk}/")
    expect(page.get_by_test_id("acc-case-title")).to_contain_text(title)
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "open")
    expect(page.get_by_test_id("acc-facts")).to_contain_text("县应急管理局执法检查")
    expect(page.get_by_test_id("acc-timeline")).to_contain_text(call.number)
    expect(page.locator("[data-testid=acc-check][data-outcome=on_time]").first).to_be_visible()
    expect(page.locator("[data-testid=acc-check][data-outcome=late]")).to_have_count(1)
    expect(page.get_by_test_id("proposed-finding")).to_have_attribute(
        "data-finding", "primary_failure"
    )
    expect(page.get_by_test_id("decide-form")).to_be_visible()
    assert incident_case.proposed_finding == Finding.PRIMARY_FAILURE
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "accountability-incident-case-phone")

    # The township's leader reads the cases on a phone, without the form.
    login(phone_page, "tleader", PASSWORD)
    expect(phone_page.get_by_test_id("who")).to_be_visible()
    phone_page.goto("/assessment/accountability/?status=all")
    expect(phone_page.get_by_test_id("acc-case-row")).to_have_count(2)
    phone_page.locator(f"[data-testid=acc-case-row][data-pk='{case.pk}']").get_by_role(
        "link"
    ).click()
    expect(phone_page.get_by_test_id("final-finding")).to_be_visible()
    expect(phone_page.get_by_test_id("decide-form")).to_have_count(0)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "accountability-case-phone")
