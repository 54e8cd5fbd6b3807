"""Idempotent creation, replay of random action sequences, concurrent transitions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.calls.conftest import as_
from xianghu.calls import services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import TRANSITIONS, allowed_actions, replay
from xianghu.core.errors import Conflict, DomainError

ALL_ACTIONS = [t.action for t in TRANSITIONS]


def draft(world, **kw):
    return CallDraft(
        title=kw.pop("title", "道路塌陷"),
        description=kw.pop("description", "王庄镇1村村口道路塌陷，影响通行。"),
        location=world.t1,
        **kw,
    )


def test_a_retried_creation_returns_the_same_call(world, lists):
    actor = as_(world, "reporter")
    first, created = services.call_create(
        actor=actor, caller=world.orgs["t1"], draft=draft(world), idempotency_key="req-42"
    )
    again, created_again = services.call_create(
        actor=actor, caller=world.orgs["t1"], draft=draft(world), idempotency_key="req-42"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Call.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        services.call_create(
            actor=actor,
            caller=world.orgs["t1"],
            draft=draft(world, title="别的事"),
            idempotency_key="req-42",
        )
    assert exc.value.code == "call.idempotency_conflict"
    # Without a key every request is a new call.
    services.call_create(actor=actor, caller=world.orgs["t1"], draft=draft(world))
    assert Call.objects.count() == 2


# Who takes each action, and with which data, in the random walks below.
ACTORS = {
    "submit": "reporter",
    "approve": "tleader",
    "send_back": "tleader",
    "accept": "operator",
    "reject": "operator",
    "dispatch": "operator",
    "sign": "handler",
    "assist_sign": "police_leader",
    "request_return": "handler",
    "agree_return": "operator",
    "refuse_return": "operator",
    "rule": "operator",
    "respond": "handler",
    "note": "handler",
    "request_extension": "handler",
    "decide_extension": "operator",
    "complete": "handler",
    "evaluate": "reporter",
    "auto_close": None,
    "merge": "operator",
    "withdraw": "reporter",
    "remind": "operator",
    "yellow_card": None,
    "red_card": None,
    "supervise": "operator",
}


def data_for(world, action, other_call, evaluation):
    return {
        "reason": "理由",
        "lead": world.orgs["dept"].pk,
        "mode": "on_site",
        "text": "进展",
        "days": 2,
        "approve": True,
        "result": "办结",
        "evaluation": evaluation,
        "resolved": "yes",
        "into": other_call.pk,
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=1000),
            st.booleans(),  # mostly an action allowed now, sometimes any action at all
            st.sampled_from(["satisfied", "basically", "unsatisfied"]),
        ),
        max_size=40,
    )
)
def test_replaying_the_log_gives_the_stored_state(world, lists, steps):
    """Random sequences of actions, allowed or not: refused ones leave no trace, and
    the stored state always equals the replay of the events."""
    with transaction.atomic():
        actor = as_(world, "reporter")
        call, _ = services.call_create(actor=actor, caller=world.orgs["t1"], draft=draft(world))
        other, _ = services.call_create(
            actor=actor, caller=world.orgs["t1"], draft=draft(world, title="另一件")
        )
        services.call_transition(actor=actor, call=other, action="submit")
        for pick, any_action, evaluation in steps:
            options = allowed_actions(call.state) if not any_action else ALL_ACTIONS
            if not options:
                break
            action = options[pick % len(options)]
            key = ACTORS[action]
            who = None if key is None else as_(world, key)
            count = call.events.count()
            state = call.state
            try:
                with transaction.atomic():
                    services.call_transition(
                        actor=who,
                        call=call,
                        action=action,
                        data=data_for(world, action, other, evaluation),
                    )
            except DomainError:
                call.refresh_from_db()
                assert call.events.count() == count
                assert call.state == state
            events = list(call.events.order_by("seq").values_list("action", "data", "to_state"))
            assert replay([(a, d) for a, d, _ in events]) == call.state
            assert events[-1][2] == call.state
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("actions", "expected", "loser"),
    [
        (("accept", "accept"), None, "call.action_not_allowed"),
        # Different actions that are both allowed from "approved": the client says which
        # state it saw, and the second one learns that the call has changed.
        (("accept", "reject"), "approved", "call.state_changed"),
    ],
)
def test_two_operators_at_once_one_wins(world, lists, actions, expected, loser):
    if connection.vendor != "postgresql":
        pytest.skip("real row locks need PostgreSQL")
    actor = as_(world, "reporter")
    call, _ = services.call_create(actor=actor, caller=world.orgs["t1"], draft=draft(world))
    services.call_transition(actor=actor, call=call, action="submit")
    services.call_transition(actor=as_(world, "tleader"), call=call, action="approve")
    operator = as_(world, "operator")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(action: str) -> None:
        from django.db import connections

        try:
            barrier.wait()
            services.call_transition(
                actor=operator,
                call=Call.objects.get(pk=call.pk),
                action=action,
                data={"reason": "不属于县级职责"},
                expected_state=expected,
            )
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([loser, "ok"])
    call.refresh_from_db()
    assert call.events.filter(action__in=actions).count() == 1
    assert replay([(e.action, e.data) for e in call.events.order_by("seq")]) == call.state


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_one_call(world, lists):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    actor = as_(world, "reporter")
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def create() -> None:
        from django.db import connections

        try:
            barrier.wait()
            call, _ = services.call_create(
                actor=actor, caller=world.orgs["t1"], draft=draft(world), idempotency_key="same-key"
            )
            ids.append(call.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4
    assert len(set(ids)) == 1
    assert Call.objects.count() == 1
