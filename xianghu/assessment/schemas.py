"""Shapes of the assessment API (docs/scoring.md, "API"), built from the selectors'
dataclasses. Rates are decimals between 0 and 1 (four places), scores 0–100 (two
places); null means "no data"."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema

from .metrics import Satisfaction, StepTimes, SubjectMetrics
from .models import PeriodicEvaluation
from .periods import Period
from .scores import HistoryPoint, Loss, Ranking, RankingEntry, SubjectLosses, SubjectScore


class PeriodOut(Schema):
    key: str
    kind: str
    start: date
    end: date

    @classmethod
    def of(cls, period: Period) -> PeriodOut:
        return cls(key=period.key, kind=period.kind, start=period.start, end=period.end)


class SubjectOut(Schema):
    id: int
    name: str
    kind: str
    parent_id: int | None
    host_township_id: int | None


class StepTimesOut(Schema):
    count: int
    average_seconds: int | None
    p90_seconds: int | None

    @classmethod
    def of(cls, times: StepTimes | None) -> StepTimesOut | None:
        if times is None:
            return None
        return cls(
            count=times.count, average_seconds=times.average_seconds, p90_seconds=times.p90_seconds
        )


class SatisfactionOut(Schema):
    evaluations: int
    satisfied: int
    basically: int
    unsatisfied: int
    defaults: int
    counted: int
    rate: Decimal | None

    @classmethod
    def of(cls, s: Satisfaction) -> SatisfactionOut:
        return cls(
            evaluations=s.evaluations,
            satisfied=s.satisfied,
            basically=s.basically,
            unsatisfied=s.unsatisfied,
            defaults=s.defaults,
            counted=s.counted,
            rate=s.rate,
        )


# The plain fields of SubjectMetrics, copied as they are.
_METRIC_FIELDS = (
    "received",
    "assisting_received",
    "sign_ok",
    "sign_late",
    "sign_rate",
    "response_ok",
    "response_failed",
    "response_rate",
    "completion_ok",
    "completion_late",
    "completion_rate",
    "overdue",
    "return_requested",
    "return_rate",
    "returns_refused",
    "returns_approved",
    "return_refusal_rate",
    "redo",
    "redo_rate",
    "red_cards",
    "yellow_cards",
    "supervision_orders",
    "forms",
    "forms_average",
    "host_forms",
    "host_forms_average",
    "calls_sent",
    "calls_valid",
    "calls_invalid",
    "calls_pending",
    "valid_call_rate",
    "cooperation_due",
    "cooperation_done",
    "cooperation_rate",
)


class MetricsOut(Schema):
    subject: SubjectOut
    period: str
    received: int
    assisting_received: int
    sign_ok: int
    sign_late: int
    sign_rate: Decimal | None
    response_ok: int
    response_failed: int
    response_rate: Decimal | None
    completion_ok: int
    completion_late: int
    completion_rate: Decimal | None
    overdue: int
    return_requested: int
    return_rate: Decimal | None
    returns_refused: int
    returns_approved: int
    return_refusal_rate: Decimal | None
    satisfaction: SatisfactionOut
    host_satisfaction: SatisfactionOut | None
    redo: int
    redo_rate: Decimal | None
    red_cards: int
    yellow_cards: int
    supervision_orders: int
    forms: int
    forms_average: Decimal | None
    host_forms: int
    host_forms_average: Decimal | None
    calls_sent: int | None
    calls_valid: int | None
    calls_invalid: int | None
    calls_pending: int | None
    valid_call_rate: Decimal | None
    cooperation_due: int | None
    cooperation_done: int | None
    cooperation_rate: Decimal | None
    sign_time: StepTimesOut | None
    response_time: StepTimesOut | None
    completion_time: StepTimesOut | None

    @classmethod
    def of(cls, m: SubjectMetrics) -> MetricsOut:
        values: dict[str, Any] = {name: getattr(m, name) for name in _METRIC_FIELDS}
        return cls(
            subject=SubjectOut(
                id=m.subject_id,
                name=m.subject_name,
                kind=m.subject_kind,
                parent_id=m.parent_id,
                host_township_id=m.host_township_id,
            ),
            period=m.period.key,
            satisfaction=SatisfactionOut.of(m.satisfaction),
            host_satisfaction=(
                SatisfactionOut.of(m.host_satisfaction) if m.host_township_id else None
            ),
            sign_time=StepTimesOut.of(m.sign_time),
            response_time=StepTimesOut.of(m.response_time),
            completion_time=StepTimesOut.of(m.completion_time),
            **values,
        )


class MetricsListOut(Schema):
    county_id: int
    period: PeriodOut
    subjects: list[MetricsOut]


class ComponentOut(Schema):
    key: str
    weight: Decimal
    denominator: int
    rate: Decimal | None


class PenaltiesOut(Schema):
    red_cards: int
    refused_returns: int
    redos: int
    points: Decimal


class ScoreOut(Schema):
    subject: SubjectOut
    period: str
    volume: int
    components: list[ComponentOut]
    base: Decimal | None
    penalties: PenaltiesOut
    composite: Decimal | None
    township_evaluation: Decimal | None
    township_share: Decimal | None
    score: Decimal | None
    metrics: MetricsOut

    @classmethod
    def of(cls, s: SubjectScore) -> ScoreOut:
        metrics = MetricsOut.of(s.metrics)
        return cls(
            subject=metrics.subject,
            period=s.period.key,
            volume=s.volume,
            components=[
                ComponentOut(key=c.key, weight=c.weight, denominator=c.denominator, rate=c.rate)
                for c in s.components
            ],
            base=s.base,
            penalties=PenaltiesOut(
                red_cards=s.penalties.red_cards,
                refused_returns=s.penalties.refused_returns,
                redos=s.penalties.redos,
                points=s.penalties.points,
            ),
            composite=s.composite,
            township_evaluation=s.township_evaluation,
            township_share=s.township_share,
            score=s.score,
            metrics=metrics,
        )


class ScoresListOut(Schema):
    county_id: int
    period: PeriodOut
    subjects: list[ScoreOut]


class RankingEntryOut(Schema):
    rank: int | None
    status: str
    score: ScoreOut

    @classmethod
    def of(cls, e: RankingEntry) -> RankingEntryOut:
        return cls(rank=e.rank, status=e.status, score=ScoreOut.of(e.score))


class RankingOut(Schema):
    county_id: int
    period: PeriodOut
    kind: str
    min_volume: int
    ranked_count: int
    entries: list[RankingEntryOut]
    red_list: list[int]
    black_list: list[int]

    @classmethod
    def of(cls, r: Ranking, *, visible: Any, size: int) -> RankingOut:
        """The ranking with the rows `visible(subject_id)` allows (ranks computed over
        every subject)."""
        return cls(
            county_id=r.county_id,
            period=PeriodOut.of(r.period),
            kind=r.subject_kind,
            min_volume=r.min_volume,
            ranked_count=r.ranked_count,
            entries=[RankingEntryOut.of(e) for e in r.entries if visible(e.score.subject_id)],
            red_list=[e.score.subject_id for e in r.red_list(size) if visible(e.score.subject_id)],
            black_list=[
                e.score.subject_id for e in r.black_list(size) if visible(e.score.subject_id)
            ],
        )


class HistoryPointOut(Schema):
    period: PeriodOut
    rank: int | None
    status: str
    ranked_count: int
    score: ScoreOut

    @classmethod
    def of(cls, p: HistoryPoint) -> HistoryPointOut:
        return cls(
            period=PeriodOut.of(p.period),
            rank=p.rank,
            status=p.status,
            ranked_count=p.ranked_count,
            score=ScoreOut.of(p.score),
        )


class LossOut(Schema):
    kind: str
    reasons: list[str]
    points: Decimal
    at: datetime | None
    call_id: int | None
    call_number: str
    form_id: int | None

    @classmethod
    def of(cls, loss: Loss) -> LossOut:
        return cls(
            kind=loss.kind,
            reasons=list(loss.reasons),
            points=loss.points,
            at=loss.at,
            call_id=loss.call_id,
            call_number=loss.call_number,
            form_id=loss.form_id,
        )


class LossesOut(Schema):
    score: ScoreOut
    total: Decimal
    items: list[LossOut]

    @classmethod
    def of(cls, losses: SubjectLosses) -> LossesOut:
        return cls(
            score=ScoreOut.of(losses.score),
            total=losses.total,
            items=[LossOut.of(i) for i in losses.items],
        )


class PolicyOut(Schema):
    county_id: int
    is_default: bool
    weight_response: str
    weight_completion: str
    weight_satisfaction: str
    w_basic: str
    count_default_evaluations: bool
    penalty_red_card: str
    penalty_refused_return: str
    penalty_redo: str
    township_share_department: str
    township_share_agency: str
    form_share: str
    weight_valid_calls: str
    weight_cooperation: str
    weight_township_satisfaction: str
    min_volume: int


class PolicyIn(Schema):
    """Any of the settings; numbers may be sent as numbers or text (`"1/3"`, `"0.6"`)."""

    weight_response: Decimal | str | None = None
    weight_completion: Decimal | str | None = None
    weight_satisfaction: Decimal | str | None = None
    w_basic: Decimal | str | None = None
    count_default_evaluations: bool | None = None
    penalty_red_card: Decimal | str | None = None
    penalty_refused_return: Decimal | str | None = None
    penalty_redo: Decimal | str | None = None
    township_share_department: str | Decimal | None = None
    township_share_agency: str | Decimal | None = None
    form_share: str | Decimal | None = None
    weight_valid_calls: Decimal | str | None = None
    weight_cooperation: Decimal | str | None = None
    weight_township_satisfaction: Decimal | str | None = None
    min_volume: int | None = None


class PeriodicEvaluationIn(Schema):
    township_id: int
    subject_id: int
    period: str
    score: Decimal | str | None = None
    grade: str = ""
    comment: str = ""


class PeriodicEvaluationOut(Schema):
    id: int
    township_id: int
    subject_id: int
    period: str
    starts_on: date
    ends_on: date
    score: Decimal
    grade: str
    comment: str
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, form: PeriodicEvaluation) -> PeriodicEvaluationOut:
        return cls(
            id=form.pk,
            township_id=form.township_id,
            subject_id=form.subject_id,
            period=form.period_key,
            starts_on=form.starts_on,
            ends_on=form.ends_on,
            score=form.score,
            grade=form.grade,
            comment=form.comment,
            submitted_at=form.submitted_at,
            updated_at=form.updated_at,
        )
