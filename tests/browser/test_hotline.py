"""The 12345 hotline in a real browser: the platform operator uploads a GBK file, maps
its columns, watches the progress page (polled with htmx) until the import is done,
then turns a ticket into a call of the township."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.browser.test_calls import _empty_the_event_log  # noqa: F401
from tests.factories import PASSWORD
from xianghu.integrations.hotline import tasks
from xianghu.integrations.hotline.importer import run_import
from xianghu.integrations.hotline.models import ImportRun, ImportSource, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _tickets_first(_empty_the_event_log):  # noqa: F811
    """Tickets point at calls: remove them before the calls go."""
    yield
    Ticket.objects.all().delete()
    ImportRun.objects.all().delete()
    ImportSource.objects.all().delete()


class _Queue:
    """Stands in for the worker: the test runs the queued import itself, so the page
    is seen polling a run that is queued, then done."""

    def __init__(self) -> None:
        self.runs: list[int] = []

    def enqueue(self, run_id: int) -> None:
        self.runs.append(run_id)


def _gbk_file(path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["工单编号", "来电时间", "来电人", "来电号码", "诉求类型", "诉求内容", "事发地址"]
    )
    for i in range(1, 41):
        writer.writerow(
            [
                f"GD{i:04d}",
                "2025-03-01 08:30",
                "张三丰",
                "13812345678",
                "投诉",
                f"王庄镇兴隆街路灯不亮（第{i}次来电）",
                "清河县王庄镇兴隆街",
            ]
        )
    writer.writerow(
        ["GD0001", "2025-03-01 08:30", "李四", "13900000000", "投诉", "重复的工单", "王庄镇"]
    )
    writer.writerow(["GD9999", "2025-13-45", "王五", "13700000000", "咨询", "日期错误", "王庄镇"])
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return path


def test_import_with_progress_then_ticket_into_call(
    page: Any, live_server: Any, world: Any, tmp_path: Path, settings: Any, monkeypatch: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    queue = _Queue()
    monkeypatch.setattr(tasks, "hotline_import", queue)
    login(page, "operator", PASSWORD)
    page.goto("/integrations/hotline/import/")
    page.fill("#hotline-new-source", "市12345")
    page.get_by_test_id("hotline-file").set_input_files(str(_gbk_file(tmp_path / "工单.csv")))
    page.get_by_test_id("hotline-upload").click()
    expect(page.get_by_test_id("mapping-form")).to_be_visible()
    expect(page.locator("#map-number")).to_have_value("工单编号")  # recognised heading
    expect(page.locator("#map-content")).to_have_value("诉求内容")
    assert_chinese_rendered(page, "工单编号")
    screenshot(page, "hotline-mapping")
    page.get_by_test_id("hotline-start").click()

    progress = page.get_by_test_id("run-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    assert len(queue.runs) == 1
    run = ImportRun.objects.get(pk=queue.runs[0])
    run_import(run=run, batch_size=10)  # the worker's part
    expect(progress).to_have_attribute("data-status", "done", timeout=10_000)  # polled
    expect(page.get_by_test_id("run-inserted")).to_have_text("40")
    expect(page.get_by_test_id("run-failed")).to_have_text("2")
    expect(page.get_by_test_id("run-errors")).to_contain_text("hotline.duplicate_in_file")
    expect(page.get_by_test_id("run-errors")).to_contain_text("hotline.bad_date")
    screenshot(page, "hotline-progress-done")

    page.get_by_test_id("run-tickets").click()
    expect(page.get_by_test_id("ticket-row")).to_have_count(30)  # a page of 30
    expect(page.get_by_test_id("ticket-caller").first).to_contain_text("138****5678")
    page.get_by_role("link", name="GD0033").click()
    expect(page.get_by_test_id("ticket-content")).to_contain_text("第33次来电")
    page.get_by_test_id("to-call").click()
    expect(page.get_by_test_id("ticket-call")).to_be_visible()
    screenshot(page, "hotline-ticket-call")
    ticket = Ticket.objects.get(number="GD0033")
    assert ticket.call is not None
    assert ticket.call.caller == world.orgs["t1"]
    page.get_by_test_id("ticket-call").click()
    expect(page).to_have_url(f"{live_server.url}/calls/{ticket.call.pk}/")
