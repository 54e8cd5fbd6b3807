"""Scores, the two-way assessment, rankings (红黑榜), trends and where points were lost.

Everything here starts from `metrics.metrics_for_period` (counts computed by the database,
a constant number of queries for all subjects) and applies the county's `Policy` to each
subject's counts — arithmetic per subject, never a loop over calls. Scores are exact
fractions until they are rounded (half up, two places) for the result. The formulas are
docs/scoring.md, sections "Scores", "Two-way assessment" and "Rankings".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from .access import SUBJECT_KINDS
from .metrics import (
    Satisfaction,
    SubjectMetrics,
    dispatch_filters,
    forms_in,
    in_period,
    metrics_for_period,
)
from .models import DispatchFact, EventFact, FactEventKind, PeriodicEvaluation, SubmissionFact
from .models import SubmissionOutcome as Outcome
from .periods import Period
from .policy import Policy, policy_for

SCORE_PLACES = Decimal("0.01")
HUNDRED = Fraction(100)

#: The most periods one history may span.
MAX_HISTORY = 60


def score_decimal(value: Fraction | None) -> Decimal | None:
    """An exact score rounded half up to two places."""
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        SCORE_PLACES, rounding=ROUND_HALF_UP
    )


def _clamp(value: Fraction) -> Fraction:
    return max(Fraction(0), min(HUNDRED, value))


# ---- the parts of a score


@dataclass(frozen=True)
class Component:
    """One weighted rate of a composite score. `rate` is None without data; such a
    component is left out and the others' weights are scaled up to 100."""

    key: str  # response | completion | satisfaction | valid_calls | cooperation
    weight: Decimal  # the county's weight (a percentage)
    numerator: Fraction
    denominator: int
    rate: Decimal | None

    @property
    def counted(self) -> bool:
        return self.denominator > 0

    @property
    def value(self) -> Fraction:
        return self.numerator / self.denominator if self.denominator else Fraction(0)


@dataclass(frozen=True)
class Penalties:
    """Points taken off the composite: per red card, refused return and redo (重办)."""

    red_cards: int
    refused_returns: int
    redos: int
    points: Decimal


@dataclass(frozen=True)
class SubjectScore:
    """The score of one subject in one period.

    - `base`: 100 × the weighted rates of the components with data (None: no data);
    - `composite`: `base` − `penalties.points`, kept within 0–100;
    - `township_evaluation` (departments and stationed agencies): the townships'
      evaluation, 0–100 — per-call satisfaction from the townships (for an agency: from
      its host township) blended with the periodic forms (`Policy.form_share`);
    - `township_share`: its share in the score (1/3 for departments, ≥ 3/5 for agencies;
      None for townships);
    - `score`: (1 − share) × composite + share × township_evaluation; the composite alone
      when there is no township evaluation, and for townships; None without data.
    - `volume`: what the minimum-volume rule of rankings counts (lead dispatches received;
      for a township, also the calls it sent to the platform).
    """

    metrics: SubjectMetrics
    volume: int
    components: tuple[Component, ...]
    base: Decimal | None
    penalties: Penalties
    composite: Decimal | None
    township_evaluation: Decimal | None
    township_share: Decimal | None
    score: Decimal | None

    @property
    def subject_id(self) -> int:
        return self.metrics.subject_id

    @property
    def subject_name(self) -> str:
        return self.metrics.subject_name

    @property
    def subject_kind(self) -> str:
        return self.metrics.subject_kind

    @property
    def period(self) -> Period:
        return self.metrics.period


@dataclass(frozen=True)
class _Exact:
    """The exact parts of a score, for the score and for the losses."""

    components: tuple[Component, ...]
    weight_total: Fraction
    base: Fraction | None
    penalty: Fraction
    composite: Fraction | None
    evaluation_satisfaction: Satisfaction | None  # the per-call part of the evaluation
    forms: int
    forms_average: Fraction | None
    form_share: Fraction  # effective share of the forms in the township evaluation
    township_evaluation: Fraction | None
    share: Fraction  # effective share of the township evaluation in the score (0: none)
    score: Fraction | None


def _component(
    key: str, weight: Fraction, numerator: Fraction | int, denominator: int
) -> Component:
    numerator = Fraction(numerator)
    rate = None
    if denominator:
        value = numerator / denominator
        rate = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
    return Component(key, _weight_decimal(weight), numerator, denominator, rate)


def _weight_decimal(weight: Fraction) -> Decimal:
    return (Decimal(weight.numerator) / Decimal(weight.denominator)).quantize(SCORE_PLACES)


def _components(m: SubjectMetrics, policy: Policy) -> tuple[Component, ...]:
    sat = m.satisfaction
    satisfaction = _component(
        "satisfaction",
        policy.weight_township_satisfaction
        if m.subject_kind == OrgKind.TOWNSHIP
        else policy.weight_satisfaction,
        sat.value or 0,
        sat.counted,
    )
    if m.subject_kind == OrgKind.TOWNSHIP:
        valid, invalid = m.calls_valid or 0, m.calls_invalid or 0
        due = m.cooperation_due or 0
        return (
            _component("valid_calls", policy.weight_valid_calls, valid, valid + invalid),
            _component("cooperation", policy.weight_cooperation, m.cooperation_done or 0, due),
            satisfaction,
        )
    return (
        _component(
            "response",
            policy.weight_response,
            m.response_ok,
            m.response_ok + m.response_failed,
        ),
        _component(
            "completion",
            policy.weight_completion,
            m.completion_ok,
            m.completion_ok + m.completion_late,
        ),
        satisfaction,
    )


def _weights(policy: Policy, kind: str) -> dict[str, Fraction]:
    """The county's weight of each component for a kind of subject."""
    if kind == OrgKind.TOWNSHIP:
        return {
            "valid_calls": policy.weight_valid_calls,
            "cooperation": policy.weight_cooperation,
            "satisfaction": policy.weight_township_satisfaction,
        }
    return {
        "response": policy.weight_response,
        "completion": policy.weight_completion,
        "satisfaction": policy.weight_satisfaction,
    }


def _exact(m: SubjectMetrics, policy: Policy) -> _Exact:
    components = _components(m, policy)
    weights = _weights(policy, m.subject_kind)
    counted = [c for c in components if c.counted]
    total = sum((weights[c.key] for c in counted), Fraction(0))
    base = None
    if counted and total > 0:
        base = HUNDRED * sum((weights[c.key] * c.value for c in counted), Fraction(0)) / total
    penalty = (
        policy.penalty_red_card * m.red_cards
        + policy.penalty_refused_return * m.returns_refused
        + policy.penalty_redo * m.redo
    )
    composite = _clamp(base - penalty) if base is not None else None
    evaluation_sat: Satisfaction | None = None
    forms, forms_average = 0, None
    form_share = Fraction(0)
    evaluation = None
    share = Fraction(0)
    if m.subject_kind in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY):
        agency = m.subject_kind == OrgKind.STATIONED_AGENCY
        evaluation_sat = m.host_satisfaction if agency else m.satisfaction
        forms = m.host_forms if agency else m.forms
        total_score = m.host_forms_total if agency else m.forms_total
        forms_average = Fraction(total_score) / forms if forms else None
        per_call = (
            HUNDRED * evaluation_sat.value / evaluation_sat.counted
            if evaluation_sat.counted and evaluation_sat.value is not None
            else None
        )
        if per_call is not None and forms_average is not None:
            form_share = policy.form_share
            evaluation = (1 - form_share) * per_call + form_share * forms_average
        elif per_call is not None:
            evaluation = per_call
        elif forms_average is not None:
            form_share = Fraction(1)
            evaluation = forms_average
        if evaluation is not None:
            share = policy.township_share_agency if agency else policy.township_share_department
    score = None
    if composite is not None:
        score = (
            (1 - share) * composite + share * evaluation if evaluation is not None else composite
        )
    return _Exact(
        components=components,
        weight_total=total,
        base=base,
        penalty=penalty,
        composite=composite,
        evaluation_satisfaction=evaluation_sat,
        forms=forms,
        forms_average=forms_average,
        form_share=form_share,
        township_evaluation=evaluation,
        share=share,
        score=score,
    )


def _volume(m: SubjectMetrics) -> int:
    return m.received + (m.calls_sent or 0)


def score_of(metrics: SubjectMetrics, policy: Policy) -> SubjectScore:
    """The score of one subject from its metrics (no query)."""
    exact = _exact(metrics, policy)
    share = None
    if metrics.subject_kind != OrgKind.TOWNSHIP:
        nominal = (
            policy.township_share_agency
            if metrics.subject_kind == OrgKind.STATIONED_AGENCY
            else policy.township_share_department
        )
        share = (Decimal(nominal.numerator) / Decimal(nominal.denominator)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
    return SubjectScore(
        metrics=metrics,
        volume=_volume(metrics),
        components=exact.components,
        base=score_decimal(exact.base),
        penalties=Penalties(
            red_cards=metrics.red_cards,
            refused_returns=metrics.returns_refused,
            redos=metrics.redo,
            points=score_decimal(exact.penalty) or Decimal(0),
        ),
        composite=score_decimal(exact.composite),
        township_evaluation=score_decimal(exact.township_evaluation),
        township_share=share,
        score=score_decimal(exact.score),
    )


def scores_for_period(
    *,
    county: Region | int,
    period: Period,
    subject_kind: str | None = None,
    subjects: Iterable[int] | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> list[SubjectScore]:
    """The score of every subject of the county in the period (or of one kind, or of the
    subjects given by id), in the order of `metrics_for_period`. A constant number of
    queries (the metrics without step times)."""
    county_id = county if isinstance(county, int) else county.pk
    policy = policy or policy_for(county_id)
    metrics = metrics_for_period(
        county=county_id,
        period=period,
        subject_kind=subject_kind,
        subjects=subjects,
        policy=policy,
        times=False,
        now=now,
    )
    return [score_of(m, policy) for m in metrics]


# ---- rankings


class RankStatus:
    RANKED = "ranked"
    TOO_FEW_CALLS = "too_few_calls"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class RankingEntry:
    """One subject in a ranking: its rank (None when not ranked), why not, its score."""

    rank: int | None
    status: str  # ranked | too_few_calls | no_data
    score: SubjectScore


@dataclass(frozen=True)
class Ranking:
    """The ranking (红黑榜) of one kind of subject in one period.

    Only subjects with a score and at least `min_volume` calls are ranked; equal scores
    (to the hundredth) share a rank and the next rank skips ("competition ranking":
    1, 2, 2, 4). `entries` lists the ranked subjects by rank (then name), then those not
    ranked: too few calls, then no data.
    """

    county_id: int
    period: Period
    subject_kind: str
    min_volume: int
    ranked_count: int
    entries: tuple[RankingEntry, ...]

    def red_list(self, size: int = 3) -> list[RankingEntry]:
        """The top of the ranking (红榜): rank ≤ size (ties included)."""
        return [e for e in self.entries if e.rank is not None and e.rank <= size]

    def black_list(self, size: int = 3) -> list[RankingEntry]:
        """The bottom (黑榜): subjects with fewer than `size` ranked subjects scoring
        strictly lower, and not on the red list."""
        ranked = [e for e in self.entries if e.rank is not None]
        red = {e.score.subject_id for e in self.red_list(size)}
        out = []
        for entry in ranked:
            lower = sum(
                1 for other in ranked if (other.score.score or 0) < (entry.score.score or 0)
            )
            if lower < size and entry.score.subject_id not in red:
                out.append(entry)
        return list(reversed(out))

    def entry_for(self, subject_id: int) -> RankingEntry | None:
        return next((e for e in self.entries if e.score.subject_id == subject_id), None)


def _check_kind(subject_kind: str) -> None:
    if subject_kind not in SUBJECT_KINDS:
        raise InvalidInput(
            _("Rankings are made of county departments, stationed agencies or townships."),
            code="assessment.kind_invalid",
            detail=[{"field": "kind", "message": _("Choose a kind of organisation.")}],
        )


def rank(scores: Iterable[SubjectScore], *, min_volume: int) -> list[RankingEntry]:
    """Competition ranking of the scores (no query)."""
    eligible = sorted(
        (s for s in scores if s.score is not None and s.volume >= min_volume),
        key=lambda s: (-(s.score or 0), s.subject_name, s.subject_id),
    )
    ranked: list[RankingEntry] = []
    previous: Decimal | None = None
    current = 0
    for position, score in enumerate(eligible, start=1):
        if score.score != previous:
            current, previous = position, score.score
        ranked.append(RankingEntry(rank=current, status=RankStatus.RANKED, score=score))
    return ranked


def ranking_for_period(
    *,
    county: Region | int,
    period: Period,
    subject_kind: str,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> Ranking:
    """The ranking of every subject of `subject_kind` in the county (constant queries)."""
    return rankings_for_period(
        county=county, period=period, kinds=(subject_kind,), policy=policy, now=now
    )[subject_kind]


def rankings_for_period(
    *,
    county: Region | int,
    period: Period,
    kinds: Iterable[str],
    policy: Policy | None = None,
    now: datetime | None = None,
) -> dict[str, Ranking]:
    """The rankings of several kinds of subject from ONE pass over the roll-up: the
    scores of every kind are computed together (the queries read the period's rows once,
    docs/benchmarks.md) and ranked kind by kind."""
    kinds = tuple(dict.fromkeys(kinds))
    if not kinds:
        return {}
    for kind in kinds:
        _check_kind(kind)
    county_id = county if isinstance(county, int) else county.pk
    policy = policy or policy_for(county_id)
    scores = scores_for_period(
        county=county_id,
        period=period,
        subject_kind=kinds[0] if len(kinds) == 1 else None,
        policy=policy,
        now=now,
    )
    return {
        kind: _ranking_of(
            [s for s in scores if s.subject_kind == kind], county_id, period, kind, policy
        )
        for kind in kinds
    }


def _ranking_of(
    scores: list[SubjectScore], county_id: int, period: Period, subject_kind: str, policy: Policy
) -> Ranking:
    ranked = rank(scores, min_volume=policy.min_volume)
    ids = {e.score.subject_id for e in ranked}
    by_name = sorted((s for s in scores if s.subject_id not in ids), key=lambda s: s.subject_name)
    few = [
        RankingEntry(rank=None, status=RankStatus.TOO_FEW_CALLS, score=s)
        for s in by_name
        if s.score is not None
    ]
    none = [
        RankingEntry(rank=None, status=RankStatus.NO_DATA, score=s)
        for s in by_name
        if s.score is None
    ]
    return Ranking(
        county_id=county_id,
        period=period,
        subject_kind=subject_kind,
        min_volume=policy.min_volume,
        ranked_count=len(ranked),
        entries=tuple(ranked + few + none),
    )


# ---- one subject: history and losses


@dataclass(frozen=True)
class HistoryPoint:
    """The subject in one period: its score, and its place in that period's ranking."""

    period: Period
    score: SubjectScore
    rank: int | None
    status: str
    ranked_count: int


def _subject_org(subject: Organisation | int) -> Organisation:
    org = subject if isinstance(subject, Organisation) else Organisation.objects.get(pk=subject)
    if org.kind not in SUBJECT_KINDS or org.county_id is None:
        raise InvalidInput(
            _("Only county departments, stationed agencies and townships are assessed."),
            code="assessment.not_a_subject",
        )
    return org


def subject_history(
    *,
    subject: Organisation | int,
    periods: Sequence[Period],
    policy: Policy | None = None,
    now: datetime | None = None,
) -> list[HistoryPoint]:
    """The subject's score and rank in each of `periods` (in the order given), ranked
    among the subjects of its kind as in `ranking_for_period`: the same rules for every
    period, so the points compare. A constant number of queries per period; at most
    `MAX_HISTORY` periods (`assessment.too_many_periods`)."""
    if not periods:
        raise InvalidInput(_("Choose at least one period."), code="assessment.period_required")
    if len(periods) > MAX_HISTORY:
        raise InvalidInput(
            _("At most %(max)s periods at once.") % {"max": MAX_HISTORY},
            code="assessment.too_many_periods",
        )
    org = _subject_org(subject)
    assert org.county_id is not None
    policy = policy or policy_for(org.county_id)
    out = []
    for period in periods:
        ranking = ranking_for_period(
            county=org.county_id, period=period, subject_kind=org.kind, policy=policy, now=now
        )
        entry = ranking.entry_for(org.pk)
        if entry is None:  # an inactive subject without data in this period
            (score,) = scores_for_period(
                county=org.county_id, period=period, subjects=[org.pk], policy=policy, now=now
            )
            entry = RankingEntry(rank=None, status=RankStatus.NO_DATA, score=score)
        out.append(
            HistoryPoint(
                period=period,
                score=entry.score,
                rank=entry.rank,
                status=entry.status,
                ranked_count=ranking.ranked_count,
            )
        )
    return out


class LossKind:
    RESPONSE = "response"  # reasons: late_sign, late_response
    COMPLETION = "completion"  # reasons: late_completion | not_completed
    SATISFACTION = "satisfaction"  # reasons: unsatisfied | basically
    REDO = "redo"
    RED_CARD = "red_card"
    REFUSED_RETURN = "refused_return"
    INVALID_CALL = "invalid_call"
    COOPERATION = "cooperation"  # reasons: late_completion | not_completed | no_evidence
    PERIODIC_EVALUATION = "periodic_evaluation"


@dataclass(frozen=True)
class Loss:
    """Points of the final score lost to one thing (one call's step, one evaluation, one
    card, one form). `points` add up to 100 − score when no bound (0 or 100) was hit."""

    kind: str
    reasons: tuple[str, ...]
    points: Decimal
    at: datetime | None
    call_id: int | None = None
    call_number: str = ""
    form_id: int | None = None


@dataclass(frozen=True)
class SubjectLosses:
    score: SubjectScore
    items: tuple[Loss, ...]

    @property
    def total(self) -> Decimal:
        return sum((i.points for i in self.items), Decimal(0))


def _points(value: Fraction) -> Decimal:
    return score_decimal(value) or Decimal(0)


def subject_losses(
    *,
    subject: Organisation | int,
    period: Period,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> SubjectLosses:
    """Where the subject lost points in the period, down to the calls: late signing or
    response, late or missing completion, unsatisfied or basically satisfied evaluations,
    redos, red cards, refused returns, invalid calls and unfinished cooperation (for a
    township), and periodic forms below 100. Largest losses first."""
    org = _subject_org(subject)
    assert org.county_id is not None
    now = now or timezone.now()
    policy = policy or policy_for(org.county_id)
    (score,) = scores_for_period(
        county=org.county_id, period=period, subjects=[org.pk], policy=policy, now=now
    )
    m = score.metrics
    exact = _exact(m, policy)
    weights = _weights(policy, m.subject_kind)
    by_key = {c.key: c for c in exact.components}
    # How much of the final score one point of the composite is.
    k_composite = 1 - exact.share

    def component_unit(key: str) -> Fraction:
        c = by_key[key]
        if not c.counted or not exact.weight_total:
            return Fraction(0)
        return k_composite * HUNDRED * weights[key] / exact.weight_total / c.denominator

    items: list[Loss] = []

    def add(
        kind: str, reasons: tuple[str, ...], points: Fraction, row: Mapping[str, Any], at: Any
    ) -> None:
        if points > 0:
            items.append(
                Loss(
                    kind=kind,
                    reasons=reasons,
                    points=_points(points),
                    at=at,
                    call_id=row.get("call_id"),
                    call_number=row.get("call__number", ""),
                )
            )

    q = dispatch_filters(period, now)
    facts = DispatchFact.objects.filter(subject_id=org.pk)
    fields = (
        "call_id",
        "call__number",
        "received_at",
        "sign_due",
        "signed_at",
        "respond_due",
        "responded_at",
        "complete_due",
        "completed_at",
        "returns_refused",
        "evidence",
    )
    township = m.subject_kind == OrgKind.TOWNSHIP

    def late(done: Any, due: Any) -> bool:
        return due is not None and (
            (done is None and due < now) or (done is not None and done > due)
        )

    if not township:
        unit = component_unit("response")
        for row in facts.filter(q.response_failed).values(*fields).order_by("received_at"):
            reasons = tuple(
                r
                for r, flag in (
                    ("late_sign", late(row["signed_at"], row["sign_due"])),
                    ("late_response", late(row["responded_at"], row["respond_due"])),
                )
                if flag
            )
            add(LossKind.RESPONSE, reasons, unit, row, row["received_at"])
        unit = component_unit("completion")
        for row in facts.filter(q.completion_late).values(*fields).order_by("complete_due"):
            reason = "late_completion" if row["completed_at"] else "not_completed"
            add(LossKind.COMPLETION, (reason,), unit, row, row["complete_due"])
    else:
        unit = component_unit("cooperation")
        failed = (q.completion_ok | q.completion_late) & ~q.cooperation_done
        for row in facts.filter(failed).values(*fields).order_by("complete_due"):
            missing: list[str] = []
            if late(row["completed_at"], row["complete_due"]):
                missing.append("late_completion" if row["completed_at"] else "not_completed")
            if not row["evidence"]:
                missing.append("no_evidence")
            add(LossKind.COOPERATION, tuple(missing), unit, row, row["complete_due"])
        unit = component_unit("valid_calls")
        invalid = SubmissionFact.objects.filter(
            in_period("sent_at", period), caller_id=org.pk, outcome=Outcome.INVALID
        )
        for row in invalid.values("call_id", "call__number", "sent_at").order_by("sent_at"):
            add(LossKind.INVALID_CALL, ("returned_by_platform",), unit, row, row["sent_at"])
    penalty_unit = k_composite
    for row in (
        facts.filter(q.received, returns_refused__gt=0).values(*fields).order_by("received_at")
    ):
        for _refusal in range(row["returns_refused"]):
            add(
                LossKind.REFUSED_RETURN,
                (),
                penalty_unit * policy.penalty_refused_return,
                row,
                row["received_at"],
            )

    # Evaluations and cards.
    sat_unit = component_unit("satisfaction")
    evaluation_sat = exact.evaluation_satisfaction
    per_call_share = 1 - exact.form_share
    evaluation_unit = Fraction(0)
    if evaluation_sat is not None and evaluation_sat.counted:
        evaluation_unit = exact.share * per_call_share * HUNDRED / evaluation_sat.counted
    agency = m.subject_kind == OrgKind.STATIONED_AGENCY
    events = (
        EventFact.objects.filter(in_period("at", period), subject_id=org.pk, excluded=False)
        .filter(
            Q(kind=FactEventKind.EVALUATION, default_evaluation=False)
            | Q(kind=FactEventKind.RED_CARD)
        )
        .values("call_id", "call__number", "kind", "at", "evaluation", "from_host")
        .order_by("at")
    )
    for row in events:
        if row["kind"] == FactEventKind.RED_CARD:
            add(LossKind.RED_CARD, (), penalty_unit * policy.penalty_red_card, row, row["at"])
            continue
        shortfall = {"unsatisfied": Fraction(1), "basically": 1 - policy.w_basic}.get(
            row["evaluation"], Fraction(0)
        )
        in_evaluation = row["from_host"] if agency else True
        points = sat_unit * shortfall + (evaluation_unit * shortfall if in_evaluation else 0)
        add(LossKind.SATISFACTION, (row["evaluation"],), points, row, row["at"])
        if row["evaluation"] == "unsatisfied":
            add(LossKind.REDO, (), penalty_unit * policy.penalty_redo, row, row["at"])

    # Periodic forms.
    if exact.forms and exact.form_share:
        forms = PeriodicEvaluation.objects.filter(forms_in(period), subject_id=org.pk)
        if agency:
            forms = forms.filter(township__township_id=org.township_id)
        for form in forms.order_by("starts_on", "pk"):
            points = exact.share * exact.form_share * (HUNDRED - Fraction(form.score)) / exact.forms
            if points > 0:
                items.append(
                    Loss(
                        kind=LossKind.PERIODIC_EVALUATION,
                        reasons=(form.period_key,),
                        points=_points(points),
                        at=None,
                        form_id=form.pk,
                    )
                )
    items.sort(key=lambda i: (-i.points, i.at or period.ends_at, i.call_id or 0))
    return SubjectLosses(score=score, items=tuple(items))
