"""Automatic reminders (催办): when the county's share of a clock has run, the sweep issues
one `remind` event (marked automatic) per clock and deadline; the `remind_at` index finds
them without reading all open calls. Fake clock throughout."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.calls.conftest import as_
from xianghu.calls import deadlines, policy, services
from xianghu.calls.models import Call
from xianghu.calls.supervision import run_sweep
from xianghu.catalog.limits import Limit
from xianghu.core.workdays import DEFAULT_HOURS, HolidayCalendar, seed_from_chinesecalendar
from xianghu.notify.models import Notification

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


def dispatched(world, new_call, when: datetime, **kw) -> Call:
    call = new_call(**kw)
    for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
        step(world, key, call, action, when)
    step(world, "operator", call, "dispatch", when, lead=world.orgs["dept"].pk)
    call.refresh_from_db()
    return call


def reminders(call: Call, now: datetime) -> list[dict]:
    """Sweep twice at `now` (the second adds nothing); the reminders issued."""
    before = call.events.count()
    run_sweep(now=now)
    added = list(call.events.filter(seq__gt=before).order_by("seq"))
    count = call.events.count()
    assert run_sweep(now=now).total == 0, f"second sweep at {now} acted"
    assert call.events.count() == count
    return [e.data for e in added if e.action == "remind"]


# --------------------------------------------------------------------------- the moment


@pytest.mark.parametrize(
    ("start", "due", "limit", "share", "expected"),
    [
        # Clock time: half of 24 hours, through the night.
        (t(2024, 10, 8, 9, 0), t(2024, 10, 9, 9, 0), Limit(24, "h"), 50, t(2024, 10, 8, 21, 0)),
        (t(2024, 10, 8, 9, 0), t(2024, 10, 8, 9, 30), Limit(30, "m"), 50, t(2024, 10, 8, 9, 15)),
        # Working hours: half of 2 working hours from 11:30 (due 15:00) is after lunch.
        (t(2024, 10, 8, 11, 30), t(2024, 10, 8, 15, 0), Limit(2, "wh"), 50, t(2024, 10, 8, 14, 0)),
        # Working days over National Day: 6 + 4 × 7.5 = 36 working hours; a quarter is
        # 9 h: 6 h on 09-30, then 3 h on 10-08 (the holiday is skipped).
        (
            t(2024, 9, 30, 10, 0),
            t(2024, 10, 11, 17, 30),
            Limit(4, "wd"),
            25,
            t(2024, 10, 8, 11, 30),
        ),
        # Three quarters, 27 h: 6 + 7.5 + 7.5, then 6 h on 10-10 (3.5 + 2.5).
        (
            t(2024, 9, 30, 10, 0),
            t(2024, 10, 11, 17, 30),
            Limit(4, "wd"),
            75,
            t(2024, 10, 10, 16, 0),
        ),
        # A deadline at or before the start: at once.
        (t(2024, 10, 8, 9, 0), t(2024, 10, 8, 9, 0), Limit(1, "wh"), 50, t(2024, 10, 8, 9, 0)),
    ],
)
def test_the_reminder_moment(calendar, start, due, limit, share, expected):
    moment = deadlines.remind_moment(
        start, due, limit, share=share, hours=DEFAULT_HOURS, calendar=calendar
    )
    assert moment == expected


# --------------------------------------------------------------------------- the sweep


def test_one_reminder_per_clock_and_deadline(world, new_call, calendar):
    # Tuesday 10-08 09:00: sign within 2 working hours (11:00), reminded at 10:00.
    call = dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    assert call.remind_at == t(2024, 10, 8, 10, 0)
    assert reminders(call, t(2024, 10, 8, 9, 59)) == []
    [found] = reminders(call, t(2024, 10, 8, 10, 0))
    assert found == {
        "clock": "sign",
        "deadline": iso(2024, 10, 8, 11, 0),
        "organisation": world.orgs["dept"].pk,
        "automatic": True,
        "remind_at": iso(2024, 10, 8, 10, 0),
    }
    event = call.events.get(action="remind")
    assert (event.party, event.actor_id, event.from_state, event.to_state) == (
        "system",
        None,
        "dispatched",
        "dispatched",
    )
    # Issued: the call leaves the reminder index, and later steps do not put it back.
    call.refresh_from_db()
    assert call.remind_at is None
    assert call.reminders["sign"]["done"] is True
    assert reminders(call, t(2024, 10, 8, 10, 30)) == []
    # Signed: the respond clock (24 h from the dispatch) has its own reminder, 21:00.
    step(world, "handler", call, "sign", t(2024, 10, 8, 10, 40))
    call.refresh_from_db()
    assert call.remind_at == t(2024, 10, 8, 21, 0)
    [found] = reminders(call, t(2024, 10, 8, 21, 0))
    assert (found["clock"], found["deadline"]) == ("respond", iso(2024, 10, 9, 9, 0))
    assert reminders(call, t(2024, 10, 8, 23, 0)) == []
    assert call.events.filter(action="remind").count() == 2


def test_the_county_share(world, new_call, calendar):
    table = {u: policy.limits_as_form(lim) for u, lim in deadlines.DEFAULTS.items()}
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours={
            "morning_start": time(8, 30),
            "morning_end": time(12, 0),
            "afternoon_start": time(13, 30),
            "afternoon_end": time(17, 30),
        },
        limits=table,
        remind_share=25,
    )
    assert deadlines.clock_policy(world.county.pk).remind_share == 25
    call = dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    # A quarter of two working hours.
    assert call.remind_at == t(2024, 10, 8, 9, 30)
    [found] = reminders(call, t(2024, 10, 8, 9, 30))
    assert found["remind_at"] == iso(2024, 10, 8, 9, 30)


def test_a_reminder_comes_before_the_card_horizon(world, new_call, calendar):
    """A complex call has 15 working days: its reminder falls more than a week before
    the deadline, far outside the cards' horizon; the reminder index finds it."""
    call = dispatched(world, new_call, t(2024, 9, 2, 9, 0), urgency="complex")
    step(world, "handler", call, "sign", t(2024, 9, 2, 9, 30))
    step(world, "handler", call, "respond", t(2024, 9, 2, 10, 0), mode="contact")
    call.refresh_from_db()
    # 15 working days over the Mid-Autumn Festival (09-15..17; Saturday 09-14 worked).
    assert call.next_deadline == t(2024, 9, 24, 17, 30)
    # 7 h on 09-02 + 15 × 7.5 = 119.5 working hours; half is 59.75 h: 09-02 (7), seven
    # working days (52.5), then 15 minutes on Thursday 09-12.
    assert call.remind_at == t(2024, 9, 12, 8, 45)
    report = run_sweep(now=t(2024, 9, 12, 8, 44))
    assert report.examined == 0  # nothing due yet: the call is not even read
    report = run_sweep(now=t(2024, 9, 12, 8, 45))
    assert (report.examined, report.reminders, report.total) == (1, 1, 1)
    assert run_sweep(now=t(2024, 9, 13, 9, 0)).examined == 0  # out of the index again


def test_a_manual_reminder_does_not_stand_for_the_automatic_one(world, new_call, calendar):
    call = dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    step(world, "operator", call, "remind", t(2024, 10, 8, 9, 10), automatic=True)
    manual = call.events.get(action="remind")
    assert "automatic" not in manual.data  # a client cannot mark its reminder automatic
    [found] = reminders(call, t(2024, 10, 8, 10, 0))
    assert found["automatic"] is True
    assert call.events.filter(action="remind").count() == 2


def test_a_reopened_call_gets_new_reminders(world, new_call, calendar):
    when = t(2024, 10, 8, 9, 0)
    call = dispatched(world, new_call, when)
    step(world, "handler", call, "sign", when)
    step(world, "handler", call, "respond", when, mode="on_site")
    step(world, "handler", call, "complete", t(2024, 10, 8, 9, 30), result="已处置")
    call.refresh_from_db()
    assert call.remind_at is None  # awaiting evaluation: no clock of the lead runs
    step(
        world,
        "reporter",
        call,
        "evaluate",
        t(2024, 10, 8, 10, 0),
        evaluation="unsatisfied",
        resolved="no",
    )
    call.refresh_from_db()
    # Fresh respond clock from the reopening (24 h): reminded at 22:00.
    assert call.state == "reopened"
    assert call.remind_at == t(2024, 10, 8, 22, 0)
    [found] = reminders(call, t(2024, 10, 8, 22, 0))
    assert (found["clock"], found["deadline"]) == ("respond", iso(2024, 10, 9, 10, 0))


def test_an_extension_gives_a_new_reminder(world, new_call, calendar):
    when = t(2024, 10, 8, 9, 0)
    call = dispatched(world, new_call, when)
    step(world, "handler", call, "sign", when)
    step(world, "handler", call, "respond", when, mode="on_site")
    call.refresh_from_db()
    first = call.remind_at
    assert [d["clock"] for d in reminders(call, first)] == ["complete"]
    step(world, "handler", call, "request_extension", first, days=2, reason="待检测")
    step(
        world,
        "operator",
        call,
        "decide_extension",
        t(2024, 10, 11, 9, 0),
        approve=True,
        reason="同意",
    )
    call.refresh_from_db()
    # Due 10-14 17:30 + 2 working days = Wednesday 10-16 17:30; half of the working time
    # from the grant (Friday 09:00): 7 + 4 × 7.5 = 37 h, 18.5 h: Friday 7, Saturday
    # (worked) 7.5, then 4 h on Monday (3.5 + 0.5).
    assert call.next_deadline == t(2024, 10, 16, 17, 30)
    assert call.remind_at == t(2024, 10, 14, 14, 0)
    [found] = reminders(call, t(2024, 10, 14, 14, 0))
    assert found["deadline"] == iso(2024, 10, 16, 17, 30)


def test_reminders_reach_the_lead_department(
    world, new_call, calendar, django_capture_on_commit_callbacks
):
    call = dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    with django_capture_on_commit_callbacks(execute=True):
        run_sweep(now=t(2024, 10, 8, 10, 0))
    users = set(Notification.objects.filter(kind="call.remind").values_list("user", flat=True))
    assert users == {world.users["handler"].pk, world.users["dleader"].pk}
    assert call.number in Notification.objects.filter(kind="call.remind").first().title


def test_the_report_counts_and_lists_reminders(world, new_call, calendar):
    call = dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    run_sweep(now=t(2024, 10, 8, 9, 0))  # the yellow card on the signing clock
    report = run_sweep(now=t(2024, 10, 8, 10, 0))
    assert (report.reminders, report.total) == (1, 1)
    assert report.as_dict()["reminders"] == 1
    with translation.override("en"):
        assert "1 reminders" in str(report)
        [line] = report.lines()
    assert line.startswith(call.number)
    assert "signing deadline 2024-10-08 11:00" in line


# --------------------------------------------------------------------------- cost


def far_reminders(world, n: int, now: datetime, start: int) -> None:
    """`n` open calls whose reminder is a week away (rows only)."""
    Call.objects.bulk_create(
        Call(
            number=f"REM{i:06d}",
            county=world.county,
            caller=world.orgs["t1"],
            location=world.t1,
            title="远期提醒",
            description="远期提醒",
            state="in_progress",
            state_changed_at=now - timedelta(days=1),
            created_at=now - timedelta(days=2),
            next_deadline=now + timedelta(days=14),
            remind_at=now + timedelta(days=7),
        )
        for i in range(start, start + n)
    )


def test_the_reminder_sweep_costs_the_same_with_20_or_200_waiting(world, new_call, calendar):
    now = t(2024, 10, 8, 10, 0)

    def measured() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            report = run_sweep(now=now)
        return report.reminders, len(queries)

    far_reminders(world, 20, now, start=0)
    for _ in range(2):
        dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    run_sweep(now=t(2024, 10, 8, 9, 0))  # their yellow cards: only reminders remain
    issued, with_20 = measured()
    assert issued == 2

    far_reminders(world, 180, now, start=20)
    for _ in range(2):
        dispatched(world, new_call, t(2024, 10, 8, 9, 0))
    run_sweep(now=t(2024, 10, 8, 9, 0))
    issued, with_200 = measured()
    assert issued == 2
    assert with_200 == with_20
