"""The data of the assessment dashboards (docs/dashboards.md), built on the assessment
engine (`metrics`, `scores`, `access`) and aggregated in the database.

- `dashboard_scope`: what the role the user works as (the role switcher) sees — the
  whole county, a department and its stationed agencies, or a township — through
  `access.scope_for` with the actor narrowed to that one membership;
- `period_from_query`: the period picker (month, quarter, year, range of days);
- one builder per page: `overview_data` (volume, open, overdue, the three rates and the
  monthly trend), `groups_data` (by domain and by list item), `townships_data`,
  `departments_data`, `steps_data` (step-time distributions), `rankings_data`
  (红黑榜 with the previous period's ranks), `subject_data` (trend, components, losses).

Every figure comes from grouped queries (`Count(filter=…)`, `Sum`, `Avg`, truncation to
months): the number of queries of a page does not depend on the number of calls or
subjects. Rates without a denominator are None ("no data"), never 0 % or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from xianghu.calls import overview as call_reads
from xianghu.core.actor import Actor
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role

from . import access
from .metrics import (
    Satisfaction,
    SubjectMetrics,
    dispatch_filters,
    in_period,
    metrics_for_period,
    rate,
)
from .models import DispatchFact, EventFact, FactEventKind, SubmissionFact
from .periods import Period, PeriodKind
from .policy import Policy, policy_for
from .scores import (
    HistoryPoint,
    Ranking,
    RankingEntry,
    RankStatus,
    SubjectLosses,
    SubjectScore,
    ranking_for_period,
    rankings_for_period,
    subject_history,
    subject_losses,
)

# ---- who sees what ----------------------------------------------------------------------

#: The roles that open the dashboards, and the kinds of organisation they work in.
DEPARTMENT_ROLES = (Role.DEPARTMENT_LEADER, Role.DEPARTMENT_HANDLER)
DASHBOARD_ROLES = frozenset({*access.COUNTY_ROLES, *DEPARTMENT_ROLES, Role.TOWNSHIP_LEADER})


class ScopeKind:
    COUNTY = "county"
    DEPARTMENT = "department"
    TOWNSHIP = "township"


def may_see_dashboards(membership: Membership | None) -> bool:
    """Whether the role the user works as opens the dashboards (no query): assessors,
    platform operators and system administrators of a county, department leaders and
    handlers (of a department or stationed agency), township leaders."""
    if membership is None or membership.role not in DASHBOARD_ROLES:
        return False
    org = membership.organisation
    if org.county_id is None:
        return False
    if membership.role in DEPARTMENT_ROLES:
        return org.kind in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
    if membership.role == Role.TOWNSHIP_LEADER:
        return org.kind == OrgKind.TOWNSHIP
    return True


def may_fill_forms(membership: Membership | None) -> bool:
    """Whether the user works as a township leader (the periodic evaluation forms)."""
    return (
        membership is not None
        and membership.role == Role.TOWNSHIP_LEADER
        and membership.organisation.kind == OrgKind.TOWNSHIP
    )


def actor_as(actor: Actor, membership: Membership) -> Actor:
    """The actor with only the grant of `membership`: the dashboards show what the
    role the user works as sees, not the union of all its roles."""
    grants = [
        g
        for g in actor.grants
        if g.organisation_id == membership.organisation_id and g.role == membership.role
    ]
    return Actor.build(
        user_id=actor.user_id,
        grants=grants,
        is_public=actor.is_public,
        is_superuser=actor.is_superuser,
        display_name=actor.display_name,
    )


@dataclass(frozen=True)
class DashboardScope:
    """What the dashboards show: the county, and within it everything or some subjects."""

    actor: Actor  # narrowed to the membership worked as
    county: Region
    kind: str  # ScopeKind
    name: str  # what the figures are of: the county or the organisation
    scope: access.Scope
    organisation: Organisation | None  # the organisation worked in (None: superuser)

    @property
    def everything(self) -> bool:
        return self.scope.everything

    @property
    def subject_ids(self) -> list[int] | None:
        """The subjects seen, or None for every subject of the county."""
        return None if self.scope.everything else sorted(self.scope.subject_ids)

    def allows(self, subject_id: int) -> bool:
        return self.scope.allows(subject_id)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of subject in view."""
        if self.kind == ScopeKind.COUNTY:
            return tuple(access.SUBJECT_KINDS)
        if self.kind == ScopeKind.TOWNSHIP:
            return (OrgKind.TOWNSHIP,)
        return (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)


def dashboard_scope(
    *, actor: Actor, membership: Membership | None, county_id: int | None = None
) -> DashboardScope:
    """The scope of the dashboards for the membership the user works as. A superuser
    sees a whole county: the one named (`county_id`), else that of its membership, else
    the only one (`assessment.county_required` when there are several). Anybody else
    without a dashboard role: 403 `assessment.forbidden`."""
    if membership is None or (actor.is_superuser and not may_see_dashboards(membership)):
        if not actor.is_superuser:
            raise access.forbidden()
        if county_id is None and membership is not None:
            county_id = membership.organisation.county_id
        counties = Region.objects.filter(level="county")
        if county_id is not None:
            county = counties.filter(pk=county_id).first()
            if county is None:
                raise NotFound()
        else:
            found = list(counties.order_by("code")[:2])
            if len(found) != 1:
                raise InvalidInput(
                    _("Choose a county."),
                    code="assessment.county_required",
                    detail=[{"field": "county", "message": _("This field is required.")}],
                )
            county = found[0]
        return DashboardScope(
            actor=actor,
            county=county,
            kind=ScopeKind.COUNTY,
            name=county.name,
            scope=access.scope_for(actor, county.pk),
            organisation=None,
        )
    if not may_see_dashboards(membership):
        raise access.forbidden()
    org = membership.organisation
    county = org.county
    assert county is not None  # may_see_dashboards
    narrowed = actor_as(actor, membership)
    scope = access.scope_for(narrowed, county.pk)
    if membership.role in access.COUNTY_ROLES:
        kind, name = ScopeKind.COUNTY, county.name
    elif membership.role == Role.TOWNSHIP_LEADER:
        kind, name = ScopeKind.TOWNSHIP, org.name
    else:
        kind, name = ScopeKind.DEPARTMENT, org.name
    return DashboardScope(
        actor=narrowed, county=county, kind=kind, name=name, scope=scope, organisation=org
    )


# ---- the period picker -------------------------------------------------------------------

PICKER_KINDS = (
    (PeriodKind.MONTH, gettext_lazy("Month")),
    (PeriodKind.QUARTER, gettext_lazy("Quarter")),
    (PeriodKind.YEAR, gettext_lazy("Year")),
    (PeriodKind.RANGE, gettext_lazy("Range of days")),
)


@dataclass
class Picker:
    """The values of the period picker's fields, and the error of the last choice."""

    kind: str = PeriodKind.MONTH
    month: str = ""
    quarter_year: str = ""
    quarter: str = "1"
    year: str = ""
    start: str = ""
    end: str = ""
    error: str = ""
    code: str = ""
    allow_range: bool = True

    @property
    def kinds(self) -> list[tuple[str, Any]]:
        return [(k, label) for k, label in PICKER_KINDS if self.allow_range or k != "range"]

    def fill(self, period: Period) -> None:
        self.kind = period.kind
        self.year = str(period.start.year)
        self.quarter_year = str(period.start.year)
        self.month = f"{period.start.year:04d}-{period.start.month:02d}"
        self.quarter = str((period.start.month - 1) // 3 + 1)
        self.start = period.start.isoformat()
        self.end = period.end.isoformat()


def today_in_china(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), CHINA_TZ)


def _required(message: str) -> InvalidInput:
    return InvalidInput(
        message,
        code="assessment.period_required",
        detail=[{"field": "period", "message": _("This field is required.")}],
    )


def _picked_text(params: Mapping[str, str], picker: Picker) -> str:
    """The period text the picker's fields give (raises when a field is missing)."""
    kind = params.get("kind", "")
    if kind not in dict(picker.kinds):
        raise InvalidInput(
            _("Choose a month, a quarter, a year or a range of days."),
            code="assessment.period_invalid",
            detail=[{"field": "kind", "message": _("Choose a kind of period.")}],
        )
    picker.kind = kind
    picker.month = params.get("month", "").strip()[:20]
    picker.quarter_year = params.get("quarter_year", "").strip()[:10]
    picker.quarter = params.get("quarter", "").strip()[:2] or "1"
    picker.year = params.get("year", "").strip()[:10]
    picker.start = params.get("start", "").strip()[:20]
    picker.end = params.get("end", "").strip()[:20]
    if kind == PeriodKind.MONTH:
        if not picker.month:
            raise _required(_("Choose a month."))
        return picker.month
    if kind == PeriodKind.QUARTER:
        if not picker.quarter_year:
            raise _required(_("Give the year of the quarter."))
        return f"{picker.quarter_year}-Q{picker.quarter}"
    if kind == PeriodKind.YEAR:
        if not picker.year:
            raise _required(_("Give a year."))
        return picker.year
    if not picker.start or not picker.end:
        raise _required(_("Give the first and the last day of the range."))
    return f"{picker.start}..{picker.end}"


def period_from_query(
    params: Mapping[str, str],
    *,
    default: Period,
    today: date | None = None,
    allow_range: bool = True,
) -> tuple[Period | None, Picker]:
    """The period asked for: `period` (its text: `2025-03`, `2025-Q1`, `2025`,
    `2025-03-01..2025-03-15`), else the picker's fields (`kind` and `month`,
    `quarter_year` + `quarter`, `year`, or `start` + `end`), else `default`. On bad input
    the period is None and the picker carries the error (the codes of `Period.parse`)."""
    today = today or today_in_china()
    picker = Picker(allow_range=allow_range)
    picker.fill(default)
    try:
        if "period" in params:  # given, even empty (`assessment.period_required`)
            text = (params.get("period") or "").strip()[:40]
        elif params.get("kind"):
            text = _picked_text(params, picker)
        else:
            return default, picker
        period = Period.parse(text, today=today)
        if period.kind == PeriodKind.RANGE and not allow_range:
            raise InvalidInput(
                _("Choose a month, a quarter or a year."),
                code="assessment.form_period",
                detail=[{"field": "period", "message": _("Not a range of days.")}],
            )
    except InvalidInput as error:
        picker.error = str(error.message)
        picker.code = error.code
        return None, picker
    picker.fill(period)
    return period, picker


# ---- small helpers ----------------------------------------------------------------------


def percent(value: Decimal | None) -> float | None:
    """A rate (0–1) as a percentage with one decimal, for the charts; None: no data."""
    if value is None:
        return None
    return round(float(value) * 100, 1)


def number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def hours(seconds: int | float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _facts(
    model: Any, ds: DashboardScope, *, subject_field: str = "subject_id", kind_field: str = ""
) -> QuerySet[Any]:
    """The rows of a fact table in the scope (the county; some subjects)."""
    qs = model.objects.filter(county_id=ds.county.pk)
    if kind_field:
        qs = qs.filter(**{f"{kind_field}__in": list(access.SUBJECT_KINDS)})
    ids = ds.subject_ids
    if ids is not None:
        qs = qs.filter(**{f"{subject_field}__in": ids})
    return qs


@dataclass(frozen=True)
class Totals:
    """Figures summed over several subjects (every lead episode belongs to one subject,
    so the sums are the rates of the whole scope)."""

    received: int
    response_ok: int
    response_failed: int
    completion_ok: int
    completion_late: int
    satisfaction: Satisfaction
    calls_sent: int
    calls_valid: int
    calls_invalid: int
    red_cards: int
    yellow_cards: int
    supervision_orders: int
    redo: int

    @property
    def overdue(self) -> int:
        return self.completion_late

    @property
    def response_rate(self) -> Decimal | None:
        return rate(self.response_ok, self.response_ok + self.response_failed)

    @property
    def completion_rate(self) -> Decimal | None:
        return rate(self.completion_ok, self.completion_ok + self.completion_late)

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return self.satisfaction.rate

    @property
    def valid_call_rate(self) -> Decimal | None:
        return rate(self.calls_valid, self.calls_valid + self.calls_invalid)


def totals_of(metrics: Iterable[SubjectMetrics], policy: Policy) -> Totals:
    rows = list(metrics)

    def total(name: str) -> int:
        return sum(int(getattr(m, name) or 0) for m in rows)

    return Totals(
        received=total("received"),
        response_ok=total("response_ok"),
        response_failed=total("response_failed"),
        completion_ok=total("completion_ok"),
        completion_late=total("completion_late"),
        satisfaction=Satisfaction.of(
            sum(m.satisfaction.satisfied for m in rows),
            sum(m.satisfaction.basically for m in rows),
            sum(m.satisfaction.unsatisfied for m in rows),
            sum(m.satisfaction.defaults for m in rows),
            policy,
        ),
        calls_sent=total("calls_sent"),
        calls_valid=total("calls_valid"),
        calls_invalid=total("calls_invalid"),
        red_cards=total("red_cards"),
        yellow_cards=total("yellow_cards"),
        supervision_orders=total("supervision_orders"),
        redo=total("redo"),
    )


# ---- charts -------------------------------------------------------------------------------


def chart(
    *,
    kind: str,
    categories: Sequence[str],
    series: Sequence[Mapping[str, Any]],
    axes: Sequence[Mapping[str, Any]],
    horizontal: bool = False,
) -> dict[str, Any]:
    """A chart as plain data for `static/js/charts.js` (embedded with `json_script`):
    `series` are `{name, data, type, axis}` with None for "no data" (a gap, never 0);
    `axes` are `{name, unit, max, inverse}`."""
    return {
        "kind": kind,
        "horizontal": horizontal,
        "categories": [str(c) for c in categories],
        "series": [dict(s) for s in series],
        "axes": [dict(a) for a in axes],
        "noData": str(_("no data")),
    }


def _rate_axis() -> dict[str, Any]:
    return {"name": str(_("Rate (%)")), "unit": "%", "max": 100, "min": 0}


# ---- the county overview ------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    received: int
    calls_sent: int
    response_rate: Decimal | None
    completion_rate: Decimal | None
    satisfaction_rate: Decimal | None
    overdue: int


def trend_months(period: Period, *, today: date, count: int = 12) -> list[Period]:
    """The `count` months up to the month of the period's last day (at most the
    current month), oldest first."""
    last_day = min(period.end, today)
    month = Period.month(last_day.year, last_day.month)
    months = [month]
    while len(months) < count:
        month = month.previous()
        months.append(month)
    return list(reversed(months))


def _month_of(value: Any) -> tuple[int, int]:
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(CHINA_TZ)
        return value.year, value.month
    return value.year, value.month


def monthly_trend(
    ds: DashboardScope, months: Sequence[Period], *, policy: Policy, now: datetime
) -> list[TrendPoint]:
    """Volume, the three rates and the overdue count month by month, with the filters of
    `metrics_for_period` (a month's figures equal that month's metrics summed over the
    scope). Four grouped queries, whatever the number of months."""
    span = Period.days(months[0].start, months[-1].end)
    q = dispatch_filters(span, now)
    facts = _facts(DispatchFact, ds, kind_field="subject_kind")
    by_received = (
        facts.filter(in_period("received_at", span))
        .annotate(month=TruncMonth("received_at", tzinfo=CHINA_TZ))
        .values("month")
        .order_by()
        .annotate(
            received=Count("pk", filter=q.received),
            response_ok=Count("pk", filter=q.response_ok),
            response_failed=Count("pk", filter=q.response_failed),
        )
    )
    by_due = (
        facts.filter(in_period("complete_due", span))
        .annotate(month=TruncMonth("complete_due", tzinfo=CHINA_TZ))
        .values("month")
        .order_by()
        .annotate(
            completion_ok=Count("pk", filter=q.completion_ok),
            completion_late=Count("pk", filter=q.completion_late),
        )
    )
    evaluation = Q(kind=FactEventKind.EVALUATION)
    given = evaluation & Q(default_evaluation=False)
    by_event = (
        _facts(EventFact, ds, kind_field="subject_kind")
        .filter(in_period("at", span), evaluation, excluded=False)
        .annotate(month=TruncMonth("at", tzinfo=CHINA_TZ))
        .values("month")
        .order_by()
        .annotate(
            satisfied=Count("pk", filter=given & Q(evaluation="satisfied")),
            basically=Count("pk", filter=given & Q(evaluation="basically")),
            unsatisfied=Count("pk", filter=given & Q(evaluation="unsatisfied")),
            defaults=Count("pk", filter=Q(default_evaluation=True)),
        )
    )
    by_sent = (
        _facts(SubmissionFact, ds, subject_field="caller_id", kind_field="caller_kind")
        .filter(in_period("sent_at", span), caller_kind=OrgKind.TOWNSHIP)
        .annotate(month=TruncMonth("sent_at", tzinfo=CHINA_TZ))
        .values("month")
        .order_by()
        .annotate(sent=Count("pk"))
    )
    received = {_month_of(r.pop("month")): r for r in by_received}
    due = {_month_of(r.pop("month")): r for r in by_due}
    events = {_month_of(r.pop("month")): r for r in by_event}
    sent = {_month_of(r["month"]): r["sent"] for r in by_sent}
    out = []
    for month in months:
        key = (month.start.year, month.start.month)
        r, d, e = received.get(key, {}), due.get(key, {}), events.get(key, {})
        sat = Satisfaction.of(
            e.get("satisfied", 0),
            e.get("basically", 0),
            e.get("unsatisfied", 0),
            e.get("defaults", 0),
            policy,
        )
        ok, failed = r.get("response_ok", 0), r.get("response_failed", 0)
        c_ok, c_late = d.get("completion_ok", 0), d.get("completion_late", 0)
        out.append(
            TrendPoint(
                period=month,
                received=r.get("received", 0),
                calls_sent=sent.get(key, 0),
                response_rate=rate(ok, ok + failed),
                completion_rate=rate(c_ok, c_ok + c_late),
                satisfaction_rate=sat.rate,
                overdue=c_late,
            )
        )
    return out


@dataclass(frozen=True)
class Overview:
    totals: Totals
    open_now: int
    overdue_now: int
    trend: list[TrendPoint]
    charts: dict[str, dict[str, Any]]
    now: datetime


def _calls_scope(ds: DashboardScope) -> Q:
    if ds.kind == ScopeKind.TOWNSHIP and ds.organisation is not None:
        return call_reads.scope_township(organisation_id=ds.organisation.pk)
    if ds.kind == ScopeKind.DEPARTMENT:
        return call_reads.scope_led_by(organisation_ids=ds.subject_ids or [])
    return call_reads.scope_county(county_id=ds.county.pk)


def overview_data(ds: DashboardScope, period: Period, *, now: datetime | None = None) -> Overview:
    """The figures of the scope in the period, the calls open and overdue now, and the
    trend over the last twelve months."""
    now = now or timezone.now()
    policy = policy_for(ds.county.pk)
    metrics = metrics_for_period(
        county=ds.county.pk,
        period=period,
        subjects=ds.subject_ids,
        policy=policy,
        times=False,
        now=now,
    )
    totals = totals_of(metrics, policy)
    moments = call_reads.overview_period(now=now)
    calls = call_reads.overview_calls(actor=ds.actor, scope=_calls_scope(ds))
    figures = call_reads.overview_figures(calls=calls, period=moments)
    trend = monthly_trend(
        ds, trend_months(period, today=today_in_china(now)), policy=policy, now=now
    )
    labels = [p.period.key for p in trend]
    charts = {
        "volume": chart(
            kind="bar",
            categories=labels,
            series=[
                {"name": str(_("Calls received")), "data": [p.received for p in trend]},
                {"name": str(_("Calls sent by townships")), "data": [p.calls_sent for p in trend]},
                {
                    "name": str(_("Overdue")),
                    "data": [p.overdue for p in trend],
                    "type": "line",
                },
            ],
            axes=[{"name": str(_("Calls")), "unit": "", "min": 0}],
        ),
        "rates": chart(
            kind="line",
            categories=labels,
            series=[
                {
                    "name": str(_("Response rate")),
                    "data": [percent(p.response_rate) for p in trend],
                },
                {
                    "name": str(_("Completion rate")),
                    "data": [percent(p.completion_rate) for p in trend],
                },
                {
                    "name": str(_("Satisfaction rate")),
                    "data": [percent(p.satisfaction_rate) for p in trend],
                },
            ],
            axes=[_rate_axis()],
        ),
    }
    return Overview(
        totals=totals,
        open_now=figures.open,
        overdue_now=figures.overdue,
        trend=trend,
        charts=charts,
        now=now,
    )


# ---- by domain and by list item -----------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """The lead episodes of one domain (or list item) of the list."""

    code: str
    name: str
    domain: str  # for an item: its domain's name
    received: int
    response_ok: int
    response_failed: int
    completion_ok: int
    completion_late: int
    satisfaction: Satisfaction

    @property
    def response_rate(self) -> Decimal | None:
        return rate(self.response_ok, self.response_ok + self.response_failed)

    @property
    def completion_rate(self) -> Decimal | None:
        return rate(self.completion_ok, self.completion_ok + self.completion_late)

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return self.satisfaction.rate

    @property
    def overdue(self) -> int:
        return self.completion_late


@dataclass(frozen=True)
class Groups:
    domains: list[GroupRow]
    items: list[GroupRow]
    charts: dict[str, dict[str, Any]]


def _grouped(
    ds: DashboardScope,
    period: Period,
    *,
    fields: tuple[str, ...],
    event_fields: tuple[str, ...],
    policy: Policy,
    now: datetime,
) -> list[GroupRow]:
    """Lead episodes and evaluations grouped by `fields` (code, name[, domain name]) of
    the fact, and `event_fields` (the same through the call) for the evaluations: two
    queries."""
    q = dispatch_filters(period, now)
    rows = (
        _facts(DispatchFact, ds, kind_field="subject_kind")
        .filter(in_period("received_at", period) | in_period("complete_due", period))
        .values(*fields)
        .order_by()
        .annotate(
            received=Count("pk", filter=q.received),
            response_ok=Count("pk", filter=q.response_ok),
            response_failed=Count("pk", filter=q.response_failed),
            completion_ok=Count("pk", filter=q.completion_ok),
            completion_late=Count("pk", filter=q.completion_late),
        )
    )
    evaluation = Q(kind=FactEventKind.EVALUATION)
    given = evaluation & Q(default_evaluation=False)
    events = (
        _facts(EventFact, ds, kind_field="subject_kind")
        .filter(in_period("at", period), evaluation, excluded=False)
        .values(*event_fields)
        .order_by()
        .annotate(
            satisfied=Count("pk", filter=given & Q(evaluation="satisfied")),
            basically=Count("pk", filter=given & Q(evaluation="basically")),
            unsatisfied=Count("pk", filter=given & Q(evaluation="unsatisfied")),
            defaults=Count("pk", filter=Q(default_evaluation=True)),
        )
    )
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[f] for f in fields)
        merged.setdefault(key, {}).update(row)
    for row in events:
        key = tuple(row[f] for f in event_fields)
        merged.setdefault(key, {}).update(row)
    outside = str(_("Outside the list"))
    out = []
    for key, values in merged.items():
        code, name = key[0] or "", key[1] or outside
        out.append(
            GroupRow(
                code=code,
                name=name,
                domain=(key[2] or outside) if len(key) > 2 else "",
                received=values.get("received", 0),
                response_ok=values.get("response_ok", 0),
                response_failed=values.get("response_failed", 0),
                completion_ok=values.get("completion_ok", 0),
                completion_late=values.get("completion_late", 0),
                satisfaction=Satisfaction.of(
                    values.get("satisfied", 0),
                    values.get("basically", 0),
                    values.get("unsatisfied", 0),
                    values.get("defaults", 0),
                    policy,
                ),
            )
        )
    # Most calls first; the calls outside the list last among equals.
    out.sort(key=lambda g: (-g.received, g.code == "", g.code, g.name))
    return out


#: The most list items a chart shows (the table lists them all).
CHART_ITEMS = 15


def _group_charts(rows: Sequence[GroupRow], prefix: str) -> dict[str, dict[str, Any]]:
    names = [f"{g.code} {g.name}".strip() for g in rows]
    return {
        f"{prefix}_volume": chart(
            kind="bar",
            horizontal=True,
            categories=names,
            series=[
                {"name": str(_("Calls received")), "data": [g.received for g in rows]},
                {"name": str(_("Overdue")), "data": [g.overdue for g in rows]},
            ],
            axes=[{"name": str(_("Calls")), "unit": "", "min": 0}],
        ),
        f"{prefix}_rates": chart(
            kind="bar",
            horizontal=True,
            categories=names,
            series=[
                {"name": str(_("Response rate")), "data": [percent(g.response_rate) for g in rows]},
                {
                    "name": str(_("Completion rate")),
                    "data": [percent(g.completion_rate) for g in rows],
                },
                {
                    "name": str(_("Satisfaction rate")),
                    "data": [percent(g.satisfaction_rate) for g in rows],
                },
            ],
            axes=[_rate_axis()],
        ),
    }


def groups_data(ds: DashboardScope, period: Period, *, now: datetime | None = None) -> Groups:
    """The lead episodes by domain and by list item of the list (four queries and the
    policy)."""
    now = now or timezone.now()
    policy = policy_for(ds.county.pk)
    domains = _grouped(
        ds,
        period,
        fields=("domain__code", "domain__name"),
        event_fields=("call__item__domain__code", "call__item__domain__name"),
        policy=policy,
        now=now,
    )
    items = _grouped(
        ds,
        period,
        fields=("item__code", "item__name", "domain__name"),
        event_fields=("call__item__code", "call__item__name", "call__item__domain__name"),
        policy=policy,
        now=now,
    )
    charts = {**_group_charts(domains, "domains"), **_group_charts(items[:CHART_ITEMS], "items")}
    return Groups(domains=domains, items=items, charts=charts)


# ---- subjects: departments, stationed agencies, townships ---------------------------------


@dataclass(frozen=True)
class SubjectRow:
    """One subject in a period with its rank among the subjects of its kind."""

    entry: RankingEntry
    organisation: Organisation | None = None
    red: bool = False
    black: bool = False

    @property
    def score(self) -> SubjectScore:
        return self.entry.score

    @property
    def metrics(self) -> SubjectMetrics:
        return self.entry.score.metrics

    @property
    def band(self) -> str:
        """The colour of a township's tile: by score, or no data."""
        value = self.entry.score.score
        if value is None:
            return "none"
        if value >= 90:
            return "a"
        if value >= 80:
            return "b"
        if value >= 60:
            return "c"
        return "d"


def _rows_of(
    ranking: Ranking, ds: DashboardScope, *, size: int = 3, orgs: Mapping[int, Organisation] = {}
) -> list[SubjectRow]:
    red = {e.score.subject_id for e in ranking.red_list(size)}
    black = {e.score.subject_id for e in ranking.black_list(size)}
    return [
        SubjectRow(
            entry=e,
            organisation=orgs.get(e.score.subject_id),
            red=e.score.subject_id in red,
            black=e.score.subject_id in black,
        )
        for e in ranking.entries
        if ds.allows(e.score.subject_id)
    ]


@dataclass(frozen=True)
class Townships:
    rows: list[SubjectRow]  # by rank
    grid: list[SubjectRow]  # in the official order (region code)
    ranking: Ranking
    charts: dict[str, dict[str, Any]]


def townships_data(ds: DashboardScope, period: Period, *, now: datetime | None = None) -> Townships:
    """The townships in view, scored and ranked (the ranking of every township of the
    county, the rows the scope allows), and laid out as a grid in official order."""
    ranking = ranking_for_period(
        county=ds.county.pk, period=period, subject_kind=OrgKind.TOWNSHIP, now=now
    )
    orgs = {
        o.pk: o
        for o in Organisation.objects.filter(county=ds.county, kind=OrgKind.TOWNSHIP)
        .select_related("region")
        .only("id", "name", "region__code")
    }
    rows = _rows_of(ranking, ds, orgs=orgs)
    grid = sorted(
        rows,
        key=lambda r: (
            r.organisation.region.code if r.organisation else "",
            r.score.subject_name,
        ),
    )
    names = [r.score.subject_name for r in grid]
    charts = {
        "calls": chart(
            kind="bar",
            categories=names,
            series=[
                {"name": str(_("Valid calls")), "data": [r.metrics.calls_valid for r in grid]},
                {"name": str(_("Invalid calls")), "data": [r.metrics.calls_invalid for r in grid]},
                {
                    "name": str(_("Awaiting the platform")),
                    "data": [r.metrics.calls_pending for r in grid],
                },
            ],
            axes=[{"name": str(_("Calls sent")), "unit": "", "min": 0}],
        ),
        "rates": chart(
            kind="bar",
            categories=names,
            series=[
                {
                    "name": str(_("Valid-call rate")),
                    "data": [percent(r.metrics.valid_call_rate) for r in grid],
                },
                {
                    "name": str(_("Cooperation rate")),
                    "data": [percent(r.metrics.cooperation_rate) for r in grid],
                },
                {"name": str(_("Score")), "data": [number(r.score.score) for r in grid]},
            ],
            axes=[{"name": str(_("Rate (%) and score")), "unit": "", "max": 100, "min": 0}],
        ),
    }
    return Townships(rows=rows, grid=grid, ranking=ranking, charts=charts)


@dataclass(frozen=True)
class Departments:
    departments: list[SubjectRow]
    agencies: list[SubjectRow]
    charts: dict[str, dict[str, Any]]


def _score_charts(rows: Sequence[SubjectRow], prefix: str) -> dict[str, dict[str, Any]]:
    names = [r.score.subject_name for r in rows]
    return {
        f"{prefix}_scores": chart(
            kind="bar",
            horizontal=True,
            categories=names,
            series=[
                {"name": str(_("Score")), "data": [number(r.score.score) for r in rows]},
                {"name": str(_("Composite")), "data": [number(r.score.composite) for r in rows]},
            ],
            axes=[{"name": str(_("Points")), "unit": "", "max": 100, "min": 0}],
        ),
        f"{prefix}_rates": chart(
            kind="bar",
            horizontal=True,
            categories=names,
            series=[
                {
                    "name": str(_("Response rate")),
                    "data": [percent(r.metrics.response_rate) for r in rows],
                },
                {
                    "name": str(_("Completion rate")),
                    "data": [percent(r.metrics.completion_rate) for r in rows],
                },
                {
                    "name": str(_("Satisfaction rate")),
                    "data": [percent(r.metrics.satisfaction.rate) for r in rows],
                },
            ],
            axes=[_rate_axis()],
        ),
    }


def departments_data(
    ds: DashboardScope, period: Period, *, now: datetime | None = None
) -> Departments:
    """County departments and stationed agencies in view, with their metrics, scores and
    ranks (two rankings: a constant number of queries)."""
    policy = policy_for(ds.county.pk)
    rankings = rankings_for_period(
        county=ds.county.pk,
        period=period,
        kinds=(OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY),
        policy=policy,
        now=now,
    )
    departments = _rows_of(rankings[OrgKind.DEPARTMENT], ds)
    agencies = _rows_of(rankings[OrgKind.STATIONED_AGENCY], ds)
    charts = {**_score_charts(departments, "departments"), **_score_charts(agencies, "agencies")}
    return Departments(departments=departments, agencies=agencies, charts=charts)


# ---- step times ---------------------------------------------------------------------------

#: The bins of the step-time histograms: upper bounds in seconds (the last is open).
STEP_BINS: tuple[tuple[int | None, Any], ...] = (
    (1800, gettext_lazy("< 30 min")),
    (3600, gettext_lazy("30 min – 1 h")),
    (7200, gettext_lazy("1–2 h")),
    (14400, gettext_lazy("2–4 h")),
    (28800, gettext_lazy("4–8 h")),
    (86400, gettext_lazy("8–24 h")),
    (172800, gettext_lazy("1–2 days")),
    (432000, gettext_lazy("2–5 days")),
    (864000, gettext_lazy("5–10 days")),
    (None, gettext_lazy("≥ 10 days")),
)

STEPS: tuple[tuple[str, str, Any], ...] = (
    ("sign", "sign_seconds", pgettext_lazy("assessment step", "Sign")),
    ("response", "respond_seconds", pgettext_lazy("assessment step", "Response")),
    ("completion", "complete_seconds", pgettext_lazy("assessment step", "Completion")),
)


@dataclass(frozen=True)
class StepSummary:
    key: str
    label: str
    count: int
    average_seconds: int | None
    bins: list[int]


@dataclass(frozen=True)
class Steps:
    summaries: list[StepSummary]
    bin_labels: list[str]
    subjects: list[SubjectMetrics]  # with their step times, those with any
    charts: dict[str, dict[str, Any]]

    @property
    def bin_rows(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """The histogram as table rows: a bin, then (step, count) per step."""
        return [
            (label, [(s.label, s.bins[index]) for s in self.summaries])
            for index, label in enumerate(self.bin_labels)
        ]


def step_histograms(ds: DashboardScope, period: Period, *, now: datetime) -> list[StepSummary]:
    """How many lead episodes received in the period took each step within each bin of
    time (the cohort of the step times of `metrics_for_period`): one query."""
    cohort = dispatch_filters(period, now).timed
    aggregates: dict[str, Any] = {}
    for key, column, _label in STEPS:
        lower = 0
        for index, (upper, _bin) in enumerate(STEP_BINS):
            condition = Q(**{f"{column}__gte": lower})
            if upper is not None:
                condition &= Q(**{f"{column}__lt": upper})
                lower = upper
            aggregates[f"{key}_{index}"] = Count("pk", filter=condition)
        aggregates[f"{key}_n"] = Count(column)
        aggregates[f"{key}_avg"] = Avg(column)
    values = (
        _facts(DispatchFact, ds, kind_field="subject_kind").filter(cohort).aggregate(**aggregates)
    )
    out = []
    for key, _column, label in STEPS:
        average = values[f"{key}_avg"]
        out.append(
            StepSummary(
                key=key,
                label=str(label),
                count=values[f"{key}_n"] or 0,
                average_seconds=round(average) if average is not None else None,
                bins=[values[f"{key}_{i}"] or 0 for i in range(len(STEP_BINS))],
            )
        )
    return out


def steps_data(ds: DashboardScope, period: Period, *, now: datetime | None = None) -> Steps:
    """The distribution of the time taken to sign, respond and complete, and each
    subject's average and 90th percentile (`metrics_for_period` with step times)."""
    now = now or timezone.now()
    summaries = step_histograms(ds, period, now=now)
    metrics = metrics_for_period(
        county=ds.county.pk, period=period, subjects=ds.subject_ids, times=True, now=now
    )
    timed = [
        m
        for m in metrics
        if any(t is not None and t.count for t in (m.sign_time, m.response_time, m.completion_time))
    ]
    bin_labels = [str(label) for _upper, label in STEP_BINS]
    names = [m.subject_name for m in timed]

    def series(attr: str, stat: str) -> list[float | None]:
        out = []
        for m in timed:
            times = getattr(m, attr)
            out.append(hours(getattr(times, stat)) if times is not None else None)
        return out

    charts = {
        "histogram": chart(
            kind="bar",
            categories=bin_labels,
            series=[{"name": s.label, "data": s.bins} for s in summaries],
            axes=[{"name": str(_("Episodes")), "unit": "", "min": 0}],
        ),
        "subjects": chart(
            kind="bar",
            horizontal=True,
            categories=names,
            series=[
                {"name": str(_("Sign, average")), "data": series("sign_time", "average_seconds")},
                {
                    "name": str(_("Response, average")),
                    "data": series("response_time", "average_seconds"),
                },
                {
                    "name": str(_("Completion, average")),
                    "data": series("completion_time", "average_seconds"),
                },
                {
                    "name": str(_("Completion, 90th percentile")),
                    "data": series("completion_time", "p90_seconds"),
                },
            ],
            axes=[{"name": str(_("Hours")), "unit": "h", "min": 0}],
        ),
    }
    return Steps(summaries=summaries, bin_labels=bin_labels, subjects=timed, charts=charts)


# ---- rankings (红黑榜) ---------------------------------------------------------------------

KIND_LABELS: dict[str, Any] = {
    OrgKind.DEPARTMENT: gettext_lazy("County departments"),
    OrgKind.STATIONED_AGENCY: gettext_lazy("Stationed agencies"),
    OrgKind.TOWNSHIP: gettext_lazy("Townships"),
}

#: How many ranks the red and the black list show.
LIST_SIZE = 3


@dataclass(frozen=True)
class RankRow:
    entry: RankingEntry
    previous: RankingEntry | None
    red: bool
    black: bool

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (negative: lost); None unless ranked
        in both."""
        if self.entry.rank is None or self.previous is None or self.previous.rank is None:
            return None
        return self.previous.rank - self.entry.rank

    @property
    def places(self) -> int:
        return abs(self.movement or 0)


@dataclass(frozen=True)
class RankingBlock:
    kind: str
    label: str
    ranking: Ranking
    previous: Ranking
    rows: list[RankRow]  # the visible rows: ranked, then too few calls, then no data
    chart: dict[str, Any]  # this period's and the previous period's scores

    @property
    def red_list(self) -> list[RankRow]:
        return [r for r in self.rows if r.red]

    @property
    def black_list(self) -> list[RankRow]:
        return sorted(
            (r for r in self.rows if r.black),
            key=lambda r: (-(r.entry.rank or 0), r.entry.score.subject_name),
        )


def rankings_data(
    ds: DashboardScope, period: Period, *, now: datetime | None = None
) -> list[RankingBlock]:
    """The ranking of each kind of subject in view, in the period and the previous
    period of the same kind (ranks over the whole county; visible rows)."""
    policy = policy_for(ds.county.pk)
    previous_period = period.previous()
    blocks = []
    current_all = rankings_for_period(
        county=ds.county.pk, period=period, kinds=ds.kinds, policy=policy, now=now
    )
    previous_all = rankings_for_period(
        county=ds.county.pk, period=previous_period, kinds=ds.kinds, policy=policy, now=now
    )
    for kind in ds.kinds:
        ranking = current_all[kind]
        previous = previous_all[kind]
        red = {e.score.subject_id for e in ranking.red_list(LIST_SIZE)}
        black = {e.score.subject_id for e in ranking.black_list(LIST_SIZE)}
        rows = [
            RankRow(
                entry=e,
                previous=previous.entry_for(e.score.subject_id),
                red=e.score.subject_id in red,
                black=e.score.subject_id in black,
            )
            for e in ranking.entries
            if ds.allows(e.score.subject_id)
        ]
        scored = [r for r in rows if r.entry.score.score is not None]
        blocks.append(
            RankingBlock(
                kind=kind,
                label=str(KIND_LABELS[kind]),
                ranking=ranking,
                previous=previous,
                rows=rows,
                chart=chart(
                    kind="bar",
                    horizontal=True,
                    categories=[r.entry.score.subject_name for r in scored],
                    series=[
                        {
                            "name": period.key,
                            "data": [number(r.entry.score.score) for r in scored],
                        },
                        {
                            "name": previous_period.key,
                            "data": [
                                number(r.previous.score.score) if r.previous else None
                                for r in scored
                            ],
                        },
                    ],
                    axes=[{"name": str(_("Score")), "unit": "", "max": 100, "min": 0}],
                ),
            )
        )
    return blocks


# ---- one subject --------------------------------------------------------------------------

#: How many periods of the same kind a subject's trend shows.
HISTORY_LENGTH = {
    PeriodKind.MONTH: 12,
    PeriodKind.QUARTER: 8,
    PeriodKind.YEAR: 5,
    PeriodKind.RANGE: 6,
}


def history_periods(period: Period) -> list[Period]:
    """The periods of the trend: this one and those of the same kind before it."""
    periods = [period]
    while len(periods) < HISTORY_LENGTH[period.kind]:
        periods.append(periods[-1].previous())
    return list(reversed(periods))


def subject_get(ds: DashboardScope, subject_id: int) -> Organisation:
    """An assessed organisation of the county in view (404 otherwise)."""
    org = (
        Organisation.objects.filter(
            pk=subject_id, county=ds.county, kind__in=list(access.SUBJECT_KINDS)
        )
        .select_related("parent", "township")
        .first()
    )
    if org is None or not ds.allows(org.pk):
        raise NotFound()
    return org


@dataclass(frozen=True)
class SubjectPage:
    organisation: Organisation
    history: list[HistoryPoint]
    current: HistoryPoint
    losses: SubjectLosses
    charts: dict[str, dict[str, Any]]

    @property
    def score(self) -> SubjectScore:
        return self.losses.score


def subject_data(
    ds: DashboardScope, org: Organisation, period: Period, *, now: datetime | None = None
) -> SubjectPage:
    """The subject's trend (score and rank over the last periods of the same kind), its
    score in the period with the components, and where it lost points, down to the
    calls."""
    now = now or timezone.now()
    policy = policy_for(ds.county.pk)
    history = subject_history(subject=org, periods=history_periods(period), policy=policy, now=now)
    losses = subject_losses(subject=org, period=period, policy=policy, now=now)
    labels = [p.period.key for p in history]
    charts = {
        "trend": chart(
            kind="line",
            categories=labels,
            series=[
                {"name": str(_("Score")), "data": [number(p.score.score) for p in history]},
                {
                    "name": str(_("Rank")),
                    "data": [p.rank for p in history],
                    "axis": 1,
                },
            ],
            axes=[
                {"name": str(_("Points")), "unit": "", "max": 100, "min": 0},
                {
                    "name": str(_("Rank")),
                    "unit": "",
                    "min": 1,
                    "max": max(2, *(p.ranked_count for p in history)),
                    "inverse": True,
                    "integer": True,
                },
            ],
        )
    }
    return SubjectPage(
        organisation=org, history=history, current=history[-1], losses=losses, charts=charts
    )


# ---- labels used by pages and exports ----------------------------------------------------

STATUS_LABELS: dict[str, Any] = {
    RankStatus.RANKED: gettext_lazy("ranked"),
    RankStatus.TOO_FEW_CALLS: gettext_lazy("not ranked: too few calls"),
    RankStatus.NO_DATA: gettext_lazy("no data"),
}

COMPONENT_LABELS: dict[str, Any] = {
    "response": gettext_lazy("Response rate (响应率)"),
    "completion": gettext_lazy("Completion rate (办结率)"),
    "satisfaction": gettext_lazy("Satisfaction rate (满意率)"),
    "valid_calls": gettext_lazy("Valid-call rate (有效呼叫率)"),
    "cooperation": gettext_lazy("Cooperation rate (配合职责履行率)"),
}

LOSS_LABELS: dict[str, Any] = {
    "response": pgettext_lazy("assessment step", "Response"),
    "completion": pgettext_lazy("assessment step", "Completion"),
    "satisfaction": pgettext_lazy("assessment step", "Satisfaction"),
    "redo": gettext_lazy("Redo (重办)"),
    "red_card": gettext_lazy("Red card"),
    "refused_return": gettext_lazy("Refused return"),
    "invalid_call": gettext_lazy("Invalid call"),
    "cooperation": gettext_lazy("Cooperation"),
    "periodic_evaluation": gettext_lazy("Periodic evaluation form"),
}

REASON_LABELS: dict[str, Any] = {
    "late_sign": gettext_lazy("signed late"),
    "late_response": gettext_lazy("responded late"),
    "late_completion": gettext_lazy("completed late"),
    "not_completed": gettext_lazy("not completed in time"),
    "no_evidence": gettext_lazy("no photo as evidence"),
    "unsatisfied": gettext_lazy("unsatisfied"),
    "basically": gettext_lazy("basically satisfied"),
    "returned_by_platform": gettext_lazy("returned by the platform"),
}


def reasons_text(kind: str, reasons: Sequence[str]) -> str:
    """The reasons of a loss in words (a form's reason is its period)."""
    if kind == "periodic_evaluation":
        return "、".join(reasons)
    return "、".join(str(REASON_LABELS.get(r, r)) for r in reasons)
