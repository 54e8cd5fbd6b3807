"""The call pages in a real browser: the whole loop from a reporter's phone to the
closed call, a return and dispute, an extension, and a department's two-way call."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from tests.factories import PASSWORD
from xianghu.calls import services
from xianghu.calls.integrity import install_append_only_triggers
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_the_event_log(transactional_db):
    """The log refuses DELETE (database triggers), which the flush after a transactional
    test needs: empty it with the triggers lifted, then put them back."""
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS call_event_no_delete")
        cursor.execute("DELETE FROM calls_attachment")
        cursor.execute("DELETE FROM calls_callevent")
    install_append_only_triggers()


OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


def switch(page, key: str) -> None:
    # Let the page's own requests (the htmx inbox badge) finish first: a late response
    # could set the previous user's session cookie again.
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    login(page, key, PASSWORD)
    expect(page.get_by_test_id("who")).to_be_visible()


def state(page, value: str) -> None:
    expect(page.get_by_test_id("call-title")).to_be_visible()
    expect(page.locator("h1 + .badges [data-testid=state]")).to_have_attribute("data-state", value)


def do(page, action: str, **fields: str) -> None:
    form = page.get_by_test_id(f"action-{action}")
    for name, value in fields.items():
        field = form.locator(f"[name={action}-{name}]")
        kind = field.first.get_attribute("type")
        if kind == "radio":
            form.locator(f"input[name={action}-{name}][value={value}]").check()
        else:
            field.fill(value)
    # Wait for the POST and its redirect to finish: the next step may switch users and
    # clear the cookies, which must not race the request.
    with page.expect_navigation():
        form.get_by_test_id(f"do-{action}").click()


def make_call(world, lists, *, upto: list[tuple[str, str, dict]]) -> Call:
    item = catalog_selectors.item_get(version=lists.version, code="D1-01")
    call, _ = services.call_create(
        actor=as_(world, "reporter"),
        caller=world.orgs["t1"],
        draft=CallDraft(
            title="河道旁企业堆放易燃物",
            description="需要县应急局处置。",
            location=world.t1,
            item=item,
        ),
    )
    for key, action, data in upto:
        services.call_transition(actor=as_(world, key), call=call, action=action, data=data)
    return call


def test_the_whole_loop_through_the_screens(page, phone_page, world, lists, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # The reporter files a call on the phone.
    phone = phone_page
    login(phone, "reporter", PASSWORD)
    phone.goto("/calls/")
    screenshot(phone, "calls-list-phone-empty")
    phone.get_by_test_id("new-call").click()
    expect(phone.get_by_test_id("call-form")).to_be_visible()
    phone.get_by_test_id("save-call").click()  # empty: errors next to the fields
    expect(phone.get_by_test_id("error-title")).to_be_visible()
    assert Call.objects.count() == 0
    phone.fill("#id_title", "某企业违规存放易燃物品")
    phone.fill("#id_description", "王庄镇1村某厂房内堆放大量易燃物品，存在安全隐患。")
    phone.select_option("#id_item", label="D1-01 工矿商贸企业安全生产监管")
    phone.fill("#id_address", "王庄镇1村东头厂房")
    assert phone.evaluate(OVERFLOW_JS) <= 0
    phone.set_input_files(
        "#id_photos", {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    screenshot(phone, "calls-new-phone")
    phone.get_by_test_id("save-call").click()
    state(phone, "draft")
    expect(phone.get_by_test_id("item")).to_contain_text("D1-01")
    photo = phone.get_by_test_id("event-photo")
    expect(photo).to_be_visible()
    # The image loads asynchronously: wait for it rather than reading it at once.
    photo.evaluate(
        "img => img.complete ? null : new Promise(r => { img.onload = img.onerror = r; })"
    )
    assert photo.evaluate("img => img.naturalWidth") == 1
    call = Call.objects.get()
    url = f"/calls/{call.pk}/"
    do(phone, "submit")
    state(phone, "submitted")
    assert phone.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone, "calls-detail-phone-submitted")

    # The township leader approves; the operator accepts and dispatches as suggested.
    switch(page, "tleader")
    page.goto(url)
    do(page, "approve")
    state(page, "approved")
    switch(page, "operator")
    page.goto("/calls/")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    screenshot(page, "calls-list-operator")
    page.get_by_role("link", name="某企业违规存放易燃物品").click()
    do(page, "accept")
    state(page, "accepted")
    lead = page.locator("[name=dispatch-lead]")
    expect(lead).to_have_value(str(world.orgs["dept"].pk))
    screenshot(page, "calls-detail-dispatch")
    do(page, "dispatch")
    state(page, "dispatched")

    # The department signs, responds on site, completes.
    switch(page, "handler")
    page.goto("/calls/?tab=to_sign")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    page.goto(url)
    do(page, "sign")
    state(page, "signed")
    do(page, "respond", mode="on_site")
    state(page, "in_progress")
    do(page, "complete", result="已责令企业清理易燃物品并整改到位。")
    state(page, "awaiting_evaluation")

    # The reporter is unsatisfied: the call is reopened.
    phone.goto(url)
    do(phone, "evaluate", evaluation="unsatisfied", resolved="no", comment="现场仍有堆放")
    state(phone, "reopened")

    switch(page, "handler")
    page.goto(url)
    do(page, "respond", mode="contact")
    do(page, "complete", result="已全部清运，附整改照片。")
    state(page, "awaiting_evaluation")

    phone.goto(url)
    do(phone, "evaluate", evaluation="satisfied", resolved="yes")
    state(phone, "closed")
    actions = [e.get_attribute("data-action") for e in phone.get_by_test_id("event").all()]
    assert actions == [
        "create",
        "submit",
        "approve",
        "accept",
        "dispatch",
        "sign",
        "respond",
        "complete",
        "evaluate",
        "respond",
        "complete",
        "evaluate",
    ]
    expect(phone.get_by_test_id("timeline")).to_contain_text("现场仍有堆放")
    assert phone.evaluate(OVERFLOW_JS) <= 0
    screenshot(phone, "calls-detail-phone-closed")
    page.goto(url)
    screenshot(page, "calls-detail-closed")


def test_return_refused_and_ruled(page, world, lists):
    dept = world.orgs["dept"].pk
    call = make_call(
        world,
        lists,
        upto=[
            ("reporter", "submit", {}),
            ("tleader", "approve", {}),
            ("operator", "accept", {}),
            ("operator", "dispatch", {"lead": dept}),
        ],
    )
    url = f"/calls/{call.pk}/"
    switch(page, "handler")
    page.goto(url)
    do(page, "request_return", reason="不属于本部门职责")
    state(page, "return_requested")
    switch(page, "operator")
    page.goto("/calls/?tab=disputes")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    page.goto(url)
    do(page, "refuse_return", reason="清单明确应急管理局为主体责任部门")
    state(page, "disputed")
    expect(page.locator("[name=rule-lead]")).to_have_value(str(dept))
    do(page, "rule", reason="按清单由应急管理局办理")
    state(page, "dispatched")
    expect(page.get_by_test_id("timeline")).to_contain_text("不属于本部门职责")
    screenshot(page, "calls-detail-ruled")


def test_an_extension_asked_and_approved(page, world, lists):
    call = make_call(
        world,
        lists,
        upto=[
            ("reporter", "submit", {}),
            ("tleader", "approve", {}),
            ("operator", "accept", {}),
            ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
            ("handler", "sign", {}),
            ("handler", "respond", {"mode": "on_site"}),
        ],
    )
    url = f"/calls/{call.pk}/"
    before = call.dispatches.get().complete_due
    switch(page, "handler")
    page.goto(url)
    do(page, "request_extension", days="3", reason="需委托第三方检测")
    expect(page.locator(".message-success")).to_be_visible()
    switch(page, "operator")
    page.goto(url)
    form = page.get_by_test_id("action-decide_extension")
    form.locator("[name=decide_extension-reason]").fill("同意延期")
    form.get_by_test_id("decide_extension-approve").click()
    expect(page.locator(".message-success")).to_be_visible()
    assert call.dispatches.get().complete_due > before
    expect(page.locator("[data-action=decide_extension]")).to_contain_text("3")
    screenshot(page, "calls-detail-extension")


def test_a_two_way_call_to_a_township(page, world, lists):
    t1 = world.orgs["t1"]
    switch(page, "handler")
    page.goto(f"/calls/new/?callee={t1.pk}")
    expect(page.locator("#id_callee")).to_have_value(str(t1.pk))
    page.fill("#id_title", "配合开展企业安全检查")
    page.fill("#id_description", "请王庄镇配合开展辖区企业安全生产检查。")
    page.select_option("#id_item", label="D1-01 工矿商贸企业安全生产监管")
    screenshot(page, "calls-new-two-way")
    page.get_by_test_id("save-call").click()
    state(page, "draft")
    expect(page.get_by_test_id("flag-two-way")).to_be_visible()
    url = page.url
    do(page, "submit")
    state(page, "submitted")
    switch(page, "dleader")
    page.goto(url)
    do(page, "approve")
    switch(page, "operator")
    page.goto(url)
    do(page, "accept")
    expect(page.locator("[name=dispatch-lead]")).to_have_value(str(t1.pk))
    do(page, "dispatch")
    state(page, "dispatched")
    switch(page, "reporter")
    page.goto(url)
    do(page, "sign")
    state(page, "signed")
    expect(page.get_by_test_id("dispatch").first).to_contain_text("王庄镇")
    assert re.search(r"/calls/\d+/$", url)
