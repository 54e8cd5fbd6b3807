"""Possible duplicates of a call (`routing.duplicates`): what counts as one, which calls
may be candidates (state, county, window, visibility) and that the database narrows
them in one query."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.calls import services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.routing import duplicates
from xianghu.routing.duplicates import call_duplicates, text_duplicates

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 6, 10, 10, 0, tzinfo=CST)
_numbers = itertools.count(1)

# One problem written up by two reporters, and other problems of the same kinds.
STRAW = (
    "村东头有人焚烧秸秆",
    "村东麦地里有人焚烧秸秆，浓烟很大，影响附近道路通行，请尽快派人处置。",
)
STRAW_AGAIN = (
    "麦田焚烧秸秆浓烟滚滚",
    "网格员发现村东侧麦田起火，系村民焚烧麦茬，浓烟飘到省道上，能见度低。",
)
FACTORY = ("鑫源塑料厂车间安全出口堵塞", "鑫源塑料制品厂车间安全出口被原料堵死，灭火器过期。")
BUILDING = ("村民违规建房", "村民张某未经审批在村东扩建三层楼房，占用道路。")


@pytest.fixture(autouse=True)
def _english():
    # the reasons are compared with their English msgids
    with translation.override("en"):
        yield


def make(world, lists, text, *, code="D1-01", location=None, at=NOW, state=State.SUBMITTED, **kw):
    """A call written straight to the database (the selectors only read)."""
    title, description = text
    item = catalog_selectors.item_get(version=lists.version, code=code) if code else None
    county = kw.pop("county", world.county)
    return Call.objects.create(
        number=f"T{next(_numbers):08d}",
        county=county,
        caller=kw.pop("caller", world.orgs["t1"]),
        title=title,
        description=description,
        location=location or world.orgs["v1"].region,
        item=item,
        out_of_list=item is None,
        state=state,
        state_changed_at=at,
        created_at=at,
        **kw,
    )


def found(actor_key, world, call, **kw):
    return {d.call.pk: d for d in call_duplicates(actor=as_(world, actor_key), call=call, **kw)}


def test_another_report_of_the_same_problem_is_a_duplicate(world, lists):
    first = make(world, lists, STRAW, code="D2-09", at=NOW - timedelta(days=1))
    again = make(world, lists, STRAW_AGAIN, code="D2-09")
    [dup] = call_duplicates(actor=as_(world, "operator"), call=again)
    assert dup.call == first
    assert duplicates.THRESHOLD <= dup.score <= 1
    assert dup.reasons[:3] == ("same item", "same village", "1 day apart")
    assert dup.reasons[3].startswith("text ")
    assert dup.reasons[3].endswith("% alike")
    # The other way round too, and for a text not saved yet.
    assert [d.call for d in call_duplicates(actor=as_(world, "operator"), call=first)] == [again]
    unsaved = text_duplicates(
        actor=as_(world, "operator"),
        county=world.county,
        text="\n".join(STRAW_AGAIN),
        location=world.orgs["v1"].region,
        item=first.item,
        at=NOW,
    )
    assert {d.call for d in unsaved} == {first, again}


def test_other_problems_are_not_duplicates(world, lists):
    t2_village = f.village(world.t2, 1)
    call = make(world, lists, STRAW, code="D2-09")
    # The same kind of problem in another township, a different problem in the same
    # village, and one with the same item in the same village but other words.
    make(world, lists, STRAW_AGAIN, code="D2-09", location=t2_village)
    make(world, lists, FACTORY, code="D1-01")
    make(world, lists, BUILDING, code="D2-09", at=NOW - timedelta(days=20))
    assert call_duplicates(actor=as_(world, "operator"), call=call) == []


def test_a_near_copy_in_the_same_township_ranks_by_score(world, lists):
    v2 = f.village(world.t1, 2)
    call = make(world, lists, FACTORY)
    same_village = make(world, lists, FACTORY, at=NOW - timedelta(days=2))
    next_village = make(world, lists, FACTORY, location=v2, at=NOW - timedelta(days=2))
    at_township = make(world, lists, FACTORY, code=None, location=world.t1)
    ranked = call_duplicates(actor=as_(world, "operator"), call=call)
    assert [d.call for d in ranked] == [same_village, next_village, at_township]
    assert ranked[1].reasons[:2] == ("same item", "same township")
    assert "same item" not in ranked[2].reasons
    assert ranked[0].score > ranked[1].score > ranked[2].score
    assert len(call_duplicates(actor=as_(world, "operator"), call=call, limit=1)) == 1


@pytest.mark.parametrize(
    ("state", "candidate"),
    [
        (State.SUBMITTED, True),
        (State.APPROVED, True),
        (State.ACCEPTED, True),
        (State.DISPATCHED, True),
        (State.SIGNED, True),
        (State.IN_PROGRESS, True),
        (State.REOPENED, True),
        (State.DRAFT, False),
        (State.RETURNED, False),
        (State.RETURN_REQUESTED, False),
        (State.DISPUTED, False),
        (State.AWAITING_EVALUATION, False),
        (State.CLOSED, False),
        (State.MERGED, False),
        (State.CANCELLED, False),
    ],
)
def test_only_calls_a_call_can_be_merged_into_are_candidates(world, lists, state, candidate):
    other = make(world, lists, STRAW, state=state)
    call = make(world, lists, STRAW)
    assert (other.pk in found("operator", world, call)) is candidate
    # The same set as the merge effect accepts (calls.services).
    assert (state in duplicates.MERGE_TARGET_STATES) is candidate


def test_the_window_and_the_county_bound_the_candidates(world, lists):
    call = make(world, lists, STRAW)
    inside = make(world, lists, STRAW, at=NOW - timedelta(days=29))
    later = make(world, lists, STRAW, at=NOW + timedelta(days=3))
    make(world, lists, STRAW, at=NOW - timedelta(days=31))
    # Word for word the same, but in the other county: never, not even for an
    # administrator who sees every call.
    elsewhere = make(
        world,
        lists,
        STRAW,
        county=world.other_county,
        caller=world.orgs["tb"],
        location=world.orgs["tb"].region,
    )
    assert set(found("admin", world, call)) == {inside.pk, later.pk}
    assert set(found("admin", world, call, window_days=60)) >= {inside.pk}
    assert elsewhere.pk not in found("admin", world, call, window_days=365)


def test_a_call_the_actor_cannot_see_is_never_a_duplicate(world, lists):
    t2_village = f.village(world.t2, 1)
    theirs = make(world, lists, FACTORY)  # 王庄镇's call
    ours = make(world, lists, FACTORY, caller=world.orgs["t2"], location=t2_village)
    assert theirs.pk in found("operator", world, ours)
    # 柳林镇's reporter sees only 柳林镇's calls.
    assert found("reporter_t2", world, ours) == {}
    assert theirs.pk not in found("reporter_t2", world, ours)
    # A department sees only what was dispatched to it.
    assert found("handler", world, ours) == {}


def test_the_platform_can_merge_into_what_is_found(world, lists):
    def new(text):
        call, _ = services.call_create(
            actor=as_(world, "reporter"),
            caller=world.orgs["t1"],
            draft=CallDraft(
                title=text[0],
                description=text[1],
                location=world.orgs["v1"].region,
                item=catalog_selectors.item_get(version=lists.version, code="D2-09"),
            ),
        )
        for key, action in (("reporter", "submit"), ("tleader", "approve")):
            services.call_transition(actor=as_(world, key), call=call, action=action, data={})
        return call

    first, again = new(STRAW), new(STRAW_AGAIN)
    [dup] = call_duplicates(actor=as_(world, "operator"), call=again)
    services.call_transition(
        actor=as_(world, "operator"), call=again, action="merge", data={"into": dup.call.pk}
    )
    again.refresh_from_db()
    assert again.state == State.MERGED
    assert again.merged_into == first
    # A merged call is no longer a candidate for anything.
    assert call_duplicates(actor=as_(world, "operator"), call=first) == []


def test_the_candidates_are_read_in_one_query(world, lists, django_assert_num_queries):
    v2 = f.village(world.t1, 2)
    rows = []
    for n in range(300):
        rows.append(
            Call(
                number=f"B{n:08d}",
                county=world.county,
                caller=world.orgs["t1"],
                title=f"{FACTORY[0]}{n}",
                description=FACTORY[1] if n % 3 else BUILDING[1],
                location=v2 if n % 2 else world.orgs["v1"].region,
                item=catalog_selectors.item_get(version=lists.version, code="D1-01"),
                state=State.IN_PROGRESS,
                state_changed_at=NOW,
                created_at=NOW - timedelta(hours=n),
            )
        )
    Call.objects.bulk_create(rows)
    call = make(world, lists, FACTORY)
    actor = as_(world, "operator")
    fresh = Call.objects.select_related("location").get(pk=call.pk)
    with django_assert_num_queries(1):
        result = call_duplicates(actor=actor, call=fresh)
    assert len(result) == 5
    assert all(d.score >= duplicates.THRESHOLD for d in result)
    # Without its place loaded, one query more.
    plain = Call.objects.get(pk=call.pk)
    with django_assert_num_queries(2):
        call_duplicates(actor=actor, call=plain)


def test_nothing_to_compare(world, lists):
    call = make(world, lists, STRAW)
    assert call_duplicates(actor=as_(world, "operator"), call=call) == []
    assert text_duplicates(actor=as_(world, "operator"), county=world.county, text="  ，。 ") == []
