"""The inbox: who is told about which call event, once; only one's own notifications."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from tests.calls import conftest as calls_conftest
from xianghu.calls import notifying
from xianghu.calls.models import CallEvent
from xianghu.notify.context_processors import unread
from xianghu.notify.models import Notification

# The calls suite's fixtures (a draft call, taking an action).
act = calls_conftest.act
new_call = calls_conftest.new_call


def _told(world, event) -> set[str]:
    names = {v.pk: k for k, v in world.users.items()}
    return {
        names[n.user_id] for n in Notification.objects.filter(source_key=f"call-event:{event.pk}")
    }


def _dispatched(world, act, new_call, capture):
    call = new_call()
    with capture(execute=True):
        act("reporter", call, "submit")
    with capture(execute=True):
        act("tleader", call, "approve")
    with capture(execute=True):
        act("operator", call, "accept")
    with capture(execute=True):
        act("operator", call, "dispatch", lead=world.orgs["dept"].pk, assisting=[])
    return call


def test_recipients_per_action(world, act, new_call, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    call = _dispatched(world, act, new_call, capture)
    events = {e.action: e for e in call.events.all()}
    # submit → the calling township's leaders (not the reporter who acted).
    assert _told(world, events["submit"]) == {"tleader"}
    # approve → the county's platform operators, not the other county's.
    assert _told(world, events["approve"]) == {"operator"}
    # accept → the caller's staff.
    assert _told(world, events["accept"]) == {"reporter", "tleader"}
    # dispatch → the dispatched department's staff, leaders included.
    assert _told(world, events["dispatch"]) == {"handler", "dleader"}
    with capture(execute=True):
        sign = act("handler", call, "sign")
    assert _told(world, sign) == {"reporter", "tleader"}
    with capture(execute=True):
        ret = act("handler", call, "request_return", reason="不属于本部门职责")
    assert _told(world, ret) == {"operator"}

    note = Notification.objects.get(
        source_key=f"call-event:{events['dispatch'].pk}", user=world.users["handler"]
    )
    assert call.number in note.title
    assert note.url == f"/calls/{call.pk}/"
    assert note.kind == "call.dispatch"
    assert call.title in note.body


def test_the_same_event_twice_makes_no_second_notification(
    world,
    act,
    new_call,
    django_capture_on_commit_callbacks,
):
    call = new_call()
    with django_capture_on_commit_callbacks(execute=True):
        event = act("reporter", call, "submit")
    assert Notification.objects.filter(source_key=f"call-event:{event.pk}").count() == 1
    again = CallEvent.objects.get(pk=event.pk)
    notifying.on_call_event(again)
    notifying.on_call_event(again)
    assert Notification.objects.filter(source_key=f"call-event:{event.pk}").count() == 1


def test_a_failure_in_notifying_never_reaches_the_call(
    world,
    act,
    new_call,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    def boom(**kwargs):
        raise RuntimeError("inbox down")

    monkeypatch.setattr(notifying.notify_services, "notify", boom)
    call = new_call()
    with django_capture_on_commit_callbacks(execute=True):
        act("reporter", call, "submit")
    call.refresh_from_db()
    assert call.state == "submitted"


def _note(user, key="k1", title="测试通知"):
    return Notification.objects.create(user=user, title=title, body="正文", url="/", source_key=key)


def test_only_own_notifications_are_visible(world, client):
    mine = _note(world.users["handler"], "a", "我的通知")
    theirs = _note(world.users["reporter"], "b", "别人的通知")
    world.login(client, "handler")
    html = client.get("/notifications/").content.decode()
    assert "我的通知" in html
    assert "别人的通知" not in html
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.post(f"/notifications/{mine.pk}/read/").status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_anonymous_users_are_sent_to_login(client):
    assert client.get("/notifications/").status_code == 302
    assert client.get("/notifications/unread/").status_code == 204


def test_mark_read_with_htmx_and_mark_all(world, client):
    user = world.users["handler"]
    first, _second, _third = (_note(user, f"k{i}", f"通知{i}") for i in range(3))
    _note(world.users["reporter"], "other")
    world.login(client, "handler")
    html = client.get("/").content.decode()
    # The page itself pays nothing: the badge is loaded by htmx afterwards.
    assert 'hx-get="/notifications/unread/"' in html
    badge = client.get("/notifications/unread/").content.decode()
    assert 'data-testid="nav-unread"' in badge
    assert ">3</span>" in badge
    r = client.post(f"/notifications/{first.pk}/read/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    body = r.content.decode()
    assert f'id="notification-{first.pk}"' in body
    assert 'hx-swap-oob="true"' in body
    assert ">2</span>" in body
    r = client.post("/notifications/read-all/")
    assert r.status_code == 302
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # the other user's


def test_newest_first_and_paginated(world, client):
    user = world.users["handler"]
    for i in range(25):
        _note(user, f"k{i}", f"第{i}条")
    world.login(client, "handler")
    page = client.get("/notifications/").context["page"]
    assert page.paginator.count == 25
    assert [n.title for n in page.object_list][:2] == ["第24条", "第23条"]
    assert len(client.get("/notifications/?page=2").context["page"].object_list) == 5


def test_unread_count_costs_one_query_and_none_for_anonymous(world, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    _note(world.users["handler"], "x")
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert unread(request) == {}
    request.user = world.users["handler"]
    with django_assert_num_queries(1):
        context = unread(request)
        assert context["notifications_unread"]() == 1
        assert context["notifications_unread"]() == 1


@pytest.mark.parametrize("action", ["yellow_card"])
def test_cards_go_to_the_lead_organisation(
    world,
    act,
    new_call,
    django_capture_on_commit_callbacks,
    action,
):
    capture = django_capture_on_commit_callbacks
    call = _dispatched(world, act, new_call, capture)
    with capture(execute=True):
        event = act(None, call, action)
    assert _told(world, event) == {"handler", "dleader"}
    assert Notification.objects.filter(kind=f"call.{action}").count() == 2
