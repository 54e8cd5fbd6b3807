"""Notices (通报) in a real browser: an assessor generates the notice of March 2025 (after
a refused empty period), issues it, prints it and downloads the PDF and the Excel
workbook; the department leader named finds the entry on a phone and files the
rectification reply; the assessor accepts it and the entry is closed."""

# ruff: noqa: F811  (fixtures are imported from the assessment tests)
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.db import connection
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.assessment.conftest import calendar, sent, step  # noqa: F401
from tests.assessment.test_notices import REPLY, march  # noqa: F401
from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.calls.conftest import new_call  # noqa: F401
from tests.factories import PASSWORD
from xianghu.assessment.models import Notice, NoticeEntry, RectificationReply
from xianghu.calls.integrity import install_append_only_triggers

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(autouse=True)
def _empty_the_event_log(transactional_db):
    """The call log refuses DELETE (database triggers), which the flush after a
    transactional test needs: empty it with the triggers lifted, then put them back."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assessment_rectificationreply")
        cursor.execute("DELETE FROM assessment_noticeentry")
        cursor.execute("DELETE FROM assessment_notice")
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS call_event_no_delete")
        cursor.execute("DELETE FROM calls_attachment")
        cursor.execute("DELETE FROM calls_callevent")
    install_append_only_triggers()


def test_a_notice_is_generated_issued_downloaded_answered_and_closed(
    page, phone_page, world, march
):
    login(page, "assessor", PASSWORD)
    expect(page.get_by_test_id("who")).to_be_visible()
    page.goto("/assessment/notices/")
    page.get_by_test_id("new-notice").click()
    expect(page.get_by_test_id("generate-form")).to_be_visible()

    # An empty period is refused on its field; nothing is generated.
    page.fill("#id_period", "")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("error-period")).to_be_visible()
    assert not Notice.objects.exists()
    # A reversed range: on the last day.
    page.fill("#id_start", "2025-03-31")
    page.fill("#id_end", "2025-03-01")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("error-end")).to_be_visible()
    page.fill("#id_start", "")
    page.fill("#id_end", "")
    page.fill("#id_period", "2025-03")
    screenshot(page, "notice-generate")
    with page.expect_navigation():
        page.get_by_test_id("generate").click()

    # The draft: who is named, with figures and calls.
    expect(page.get_by_test_id("notice-status")).to_have_attribute("data-status", "draft")
    notice = Notice.objects.get()
    expect(page.get_by_test_id("notice-row")).to_have_count(3)
    expect(page.get_by_test_id("notice-table")).to_contain_text(march["A"].number)
    expect(page.get_by_test_id("notice-table")).to_contain_text(world.orgs["police"].name)
    assert_chinese_rendered(page, world.orgs["dept"].name)
    screenshot(page, "notice-draft")
    with page.expect_navigation():
        page.get_by_test_id("issue-notice").click()
    expect(page.get_by_test_id("notice-status")).to_have_attribute("data-status", "issued")
    expect(page.get_by_test_id("entry-row")).to_have_count(3)
    notice.refresh_from_db()
    assert notice.serial == 1
    screenshot(page, "notice-issued")

    # The downloads.
    with page.expect_download() as pdf_download:
        page.get_by_test_id("download-pdf").click()
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as xlsx_download:
        page.get_by_test_id("download-xlsx").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    named = book[book.sheetnames[1]]
    names = [row[1] for row in named.iter_rows(min_row=2, values_only=True)]
    assert names == [world.orgs["dept"].name, world.orgs["dept"].name, world.orgs["police"].name]

    # The printable document, as the printer sees it.
    page.goto(f"/assessment/notices/{notice.pk}/print/")
    expect(page.get_by_test_id("print-title")).to_have_text(notice.title)
    page.emulate_media(media="print")
    expect(page.locator(".nt-print-note")).to_be_hidden()
    screenshot(page, "notice-print")
    page.emulate_media(media="screen")

    # The department leader finds the entry on a phone and replies.
    entry = NoticeEntry.objects.get(notice=notice, category="no_response")
    login(phone_page, "dleader", PASSWORD)
    expect(phone_page.get_by_test_id("who")).to_be_visible()
    phone_page.goto("/assessment/notices/")
    expect(phone_page.get_by_test_id("to-answer-entry")).to_have_count(2)
    phone_page.get_by_test_id("to-answer-entry").first.get_by_role("link").click()
    expect(phone_page.get_by_test_id("entry-title")).to_have_text(entry.subject_name)
    expect(phone_page.get_by_test_id("entry-calls")).to_contain_text(march["A"].number)
    form = phone_page.get_by_test_id("reply-form")
    form.get_by_test_id("submit-reply").click()  # empty: refused on the fields
    expect(phone_page.get_by_test_id("error-text")).to_be_visible()
    assert not RectificationReply.objects.exists()
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    phone_page.fill("#id_text", REPLY["text"])
    phone_page.fill("#id_measures", REPLY["measures"])
    screenshot(phone_page, "notice-reply-phone")
    with phone_page.expect_navigation():
        phone_page.get_by_test_id("submit-reply").click()
    expect(phone_page.get_by_test_id("entry-status")).to_have_attribute("data-status", "replied")
    expect(phone_page.get_by_test_id("reply")).to_contain_text(REPLY["measures"])
    expect(phone_page.get_by_test_id("reply-form")).to_have_count(0)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "notice-replied-phone")
    # The notice itself on the phone: the tables become cards, nothing overflows.
    phone_page.goto(f"/assessment/notices/{notice.pk}/")
    expect(phone_page.get_by_test_id("entry-row")).to_have_count(3)
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "notice-phone")

    # The assessor accepts the rectification: the entry is closed.
    page.goto(f"/assessment/notices/entries/{entry.pk}/")
    decide = page.get_by_test_id("decide-form")
    decide.locator("input[name=decision][value=accept]").check()
    with page.expect_navigation():
        decide.get_by_test_id("submit-decision").click()
    expect(page.get_by_test_id("entry-status")).to_have_attribute("data-status", "closed")
    expect(page.get_by_test_id("reply")).to_have_attribute("data-status", "accepted")
    entry.refresh_from_db()
    assert entry.status == "closed"
    screenshot(page, "notice-entry-closed")
