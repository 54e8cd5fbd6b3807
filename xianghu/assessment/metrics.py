"""Assessment metrics per subject and period, computed by the database.

`metrics_for_period(county=…, period=…)` answers every subject of a county (county
departments, stationed agencies, townships) in a constant number of queries, whatever the
number of subjects or calls: one aggregation per fact table grouped by subject
(`Count(filter=Q(…))`, `Sum`, `Avg`), one for the periodic forms, one for the subjects,
and, with `times=True`, one window query per step for the 90th percentiles. The formulas
are those of docs/scoring.md, section "Metrics"; a rate with an empty denominator is
`None` ("no data"), never 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, IntegerField, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from xianghu.core.prepared import custom_plans
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from .access import SUBJECT_KINDS
from .facts import ASSISTING, CALL_EXCLUSIONS, LEAD
from .models import (
    DispatchFact,
    EventFact,
    Exclusion,
    FactEventKind,
    PeriodicEvaluation,
    StepState,
    SubmissionFact,
    SubmissionOutcome,
)
from .periods import Period
from .policy import Policy, policy_for

RATE_PLACES = Decimal("0.0001")


def rate(numerator: Fraction | int, denominator: int | Fraction) -> Decimal | None:
    """`numerator / denominator` rounded half up to four places; None when the
    denominator is 0 (no data)."""
    if not denominator:
        return None
    value = Fraction(numerator) / Fraction(denominator)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        RATE_PLACES, rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class StepTimes:
    """How long a step took, in seconds of clock time from the start of the clocks, over
    the lead dispatches received in the period that took the step."""

    count: int
    average_seconds: int | None
    p90_seconds: int | None


@dataclass(frozen=True)
class Satisfaction:
    """The evaluations of one group of evaluators, and the satisfaction rate under the
    county's `w_basic` and default-evaluation rule."""

    evaluations: int  # every evaluation, defaults included
    satisfied: int  # given by the evaluator
    basically: int
    unsatisfied: int
    defaults: int  # closed without an evaluation (auto_close), counted as satisfied
    counted: int  # the denominator: evaluations that count under the policy
    value: Fraction | None  # the numerator: satisfied + w_basic × basically (+ defaults)
    rate: Decimal | None

    @classmethod
    def of(
        cls, satisfied: int, basically: int, unsatisfied: int, defaults: int, policy: Policy
    ) -> Satisfaction:
        counted = satisfied + basically + unsatisfied
        value = Fraction(satisfied) + policy.w_basic * basically
        if policy.count_default_evaluations:
            counted += defaults
            value += defaults
        return cls(
            evaluations=satisfied + basically + unsatisfied + defaults,
            satisfied=satisfied,
            basically=basically,
            unsatisfied=unsatisfied,
            defaults=defaults,
            counted=counted,
            value=value if counted else None,
            rate=rate(value, counted),
        )


@dataclass(frozen=True)
class SubjectMetrics:
    """The figures of one subject (a county department, stationed agency or township) in
    one period. Counts are whole numbers; every `*_rate` is a Decimal between 0 and 1
    rounded to four places, or None when its denominator is 0 ("no data").

    As lead handler (dispatches received in the period, `received_at` in it):
      received, assisting_received; sign_ok / sign_late → sign_rate (签收及时率);
      response_ok / response_failed → response_rate (响应率); return_requested →
      return_rate (退单率); returns_refused, returns_approved → return_refusal_rate
      (退单驳回率); sign_time, response_time, completion_time (None unless asked for).
    Dispatches due in the period (`complete_due` in it):
      completion_ok / completion_late → completion_rate (办结率); overdue (= late).
    Events in the period: satisfaction (满意率, every evaluation), host_satisfaction (for a
      stationed agency: evaluations from its host township), redo and redo_rate (重办率),
      red_cards, yellow_cards, supervision_orders (督办).
    Townships only (None otherwise): calls_sent, calls_valid, calls_invalid, calls_pending
      → valid_call_rate; cooperation_due, cooperation_done → cooperation_rate.
    Periodic forms (contained in the period): forms, forms_average (0–100, or None);
      host_forms, host_forms_average (from the host township, for a stationed agency).
    """

    subject_id: int
    subject_name: str
    subject_kind: str
    parent_id: int | None
    host_township_id: int | None
    period: Period
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
    satisfaction: Satisfaction
    host_satisfaction: Satisfaction
    redo: int
    redo_rate: Decimal | None
    red_cards: int
    yellow_cards: int
    supervision_orders: int
    forms: int
    forms_total: Decimal
    forms_average: Decimal | None
    host_forms: int
    host_forms_total: Decimal
    host_forms_average: Decimal | None
    calls_sent: int | None
    calls_valid: int | None
    calls_invalid: int | None
    calls_pending: int | None
    valid_call_rate: Decimal | None
    cooperation_due: int | None
    cooperation_done: int | None
    cooperation_rate: Decimal | None
    sign_time: StepTimes | None = None
    response_time: StepTimes | None = None
    completion_time: StepTimes | None = None

    @property
    def has_data(self) -> bool:
        """Whether anything at all happened to the subject in the period."""
        return bool(
            self.received
            or self.assisting_received
            or self.completion_ok
            or self.completion_late
            or self.satisfaction.evaluations
            or self.red_cards
            or self.yellow_cards
            or self.supervision_orders
            or self.forms
            or self.calls_sent
        )


# ---- the filters of docs/scoring.md, "Metrics"


def in_period(field: str, period: Period) -> Q:
    """`field` falls in the period: from its first moment, before the first moment after."""
    return Q(**{f"{field}__gte": period.starts_at, f"{field}__lt": period.ends_at})


#: The step times: the name of the step and the column of its seconds.
_STEPS = {"sign": "sign_seconds", "response": "respond_seconds", "completion": "complete_seconds"}


def _late(state: str, due: str, now: datetime) -> Q:
    """The step was taken after its deadline, or not taken and its deadline has passed."""
    return Q(**{state: StepState.LATE}) | Q(**{state: StepState.OPEN, f"{due}__lt": now})


@dataclass(frozen=True)
class DispatchFilters:
    """The conditions of docs/scoring.md on handling episodes, for one period and moment.
    The metrics count with them and the losses list rows with them: the two cannot
    disagree. `counted`, `rated` and the step states are decided by the fold
    (`facts.EpisodeRow.settle`); only "has an open step's deadline passed?" depends on
    the moment, and only membership in the period on the period."""

    received: Q  # counted (lead, not merged or withdrawn), received in the period
    assisting: Q  # assisting, received in the period, not merged or withdrawn
    sign_ok: Q
    sign_late: Q
    response_ok: Q
    response_failed: Q
    completion_ok: Q
    completion_late: Q
    cooperation_done: Q
    return_requested: Q
    returns_approved: Q
    timed: Q  # the cohort of the step times: lead, not excluded, received in the period


def dispatch_filters(period: Period, now: datetime) -> DispatchFilters:
    received = in_period("received_at", period)
    due = in_period("complete_due", period)
    rated = Q(rated=True) & received
    rated_due = Q(rated=True) & due
    sign_late = _late("sign_state", "sign_due", now)
    complete_ok = Q(complete_state=StepState.ON_TIME)
    return DispatchFilters(
        received=Q(counted=True) & received,
        assisting=Q(role=ASSISTING) & received & ~Q(exclusion__in=CALL_EXCLUSIONS),
        sign_ok=rated & Q(sign_state=StepState.ON_TIME),
        sign_late=rated & sign_late,
        response_ok=rated & Q(sign_state=StepState.ON_TIME, respond_state=StepState.ON_TIME),
        response_failed=rated & (sign_late | _late("respond_state", "respond_due", now)),
        completion_ok=rated_due & complete_ok,
        completion_late=rated_due & _late("complete_state", "complete_due", now),
        cooperation_done=rated_due & complete_ok & Q(evidence=True),
        return_requested=Q(counted=True) & received & Q(return_requests__gt=0),
        returns_approved=Q(role=LEAD)
        & received
        & Q(exclusion__in=[Exclusion.RETURN_APPROVED, Exclusion.REASSIGNED]),
        timed=Q(role=LEAD, excluded=False) & received,
    )


def _dispatch_aggregates(
    base: Any, period: Period, now: datetime, *, times: bool
) -> dict[int, dict[str, Any]]:
    q = dispatch_filters(period, now)
    aggregates: dict[str, Any] = {
        "received": Count("pk", filter=q.received),
        "assisting_received": Count("pk", filter=q.assisting),
        "sign_ok": Count("pk", filter=q.sign_ok),
        "sign_late": Count("pk", filter=q.sign_late),
        "response_ok": Count("pk", filter=q.response_ok),
        "response_failed": Count("pk", filter=q.response_failed),
        "completion_ok": Count("pk", filter=q.completion_ok),
        "completion_late": Count("pk", filter=q.completion_late),
        "cooperation_done": Count("pk", filter=q.cooperation_done),
        "return_requested": Count("pk", filter=q.return_requested),
        "returns_refused": Sum("returns_refused", filter=q.received),
        "returns_approved": Count("pk", filter=q.returns_approved),
    }
    if times:
        for step, field in _STEPS.items():
            aggregates[f"{step}_avg"] = Avg(field, filter=q.timed)
            aggregates[f"{step}_n"] = Count(field, filter=q.timed)
            if connection.vendor == "postgresql":
                aggregates[f"{step}_p90"] = Percentile90(field, filter=q.timed)
    rows = (
        base.filter(in_period("received_at", period) | in_period("complete_due", period))
        .values("subject_id")
        .order_by()
        .annotate(**aggregates)
    )
    return {row.pop("subject_id"): row for row in rows}


def _event_aggregates(base: Any, period: Period) -> dict[int, dict[str, Any]]:
    """The period's evaluations, cards and orders per subject: one plain GROUP BY on the
    subject and the event's few categorical columns (at most a dozen groups a subject),
    summed here into the counts."""
    rows = (
        base.filter(in_period("at", period), excluded=False)
        .values_list("subject_id", "kind", "evaluation", "default_evaluation", "from_host")
        .order_by()
        .annotate(n=Count("pk"))
    )
    out: dict[int, dict[str, Any]] = {}
    for subject_id, kind, evaluation, default, from_host, n in rows:
        counts = out.setdefault(subject_id, {})
        if kind == FactEventKind.EVALUATION:
            names = ["defaults" if default else evaluation]
        else:
            names = [_EVENT_COUNTS.get(kind, kind)]
        if from_host and kind == FactEventKind.EVALUATION:
            names.append(f"host_{names[0]}")
        for name in names:
            counts[name] = counts.get(name, 0) + n
    return out


_EVENT_COUNTS = {
    FactEventKind.RED_CARD: "red_cards",
    FactEventKind.YELLOW_CARD: "yellow_cards",
    FactEventKind.SUPERVISE: "supervision_orders",
}


def _submission_aggregates(base: Any, period: Period) -> dict[int, dict[str, Any]]:
    rows = (
        base.filter(in_period("sent_at", period))
        .values("caller_id")
        .order_by()
        .annotate(
            sent=Count("pk"),
            valid=Count("pk", filter=Q(outcome=SubmissionOutcome.VALID)),
            invalid=Count("pk", filter=Q(outcome=SubmissionOutcome.INVALID)),
            pending=Count("pk", filter=Q(outcome=SubmissionOutcome.PENDING)),
        )
    )
    return {row.pop("caller_id"): row for row in rows}


def forms_in(period: Period) -> Q:
    """The periodic forms that count for `period`: those of a period within it."""
    return Q(starts_on__gte=period.start, ends_on__lte=period.end)


def _form_aggregates(base: Any, period: Period) -> dict[int, dict[str, Any]]:
    host = Q(
        subject__kind=OrgKind.STATIONED_AGENCY, township__township_id=F("subject__township_id")
    )
    rows = (
        base.filter(forms_in(period))
        .values("subject_id")
        .order_by()
        .annotate(
            forms=Count("pk"),
            forms_total=Sum("score"),
            host_forms=Count("pk", filter=host),
            host_forms_total=Sum("score", filter=host),
        )
    )
    return {row.pop("subject_id"): row for row in rows}


class Percentile90(Aggregate):
    """PostgreSQL's ordered-set aggregate `percentile_disc(0.9) WITHIN GROUP (ORDER BY …)`:
    the smallest value whose cumulative share reaches 0.9, i.e. the nearest-rank 90th
    percentile — the same value `percentile_90` finds with window functions."""

    function = "PERCENTILE_DISC"
    name = "Percentile90"
    template = "%(function)s(0.9) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = IntegerField()


def percentile_90(base: Any, field: str, period: Period) -> dict[int, int]:
    """The 90th percentile of `field` per subject, by the nearest-rank method: the value
    at rank ⌈0.9 n⌉ of the subject's n values in ascending order. One window query on
    PostgreSQL and SQLite alike (ROW_NUMBER and COUNT over a partition by subject; the
    rank ⌈0.9 n⌉ in whole numbers: (9 n + 9) div 10); one row per subject comes back."""
    rows = (
        base.filter(
            Q(role=LEAD, excluded=False) & in_period("received_at", period),
            **{f"{field}__isnull": False},
        )
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("subject_id")],
                order_by=[F(field).asc(), F("pk").asc()],
            ),
            size=Window(Count("pk"), partition_by=[F("subject_id")]),
        )
        .filter(position=(F("size") * 9 + 9) / 10)
        .values_list("subject_id", field)
    )
    return dict(rows)


def _times(count: int, average: Any, p90: int | None) -> StepTimes:
    return StepTimes(
        count=count,
        average_seconds=round(average) if average is not None else None,
        p90_seconds=p90,
    )


def _subjects(
    county_id: int, kinds: Iterable[str], subject_ids: Iterable[int] | None, with_data: set[int]
) -> list[Organisation]:
    qs = Organisation.objects.filter(county_id=county_id, kind__in=list(kinds))
    if subject_ids is not None:
        # Asked for by id: listed even when inactive.
        qs = qs.filter(pk__in=list(subject_ids))
    else:
        qs = qs.filter(Q(is_active=True) | Q(pk__in=with_data))
    return list(
        qs.order_by("kind", "name", "pk").only("id", "name", "kind", "parent_id", "township_id")
    )


def _county_id(county: Region | int) -> int:
    return county if isinstance(county, int) else county.pk


def metrics_for_period(
    *,
    county: Region | int,
    period: Period,
    subject_kind: str | None = None,
    subjects: Iterable[int] | None = None,
    policy: Policy | None = None,
    times: bool = True,
    now: datetime | None = None,
) -> list[SubjectMetrics]:
    """The metrics of every subject of the county in the period (or of `subject_kind`
    only, or of the `subjects` given by id), ordered by kind and name. Subjects without
    any fact are listed too, with zero counts and None rates.

    `times=False` leaves out the step times: the scores and rankings need none. The 90th
    percentiles come with the aggregation on PostgreSQL (`percentile_disc`), from three
    window queries elsewhere (SQLite). `now` (default: the current time) decides whether
    a deadline not yet met has passed. Queries: 6 (+3 with times on SQLite), whatever the
    number of subjects.
    """
    # Ranges of dates as parameters: a generic plan would be the wrong one for most.
    with custom_plans():
        return _metrics_for_period(
            county=county,
            period=period,
            subject_kind=subject_kind,
            subjects=subjects,
            policy=policy,
            times=times,
            now=now,
        )


def _metrics_for_period(
    *,
    county: Region | int,
    period: Period,
    subject_kind: str | None,
    subjects: Iterable[int] | None,
    policy: Policy | None,
    times: bool,
    now: datetime | None,
) -> list[SubjectMetrics]:
    county_id = _county_id(county)
    now = now or timezone.now()
    policy = policy or policy_for(county_id)
    kinds = [subject_kind] if subject_kind else list(SUBJECT_KINDS)
    ids = list(subjects) if subjects is not None else None

    def scoped(
        model: Any, subject_field: str = "subject_id", kind_field: str | None = "subject_kind"
    ) -> Any:
        qs = model.objects.filter(county_id=county_id)
        if kind_field:
            qs = qs.filter(**{f"{kind_field}__in": kinds})
        if ids is not None:
            qs = qs.filter(**{f"{subject_field}__in": ids})
        return qs

    dispatch = _dispatch_aggregates(scoped(DispatchFact), period, now, times=times)
    events = _event_aggregates(scoped(EventFact), period)
    submissions = (
        _submission_aggregates(scoped(SubmissionFact, "caller_id", "caller_kind"), period)
        if OrgKind.TOWNSHIP in kinds
        else {}
    )
    forms = _form_aggregates(scoped(PeriodicEvaluation, kind_field="subject__kind"), period)
    p90: dict[str, dict[int, int]] = {}
    if times:
        for step, field in _STEPS.items():
            if connection.vendor == "postgresql":  # computed with the aggregation above
                p90[step] = {pk: row[f"{step}_p90"] for pk, row in dispatch.items()}
            else:
                p90[step] = percentile_90(scoped(DispatchFact), field, period)
    with_data = set(dispatch) | set(events) | set(submissions) | set(forms)
    out = []
    for org in _subjects(county_id, kinds, ids, with_data):
        out.append(
            _metrics(
                org,
                period,
                policy,
                dispatch.get(org.pk, {}),
                events.get(org.pk, {}),
                submissions.get(org.pk) if org.kind == OrgKind.TOWNSHIP else None,
                forms.get(org.pk, {}),
                {step: values.get(org.pk) for step, values in p90.items()} if times else None,
            )
        )
    return out


def _metrics(
    org: Organisation,
    period: Period,
    policy: Policy,
    d: dict[str, Any],
    e: dict[str, Any],
    s: dict[str, Any] | None,
    f: dict[str, Any],
    p90: dict[str, int | None] | None,
) -> SubjectMetrics:
    def n(row: dict[str, Any], key: str) -> int:
        return int(row.get(key) or 0)

    township = org.kind == OrgKind.TOWNSHIP
    sign_ok, sign_late = n(d, "sign_ok"), n(d, "sign_late")
    response_ok, response_failed = n(d, "response_ok"), n(d, "response_failed")
    completion_ok, completion_late = n(d, "completion_ok"), n(d, "completion_late")
    received = n(d, "received")
    returns_refused, returns_approved = n(d, "returns_refused"), n(d, "returns_approved")
    satisfaction = Satisfaction.of(
        n(e, "satisfied"), n(e, "basically"), n(e, "unsatisfied"), n(e, "defaults"), policy
    )
    host_satisfaction = Satisfaction.of(
        n(e, "host_satisfied"),
        n(e, "host_basically"),
        n(e, "host_unsatisfied"),
        n(e, "host_defaults"),
        policy,
    )
    forms, host_forms = n(f, "forms"), n(f, "host_forms")
    forms_total = Decimal(f.get("forms_total") or 0)
    host_forms_total = Decimal(f.get("host_forms_total") or 0)
    valid = invalid = None
    if township:
        s = s or {}
        valid, invalid = n(s, "valid"), n(s, "invalid")
    times: dict[str, StepTimes | None] = {"sign": None, "response": None, "completion": None}
    if p90 is not None:
        for step in times:
            times[step] = _times(n(d, f"{step}_n"), d.get(f"{step}_avg"), p90.get(step))
    return SubjectMetrics(
        subject_id=org.pk,
        subject_name=org.name,
        subject_kind=org.kind,
        parent_id=org.parent_id,
        host_township_id=org.township_id if org.kind == OrgKind.STATIONED_AGENCY else None,
        period=period,
        received=received,
        assisting_received=n(d, "assisting_received"),
        sign_ok=sign_ok,
        sign_late=sign_late,
        sign_rate=rate(sign_ok, sign_ok + sign_late),
        response_ok=response_ok,
        response_failed=response_failed,
        response_rate=rate(response_ok, response_ok + response_failed),
        completion_ok=completion_ok,
        completion_late=completion_late,
        completion_rate=rate(completion_ok, completion_ok + completion_late),
        overdue=completion_late,
        return_requested=n(d, "return_requested"),
        return_rate=rate(n(d, "return_requested"), received),
        returns_refused=returns_refused,
        returns_approved=returns_approved,
        return_refusal_rate=rate(returns_refused, returns_refused + returns_approved),
        satisfaction=satisfaction,
        host_satisfaction=host_satisfaction,
        redo=satisfaction.unsatisfied,
        redo_rate=rate(satisfaction.unsatisfied, satisfaction.counted),
        red_cards=n(e, "red_cards"),
        yellow_cards=n(e, "yellow_cards"),
        supervision_orders=n(e, "supervision_orders"),
        forms=forms,
        forms_total=forms_total,
        forms_average=_average(forms_total, forms),
        host_forms=host_forms,
        host_forms_total=host_forms_total,
        host_forms_average=_average(host_forms_total, host_forms),
        calls_sent=n(s, "sent") if township and s is not None else None,
        calls_valid=valid,
        calls_invalid=invalid,
        calls_pending=n(s, "pending") if township and s is not None else None,
        valid_call_rate=rate(valid or 0, (valid or 0) + (invalid or 0)) if township else None,
        cooperation_due=completion_ok + completion_late if township else None,
        cooperation_done=n(d, "cooperation_done") if township else None,
        cooperation_rate=(
            rate(n(d, "cooperation_done"), completion_ok + completion_late) if township else None
        ),
        sign_time=times["sign"],
        response_time=times["response"],
        completion_time=times["completion"],
    )


def _average(total: Decimal, count: int) -> Decimal | None:
    if not count:
        return None
    return (total / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
