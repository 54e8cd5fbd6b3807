"""REST endpoints of the assessment app, mounted at /api/v1/assessment/
(docs/scoring.md, "API").

Every endpoint needs a session or an API key. Assessors, platform operators and system
administrators see their county; department staff their department (and its stationed
agencies); township leaders their township; anyone else gets 403 `assessment.forbidden`.
A subject outside the caller's view answers 404. Periods are written `2026-10`,
`2026-Q3`, `2026` or `2026-09-01..2026-10-15`; bad ones are 400 `assessment.period_*`.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from xianghu.core import access as core_access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES
from xianghu.core.errors import InvalidInput, NotFound, PermissionDenied
from xianghu.regions.models import Organisation, Region

from . import access, services
from .metrics import metrics_for_period
from .models import PeriodicEvaluation
from .periods import Period
from .policy import policy_for
from .schemas import (
    HistoryPointOut,
    LossesOut,
    MetricsListOut,
    MetricsOut,
    PeriodicEvaluationIn,
    PeriodicEvaluationOut,
    PeriodOut,
    PolicyIn,
    PolicyOut,
    RankingOut,
    ScoreOut,
    ScoresListOut,
)
from .scores import MAX_HISTORY, ranking_for_period, scores_for_period, subject_history
from .scores import subject_losses as losses_of

router = Router(tags=["assessment"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


class PeriodQuery(Schema):
    period: str
    county: int | None = None


class KindQuery(PeriodQuery):
    kind: str | None = None


def _kind(kind: str | None, *, required: bool = False) -> str | None:
    if kind in (None, "") and not required:
        return None
    if kind not in access.SUBJECT_KINDS:
        raise InvalidInput(
            _("Choose department, stationed_agency or township."),
            code="assessment.kind_invalid",
            detail=[{"field": "kind", "message": _("Choose a kind of organisation.")}],
        )
    return kind


def _scope(actor: Actor, county: int | None) -> access.Scope:
    if county is not None and not Region.objects.filter(pk=county, level="county").exists():
        raise NotFound()
    return access.scope_for(actor, county)


def _subjects(scope: access.Scope) -> list[int] | None:
    return None if scope.everything else sorted(scope.subject_ids)


@router.get(
    "/metrics", response={200: MetricsListOut, **ERROR_RESPONSES}, summary="Metrics per subject"
)
def metrics(request: HttpRequest, q: Query[KindQuery]) -> MetricsListOut:
    """The metrics of every subject the caller may see in the county and period (or of
    one `kind`: department, stationed_agency, township), with step times (average and
    90th percentile). Rates are 0–1 or null for no data."""
    actor = _actor(request)
    period = Period.parse(q.period)
    kind = _kind(q.kind)
    scope = _scope(actor, q.county)
    rows = metrics_for_period(
        county=scope.county_id, period=period, subject_kind=kind, subjects=_subjects(scope)
    )
    return MetricsListOut(
        county_id=scope.county_id,
        period=PeriodOut.of(period),
        subjects=[MetricsOut.of(m) for m in rows],
    )


@router.get("/scores", response={200: ScoresListOut, **ERROR_RESPONSES}, summary="Scores")
def scores(request: HttpRequest, q: Query[KindQuery]) -> ScoresListOut:
    """The composite and two-way scores of every subject the caller may see."""
    actor = _actor(request)
    period = Period.parse(q.period)
    kind = _kind(q.kind)
    scope = _scope(actor, q.county)
    rows = scores_for_period(
        county=scope.county_id, period=period, subject_kind=kind, subjects=_subjects(scope)
    )
    return ScoresListOut(
        county_id=scope.county_id,
        period=PeriodOut.of(period),
        subjects=[ScoreOut.of(s) for s in rows],
    )


class RankingQuery(PeriodQuery):
    kind: str
    size: int = 3


@router.get("/ranking", response={200: RankingOut, **ERROR_RESPONSES}, summary="Ranking (红黑榜)")
def ranking(request: HttpRequest, q: Query[RankingQuery]) -> RankingOut:
    """The ranking of one kind of subject (`kind`, required) in the period: ranks over
    every subject of the county, rows for those the caller may see. `red_list` and
    `black_list` name the top and bottom `size` (default 3) ranks."""
    actor = _actor(request)
    period = Period.parse(q.period)
    kind = _kind(q.kind, required=True)
    assert kind is not None
    scope = _scope(actor, q.county)
    if not 1 <= q.size <= 50:
        raise InvalidInput(
            _("Give a list size from 1 to 50."),
            code="assessment.invalid",
            detail=[{"field": "size", "message": _("From 1 to 50.")}],
        )
    result = ranking_for_period(county=scope.county_id, period=period, subject_kind=kind)
    return RankingOut.of(result, visible=scope.allows, size=q.size)


def _subject(actor: Actor, subject_id: int) -> Organisation:
    org = Organisation.objects.filter(pk=subject_id, kind__in=access.SUBJECT_KINDS).first()
    if org is None or org.county_id is None:
        raise NotFound()
    try:
        scope = access.scope_for(actor, org.county_id)
    except PermissionDenied:
        # Another county's subject: as if it did not exist (a 403 would tell it does).
        raise NotFound() from None
    if not scope.allows(org.pk):
        raise NotFound()
    return org


class HistoryQuery(Schema):
    periods: str | None = None
    period: str | None = None
    by: str | None = None


@router.get(
    "/subjects/{subject_id}/history",
    response={200: list[HistoryPointOut], **ERROR_RESPONSES},
    summary="A subject's trend",
)
def history(request: HttpRequest, subject_id: int, q: Query[HistoryQuery]) -> list[HistoryPointOut]:
    """The subject's score and rank period by period: `periods` (comma-separated, e.g.
    `2025-01,2025-02,2025-03`), or `period` split `by=month`. At most 60 periods."""
    actor = _actor(request)
    org = _subject(actor, subject_id)
    if q.periods:
        periods = [Period.parse(p) for p in q.periods.split(",") if p.strip()]
    elif q.period:
        whole = Period.parse(q.period)
        if q.by not in (None, "", "month"):
            raise InvalidInput(
                _("Split a period by month."),
                code="assessment.invalid",
                detail=[{"field": "by", "message": _("Only “month”.")}],
            )
        periods = whole.months() if q.by == "month" else [whole]
    else:
        periods = []
    if len(periods) > MAX_HISTORY:
        raise InvalidInput(
            _("At most %(max)s periods at once.") % {"max": MAX_HISTORY},
            code="assessment.too_many_periods",
        )
    return [HistoryPointOut.of(p) for p in subject_history(subject=org, periods=periods)]


class LossesQuery(Schema):
    period: str


@router.get(
    "/subjects/{subject_id}/losses",
    response={200: LossesOut, **ERROR_RESPONSES},
    summary="Where a subject lost points",
)
def subject_losses(request: HttpRequest, subject_id: int, q: Query[LossesQuery]) -> LossesOut:
    """Where the subject lost points in the period, down to the calls, largest first."""
    actor = _actor(request)
    org = _subject(actor, subject_id)
    period = Period.parse(q.period)
    return LossesOut.of(losses_of(subject=org, period=period))


class CountyQuery(Schema):
    county: int | None = None


def _policy_out(county_id: int) -> PolicyOut:
    values = policy_for(county_id).as_dict()
    values["county_id"] = county_id
    return PolicyOut(**values)


@router.get("/policy", response={200: PolicyOut, **ERROR_RESPONSES}, summary="Assessment rules")
def policy(request: HttpRequest, q: Query[CountyQuery]) -> PolicyOut:
    """The county's weights, penalties, shares and minimum volume (the defaults where
    the county has set none); fractions as text (`1/3`, `0.6`)."""
    scope = _scope(_actor(request), q.county)
    return _policy_out(scope.county_id)


@router.put("/policy", response={200: PolicyOut, **ERROR_RESPONSES}, summary="Change the rules")
def policy_set(request: HttpRequest, payload: PolicyIn, q: Query[CountyQuery]) -> PolicyOut:
    """Change some of the county's rules (assessors and administrators of the county).
    400 `assessment.weights_sum` when a group of weights does not add up to 100,
    `assessment.agency_share_too_low` below 3/5 for stationed agencies,
    `assessment.policy_invalid` otherwise; nothing is stored then."""
    actor = _actor(request)
    scope = _scope(actor, q.county)
    county = Region.objects.get(pk=scope.county_id)
    values = payload.dict(exclude_none=True)
    services.assessment_policy_set(actor=actor, county=county, values=values)
    return _policy_out(county.pk)


@router.get(
    "/periodic-evaluations",
    response={200: list[PeriodicEvaluationOut], **ERROR_RESPONSES},
    summary="Periodic evaluation forms",
)
def forms(request: HttpRequest, q: Query[PeriodQuery]) -> list[PeriodicEvaluationOut]:
    """The forms of periods within `period` that the caller may see (of its subjects, or
    filled by its township)."""
    actor = _actor(request)
    period = Period.parse(q.period)
    scope = _scope(actor, q.county)
    rows = core_access.visible(actor, PeriodicEvaluation.objects.all()).filter(
        county_id=scope.county_id, starts_on__gte=period.start, ends_on__lte=period.end
    )
    return [
        PeriodicEvaluationOut.of(f) for f in rows.order_by("starts_on", "township_id", "subject_id")
    ]


@router.post(
    "/periodic-evaluations",
    response={201: PeriodicEvaluationOut, 200: PeriodicEvaluationOut, **ERROR_RESPONSES},
    summary="Fill in a periodic evaluation form",
)
def form_submit(
    request: HttpRequest, payload: PeriodicEvaluationIn
) -> Status[PeriodicEvaluationOut]:
    """A township leader evaluates a county department or stationed agency for a month,
    quarter or year: `score` (0–100) or `grade` (excellent, good, fair, poor). 201 for a
    new form, 200 when it replaces the township's earlier form for the same subject and
    period. 403 `assessment.forbidden` unless a leader of the township; 400
    `assessment.not_a_subject`, `assessment.form_period`, `assessment.form_invalid`."""
    actor = _actor(request)
    period = Period.parse(payload.period)
    township = Organisation.objects.filter(pk=payload.township_id).first()
    subject = Organisation.objects.filter(pk=payload.subject_id).first()
    if township is None:
        raise access.forbidden()
    if subject is None:
        raise InvalidInput(
            _("Townships evaluate the county departments and stationed agencies of their county."),
            code="assessment.not_a_subject",
            detail=[{"field": "subject", "message": _("Choose a department or stationed agency.")}],
        )
    form, created = services.periodic_evaluation_submit(
        actor=actor,
        township=township,
        subject=subject,
        period=period,
        score=payload.score,
        grade=payload.grade,
        comment=payload.comment,
    )
    return Status(201 if created else 200, PeriodicEvaluationOut.of(form))


# ---- accountability by the list (docs/accountability.md)
router.add_router("/accountability/", "xianghu.assessment.accountability_api.router")

# ---- notices (通报) and rectification replies (docs/notices.md)
router.add_router("/notices/", "xianghu.assessment.notices_api.router")
