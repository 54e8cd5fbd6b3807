"""The calls REST API (/api/v1/calls/): the whole loop as the users who take each step,
idempotent creation, API keys, visibility, refusals, filters and query counts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.calls.conftest import as_
from tests.catalog.test_api import draft as draft_version
from xianghu.accounts.services import apikey_create
from xianghu.calls import services
from xianghu.calls.models import Call

API = "/api/v1/calls"
ERROR_KEYS = {"code", "message", "detail"}
TOKEN = "a" * 32


def session(world, key: str) -> Client:
    """A browser session of `key` that sends the CSRF token, as the pages do."""
    client = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=TOKEN)
    world.login(client, key)
    client.cookies["csrftoken"] = TOKEN
    return client


def post(client: Client, path: str, body: dict, **headers):
    return client.post(
        f"{API}{path}", data=json.dumps(body), content_type="application/json", **headers
    )


def body(world, lists=None, **kw) -> dict:
    data = {
        "caller_id": world.orgs["t1"].pk,
        "title": "某企业违规存放易燃物品",
        "description": "王庄镇1村某厂房内堆放大量易燃物品，存在安全隐患。",
        "location_code": world.t1.code,
    }
    if lists is not None:
        data["item_id"] = lists.version.items.get(code="D1-01").pk
    data.update(kw)
    return data


def act(client: Client, call_id: int, action: str, expected_state=None, **data):
    payload: dict = {"data": data}
    if expected_state is not None:
        payload["expected_state"] = expected_state
    return post(client, f"/{call_id}/actions/{action}", payload)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.json()
    return response.json()


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json()
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    return error


def ids(response) -> list[int]:
    return [c["id"] for c in ok(response)["items"]]


# ---- the loop ---------------------------------------------------------------------------


def test_the_whole_loop_through_the_api(world, lists):
    reporter, leader = session(world, "reporter"), session(world, "tleader")
    operator, handler = session(world, "operator"), session(world, "handler")

    call = ok(post(reporter, "/", body(world, lists, urgency="normal")), 201)
    assert (call["state"], call["state_label"]) == ("draft", "草稿")
    assert call["number"].startswith("371221")
    assert call["caller"] == {"id": world.orgs["t1"].pk, "name": world.orgs["t1"].name}
    assert (call["location_code"], call["item_code"]) == (world.t1.code, "D1-01")
    assert (call["out_of_list"], call["lead"], call["dispatches"]) == (False, None, [])
    assert [a["action"] for a in call["actions"]] == ["submit", "withdraw"]
    assert call["suggested_dispatch"] is None
    cid = call["id"]

    step = ok(act(reporter, cid, "submit"))
    assert step["call"]["state"] == "submitted"
    assert step["event"]["action"] == "submit"
    assert ok(leader.get(f"{API}/{cid}"))["actions"][0]["action"] == "approve"
    ok(act(leader, cid, "approve", expected_state="submitted"))
    detail = ok(operator.get(f"{API}/{cid}"))
    assert [a["action"] for a in detail["actions"]] == ["accept", "reject", "merge"]
    reject = next(a for a in detail["actions"] if a["action"] == "reject")
    assert reject["requires"] == ["reason"]
    ok(act(operator, cid, "accept"))

    detail = ok(operator.get(f"{API}/{cid}"))
    suggestion = detail["suggested_dispatch"]
    assert suggestion == {
        "lead": {"id": world.orgs["dept"].pk, "name": world.orgs["dept"].name},
        "assisting": [],
    }
    step = ok(
        act(
            operator,
            cid,
            "dispatch",
            lead=suggestion["lead"]["id"],
            assisting=[o["id"] for o in suggestion["assisting"]],
        )
    )
    assert step["call"]["state"] == "dispatched"
    assert step["call"]["lead"] == {"id": world.orgs["dept"].pk, "name": world.orgs["dept"].name}
    assert step["event"]["data"]["changed_from_suggestion"] is False
    assert step["call"]["next_deadline"]

    detail = ok(handler.get(f"{API}/{cid}"))
    assert [a["action"] for a in detail["actions"]] == ["sign", "request_return"]
    assert detail["suggested_dispatch"] is None
    [dispatch] = detail["dispatches"]
    assert dispatch["organisation"]["id"] == world.orgs["dept"].pk
    assert (dispatch["role"], dispatch["active"], dispatch["signed_at"]) == ("lead", True, None)
    assert dispatch["sign_due"] <= dispatch["respond_due"] <= dispatch["complete_due"]

    ok(act(handler, cid, "sign"))
    respond = next(
        a for a in ok(handler.get(f"{API}/{cid}"))["actions"] if a["action"] == "respond"
    )
    assert respond["choices"] == {"mode": ["contact", "on_site"]}
    ok(act(handler, cid, "respond", mode="on_site"))
    ok(act(handler, cid, "complete", result="已督促企业清理易燃物品"))
    step = ok(act(reporter, cid, "evaluate", evaluation="satisfied", resolved="yes"))
    assert (step["call"]["state"], step["call"]["next_deadline"]) == ("closed", None)
    detail = ok(reporter.get(f"{API}/{cid}"))
    assert detail["actions"] == []
    assert detail["dispatches"][0]["completed_at"]

    events = ok(reporter.get(f"{API}/{cid}/events"))
    assert [e["action"] for e in events] == [
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
    assert [e["seq"] for e in events] == list(range(1, 10))
    first, dispatched, last = events[0], events[4], events[-1]
    assert (first["from_state"], first["from_state_label"], first["to_state"]) == (
        "",
        "",
        "draft",
    )
    assert first["actor_name"] == world.users["reporter"].name
    assert first["actor_organisation"]["id"] == world.orgs["t1"].pk
    assert (dispatched["label"], dispatched["party"]) == ("派单", "platform")
    assert dispatched["actor_organisation"]["name"] == world.orgs["platform"].name
    assert (dispatched["from_state_label"], dispatched["to_state_label"]) == (
        "已受理待派单",
        "已派单待签收",
    )
    assert dispatched["data"]["lead"] == world.orgs["dept"].pk
    assert (last["party"], last["to_state"], last["data"]["evaluation"]) == (
        "caller",
        "closed",
        "satisfied",
    )
    # Names, never phone numbers.
    raw = reporter.get(f"{API}/{cid}/events").content.decode()
    for user in world.users.values():
        assert user.phone not in raw


def test_a_name_made_of_digits_is_masked_in_the_timeline(world, lists):
    user = world.users["reporter"]
    user.name, user.username = "", "13912345678"
    user.save()
    reporter = session(world, "reporter")
    call = ok(post(reporter, "/", body(world)), 201)
    [event] = ok(reporter.get(f"{API}/{call['id']}/events"))
    assert event["actor_name"] == "139****5678"


# ---- creating calls ---------------------------------------------------------------------


def test_a_retried_creation_returns_the_same_call(world, lists):
    reporter = session(world, "reporter")
    first = ok(post(reporter, "/", body(world, lists), HTTP_IDEMPOTENCY_KEY="req-1"), 201)
    again = ok(post(reporter, "/", body(world, lists), HTTP_IDEMPOTENCY_KEY="req-1"), 200)
    assert again["id"] == first["id"]
    # The key may also come in the body; it is the same key.
    same = ok(post(reporter, "/", body(world, lists, idempotency_key="req-1")), 200)
    assert same["id"] == first["id"]
    assert Call.objects.count() == 1
    other = post(reporter, "/", body(world, lists, title="别的事"), HTTP_IDEMPOTENCY_KEY="req-1")
    refused(other, 409, "call.idempotency_conflict")
    assert Call.objects.count() == 1
    # Another member of the township retrying the request gets the same call too.
    ok(post(session(world, "tleader"), "/", body(world, lists), HTTP_IDEMPOTENCY_KEY="req-1"))
    # Without a key every request is a new call.
    ok(post(reporter, "/", body(world, lists)), 201)
    ok(post(reporter, "/", body(world, lists)), 201)
    assert Call.objects.count() == 3
    # Header and body must not disagree; a key is at most 64 characters.
    r = post(reporter, "/", body(world, idempotency_key="b"), HTTP_IDEMPOTENCY_KEY="a")
    error = refused(r, 400, "call.invalid")
    assert [p["field"] for p in error["detail"]] == ["idempotency_key"]
    refused(post(reporter, "/", body(world), HTTP_IDEMPOTENCY_KEY="k" * 65), 422, "invalid_input")
    refused(post(reporter, "/", body(world, idempotency_key="k" * 65)), 422, "invalid_input")
    assert Call.objects.count() == 3


def test_a_village_reporter_calls_for_the_township_and_retries_safely(world, lists):
    village = session(world, "village_reporter")
    request = body(world, caller_id=world.orgs["v1"].pk)
    first = ok(post(village, "/", request, HTTP_IDEMPOTENCY_KEY="v-1"), 201)
    assert first["caller"]["id"] == world.orgs["t1"].pk
    again = ok(post(village, "/", request, HTTP_IDEMPOTENCY_KEY="v-1"), 200)
    assert again["id"] == first["id"]
    assert Call.objects.count() == 1


def test_the_call_is_created_outside_any_request_transaction(world, lists, monkeypatch):
    """The service commits before the response is sent: the endpoint must not wrap it
    in a transaction of its own that could still roll back."""
    depth = len(connection.atomic_blocks)  # the test's own transaction
    seen: list[int] = []
    for name in ("call_create", "call_transition"):
        original = getattr(services, name)

        def spy(_original=original, **kw):
            seen.append(len(connection.atomic_blocks))
            return _original(**kw)

        monkeypatch.setattr(services, name, spy)
    reporter = session(world, "reporter")
    call = ok(post(reporter, "/", body(world), HTTP_IDEMPOTENCY_KEY="tx"), 201)
    ok(act(reporter, call["id"], "submit"))
    assert seen == [depth, depth]


def test_a_township_system_calls_with_an_api_key(world, lists):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    system = Client(enforce_csrf_checks=True, HTTP_X_API_KEY=plain)  # keys need no CSRF
    call = ok(post(system, "/", body(world, lists), HTTP_IDEMPOTENCY_KEY="grid-77"), 201)
    assert (
        ok(post(system, "/", body(world, lists), HTTP_IDEMPOTENCY_KEY="grid-77"))["id"]
        == (call["id"])
    )
    assert Call.objects.get(pk=call["id"]).created_by is None
    ok(act(system, call["id"], "submit"))
    events = ok(system.get(f"{API}/{call['id']}/events"))
    assert [(e["actor_name"], e["actor_organisation"]["id"]) for e in events] == [
        (None, world.orgs["t1"].pk),
        (None, world.orgs["t1"].pk),
    ]
    assert ids(system.get(f"{API}/")) == [call["id"]]
    # A key of another county's township sees nothing of it.
    _key, other = apikey_create(
        actor=None, organisation=world.orgs["tb"], role="township_reporter", name="x"
    )
    refused(Client(HTTP_X_API_KEY=other).get(f"{API}/{call['id']}"), 404, "not_found")
    refused(Client().get(f"{API}/"), 401, "auth.required")
    refused(post(Client(), "/", body(world)), 401, "auth.required")


def test_a_department_calls_a_township_for_its_cooperating_duties(world, lists):
    handler = session(world, "handler")
    request = body(
        world,
        lists,
        caller_id=world.orgs["dept"].pk,
        callee_id=world.orgs["t1"].pk,
        title="请协助开展企业隐患排查",
    )
    call = ok(post(handler, "/", request), 201)
    assert (call["direction"], call["callee"]["id"]) == ("down", world.orgs["t1"].pk)
    # Out of the list and without an admission, the guard refuses the call itself.
    del request["item_id"]
    refused(post(handler, "/", request), 403, "guard.out_of_list_without_admission")


def test_a_new_call_is_answered_as_it_is_read_back(world, lists):
    """POST answers a new call from the objects it was made with (not read again): the
    answer is exactly what GET of the call gives the same caller."""
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    cases = [
        (session(world, "reporter"), body(world, lists, urgency="urgent", address="1村东头")),
        (session(world, "reporter"), body(world)),  # outside the list
        (session(world, "village_reporter"), body(world, caller_id=world.orgs["v1"].pk)),
        (
            session(world, "handler"),
            body(world, lists, caller_id=world.orgs["dept"].pk, callee_id=world.orgs["t1"].pk),
        ),
        (Client(HTTP_X_API_KEY=plain), body(world, lists, title="  网格上报：路灯损坏  ")),
    ]
    for client, request in cases:
        created = ok(post(client, "/", request), 201)
        assert created == ok(client.get(f"{API}/{created['id']}"))
        assert created["actions"], created  # a draft can be submitted or withdrawn


def test_creating_a_call_has_a_fixed_number_of_queries(
    world, lists, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    system = Client(HTTP_X_API_KEY=plain)
    ok(post(system, "/", body(world, lists, title="预热")), 201)
    request = body(world, lists)
    # the key; the caller, place and item; the key's call; the list in force; in a
    # savepoint, the call, its number, its event, the routing model, the suggestion, the
    # outbox row. After the commit the effects' probes (the caller's webhooks, the call's
    # ticket) find nothing to do, and the outbox row is deleted.
    with django_assert_max_num_queries(17), django_capture_on_commit_callbacks(execute=True):
        ok(post(system, "/", request, HTTP_IDEMPOTENCY_KEY="q-1"), 201)


def test_session_writes_need_the_csrf_token(world, lists):
    client = Client(enforce_csrf_checks=True)
    world.login(client, "reporter")
    refused(post(client, "/", body(world)), 403, "permission_denied")
    assert Call.objects.count() == 0


def test_creation_validation(world, lists):
    reporter = session(world, "reporter")
    # The body's shape: 422 with the fields.
    r = post(reporter, "/", {"caller_id": world.orgs["t1"].pk, "urgency": "whenever"})
    error = refused(r, 422, "invalid_input")
    assert {e["loc"][-1] for e in error["detail"]} >= {
        "title",
        "description",
        "location_code",
        "urgency",
    }
    # References the caller cannot resolve: 400 with every field.
    r = post(
        reporter,
        "/",
        body(
            world,
            caller_id=world.orgs["dept_b"].pk,  # another county's: invisible
            location_code="999999999",
            item_id=10**9,
            callee_id=10**9,
        ),
    )
    error = refused(r, 400, "call.invalid")
    assert [p["field"] for p in error["detail"]] == ["caller", "location", "item", "callee"]
    assert error["detail"][0]["message"] == "未知单位。"
    r = post(reporter, "/", body(world, location_code=world.county.code))
    assert refused(r, 400, "call.invalid")["detail"][0]["field"] == "location"
    # The rules of a call: every problem at once.
    r = post(
        reporter,
        "/",
        body(world, title="  ", location_code=world.t2.code, latitude="36.1", longitude=None),
    )
    error = refused(r, 400, "call.invalid")
    assert sorted(p["field"] for p in error["detail"]) == ["latitude", "location", "title"]
    # Another organisation of the county, visible but not the caller's own: 403.
    r = post(reporter, "/", body(world, caller_id=world.orgs["t2"].pk))
    refused(r, 403, "call.not_a_caller")
    # An item of a draft list (invisible to townships) and one of the provincial guidance
    # (visible, but not the county's list in force) are refused alike.
    hidden = draft_version(lists).items.get(code="QH-01").pk
    for item_id in (hidden, lists.guidance.items.get(code="D1-01").pk):
        error = refused(post(reporter, "/", body(world, item_id=item_id)), 400, "call.invalid")
        assert error["detail"] == [{"field": "item", "message": "请选择现行清单中的事项。"}]
    # A precise GPS fix is rounded to the six decimals stored.
    r = post(reporter, "/", body(world, latitude="36.12345678", longitude="115.9876543"))
    call = ok(r, 201)
    assert (call["latitude"], call["longitude"]) == (36.123457, 115.987654)
    assert Call.objects.count() == 1


# ---- visibility and refusals -------------------------------------------------------------


@pytest.mark.parametrize("outsider", ["reporter_t2", "operator_b", "reporter_b", "handler"])
def test_outsiders_do_not_see_a_call(world, lists, outsider):
    reporter = session(world, "reporter")
    call = ok(post(reporter, "/", body(world, lists)), 201)
    ok(act(reporter, call["id"], "submit"))
    client = session(world, outsider)
    for path in (f"/{call['id']}", f"/{call['id']}/events"):
        refused(client.get(f"{API}{path}"), 404, "not_found")
    refused(act(client, call["id"], "approve"), 404, "not_found")
    refused(act(client, call["id"], "no_such_action"), 404, "not_found")
    assert call["id"] not in ids(client.get(f"{API}/"))
    refused(client.get(f"{API}/{10**9}"), 404, "not_found")
    # The county's operator and the township's leader do see it.
    assert ids(session(world, "operator").get(f"{API}/")) == [call["id"]]
    assert ids(session(world, "tleader").get(f"{API}/")) == [call["id"]]


def test_refusals_of_actions(world, lists):
    reporter, operator = session(world, "reporter"), session(world, "operator")
    cid = ok(post(reporter, "/", body(world, lists)), 201)["id"]
    # Not possible now: 409 with what is.
    error = refused(act(reporter, cid, "approve"), 409, "call.action_not_allowed")
    assert error["detail"] == {"state": "draft", "allowed": ["submit", "withdraw"]}
    assert "草稿" in error["message"]
    refused(act(reporter, cid, "fly"), 400, "call.unknown_action")
    refused(act(reporter, cid, "create"), 400, "call.unknown_action")
    ok(act(reporter, cid, "submit"))
    # Visible, but not the party the action belongs to: 403.
    refused(act(operator, cid, "approve"), 403, "call.not_a_party")
    refused(act(session(world, "assessor"), cid, "approve"), 403, "call.not_a_party")
    refused(act(reporter, cid, "approve"), 403, "call.not_a_party")
    # Missing fields: 400 with every field.
    error = refused(act(session(world, "tleader"), cid, "send_back"), 400, "call.invalid")
    assert error["detail"] == [{"field": "reason", "message": "此项必填。"}]
    ok(act(session(world, "tleader"), cid, "approve"))
    # The client saw an older state: 409, and nothing is written.
    error = refused(
        act(operator, cid, "accept", expected_state="submitted"), 409, "call.state_changed"
    )
    assert error["detail"]["state"] == "approved"
    refused(act(operator, cid, "accept", expected_state="limbo"), 422, "invalid_input")
    ok(act(operator, cid, "accept", expected_state="approved"))
    # Ids that are not ids; the guard refusing a department the list does not name.
    error = refused(act(operator, cid, "dispatch", lead="应急管理局"), 400, "call.invalid")
    assert error["detail"][0]["field"] == "lead"
    error = refused(act(operator, cid, "dispatch", lead=1, assisting=["x"]), 400, "call.invalid")
    assert error["detail"][0]["field"] == "assisting"
    refused(
        act(operator, cid, "dispatch", lead=world.orgs["police"].pk), 403, "guard.dispatch_refused"
    )
    # The system's own actions are nobody else's (cards reach the platform's own clock too).
    refused(act(operator, cid, "yellow_card"), 403, "call.not_a_party")
    assert [e["action"] for e in ok(operator.get(f"{API}/{cid}/events"))] == [
        "create",
        "submit",
        "approve",
        "accept",
    ]
    # No body is an empty one.
    r = operator.post(f"{API}/{cid}/actions/reject", content_type="application/json")
    assert refused(r, 400, "call.invalid")["detail"][0]["field"] == "reason"


# ---- lists ------------------------------------------------------------------------------


def _make(world, lists, n: int, **kw) -> list[Call]:
    actor = as_(world, kw.pop("key", "reporter"))
    caller = kw.pop("caller", world.orgs["t1"])
    location = kw.pop("location", world.t1)
    code = kw.pop("code", "D1-01")
    item = lists.version.items.get(code=code) if code else None
    calls = []
    for i in range(n):
        draft = services.CallDraft(
            title=kw.get("title", f"第{i}件事"),
            description="说明",
            location=location,
            item=item,
            urgency=kw.get("urgency", "normal"),
        )
        calls.append(services.call_create(actor=actor, caller=caller, draft=draft)[0])
    return calls


def _to_dept(world, call: Call) -> None:
    for key, action, data in [
        ("reporter", "submit", {}),
        ("tleader", "approve", {}),
        ("operator", "accept", {}),
        ("operator", "dispatch", {"lead": world.orgs["dept"].pk}),
    ]:
        services.call_transition(actor=as_(world, key), call=call, action=action, data=data)


def test_list_filters(world, lists):
    drafts = _make(world, lists, 2)
    urgent = _make(world, lists, 1, title="燃气泄漏", urgency="urgent", code=None)[0]
    dispatched = _make(world, lists, 2, code="D1-04-1")
    for call in dispatched:
        _to_dept(world, call)
    services.call_transition(actor=as_(world, "reporter"), call=urgent, action="submit")
    t2 = _make(world, lists, 1, key="reporter_t2", caller=world.orgs["t2"], location=world.t2)[0]
    Call.objects.filter(pk=dispatched[0].pk).update(
        next_deadline=timezone.now() - timedelta(hours=1)
    )
    newest_first = [t2, *reversed(dispatched), urgent, *reversed(drafts)]

    operator = session(world, "operator")
    get = lambda **q: ids(operator.get(f"{API}/", q))  # noqa: E731
    assert get() == [c.pk for c in newest_first]
    assert get(state="draft") == [t2.pk, drafts[1].pk, drafts[0].pk]
    assert get(state="submitted,dispatched") == [dispatched[1].pk, dispatched[0].pk, urgent.pk]
    assert ids(operator.get(f"{API}/?state=submitted&state=dispatched")) == get(
        state="submitted,dispatched"
    )
    refused(operator.get(f"{API}/", {"state": "draft,limbo"}), 422, "invalid_input")
    assert get(urgency="urgent") == [urgent.pk]
    assert get(caller=world.orgs["t2"].pk) == [t2.pk]
    assert get(item="D1-04-1") == [dispatched[1].pk, dispatched[0].pk]
    assert get(overdue="true") == [dispatched[0].pk]
    assert dispatched[0].pk not in get(overdue="false")
    assert get(q="燃气") == [urgent.pk]
    assert get(q=t2.number) == [t2.pk]
    assert get(mine="true") == []  # the platform is neither caller nor handler
    listed = ok(operator.get(f"{API}/", {"item": "D1-04-1"}))["items"][0]
    assert listed["lead"] == {"id": world.orgs["dept"].pk, "name": world.orgs["dept"].name}
    assert listed["overdue"] is False
    assert ok(operator.get(f"{API}/", {"overdue": "true"}))["items"][0]["overdue"] is True

    handler = session(world, "handler")
    assert ids(handler.get(f"{API}/")) == [dispatched[1].pk, dispatched[0].pk]
    assert ids(handler.get(f"{API}/", {"mine": "true"})) == [dispatched[1].pk, dispatched[0].pk]
    reporter = session(world, "reporter")
    assert ids(reporter.get(f"{API}/", {"mine": "true"})) == [c.pk for c in newest_first[1:]]
    village = session(world, "village_reporter")
    assert ids(village.get(f"{API}/", {"mine": "true"})) == [c.pk for c in newest_first[1:]]


def test_the_list_has_a_fixed_number_of_queries(world, lists, django_assert_max_num_queries):
    calls = _make(world, lists, 30)
    for call in calls[:10]:
        _to_dept(world, call)
    operator = session(world, "operator")
    # session, user, memberships (the actor), session touch (3 with its savepoint);
    # count, page, leads
    with django_assert_max_num_queries(9):
        body_ = ok(operator.get(f"{API}/"))
    assert body_["count"] == 30
    assert sum(1 for c in body_["items"] if c["lead"]) == 10
    handler = session(world, "handler")
    with django_assert_max_num_queries(9):
        assert ok(handler.get(f"{API}/", {"mine": "true", "state": "dispatched"}))["count"] == 10
    # the actor and the session as above; the call, its dispatches, the item's parties,
    # the lead (for the parties of the operator), the suggested organisations
    with django_assert_max_num_queries(11):
        ok(operator.get(f"{API}/{calls[0].pk}"))
    # the actor and the session; the call, the events with their people
    with django_assert_max_num_queries(8):
        assert len(ok(operator.get(f"{API}/{calls[0].pk}/events"))) == 5


def test_openapi_schema_lists_the_calls_paths(world, client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert set(paths[f"{API}/"]) == {"get", "post"}
    assert set(paths[f"{API}/{{call_id}}"]) == {"get"}
    assert set(paths[f"{API}/{{call_id}}/events"]) == {"get"}
    assert set(paths[f"{API}/{{call_id}}/actions/{{action}}"]) == {"post"}
    create = paths[f"{API}/"]["post"]
    assert {"200", "201", "400", "409", "422"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert "`dispatch`" in paths[f"{API}/{{call_id}}/actions/{{action}}"]["post"]["description"]


def _in_progress(world, lists) -> tuple[int, dict[str, Client]]:
    """A call as far as `in_progress`, through the API, and the sessions that took it."""
    who = {k: session(world, k) for k in ("reporter", "tleader", "operator", "handler")}
    cid = ok(post(who["reporter"], "/", body(world, lists)), 201)["id"]
    ok(act(who["reporter"], cid, "submit"))
    ok(act(who["tleader"], cid, "approve"))
    ok(act(who["operator"], cid, "accept"))
    ok(act(who["operator"], cid, "dispatch", lead=world.orgs["dept"].pk, assisting=[]))
    ok(act(who["handler"], cid, "sign"))
    ok(act(who["handler"], cid, "respond", mode="contact"))
    return cid, who


def test_a_retried_step_with_its_key_is_taken_once(world, lists):
    cid, who = _in_progress(world, lists)
    handler, operator = who["handler"], who["operator"]
    note = {"data": {"text": "已联系企业负责人"}}
    path = f"/{cid}/actions/note"
    first = ok(post(handler, path, note, HTTP_IDEMPOTENCY_KEY="note-1"))
    # A note does not change the state: without the key a retry would be a second note.
    again = ok(post(handler, path, note, HTTP_IDEMPOTENCY_KEY="note-1"))
    assert again["event"]["seq"] == first["event"]["seq"]
    same = ok(post(handler, path, {**note, "idempotency_key": "note-1"}))
    assert same["event"]["seq"] == first["event"]["seq"]
    call = Call.objects.get(pk=cid)
    assert call.events.filter(action="note").count() == 1
    # Another key is another note; no key, another one again.
    ok(post(handler, path, note, HTTP_IDEMPOTENCY_KEY="note-2"))
    ok(post(handler, path, note))
    assert call.events.filter(action="note").count() == 3

    # A state-changing step retried with its key answers with its event, not 409.
    done = {"data": {"result": "已整改"}, "expected_state": "in_progress"}
    step = ok(post(handler, f"/{cid}/actions/complete", done, HTTP_IDEMPOTENCY_KEY="c-1"))
    retry = ok(post(handler, f"/{cid}/actions/complete", done, HTTP_IDEMPOTENCY_KEY="c-1"))
    assert retry["event"]["seq"] == step["event"]["seq"]
    assert retry["call"]["state"] == "awaiting_evaluation"
    assert call.events.filter(action="complete").count() == 1

    # The key of one step is not the key of another step, nor of another user's.
    r = post(handler, path, note, HTTP_IDEMPOTENCY_KEY="c-1")
    error = refused(r, 409, "call.idempotency_conflict")
    assert error["detail"]["action"] == "complete"
    refused(
        post(operator, path, note, HTTP_IDEMPOTENCY_KEY="note-1"), 409, "call.idempotency_conflict"
    )
    # Header and body must not disagree; a key is at most 64 characters.
    r = post(handler, path, {**note, "idempotency_key": "b"}, HTTP_IDEMPOTENCY_KEY="a")
    assert [p["field"] for p in refused(r, 400, "call.invalid")["detail"]] == ["idempotency_key"]
    refused(post(handler, path, note, HTTP_IDEMPOTENCY_KEY="k" * 65), 422, "invalid_input")
    assert call.events.filter(action="note").count() == 3
