"""Who sees which call."""

from __future__ import annotations

import pytest

from tests.calls.conftest import as_
from xianghu.calls.models import Call
from xianghu.core import access


@pytest.fixture
def dispatched(world, act, new_call):
    call = new_call(code="D1-04-2")
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


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("reporter", True),
        ("tleader", True),
        ("village_reporter", True),  # village staff act for their township
        ("reporter_t2", False),
        ("operator", True),
        ("assessor", True),
        ("handler", True),  # lead
        ("police_leader", True),  # assisting
        ("agency_handler", True),  # a 派出所 of the assisting 公安局
        ("bianban", False),
        ("operator_b", False),
        ("reporter_b", False),
        ("citizen", False),
        ("nomember", False),
        ("admin", True),
    ],
)
def test_who_sees_a_dispatched_call(world, dispatched, user, sees):
    actor = as_(world, user)
    visible = access.visible(actor, Call.objects.all())
    assert (dispatched in visible) is sees
    assert access.can(actor, "view", dispatched) is sees
    assert visible.count() == (1 if sees else 0)  # no duplicates from the joins
