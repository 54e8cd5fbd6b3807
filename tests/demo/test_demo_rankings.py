"""The demo history makes the rankings (红黑榜) meaningful: a month of it ranks every kind of
subject with a red and a black list, and the townships' periodic forms give the two-way
score both of its halves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from xianghu.assessment import rollup
from xianghu.assessment.access import SUBJECT_KINDS
from xianghu.assessment.models import DispatchFact, EventFact, PeriodicEvaluation, SubmissionFact
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import DEFAULTS
from xianghu.assessment.scores import RankStatus, rankings_for_period
from xianghu.core.workdays import CHINA_TZ
from xianghu.demo.assessment import build_demo_forms
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import COUNTY_CODE, PROVINCE_CODE, build_demo_county
from xianghu.demo.history import FLOOR_AGENCIES, build_demo_history
from xianghu.regions.models import Region
from xianghu.regions.roles import OrgKind

# A one-month history from 1 June: June 2026 is its last full month (a Wednesday morning).
UNTIL = datetime(2026, 7, 1, 10, 0, tzinfo=CHINA_TZ)
JUNE = Period.month(2026, 6)


@pytest.fixture
def county(db: Any) -> Region:
    build_demo_county()
    county = Region.objects.get(code=COUNTY_CODE)
    build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
    return county


def _rollup(county: Region) -> list[list[tuple[Any, ...]]]:
    """Every roll-up row of the county, without database ids."""
    rows = []
    for model in (DispatchFact, EventFact, SubmissionFact):
        names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows.append(sorted(model.objects.filter(call__county=county).values_list(*names)))
    return rows


@pytest.mark.django_db
def test_a_month_of_history_ranks_every_kind_of_subject(county: Region) -> None:
    summary = build_demo_history(county=county, months=1, until=UNTIL)
    assert summary.problems == ()
    # The roll-up, folded once at the end of the history, is what a rebuild gives.
    folded = _rollup(county)
    assert folded[0]
    rollup.rebuild(county_id=county.pk)
    assert _rollup(county) == folded

    forms = build_demo_forms(county=county, until=UNTIL)
    assert not forms.skipped
    assert forms.months == (JUNE.key,)
    stored = PeriodicEvaluation.objects.filter(county=county)
    assert forms.forms == stored.filter(period_key=JUNE.key).count() == stored.count() > 0
    assert stored.exclude(grade="").exists()  # some townships grade,
    assert stored.filter(grade="").exists()  # others score
    assert stored.exclude(comment="").exists()

    rankings = rankings_for_period(county=county, period=JUNE, kinds=SUBJECT_KINDS)
    for kind, ranking in rankings.items():
        assert ranking.min_volume == DEFAULTS.min_volume
        assert ranking.ranked_count >= 3, kind
        red, black = ranking.red_list(), ranking.black_list()
        if ranking.ranked_count > 3:
            assert red, kind
            assert black, kind
            assert {e.score.subject_id for e in red}.isdisjoint(e.score.subject_id for e in black)
            assert min(e.score.score or 0 for e in red) > max(e.score.score or 0 for e in black)

    # Every department the list or the stories send calls to is ranked; 发展和改革局 leads
    # nothing and shows "no data".
    departments = rankings[OrgKind.DEPARTMENT]
    unranked = [e for e in departments.entries if e.rank is None]
    assert [(e.score.subject_name, e.status) for e in unranked] == [
        ("清河县发展和改革局", RankStatus.NO_DATA)
    ]
    agencies = rankings[OrgKind.STATIONED_AGENCY]
    assert agencies.ranked_count >= len(FLOOR_AGENCIES)
    townships = rankings[OrgKind.TOWNSHIP]
    assert townships.ranked_count == len(townships.entries) == 12
    assert len({e.score.score for e in townships.entries}) >= 3  # the townships differ

    # Both halves of the townships' evaluation: every ranked department and agency has
    # forms (an agency: from its host township), and most have per-call ratings too.
    ranked = [e.score for e in (*departments.entries, *agencies.entries) if e.rank is not None]
    for score in ranked:
        m = score.metrics
        assert (m.host_forms if m.subject_kind == OrgKind.STATIONED_AGENCY else m.forms) > 0
        assert score.township_evaluation is not None
    both = [
        s
        for s in ranked
        if (
            s.metrics.host_satisfaction
            if s.subject_kind == OrgKind.STATIONED_AGENCY
            else s.metrics.satisfaction
        ).counted
    ]
    assert len(both) > len(ranked) / 2

    # Built once.
    again = build_demo_forms(county=county, until=UNTIL)
    assert again.skipped
    assert again.forms == forms.forms
    assert PeriodicEvaluation.objects.filter(county=county).count() == forms.forms
