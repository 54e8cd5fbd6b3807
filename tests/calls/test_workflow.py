"""The workflow table and the transition service: the loop, refusals, replay."""

from __future__ import annotations

from collections import deque

import pytest

from tests.calls.conftest import as_
from xianghu.calls import services
from xianghu.calls.models import CallEvent, Dispatch
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import BY_ACTION, TERMINAL, TRANSITIONS, State, allowed_actions, replay
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied


def test_table_is_closed_and_every_state_is_reachable():
    targets = {t.target for t in TRANSITIONS if t.target} | {
        s for t in TRANSITIONS for s in t.targets
    }
    assert targets <= set(State.values)
    assert {s for t in TRANSITIONS for s in t.sources} <= set(State.values)
    seen, queue = {State.DRAFT}, deque([State.DRAFT])
    while queue:
        state = queue.popleft()
        for t in TRANSITIONS:
            if state in t.sources:
                for nxt in (t.target, *t.targets):
                    if nxt and nxt not in seen:
                        seen.add(nxt)
                        queue.append(nxt)
    assert seen == set(State.values)
    for state in set(State.values) - TERMINAL:
        assert any(BY_ACTION[a].target or BY_ACTION[a].route for a in allowed_actions(state)), state
    for state in TERMINAL:
        assert allowed_actions(state) == []


def dispatch_to_dept(world, act, call):
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    suggestion = services.suggested_dispatch(call=call)
    assert suggestion == {"lead": world.orgs["dept"].pk, "assisting": []}
    return act("operator", call, "dispatch", lead=suggestion["lead"], assisting=[])


def test_the_whole_loop_with_a_reopen(world, act, new_call):
    call = new_call()
    assert call.state == State.DRAFT
    assert call.number.startswith("371221")
    dispatch_to_dept(world, act, call)
    assert call.state == State.DISPATCHED
    act("handler", call, "sign")
    act("handler", call, "respond", mode="on_site")
    act("handler", call, "note", text="已联系企业负责人")
    act("handler", call, "complete", result="已督促企业清理易燃物品")
    act(
        "reporter",
        call,
        "evaluate",
        evaluation="unsatisfied",
        resolved="partly",
        comment="仍有堆放",
    )
    assert call.state == State.REOPENED
    assert call.reopen_count == 1
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已全部清理")
    act("reporter", call, "evaluate", evaluation="satisfied", resolved="yes")
    assert call.state == State.CLOSED
    events = list(call.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.action for e in events][:4] == ["create", "submit", "approve", "accept"]
    assert replay([(e.action, e.data) for e in events]) == call.state
    lead = Dispatch.objects.get(call=call, role="lead")
    assert lead.signed_at
    assert lead.responded_at
    assert lead.completed_at
    dispatch_event = next(e for e in events if e.action == "dispatch")
    assert dispatch_event.actor_org == world.orgs["platform"]
    assert dispatch_event.data["changed_from_suggestion"] is False


def test_an_action_not_allowed_now_names_the_state_and_the_options(world, act, new_call):
    call = new_call()
    with pytest.raises(Conflict) as exc:
        act("handler", call, "sign")
    assert exc.value.code == "call.action_not_allowed"
    assert exc.value.detail == {"state": "draft", "allowed": ["submit", "withdraw"]}
    assert "草稿" in str(exc.value.message)
    assert call.events.count() == 1


@pytest.mark.parametrize(
    ("who", "action"), [("handler", "submit"), ("reporter_t2", "submit"), ("reporter", "approve")]
)
def test_only_the_right_party_acts(world, act, new_call, who, action):
    call = new_call()
    if action == "approve":
        act("reporter", call, "submit")
    with pytest.raises(PermissionDenied) as exc:
        act(who, call, action)
    assert exc.value.code == "call.not_a_party"


def test_required_fields_and_choices(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    with pytest.raises(InvalidInput) as exc:
        act("tleader", call, "send_back", reason="  ")
    assert exc.value.detail == [{"field": "reason", "message": "此项必填。"}]
    call = new_call(title="另一件")
    dispatch_to_dept(world, act, call)
    act("handler", call, "sign")
    with pytest.raises(InvalidInput):
        act("handler", call, "respond", mode="by_pigeon")


def test_the_guard_refuses_a_dispatch_and_nothing_is_written(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    before = call.events.count()
    with pytest.raises(PermissionDenied) as exc:
        act("operator", call, "dispatch", lead=world.orgs["police"].pk)
    assert exc.value.code == "guard.dispatch_refused"
    call.refresh_from_db()
    assert call.state == State.ACCEPTED
    assert call.events.count() == before
    assert not Dispatch.objects.filter(call=call).exists()


def test_changing_the_suggestion_is_recorded(world, act, new_call):
    call = new_call(code="D1-04-2")
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    event = act("operator", call, "dispatch", lead=world.orgs["dept"].pk, assisting=[])
    assert event.data["changed_from_suggestion"] is True  # the list also names 公安局
    assert services.suggested_dispatch(call=call) == {
        "lead": world.orgs["dept"].pk,
        "assisting": [world.orgs["police"].pk],
    }


def test_return_dispute_and_ruling(world, act, new_call):
    call = new_call()
    dispatch_to_dept(world, act, call)
    act("handler", call, "request_return", reason="不属于本部门职责")
    act("operator", call, "refuse_return", reason="清单明确由应急管理局承担主体责任")
    assert call.state == State.DISPUTED
    act("operator", call, "rule", reason="按清单由应急管理局办理")
    assert call.state == State.DISPATCHED
    act("handler", call, "request_return", reason="再次申请")
    act("operator", call, "agree_return", reason="同意退回，重新派单")
    assert call.state == State.ACCEPTED
    assert not Dispatch.objects.filter(call=call, active=True).exists()


def test_township_primary_item_is_flagged_assist_only(world, new_call):
    call = new_call(code="D2-09")
    assert call.assist_only is True
    assert call.out_of_list is False
    outside = new_call(code=None, title="清单外问题")
    assert outside.out_of_list is True


def test_merge_and_withdraw(world, act, new_call):
    first, dup = new_call(), new_call(title="重复反映易燃物品")
    for call in (first, dup):
        act("reporter", call, "submit")
        act("tleader", call, "approve")
    act("operator", dup, "merge", into=first.pk)
    assert (dup.state, dup.merged_into) == (State.MERGED, first)
    with pytest.raises(InvalidInput):
        act("operator", first, "merge", into=dup.pk)  # not into a closed one
    draft = new_call(title="撤回的呼叫")
    act("reporter", draft, "withdraw")
    assert draft.state == State.CANCELLED


def test_two_way_call_for_cooperating_duties(world, act, lists):
    from xianghu.catalog import selectors as cs

    handler = as_(world, "handler")
    item = cs.item_get(version=lists.version, code="D1-01")
    draft = CallDraft(
        title="请协助开展企业隐患排查",
        description="请王庄镇配合摸排辖区企业底数台账。",
        location=world.t1,
        item=item,
        callee=world.orgs["t1"],
    )
    call, created = services.call_create(actor=handler, caller=world.orgs["dept"], draft=draft)
    assert (created, call.direction, call.callee) == (True, "down", world.orgs["t1"])
    act("handler", call, "submit")
    act("dleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["t1"].pk)
    act("reporter", call, "sign")  # the township handles it
    act("reporter", call, "respond", mode="contact")
    act("reporter", call, "complete", result="已完成摸排")
    act("handler", call, "evaluate", evaluation="satisfied", resolved="yes")
    assert call.state == State.CLOSED
    # Out of the list and without an admission, the guard refuses the call itself.
    with pytest.raises(PermissionDenied) as exc:
        services.call_create(
            actor=handler,
            caller=world.orgs["dept"],
            draft=CallDraft(
                title="临时任务",
                description="清单外事项",
                location=world.t1,
                callee=world.orgs["t1"],
            ),
        )
    assert exc.value.code == "guard.out_of_list_without_admission"


def test_bad_drafts_are_refused_with_every_problem(world, new_call):
    with pytest.raises(InvalidInput) as exc:
        services.call_create(
            actor=as_(world, "reporter"),
            caller=world.orgs["t1"],
            draft=CallDraft(
                title="", description="x" * 4001, location=world.t2, urgency="whenever"
            ),
        )
    fields = sorted(p["field"] for p in exc.value.detail)
    assert fields == ["description", "location", "title", "urgency"]


def test_events_are_append_only(world, new_call):
    from django.db import DatabaseError, transaction

    from xianghu.calls.models import AppendOnlyError

    call = new_call()
    event = call.events.get()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        CallEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        CallEvent.objects.filter(pk=event.pk).delete()
    assert CallEvent.objects.get(pk=event.pk).action == "create"


def test_docs_workflow_md_is_generated_from_the_table():
    from pathlib import Path

    from xianghu.calls.diagram import generated_block

    doc = (Path(__file__).resolve().parents[2] / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert generated_block() in doc, "run: manage.py workflow_doc"


def test_malformed_ids_are_refused_not_crashes(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    with pytest.raises(InvalidInput):
        act("operator", call, "dispatch", lead="abc")
    with pytest.raises(InvalidInput):
        act("operator", call, "merge", into="x")


def test_village_staff_retry_finds_the_townships_call(world, lists):
    first, created = services.call_create(
        actor=as_(world, "village_reporter"),
        caller=world.orgs["v1"],
        draft=CallDraft(title="村道积水", description="村口道路积水严重", location=world.t1),
        idempotency_key="v-1",
    )
    again, created_again = services.call_create(
        actor=as_(world, "village_reporter"),
        caller=world.orgs["v1"],
        draft=CallDraft(title="村道积水", description="村口道路积水严重", location=world.t1),
        idempotency_key="v-1",
    )
    assert (created, created_again, again.pk, first.caller) == (
        True,
        False,
        first.pk,
        world.orgs["t1"],
    )
