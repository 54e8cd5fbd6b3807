"""The call pages: list, new call, call page with actions and timeline, overdue board."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors

pytestmark = pytest.mark.django_db


def login(world, client, key):
    world.login(client, key)
    return client


def dispatched(new_call, act, world):
    """A call of 王庄镇 on D1-01 dispatched to 应急管理局."""
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    return call


def action_forms(html: str) -> set[str]:
    return set(re.findall(r'data-testid="action-([a-z_]+)"', html))


# ---- the list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "tab"),
    [
        ("reporter", "mine"),
        ("tleader", "mine"),
        ("operator", "to_accept"),
        ("handler", "mine"),
        ("dleader", "mine"),
        ("assessor", "all"),
    ],
)
def test_the_list_renders_with_role_tabs(world, client, lists, new_call, act, user, tab):
    call = dispatched(new_call, act, world)
    login(world, client, user)
    r = client.get("/calls/")
    assert r.status_code == 200
    assert r.context["tab"].key == tab
    if user != "operator":  # the operator's first tab is the acceptance queue
        assert call.number in r.content.decode()


def test_the_operator_tabs_filter_the_queue(world, client, lists, new_call, act):
    waiting = new_call(title="待受理的呼叫")
    act("reporter", waiting, "submit")
    act("tleader", waiting, "approve")
    working = dispatched(new_call, act, world)
    login(world, client, "operator")
    html = client.get("/calls/").content.decode()
    assert waiting.number in html
    assert working.number not in html
    html = client.get("/calls/?tab=in_progress").content.decode()
    assert working.number in html
    assert waiting.number not in html


def test_another_township_does_not_see_the_call_in_its_list(world, client, lists, new_call):
    call = new_call()
    login(world, client, "reporter_t2")
    assert call.number not in client.get("/calls/?tab=mine").content.decode()


def test_the_list_queries_are_pinned(
    world, client, lists, new_call, act, django_assert_max_num_queries
):
    for n in range(25):
        dispatched(new_call, act, world) if n % 5 == 0 else new_call(title=f"呼叫{n}")
    login(world, client, "reporter")
    # The session, the user, the memberships (twice), the page with its leads and its
    # count in one statement, and the session's save (a savepoint, its UPDATE).
    with django_assert_max_num_queries(8):
        r = client.get("/calls/")
    assert r.status_code == 200
    assert len(r.context["rows"]) == 20


def test_the_list_search_answers_htmx(world, client, lists, new_call):
    new_call(title="河道垃圾堆积")
    new_call(title="企业违规存放")
    login(world, client, "reporter")
    r = client.get("/calls/?tab=mine&q=河道", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="call-rows")
    html = r.content.decode()
    assert "河道垃圾堆积" in html
    assert "企业违规存放" not in html
    assert "<html" not in html


# ---- a new call ------------------------------------------------------------------------------


def new_form(client, url="/calls/new/"):
    r = client.get(url)
    assert r.status_code == 200
    return r.context["form"]


def test_a_reporter_files_a_draft(world, client, lists):
    login(world, client, "reporter")
    form = new_form(client)
    item = catalog_selectors.item_get(version=lists.version, code="D1-01")
    r = client.post(
        "/calls/new/",
        {
            "title": "某企业违规存放易燃物品",
            "description": "厂房内堆放大量易燃物品。",
            "location": str(world.t1.pk),
            "urgency": "normal",
            "item": str(item.pk),
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    call = Call.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/calls/{call.pk}/"
    assert call.state == "draft"
    assert call.item == item
    assert call.caller == world.orgs["t1"]


def test_validation_errors_show_next_to_the_fields_and_save_nothing(world, client, lists):
    login(world, client, "reporter")
    form = new_form(client)
    r = client.post(
        "/calls/new/",
        {
            "title": "",
            "description": "有描述",
            "location": str(world.t1.pk),
            "urgency": "normal",
            "latitude": "36.1",
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert 'data-testid="error-title"' in html
    assert 'data-testid="error-latitude"' in html  # the service's rule: both or neither
    assert Call.objects.count() == 0


def test_the_place_must_be_in_the_township(world, client, lists):
    login(world, client, "reporter")
    form = new_form(client)
    r = client.post(
        "/calls/new/",
        {
            "title": "标题",
            "description": "描述",
            "location": str(world.t2.pk),  # not a choice for 王庄镇
            "urgency": "normal",
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    assert 'data-testid="error-location"' in r.content.decode()
    assert Call.objects.count() == 0


def test_a_double_submit_creates_one_call(world, client, lists):
    login(world, client, "reporter")
    key = new_form(client).initial["idempotency_key"]
    data = {
        "title": "重复提交",
        "description": "描述",
        "location": str(world.t1.pk),
        "urgency": "urgent",
        "idempotency_key": key,
    }
    first = client.post("/calls/new/", data)
    second = client.post("/calls/new/", data)
    assert Call.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert Call.objects.get().out_of_list


def test_only_callers_may_open_the_new_call_page(world, client, lists):
    for user, status in [("operator", 403), ("assessor", 403), ("bianban", 403), ("handler", 200)]:
        client.logout()
        login(world, client, user)
        assert client.get("/calls/new/").status_code == status, user


def test_a_department_calls_a_township_for_its_cooperating_duties(world, client, lists):
    login(world, client, "handler")
    t1 = world.orgs["t1"]
    form = new_form(client, f"/calls/new/?callee={t1.pk}")
    assert form.initial["callee"] == str(t1.pk)
    item = catalog_selectors.item_get(version=lists.version, code="D1-01")
    r = client.post(
        f"/calls/new/?callee={t1.pk}",
        {
            "callee": str(t1.pk),
            "title": "配合开展企业安全检查",
            "description": "请王庄镇配合开展辖区企业安全生产检查。",
            "location": str(world.t1.pk),
            "urgency": "normal",
            "item": str(item.pk),
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    assert r.status_code == 302
    call = Call.objects.get()
    assert call.direction == "down"
    assert call.callee == t1


# ---- the call page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user",
    ["reporter", "tleader", "village_reporter", "operator", "handler", "dleader", "assessor"],
)
def test_the_call_page_renders_for_its_parties(world, client, lists, new_call, act, user):
    call = dispatched(new_call, act, world)
    login(world, client, user)
    r = client.get(f"/calls/{call.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert call.number in html
    assert reverse("catalog:item_detail", args=[lists.version.pk, "D1-01"]) in html
    assert html.count('data-testid="event"') == 5


@pytest.mark.parametrize(
    "user", ["reporter_t2", "operator_b", "reporter_b", "police_leader", "citizen"]
)
def test_the_call_page_is_404_for_others(world, client, lists, new_call, act, user):
    call = dispatched(new_call, act, world)
    login(world, client, user)
    assert client.get(f"/calls/{call.pk}/").status_code == 404
    r = client.post(f"/calls/{call.pk}/act/sign/", {"sign-expected_state": "dispatched"})
    assert r.status_code == 404
    assert call.events.count() == 5


@pytest.mark.parametrize(
    ("user", "state_steps", "expected"),
    [
        ("reporter", 0, {"submit", "withdraw"}),
        ("tleader", 0, {"submit", "withdraw"}),
        ("tleader", 1, {"approve", "send_back", "withdraw"}),
        ("reporter", 1, {"withdraw"}),
        ("operator", 2, {"accept", "reject", "merge"}),
        ("operator", 3, {"dispatch", "reject", "merge"}),
        ("handler", 4, {"sign", "request_return"}),
        ("operator", 4, {"merge", "remind", "supervise"}),
        ("reporter", 4, set()),
        ("handler", 6, {"note", "request_extension", "complete"}),
        ("operator", 6, {"note", "decide_extension", "merge", "remind", "supervise"}),
        ("reporter", 7, {"evaluate"}),
    ],
)
def test_action_forms_appear_exactly_for_the_allowed_actions(
    world, client, lists, new_call, act, user, state_steps, expected
):
    call = new_call()
    steps = [
        ("reporter", "submit", {}),
        ("tleader", "approve", {}),
        ("operator", "accept", {}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
        ("handler", "sign", {}),
        ("handler", "respond", {"mode": "on_site"}),
        ("handler", "complete", {"result": "已整改"}),
    ]
    for key, action, data in steps[:state_steps]:
        act(key, call, action, **data)
    login(world, client, user)
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert action_forms(html) == expected


def test_the_dispatch_form_is_prefilled_with_the_suggestion(world, client, lists, new_call, act):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    login(world, client, "operator")
    r = client.get(f"/calls/{call.pk}/")
    [form] = [f for f in r.context["forms"] if f.transition.action == "dispatch"]
    assert form["lead"].value() == str(world.orgs["dept"].pk)


def test_posting_an_action_moves_the_state_and_writes_one_event(world, client, lists, new_call):
    call = new_call()
    login(world, client, "reporter")
    before = call.events.count()
    r = client.post(f"/calls/{call.pk}/act/submit/", {"submit-expected_state": "draft"})
    assert r.status_code == 302
    assert r["Location"] == f"/calls/{call.pk}/"
    call.refresh_from_db()
    assert call.state == "submitted"
    assert call.events.count() == before + 1
    page = client.get(r["Location"]).content.decode()
    assert 'class="message message-success"' in page


def test_a_form_sent_twice_takes_its_step_once(world, client, lists, new_call, act):
    """A note (which does not change the state) posted twice from one rendered form — a
    double click, a resend after a lost answer — is added once."""
    call = new_call()
    for who, action, data in (
        ("reporter", "submit", {}),
        ("tleader", "approve", {}),
        ("operator", "accept", {}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk, "assisting": []}),
        ("handler", "sign", {}),
        ("handler", "respond", {"mode": "contact"}),
    ):
        act(who, call, action, **data)
    login(world, client, "handler")
    page = client.get(f"/calls/{call.pk}/")
    [form] = [f for f in page.context["forms"] if f.transition.action == "note"]
    key = form["submission_key"].value()
    assert key
    assert f'name="note-submission_key" value="{key}"' in page.content.decode()
    post = {"note-expected_state": "in_progress", "note-submission_key": key, "note-text": "已联系"}
    assert client.post(f"/calls/{call.pk}/act/note/", post).status_code == 302
    assert client.post(f"/calls/{call.pk}/act/note/", post).status_code == 302
    assert call.events.filter(action="note").count() == 1
    # The next rendering of the form has a new key: a new note.
    again = client.get(f"/calls/{call.pk}/")
    [fresh] = [f for f in again.context["forms"] if f.transition.action == "note"]
    assert fresh["submission_key"].value() != key


def test_a_stale_expected_state_shows_the_conflict(world, client, lists, new_call, act):
    call = new_call()
    act("reporter", call, "submit")
    login(world, client, "reporter")
    r = client.post(f"/calls/{call.pk}/act/submit/", {"submit-expected_state": "draft"})
    assert r.status_code == 409
    html = r.content.decode()
    assert 'data-testid="conflict"' in html
    assert "待领导审核" in html  # the fresh state
    assert call.events.count() == 2


def test_a_missing_reason_is_shown_on_the_form(world, client, lists, new_call, act):
    call = new_call()
    act("reporter", call, "submit")
    login(world, client, "tleader")
    r = client.post(
        f"/calls/{call.pk}/act/send_back/",
        {"send_back-expected_state": "submitted", "send_back-reason": ""},
    )
    assert r.status_code == 400
    assert 'data-testid="error-reason"' in r.content.decode()
    call.refresh_from_db()
    assert call.state == "submitted"


def test_the_whole_loop_through_the_pages(world, client, lists, new_call):
    call = new_call()
    dept = world.orgs["dept"].pk

    def post(user, action, **data):
        client.logout()
        login(world, client, user)
        call.refresh_from_db()
        payload = {f"{action}-expected_state": call.state}
        payload.update({f"{action}-{k}": v for k, v in data.items()})
        r = client.post(f"/calls/{call.pk}/act/{action}/", payload)
        assert r.status_code == 302, (action, r.content.decode()[:3000])

    post("reporter", "submit")
    post("tleader", "approve")
    post("operator", "accept")
    post("operator", "dispatch", lead=str(dept))
    post("handler", "sign")
    post("handler", "respond", mode="on_site")
    post("handler", "request_extension", days="2", reason="需要第三方检测")
    post("operator", "decide_extension", approve="yes", reason="同意")
    post("handler", "complete", result="已责令整改，联系人13912345678")
    post("reporter", "evaluate", evaluation="satisfied", resolved="yes", comment="很好")
    call.refresh_from_db()
    assert call.state == "closed"
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert "139****5678" in html
    assert "13912345678" not in html
    for user in world.users.values():
        if user.phone:
            assert user.phone not in html


def test_the_call_page_queries_are_pinned(
    world, client, lists, new_call, act, django_assert_max_num_queries
):
    call = dispatched(new_call, act, world)
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    for n in range(10):
        act("handler", call, "note", text=f"进展{n}")
    login(world, client, "operator")
    with django_assert_max_num_queries(16):
        r = client.get(f"/calls/{call.pk}/")
    assert r.status_code == 200


# ---- the overdue board -----------------------------------------------------------------------


def test_the_overdue_board(world, client, lists, new_call, act):
    call = dispatched(new_call, act, world)
    # The clock ran out: the sweep issues its cards.
    from xianghu.calls.supervision import run_sweep

    run_sweep(now=timezone.now() + timedelta(days=30))
    login(world, client, "operator")
    r = client.get("/calls/overdue/")
    assert r.status_code == 200
    html = r.content.decode()
    assert call.number in html
    assert 'data-action="red_card"' in html or 'data-action="yellow_card"' in html
    client.logout()
    login(world, client, "dleader")
    assert client.get("/calls/overdue/").status_code == 200
    for user in ("reporter", "handler", "assessor"):
        client.logout()
        login(world, client, user)
        assert client.get("/calls/overdue/").status_code == 403, user


def test_another_countys_operator_sees_nothing_on_the_board(world, client, lists, new_call, act):
    call = dispatched(new_call, act, world)
    login(world, client, "operator_b")
    r = client.get("/calls/overdue/")
    assert r.status_code == 200
    assert call.number not in r.content.decode()
    assert client.get(f"/calls/{call.pk}/").status_code == 404
