"""The figures panel of the stationed-agency page (/orgs/agencies/<id>/, docs/agencies.md).

`regions` sits below `assessment` and may not import it: this module registers the panel
with `regions.agency_panels` (found by its autodiscovery, as the admin finds `admin.py`).
The figures are those of `scores.scores_for_period` for the agency alone, for the period
asked (`?period=`, default: the current month) and the period before it: the response,
completion and satisfaction rates, the overdue count, the composite score and the host
township's evaluation, which weighs the county's `township_share_agency` (≥ 3/5) in the
score. The regions page decides who sees it (the agency page's viewers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.agency_panels import AgencyPanel, register_agency_panel
from xianghu.regions.models import Organisation

from .access import subject_rule
from .periods import Period
from .policy import policy_for
from .scores import SubjectScore, scores_for_period


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    score: SubjectScore


def _current_month() -> Period:
    today = timezone.localdate(timezone.now(), CHINA_TZ)
    return Period.month(today.year, today.month)


def agency_figures(agency: Organisation, period: Period) -> list[PeriodFigures]:
    """The agency's score in `period` and in the period before it (a constant number of
    queries per period)."""
    assert agency.county_id is not None
    policy = policy_for(agency.county_id)
    out = []
    for p in (period, period.previous()):
        (score,) = scores_for_period(
            county=agency.county_id, period=p, subjects=[agency.pk], policy=policy
        )
        out.append(PeriodFigures(period=p, score=score))
    return out


def figures_panel(request: HttpRequest, agency: Organisation) -> AgencyPanel | None:
    if agency.county_id is None:
        return None
    text = (request.GET.get("period") or "").strip()[:40]
    error = ""
    period = _current_month()
    if text:
        try:
            period = Period.parse(text)
        except InvalidInput as exc:
            error = str(exc.message)
    actor = getattr(request, "actor", None)
    rule = subject_rule(actor) if actor is not None else None
    # The link to the assessment page, for those who may open it.
    linked = rule is not None and Organisation.objects.filter(rule & Q(pk=agency.pk)).exists()
    return AgencyPanel(
        template="regions/_agency_figures.html",
        context={
            "period": period,
            "period_text": text or period.key,
            "error": error,
            "figures": [] if error else agency_figures(agency, period),
            "subject_link": linked,
        },
        order=10,
    )


register_agency_panel(figures_panel)
