"""The assessment ranking benchmark (bench/assessment_ranking.py, docs/benchmarks.md) on a
tiny data set, so that the script cannot rot: the generator writes legal call logs whose
roll-up the live refresh path reproduces, and the hand-written SQL agrees with the app's
rankings (on SQLite with floats, on PostgreSQL exactly). Each check is also shown to fail
when the data disagree."""

from __future__ import annotations

import pytest

from bench import assessment_ranking_lib as lib
from xianghu.assessment.access import SUBJECT_KINDS
from xianghu.assessment.models import DispatchFact, StepState
from xianghu.assessment.periods import Period
from xianghu.calls.models import Call, CallEvent
from xianghu.calls.workflow import State
from xianghu.regions.models import Organisation

SEED = 7


@pytest.fixture
def dataset(db):
    county = lib.build_county(seed=SEED)
    cast = lib.load_cast(county=county, seed=SEED)
    report = lib.build_calls(cast, calls=600, seed=SEED, chunk_size=250)
    return county, cast, report


def _fresh_ids() -> lib._Ids:
    return lib._Ids(dict.fromkeys([model for model, _columns in lib.TABLES], 1))


def test_the_data_set_is_a_realistic_mix_of_legal_logs_that_the_fold_reproduces(dataset):
    _county, cast, report = dataset
    assert report.rows["Call"] == Call.objects.count() == 600
    assert report.rows["CallEvent"] == CallEvent.objects.count() > 600 * 6
    assert report.rows["DispatchFact"] == DispatchFact.objects.count() > 500
    assert report.rows["PeriodicEvaluation"] > 0
    # Closed calls, calls still open at "now", returned and withdrawn ones.
    assert report.states[State.CLOSED] > 400
    assert {State.RETURNED, State.CANCELLED} <= set(report.states)
    assert set(report.states) & {State.IN_PROGRESS, State.SIGNED, State.DISPATCHED}
    actions = set(CallEvent.objects.values_list("action", flat=True))
    assert {"red_card", "yellow_card", "evaluate", "auto_close", "reject"} <= actions
    assert DispatchFact.objects.filter(complete_state=StepState.LATE).exists()
    kinds = set(DispatchFact.objects.values_list("subject_kind", flat=True))
    assert kinds == {"department", "stationed_agency", "township"}
    # Deterministic: the same seed plays the same calls.
    first = lib.Generator(cast, seed=SEED, total=30, ids=_fresh_ids()).chunk(30)
    assert first.rows == lib.Generator(cast, seed=SEED, total=30, ids=_fresh_ids()).chunk(30).rows

    # The live refresh path (events read back from the database) gives the same rows,
    sample = lib.check_sample(size=150, batch=50)
    assert sample.calls == 150
    assert sample.fact_rows > 150
    # and the check notices a row that differs from the fold.
    row = DispatchFact.objects.filter(role="lead").order_by("pk").first()
    DispatchFact.objects.filter(pk=row.pk).update(extension_days=row.extension_days + 9)
    with pytest.raises(AssertionError, match="DispatchFact"):
        lib.check_sample(size=Call.objects.count())


def test_the_hand_written_sql_agrees_with_the_app_and_the_check_notices_a_difference(dataset):
    county, _cast, _report = dataset
    year = Period.year(2025)
    results = lib.run_comparison(county_id=county.pk, period=year, repeat=1)
    agreement = results.agreement
    subjects = Organisation.objects.filter(county=county, kind__in=SUBJECT_KINDS).count()
    assert subjects > 40  # departments, stationed agencies and townships of the demo county
    assert agreement.subjects == subjects
    assert agreement.ranked > 20
    keys = {"app", "app_per_kind", "sql", "metrics_month", "metrics_quarter", "metrics_year"}
    if lib.connection.vendor == "postgresql":
        keys |= {f"{key}:jit_off" for key in keys}
    assert set(results.timings) == keys
    assert all(t.runs and t.median > 0 for t in results.timings.values())

    app = lib.app_rankings(county_id=county.pk, period=year, now=lib.NOW)
    sql = lib.sql_ranking(county_id=county.pk, period=year, now=lib.NOW)
    exact = lib.connection.vendor == "postgresql"
    lib.compare(app, sql, exact=exact)
    busy = next(row for row in sql if row["completion_late"])
    busy["completion_late"] -= 1
    with pytest.raises(lib.Disagreement, match="completion_late"):
        lib.compare(app, sql, exact=exact)
    busy["completion_late"] += 1
    first = next(row for row in sql if row["rank"] == 1)
    first["rank"] = 2
    with pytest.raises(lib.Disagreement, match="rank"):
        lib.compare(app, sql, exact=exact)
