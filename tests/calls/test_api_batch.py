"""Creating calls in a batch (`POST /api/v1/calls/batch/`): every entry answers as
`POST /calls/` would answer it alone, a refused entry never stops the others, the batch
sent again makes nothing twice, and the batch's calls are written with a few statements
for all of them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.calls.test_api import API, body, ok, post, refused, session
from xianghu.accounts.services import apikey_create
from xianghu.calls import services
from xianghu.calls.models import Call, CallEvent, EventOutbox
from xianghu.notify import services as notify_services
from xianghu.notify.models import Webhook, WebhookDelivery
from xianghu.routing.models import RoutingSuggestionLog

BATCH = "/batch/"


@pytest.fixture
def system(world):
    """The township's grid system, with an API key of 王庄镇 (t1)."""
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="网格平台"
    )
    return Client(HTTP_X_API_KEY=plain)


def entry(world, lists, n: int, **kw) -> dict:
    fields = {
        "title": f"第{n}处易燃物品堆放",
        "description": f"王庄镇1村第{n}处厂房内堆放大量易燃物品，存在安全隐患。",
        "idempotency_key": f"grid-{n}",
        **kw,
    }
    return body(world, lists, **fields)


def batch(client: Client, entries: list[dict], status: int = 200) -> dict:
    return ok(post(client, BATCH, {"calls": entries}), status)


def test_a_batch_makes_each_call_as_a_single_request_would(
    world, lists, system, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = batch(system, [entry(world, lists, n) for n in range(3)])
    assert (answer["created"], answer["existing"], answer["refused"]) == (3, 0, 0)
    assert [r["index"] for r in answer["results"]] == [0, 1, 2]
    assert {r["status"] for r in answer["results"]} == {201}
    calls = Call.objects.order_by("pk")
    assert [r["call"]["id"] for r in answer["results"]] == [c.pk for c in calls]
    assert [c.idempotency_key for c in calls] == ["grid-0", "grid-1", "grid-2"]
    # The same call made alone: the same fields, the same event, the same suggestion.
    with django_capture_on_commit_callbacks(execute=True):
        single = ok(post(system, "/", entry(world, lists, 9)), 201)
    made = answer["results"][0]["call"]
    alike = {"id", "number", "title", "created_at", "state_changed_at"}
    assert {k: v for k, v in made.items() if k not in alike} == {
        k: v for k, v in single.items() if k in made and k not in alike
    }
    for call in Call.objects.all():
        assert (
            call.number == f"{world.county.code}{call.created_at.astimezone():%y%m%d}{call.pk:06d}"
        )
        event = CallEvent.objects.get(call=call)
        assert (event.seq, event.action, event.to_state, event.party) == (
            1,
            "create",
            "draft",
            "caller",
        )
        assert event.actor_org_id == world.orgs["t1"].pk
        assert event.data == {"item": "D1-01", "urgency": "normal"}
        assert RoutingSuggestionLog.objects.filter(call=call).count() == 1
    # What a GET of a batch-made call answers is what the batch answered.
    shown = ok(system.get(f"{API}/{made['id']}"))
    assert {k: shown[k] for k in made} == made
    assert not EventOutbox.objects.exists()


def test_the_batch_sent_again_makes_nothing_twice(world, lists, system):
    entries = [entry(world, lists, n) for n in range(4)]
    first = batch(system, entries)
    again = batch(system, entries)
    assert (again["created"], again["existing"], again["refused"]) == (0, 4, 0)
    assert {r["status"] for r in again["results"]} == {200}
    assert [r["call"]["id"] for r in again["results"]] == [
        r["call"]["id"] for r in first["results"]
    ]
    assert Call.objects.count() == 4
    assert CallEvent.objects.count() == 4
    # A single request with one of the keys answers with the batch's call too.
    single = ok(post(system, "/", entries[2]), 200)
    assert single["id"] == first["results"][2]["call"]["id"]


def test_a_refused_entry_never_stops_the_others(world, lists, system):
    ok(post(system, "/", entry(world, lists, 7)), 201)
    entries = [
        entry(world, lists, 0),
        entry(world, lists, 1, location_code="999999999"),  # an unknown place
        {k: v for k, v in entry(world, lists, 2).items() if k != "idempotency_key"},
        entry(world, lists, 3, caller_id=world.orgs["t2"].pk),  # not the key's township
        {**entry(world, lists, 4), "idempotency_key": "grid-7"},  # grid-7 is another call
        entry(world, lists, 5, title=""),  # the call's own rules
        entry(
            world, lists, 6, item_id=lists.version.items.get(code="D1-04-1").pk, urgency="urgent"
        ),
    ]
    answer = batch(system, entries)
    results = answer["results"]
    assert [r["status"] for r in results] == [201, 400, 400, 403, 409, 400, 201]
    assert (answer["created"], answer["existing"], answer["refused"]) == (2, 0, 5)
    codes = [r["error"]["code"] if r["error"] else None for r in results]
    assert codes == [
        None,
        "call.invalid",
        "call.invalid",
        "call.not_a_caller",
        "call.idempotency_conflict",
        "call.invalid",
        None,
    ]
    assert [p["field"] for p in results[1]["error"]["detail"]] == ["location"]
    assert [p["field"] for p in results[2]["error"]["detail"]] == ["idempotency_key"]
    assert [p["field"] for p in results[5]["error"]["detail"]] == ["title"]
    assert all(r["call"] is None for r in results[1:6])
    assert results[6]["call"]["item_code"] == "D1-04-1"
    assert results[6]["call"]["urgency"] == "urgent"
    assert Call.objects.count() == 3  # grid-7, grid-0, grid-6


def test_a_key_twice_in_one_batch_is_a_retry(world, lists, system):
    same, other = entry(world, lists, 0), entry(world, lists, 1)
    other["idempotency_key"] = "grid-0"
    answer = batch(system, [same, dict(same), other])
    assert [r["status"] for r in answer["results"]] == [201, 200, 409]
    assert answer["results"][1]["call"]["id"] == answer["results"][0]["call"]["id"]
    assert Call.objects.count() == 1


def test_a_key_after_a_refused_entry_is_tried_on_its_own(world, lists, system):
    bad = entry(world, lists, 0, title="")
    good = entry(world, lists, 1, idempotency_key="grid-0")
    answer = batch(system, [bad, good])
    assert [r["status"] for r in answer["results"]] == [400, 201]


def test_village_staff_batch_for_their_township(world, lists):
    client = session(world, "village_reporter")
    caller = world.orgs["v1"].pk
    answer = batch(client, [entry(world, lists, n, caller_id=caller) for n in range(2)])
    assert {r["status"] for r in answer["results"]} == {201}
    assert {c.caller_id for c in Call.objects.all()} == {world.orgs["t1"].pk}
    again = batch(client, [entry(world, lists, n, caller_id=caller) for n in range(2)])
    assert {r["status"] for r in again["results"]} == {200}


def test_the_batch_size_is_bounded(world, lists, system):
    refused(post(system, BATCH, {"calls": []}), 422, "invalid_input")
    entries = [entry(world, lists, n) for n in range(services.BATCH_MAX + 1)]
    refused(post(system, BATCH, {"calls": entries}), 422, "invalid_input")
    refused(post(system, BATCH, {"calls": [{"title": "x"}]}), 422, "invalid_input")
    assert not Call.objects.exists()


def test_a_batch_needs_a_caller(world, lists):
    refused(post(Client(), BATCH, {"calls": [entry(world, lists, 0)]}), 401, "auth.required")


def test_a_concurrent_request_with_a_key_makes_the_batch_go_one_by_one(
    world, lists, system, monkeypatch
):
    first = ok(post(system, "/", entry(world, lists, 1)), 201)
    # As if grid-1 was made by another request after the batch looked its keys up: the
    # batch's INSERT meets the unique key, and every entry is made on its own.
    monkeypatch.setattr(services, "_calls_with_keys", lambda *a, **k: {})
    answer = batch(system, [entry(world, lists, n) for n in range(3)])
    assert [r["status"] for r in answer["results"]] == [201, 200, 201]
    assert answer["results"][1]["call"]["id"] == first["id"]
    assert Call.objects.count() == 3
    assert CallEvent.objects.count() == 3


def test_the_effects_of_a_batch_run_for_the_calls_a_webhook_wants(
    world, lists, system, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notify_services, "_enqueue_delivery", lambda *a, **k: None)
    hook = Webhook.objects.create(
        organisation=world.orgs["t1"], url="https://t.example/", secret="s", events=["call.create"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = batch(system, [entry(world, lists, n) for n in range(3)])
    made = {r["call"]["id"] for r in answer["results"]}
    deliveries = WebhookDelivery.objects.filter(webhook=hook, event="call.create")
    assert deliveries.count() == 3
    assert len(set(deliveries.values_list("event_key", flat=True))) == 3  # one a call
    assert {d.payload["call"]["id"] for d in deliveries} == made
    assert not EventOutbox.objects.exists()


def test_a_batch_costs_the_same_statements_for_5_calls_as_for_30(
    world, lists, system, django_capture_on_commit_callbacks
):
    batch(system, [entry(world, lists, 100)])  # warm

    def statements(numbers: range) -> int:
        entries = [entry(world, lists, n) for n in numbers]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            answer = batch(system, entries)
        assert answer["created"] == len(numbers)
        return len(queries)

    # The key; the callers, places and items; the keys' calls; the list in force; in a
    # savepoint the calls' ids (PostgreSQL) or numbers (SQLite), the calls, their events,
    # the routing model, the outbox rows, the suggestions; after the commit the caller's webhooks, the calls' tickets,
    # one DELETE of the outbox rows.
    # (SQLite takes at most 999 parameters a statement: its INSERTs of more than about 35
    # calls are split.)
    few, many = statements(range(5)), statements(range(5, 35))
    assert few == many
    assert many <= 17


def test_ids_out_of_the_databases_range_are_unknown_not_errors(world, lists, system):
    huge = 2**63
    answer = batch(
        system,
        [
            entry(world, lists, 0, caller_id=huge),
            entry(world, lists, 1, item_id=-huge, callee_id=huge),
            entry(world, lists, 2),
        ],
    )
    assert [r["status"] for r in answer["results"]] == [400, 400, 201]
    assert [p["field"] for p in answer["results"][0]["error"]["detail"]] == ["caller"]
    assert {p["field"] for p in answer["results"][1]["error"]["detail"]} == {"item", "callee"}
    single = refused(post(system, "/", entry(world, lists, 3, caller_id=huge)), 400, "call.invalid")
    assert [p["field"] for p in single["detail"]] == ["caller"]


def test_who_can_make_no_call_is_refused_the_batch(world, lists):
    for key in ("operator", "assessor", "citizen"):
        refused(
            post(session(world, key), BATCH, {"calls": [entry(world, lists, 0)]}),
            403,
            "call.not_a_caller",
        )
    assert not Call.objects.exists()
    # A department's staff may (its entries name the township they call).
    answer = batch(session(world, "handler"), [entry(world, lists, 0)])
    assert answer["results"][0]["error"]["code"] == "call.not_a_caller"  # not its township


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the sequence is PostgreSQL's")
def test_a_call_goes_in_once_with_its_number(world, lists, system):
    """On PostgreSQL a call's id comes from the sequence before its INSERT, so the row is
    written numbered and never updated (an UPDATE would write it and its every index
    entry again)."""

    def writes() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'calls_call'"
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if row else (0, 0)

    before = writes()
    ok(post(system, "/", entry(world, lists, 1)), 201)
    batch(system, [entry(world, lists, n) for n in range(2, 6)])
    after = writes()
    assert (after[0] - before[0], after[1] - before[1]) == (5, 0)
    for call in Call.objects.all():
        assert call.number.endswith(f"{call.pk:06d}")
