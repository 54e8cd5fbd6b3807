from __future__ import annotations

from typing import Any

import pytest

from xianghu.calls import services
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.regions.selectors import actor_for_user


def as_(world: Any, key: str):
    return actor_for_user(user=world.users[key])


@pytest.fixture
def act(world):
    """act(user_key, call, action, **data) → the event (the call is refreshed)."""

    def run(key: str | None, call, action: str, **data: Any):
        actor = None if key is None else as_(world, key)
        return services.call_transition(actor=actor, call=call, action=action, data=data)

    return run


@pytest.fixture
def new_call(world, lists):
    """A draft call of 王庄镇 (t1) on item `code` of the county list in force."""

    def make(code: str | None = "D1-01", key: str = "reporter", **kw: Any):
        item = catalog_selectors.item_get(version=lists.version, code=code) if code else None
        draft = CallDraft(
            title=kw.pop("title", "某企业违规存放易燃物品"),
            description=kw.pop("description", "王庄镇1村某厂房内堆放大量易燃物品，存在安全隐患。"),
            location=kw.pop("location", world.t1),
            item=item,
            **kw,
        )
        call, _created = services.call_create(
            actor=as_(world, key), caller=kw.pop("caller", world.orgs["t1"]), draft=draft
        )
        return call

    return make
