"""The townships' periodic evaluation forms (考核表) for the past months of the demo history.

`build_demo_forms` has a leader of every township fill in, for each month of the call
history that has ended, a form for every county department and stationed agency that led
the township's calls that month and for the agencies the township hosts — through
`assessment.services.periodic_evaluation_submit`, the service behind the form page. So
the townships' evaluation in a department's or agency's score has both of its halves, the
per-call ratings and the forms (docs/scoring.md).

The score reflects what the township saw: the mean of its evaluations of the subject's
calls that month (satisfied 95, basically satisfied 85, unsatisfied 60), or where it
evaluated none, the subject's pace in the history (fast 92, steady 84, slow 70), give or
take four points. Some townships give a grade instead of a score; low scores come with a
comment. Deterministic from the seed; built once (a county with any form keeps its forms).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from xianghu.assessment import services as assessment_services
from xianghu.assessment.models import Grade, PeriodicEvaluation
from xianghu.assessment.periods import Period
from xianghu.calls.models import CallEvent, Direction, Dispatch, DispatchRole
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role
from xianghu.regions.selectors import actor_for_user

from .county import DEFAULT_SEED, DEMO_ACCOUNTS
from .history import FAST, PACES, SLOW, history_calls

#: What a township's evaluation of one call says about the department, in form points.
EVALUATION_POINTS = {"satisfied": 95, "basically": 85, "unsatisfied": 60}
#: A department's pace in the history, in form points (where the township rated no call).
_PACE_POINTS = {FAST: 92, SLOW: 70}
_STEADY_POINTS = 84
_SPREAD = 4

#: Every third township (in the order of their codes) grades instead of scoring.
_GRADING_EVERY = 3

LOW_COMMENTS = (
    "签收和响应不够及时，多次催办后才到现场。",
    "处置结果反馈不及时，群众有意见。",
    "超期办结较多，希望加强与乡镇的对接。",
    "现场处置不彻底，同类问题反复出现。",
)
HIGH_COMMENTS = (
    "响应迅速，到场处置及时，配合顺畅。",
    "办理规范，结果反馈及时，群众满意。",
    "",
    "",
)


@dataclass(frozen=True)
class FormsSummary:
    """What `build_demo_forms` filled in (or found)."""

    forms: int
    months: tuple[str, ...]
    skipped: bool = False  # the county had forms already


def _grade(score: int) -> str:
    if score >= 90:
        return Grade.EXCELLENT
    if score >= 80:
        return Grade.GOOD
    if score >= 65:
        return Grade.FAIR
    return Grade.POOR


def _months(first: date, until: date) -> list[Period]:
    """The calendar months from the one of `first` that ended before `until`."""
    months = []
    period = Period.month(first.year, first.month)
    while period.end < until:
        months.append(period)
        following = period.end + timedelta(days=1)
        period = Period.month(following.year, following.month)
    return months


def _pace_points(org: Organisation, organisations: dict[int, Organisation]) -> int:
    if org.kind == OrgKind.STATIONED_AGENCY and org.parent_id in organisations:
        org = organisations[org.parent_id]
    pace = PACES.get(org.short_name)
    return _PACE_POINTS.get(pace, _STEADY_POINTS) if pace is not None else _STEADY_POINTS


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)


def build_demo_forms(
    *, county: Region, seed: int = DEFAULT_SEED, until: datetime | None = None
) -> FormsSummary:
    """Fill in the townships' forms for the months of the county's call history that
    ended before `until` (default: now). Does nothing if the county has any form."""
    if PeriodicEvaluation.objects.filter(county=county).exists():
        return FormsSummary(
            forms=PeriodicEvaluation.objects.filter(county=county).count(),
            months=tuple(
                PeriodicEvaluation.objects.filter(county=county)
                .order_by("period_key")
                .values_list("period_key", flat=True)
                .distinct()
            ),
            skipped=True,
        )
    calls = history_calls(county)
    first = calls.aggregate(first=Min("created_at"))["first"]
    if first is None:
        return FormsSummary(forms=0, months=())
    end = (until or timezone.now()).astimezone(CHINA_TZ).date()
    months = _months(first.astimezone(CHINA_TZ).date(), end)
    organisations = {
        o.pk: o
        for o in Organisation.objects.filter(county=county, is_active=True)
        .select_related("region")
        .order_by("pk")
    }
    townships = sorted(
        (o for o in organisations.values() if o.kind == OrgKind.TOWNSHIP),
        key=lambda o: o.region.code if o.region_id else o.name,
    )
    documented = {a.username for a in DEMO_ACCOUNTS}
    leaders: dict[int, Any] = {}
    for m in (
        Membership.objects.filter(
            organisation__in=townships, role=Role.TOWNSHIP_LEADER, is_active=True
        )
        .select_related("user")
        .order_by("user__username")
    ):
        if m.organisation_id not in leaders or m.user.username in documented:
            leaders[m.organisation_id] = m.user
    hosted: dict[int, list[Organisation]] = defaultdict(list)
    for org in organisations.values():
        if org.kind == OrgKind.STATIONED_AGENCY and org.township_id is not None:
            hosted[org.township_id].append(org)
    evaluations: dict[int, list[str]] = defaultdict(list)
    for call_id, data in (
        CallEvent.objects.filter(call__in=calls, action="evaluate")
        .order_by("call_id", "seq")
        .values_list("call_id", "data")
    ):
        if isinstance(data, dict) and data.get("evaluation") in EVALUATION_POINTS:
            evaluations[call_id].append(data["evaluation"])
    subject_kinds = (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
    count = 0
    with transaction.atomic():
        for period in months:
            # What each township's calls that month said about each lead.
            seen: dict[tuple[int, int], list[str]] = defaultdict(list)
            for call_id, caller_id, org_id in (
                Dispatch.objects.filter(
                    call__in=calls,
                    call__direction=Direction.UP,
                    role=DispatchRole.LEAD,
                    active=True,
                    organisation__kind__in=subject_kinds,
                    dispatched_at__gte=_moment(period.start),
                    dispatched_at__lt=_moment(period.end + timedelta(days=1)),
                )
                .order_by("call_id")
                .values_list("call_id", "call__caller_id", "organisation_id")
            ):
                seen[(caller_id, org_id)].extend(evaluations.get(call_id, []))
            for position, township in enumerate(townships):
                leader = leaders.get(township.pk)
                if leader is None:
                    continue
                actor = actor_for_user(user=leader)
                grading = position % _GRADING_EVERY == _GRADING_EVERY - 1
                subjects = {org_id for (caller, org_id) in seen if caller == township.pk}
                subjects |= {a.pk for a in hosted.get(township.region_id or 0, [])}
                for subject in sorted(
                    (organisations[i] for i in subjects if i in organisations),
                    key=lambda o: o.name,
                ):
                    rng = random.Random(f"{seed}/form/{township.name}/{subject.name}/{period.key}")
                    said = seen.get((township.pk, subject.pk), [])
                    base = (
                        sum(EVALUATION_POINTS[e] for e in said) / len(said)
                        if said
                        else _pace_points(subject, organisations)
                    )
                    score = max(40, min(100, round(base + rng.uniform(-_SPREAD, _SPREAD))))
                    comments = LOW_COMMENTS if score < 80 else HIGH_COMMENTS
                    assessment_services.periodic_evaluation_submit(
                        actor=actor,
                        township=township,
                        subject=subject,
                        period=period,
                        score=None if grading else Decimal(score),
                        grade=_grade(score) if grading else "",
                        comment=rng.choice(comments),
                    )
                    count += 1
    return FormsSummary(forms=count, months=tuple(p.key for p in months))
