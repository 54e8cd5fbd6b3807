"""The demo county's call history: driven through the real workflow, plausible, varied,
deterministic and built once."""

from __future__ import annotations

import io
import itertools
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from xianghu.calls import services
from xianghu.calls.models import (
    Call,
    CallEvent,
    Direction,
    Dispatch,
    DispatchRole,
    EventOutbox,
    Urgency,
)
from xianghu.calls.outbox import outbox_relay
from xianghu.calls.workflow import OPEN, State, replay
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import Conflict, InvalidInput
from xianghu.core.workdays import CHINA_TZ, HolidayCalendar
from xianghu.demo import stories
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county
from xianghu.demo.history import (
    FAST,
    PACES,
    SLOW,
    _months_before,
    build_demo_history,
    history_calls,
)
from xianghu.notify.models import Notification, WebhookDelivery
from xianghu.regions.models import Region
from xianghu.regions.roles import OrgKind, RegionKind, RegionLevel
from xianghu.regions.services import region_upsert

# A fixed end keeps the history the same on every run (a Tuesday evening).
UNTIL = datetime(2026, 6, 30, 18, 0, tzinfo=CHINA_TZ)
SWEEP_ACTIONS = {"yellow_card", "red_card", "supervise", "auto_close"}
OFFICE_HOURS = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))


@pytest.fixture
def county(db: Any) -> Region:
    build_demo_county()
    county = Region.objects.get(code=COUNTY_CODE)
    build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
    return county


def _fingerprint(county: Region) -> list[tuple[Any, ...]]:
    """Every call and its events, without database ids (which differ between runs)."""
    rows = []
    for call in history_calls(county).order_by("created_at", "title"):
        events = tuple(
            (e.action, e.at, e.from_state, e.to_state, e.party) for e in call.events.order_by("seq")
        )
        rows.append((call.title, call.created_at, call.state, call.urgency, events))
    return rows


def _in_office_hours(moment: datetime, calendar: HolidayCalendar) -> bool:
    local = moment.astimezone(CHINA_TZ)
    return calendar.is_working_day(local.date()) and any(
        start <= local.time() <= end for start, end in OFFICE_HOURS
    )


@pytest.mark.django_db
def test_history_is_deterministic_replays_and_has_every_kind_of_call(
    county: Region, django_capture_on_commit_callbacks: Any
) -> None:
    # Deterministic: the same seed and end give the same history (ids aside).
    with transaction.atomic():
        build_demo_history(county=county, months=1, until=UNTIL)
        first = _fingerprint(county)
        transaction.set_rollback(True)
    assert not Call.objects.exists()
    # The stories name items and departments of the demo list.
    version = catalog_selectors.county_version_in_force(county=county)
    assert version is not None
    codes = set(version.items.values_list("code", flat=True))
    for story in (*stories.STORIES, *stories.TWO_WAY):
        assert story.code in codes, story.code
    hooks = list(services.AFTER_COMMIT)
    # Run the after-commit effects as a commit would: nobody is told of the past, now or
    # later by the outbox's relay.
    with django_capture_on_commit_callbacks(execute=True):
        summary = build_demo_history(county=county, months=1, until=UNTIL)
    assert _fingerprint(county) == first
    assert summary.problems == ()
    assert not summary.skipped
    calls = history_calls(county)
    events = CallEvent.objects.filter(call__in=calls)
    # About 2.2 calls a working day, topped up so that every subject has enough to rank.
    assert 100 <= summary.calls == calls.count() <= 180
    assert summary.events == events.count()
    assert not EventOutbox.objects.exists()
    assert outbox_relay(now=UNTIL + timedelta(days=400)).done == 0
    assert not Notification.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert hooks == services.AFTER_COMMIT

    # Every stored state is what the log replays to; seqs run 1..n, times never go back.
    for call in calls.prefetch_related("events"):
        log = sorted(call.events.all(), key=lambda e: e.seq)
        assert [e.seq for e in log] == list(range(1, len(log) + 1))
        assert replay((e.action, e.data) for e in log) == call.state, call.number
        assert all(a.at <= b.at for a, b in itertools.pairwise(log)), call.number
        assert log[0].action == "create"
        assert log[0].at == call.created_at

    # No event lies in the future; people act in office hours on working days (urgent
    # calls around the clock); the system party only sweeps.
    start = _months_before(UNTIL, 1)
    assert summary.start == start
    assert not events.filter(at__gt=UNTIL).exists()
    assert not calls.filter(created_at__lt=start).exists()
    calendar = HolidayCalendar.load(UNTIL.year - 1, UNTIL.year)
    people = events.filter(actor__isnull=False).exclude(call__urgency=Urgency.URGENT)
    odd = [(e.call.number, e.action, e.at) for e in people.select_related("call")]
    odd = [row for row in odd if not _in_office_hours(row[2], calendar)]
    assert odd == []
    system = events.filter(actor__isnull=True)
    assert (
        SWEEP_ACTIONS <= set(system.values_list("action", flat=True)) <= SWEEP_ACTIONS | {"remind"}
    )
    # Where the sweep reminds (催办) too, its reminders are marked automatic.
    assert all(e.data.get("automatic") for e in system.filter(action="remind"))

    # Every turn a call can take is there.
    actions = Counter(events.values_list("action", flat=True))
    for action in (
        "send_back", "reject", "withdraw", "merge", "request_return", "agree_return",
        "refuse_return", "rule", "request_extension", "remind", "note", "auto_close",
    ):  # fmt: skip
        assert actions[action] >= 1, action
    assert actions["yellow_card"] > actions["red_card"] >= 3
    decisions = [e.data["approve"] for e in events.filter(action="decide_extension")]
    assert True in decisions
    assert False in decisions
    evaluations = Counter(e.data["evaluation"] for e in events.filter(action="evaluate"))
    assert evaluations["satisfied"] > evaluations["unsatisfied"] >= 2
    assert events.filter(action="supervise", data__reason="overdue").exists()
    assert events.filter(action="supervise", data__reason="reopened").exists()
    assert events.filter(action="auto_close", data__default_evaluation=True).exists()

    states = Counter(calls.values_list("state", flat=True))
    assert states[State.CLOSED] > calls.count() / 2
    assert states[State.MERGED] >= 1
    assert states[State.CANCELLED] >= 1
    merged = calls.filter(state=State.MERGED).select_related("merged_into")
    assert all(c.merged_into is not None and c.merged_into.location == c.location for c in merged)
    assert calls.filter(reopen_count__gte=1).exists()
    assert calls.filter(reopen_count__gte=2).exists()
    open_now = calls.filter(state__in=OPEN)
    assert 3 <= open_now.count() <= calls.count() / 3  # the calls of the last days
    assert open_now.filter(next_deadline__lt=UNTIL).count() == summary.overdue >= 1

    # Two-way, out-of-list and assistance calls; dispatches to stationed agencies.
    two_way = calls.filter(direction=Direction.DOWN)
    assert two_way.filter(state=State.CLOSED).exists()
    assert all(c.callee is not None and c.callee.kind == OrgKind.TOWNSHIP for c in two_way)
    assert calls.filter(out_of_list=True, item__isnull=True).exists()
    assert calls.filter(assist_only=True).exists()
    leads = Dispatch.objects.filter(call__in=calls, role=DispatchRole.LEAD)
    assert leads.filter(organisation__kind=OrgKind.STATIONED_AGENCY).exists()
    assert Dispatch.objects.filter(call__in=calls, role=DispatchRole.ASSISTING).exists()
    assert Counter(calls.values_list("urgency", flat=True)).keys() == set(Urgency.values)

    # The slow departments collect more red cards per dispatch than the fast ones, so the
    # rankings differ.
    def red_cards_per_dispatch(pace: Any) -> float:
        names = {name for name, p in PACES.items() if p is pace}
        mine = leads.filter(organisation__short_name__in=names)
        ids = set(mine.values_list("organisation_id", flat=True))
        cards = [e for e in events.filter(action="red_card") if e.data["organisation"] in ids]
        return len(cards) / max(1, mine.count())

    assert red_cards_per_dispatch(SLOW) > red_cards_per_dispatch(FAST)

    # The documented accounts have work to look at: the first township calls most, and
    # 应急管理局 handles calls.
    callers = Counter(calls.values_list("caller__name", flat=True))
    assert callers.most_common(1)[0][0] == "城关街道办事处"
    assert leads.filter(organisation__short_name="应急管理局").exists()

    # Built once: a second run leaves the history alone.
    assert build_demo_history(county=county, months=1, until=UNTIL).skipped
    assert _fingerprint(county) == first


@pytest.mark.django_db
def test_demo_county_command_builds_the_history_once() -> None:
    call_command("demo_county", "--quiet", "--no-history")
    assert not Call.objects.exists()
    call_command("demo_county", "--quiet", "--history-months", "1")
    county = Region.objects.get(code=COUNTY_CODE)
    calls, events = history_calls(county).count(), CallEvent.objects.count()
    assert calls > 0
    assert events > calls
    out = io.StringIO()
    call_command("demo_county", "--history-months", "1", stdout=out)
    assert history_calls(county).count() == calls
    assert CallEvent.objects.count() == events
    assert f"呼叫历史: {calls} calls" in out.getvalue()
    assert "(built before)" in out.getvalue()
    # Every call was made under the list in force at the time (the demo list is dated
    # back for the history).
    for created in history_calls(county).values_list("created_at", flat=True):
        assert catalog_selectors.county_version_in_force(county=county, at=created) is not None


@pytest.mark.parametrize("months", [0, 13])
def test_months_are_bounded(months: int) -> None:
    with pytest.raises(InvalidInput) as error:
        build_demo_history(county=Region(code=COUNTY_CODE), months=months, until=UNTIL)
    assert error.value.code == "demo.invalid_months"


def test_end_needs_a_time_zone() -> None:
    with pytest.raises(InvalidInput) as error:
        build_demo_history(county=Region(code=COUNTY_CODE), until=datetime(2026, 6, 30))
    assert error.value.code == "demo.invalid_until"


@pytest.mark.django_db
def test_a_county_without_a_list_gets_no_history() -> None:
    province = region_upsert(
        code="370000", name="山东省", level=RegionLevel.PROVINCE, kind=RegionKind.PROVINCE
    )
    city = region_upsert(
        code="371200", name="鲁中市", level=RegionLevel.CITY, kind=RegionKind.CITY, parent=province
    )
    county = region_upsert(
        code="371299", name="空县", level=RegionLevel.COUNTY, kind=RegionKind.COUNTY, parent=city
    )
    with pytest.raises(Conflict) as error:
        build_demo_history(county=county, months=1, until=UNTIL)
    assert error.value.code == "demo.no_list"
    assert not Call.objects.exists()


def test_every_story_fills_in() -> None:
    slots = {"t": "王庄镇", "v": "柳林村", "road": "人民路", "road2": "建设路", "co": "某厂",
             "who": "王某", "n": "12"}  # fmt: skip
    for story in (*stories.STORIES, *stories.OUT_OF_LIST, *stories.TWO_WAY):
        assert 0 < len(stories.fill(story.title, slots)) <= 100
        assert 0 < len(stories.fill(story.description, slots)) <= 4000
    for address in stories.ADDRESSES:
        assert stories.fill(address, slots)
    assert all(s.department for s in stories.OUT_OF_LIST)


def test_the_history_starts_whole_months_back() -> None:
    assert _months_before(UNTIL, 1) == datetime(2026, 5, 30, tzinfo=CHINA_TZ)
    assert _months_before(datetime(2026, 3, 31, 9, tzinfo=CHINA_TZ), 4) == datetime(
        2025, 11, 30, tzinfo=CHINA_TZ
    )
