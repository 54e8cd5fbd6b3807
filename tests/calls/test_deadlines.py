"""Dispatch clocks on the statutory calendar, extensions and their caps, the return
window, and the call's next deadline (for the sweep)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.calls.conftest import as_
from xianghu.calls import deadlines, services
from xianghu.calls.models import Dispatch
from xianghu.core.errors import Conflict, InvalidInput
from xianghu.core.workdays import seed_from_chinesecalendar

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def calendar_2024(db):
    seed_from_chinesecalendar(years=[2024])


@pytest.fixture
def dispatched_at(world, new_call, calendar_2024):
    """A call dispatched to 应急管理局 at a given time (its clocks start then)."""

    def make(when: datetime, urgency: str = "normal", code: str = "D1-01"):
        call = new_call(code=code, urgency=urgency)
        for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
            services.call_transition(actor=as_(world, key), call=call, action=action, at=when)
        services.call_transition(
            actor=as_(world, "operator"),
            call=call,
            action="dispatch",
            data={"lead": world.orgs["dept"].pk},
            at=when,
        )
        return call, Dispatch.objects.get(call=call, role="lead")

    return make


def step(world, key, call, action, when, **data):
    return services.call_transition(
        actor=as_(world, key), call=call, action=action, data=data, at=when
    )


def test_normal_call_over_national_day_and_a_swapped_saturday(world, dispatched_at):
    call, lead = dispatched_at(t(2024, 9, 30, 10, 0))
    assert lead.sign_due == t(2024, 9, 30, 12, 0)  # 2 working hours
    assert lead.respond_due == t(2024, 10, 1, 10, 0)  # 24 clock hours (the item's limit)
    # 5 working days: 10-01..07 are holidays, Saturday 10-12 is a working day.
    assert lead.complete_due == t(2024, 10, 12, 17, 30)
    assert call.next_deadline == lead.sign_due
    step(world, "handler", call, "sign", t(2024, 9, 30, 11, 0))
    call.refresh_from_db()
    assert call.next_deadline == lead.respond_due
    step(world, "handler", call, "respond", t(2024, 9, 30, 15, 0), mode="on_site")
    call.refresh_from_db()
    assert call.next_deadline == lead.complete_due
    step(world, "handler", call, "complete", t(2024, 10, 8, 9, 0), result="已处置")
    call.refresh_from_db()
    assert call.next_deadline is None


def test_urgent_call_runs_on_the_clock(world, dispatched_at):
    _call, lead = dispatched_at(t(2024, 10, 1, 22, 0), urgency="urgent")  # a holiday night
    assert lead.sign_due == t(2024, 10, 1, 22, 30)
    assert lead.respond_due == t(2024, 10, 1, 22, 30)
    assert lead.complete_due == t(2024, 10, 2, 22, 0)


def test_extensions_move_the_deadline_within_the_caps(world, dispatched_at):
    call, lead = dispatched_at(t(2024, 9, 30, 10, 0))
    step(world, "handler", call, "sign", t(2024, 9, 30, 11, 0))
    step(world, "handler", call, "respond", t(2024, 9, 30, 15, 0), mode="contact")
    step(
        world,
        "handler",
        call,
        "request_extension",
        t(2024, 10, 9, 9, 0),
        days=3,
        reason="需第三方检测",
    )
    with pytest.raises(Conflict) as exc:
        step(
            world, "handler", call, "request_extension", t(2024, 10, 9, 9, 5), days=1, reason="再延"
        )
    assert exc.value.code == "call.extension_pending"
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 10, 9, 10, 0),
        approve=True,
        reason="同意",
    )
    lead.refresh_from_db()
    assert lead.complete_due == t(2024, 10, 16, 17, 30)  # 10-14, 15, 16
    assert (lead.extension_count, lead.extension_days) == (1, 3)
    call.refresh_from_db()
    assert call.next_deadline == lead.complete_due
    with pytest.raises(InvalidInput) as exc:  # 3 + 8 > 10 working days in all
        step(world, "handler", call, "request_extension", t(2024, 10, 10, 9, 0), days=8, reason="x")
    assert exc.value.code == "call.extension_cap"
    step(world, "handler", call, "request_extension", t(2024, 10, 10, 9, 0), days=2, reason="补充")
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 10, 10, 10, 0),
        approve=False,
        reason="不同意",
    )
    lead.refresh_from_db()
    assert lead.complete_due == t(2024, 10, 16, 17, 30)  # a refusal moves nothing
    step(world, "handler", call, "request_extension", t(2024, 10, 11, 9, 0), days=2, reason="补充")
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 10, 11, 10, 0),
        approve=True,
        reason="同意",
    )
    with pytest.raises(InvalidInput) as exc:  # two extensions at most
        step(world, "handler", call, "request_extension", t(2024, 10, 12, 9, 0), days=1, reason="x")
    assert exc.value.code == "call.extension_cap"


def test_urgent_calls_are_not_extended(world, dispatched_at):
    call, _lead = dispatched_at(t(2024, 10, 8, 9, 0), urgency="urgent")
    step(world, "handler", call, "sign", t(2024, 10, 8, 9, 10))
    step(world, "handler", call, "respond", t(2024, 10, 8, 9, 20), mode="on_site")
    with pytest.raises(InvalidInput) as exc:
        step(world, "handler", call, "request_extension", t(2024, 10, 8, 10, 0), days=1, reason="x")
    assert exc.value.code == "call.extension_not_allowed"


def test_a_return_must_be_asked_within_its_window(world, dispatched_at):
    call, _lead = dispatched_at(t(2024, 9, 30, 10, 0))
    # One working day from Monday 09-30 ends Tuesday 10-08 17:30 (the holiday week between).
    with pytest.raises(InvalidInput) as exc:
        step(world, "handler", call, "request_return", t(2024, 10, 9, 9, 0), reason="不属于本部门")
    assert exc.value.code == "call.return_window_passed"
    step(world, "handler", call, "request_return", t(2024, 10, 8, 17, 0), reason="不属于本部门")


def test_a_reopened_call_gets_fresh_clocks(world, dispatched_at):
    call, lead = dispatched_at(t(2024, 9, 30, 10, 0))
    step(world, "handler", call, "sign", t(2024, 9, 30, 11, 0))
    step(world, "handler", call, "respond", t(2024, 9, 30, 15, 0), mode="on_site")
    step(world, "handler", call, "complete", t(2024, 10, 8, 9, 0), result="已处置")
    step(
        world,
        "reporter",
        call,
        "evaluate",
        t(2024, 10, 9, 9, 0),
        evaluation="unsatisfied",
        resolved="no",
    )
    lead.refresh_from_db()
    assert lead.responded_at is None
    assert lead.completed_at is None
    assert lead.respond_due == t(2024, 10, 10, 9, 0)  # 24 hours from the reopening
    # 5 working days from Wednesday 10-09: 10, 11, 12 (a working Saturday), 14, 15.
    assert lead.complete_due == t(2024, 10, 15, 17, 30)
    call.refresh_from_db()
    assert call.next_deadline == lead.respond_due


def test_assisting_clocks_do_not_hold_the_calls_next_deadline(world, new_call, calendar_2024):
    call = new_call(code="D1-04-2")
    when = t(2024, 10, 8, 9, 0)
    for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
        services.call_transition(actor=as_(world, key), call=call, action=action, at=when)
    services.call_transition(
        actor=as_(world, "operator"),
        call=call,
        action="dispatch",
        data={"lead": world.orgs["dept"].pk, "assisting": [world.orgs["police"].pk]},
        at=when,
    )
    step(world, "handler", call, "sign", t(2024, 10, 8, 9, 30))
    call.refresh_from_db()
    lead = Dispatch.objects.get(call=call, role="lead")
    assert call.next_deadline == lead.respond_due


# ---- the call's clock columns (deadlines.refresh_call_clocks)


def test_the_reminder_moments_are_set_with_the_deadlines(world, dispatched_at):
    call, _lead = dispatched_at(t(2024, 9, 30, 10, 0))
    call.refresh_from_db()
    # Every clock's reminder moment is computed when its deadline is set (the dispatch),
    # half of it: working time for working limits, clock time otherwise.
    assert call.reminders["sign"] == {
        "deadline": t(2024, 9, 30, 12, 0).isoformat(),
        "at": t(2024, 9, 30, 11, 0).isoformat(),
    }
    assert call.reminders["respond"]["at"] == t(2024, 9, 30, 22, 0).isoformat()
    assert call.reminders["complete"]["at"] == t(2024, 10, 10, 9, 15).isoformat()
    assert call.remind_at == t(2024, 9, 30, 11, 0)  # the running clock's
    step(world, "handler", call, "sign", t(2024, 9, 30, 10, 30))
    call.refresh_from_db()
    assert call.remind_at == t(2024, 9, 30, 22, 0)
    step(world, "handler", call, "respond", t(2024, 9, 30, 15, 0), mode="on_site")
    call.refresh_from_db()
    assert call.remind_at == t(2024, 10, 10, 9, 15)
    step(world, "handler", call, "complete", t(2024, 10, 8, 9, 0), result="已处置")
    call.refresh_from_db()
    assert (call.next_deadline, call.remind_at) == (None, None)


def test_the_platform_clock_is_the_next_deadline_while_the_call_waits(
    world, new_call, calendar_2024
):
    call = new_call()
    step(world, "reporter", call, "submit", t(2024, 9, 23, 9, 0))
    step(world, "tleader", call, "approve", t(2024, 9, 23, 9, 0))
    call.refresh_from_db()
    assert call.next_deadline == call.accept_due == deadlines.next_deadline(call)
    assert call.accept_due == t(2024, 9, 23, 14, 15)
    # No reminder while the call waits for the platform (the system may not remind
    # there), but its moment is recorded.
    assert call.remind_at is None
    assert call.reminders["accept"]["at"] == t(2024, 9, 23, 10, 52, 30).isoformat()
    step(world, "operator", call, "merge", t(2024, 9, 23, 10, 0), into=_other(world, new_call).pk)
    call.refresh_from_db()
    assert (call.state, call.next_deadline, call.remind_at) == ("merged", None, None)
    assert deadlines.next_deadline(call) is None


def _other(world, new_call):
    other = new_call()
    step(world, "reporter", other, "submit", t(2024, 9, 23, 8, 0))
    return other


def test_no_step_is_due_before_the_one_it_follows(world, lists, act, new_call):
    """Dispatched on a Friday afternoon: sign in 2 working hours (Monday morning),
    respond within 24 clock hours (Saturday) — the respond deadline waits for the
    sign-off's, and the completion's for the response's."""
    from xianghu.calls.models import Call

    call = new_call()
    friday = datetime(2026, 11, 27, 15, 53, tzinfo=CST)
    dispatch = Dispatch(call=call, organisation=world.orgs["dept"], dispatched_at=friday)
    call = Call.objects.get(pk=call.pk)
    deadlines.set_dispatch_clocks(dispatch=dispatch, call=call, at=friday)
    assert dispatch.sign_due.astimezone(CST).date().isoformat() == "2026-11-30"
    assert dispatch.sign_due <= dispatch.respond_due <= dispatch.complete_due
