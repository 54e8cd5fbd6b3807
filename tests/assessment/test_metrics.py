"""The metrics' formulas on small cases: pending against failed, exclusions, the
policy's satisfaction rules, percentiles, period bounds, and a constant query count."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories as f
from tests.assessment.conftest import t
from xianghu.assessment.facts import EpisodeRow, row_values
from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.models import DispatchFact, EventFact, PeriodicEvaluation
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import DEFAULTS
from xianghu.assessment.scores import ranking_for_period, scores_for_period
from xianghu.calls.models import Call

MARCH = Period.month(2025, 3)


def one(world, org_key: str, *, period: Period = MARCH, now=None, **kw: Any):
    (m,) = metrics_for_period(
        county=world.county, period=period, subjects=[world.orgs[org_key].pk], now=now, **kw
    )
    return m


# ---- through real calls: pending is not failed


def test_a_deadline_not_yet_passed_is_pending_not_failed(world, sent, step):
    call = sent(t(2025, 3, 3, 9, 0))  # sign by 11:00, respond by 03-04 09:00
    m = one(world, "dept", now=t(2025, 3, 3, 10, 0))
    assert (m.received, m.sign_ok, m.sign_late, m.sign_rate) == (1, 0, 0, None)
    assert (m.response_rate, m.completion_rate) == (None, None)
    m = one(world, "dept", now=t(2025, 3, 3, 11, 1))
    assert (m.sign_ok, m.sign_late, m.sign_rate) == (0, 1, Decimal("0.0000"))
    assert m.response_rate == Decimal("0.0000")  # failed already: the signature is late
    step("handler", call, "sign", t(2025, 3, 3, 11, 30))
    m = one(world, "dept", now=t(2025, 3, 3, 11, 31))
    assert (m.sign_ok, m.sign_late) == (0, 1)  # signed, but after 11:00
    assert m.sign_time is not None
    assert (m.sign_time.count, m.sign_time.average_seconds) == (1, 9000)


def test_a_signed_call_waits_for_its_response_deadline(world, sent, step):
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    m = one(world, "dept", now=t(2025, 3, 3, 12, 0))
    assert (m.sign_rate, m.response_ok, m.response_failed, m.response_rate) == (
        Decimal("1.0000"),
        0,
        0,
        None,
    )
    m = one(world, "dept", now=t(2025, 3, 4, 9, 1))
    assert (m.response_failed, m.response_rate) == (1, Decimal("0.0000"))
    step("handler", call, "respond", t(2025, 3, 4, 8, 0), mode="contact")  # recorded late
    m = one(world, "dept", now=t(2025, 3, 4, 9, 1))
    assert m.response_rate == Decimal("1.0000")
    # Not completed by 03-10 17:30: overdue once the deadline passes.
    assert one(world, "dept", now=t(2025, 3, 10, 17, 0)).completion_rate is None
    m = one(world, "dept", now=t(2025, 3, 10, 17, 31))
    assert (m.completion_late, m.overdue, m.completion_rate) == (1, 1, Decimal("0.0000"))


def test_a_return_awaiting_a_decision_is_not_rated(world, sent, step):
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "request_return", t(2025, 3, 3, 9, 30), reason="不属于本部门")
    m = one(world, "dept", now=t(2025, 4, 15))
    assert (m.received, m.return_requested, m.return_rate) == (1, 1, Decimal("1.0000"))
    assert (m.sign_rate, m.response_rate, m.completion_rate) == (None, None, None)
    assert m.return_refusal_rate is None  # not decided yet
    step("operator", call, "agree_return", t(2025, 3, 3, 10, 0), reason="同意")
    m = one(world, "dept", now=t(2025, 4, 15))
    assert (m.received, m.returns_approved, m.return_refusal_rate) == (1, 1, Decimal("0.0000"))
    assert (m.sign_rate, m.response_rate, m.completion_rate) == (None, None, None)


def test_a_subject_without_calls_has_no_data(world, lists):
    m = one(world, "police")
    assert not m.has_data
    for rate in (
        m.sign_rate,
        m.response_rate,
        m.completion_rate,
        m.satisfaction.rate,
        m.redo_rate,
        m.return_rate,
        m.return_refusal_rate,
        m.forms_average,
    ):
        assert rate is None
    assert (m.calls_sent, m.valid_call_rate, m.cooperation_rate) == (None, None, None)
    township = one(world, "t2")
    assert (township.calls_sent, township.valid_call_rate, township.cooperation_rate) == (
        0,
        None,
        None,
    )


# ---- synthetic facts


def bare_call(world, n: int) -> Call:
    now = timezone.now()
    return Call.objects.create(
        number=f"T{n:08d}",
        county=world.county,
        caller=world.orgs["t1"],
        title="x",
        description="x",
        location=world.t1,
        state="closed",
        state_changed_at=now,
        created_at=now,
    )


def episode(call: Call, subject, *, received, **kw: Any) -> DispatchFact:
    """A handling episode written directly, its summary fields settled as the fold does."""
    values: dict[str, Any] = {
        "call_id": call.pk,
        "start_seq": 1,
        "county_id": call.county_id,
        "subject_id": subject.pk,
        "subject_kind": subject.kind,
        "subject_parent_id": None,
        "host_township_id": None,
        "role": "lead",
        "direction": "up",
        "caller_id": call.caller_id,
        "caller_township_id": None,
        "item_id": None,
        "domain_id": None,
        "urgency": "normal",
        "received_at": received,
        "started_at": received,
    }
    values.update(kw)
    row = EpisodeRow(**values)
    row.settle()
    return DispatchFact.objects.create(**row_values(row))


def evaluation(call: Call, subject, seq: int, at, value: str, **kw: Any) -> EventFact:
    return EventFact.objects.create(
        call=call,
        seq=seq,
        episode_seq=1,
        county_id=call.county_id,
        subject=subject,
        subject_kind=subject.kind,
        direction="up",
        caller_id=call.caller_id,
        kind="evaluation",
        at=at,
        evaluation=value,
        **kw,
    )


def test_the_policy_decides_basically_and_default_evaluations(world):
    dept = world.orgs["dept"]
    call = bare_call(world, 1)
    evaluation(call, dept, 1, t(2025, 3, 5), "satisfied")
    evaluation(call, dept, 2, t(2025, 3, 6), "basically")
    evaluation(call, dept, 3, t(2025, 3, 7), "satisfied", default_evaluation=True)
    evaluation(call, dept, 4, t(2025, 3, 8), "unsatisfied")
    assert one(world, "dept").satisfaction.rate == Decimal("0.7500")  # (1 + 1 + 1) / 4
    half = DEFAULTS.__class__(**{**DEFAULTS.__dict__, "w_basic": DEFAULTS.w_basic / 2})
    assert one(world, "dept", policy=half).satisfaction.rate == Decimal("0.6250")  # 2.5 / 4
    without = DEFAULTS.__class__(**{**half.__dict__, "count_default_evaluations": False})
    m = one(world, "dept", policy=without)
    assert (m.satisfaction.counted, m.satisfaction.rate) == (3, Decimal("0.5000"))  # 1.5 / 3
    assert (m.redo, m.redo_rate) == (1, Decimal("0.3333"))


def test_events_count_in_the_period_they_happen(world):
    dept = world.orgs["dept"]
    call = bare_call(world, 1)
    evaluation(call, dept, 1, t(2025, 3, 31, 23, 59, 59), "satisfied")
    evaluation(call, dept, 2, t(2025, 4, 1, 0, 0), "unsatisfied")
    assert one(world, "dept").satisfaction.evaluations == 1
    assert one(world, "dept", period=Period.month(2025, 4)).satisfaction.unsatisfied == 1
    assert one(world, "dept", period=Period.quarter(2025, 2)).satisfaction.evaluations == 1
    assert one(world, "dept", period=Period.year(2025)).satisfaction.evaluations == 2


def test_the_90th_percentile_is_the_nearest_rank(world):
    dept, police = world.orgs["dept"], world.orgs["police"]
    for n in range(1, 11):  # 10 values for 应急管理局: 1 … 10 minutes
        episode(bare_call(world, n), dept, received=t(2025, 3, 3, 9, 0), sign_seconds=60 * n)
    for n in range(11, 22):  # 11 values for 公安局, given out of order
        seconds = 60 * ((n * 7) % 11 + 1)
        episode(bare_call(world, n), police, received=t(2025, 3, 3, 9, 0), sign_seconds=seconds)
    episode(
        bare_call(world, 30), world.orgs["agency"], received=t(2025, 3, 3, 9, 0), sign_seconds=42
    )
    by = {m.subject_id: m for m in metrics_for_period(county=world.county, period=MARCH)}
    dept_times = by[dept.pk].sign_time
    assert dept_times is not None
    assert (dept_times.count, dept_times.average_seconds, dept_times.p90_seconds) == (10, 330, 540)
    police_times = by[police.pk].sign_time
    assert police_times is not None
    assert (police_times.count, police_times.p90_seconds) == (11, 600)  # rank ⌈9.9⌉ = 10
    agency_times = by[world.orgs["agency"].pk].sign_time
    assert agency_times is not None
    assert (agency_times.count, agency_times.p90_seconds) == (1, 42)


def test_excluded_merged_and_assisting_episodes(world):
    dept, police = world.orgs["dept"], world.orgs["police"]
    at = t(2025, 3, 3, 9, 0)
    episode(
        bare_call(world, 1), dept, received=at, exclusion="merged", excluded=True, sign_seconds=5
    )
    episode(
        bare_call(world, 2),
        dept,
        received=at,
        exclusion="return_approved",
        excluded=True,
        return_requests=1,
    )
    episode(bare_call(world, 3), dept, received=at, role="assisting")
    episode(
        bare_call(world, 4),
        police,
        received=at,
        exclusion="reassigned",
        excluded=True,
        return_requests=1,
        returns_refused=1,
    )
    m = one(world, "dept", now=t(2025, 4, 1))
    assert (m.received, m.assisting_received, m.return_requested, m.returns_approved) == (
        1,
        1,
        1,
        1,
    )
    assert (m.sign_rate, m.sign_time.count if m.sign_time else None) == (None, 0)
    p = one(world, "police", now=t(2025, 4, 1))
    assert (p.returns_refused, p.returns_approved, p.return_refusal_rate) == (
        1,
        1,
        Decimal("0.5000"),
    )


def test_forms_count_for_the_periods_that_contain_theirs(world):
    dept = world.orgs["dept"]
    for key, start, end, score in (
        ("2025-03", t(2025, 3, 1).date(), t(2025, 3, 31).date(), 90),
        ("2025-Q1", t(2025, 1, 1).date(), t(2025, 3, 31).date(), 70),
        ("2025", t(2025, 1, 1).date(), t(2025, 12, 31).date(), 50),
    ):
        PeriodicEvaluation.objects.create(
            county=world.county,
            township=world.orgs["t1"],
            subject=dept,
            period_key=key,
            starts_on=start,
            ends_on=end,
            score=score,
        )
    assert one(world, "dept").forms_average == Decimal("90.00")
    assert one(world, "dept", period=Period.quarter(2025, 1)).forms_average == Decimal("80.00")
    assert one(world, "dept", period=Period.year(2025)).forms_average == Decimal("70.00")
    assert (
        one(
            world, "dept", period=Period.parse("2025-03-02..2025-03-31", today=t(2026, 1, 1).date())
        ).forms
        == 0
    )


def test_other_counties_and_kinds_are_left_out(world):
    call = bare_call(world, 1)
    episode(call, world.orgs["dept"], received=t(2025, 3, 3, 9, 0))
    other = world.orgs["dept_b"]
    b_call = Call.objects.create(
        number="B1",
        county=world.other_county,
        caller=world.orgs["tb"],
        title="x",
        description="x",
        location=world.other_county,
        state="closed",
        state_changed_at=timezone.now(),
        created_at=timezone.now(),
    )
    episode(b_call, other, received=t(2025, 3, 3, 9, 0))
    ids = [m.subject_id for m in metrics_for_period(county=world.county, period=MARCH)]
    assert other.pk not in ids
    assert set(ids) == {world.orgs[k].pk for k in ("dept", "police", "agency", "t1", "t2")}
    kinds = {
        m.subject_kind
        for m in metrics_for_period(county=world.county, period=MARCH, subject_kind="township")
    }
    assert kinds == {"township"}
    # An inactive subject is listed only when it has data.
    world.orgs["police"].is_active = False
    world.orgs["police"].save()
    world.orgs["dept"].is_active = False
    world.orgs["dept"].save()
    ids = [m.subject_id for m in metrics_for_period(county=world.county, period=MARCH)]
    assert world.orgs["dept"].pk in ids
    assert world.orgs["police"].pk not in ids


@pytest.mark.parametrize("times", [True, False])
def test_the_query_count_does_not_grow_with_subjects_or_calls(world, times):
    def grow(count: int, start: int) -> None:
        for n in range(count):
            org = f.department(world.county, f"测试局{start + n}")
            for k in range(3):
                call = bare_call(world, start * 100 + n * 10 + k)
                episode(
                    call,
                    org,
                    received=t(2025, 3, 3 + k, 9, 0),
                    sign_seconds=60 * k,
                    signed_at=t(2025, 3, 3, 10),
                )
                evaluation(call, org, 1, t(2025, 3, 10), "satisfied")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            metrics_for_period(county=world.county, period=MARCH, times=times)
        return len(ctx.captured_queries)

    grow(2, 0)
    few = queries()
    grow(20, 100)
    assert queries() == few
    assert few <= (9 if times else 6)
    with CaptureQueriesContext(connection) as ctx:
        ranking_for_period(county=world.county, period=MARCH, subject_kind="department")
        scores_for_period(county=world.county, period=MARCH)
    assert len(ctx.captured_queries) <= 12
