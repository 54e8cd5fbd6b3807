"""The overdue board (/calls/overdue/): 50 calls a page, filters by township,
department, clock and card, the platform's own clock, and a query count that does not
grow with the calls shown."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xianghu.calls.models import Call, CallEvent, Dispatch
from xianghu.calls.supervision import BOARD_PAGE_SIZE, BoardFilters

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
_serial = iter(range(1, 1_000_000))


def make(
    world,
    *,
    n: int = 1,
    caller: str = "t1",
    lead: str | None = "dept",
    clock: str = "sign",
    late: bool = True,
    offset: timedelta = timedelta(0),
) -> list[Call]:
    """`n` open calls (rows only) whose running clock `clock` ends an hour ago (`late`)
    or in a minute, each `offset` further, led by `lead`."""
    now = timezone.now()
    due = now - timedelta(hours=1) if late else now + timedelta(minutes=1)
    calls = []
    for i in range(n):
        number = f"B{next(_serial):08d}"
        when = due + offset * i
        call = Call.objects.create(
            number=number,
            county=world.county,
            caller=world.orgs[caller],
            location=world.t1,
            title=f"逾期呼叫{number}",
            description="逾期呼叫",
            state={"accept": "approved", "sign": "dispatched"}.get(clock, "in_progress"),
            state_changed_at=now - timedelta(days=1),
            created_at=now - timedelta(days=1),
            next_deadline=when,
            accept_due=when if clock == "accept" else None,
        )
        if lead is not None and clock != "accept":
            done = now - timedelta(hours=2)
            Dispatch.objects.create(
                call=call,
                organisation=world.orgs[lead],
                role="lead",
                dispatched_at=now - timedelta(days=1),
                sign_due=when if clock == "sign" else done,
                respond_due=when if clock == "respond" else done,
                complete_due=when if clock == "complete" else now + timedelta(days=5),
                signed_at=None if clock == "sign" else done,
                responded_at=None if clock in ("sign", "respond") else done,
            )
        calls.append(call)
    return calls


def numbers(html: str) -> list[str]:
    return re.findall(r'data-testid="board-row" data-number="([^"]+)"', html)


def page(client, **query) -> str:
    r = client.get("/calls/overdue/", query, **EN)
    assert r.status_code == 200
    return r.content.decode()


def test_fifty_calls_a_page_earliest_first(world, client):
    calls = make(world, n=BOARD_PAGE_SIZE + 10, offset=timedelta(seconds=1))
    world.login(client, "operator")
    first = page(client)
    assert numbers(first) == [c.number for c in calls[:50]]
    assert "60 calls" in first
    assert 'data-testid="next-page"' in first
    assert "Page 1 of 2" in first
    second = page(client, page=2)
    assert numbers(second) == [c.number for c in calls[50:]]
    assert 'data-testid="previous-page"' in second
    # A page out of range shows the last one; a page that is not a number, the first.
    assert numbers(page(client, page=9)) == numbers(second)
    assert numbers(page(client, page="x")) == numbers(first)


def test_the_pages_keep_the_filters(world, client):
    make(world, n=BOARD_PAGE_SIZE + 1, caller="t2")
    make(world, n=3, caller="t1")
    world.login(client, "operator")
    html = page(client, township=world.orgs["t2"].pk)
    assert len(numbers(html)) == 50
    assert f"township={world.orgs['t2'].pk}&amp;page=2" in html
    assert len(numbers(page(client, township=world.orgs["t2"].pk, page=2))) == 1


def test_the_filters(world, client):
    t1_sign = make(world, caller="t1", clock="sign")
    t2_respond = make(world, caller="t2", clock="respond", lead="police")
    t1_complete_soon = make(world, caller="t1", clock="complete", late=False)
    waiting = make(world, caller="t2", clock="accept")
    world.login(client, "operator")

    def shown(**query) -> set[str]:
        return set(numbers(page(client, **query)))

    every = {c.number for c in t1_sign + t2_respond + t1_complete_soon + waiting}
    assert shown() == every
    assert shown(township=world.orgs["t1"].pk) == {t1_sign[0].number, t1_complete_soon[0].number}
    assert shown(department=world.orgs["police"].pk) == {t2_respond[0].number}
    assert shown(clock="accept") == {waiting[0].number}
    assert shown(clock="sign") == {t1_sign[0].number}
    assert shown(clock="respond") == {t2_respond[0].number}
    assert shown(clock="complete") == {t1_complete_soon[0].number}
    assert shown(card="yellow") == {t1_complete_soon[0].number}
    assert shown(card="red") == every - {t1_complete_soon[0].number}
    assert shown(township=world.orgs["t2"].pk, card="red", clock="accept") == {waiting[0].number}
    # Values that mean nothing do not filter.
    assert shown(clock="lunch", card="blue", township="t1", department="-3") == every


def test_a_two_way_call_is_found_by_the_township_called(world, client):
    [call] = make(world, caller="dept", lead="t2", clock="respond")
    Call.objects.filter(pk=call.pk).update(direction="down", callee=world.orgs["t2"])
    world.login(client, "operator")
    assert numbers(page(client, township=world.orgs["t2"].pk)) == [call.number]
    assert numbers(page(client, township=world.orgs["t1"].pk)) == []


def test_the_platform_clock_on_the_board(world, client):
    [call] = make(world, clock="accept")
    world.login(client, "operator")
    html = page(client)
    row = html[html.index(f'data-number="{call.number}"') :]
    row = row[: row.index("</li>")]
    assert "acceptance and dispatch" in row
    assert "overdue since" in row
    assert 'data-testid="filter-clock"' in html
    assert "Accept and dispatch (platform)" in html


def test_the_cards_of_each_call(world, client):
    [call] = make(world, clock="complete")
    now = timezone.now()
    for seq, (action, data) in enumerate(
        [
            ("remind", {"automatic": True, "clock": "complete"}),
            ("remind", {}),
            ("yellow_card", {"clock": "complete"}),
            ("red_card", {"clock": "complete"}),
            ("supervise", {"clock": "complete", "reason": "overdue"}),
        ],
        start=1,
    ):
        CallEvent.objects.create(
            call=call,
            seq=seq,
            action=action,
            from_state="in_progress",
            to_state="in_progress",
            party="system",
            at=now,
            data=data,
        )
    world.login(client, "operator")
    html = page(client)
    assert re.findall(r'data-action="([a-z_]+)"', html) == [
        "remind",
        "remind",
        "yellow_card",
        "red_card",
        "supervise",
    ]
    assert "Remind (催办), automatic" in html


def test_filter_choices_are_the_countys(world, client):
    world.login(client, "operator")
    html = page(client)
    for key in ("t1", "t2", "dept", "police"):
        assert f'value="{world.orgs[key].pk}"' in html, key
    assert f'value="{world.orgs["tb"].pk}"' not in html  # another county's township
    assert f'value="{world.orgs["platform"].pk}"' not in html


def test_a_department_leader_sees_the_calls_of_the_department(world, client):
    ours = make(world, lead="dept", clock="respond")
    make(world, lead="police", clock="respond")
    world.login(client, "dleader")
    assert numbers(page(client)) == [ours[0].number]


@pytest.mark.parametrize("user", ["reporter", "handler", "assessor", "citizen"])
def test_the_board_is_for_operators_and_leaders(world, client, user):
    world.login(client, user)
    assert client.get("/calls/overdue/").status_code == 403


def test_the_board_filters_are_read_safely():
    assert BoardFilters.from_query({"township": "12", "clock": "sign", "card": "red"}) == (
        BoardFilters(township=12, clock="sign", card="red")
    )
    assert BoardFilters.from_query({"township": "x", "department": "", "clock": "x"}) == (
        BoardFilters()
    )


def test_the_query_count_does_not_grow_with_the_calls(world, client):
    world.login(client, "operator")

    def measured(**query) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            html = page(client, **query)
        return len(numbers(html)), len(queries)

    make(world, n=3, clock="sign")
    make(world, n=1, clock="accept")
    page(client)  # warm (session, caches)
    shown, few = measured()
    assert shown == 4
    # Session, user, memberships (2), holidays, count, calls, their leads, their events,
    # the filter choices, calendar coverage.
    assert few <= 11
    calls = make(world, n=70, clock="complete", lead="police")
    for call in calls[:40]:
        CallEvent.objects.create(
            call=call,
            seq=1,
            action="red_card",
            from_state="in_progress",
            to_state="in_progress",
            party="system",
            at=datetime.now(tz=timezone.get_current_timezone()),
            data={"clock": "complete"},
        )
    shown, many = measured()
    assert shown == 50
    assert many == few
    # Filtered, and the second page: no more queries either.
    assert measured(department=world.orgs["police"].pk, clock="complete", page=2) == (20, few)
