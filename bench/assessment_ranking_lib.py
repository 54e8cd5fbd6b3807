"""The assessment ranking benchmark (issue #5): build a large data set of calls, their
events and the roll-up, then time the monthly ranking of every subject as the app
computes it against one hand-written SQL aggregation over the same fact rows.

Run it with `bench/assessment_ranking.sh` (or `python bench/assessment_ranking.py`); this
module holds the parts a test runs on a tiny data set (`tests/bench/`), and needs Django
set up. The results are written down in docs/benchmarks.md ("Assessment ranking").

How the data set is made, and why not through the workflow services: a call driven
through `calls.services.call_transition` costs a few dozen queries per event, so a
million calls would take many hours. The generator (`xianghu/demo/bulk.py`, shared with
the province-scale demo) plays each call's life as the
services would record it (legal transitions of `calls.workflow`, the event data the
services write: deadlines, leads, extensions, evaluations, cards), writes the rows of
`Call`, `Dispatch`, `CallEvent` and `Attachment` straight into the tables (PostgreSQL
`COPY`; `bulk_create` elsewhere), and derives the roll-up (`DispatchFact`, `EventFact`,
`SubmissionFact`) with the assessment app's own fold, `facts.facts_from_events`, on the
very events it writes — only the database round trip of `rollup.rebuild` is skipped.
`check_sample` then refreshes a sample of calls through `rollup.refresh_calls` (the
path of every live event: it reads the events back from the database and folds them)
and checks that it gives exactly the stored rows.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from django.db import connection, models, transaction

from xianghu.assessment import rollup
from xianghu.assessment.access import SUBJECT_KINDS
from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.models import (
    DispatchFact,
    EventFact,
    FactEventKind,
    PeriodicEvaluation,
    StepState,
    SubmissionFact,
    SubmissionOutcome,
)
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import Policy, policy_for
from xianghu.assessment.scores import ranking_for_period, rankings_for_period
from xianghu.calls.models import Call, CallEvent
from xianghu.calls.workflow import replay
from xianghu.core.prepared import prepared_statements
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

#: Bump when the generator changes: a cached data set of another version is rebuilt.

#: Bump when the generator changes: a cached data set of another version is rebuilt.
GENERATOR_VERSION = 2

# The generator lives with the demo (the province-scale demo uses it too); these names
# are the benchmark's interface to it.
from xianghu.demo.bulk import (  # noqa: E402
    EPISODE_FIELDS,
    EVENT_FACT_FIELDS,
    NOW,
    SUBMISSION_FIELDS,
    TABLES,
    Cast,
    Ddl,
    Generator,
    _Ids,
    build_calls,
    build_county,
    drop_secondary_indexes,
    load_cast,
    restore_indexes,
    vacuum_analyze,
)

__all__ = [
    "GENERATOR_VERSION",
    "NOW",
    "TABLES",
    "Cast",
    "Ddl",
    "Generator",
    "_Ids",
    "build_calls",
    "build_county",
    "drop_secondary_indexes",
    "load_cast",
    "restore_indexes",
    "vacuum_analyze",
]


# ---- the check: the live refresh path gives exactly the generated roll-up


def _fact_rows(call_ids: Sequence[int]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for model, names in (
        (DispatchFact, EPISODE_FIELDS),
        (EventFact, EVENT_FACT_FIELDS),
        (SubmissionFact, SUBMISSION_FIELDS),
    ):
        rows = model._default_manager.filter(call_id__in=list(call_ids)).values_list(*names)
        out[model.__name__] = sorted(rows, key=repr)
    return out


@dataclass
class SampleReport:
    calls: int
    fact_rows: int
    seconds: float  # `rollup.refresh_calls` over the sample

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def check_sample(*, size: int, batch: int = 500) -> SampleReport:
    """Refresh `size` calls spread over the data set through `rollup.refresh_calls` (it
    reads their events back and folds them, as for every live event) inside a
    transaction that is rolled back, and check that it gives exactly the generated fact
    rows; check too that every sampled log is a legal path of the workflow ending in the
    call's state. Raises AssertionError on the first difference."""
    ids = list(Call.objects.order_by("pk").values_list("pk", flat=True))
    step = max(1, len(ids) // max(1, size))
    sample = ids[::step][:size]
    before = _fact_rows(sample)
    elapsed = 0.0
    with transaction.atomic():
        for i in range(0, len(sample), batch):
            part = sample[i : i + batch]
            t0 = time.perf_counter()
            rollup.refresh_calls(part)
            elapsed += time.perf_counter() - t0
        after = _fact_rows(sample)
        transaction.set_rollback(True)
    for name, rows in before.items():
        if rows != after[name]:
            diff = [(a, b) for a, b in zip(rows, after[name], strict=False) if a != b][:3]
            raise AssertionError(
                f"{name}: the generated roll-up differs from rollup.refresh_calls "
                f"({len(rows)} vs {len(after[name])} rows; first differences {diff})"
            )
    states = dict(Call.objects.filter(pk__in=sample).values_list("pk", "state"))
    logs: dict[int, list[tuple[str, Any]]] = {pk: [] for pk in sample}
    for call_id, action, data in (
        CallEvent.objects.filter(call_id__in=sample)
        .order_by("call_id", "seq")
        .values_list("call_id", "action", "data")
    ):
        logs[call_id].append((action, data))
    for pk, log in logs.items():
        if replay(log) != states[pk]:
            raise AssertionError(f"call {pk}: its log does not end in its state {states[pk]}")
    return SampleReport(
        calls=len(sample), fact_rows=sum(len(r) for r in before.values()), seconds=elapsed
    )


# ---- the hand-written SQL


HAND_WRITTEN_SQL = """
WITH d AS (
    SELECT subject_id,
        COUNT(*) FILTER (WHERE counted AND {recv}) AS received,
        COUNT(*) FILTER (WHERE rated AND {recv} AND sign_state = %(on_time)s) AS sign_ok,
        COUNT(*) FILTER (WHERE rated AND {recv} AND sign_state = %(on_time)s
                         AND respond_state = %(on_time)s) AS response_ok,
        COUNT(*) FILTER (WHERE rated AND {recv} AND (
            sign_state = %(late)s OR (sign_state = %(open)s AND sign_due < %(now)s)
            OR respond_state = %(late)s OR (respond_state = %(open)s AND respond_due < %(now)s)
        )) AS response_failed,
        COUNT(*) FILTER (WHERE rated AND {due} AND complete_state = %(on_time)s) AS completion_ok,
        COUNT(*) FILTER (WHERE rated AND {due} AND (
            complete_state = %(late)s OR (complete_state = %(open)s AND complete_due < %(now)s)
        )) AS completion_late,
        COUNT(*) FILTER (WHERE rated AND {due} AND complete_state = %(on_time)s
                         AND evidence) AS cooperation_done,
        COALESCE(SUM(returns_refused) FILTER (WHERE counted AND {recv}), 0) AS returns_refused
    FROM {dispatch_fact}
    WHERE county_id = %(county)s AND subject_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND ({recv} OR {due})
    GROUP BY subject_id
),
e AS (
    SELECT subject_id,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(satisfied)s) AS satisfied,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(basically)s) AS basically,
        COUNT(*) FILTER (WHERE {evaluation} AND NOT default_evaluation
                         AND evaluation = %(unsatisfied)s) AS unsatisfied,
        COUNT(*) FILTER (WHERE {evaluation} AND default_evaluation) AS defaults,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(satisfied)s) AS host_satisfied,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(basically)s) AS host_basically,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND NOT default_evaluation
                         AND evaluation = %(unsatisfied)s) AS host_unsatisfied,
        COUNT(*) FILTER (WHERE from_host AND {evaluation} AND default_evaluation) AS host_defaults,
        COUNT(*) FILTER (WHERE kind = %(red_card)s) AS red_cards
    FROM {event_fact}
    WHERE county_id = %(county)s AND subject_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND at >= %(p_start)s AND at < %(p_end)s AND NOT excluded
    GROUP BY subject_id
),
s AS (
    SELECT caller_id,
        COUNT(*) AS sent,
        COUNT(*) FILTER (WHERE outcome = %(valid)s) AS valid,
        COUNT(*) FILTER (WHERE outcome = %(invalid)s) AS invalid
    FROM {submission_fact}
    WHERE county_id = %(county)s AND caller_kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND sent_at >= %(p_start)s AND sent_at < %(p_end)s
    GROUP BY caller_id
),
f AS (
    SELECT pe.subject_id,
        COUNT(*) AS forms,
        SUM(pe.score) AS forms_total,
        COUNT(*) FILTER (WHERE so.kind = %(k_agency)s AND tw.township_id = so.township_id)
            AS host_forms,
        SUM(pe.score) FILTER (WHERE so.kind = %(k_agency)s AND tw.township_id = so.township_id)
            AS host_forms_total
    FROM {forms} pe
    JOIN {organisation} so ON so.id = pe.subject_id
    JOIN {organisation} tw ON tw.id = pe.township_id
    WHERE pe.county_id = %(county)s AND so.kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND pe.starts_on >= %(d_start)s AND pe.ends_on <= %(d_end)s
    GROUP BY pe.subject_id
),
m AS MATERIALIZED (
    SELECT o.id, o.kind, o.name,
        o.kind = %(k_township)s AS township,
        o.kind = %(k_agency)s AS agency,
        COALESCE(d.received, 0) AS received,
        COALESCE(d.response_ok, 0) AS response_ok,
        COALESCE(d.response_failed, 0) AS response_failed,
        COALESCE(d.completion_ok, 0) AS completion_ok,
        COALESCE(d.completion_late, 0) AS completion_late,
        COALESCE(d.cooperation_done, 0) AS cooperation_done,
        COALESCE(d.returns_refused, 0) AS returns_refused,
        COALESCE(e.satisfied, 0) AS satisfied,
        COALESCE(e.basically, 0) AS basically,
        COALESCE(e.unsatisfied, 0) AS unsatisfied,
        COALESCE(e.defaults, 0) AS defaults,
        COALESCE(e.host_satisfied, 0) AS host_satisfied,
        COALESCE(e.host_basically, 0) AS host_basically,
        COALESCE(e.host_unsatisfied, 0) AS host_unsatisfied,
        COALESCE(e.host_defaults, 0) AS host_defaults,
        COALESCE(e.red_cards, 0) AS red_cards,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.sent, 0) ELSE 0 END AS sent,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.valid, 0) ELSE 0 END AS valid,
        CASE WHEN o.kind = %(k_township)s THEN COALESCE(s.invalid, 0) ELSE 0 END AS invalid,
        COALESCE(f.forms, 0) AS forms,
        COALESCE(f.forms_total, 0) AS forms_total,
        COALESCE(f.host_forms, 0) AS host_forms,
        COALESCE(f.host_forms_total, 0) AS host_forms_total
    FROM {organisation} o
    LEFT JOIN d ON d.subject_id = o.id
    LEFT JOIN e ON e.subject_id = o.id
    LEFT JOIN s ON s.caller_id = o.id
    LEFT JOIN f ON f.subject_id = o.id
    WHERE o.county_id = %(county)s AND o.kind IN (%(k_dept)s, %(k_agency)s, %(k_township)s)
        AND (o.is_active OR d.subject_id IS NOT NULL OR e.subject_id IS NOT NULL
             OR s.caller_id IS NOT NULL OR f.subject_id IS NOT NULL)
),
c AS MATERIALIZED (
    -- The three components of the composite score (docs/scoring.md, "Scores"). The
    -- steps from here on are materialised: one row per subject each, and inlined they
    -- would repeat every expression of the score in every later one.
    SELECT m.*,
        CASE WHEN township THEN %(w_valid)s ELSE %(w_response)s END AS w1,
        CASE WHEN township THEN valid ELSE response_ok END AS n1,
        CASE WHEN township THEN valid + invalid ELSE response_ok + response_failed END AS d1,
        CASE WHEN township THEN %(w_cooperation)s ELSE %(w_completion)s END AS w2,
        CASE WHEN township THEN cooperation_done ELSE completion_ok END AS n2,
        completion_ok + completion_late AS d2,
        CASE WHEN township THEN %(w_township_satisfaction)s ELSE %(w_satisfaction)s END AS w3,
        satisfied + %(w_basic)s * basically + %(count_defaults)s * defaults AS n3,
        satisfied + basically + unsatisfied + %(count_defaults)s * defaults AS d3,
        CASE WHEN agency THEN host_satisfied + %(w_basic)s * host_basically
                              + %(count_defaults)s * host_defaults
             ELSE satisfied + %(w_basic)s * basically + %(count_defaults)s * defaults
        END AS ev_n,
        CASE WHEN agency THEN host_satisfied + host_basically + host_unsatisfied
                              + %(count_defaults)s * host_defaults
             ELSE satisfied + basically + unsatisfied + %(count_defaults)s * defaults
        END AS ev_d,
        CASE WHEN agency THEN host_forms ELSE forms END AS f_n,
        CASE WHEN agency THEN host_forms_total ELSE forms_total END AS f_total,
        %(p_red)s * red_cards + %(p_refused)s * returns_refused + %(p_redo)s * unsatisfied
            AS penalty
    FROM m
),
b AS MATERIALIZED (
    SELECT c.*,
        (CASE WHEN d1 > 0 THEN w1 ELSE 0 END) + (CASE WHEN d2 > 0 THEN w2 ELSE 0 END)
            + (CASE WHEN d3 > 0 THEN w3 ELSE 0 END) AS w_total,
        (CASE WHEN d1 > 0 THEN w1 * n1 * %(one)s / d1 ELSE 0 END)
            + (CASE WHEN d2 > 0 THEN w2 * n2 * %(one)s / d2 ELSE 0 END)
            + (CASE WHEN d3 > 0 THEN w3 * n3 * %(one)s / d3 ELSE 0 END) AS weighted,
        CASE WHEN township OR ev_d = 0 THEN NULL ELSE 100 * ev_n * %(one)s / ev_d END AS per_call,
        CASE WHEN township OR f_n = 0 THEN NULL ELSE f_total * %(one)s / f_n END AS forms_average
    FROM c
),
v AS MATERIALIZED (
    SELECT b.*,
        CASE WHEN w_total > 0 THEN 100 * weighted / w_total END AS base,
        CASE WHEN per_call IS NOT NULL AND forms_average IS NOT NULL
                 THEN (1 - %(form_share)s) * per_call + %(form_share)s * forms_average
             WHEN per_call IS NOT NULL THEN per_call
             ELSE forms_average
        END AS evaluation
    FROM b
),
w AS MATERIALIZED (
    SELECT v.*,
        CASE WHEN base IS NULL THEN NULL
             WHEN base - penalty < 0 THEN 0
             WHEN base - penalty > 100 THEN 100
             ELSE base - penalty
        END AS composite
    FROM v
),
x AS MATERIALIZED (
    SELECT w.*,
        ROUND(CASE WHEN composite IS NULL THEN NULL
                   WHEN evaluation IS NULL THEN composite
                   ELSE (1 - CASE WHEN agency THEN %(share_agency)s ELSE %(share_department)s END)
                        * composite
                        + CASE WHEN agency THEN %(share_agency)s ELSE %(share_department)s END
                        * evaluation
              END, 2) AS score,
        received + sent AS volume
    FROM w
)
SELECT id, kind, name, received, response_ok, response_failed, completion_ok,
    completion_late, cooperation_done, satisfied, basically, unsatisfied, defaults,
    red_cards, returns_refused, valid, invalid, forms,
    ROUND(CASE WHEN response_ok + response_failed > 0
               THEN response_ok * %(one)s / (response_ok + response_failed) END, 4)
        AS response_rate,
    ROUND(CASE WHEN completion_ok + completion_late > 0
               THEN completion_ok * %(one)s / (completion_ok + completion_late) END, 4)
        AS completion_rate,
    ROUND(CASE WHEN d3 > 0 THEN n3 * %(one)s / d3 END, 4) AS satisfaction_rate,
    score,
    CASE WHEN score IS NOT NULL AND volume >= %(min_volume)s
         THEN RANK() OVER (PARTITION BY kind, score IS NOT NULL AND volume >= %(min_volume)s
                           ORDER BY score DESC)
    END AS rank
FROM x
ORDER BY kind, rank, name, id
"""

SQL_COLUMNS = (
    "id",
    "kind",
    "name",
    "received",
    "response_ok",
    "response_failed",
    "completion_ok",
    "completion_late",
    "cooperation_done",
    "satisfied",
    "basically",
    "unsatisfied",
    "defaults",
    "red_cards",
    "returns_refused",
    "valid",
    "invalid",
    "forms",
    "response_rate",
    "completion_rate",
    "satisfaction_rate",
    "score",
    "rank",
)


def hand_written_sql() -> str:
    """The statement, with the tables' names filled in."""

    def table(model: type[models.Model]) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    return HAND_WRITTEN_SQL.format(
        dispatch_fact=table(DispatchFact),
        event_fact=table(EventFact),
        submission_fact=table(SubmissionFact),
        forms=table(PeriodicEvaluation),
        organisation=table(Organisation),
        recv="(received_at >= %(p_start)s AND received_at < %(p_end)s)",
        due="(complete_due >= %(p_start)s AND complete_due < %(p_end)s)",
        evaluation="kind = %(evaluation)s",
    )


def _number(value: Fraction | int) -> Any:
    """A policy value as an SQL parameter: an exact decimal of 30 places on PostgreSQL
    (numeric), a float on SQLite."""
    if connection.vendor == "postgresql":
        fraction = Fraction(value)
        with localcontext(prec=60):
            return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
                Decimal(10) ** -30
            )
    return float(value)


def sql_params(*, county_id: int, period: Period, now: datetime, policy: Policy) -> dict[str, Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "county": county_id,
        "p_start": adapt(period.starts_at),
        "p_end": adapt(period.ends_at),
        "d_start": connection.ops.adapt_datefield_value(period.start),
        "d_end": connection.ops.adapt_datefield_value(period.end),
        "now": adapt(now),
        "on_time": int(StepState.ON_TIME),
        "late": int(StepState.LATE),
        "open": int(StepState.OPEN),
        "k_dept": str(OrgKind.DEPARTMENT),
        "k_agency": str(OrgKind.STATIONED_AGENCY),
        "k_township": str(OrgKind.TOWNSHIP),
        "evaluation": str(FactEventKind.EVALUATION),
        "red_card": str(FactEventKind.RED_CARD),
        "satisfied": "satisfied",
        "basically": "basically",
        "unsatisfied": "unsatisfied",
        "valid": str(SubmissionOutcome.VALID),
        "invalid": str(SubmissionOutcome.INVALID),
        "one": _number(1),
        "w_response": _number(policy.weight_response),
        "w_completion": _number(policy.weight_completion),
        "w_satisfaction": _number(policy.weight_satisfaction),
        "w_valid": _number(policy.weight_valid_calls),
        "w_cooperation": _number(policy.weight_cooperation),
        "w_township_satisfaction": _number(policy.weight_township_satisfaction),
        "w_basic": _number(policy.w_basic),
        "count_defaults": 1 if policy.count_default_evaluations else 0,
        "p_red": _number(policy.penalty_red_card),
        "p_refused": _number(policy.penalty_refused_return),
        "p_redo": _number(policy.penalty_redo),
        "form_share": _number(policy.form_share),
        "share_agency": _number(policy.township_share_agency),
        "share_department": _number(policy.township_share_department),
        "min_volume": policy.min_volume,
    }


def sql_ranking(*, county_id: int, period: Period, now: datetime) -> list[dict[str, Any]]:
    """The ranking of every subject by the hand-written SQL (one statement; the county's
    policy read as the app reads it)."""
    params = sql_params(county_id=county_id, period=period, now=now, policy=policy_for(county_id))
    with connection.cursor() as cursor:
        cursor.execute(hand_written_sql(), params)
        return [dict(zip(SQL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# ---- the app's way


def app_rankings(*, county_id: int, period: Period, now: datetime) -> dict[str, Any]:
    """As the pages rank (the rankings page, the dashboards, the API): one call of
    `rankings_for_period` for every kind of subject, which scores them all in one pass
    and ranks kind by kind."""
    return rankings_for_period(county=county_id, period=period, kinds=SUBJECT_KINDS, now=now)


def app_rankings_per_kind(*, county_id: int, period: Period, now: datetime) -> dict[str, Any]:
    """One kind at a time: `ranking_for_period` for each kind of subject (three passes)."""
    return {
        kind: ranking_for_period(county=county_id, period=period, subject_kind=kind, now=now)
        for kind in SUBJECT_KINDS
    }


# ---- the comparison


@dataclass
class Agreement:
    subjects: int
    ranked: int
    score_mismatches: list[tuple[int, Decimal, Decimal]]


class Disagreement(AssertionError):
    """The app and the hand-written SQL do not give the same figures."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise Disagreement(message)


def _same(value: Any, other: Any) -> bool:
    return (value is None) == (other is None)


def compare(app: dict[str, Any], sql: list[dict[str, Any]], *, exact: bool) -> Agreement:
    """Check that the app's rankings and the hand-written SQL agree: the same subjects,
    the same counts and rates per subject, scores within 0.01 (a score exactly halfway
    between two hundredths may round either way after the SQL's 30-place division;
    `exact`: every rate equal, otherwise within 0.0001 — floats on SQLite), and the same
    ranks wherever the scores agree. Raises `Disagreement` on the first difference."""
    by_id = {row["id"]: row for row in sql}
    entries = {e.score.subject_id: e for ranking in app.values() for e in ranking.entries}
    _check(
        set(entries) == set(by_id),
        f"subjects differ: app only {sorted(set(entries) - set(by_id))}, "
        f"SQL only {sorted(set(by_id) - set(entries))}",
    )
    mismatches: list[tuple[int, Decimal, Decimal]] = []
    for pk, entry in entries.items():
        m, row = entry.score.metrics, by_id[pk]
        counts = {
            "received": m.received,
            "response_ok": m.response_ok,
            "response_failed": m.response_failed,
            "completion_ok": m.completion_ok,
            "completion_late": m.completion_late,
            "satisfied": m.satisfaction.satisfied,
            "basically": m.satisfaction.basically,
            "unsatisfied": m.satisfaction.unsatisfied,
            "defaults": m.satisfaction.defaults,
            "red_cards": m.red_cards,
            "returns_refused": m.returns_refused,
            "forms": m.forms,
        }
        if m.subject_kind == OrgKind.TOWNSHIP:
            counts["cooperation_done"] = m.cooperation_done
            counts["valid"] = m.calls_valid
            counts["invalid"] = m.calls_invalid
        for key, value in counts.items():
            _check(int(row[key]) == value, f"subject {pk}: {key} app {value} SQL {row[key]}")
        for key, rate in (
            ("response_rate", m.response_rate),
            ("completion_rate", m.completion_rate),
            ("satisfaction_rate", m.satisfaction.rate),
        ):
            other = row[key]
            _check(_same(rate, other), f"subject {pk}: {key} app {rate} SQL {other}")
            if rate is not None and other is not None:
                delta = abs(Decimal(str(other)) - rate)
                _check(
                    delta == 0 if exact else delta <= Decimal("0.0001"),
                    f"subject {pk}: {key} app {rate} SQL {other}",
                )
        app_score, sql_score = entry.score.score, row["score"]
        _check(_same(app_score, sql_score), f"subject {pk}: score app {app_score} SQL {sql_score}")
        if app_score is None or sql_score is None:
            continue
        sql_decimal = Decimal(str(sql_score)).quantize(Decimal("0.01"))
        if sql_decimal != app_score:
            _check(
                abs(sql_decimal - app_score) <= Decimal("0.01"),
                f"subject {pk}: score app {app_score} SQL {sql_score}",
            )
            mismatches.append((pk, app_score, sql_decimal))
    # Ranks: equal for every subject whose score no mismatching score could displace.
    doubtful = [score for _pk, score, _sql in mismatches]
    ranked = 0
    for pk, entry in entries.items():
        score = entry.score.score
        if score is not None and any(abs(score - d) <= Decimal("0.011") for d in doubtful):
            continue
        sql_rank = by_id[pk]["rank"]
        _check(
            entry.rank == (int(sql_rank) if sql_rank is not None else None),
            f"subject {pk}: rank app {entry.rank} SQL {sql_rank}",
        )
        ranked += entry.rank is not None
    return Agreement(subjects=len(entries), ranked=ranked, score_mismatches=mismatches)


# ---- timing


@dataclass
class Timing:
    label: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


def timed_together(
    runs: dict[str, tuple[str, Callable[[], Any]]], *, repeat: int
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Run each once to warm the caches, then `repeat` rounds that run each once (in
    turn, so that a change of load on a shared machine touches all alike); the timings
    and the result of each."""
    results = {key: run() for key, (_label, run) in runs.items()}
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(repeat):
        for key, (_label, run) in runs.items():
            t0 = time.perf_counter()
            results[key] = run()
            times[key].append(time.perf_counter() - t0)
    return {key: Timing(runs[key][0], times[key]) for key in runs}, results


@contextlib.contextmanager
def jit(setting: str | None) -> Iterator[None]:
    """PostgreSQL's JIT compilation `on` or `off` for the session (None: as configured)."""
    if setting is None or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, false)", [setting])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


#: The configurations compared: the server's own (JIT on in PostgreSQL's default), and
#: JIT off — it compiles the hand-written statement (big enough to pass
#: `jit_above_cost`) for longer than the statement runs, and none of the app's.
CONFIGURATIONS: tuple[tuple[str, str | None], ...] = (("", None), (":jit_off", "off"))


@dataclass
class Results:
    timings: dict[str, Timing]
    agreement: Agreement

    def ratio(self, app: str, sql: str = "sql") -> float:
        return self.timings[app].median / self.timings[sql].median


def run_comparison(
    *, county_id: int, period: Period, now: datetime = NOW, repeat: int = 5
) -> Results:
    """Time the app's ranking of every subject against the hand-written SQL on the same
    rows, check that they agree, and time `metrics_for_period` for the month, its
    quarter and its year; with the server's settings, and on PostgreSQL with JIT off
    too. Keys: `app` (`rankings_for_period` for all three kinds, as the pages rank),
    `app_per_kind` (`ranking_for_period` once per kind), `sql`,
    `metrics_month|quarter|year`, each also with the suffix `:jit_off` on PostgreSQL."""
    args: dict[str, Any] = {"county_id": county_id, "period": period, "now": now}
    quarter = Period.quarter(period.start.year, (period.start.month - 1) // 3 + 1)
    year = Period.year(period.start.year)

    def as_request(fn: Callable[[], Any]) -> Callable[[], Any]:
        # As in a request (PreparedStatementsMiddleware): whatever the app prepares, it
        # prepares here too; the aggregations keep their custom plans (ADR 0005).
        def run() -> Any:
            with prepared_statements():
                return fn()

        return run

    def metrics(p: Period) -> Callable[[], Any]:
        return as_request(lambda: metrics_for_period(county=county_id, period=p, now=now))

    timings: dict[str, Timing] = {}
    configurations = CONFIGURATIONS if connection.vendor == "postgresql" else CONFIGURATIONS[:1]
    agreement = None
    for suffix, setting in configurations:
        with jit(setting):
            found, results = timed_together(
                {
                    f"app{suffix}": (
                        "rankings_for_period, all 3 kinds (the pages)",
                        as_request(lambda: app_rankings(**args)),
                    ),
                    f"app_per_kind{suffix}": (
                        "ranking_for_period × 3 kinds",
                        as_request(lambda: app_rankings_per_kind(**args)),
                    ),
                    f"sql{suffix}": ("hand-written SQL", lambda: sql_ranking(**args)),
                },
                repeat=repeat,
            )
            timings.update(found)
            found, _results = timed_together(
                {
                    f"metrics_{name}{suffix}": (f"metrics_for_period {p.key}", metrics(p))
                    for name, p in (("month", period), ("quarter", quarter), ("year", year))
                },
                repeat=repeat,
            )
            timings.update(found)
        app, per_kind = results[f"app{suffix}"], results[f"app_per_kind{suffix}"]
        for kind, ranking in per_kind.items():
            _check(
                [(e.score.subject_id, e.rank, e.status) for e in ranking.entries]
                == [(e.score.subject_id, e.rank, e.status) for e in app[kind].entries],
                f"{kind}: rankings_for_period ranks differently from ranking_for_period",
            )
        agreement = compare(app, results[f"sql{suffix}"], exact=connection.vendor == "postgresql")
    assert agreement is not None
    return Results(timings=timings, agreement=agreement)


def _buffers(sql: str, params: Any = None) -> int:
    """The 8 kB pages a statement touches (shared buffers hit or read; PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


def pages_read(
    *, county_id: int, period: Period, now: datetime = NOW
) -> dict[str, tuple[int, int]]:
    """Queries and pages touched by each way of ranking (PostgreSQL): a measure of the
    work that, unlike the times, does not depend on what else the machine is doing."""
    from django.test.utils import CaptureQueriesContext

    args: dict[str, Any] = {"county_id": county_id, "period": period, "now": now}
    out = {}
    for key, run in (("app", app_rankings), ("app_per_kind", app_rankings_per_kind)):
        with CaptureQueriesContext(connection) as queries:
            run(**args)
        statements = [q["sql"] for q in queries.captured_queries]
        out[key] = (len(statements), sum(_buffers(sql) for sql in statements))
    params = sql_params(county_id=county_id, period=period, now=now, policy=policy_for(county_id))
    out["sql"] = (1, _buffers(hand_written_sql(), params))
    return out
