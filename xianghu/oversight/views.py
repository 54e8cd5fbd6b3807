"""The oversight pages (docs/oversight.md): the user's region, a drill-down to any
region in the remit, and the rollout report with its Excel and CSV twins. Thin: the
remit comes from `access`, the figures from `selectors`."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xianghu.assessment.dashboards import period_from_query, today_in_china
from xianghu.assessment.periods import Period
from xianghu.core.errors import InvalidInput
from xianghu.core.http import XhRequest
from xianghu.core.xlsx import Sheet, render_xlsx
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from . import access, selectors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(request: XhRequest) -> tuple[Period | None, str]:
    today = today_in_china()
    period, picker = period_from_query(
        request.GET, default=Period.month(today.year, today.month), today=today
    )
    return period, picker.error


def _breadcrumb(region: Region, paths: tuple[str, ...]) -> list[Region]:
    chain = list(Region.objects.filter(code__in=region.ancestor_codes()))
    chain.sort(key=lambda r: len(r.path))
    return [r for r in chain if access.within(paths, r)]


def _region_page(request: XhRequest, region: Region, others: list[Region]) -> HttpResponse:
    period, error = _period(request)
    paths = access.remit_paths(request.actor)
    context: dict[str, object] = {
        "region": region,
        "others": others,
        "period": period,
        "period_error": error,
        "breadcrumb": _breadcrumb(region, paths),
    }
    if period is None:
        return render(request, "oversight/region.html", context, status=400)
    if region.level == RegionLevel.TOWNSHIP:
        assert region.parent is not None
        context["townships"] = selectors.township_rows(region.parent, period=period, only=region)
    elif region.level == RegionLevel.COUNTY:
        context["counties"] = selectors.county_rows([region], period=period)
        context["townships"] = selectors.township_rows(region, period=period)
    else:
        context["counties"] = selectors.county_rows(selectors.counties_under(region), period=period)
        context["children"] = list(
            Region.objects.filter(parent=region, level=RegionLevel.CITY).order_by("code")
        )
    return render(request, "oversight/region.html", context)


@login_required
def home(request: XhRequest) -> HttpResponse:
    """The top of the user's remit: a province shows its cities and counties, a city its
    counties, a county its townships."""
    regions = access.home_regions(actor=request.actor)
    if not regions:
        return render(request, "oversight/region.html", {"region": None, "others": []})
    return _region_page(request, regions[0], regions[1:])


@login_required
def region(request: XhRequest, code: str) -> HttpResponse:
    return _region_page(request, access.region_get(actor=request.actor, code=code), [])


def _rollout_date(request: XhRequest) -> date:
    raw = (request.GET.get("date") or "").strip()[:10]
    if not raw:
        return today_in_china()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("Give the date as YYYY-MM-DD."),
            code="oversight.date_invalid",
            detail=[{"field": "date", "message": _("Not a date.")}],
        ) from None


def _yes(value: bool) -> str:
    return _("Yes") if value else _("No")


def rollout_table(report: selectors.Rollout) -> tuple[list[str], list[list[object]]]:
    header = [
        _("Code"),
        _("County"),
        _("List compiled"),
        _("Procedures designed"),
        _("Call mechanism live"),
    ]
    rows: list[list[object]] = [
        [
            r.region.code,
            r.region.name,
            _yes(r.list_compiled),
            _yes(r.procedures_designed),
            _yes(r.mechanism_live),
        ]
        for r in report.rows
    ]
    t = report.totals
    rows.append(
        [
            "",
            _("Total (%(n)s counties)") % {"n": t["counties"]},
            t["list_compiled"],
            t["procedures_designed"],
            t["mechanism_live"],
        ]
    )
    return header, rows


@login_required
def rollout(request: XhRequest) -> HttpResponse:
    """Which counties of the remit had finished list compilation, procedure design and
    the call mechanism at a date (`?date=`), as a page, `?format=xlsx` or `?format=csv`."""
    code = (request.GET.get("region") or "").strip()
    if code:
        top = [access.region_get(actor=request.actor, code=code)]
    else:
        top = access.home_regions(actor=request.actor)
    on = _rollout_date(request)
    counties: list[Region] = []
    for r in top:
        if r.level == RegionLevel.TOWNSHIP:
            continue
        counties += selectors.counties_under(r)
    report = selectors.rollout(counties, on=on)
    fmt = request.GET.get("format")
    name = f"rollout-{on.isoformat()}"
    if fmt in ("xlsx", "csv"):
        header, rows = rollout_table(report)
        if fmt == "xlsx":
            body = render_xlsx([Sheet(title=_("Rollout"), header=header, rows=rows, heading=name)])
            response = HttpResponse(body, content_type=XLSX)
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(header)
            writer.writerows(rows)
            response = HttpResponse(
                "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
            )
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        response["Cache-Control"] = "private, no-store"
        return response
    return render(
        request,
        "oversight/rollout.html",
        {"report": report, "on": on, "region_code": code},
    )
