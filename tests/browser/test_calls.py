"""The call pages in a real browser: the whole loop from a reporter's phone to the
closed call (dispatched to a lead and an assisting department, with the inboxes of both),
a return and dispute, an extension, the overdue board with its cards, and a department's
two-way call through the township's response and the department's evaluation.

Steps that may need evidence (an on-site response, a result) always carry a photo, and
the tests turn the requirement on (`XH_EVIDENCE_REQUIRED`), so they hold either way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from tests.factories import PASSWORD
from xianghu.calls import services
from xianghu.calls.integrity import install_append_only_triggers
from xianghu.calls.models import Attachment, Call, DispatchRole
from xianghu.calls.services import CallDraft
from xianghu.calls.supervision import run_sweep
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


@pytest.fixture(autouse=True)
def _evidence(settings, tmp_path):
    """Photos go to a temporary folder; an on-site response and a result need one (the
    live server runs in this process and reads the same settings)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.XH_EVIDENCE_REQUIRED = ["respond:on_site", "complete"]


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


def png_file(name: str = "现场.png") -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": png_bytes()}


def title_of(message: str, call: Call) -> str:
    """A notification's title as the inbox shows it (in Chinese, the default language)."""
    with translation.override("zh-hans"):
        return gettext(message) % {"number": call.number}


def do(page, action: str, *, photos: list[dict] | None = None, **fields: str) -> None:
    form = page.get_by_test_id(f"action-{action}")
    if photos:
        form.locator("input[type=file][name=photos]").set_input_files(photos)
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


def make_call(world, lists, *, upto: list[tuple[str, str, dict]], at=None) -> Call:
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
        at=at,
    )
    for key, action, data in upto:
        services.call_transition(actor=as_(world, key), call=call, action=action, data=data, at=at)
    return call


def inbox_note(page, call: Call, title: str):
    """The user's inbox has the notification `title` about `call`, linking to it."""
    page.goto("/notifications/")
    note = page.get_by_test_id("notification").filter(has_text=title)
    expect(note).to_have_count(1)
    expect(note).to_contain_text(call.title)
    expect(note.get_by_role("link", name=title)).to_have_attribute("href", f"/calls/{call.pk}/")
    return note


def test_the_whole_loop_through_the_screens(page, phone_page, world, lists):
    dept, police = world.orgs["dept"], world.orgs["police"]
    # The reporter files a call on the phone, on an item whose list names a lead
    # (应急管理局) and an assisting department (公安局).
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
    phone.select_option("#id_item", label="D1-04-2 烟花爆竹非法经营储存")
    phone.fill("#id_address", "王庄镇1村东头厂房")
    assert phone.evaluate(OVERFLOW_JS) <= 0
    phone.set_input_files(
        "#id_photos", {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    screenshot(phone, "calls-new-phone")
    phone.get_by_test_id("save-call").click()
    state(phone, "draft")
    expect(phone.get_by_test_id("item")).to_contain_text("D1-04-2")
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
    # The list's suggestion fills in the lead and ticks the assisting department.
    lead = page.locator("[name=dispatch-lead]")
    expect(lead).to_have_value(str(dept.pk))
    assisting = page.locator(f"input[name=dispatch-assisting][value='{police.pk}']")
    expect(assisting).to_be_checked()
    expect(page.locator("input[name=dispatch-assisting]:checked")).to_have_count(1)
    screenshot(page, "calls-detail-dispatch")
    do(page, "dispatch")
    state(page, "dispatched")
    rows = page.get_by_test_id("dispatch")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-role", "lead")
    expect(rows.nth(0)).to_have_attribute("data-active", "1")
    expect(rows.nth(0)).to_contain_text("应急管理局")
    expect(rows.nth(1)).to_have_attribute("data-role", "assisting")
    expect(rows.nth(1)).to_have_attribute("data-active", "1")
    expect(rows.nth(1)).to_contain_text("公安局")
    assert sorted(call.dispatches.values_list("organisation_id", "role")) == sorted(
        [(dept.pk, DispatchRole.LEAD), (police.pk, DispatchRole.ASSISTING)]
    )
    screenshot(page, "calls-detail-dispatched-lead-and-assisting")

    # Both departments are told in their inboxes.
    dispatched = title_of("Call %(number)s was dispatched to your organisation", call)
    switch(page, "police_leader")
    inbox_note(page, call, dispatched)
    screenshot(page, "notifications-assisting-department")
    switch(page, "handler")
    note = inbox_note(page, call, dispatched)
    expect(note.get_by_test_id("mark-read")).to_be_visible()  # unread
    note.get_by_role("link", name=dispatched).click()
    state(page, "dispatched")

    # The department signs, responds on site, completes (with photos as evidence).
    page.goto("/calls/?tab=to_sign")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    page.goto(url)
    do(page, "sign")
    state(page, "signed")
    do(page, "respond", mode="on_site", photos=[png_file("到场.png")])
    state(page, "in_progress")
    do(page, "complete", result="已责令企业清理易燃物品并整改到位。", photos=[png_file("整改.png")])
    state(page, "awaiting_evaluation")
    # The reporter is told the result awaits the evaluation.
    switch(page, "reporter")
    inbox_note(
        page, call, title_of("Call %(number)s was completed and awaits your evaluation", call)
    )

    # The reporter is unsatisfied: the call is reopened.
    phone.goto(url)
    do(phone, "evaluate", evaluation="unsatisfied", resolved="no", comment="现场仍有堆放")
    state(phone, "reopened")

    switch(page, "handler")
    page.goto(url)
    do(page, "respond", mode="contact")
    do(page, "complete", result="已全部清运，附整改照片。", photos=[png_file("清运.png")])
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
    # The evidence: the filing's photo, the on-site response's and both results'.
    expect(phone.get_by_test_id("event-photo")).to_have_count(4)
    assert sorted(Attachment.objects.values_list("event__action", "original_name")) == sorted(
        [
            ("create", "现场.png"),
            ("respond", "到场.png"),
            ("complete", "整改.png"),
            ("complete", "清运.png"),
        ]
    )
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
            ("handler", "respond", {"mode": "contact"}),
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


def test_the_overdue_board_shows_late_calls_with_their_cards(page, world, lists):
    # Dispatched a month ago and never signed: every clock has run out.
    late = make_call(
        world,
        lists,
        upto=[
            ("reporter", "submit", {}),
            ("tleader", "approve", {}),
            ("operator", "accept", {}),
            ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
        ],
        at=timezone.now() - timedelta(days=30),
    )
    # A draft has no clock and is never on the board.
    draft = make_call(world, lists, upto=[])
    report = run_sweep()
    assert late.events.filter(action="red_card").exists(), report
    late.refresh_from_db()
    assert late.next_deadline < timezone.now()

    switch(page, "operator")
    page.goto("/calls/overdue/")
    expect(page.get_by_test_id("overdue-title")).to_be_visible()
    row = page.locator(f"[data-testid=board-row][data-number='{late.number}']")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bis-overdue\b"))
    expect(row).to_contain_text(late.title)
    expect(row).to_contain_text("应急管理局")  # the lead
    expect(row.get_by_test_id("due")).to_have_class(re.compile(r"\bis-late\b"))
    expect(row.locator("[data-testid=card][data-action=red_card]")).to_be_visible()
    expect(page.locator(f"[data-testid=board-row][data-number='{draft.number}']")).to_have_count(0)
    screenshot(page, "calls-overdue-board")
    row.get_by_role("link", name=late.title).click()
    state(page, late.state)
    expect(page.get_by_test_id("flag-overdue")).to_be_visible()
    expect(page.locator("[data-testid=event][data-action=red_card]")).to_have_count(1)

    # The late department finds the red card in its inbox.
    switch(page, "handler")
    inbox_note(page, late, title_of("Call %(number)s: red card, the deadline has passed", late))


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
    # The township responds on site and reports the result, with photos.
    do(page, "respond", mode="on_site", photos=[png_file("检查现场.png")])
    state(page, "in_progress")
    do(page, "complete", result="已配合完成辖区企业安全检查。", photos=[png_file("检查记录.png")])
    state(page, "awaiting_evaluation")
    # The calling department evaluates the township's work: the call is closed.
    call = Call.objects.get(pk=int(url.rstrip("/").rsplit("/", 1)[-1]))
    switch(page, "handler")
    inbox_note(
        page, call, title_of("Call %(number)s was completed and awaits your evaluation", call)
    )
    page.goto(url)
    do(page, "evaluate", evaluation="satisfied", resolved="yes", comment="配合及时")
    state(page, "closed")
    actions = [e.get_attribute("data-action") for e in page.get_by_test_id("event").all()]
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
    ]
    expect(page.get_by_test_id("timeline")).to_contain_text("配合及时")
    expect(page.get_by_test_id("event-photo")).to_have_count(2)
    screenshot(page, "calls-detail-two-way-closed")


def test_the_console_filters_by_township_and_item_and_pages_by_keyset(page, world, lists):
    # 23 calls of 王庄镇 waiting for the platform, and one of 柳林镇.
    here = [
        make_call(world, lists, upto=[("reporter", "submit", {}), ("tleader", "approve", {})])
        for _ in range(23)
    ]
    other, _ = services.call_create(
        actor=as_(world, "reporter_t2"),
        caller=world.orgs["t2"],
        draft=CallDraft(title="柳林镇路灯损坏", description="夜间无照明。", location=world.t2),
    )
    switch(page, "operator")
    page.goto("/calls/?tab=all")
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(20)
    expect(page.get_by_test_id("call-count")).to_contain_text("24")
    # The township filter (htmx): only 王庄镇's calls remain.
    page.get_by_test_id("filter-township").select_option(world.t1.code)
    expect(page.locator(f"[data-testid=call-row][data-number='{other.number}']")).to_have_count(0)
    expect(page.get_by_test_id("call-count")).to_contain_text("23")
    screenshot(page, "calls-console-filtered")
    # The next page keeps the filter and shows the last three, the previous one the first 20.
    page.get_by_test_id("next-page").click()
    expect(rows).to_have_count(3)
    expect(page).to_have_url(re.compile(r"township=" + world.t1.code))
    shown = {rows.nth(i).get_attribute("data-number") for i in range(3)}
    assert shown <= {c.number for c in here}
    page.get_by_test_id("previous-page").click()
    expect(rows).to_have_count(20)
    # The item filter: the call of 柳林镇 is outside the list, so 柳林镇 with D1-01 is empty.
    page.goto(f"/calls/?tab=all&township={world.t2.code}&item=D1-01")
    expect(page.get_by_test_id("no-calls")).to_be_visible()
    expect(page.get_by_test_id("filter-item")).to_have_value("D1-01")
