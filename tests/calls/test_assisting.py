"""Assisting departments (协办): a party of their own that signs for its dispatch record
and adds progress notes; their clocks close when the lead completes and restart with a
reopened call."""

from __future__ import annotations

import re

import pytest

from tests.calls.conftest import as_
from xianghu.calls.models import Dispatch, DispatchRole
from xianghu.calls.parties import parties_of
from xianghu.calls.workflow import Party, State, replay
from xianghu.core.errors import Conflict, PermissionDenied

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(world, act, new_call):
    """A call on D1-04-2 (primary 应急管理局, assisting 公安局) dispatched to both."""
    call = new_call("D1-04-2")
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act(
        "operator",
        call,
        "dispatch",
        lead=world.orgs["dept"].pk,
        assisting=[world.orgs["police"].pk],
    )
    return call


def assisting(call) -> Dispatch:
    return Dispatch.objects.get(call=call, role=DispatchRole.ASSISTING, active=True)


def lead(call) -> Dispatch:
    return Dispatch.objects.get(call=call, role=DispatchRole.LEAD, active=True)


def replays(call) -> bool:
    return replay([(e.action, e.data) for e in call.events.order_by("seq")]) == call.state


def test_the_assisting_department_and_its_agencies_are_the_assisting_party(world, call):
    for key in ("police_leader", "agency_handler"):
        assert parties_of(actor=as_(world, key), call=call) == {Party.ASSISTING}
    assert parties_of(actor=as_(world, "handler"), call=call) == {Party.LEAD}
    assert Party.ASSISTING not in parties_of(actor=as_(world, "operator"), call=call)


def test_the_assisting_department_signs_for_its_own_record(world, act, call):
    assert assisting(call).sign_due is not None
    event = act("police_leader", call, "assist_sign")
    assert call.state == State.DISPATCHED  # the lead still has to sign
    assert event.party == Party.ASSISTING
    assert event.actor_org == world.orgs["police"]
    assert event.from_state == event.to_state == State.DISPATCHED
    assert event.data == {"organisations": [world.orgs["police"].pk]}
    assert assisting(call).signed_at == event.at
    assert lead(call).signed_at is None
    with pytest.raises(Conflict) as exc:
        act("agency_handler", call, "assist_sign")
    assert exc.value.code == "call.already_signed"
    assert replays(call)


def test_the_assisting_department_cannot_take_the_leads_steps(world, act, call):
    count = call.events.count()
    for action, data in (
        ("sign", {}),
        ("request_return", {"reason": "不归我们"}),
    ):
        with pytest.raises(PermissionDenied) as exc:
            act("police_leader", call, action, **data)
        assert exc.value.code == "call.not_a_party"
    act("handler", call, "sign")
    with pytest.raises(PermissionDenied):
        act("police_leader", call, "respond", mode="contact")
    # Nor can the lead sign for the assisting department.
    with pytest.raises(PermissionDenied):
        act("handler", call, "assist_sign")
    assert call.events.count() == count + 1
    assert assisting(call).signed_at is None


def test_notes_of_the_assisting_department_respond_once_signed(world, act, call):
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    count = call.events.count()
    with pytest.raises(Conflict) as exc:
        act("police_leader", call, "note", text="已派员")
    assert exc.value.code == "call.sign_first"
    assert call.events.count() == count
    act("agency_handler", call, "assist_sign")
    note = act("agency_handler", call, "note", text="派出所已派员协助现场处置")
    assert note.party == Party.ASSISTING
    assert assisting(call).responded_at == note.at
    act("police_leader", call, "note", text="第二条进展")
    assert assisting(call).responded_at == note.at  # the first one counts
    # The lead's notes change no assisting clock, and the call stays where it was.
    act("handler", call, "note", text="主办进展")
    assert call.state == State.IN_PROGRESS
    assert replays(call)


def test_the_leads_completion_closes_the_assisting_clocks(world, act, call):
    act("handler", call, "sign")
    act("handler", call, "respond", mode="on_site")
    done = act("handler", call, "complete", result="已联合查处")
    d = assisting(call)
    assert d.completed_at == done.at
    assert d.signed_at is None  # never signed: the record says so
    assert call.next_deadline is None
    # A reopened call restarts them with the lead's.
    again = act("reporter", call, "evaluate", evaluation="unsatisfied", resolved="no")
    d.refresh_from_db()
    assert call.state == State.REOPENED
    assert d.completed_at is None
    assert d.responded_at is None
    assert d.complete_due == lead(call).complete_due
    assert d.complete_due > again.at
    act("police_leader", call, "assist_sign")  # signing is still open to them
    act("handler", call, "respond", mode="contact")
    final = act("handler", call, "complete", result="已全部整改")
    assert assisting(call).completed_at == final.at
    assert replays(call)


def test_after_completion_the_assisting_department_has_nothing_to_sign(world, act, call):
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已处理")
    with pytest.raises(Conflict) as exc:
        act("police_leader", call, "assist_sign")
    assert exc.value.code == "call.action_not_allowed"


def test_a_department_not_dispatched_is_no_party(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    with pytest.raises(PermissionDenied) as exc:
        act("police_leader", call, "assist_sign")
    assert exc.value.code == "call.not_a_party"


def test_a_released_assisting_department_is_no_longer_a_party(world, act, call):
    act("handler", call, "request_return", reason="非本部门职责")
    act("operator", call, "agree_return", reason="同意退回")
    assert call.state == State.ACCEPTED
    assert parties_of(actor=as_(world, "police_leader"), call=call) == set()


def action_forms(html: str) -> set[str]:
    return set(re.findall(r'data-testid="action-([a-z_]+)"', html))


def test_the_call_page_offers_the_assisting_steps(world, client, act, call):
    world.login(client, "police_leader")
    page = client.get(f"/calls/{call.pk}/")
    assert page.status_code == 200
    assert action_forms(page.content.decode()) == {"assist_sign"}
    r = client.post(
        f"/calls/{call.pk}/act/assist_sign/", {"assist_sign-expected_state": "dispatched"}
    )
    assert r.status_code == 302
    assert assisting(call).signed_at is not None
    assert action_forms(client.get(f"/calls/{call.pk}/").content.decode()) == set()
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    assert action_forms(client.get(f"/calls/{call.pk}/").content.decode()) == {"note"}
    r = client.post(
        f"/calls/{call.pk}/act/note/",
        {"note-expected_state": "in_progress", "note-text": "协办进展"},
    )
    assert r.status_code == 302
    assert assisting(call).responded_at is not None
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert "协办进展" in html
