"""Helpers of the training tests: play a practice call through the whole loop with the
real call services, as the practice identities."""

from __future__ import annotations

from typing import Any

import pytest

from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.regions.selectors import actor_for_user
from xianghu.training.models import PracticeIdentity, PracticeRole, Sandbox


def as_role(sandbox: Sandbox, role: str) -> Any:
    return actor_for_user(user=PracticeIdentity.objects.get(sandbox=sandbox, role=role).user)


def lead_of(call: Call) -> int:
    """The list's primary department of the call's item (what the guide tells to pick)."""
    assert call.item is not None
    return call.item.parties.get(role="primary").organisation_id


def play_loop(sandbox: Sandbox, call: Call) -> Call:
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (PracticeRole.TOWNSHIP_STAFF, "submit", {}),
        (PracticeRole.TOWNSHIP_LEADER, "approve", {}),
        (PracticeRole.PLATFORM_OPERATOR, "accept", {}),
        (PracticeRole.PLATFORM_OPERATOR, "dispatch", {"lead": lead_of(call)}),
        (PracticeRole.DEPARTMENT_HANDLER, "sign", {}),
        (PracticeRole.DEPARTMENT_HANDLER, "respond", {"mode": "contact"}),
        (PracticeRole.DEPARTMENT_HANDLER, "complete", {"result": "已设置警示牌并劝离。"}),
        (
            PracticeRole.TOWNSHIP_LEADER,
            "evaluate",
            {"evaluation": "satisfied", "resolved": "yes"},
        ),
    ]
    for role, action, data in steps:
        call_services.call_transition(
            actor=as_role(sandbox, role), call=call, action=action, data=data
        )
    call.refresh_from_db()
    return call


@pytest.fixture
def trainee(world: Any) -> Any:
    return world.users["reporter"]
