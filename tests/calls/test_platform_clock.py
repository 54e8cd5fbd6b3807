"""The platform's own clock (accept and dispatch): set when the call reaches the platform,
part of `next_deadline` while the call waits for the platform, configurable per county,
and carded by the sweep (charged to the platform centre). Fake clock throughout."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.calls.conftest import as_
from xianghu.calls import deadlines, policy, services
from xianghu.calls.models import Call, Dispatch
from xianghu.calls.supervision import run_sweep
from xianghu.catalog.limits import Limit
from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import HolidayCalendar, seed_from_chinesecalendar
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


def approved(world, new_call, when: datetime, **kw) -> Call:
    call = new_call(**kw)
    step(world, "reporter", call, "submit", when)
    step(world, "tleader", call, "approve", when)
    call.refresh_from_db()
    return call


def new_events(call: Call, before: int) -> list[tuple[str, dict]]:
    return [(e.action, e.data) for e in call.events.filter(seq__gt=before).order_by("seq")]


def sweep(call: Call, now: datetime) -> list[tuple[str, dict]]:
    """Sweep twice at `now` (the second adds nothing); the call's new events."""
    before = call.events.count()
    run_sweep(now=now)
    added = new_events(call, before)
    count = call.events.count()
    assert run_sweep(now=now).total == 0
    assert call.events.count() == count
    return added


# --------------------------------------------------------------------------- the deadline


def test_the_clock_starts_when_the_leader_approves(world, new_call, calendar):
    call = new_call()
    step(world, "reporter", call, "submit", t(2024, 9, 23, 9, 0))
    call.refresh_from_db()
    assert (call.accept_due, call.next_deadline) == (None, None)  # the leader's step
    step(world, "tleader", call, "approve", t(2024, 9, 23, 10, 0))
    call.refresh_from_db()
    # Half a working day (3 h 45 min of the default 7 h 30 min): 10:00–12:00, then
    # 13:30–15:15.
    assert call.accept_due == t(2024, 9, 23, 15, 15)
    assert call.next_deadline == call.accept_due
    # Accepting does not restart it: accept and dispatch share the clock.
    step(world, "operator", call, "accept", t(2024, 9, 23, 11, 0))
    call.refresh_from_db()
    assert call.accept_due == call.next_deadline == t(2024, 9, 23, 15, 15)
    # Dispatched: the lead's signing clock runs; the platform's deadline stays recorded.
    step(world, "operator", call, "dispatch", t(2024, 9, 23, 14, 0), lead=world.orgs["dept"].pk)
    call.refresh_from_db()
    lead = Dispatch.objects.get(call=call, role="lead")
    assert call.next_deadline == lead.sign_due == t(2024, 9, 23, 16, 0)
    assert call.accept_due == t(2024, 9, 23, 15, 15)


def test_half_a_working_day_over_a_holiday(world, new_call, calendar):
    # Approved Monday 2024-09-30 16:00: 1.5 h that day, then National Day (10-01..07):
    # the rest (2 h 15 min) on Tuesday 10-08, 08:30–10:45.
    call = approved(world, new_call, t(2024, 9, 30, 16, 0))
    assert call.accept_due == t(2024, 10, 8, 10, 45)
    # Approved on the worked Sunday 2024-09-29 at 17:00: 30 minutes, then Monday.
    call = approved(world, new_call, t(2024, 9, 29, 17, 0))
    assert call.accept_due == t(2024, 9, 30, 11, 45)


def test_an_urgent_call_gives_the_platform_30_minutes(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 10, 1, 22, 0), urgency="urgent")
    assert call.accept_due == t(2024, 10, 1, 22, 30)  # clock time, holiday or not


def test_the_county_sets_the_platform_limit(world, new_call, calendar):
    table = {u: policy.limits_as_form(lim) for u, lim in deadlines.DEFAULTS.items()}
    assert table["normal"]["accept"] == "0.5wd"
    assert table["urgent"]["accept"] == "30m"
    table["normal"]["accept"] = "1wh"
    table["complex"]["accept"] = ""  # empty: the default
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours={
            "morning_start": t(2024, 1, 1, 8, 30).time(),
            "morning_end": t(2024, 1, 1, 12, 0).time(),
            "afternoon_start": t(2024, 1, 1, 13, 30).time(),
            "afternoon_end": t(2024, 1, 1, 17, 30).time(),
        },
        limits=table,
    )
    limits = deadlines.clock_policy(world.county.pk).limits
    assert limits["normal"].accept == Limit(1, "wh")
    assert limits["complex"].accept == Limit(1, deadlines.HALF_DAYS)
    call = approved(world, new_call, t(2024, 9, 23, 11, 30))
    assert call.accept_due == t(2024, 9, 23, 14, 0)  # 11:30–12:00, 13:30–14:00


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5wd", Limit(1, "hwd")),
        (".5 wd", Limit(1, "hwd")),
        ("半个工作日", Limit(1, "hwd")),
        ("0.5个工作日", Limit(1, "hwd")),
        ("30m", Limit(30, "m")),
        ("1wd", Limit(1, "wd")),
        ("2个工作小时", Limit(2, "wh")),
    ],
)
def test_the_platform_limit_is_read_as_written(text, expected):
    assert deadlines.parse_accept_limit(text) == expected


@pytest.mark.parametrize("text", ["0.25wd", "半天", "1.5wd", "0wd", ""])
def test_a_platform_limit_that_cannot_be_read_is_refused(text):
    with pytest.raises(InvalidInput) as exc:
        deadlines.parse_accept_limit(text)
    assert exc.value.code == "catalog.bad_limit"


def test_the_platform_limit_is_written_back_and_labelled():
    assert deadlines.limit_text(Limit(1, "hwd")) == "0.5wd"
    assert deadlines.limit_text(Limit(5, "wd")) == "5wd"
    assert deadlines.limit_text_label("0.5wd") == "0.5个工作日"
    assert deadlines.limit_text_label("2wh") == "2个工作小时"


def test_a_granted_return_gives_the_platform_a_new_clock(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 9, 23, 9, 0))
    step(world, "operator", call, "accept", t(2024, 9, 23, 9, 10))
    step(world, "operator", call, "dispatch", t(2024, 9, 23, 9, 20), lead=world.orgs["dept"].pk)
    step(world, "handler", call, "request_return", t(2024, 9, 23, 10, 0), reason="不属本部门")
    call.refresh_from_db()
    assert call.accept_due == t(2024, 9, 23, 14, 15)  # the first arrival's, kept
    step(world, "operator", call, "agree_return", t(2024, 9, 23, 14, 0), reason="同意")
    call.refresh_from_db()
    assert call.state == "accepted"
    # 14:00–17:30 (3.5 h), then 15 minutes on Tuesday.
    assert call.accept_due == call.next_deadline == t(2024, 9, 24, 8, 45)


def test_a_returned_call_sent_again_gets_a_new_clock(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 9, 23, 9, 0))
    step(world, "operator", call, "reject", t(2024, 9, 23, 9, 30), reason="乡镇职责")
    call.refresh_from_db()
    assert (call.state, call.next_deadline) == ("returned", None)
    step(world, "reporter", call, "submit", t(2024, 9, 24, 9, 0))
    step(world, "tleader", call, "approve", t(2024, 9, 24, 9, 30))
    call.refresh_from_db()
    assert call.accept_due == t(2024, 9, 24, 14, 45)  # 09:30–12:00, 13:30–14:45


# --------------------------------------------------------------------------- the cards


def test_the_sweep_cards_the_platform(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 9, 23, 10, 0))
    platform = world.orgs["platform"].pk
    base = {"clock": "accept", "deadline": iso(2024, 9, 23, 15, 15), "organisation": platform}
    # Shorter than a working day: inside its yellow period from the start.
    assert sweep(call, t(2024, 9, 23, 10, 1)) == [
        ("yellow_card", {**base, "yellow_at": iso(2024, 9, 20, 15, 15)})
    ]
    # No reminder and no supervision order while the call waits for the platform: the
    # workflow lets the system remind and order only the handling side.
    assert sweep(call, t(2024, 9, 23, 13, 0)) == []
    assert sweep(call, t(2024, 9, 23, 15, 15)) == []
    assert sweep(call, t(2024, 9, 23, 15, 15, 1)) == [("red_card", base)]
    step(world, "operator", call, "accept", t(2024, 9, 23, 15, 30))
    assert sweep(call, t(2024, 9, 23, 16, 0)) == []  # the same clock, carded already
    events = list(call.events.filter(action__in=["yellow_card", "red_card"]))
    assert [(e.party, e.actor_id, e.from_state) for e in events] == [
        ("system", None, "approved"),
        ("system", None, "approved"),
    ]
    # Dispatched late: the lead's clocks take over, the platform's cards stay in the log.
    step(world, "operator", call, "dispatch", t(2024, 9, 23, 16, 0), lead=world.orgs["dept"].pk)
    added = sweep(call, t(2024, 9, 23, 16, 1))
    assert [(a, d["clock"], d["organisation"]) for a, d in added] == [
        ("yellow_card", "sign", world.orgs["dept"].pk)
    ]


def test_platform_cards_reach_the_platform_staff(
    world, new_call, calendar, django_capture_on_commit_callbacks
):
    call = approved(world, new_call, t(2024, 9, 23, 10, 0))
    with django_capture_on_commit_callbacks(execute=True):
        run_sweep(now=t(2024, 9, 23, 15, 16))
    red = Notification.objects.filter(kind="call.red_card")
    assert {n.user_id for n in red} == {world.users["operator"].pk, world.users["admin"].pk}
    assert not Notification.objects.filter(
        kind__in=["call.red_card", "call.yellow_card"], user=world.users["handler"]
    ).exists()
    assert call.number in red.first().title


def test_the_new_clock_after_a_granted_return_gets_its_own_cards(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 9, 23, 9, 0))
    step(world, "operator", call, "accept", t(2024, 9, 23, 9, 10))
    assert [a for a, _d in sweep(call, t(2024, 9, 23, 9, 11))] == ["yellow_card"]
    step(world, "operator", call, "dispatch", t(2024, 9, 23, 9, 20), lead=world.orgs["dept"].pk)
    step(world, "handler", call, "request_return", t(2024, 9, 23, 10, 0), reason="不属本部门")
    step(world, "operator", call, "agree_return", t(2024, 9, 23, 14, 0), reason="同意")
    added = sweep(call, t(2024, 9, 23, 14, 1))
    assert [(a, d["clock"], d["deadline"]) for a, d in added] == [
        ("yellow_card", "accept", iso(2024, 9, 24, 8, 45))
    ]
    added = sweep(call, t(2024, 9, 24, 8, 46))
    assert [(a, d["deadline"]) for a, d in added] == [("red_card", iso(2024, 9, 24, 8, 45))]


def test_a_sweep_finds_waiting_calls_by_the_deadline_index(world, new_call, calendar):
    call = approved(world, new_call, t(2024, 9, 23, 10, 0))
    # Weeks before its deadline nothing is examined; on the day, the call is a candidate.
    assert run_sweep(now=t(2024, 9, 1, 10, 0)).examined == 0
    report = run_sweep(now=t(2024, 9, 23, 10, 5))
    assert (report.examined, report.yellow_cards) == (1, 1)
    assert report.actions[0]["call"] == call.number
