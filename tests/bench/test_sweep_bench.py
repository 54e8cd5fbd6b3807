"""The supervision-sweep benchmark (bench/sweep.py) on a tiny data set, so that the script
cannot rot: the generated calls agree with the product's clock functions, the first
sweep at the benchmark's moment issues exactly the planted due set and the idle sweep
writes nothing, with the same number of queries whatever the number of open calls. The
check is also shown to fail when the data disagree."""

from __future__ import annotations

import pytest

from bench import sweep_lib as lib
from xianghu.calls.models import Call, CallEvent
from xianghu.calls.workflow import OPEN
from xianghu.demo import bulk

SEED = 11
DUE, NEAR = 30, 12


def _round(expected: dict[str, int]) -> lib.Round:
    before = CallEvent.objects.count()
    result = lib.sweep_round(expected=expected)
    assert CallEvent.objects.count() == before  # rolled back
    return result


def test_the_sweep_issues_the_planted_due_set_and_its_cost_does_not_grow_with_open_calls(db):
    county = bulk.build_county(seed=SEED)
    cast = bulk.load_cast(county=county, seed=SEED)
    small = lib.build(cast, open_calls=300, due=DUE, near=NEAR, seed=SEED, chunk_size=120)
    assert small.rows["Call"] == Call.objects.count() == 300
    assert Call.objects.exclude(state__in=OPEN).count() == 0
    assert small.rows["CallEvent"] == CallEvent.objects.count() > 300 * 8
    # Every kind of action is planted, each recipe at least once.
    assert set(small.expected) == set(lib.ACTIONS)
    assert sum(small.kinds.values()) == DUE + NEAR
    sample = lib.check_sample(size=120, seed=SEED)
    assert sample.calls > 90

    first = _round(small.expected)
    assert lib.issued(first.first_report) == small.expected
    assert first.first_report.examined >= DUE + NEAR
    assert first.idle_counts.writes == 0
    assert first.first_counts.writes > 0

    # Ten times the open calls (filler only), the same due set: the same work.
    lib.build(cast, open_calls=2700, due=0, near=0, seed=SEED + 1, chunk_size=1000)
    assert Call.objects.count() == 3000
    big = _round(small.expected)
    assert big.first_counts.queries == first.first_counts.queries
    assert big.idle_counts.queries == first.idle_counts.queries
    assert big.first_report.examined == first.first_report.examined
    assert big.idle_report.examined == first.idle_report.examined
    if lib.connection.vendor == "postgresql":
        assert lib.index_rows(big.first_stats) > 0

    # The check notices a due call the sweep cannot find (its clock columns cleared).
    red = next(a for a in first.first_report.actions if a["action"] == lib.RED)
    Call.objects.filter(number=red["call"]).update(next_deadline=None, remind_at=None)
    with pytest.raises(lib.Mismatch, match="issued"):
        lib.sweep_round(expected=small.expected)


def test_the_same_seed_plants_the_same_due_set(db):
    county = bulk.build_county(seed=SEED)
    cast = bulk.load_cast(county=county, seed=SEED)
    sets = lib.Sets(lib.Player(cast))
    one = sets.special(due=14, near=2, seed=SEED)
    two = lib.Sets(lib.Player(cast)).special(due=14, near=2, seed=SEED)
    assert [life.events for life in one] == [life.events for life in two]
    assert [life.expected for life in one] == [lib.owed(life) for life in two]
    # Every due call owes something at T and is a candidate; the near ones owe nothing.
    assert all(life.expected and lib.candidate(life) for life in one[:14])
    assert all(not life.expected and lib.candidate(life) for life in one[14:])
