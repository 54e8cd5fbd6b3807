"""The supervision sweep (督办): reminders, yellow and red cards on the statutory calendar,
supervision orders, automatic closes, idempotence, and a cost that does not grow with open
calls. (Reminders in detail: test_reminders.py; the platform's clock: test_platform_clock.py.)

The loop runs with a fake clock: every step takes `at=`, every sweep `now=`."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.calls.conftest import as_
from xianghu.calls import services, supervision
from xianghu.calls.models import Call, CallEvent, Dispatch
from xianghu.calls.supervision import due_horizon, run_sweep, yellow_moment
from xianghu.calls.tasks import supervision_sweep
from xianghu.core.errors import Conflict
from xianghu.core.workdays import HolidayCalendar, seed_from_chinesecalendar

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def iso(*args: int) -> str:
    return t(*args).isoformat()


@pytest.fixture
def calendar(db):
    seed_from_chinesecalendar(years=[2024, 2025])
    return HolidayCalendar.load(2024, 2025)


def step(world, key, call, action, when, **data):
    return services.call_transition(
        actor=as_(world, key), call=call, action=action, data=data, at=when
    )


@pytest.fixture
def dispatched(world, new_call, calendar):
    """A call of 王庄镇 dispatched to 应急管理局 at `when`; `signed`/`responded` give the
    times of those steps (the lead's clocks close then)."""

    def make(
        when: datetime,
        *,
        signed: datetime | None = None,
        responded: datetime | None = None,
        urgency: str = "normal",
    ) -> Call:
        call = new_call(urgency=urgency)
        for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
            step(world, key, call, action, when)
        step(world, "operator", call, "dispatch", when, lead=world.orgs["dept"].pk)
        if signed:
            step(world, "handler", call, "sign", signed)
        if responded:
            step(world, "handler", call, "respond", responded, mode="on_site")
        return call

    return make


def events(call: Call, *actions: str) -> list[CallEvent]:
    wanted = actions or ("yellow_card", "red_card", "supervise", "auto_close")
    return list(call.events.filter(action__in=wanted).order_by("seq"))


def sweep_twice(call: Call, now: datetime) -> list[tuple[str, dict]]:
    """Sweep at `now`, then again at the same moment: the second sweep must add nothing.
    Returns the (action, data) of the call's new events."""
    before = call.events.count()
    run_sweep(now=now)
    added = list(call.events.filter(seq__gt=before).order_by("seq"))
    after_first = call.events.count()
    again = run_sweep(now=now)
    assert call.events.count() == after_first, f"second sweep at {now} added events"
    assert again.total == 0
    for event in added:
        assert (event.party, event.actor_id, event.at) == ("system", None, now)
    return [(e.action, e.data) for e in added]


# --------------------------------------------------------------------------- the yellow moment


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # Saturday 10-12 is a swapped working day; the day before is Friday.
        (t(2024, 10, 12, 17, 30), t(2024, 10, 11, 17, 30)),
        # After National Day (10-01..07): back to Monday 09-30.
        (t(2024, 10, 8, 17, 30), t(2024, 9, 30, 17, 30)),
        # Monday 09-30: Sunday 09-29 was worked.
        (t(2024, 9, 30, 12, 0), t(2024, 9, 29, 12, 0)),
        # A clock-time deadline on a holiday: the working day before it, same time.
        (t(2024, 10, 1, 10, 0), t(2024, 9, 30, 10, 0)),
        # Spring Festival 2025 (01-28..02-04): from Wednesday 02-05 back to Monday 01-27,
        (t(2025, 2, 5, 17, 30), t(2025, 1, 27, 17, 30)),
        # from Monday 01-27 to the worked Sunday 01-26,
        (t(2025, 1, 27, 17, 30), t(2025, 1, 26, 17, 30)),
        # from Monday 02-10 to the worked Saturday 02-08,
        (t(2025, 2, 10, 9, 30), t(2025, 2, 8, 9, 30)),
        # and from a Sunday off to that Saturday.
        (t(2025, 2, 9, 22, 0), t(2025, 2, 8, 22, 0)),
        # Across New Year's Day into the previous year.
        (t(2025, 1, 2, 9, 30), t(2024, 12, 31, 9, 30)),
        # Given in UTC, answered in Asia/Shanghai.
        (datetime(2025, 2, 5, 9, 30, tzinfo=UTC), t(2025, 1, 27, 17, 30)),
    ],
)
def test_yellow_moment_is_one_working_day_before(calendar, due, expected):
    moment = yellow_moment(due, calendar=calendar)
    assert moment == expected
    assert moment.tzinfo == CST


def test_the_horizon_holds_every_deadline_that_needs_a_card(calendar):
    """If yellow_moment(d) <= now then d < due_horizon(now): checked hour by hour over
    National Day 2024 and Spring Festival 2025."""

    def hours(start: datetime, days: int):
        return [start + timedelta(hours=h) for h in range(days * 24)]

    for start in (t(2024, 9, 26), t(2025, 1, 22)):
        moments = hours(start, 20)
        dues = [m + timedelta(minutes=30) for m in moments]
        horizons = {now: due_horizon(now, calendar=calendar) for now in moments}
        yellows = {d: yellow_moment(d, calendar=calendar) for d in dues}
        for now, d in itertools.product(moments, dues):
            if yellows[d] <= now:
                assert d < horizons[now], (now, d)
    # During National Day the horizon reaches over the holiday to the first working day.
    assert due_horizon(t(2024, 10, 3, 10, 0), calendar=calendar) == t(2024, 10, 9, 0, 0)


# --------------------------------------------------------------------------- the loop


def test_completion_clock_over_national_day(world, dispatched):
    call = dispatched(
        t(2024, 9, 30, 10, 0), signed=t(2024, 9, 30, 11, 0), responded=t(2024, 9, 30, 15, 0)
    )
    lead = Dispatch.objects.get(call=call, role="lead")
    assert lead.complete_due == t(2024, 10, 12, 17, 30)
    due = iso(2024, 10, 12, 17, 30)
    complete = {"clock": "complete", "deadline": due, "organisation": world.orgs["dept"].pk}

    # Nothing before the reminder: not that afternoon, not during the holiday.
    for now in (
        t(2024, 9, 30, 16, 0),
        t(2024, 10, 1, 10, 0),
        t(2024, 10, 4, 12, 0),
        t(2024, 10, 7, 23, 59),
        t(2024, 10, 8, 9, 0),
        t(2024, 10, 10, 9, 14, 59),
    ):
        assert sweep_twice(call, now) == [], now
    # Half of the working time from the dispatch has run on Thursday 10-10 09:15 (6 h on
    # 09-30, 7.5 h on 10-08 and 10-09, 45 min on 10-10; 43.5 h in all): the reminder.
    assert sweep_twice(call, t(2024, 10, 10, 9, 15)) == [
        ("remind", {**complete, "automatic": True, "remind_at": iso(2024, 10, 10, 9, 15)})
    ]
    # Then nothing until the yellow moment.
    assert sweep_twice(call, t(2024, 10, 11, 17, 29, 59)) == []

    # Yellow card one working day before: Friday 10-11 17:30 (Saturday 10-12 is worked).
    assert sweep_twice(call, t(2024, 10, 11, 17, 30)) == [
        ("yellow_card", {**complete, "yellow_at": iso(2024, 10, 11, 17, 30)})
    ]
    # Nothing more on the deadline day, and not at the deadline itself.
    assert sweep_twice(call, t(2024, 10, 12, 9, 0)) == []
    assert sweep_twice(call, t(2024, 10, 12, 17, 30)) == []
    # The first overdue moment: the red card, then the supervision order.
    assert sweep_twice(call, t(2024, 10, 12, 17, 30, 1)) == [
        ("red_card", complete),
        ("supervise", {**complete, "reason": "overdue"}),
    ]
    assert sweep_twice(call, t(2024, 10, 14, 9, 0)) == []
    assert [e.action for e in events(call)] == ["yellow_card", "red_card", "supervise"]
    assert [e.action for e in events(call, "remind")] == ["remind"]
    call.refresh_from_db()
    assert call.state == "in_progress"  # cards do not change the state


def test_a_first_sweep_after_the_deadline_gives_the_red_card_only(world, dispatched):
    call = dispatched(
        t(2024, 9, 30, 10, 0), signed=t(2024, 9, 30, 11, 0), responded=t(2024, 9, 30, 15, 0)
    )
    assert [a for a, _data in sweep_twice(call, t(2024, 10, 14, 9, 0))] == [
        "red_card",
        "supervise",
    ]
    assert sweep_twice(call, t(2024, 10, 15, 9, 0)) == []


def test_sign_and_respond_clocks_get_their_cards(world, dispatched):
    # Dispatched Tuesday 10-08 09:00: sign within 2 working hours (11:00); its yellow
    # moment (Monday 09-30 11:00, the working day before) has passed already.
    call = dispatched(t(2024, 10, 8, 9, 0))
    sign = {"clock": "sign", "deadline": iso(2024, 10, 8, 11, 0)}
    found = sweep_twice(call, t(2024, 10, 8, 9, 0))
    assert [(a, d["clock"], d["deadline"]) for a, d in found] == [
        ("yellow_card", "sign", sign["deadline"])
    ]
    # Half of the two working hours: the reminder at 10:00.
    assert sweep_twice(call, t(2024, 10, 8, 9, 59)) == []
    found = sweep_twice(call, t(2024, 10, 8, 10, 0))
    assert [(a, d["clock"], d["remind_at"]) for a, d in found] == [
        ("remind", "sign", iso(2024, 10, 8, 10, 0))
    ]
    assert sweep_twice(call, t(2024, 10, 8, 11, 0)) == []
    found = sweep_twice(call, t(2024, 10, 8, 11, 0, 1))
    # The red card, and a supervision order on the signing deadline too.
    assert [(a, d["clock"], d["deadline"]) for a, d in found] == [
        ("red_card", "sign", sign["deadline"]),
        ("supervise", "sign", sign["deadline"]),
    ]
    assert found[1][1]["reason"] == "overdue"

    # Signed late: the respond clock (24 hours from dispatch, 10-09 09:00) runs now; its
    # reminder moment is half of the 24 hours, 10-08 21:00.
    step(world, "handler", call, "sign", t(2024, 10, 8, 11, 30))
    found = sweep_twice(call, t(2024, 10, 8, 11, 30))
    assert [(a, d["clock"], d["deadline"]) for a, d in found] == [
        ("yellow_card", "respond", iso(2024, 10, 9, 9, 0))
    ]
    call.refresh_from_db()
    assert call.remind_at == t(2024, 10, 8, 21, 0)
    # The first sweep after 21:00 comes after the deadline (the worker was down): the red
    # card and the order, no reminder any more, and the call leaves the reminder index.
    found = sweep_twice(call, t(2024, 10, 9, 9, 0, 1))
    assert [(a, d["clock"]) for a, d in found] == [
        ("red_card", "respond"),
        ("supervise", "respond"),
    ]
    call.refresh_from_db()
    assert call.remind_at is None
    step(world, "handler", call, "respond", t(2024, 10, 9, 10, 0), mode="contact")
    # Completion is due Monday 10-14 17:30 (10-09, 10, 11, Saturday 12, 14); its reminder
    # came on Friday 10-11 08:45 (22.25 of 44.5 working hours from the dispatch), so the
    # first sweep issues it; then quiet until Saturday 10-12 17:30.
    found = sweep_twice(call, t(2024, 10, 12, 17, 29))
    assert [(a, d["clock"], d["remind_at"]) for a, d in found] == [
        ("remind", "complete", iso(2024, 10, 11, 8, 45))
    ]
    found = sweep_twice(call, t(2024, 10, 12, 17, 30))
    assert [(a, d["clock"], d["deadline"]) for a, d in found] == [
        ("yellow_card", "complete", iso(2024, 10, 14, 17, 30))
    ]


def test_spring_festival_2025(world, dispatched):
    # Wednesday 01-22 + 5 working days: 23, 24, Sunday 26 (worked), 27, then the festival
    # (01-28..02-04): Wednesday 02-05 17:30; its yellow moment is Monday 01-27 17:30.
    call = dispatched(
        t(2025, 1, 22, 10, 0), signed=t(2025, 1, 22, 10, 30), responded=t(2025, 1, 22, 14, 0)
    )
    assert Dispatch.objects.get(call=call).complete_due == t(2025, 2, 5, 17, 30)
    # Half of the 43.5 working hours has run on the worked Sunday 01-26 at 09:15.
    for now in (t(2025, 1, 24, 17, 30), t(2025, 1, 25, 12, 0), t(2025, 1, 26, 9, 14)):
        assert sweep_twice(call, now) == [], now
    found = sweep_twice(call, t(2025, 1, 26, 9, 15))
    assert [(a, d["remind_at"]) for a, d in found] == [("remind", iso(2025, 1, 26, 9, 15))]
    for now in (t(2025, 1, 26, 17, 30), t(2025, 1, 27, 17, 29)):
        assert sweep_twice(call, now) == [], now
    found = sweep_twice(call, t(2025, 1, 27, 17, 30))
    assert [(a, d["deadline"], d["yellow_at"]) for a, d in found] == [
        ("yellow_card", iso(2025, 2, 5, 17, 30), iso(2025, 1, 27, 17, 30))
    ]
    for now in (t(2025, 1, 31, 12, 0), t(2025, 2, 4, 23, 0), t(2025, 2, 5, 17, 30)):
        assert sweep_twice(call, now) == [], now
    found = sweep_twice(call, t(2025, 2, 5, 17, 31))
    assert [a for a, _d in found] == ["red_card", "supervise"]


def test_an_extension_gives_the_new_deadline_its_own_cards(world, dispatched):
    call = dispatched(
        t(2024, 9, 30, 10, 0), signed=t(2024, 9, 30, 11, 0), responded=t(2024, 9, 30, 15, 0)
    )
    assert [a for a, _d in sweep_twice(call, t(2024, 10, 11, 17, 30))] == [
        "remind",
        "yellow_card",
    ]
    step(
        world, "handler", call, "request_extension", t(2024, 10, 11, 17, 40), days=3, reason="检测"
    )
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 10, 11, 17, 50),
        approve=True,
        reason="同意",
    )
    # Now due Wednesday 10-16 17:30: no red card on Saturday; a new reminder when half of
    # the 30 working hours from the extension (granted after office hours) has run, on
    # Monday 10-14 at the end of the day; a new yellow on Tuesday.
    assert sweep_twice(call, t(2024, 10, 12, 17, 31)) == []
    assert sweep_twice(call, t(2024, 10, 14, 17, 29)) == []
    found = sweep_twice(call, t(2024, 10, 14, 17, 30))
    assert [(a, d["deadline"], d["remind_at"]) for a, d in found] == [
        ("remind", iso(2024, 10, 16, 17, 30), iso(2024, 10, 14, 17, 30))
    ]
    assert sweep_twice(call, t(2024, 10, 15, 17, 29)) == []
    found = sweep_twice(call, t(2024, 10, 15, 17, 30))
    assert [(a, d["deadline"]) for a, d in found] == [("yellow_card", iso(2024, 10, 16, 17, 30))]


def test_cards_follow_the_lead_dispatch_only(world, new_call, calendar):
    """An assisting department has its own clocks, but no action closes them yet (only
    the lead signs, responds, completes): the sweep cards the lead's clocks only."""
    call = new_call(code="D1-04-2")  # assisted by 公安局; respond 30m, complete 3wd
    when = t(2024, 10, 8, 9, 0)
    for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
        step(world, key, call, action, when)
    step(
        world,
        "operator",
        call,
        "dispatch",
        when,
        lead=world.orgs["dept"].pk,
        assisting=[world.orgs["police"].pk],
    )
    step(world, "handler", call, "sign", t(2024, 10, 8, 9, 10))
    step(world, "handler", call, "respond", t(2024, 10, 8, 9, 20), mode="on_site")
    call.refresh_from_db()
    lead = Dispatch.objects.get(call=call, role="lead")
    assert call.next_deadline == lead.complete_due  # the lead's clock, not the assisting one
    # The lead completes by Friday 10-11 17:30 (3 working days): reminded on Thursday
    # 08:45 (half of 29.5 working hours), quiet until Thursday 17:30.
    found = sweep_twice(call, t(2024, 10, 10, 17, 29))
    assert [(a, d["clock"], d["organisation"]) for a, d in found] == [
        ("remind", "complete", world.orgs["dept"].pk)
    ]
    found = sweep_twice(call, t(2024, 10, 10, 17, 30))
    assert [(a, d["clock"], d["organisation"]) for a, d in found] == [
        ("yellow_card", "complete", world.orgs["dept"].pk)
    ]


# --------------------------------------------------------------------------- closing, redo


def completed(world, dispatched, when: datetime) -> Call:
    call = dispatched(when, signed=when, responded=when)
    step(world, "handler", call, "complete", when, result="已处置")
    return call


def test_auto_close_after_the_evaluation_window(world, dispatched):
    # Completed Tuesday 10-08 10:00; 3 working days to evaluate: Friday 10-11 17:30.
    call = completed(world, dispatched, t(2024, 10, 8, 10, 0))
    for now in (t(2024, 10, 9, 12, 0), t(2024, 10, 11, 17, 30)):
        assert sweep_twice(call, now) == [], now
    call.refresh_from_db()
    assert call.state == "awaiting_evaluation"
    found = sweep_twice(call, t(2024, 10, 11, 17, 30, 1))
    assert [a for a, _d in found] == ["auto_close"]
    event = events(call, "auto_close")[0]
    assert event.data["default_evaluation"] is True
    assert event.data["evaluation"] == "satisfied"
    assert event.data["evaluation_due"] == iso(2024, 10, 11, 17, 30)
    assert (event.from_state, event.to_state) == ("awaiting_evaluation", "closed")
    call.refresh_from_db()
    assert call.state == "closed"
    assert sweep_twice(call, t(2024, 10, 20, 9, 0)) == []


def test_an_evaluation_in_time_leaves_nothing_to_close(world, dispatched):
    call = completed(world, dispatched, t(2024, 10, 8, 10, 0))
    step(
        world,
        "reporter",
        call,
        "evaluate",
        t(2024, 10, 10, 9, 0),
        evaluation="basically",
        resolved="yes",
    )
    assert sweep_twice(call, t(2024, 10, 14, 9, 0)) == []
    call.refresh_from_db()
    assert call.state == "closed"


def orders_in(found: list) -> list:
    """The reopen supervision orders among what a sweep did."""
    return [(a, d) for a, d in found if a == "supervise" and d.get("reason") == "reopened"]


def test_a_second_reopen_gets_one_supervision_order(world, dispatched):
    call = completed(world, dispatched, t(2024, 10, 8, 9, 0))

    def redo(when: datetime, *, respond: bool = True) -> None:
        step(world, "reporter", call, "evaluate", when, evaluation="unsatisfied", resolved="no")
        if respond:
            step(world, "handler", call, "respond", when + timedelta(minutes=5), mode="on_site")

    redo(t(2024, 10, 8, 10, 0), respond=False)
    # The first redo: no order (its fresh 24-hour respond clock may draw a yellow card).
    assert orders_in(sweep_twice(call, t(2024, 10, 8, 10, 1))) == []
    step(world, "handler", call, "respond", t(2024, 10, 8, 10, 5), mode="on_site")
    step(world, "handler", call, "complete", t(2024, 10, 8, 11, 0), result="再次处置")
    redo(t(2024, 10, 8, 12, 0), respond=False)
    call.refresh_from_db()
    assert (call.state, call.reopen_count) == ("reopened", 2)
    assert orders_in(sweep_twice(call, t(2024, 10, 8, 12, 1))) == [
        ("supervise", {"reason": "reopened", "reopen_count": 2})
    ]
    step(world, "handler", call, "respond", t(2024, 10, 8, 12, 5), mode="on_site")
    assert orders_in(sweep_twice(call, t(2024, 10, 8, 12, 6))) == []

    # A third reopen the sweep only sees after the lead has responded again: found from
    # the evaluate event, one more order.
    step(world, "handler", call, "complete", t(2024, 10, 8, 14, 0), result="第三次处置")
    redo(t(2024, 10, 8, 15, 0))
    assert orders_in(sweep_twice(call, t(2024, 10, 8, 15, 30))) == [
        ("supervise", {"reason": "reopened", "reopen_count": 3})
    ]
    assert orders_in(sweep_twice(call, t(2024, 10, 9, 9, 0))) == []
    orders = events(call, "supervise")
    assert [e.data["reopen_count"] for e in orders] == [2, 3]


# --------------------------------------------------------------------------- robustness


def test_a_refused_action_is_counted_and_the_sweep_goes_on(world, dispatched, monkeypatch):
    first = dispatched(t(2024, 10, 8, 9, 0))
    second = dispatched(t(2024, 10, 8, 9, 0))
    real = services.call_transition

    def refuse_first(*, call, **kw):
        if call.pk == first.pk:
            raise Conflict("changed meanwhile", code="call.action_not_allowed")
        return real(call=call, **kw)

    monkeypatch.setattr(supervision.services, "call_transition", refuse_first)
    report = run_sweep(now=t(2024, 10, 8, 9, 30))
    assert report.errors == 1
    assert report.problems[0]["call"] == first.number
    assert report.problems[0]["code"] == "call.action_not_allowed"
    assert report.yellow_cards == 1
    assert events(first) == []
    assert [e.action for e in events(second)] == ["yellow_card"]


def test_a_sweep_that_lost_the_race_writes_nothing(world, dispatched, monkeypatch):
    """Another sweep acts between this sweep's lock-free read and its lock: the plan is
    made again on fresh data under the lock, and nothing is issued twice."""
    call = dispatched(t(2024, 10, 8, 9, 0))
    now = t(2024, 10, 8, 9, 30)
    real_act = supervision._act
    raced = []

    def act_after_another_sweep(call, **kw):
        if not raced:
            raced.append(True)
            assert run_sweep(now=now).yellow_cards == 1  # the other worker
        return real_act(call, **kw)

    monkeypatch.setattr(supervision, "_act", act_after_another_sweep)
    report = run_sweep(now=now)
    assert (report.examined, report.total, report.errors) == (1, 0, 0)
    assert [e.action for e in events(call)] == ["yellow_card"]


# --------------------------------------------------------------------------- cost


def far_calls(world, n: int, now: datetime, start: int) -> None:
    """`n` open calls whose next deadline is a month away (and their reminder ten days
    away), and `n` calls awaiting an evaluation they still have time for (rows only: the
    sweep must not even look)."""
    rows = []
    for i in range(start, start + n):
        for state, deadline, changed in (
            ("in_progress", now + timedelta(days=30), now - timedelta(days=1)),
            ("awaiting_evaluation", None, now - timedelta(hours=2)),
        ):
            rows.append(
                Call(
                    number=f"FAR{state[:2]}{i:06d}",
                    county=world.county,
                    caller=world.orgs["t1"],
                    location=world.t1,
                    title="远期呼叫",
                    description="远期呼叫",
                    state=state,
                    state_changed_at=changed,
                    created_at=now - timedelta(days=2),
                    next_deadline=deadline,
                    remind_at=deadline - timedelta(days=20) if deadline else None,
                )
            )
    Call.objects.bulk_create(rows)


def test_the_sweep_costs_the_same_with_20_or_200_far_away_calls(
    world, dispatched, django_assert_max_num_queries
):
    now = t(2024, 10, 12, 17, 31)

    def due_calls() -> list[Call]:
        return [
            dispatched(
                t(2024, 9, 30, 10, 0),
                signed=t(2024, 9, 30, 11, 0),
                responded=t(2024, 9, 30, 15, 0),
            )
            for _ in range(3)
        ]

    def measured_sweep():
        with CaptureQueriesContext(connection) as queries:
            report = run_sweep(now=now)
        return report, len(queries)

    far_calls(world, 20, now, start=0)
    batch = due_calls()
    report, with_20 = measured_sweep()
    assert (report.examined, report.red_cards, report.supervision_orders) == (3, 3, 3)

    far_calls(world, 180, now, start=20)  # 200 of each kind now
    batch += due_calls()
    report, with_200 = measured_sweep()
    # The first three are examined again but owe nothing: they cost no query.
    assert (report.examined, report.red_cards, report.supervision_orders) == (6, 3, 3)
    assert with_200 == with_20
    assert Call.objects.filter(state="in_progress").count() == 206

    # With nothing due, a sweep is a handful of queries whatever the number of calls.
    # (calendar, evaluation windows, four candidate sets — the reopened ones in two, each
    # served by its index —, leads, policies, events)
    with django_assert_max_num_queries(9):
        report = run_sweep(now=now)
    assert (report.examined, report.total) == (6, 0)
    for call in batch:
        assert [e.action for e in events(call)] == ["red_card", "supervise"]


# --------------------------------------------------------------------------- task, command


def test_the_task_runs_a_sweep_and_returns_the_report(world, dispatched):
    # Dispatched in 2024 and never signed: long overdue by the real clock.
    call = dispatched(t(2024, 9, 30, 10, 0))
    result = supervision_sweep.enqueue()
    assert result.status == "SUCCESSFUL"
    report = result.return_value
    assert (report["red_cards"], report["supervision_orders"], report["reminders"]) == (1, 1, 0)
    assert report["errors"] == 0
    assert report["actions"][0]["call"] == call.number
    assert report["actions"][0]["clock"] == "sign"
    assert [e.action for e in events(call)] == ["red_card", "supervise"]


def test_the_command_sweeps_at_a_given_moment(world, dispatched):
    call = dispatched(
        t(2024, 9, 30, 10, 0), signed=t(2024, 9, 30, 11, 0), responded=t(2024, 9, 30, 15, 0)
    )
    out = io.StringIO()
    call_command("supervise", "--at", "2024-10-11T17:30:00+08:00", stdout=out)
    text = out.getvalue()
    assert call.number in text
    assert "2024-10-12 17:30" in text
    assert [e.action for e in events(call)] == ["yellow_card"]
    # Without an offset the time is Asia/Shanghai.
    out = io.StringIO()
    call_command("supervise", "--at", "2024-10-12 17:31", stdout=out)
    assert [e.action for e in events(call)] == ["yellow_card", "red_card", "supervise"]
    assert events(call)[-1].at == t(2024, 10, 12, 17, 31)
    with pytest.raises(CommandError):
        call_command("supervise", "--at", "next friday")
