"""Routing wired into the call workflow and pages: decisions recorded when a call is
created and accepted, the accept action that confirms or corrects the item, the
suggestion panel of the new-call form, the platform's panel and the acceptance monitor."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import InvalidInput
from xianghu.routing import selectors
from xianghu.routing.models import RoutingSuggestionLog, SuggestionStage

pytestmark = pytest.mark.django_db

BURNING = {"title": "麦地焚烧秸秆", "description": "王庄镇1村麦地里有人焚烧秸秆，浓烟很大。"}


def item(lists, code):
    return catalog_selectors.item_get(version=lists.version, code=code)


def approved(act, new_call, **kw):
    call = new_call(**kw)
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    return call


# ---- decisions from the workflow -------------------------------------------------------------


def test_creating_a_call_records_the_suggestion_and_the_callers_choice(world, trained, new_call):
    call = new_call(code="D1-01", **BURNING)
    log = RoutingSuggestionLog.objects.get(call=call)
    assert log.stage == SuggestionStage.CALL_FORM
    assert log.status == "ok"
    assert log.chosen_code == "D1-01"
    assert log.suggested_code != "D1-01"  # the text is about burning straw, not D1-01
    assert log.accepted is False
    assert log.created_by == world.users["reporter"]


def test_without_a_model_the_log_says_so_and_counts_nothing(world, lists, new_call):
    call = new_call(code="D1-01")
    log = RoutingSuggestionLog.objects.get(call=call)
    assert (log.status, log.accepted) == ("no_model", None)
    assert selectors.acceptance_of(county=world.county).decided == 0


def test_accept_confirms_or_corrects_the_item(world, lists, trained, act, new_call):
    call = approved(act, new_call, code="D1-01", **BURNING)
    suggested = selectors.route_suggest(
        county=world.county, text=f"{call.title}。{call.description}"
    )
    target = suggested.candidates[0].item
    event = act("operator", call, "accept", item=target.pk)
    call.refresh_from_db()
    assert call.item == target
    assert not call.out_of_list
    expected = {"item": target.code, "item_from": "D1-01", "item_changed": True}
    if target.primary_level == "township":
        # A township's own duty is accepted only as a request for assistance.
        expected["as_assistance"] = True
    assert event.data == expected
    log = RoutingSuggestionLog.objects.get(call=call, stage=SuggestionStage.PLATFORM)
    assert (log.chosen_code, log.accepted) == (target.code, True)


def test_accept_without_an_item_keeps_the_callers_choice(world, lists, act, new_call):
    call = approved(act, new_call, code="D1-01")
    event = act("operator", call, "accept")
    call.refresh_from_db()
    assert call.item.code == "D1-01"
    assert "item_changed" not in event.data


def test_accept_may_put_a_call_outside_the_list(world, lists, act, new_call):
    call = approved(act, new_call, code="D1-01")
    event = act("operator", call, "accept", item=None)
    call.refresh_from_db()
    assert call.item is None
    assert call.out_of_list
    assert event.data["item_from"] == "D1-01"
    assert event.data["item"] is None


@pytest.mark.parametrize("bad", [999999, "abc", -1])
def test_accept_with_an_unknown_item_is_refused_and_changes_nothing(
    world, lists, act, new_call, bad
):
    call = approved(act, new_call, code="D1-01")
    with pytest.raises(InvalidInput) as info:
        act("operator", call, "accept", item=bad)
    assert info.value.code == "call.invalid"
    call.refresh_from_db()
    assert call.state == "approved"
    assert call.item.code == "D1-01"


def test_the_item_of_a_departments_call_cannot_be_changed(world, lists, act, new_call):
    call = approved(act, new_call, code="D1-01")
    Call.objects.filter(pk=call.pk).update(direction="down", callee=world.orgs["t2"])
    with pytest.raises(InvalidInput) as info:
        act("operator", call, "accept", item=item(lists, "D1-04-2").pk)
    assert info.value.detail[0]["field"] == "item"
    call.refresh_from_db()
    assert call.item.code == "D1-01"


# ---- pages ------------------------------------------------------------------------------------


def test_the_suggest_panel(world, client, trained):
    world.login(client, "reporter")
    r = client.get(
        "/routing/suggest/",
        {"title": "焚烧秸秆", "description": "麦地里浓烟", "location": world.t1.pk},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="routing-candidate"' in html
    assert 'data-fill-select="id_item"' in html
    # reading suggestions writes nothing
    assert not RoutingSuggestionLog.objects.exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "As you describe the problem"),
        ({"title": "hello world"}, "no Chinese words"),
        ({"title": "村村村村村村"}, "too repetitive"),
        ({"title": "焚烧秸秆", "target": 'x" onclick="alert(1)'}, 'data-fill-select="id_item"'),
        ({"title": "焚烧秸秆", "location": "abc"}, "routing-candidate"),
    ],
)
def test_the_suggest_panel_on_bad_input(world, client, trained, params, expected):
    world.login(client, "reporter")
    r = client.get("/routing/suggest/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert expected in r.content.decode()


def test_the_suggest_panel_needs_a_government_member(world, client, trained):
    world.login(client, "citizen")
    assert client.get("/routing/suggest/", {"title": "焚烧秸秆"}).status_code == 403
    client.logout()
    assert client.get("/routing/suggest/").status_code == 302


def test_the_new_call_form_has_the_suggestion_slot(world, client, lists):
    world.login(client, "reporter")
    html = client.get("/calls/new/").content.decode()
    assert 'id="routing-suggestions"' in html
    assert "/routing/suggest/" in html


def test_the_platform_sees_suggestions_and_accepts_in_one_click(
    world, client, lists, trained, act, new_call
):
    call = approved(act, new_call, code="D1-01", **BURNING)
    world.login(client, "operator")
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-testid="routing-panel"' in html
    assert 'data-testid="accept-as"' in html
    best = selectors.route_suggest(county=world.county, text=f"{call.title}。{call.description}")
    r = client.post(
        f"/calls/{call.pk}/act/accept/",
        {"accept-expected_state": "approved", "accept-item": best.candidates[0].item.pk},
    )
    assert r.status_code == 302
    call.refresh_from_db()
    assert (call.state, call.item) == ("accepted", best.candidates[0].item)


def test_the_panel_is_only_for_the_platform(world, client, lists, trained, act, new_call):
    call = approved(act, new_call, code="D1-01")
    world.login(client, "tleader")
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-testid="routing-panel"' not in html


def test_the_accept_form_keeps_the_item_when_not_posted(world, client, lists, act, new_call):
    call = approved(act, new_call, code="D1-01")
    world.login(client, "operator")
    r = client.post(f"/calls/{call.pk}/act/accept/", {"accept-expected_state": "approved"})
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.item.code == "D1-01"


def test_the_acceptance_monitor(world, client, lists, trained, act, new_call):
    for _ in range(2):
        call = approved(act, new_call, code="D1-01", **BURNING)
        act("operator", call, "accept")
    world.login(client, "operator")
    r = client.get("/routing/acceptance/")
    assert r.status_code == 200
    report = r.context["report"]
    # two calls: the caller's choice at creation and the platform's at acceptance, each
    assert report.total.decided == 4
    assert report.total.accepted == 0
    assert {row.code for row in report.rows} == {
        RoutingSuggestionLog.objects.filter(call=call).first().suggested_code
    }
    assert 'data-testid="correction"' in r.content.decode()
    with CaptureQueriesContext(connection) as queries:
        client.get("/routing/acceptance/")  # warm (session, cached list)
    first = len(queries)
    for _ in range(3):
        call = approved(act, new_call, code="D1-01", **BURNING)
        act("operator", call, "accept")
    with CaptureQueriesContext(connection) as queries:
        client.get("/routing/acceptance/")
    assert len(queries) == first  # the query count does not grow with the logs


@pytest.mark.parametrize("user", ["reporter", "handler", "citizen"])
def test_the_acceptance_monitor_is_for_the_county_overseers(world, client, lists, user):
    world.login(client, user)
    assert client.get("/routing/acceptance/").status_code == 403


@pytest.mark.parametrize("months", ["0", "abc", "99"])
def test_the_acceptance_monitor_ignores_a_bad_period(world, client, lists, months):
    world.login(client, "bianban")
    r = client.get("/routing/acceptance/", {"months": months})
    assert r.status_code == 200
    assert r.context["months"] == 6


def test_calls_are_created_even_when_routing_cannot_route(world, lists, new_call):
    call = new_call(code=None, title="hello", description="world")
    assert Call.objects.filter(pk=call.pk).exists()
