"""The list pages (清单) in a real browser: the change walk from a department's request
to the public diff, the procedure flow, an admission, the public list on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.catalog import conftest as catalog_conftest
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lists(world):
    """tests/catalog/conftest.py's `lists` (a published guidance version and the world
    county's derived, published list), which this directory does not see."""
    return catalog_conftest.lists.__wrapped__(world)


OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


def logout(page) -> None:
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_change_request_walk_to_the_public_diff(page, world, lists):
    # The department handler asks to shorten D1-01's completion limit.
    login(page, "handler", PASSWORD)
    page.goto("/catalog/my-requests/")
    screenshot(page, "catalog-my-requests-empty")
    page.get_by_test_id("new-change").click()
    page.check("input[name=kind][value=modify]")
    page.select_option("#id_item", "D1-01")
    page.get_by_test_id("choose").click()
    form = page.get_by_test_id("change-form")
    expect(form.locator("#id_complete_limit")).to_have_value("5个工作日")
    expect(form.locator("input[name=primary_departments][value=应急管理局]")).to_be_checked()
    # An unreadable limit is refused next to its field.
    form.locator("#id_complete_limit").fill("3天")
    form.locator("#id_reason").fill("企业隐患整改周期缩短，按新规执行")
    page.get_by_test_id("submit-change").click()
    expect(page.get_by_test_id("error-complete_limit")).to_be_visible()
    screenshot(page, "catalog-change-form-errors")
    page.fill("#id_complete_limit", "3个工作日")
    page.fill("#id_legal_basis", "《安全生产法》第六十五条")
    page.get_by_test_id("submit-change").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("proposal")).to_contain_text("3个工作日")
    expect(page.get_by_test_id("proposal")).to_contain_text("5个工作日")
    screenshot(page, "catalog-change-request-filed")
    logout(page)

    # The 编办 reviewer approves it with an opinion.
    login(page, "bianban", PASSWORD)
    expect(page.locator("[data-panel=catalog_review]")).to_be_visible()
    page.goto("/catalog/review/")
    pending = page.get_by_test_id("pending-changes")
    expect(pending.get_by_test_id("change-row")).to_have_count(1)
    screenshot(page, "catalog-review")
    pending.get_by_role("link", name=re.compile("D1-01")).click()
    expect(page.get_by_test_id("decision-form")).to_be_visible()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("error-opinion")).to_be_visible()  # an opinion is required
    page.fill("#id_opinion", "同意，自发布之日起执行")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("opinion")).to_contain_text("同意，自发布之日起执行")
    expect(page.get_by_test_id("result-links")).to_be_visible()
    screenshot(page, "catalog-change-request-approved")
    logout(page)

    # Anyone sees the new version in force, and the diff shows the change.
    page.goto("/catalog/")
    expect(page.get_by_test_id("version-in-force")).to_have_attribute("data-version", "2")
    expect(page.locator("[data-testid=item-row][data-code=D1-01]")).to_contain_text("3个工作日")
    screenshot(page, "catalog-public-list")
    # The item's flow: the step that ran on 5 working days now runs on 3.
    page.locator("[data-testid=item-row][data-code=D1-01]").get_by_role("link").click()
    steps = page.get_by_test_id("procedure-flow").get_by_test_id("flow-step")
    expect(steps).to_have_count(2)
    expect(steps.nth(1)).to_contain_text("主体责任部门依法处置办结")
    expect(steps.nth(1).get_by_test_id("flow-limit")).to_contain_text("3个工作日")
    page.go_back()
    page.get_by_test_id("history-link").click()
    expect(page.get_by_test_id("version-row")).to_have_count(2)
    screenshot(page, "catalog-versions")
    page.locator("[data-testid=version-row][data-number='2']").get_by_test_id("diff-link").click()
    item = page.locator("[data-testid=diff-item][data-code=D1-01]")
    change = item.locator("[data-field=complete_limit]")
    expect(change.get_by_test_id("old-value")).to_have_text("5个工作日")
    expect(change.get_by_test_id("new-value")).to_have_text("3个工作日")
    # The procedure is in the diff too: its step followed the new limit.
    steps = item.locator("[data-field=steps]")
    expect(steps.get_by_test_id("old-value")).to_contain_text("5个工作日")
    expect(steps.get_by_test_id("new-value")).to_contain_text("3个工作日")
    expect(page.get_by_test_id("n-modified")).to_have_text("1")
    screenshot(page, "catalog-diff")

    # The handler reads the decision on "my requests".
    login(page, "handler", PASSWORD)
    page.goto("/catalog/my-requests/")
    expect(page.get_by_test_id("my-changes")).to_contain_text("同意，自发布之日起执行")
    screenshot(page, "catalog-my-requests")


def test_item_page_draws_the_procedure_as_a_flow(page, phone_page, lists):
    url = f"/catalog/versions/{lists.version.pk}/items/D1-04-2/"
    page.goto(url)
    flow = page.get_by_test_id("procedure-flow")
    steps = flow.get_by_test_id("flow-step")
    expect(steps).to_have_count(2)
    expect(flow.get_by_test_id("flow-handoff").first).to_contain_text("乡镇呼叫：问题移交县级平台")
    expect(page.get_by_test_id("guidance-item")).to_contain_text("D1-04")
    # Wide screens: the steps side by side, left to right.
    first, second = (steps.nth(i).locator(".flow-box").bounding_box() for i in (0, 1))
    assert abs(first["y"] - second["y"]) < 2
    assert second["x"] > first["x"] + first["width"]
    screenshot(page, "catalog-item-flow")

    phone_page.goto(url)
    steps = phone_page.get_by_test_id("flow-step")
    first, second = (steps.nth(i).locator(".flow-box").bounding_box() for i in (0, 1))
    # Phones: one under the other.
    assert second["y"] > first["y"] + first["height"]
    assert abs(first["x"] - second["x"]) < 2
    assert phone_page.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone_page, "catalog-item-flow-phone")


def guard_check(page, world, item_label=None):
    page.goto("/catalog/guard/")
    page.select_option("#id_township", label="王庄镇人民政府")
    if item_label:
        page.select_option("#id_item", label=item_label)
    page.get_by_test_id("guard-check").click()
    return page.get_by_test_id("guard-decision")


def test_admission_filed_and_approved(page, world, lists):
    today = timezone.localdate()
    login(page, "handler", PASSWORD)
    # The guard: the department's own primary duty stays with it ...
    decision = guard_check(page, world, "D1-01 工矿商贸企业安全生产监管")
    expect(decision).to_have_attribute("data-code", "primary_duty_push_down")
    expect(decision).to_contain_text("严禁")
    # ... and an out-of-list task needs an admission first.
    decision = guard_check(page, world)
    expect(decision).to_have_attribute("data-allowed", "false")
    expect(decision).to_have_attribute("data-code", "out_of_list_without_admission")
    screenshot(page, "catalog-guard-refused")
    page.goto("/catalog/admissions/new/")
    page.fill("#id_title", "汛期低洼地带隐患排查")
    page.fill("#id_content", "组织村（社区）对低洼地带、危旧房屋开展排查并报送台账")
    page.fill("#id_basis", "县防汛抗旱指挥部〔2026〕3号通知")
    page.fill("#id_resources", "每乡镇工作经费2万元，随任务拨付")
    page.get_by_label("王庄镇人民政府").check()
    page.fill("#id_starts_on", today.isoformat())
    page.fill("#id_ends_on", (today + timedelta(days=60)).isoformat())
    screenshot(page, "catalog-admission-form")
    page.get_by_test_id("submit-admission").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("townships")).to_have_text("王庄镇人民政府")
    logout(page)

    login(page, "bianban", PASSWORD)
    page.goto("/catalog/review/")
    page.get_by_test_id("pending-admissions").get_by_role(
        "link", name="汛期低洼地带隐患排查"
    ).click()
    page.fill("#id_opinion", "同意准入，经费随事转移")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "approved")
    screenshot(page, "catalog-admission-approved")
    logout(page)

    # Now the same out-of-list task may go to 王庄镇, under the admission.
    login(page, "handler", PASSWORD)
    decision = guard_check(page, world)
    expect(decision).to_have_attribute("data-allowed", "true")
    expect(decision).to_have_attribute("data-code", "admitted")
    expect(decision).to_contain_text("汛期低洼地带隐患排查")
    screenshot(page, "catalog-guard-admitted")
    logout(page)

    # The township (王庄镇) finds it among its duties, a temporary task with its period,
    # next to what the list gives it.
    login(page, "reporter", PASSWORD)
    page.goto("/catalog/duties/")
    primary = page.get_by_test_id("duties-primary")
    expect(primary.get_by_test_id("item-row")).to_have_count(1)
    expect(primary.locator("[data-testid=item-row][data-code=D2-09]")).to_be_visible()
    cooperating = page.get_by_test_id("duties-cooperating")
    expect(cooperating.locator("[data-testid=item-row][data-code=D1-01]")).to_be_visible()
    admitted = page.get_by_test_id("duties-admitted").get_by_test_id("admitted-row")
    expect(admitted).to_have_count(1)
    expect(admitted).to_contain_text("汛期低洼地带隐患排查")
    expect(admitted).to_contain_text("每乡镇工作经费2万元")
    expect(admitted.get_by_test_id("admitted-period")).to_have_text(
        f"{today.isoformat()} – {(today + timedelta(days=60)).isoformat()}"
    )
    screenshot(page, "catalog-duties-township")
    admitted.get_by_role("link", name="汛期低洼地带隐患排查").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "approved")


def test_excel_export_edit_reimport_as_draft(page, world, lists, tmp_path):
    import openpyxl

    login(page, "bianban", PASSWORD)
    page.goto(f"/catalog/{lists.catalogue.pk}/versions/")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-xlsx").click()
    exported = tmp_path / "list.xlsx"
    download_info.value.save_as(exported)
    # Edit the file as a clerk would in Excel: D1-01 now has 3 working days.
    wb = openpyxl.load_workbook(exported)
    ws = wb.active
    header_row = next(r for r in range(1, 6) if ws.cell(r, 3).value == "事项名称")
    headers = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(header_row + 1, ws.max_row + 1):
        if ws.cell(r, headers["事项编码"]).value == "D1-01":
            ws.cell(r, headers["办结时限"]).value = "3个工作日"
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)

    page.get_by_test_id("import-link").click()
    page.fill("#id_title", "清河县属地管理事项清单（第2版，征求意见稿）")
    page.set_input_files("#id_file", str(edited))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("version-status")).to_have_text("草稿")
    expect(page.get_by_test_id("draft-diff")).to_contain_text("D1-01")
    screenshot(page, "catalog-import-draft")
    page.get_by_test_id("draft-diff-link").click()
    change = page.locator("[data-testid=diff-item][data-code='D1-01'] [data-field=complete_limit]")
    expect(change.get_by_test_id("old-value")).to_have_text("5个工作日")
    expect(change.get_by_test_id("new-value")).to_have_text("3个工作日")
    # Only D1-01 changed: every other item came back with its procedure.
    expect(page.get_by_test_id("diff-item")).to_have_count(1)
    screenshot(page, "catalog-import-draft-diff")
    # A broken file lists its problems and saves nothing.
    page.goto(f"/catalog/{lists.catalogue.pk}/import/")
    broken = tmp_path / "broken.csv"
    broken.write_text("序号,领域\n1,安全\n", encoding="utf-8")
    page.set_input_files("#id_file", str(broken))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-problems")).to_contain_text("事项名称")
    screenshot(page, "catalog-import-problems")
    # Publishing the draft puts it in force.
    page.goto(f"/catalog/{lists.catalogue.pk}/versions/")
    page.get_by_test_id("draft-link").click()
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("version-status")).to_have_text("现行")
    # The re-imported item still has its procedure, drawn as a flow, on its new limit.
    page.goto("/catalog/")
    page.locator("[data-testid=item-row][data-code=D1-01]").get_by_role("link").click()
    flow = page.get_by_test_id("procedure-flow")
    steps = flow.get_by_test_id("flow-step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("乡镇巡查发现并报告")
    expect(flow.get_by_test_id("flow-handoff").first).to_contain_text("乡镇呼叫：问题移交县级平台")
    expect(steps.nth(1).get_by_test_id("flow-limit")).to_contain_text("3个工作日")
    screenshot(page, "catalog-import-item-flow")


def test_public_list_live_search_and_tabs(page, lists):
    page.goto("/catalog/")
    rows = page.get_by_test_id("item-row")
    expect(rows).to_have_count(5)
    page.fill("#list-q", "烟花")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=%E7%83%9F"))
    page.fill("#list-q", "")
    expect(rows).to_have_count(5)
    page.locator("label.tab", has_text="生态环境保护").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-code", "D2-09")
    screenshot(page, "catalog-public-list-domain")
    page.get_by_test_id("derivation-link").click()
    expect(page.get_by_test_id("removal-reason")).to_have_text("本县无田野文物，纳入其他事项管理")
    screenshot(page, "catalog-derivation")


def test_list_pages_fit_a_phone(phone_page, world, lists):
    page = phone_page
    page.goto("/catalog/")
    expect(page.get_by_test_id("item-row")).to_have_count(5)
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "catalog-public-list-phone")
    page.fill("#list-q", "秸秆")
    expect(page.get_by_test_id("item-row")).to_have_count(1)
    for path in (
        f"/catalog/{lists.catalogue.pk}/versions/",
        f"/catalog/versions/{lists.version.pk}/derivation/",
        f"/catalog/diff/?old={lists.guidance.pk}&new={lists.version.pk}",
    ):
        page.goto(path)
        assert page.evaluate(OVERFLOW_JS) <= 0, path
    login(page, "handler", PASSWORD)
    for path in (
        "/catalog/duties/",
        "/catalog/my-requests/",
        "/catalog/change-requests/new/?kind=modify&item=D1-01",
        "/catalog/admissions/new/",
        "/catalog/change-requests/import/",
    ):
        page.goto(path)
        assert page.evaluate(OVERFLOW_JS) <= 0, path
    screenshot(page, "catalog-admission-form-phone")
    page.goto("/catalog/duties/")
    screenshot(page, "catalog-duties-phone")
