"""Helpers for the assessment tests: calls driven through the workflow with explicit
times (`at=`), on the statutory calendar of 2024–2025."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.calls.conftest import act, as_, new_call  # noqa: F401  (fixtures)
from xianghu.calls import services
from xianghu.calls.models import Call
from xianghu.core.workdays import seed_from_chinesecalendar

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    """A moment in Asia/Shanghai."""
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def calendar(db):
    seed_from_chinesecalendar(years=[2024, 2025])


@pytest.fixture
def step(world):
    """step(user_key or None, call, action, when, **data) → the event."""

    def run(key: str | None, call: Call, action: str, when: datetime, **data: Any):
        actor = None if key is None else as_(world, key)
        return services.call_transition(actor=actor, call=call, action=action, data=data, at=when)

    return run


@pytest.fixture
def sent(world, new_call, step, calendar):  # noqa: F811
    """A call of 王庄镇 (t1) on `code`, submitted, approved and accepted at `when`, and
    dispatched then to `lead` (default 应急管理局) unless `lead=None`."""

    def make(when: datetime, *, code: str | None = "D1-01", lead: str | None = "dept", **kw: Any):
        call = new_call(code=code, **kw)
        step("reporter", call, "submit", when)
        step("tleader", call, "approve", when)
        step("operator", call, "accept", when)
        if lead is not None:
            step("operator", call, "dispatch", when, lead=world.orgs[lead].pk)
        return call

    return make
