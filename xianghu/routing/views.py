"""Pages of the routing app: the suggestion panel of the new-call form (htmx) and the
acceptance monitor. The call page's panel is in `panels.py`."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from xianghu.core.errors import PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Region
from xianghu.regions.roles import GOVERNMENT_KINDS

from . import selectors
from .access import MONITOR_KINDS
from .models import SuggestionStage

_TARGET = re.compile(r"^[A-Za-z][\w-]{0,40}$")


def _location(request: XhRequest, county: Region) -> Region | None:
    raw = request.GET.get("location", "")
    if not raw.isdigit():
        return None
    return Region.objects.filter(pk=int(raw), code__startswith=county.code).first()


@login_required
@require_GET
def suggest_panel(request: XhRequest) -> HttpResponse:
    """The list items the text of a call being written points to (a partial for htmx):
    each with its confidence, departments and the words that matched, and a button that
    fills the form's item field. Reads only: what is finally chosen is recorded when the
    call is saved."""
    membership = current_membership(request)
    if membership is None or membership.organisation.kind not in GOVERNMENT_KINDS:
        raise PermissionDenied()
    county = membership.organisation.county
    if county is None:
        raise PermissionDenied()
    title = request.GET.get("title", "")[:200]
    description = request.GET.get("description", "")[:4000]
    target = request.GET.get("target", "id_item")
    if not _TARGET.match(target):
        target = "id_item"
    suggestion = None
    if (title + description).strip():
        suggestion = selectors.route_suggest(
            county=county,
            text=f"{title}\n{description}",
            township=_location(request, county),
        )
    return render(
        request,
        "routing/_suggestions.html",
        {"suggestion": suggestion, "target": target},
    )


@login_required
def acceptance_page(request: XhRequest) -> HttpResponse:
    """The acceptance monitor: how often suggestions were taken, per item and month,
    and the latest corrections the next training learns from."""
    membership = current_membership(request)
    if membership is None or membership.organisation.kind not in MONITOR_KINDS:
        raise PermissionDenied()
    county = membership.organisation.county
    if county is None:
        raise PermissionDenied()
    raw = request.GET.get("months", "6")
    months = int(raw) if raw.isdigit() and 1 <= int(raw) <= 24 else 6
    report = selectors.acceptance_report(county=county, months=months)
    return render(
        request,
        "routing/acceptance.html",
        {
            "county": county,
            "report": report,
            "months": months,
            "month_choices": (3, 6, 12),
            "stages": [
                (label, report.by_stage.get(value)) for value, label in SuggestionStage.choices
            ],
            "model": selectors.routing_model_latest(county=county),
            "corrections": selectors.corrections_recent(county=county),
        },
    )
