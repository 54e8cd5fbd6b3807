"""Scores and rankings from given metrics: missing components, penalties and bounds, the
two-way shares, competition ranking, the minimum volume, red and black lists."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from xianghu.assessment.metrics import Satisfaction, SubjectMetrics
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import DEFAULTS
from xianghu.assessment.scores import Ranking, RankStatus, rank, score_of

MARCH = Period.month(2025, 3)
NOBODY = Satisfaction.of(0, 0, 0, 0, DEFAULTS)


def metrics(kind: str = "department", pk: int = 1, name: str = "甲", **kw) -> SubjectMetrics:
    base = SubjectMetrics(
        subject_id=pk,
        subject_name=name,
        subject_kind=kind,
        parent_id=None,
        host_township_id=7 if kind == "stationed_agency" else None,
        period=MARCH,
        received=0,
        assisting_received=0,
        sign_ok=0,
        sign_late=0,
        sign_rate=None,
        response_ok=0,
        response_failed=0,
        response_rate=None,
        completion_ok=0,
        completion_late=0,
        completion_rate=None,
        overdue=0,
        return_requested=0,
        return_rate=None,
        returns_refused=0,
        returns_approved=0,
        return_refusal_rate=None,
        satisfaction=NOBODY,
        host_satisfaction=NOBODY,
        redo=0,
        redo_rate=None,
        red_cards=0,
        yellow_cards=0,
        supervision_orders=0,
        forms=0,
        forms_total=Decimal(0),
        forms_average=None,
        host_forms=0,
        host_forms_total=Decimal(0),
        host_forms_average=None,
        calls_sent=0 if kind == "township" else None,
        calls_valid=0 if kind == "township" else None,
        calls_invalid=0 if kind == "township" else None,
        calls_pending=0 if kind == "township" else None,
        valid_call_rate=None,
        cooperation_due=0 if kind == "township" else None,
        cooperation_done=0 if kind == "township" else None,
        cooperation_rate=None,
    )
    return replace(base, **kw)


def test_no_data_no_score():
    s = score_of(metrics(red_cards=3), DEFAULTS)
    assert (s.base, s.composite, s.score, s.township_evaluation) == (None, None, None, None)
    assert s.penalties.points == Decimal("6.00")


def test_components_without_data_are_left_out_and_the_weights_scaled():
    # Only responses: base = the response rate.
    s = score_of(metrics(received=4, response_ok=3, response_failed=1), DEFAULTS)
    assert s.base == Decimal("75.00")
    assert [c.counted for c in s.components] == [True, False, False]
    # Responses and completions: (30 × 3/4 + 35 × 1/2) / 65.
    s = score_of(
        metrics(received=4, response_ok=3, response_failed=1, completion_ok=1, completion_late=1),
        DEFAULTS,
    )
    assert s.base == Decimal("61.54")  # 40/65 = 0.615384…


def test_penalties_and_the_bounds():
    m = metrics(
        received=2, response_ok=1, response_failed=1, red_cards=30, returns_refused=2, redo=1
    )
    s = score_of(m, DEFAULTS)
    assert (s.base, s.penalties.points, s.composite, s.score) == (
        Decimal("50.00"),
        Decimal("63.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_the_township_share_of_departments_and_agencies():
    sat = Satisfaction.of(3, 0, 1, 0, DEFAULTS)  # 0.75
    dept = metrics(received=4, response_ok=4, completion_ok=4, satisfaction=sat)
    s = score_of(dept, DEFAULTS)
    # composite = 30 + 35 + 26.25 = 91.25; T = 75 (no forms); ⅔ × 91.25 + ⅓ × 75 = 85.833…
    assert (s.composite, s.township_evaluation, s.score) == (
        Decimal("91.25"),
        Decimal("75.00"),
        Decimal("85.83"),
    )
    assert s.township_share == Decimal("0.3333")
    # Forms only (no evaluation from the host township): T is the forms.
    agency = metrics(
        "stationed_agency",
        received=4,
        response_ok=4,
        completion_ok=4,
        satisfaction=sat,
        host_forms=2,
        host_forms_total=Decimal("150"),
        forms=3,
        forms_total=Decimal("200"),
    )
    s = score_of(agency, DEFAULTS)
    # T = 75 (host forms); ⅖ × 91.25 + ⅗ × 75 = 36.5 + 45 = 81.5
    assert (s.township_evaluation, s.score, s.township_share) == (
        Decimal("75.00"),
        Decimal("81.50"),
        Decimal("0.6000"),
    )
    # Nothing from townships at all: the score is the composite.
    lone = metrics("stationed_agency", received=1, response_ok=1)
    s = score_of(lone, DEFAULTS)
    assert (s.township_evaluation, s.score) == (None, Decimal("100.00"))
    # A county that weighs the townships at 1/2 and the forms at 1.
    policy = replace(DEFAULTS, township_share_department=Fraction(1, 2), form_share=Fraction(1))
    s = score_of(replace(dept, forms=1, forms_total=Decimal(60)), policy)
    assert (s.township_evaluation, s.score) == (Decimal("60.00"), Decimal("75.63"))


def test_the_township_score():
    sat = Satisfaction.of(1, 1, 0, 0, DEFAULTS)
    m = metrics(
        "township",
        calls_sent=8,
        calls_valid=6,
        calls_invalid=1,
        cooperation_due=2,
        cooperation_done=1,
        satisfaction=sat,
    )
    s = score_of(m, DEFAULTS)
    assert [c.key for c in s.components] == ["valid_calls", "cooperation", "satisfaction"]
    assert (s.score, s.volume, s.township_share) == (Decimal("79.29"), 8, None)
    only_valid = score_of(
        metrics("township", calls_sent=3, calls_valid=3, calls_invalid=0), DEFAULTS
    )
    assert only_valid.score == Decimal("100.00")


def scored(pk: int, name: str, score: str | None, volume: int = 10):
    s = score_of(metrics(pk=pk, name=name, received=volume), DEFAULTS)
    return replace(s, score=Decimal(score) if score is not None else None, volume=volume)


def test_competition_ranking_with_ties():
    entries = rank(
        [
            scored(1, "丙", "80.00"),
            scored(2, "甲", "90.00"),
            scored(3, "乙", "80.00"),
            scored(4, "丁", "70.00"),
            scored(5, "戊", "70.00"),
            scored(6, "己", "60.00"),
        ],
        min_volume=5,
    )
    assert [(e.rank, e.score.subject_name) for e in entries] == [
        (1, "甲"),
        (2, "丙"),
        (2, "乙"),
        (4, "丁"),
        (4, "戊"),
        (6, "己"),
    ]


def test_minimum_volume_and_no_data():
    entries = rank(
        [scored(1, "甲", "99"), scored(2, "乙", "50", volume=4), scored(3, "丙", None)],
        min_volume=5,
    )
    assert [(e.rank, e.score.subject_name) for e in entries] == [(1, "甲")]
    assert rank([scored(2, "乙", "50", volume=0)], min_volume=0)[0].rank == 1


def test_red_and_black_lists():
    entries = rank(
        [
            scored(i, n, s)
            for i, (n, s) in enumerate(
                [
                    ("a", "95"),
                    ("b", "90"),
                    ("c", "90"),
                    ("d", "80"),
                    ("e", "70"),
                    ("f", "60"),
                    ("g", "60"),
                ],
                1,
            )
        ],
        min_volume=1,
    )
    ranking = Ranking(1, MARCH, "department", 1, len(entries), tuple(entries))
    assert [e.score.subject_name for e in ranking.red_list(2)] == ["a", "b", "c"]
    assert [e.score.subject_name for e in ranking.black_list(2)] == ["g", "f"]
    assert [e.score.subject_name for e in ranking.black_list(3)] == ["g", "f", "e"]
    # Few subjects: the black list never repeats the red one.
    small = Ranking(1, MARCH, "department", 1, 2, tuple(entries[:2]))
    assert [e.score.subject_name for e in small.black_list(3)] == []
    assert ranking.entry_for(4) is not None
    assert ranking.entry_for(99) is None
    assert entries[0].status == RankStatus.RANKED


def test_rankings_of_several_kinds_equal_one_ranking_per_kind(world):
    from xianghu.assessment.periods import Period
    from xianghu.assessment.scores import ranking_for_period, rankings_for_period

    period = Period.month(2025, 3)
    kinds = ("department", "stationed_agency", "township")
    together = rankings_for_period(county=world.county, period=period, kinds=kinds)
    for kind in kinds:
        alone = ranking_for_period(county=world.county, period=period, subject_kind=kind)
        assert together[kind] == alone
    assert rankings_for_period(county=world.county, period=period, kinds=()) == {}
