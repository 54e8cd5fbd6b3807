"""The open government pages (/open/, no login) and their staff actions.

Every page reads through `open.selectors`, builds its rows once (`open.rows`, where the
masking happens) and answers as HTML, JSON or CSV (`open.twins`). Lists are paginated
(`PER_PAGE`) with a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xianghu.assessment.periods import Period
from xianghu.calls.models import Attachment
from xianghu.core.errors import DomainError, NotFound, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Region

from ..deliberation import public as deliberation_public
from . import rows, selectors, services
from .twins import Twin, respond

PER_PAGE = 20


def _ctx(county: Region, counties: list[Region]) -> dict[str, Any]:
    return {"county": county, "counties": counties, "county_q": f"county={county.code}"}


def _county(request: XhRequest) -> tuple[Region, dict[str, Any]]:
    county, counties = selectors.open_county(request.GET.get("county"))
    if county is None:
        raise NotFound(_("No county publishes anything yet."), code="open.no_county")
    return county, _ctx(county, counties)


def _case(number: str) -> tuple[Any, Region, dict[str, Any]]:
    """A closed case by its number (numbers are unique across counties)."""
    call = selectors.closed_case_get(number=number[:32])
    if call is None:
        raise NotFound()
    counties = selectors.open_counties()
    county = next((c for c in counties if c.pk == call.county_id), None)
    if county is None:
        raise NotFound()
    return call, county, _ctx(county, counties)


def _page(request: XhRequest, qs: Any) -> Any:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


# ---- the index ------------------------------------------------------------------------


def _sections(county: Region) -> list[dict[str, str]]:
    q = f"?county={county.code}"
    return [
        {
            "key": "lists",
            "title": _("Responsibility lists in force"),
            "url": reverse("catalog:public_list") + q,
            "about": _("Every item of the county's list: who is primary, who assists, limits."),
        },
        {
            "key": "duties",
            "title": _("Each department's duties"),
            "url": reverse("open:duties") + q,
            "about": _("What the list in force gives each department and the townships."),
        },
        {
            "key": "rankings",
            "title": _("Rankings"),
            "url": reverse("open:rankings") + q,
            "about": _("The rankings of departments and townships as the county published them."),
        },
        {
            "key": "notices",
            "title": _("Notices"),
            "url": reverse("open:notices") + q,
            "about": _("The notices the county issued on slow or poor responses."),
        },
        {
            "key": "cases",
            "title": _("Closed cases"),
            "url": reverse("open:cases") + q,
            "about": _("Calls that were closed, with their outcome; personal data removed."),
        },
        {
            "key": "statistics",
            "title": _("Monthly statistics"),
            "url": reverse("open:statistics") + q,
            "about": _("Calls made and closed per month, on-time and satisfaction rates."),
        },
        {
            "key": "consultations",
            "title": _("Consultations"),
            "url": reverse("open:consultations") + q,
            "about": _("The outcomes of the townships' consultations on recurring problems."),
        },
    ]


def index(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    sections = _sections(county)
    twin = Twin(
        title=_("Open government: %(county)s") % {"county": county.name},
        columns=("key", "title", "url", "json", "csv"),
        rows=[
            {
                "key": s["key"],
                "title": s["title"],
                "url": request.build_absolute_uri(s["url"]),
                "json": request.build_absolute_uri(s["url"] + "&format=json")
                if s["key"] != "lists"
                else "",
                "csv": request.build_absolute_uri(s["url"] + "&format=csv")
                if s["key"] != "lists"
                else "",
            }
            for s in sections
        ],
        extra={"county": {"code": county.code, "name": county.name}},
    )
    return respond(
        request,
        twin,
        template="participation/open/index.html",
        context={**ctx, "sections": sections},
        filename="open",
    )


# ---- duties ---------------------------------------------------------------------------


def duties(request: XhRequest) -> HttpResponse:
    """The departments of the county with the number of items they hold on the list."""
    county, ctx = _county(request)
    version = selectors.version_in_force(county=county)
    page = _page(request, selectors.departments_with_duties(county=county, version=version))
    row_list = [rows.department_row(o, county) for o in page]
    twin = Twin(
        title=_("Each department's duties"),
        columns=rows.DEPARTMENT_COLUMNS,
        rows=row_list,
        page=page,
        extra={
            "list": version.title if version else None,
            "township_primary_items": selectors.township_primary_count(version=version),
        },
    )
    return respond(
        request,
        twin,
        template="participation/open/duties.html",
        context={**ctx, "version": version, "rows": row_list, "page": page},
        filename="duties",
    )


def _duty_page(
    request: XhRequest,
    *,
    county: Region,
    ctx: dict[str, Any],
    title: str,
    primary: Any,
    assisting: Any,
    version: Any,
    filename: str,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    primary_rows = [{"role": "primary", **rows.item_row(i, version)} for i in primary]
    assisting_rows = [{"role": "assisting", **rows.item_row(i, version)} for i in assisting]
    twin = Twin(
        title=title,
        columns=("role", *rows.ITEM_COLUMNS),
        rows=primary_rows + assisting_rows,
        extra=extra or {},
    )
    return respond(
        request,
        twin,
        template="participation/open/duties_detail.html",
        context={
            **ctx,
            **(extra or {}),
            "title": title,
            "version": version,
            "primary_rows": primary_rows,
            "assisting_rows": assisting_rows,
        },
        filename=filename,
    )


def duties_department(request: XhRequest, pk: int) -> HttpResponse:
    """One department: the items it is primary for (with the townships' cooperating
    duties) and those it assists with."""
    county, ctx = _county(request)
    department = selectors.department_get(county=county, pk=pk)
    version = selectors.version_in_force(county=county)
    if department is None or version is None:
        raise NotFound()
    return _duty_page(
        request,
        county=county,
        ctx=ctx,
        title=department.name,
        primary=selectors.department_items(version=version, department=department, role="primary"),
        assisting=selectors.department_items(
            version=version, department=department, role="assisting"
        ),
        version=version,
        filename=f"duties-{department.pk}",
        extra={"department": {"id": department.pk, "name": department.name}},
    )


def duties_township(request: XhRequest) -> HttpResponse:
    """The items the townships are primary for (their own duties)."""
    county, ctx = _county(request)
    version = selectors.version_in_force(county=county)
    if version is None:
        raise NotFound()
    return _duty_page(
        request,
        county=county,
        ctx=ctx,
        title=_("Townships' own duties"),
        primary=selectors.township_items(version=version),
        assisting=[],
        version=version,
        filename="duties-townships",
        extra={"townships": True},
    )


# ---- rankings -------------------------------------------------------------------------


def rankings(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    page = _page(request, selectors.published_rankings(county=county))
    row_list = [rows.ranking_row(r, county) for r in page]
    twin = Twin(title=_("Rankings"), columns=rows.RANKING_COLUMNS, rows=row_list, page=page)
    return respond(
        request,
        twin,
        template="participation/open/rankings.html",
        context={
            **ctx,
            "rows": row_list,
            "page": page,
            "may_publish": services.may_publish(request.actor, county.pk),
        },
        filename="rankings",
    )


def ranking_detail(request: XhRequest, pk: int) -> HttpResponse:
    county, ctx = _county(request)
    ranking = selectors.published_ranking_get(county=county, pk=pk)
    if ranking is None:
        raise NotFound()
    entry_rows = rows.ranking_entry_rows(ranking)
    twin = Twin(
        title=_("Rankings of %(period)s") % {"period": ranking.period_label},
        columns=rows.RANKING_ENTRY_COLUMNS,
        rows=entry_rows,
        extra={
            "period": ranking.period_key,
            "published_at": rows._iso(ranking.published_at),
            "min_volume": ranking.min_volume,
        },
    )
    groups = [
        (kind, [r for r in entry_rows if r["kind"] == kind])
        for kind in rows.KIND_ORDER
        if any(r["kind"] == kind for r in entry_rows)
    ]
    return respond(
        request,
        twin,
        template="participation/open/ranking_detail.html",
        context={**ctx, "ranking": ranking, "groups": groups},
        filename=f"ranking-{ranking.period_key}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def manage_rankings(request: XhRequest) -> HttpResponse:
    """The assessor publishes a period's rankings (a snapshot) on the open pages."""
    county, ctx = _county(request)
    if not services.may_publish(request.actor, county.pk):
        raise PermissionDenied(
            _("Only the county's assessors publish its rankings."),
            code="open.publish_not_allowed",
        )
    today = timezone.localdate(timezone.now(), CHINA_TZ)
    last_month = Period.month(today.year, today.month).previous()
    value = request.POST.get("period", last_month.key) if request.method == "POST" else ""
    error = ""
    if request.method == "POST":
        try:
            period = Period.parse(value, today=today)
            ranking = services.ranking_publish(actor=request.actor, county=county, period=period)
        except DomainError as problem:
            error = str(problem.message)
        else:
            messages.success(
                request,
                _("The rankings of %(period)s are published.") % {"period": ranking.period_label},
            )
            return redirect(
                reverse("open:ranking_detail", args=[ranking.pk]) + f"?county={county.code}"
            )
    published = set(
        selectors.published_rankings(county=county).values_list("period_key", flat=True)
    )
    choices = []
    month = last_month
    for _i in range(12):
        choices.append((month.key, month.key in published))
        month = month.previous()
    return render(
        request,
        "participation/open/manage_rankings.html",
        {**ctx, "choices": choices, "error": error, "value": value or last_month.key},
        status=400 if error else 200,
    )


# ---- notices --------------------------------------------------------------------------


def notices(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    page = _page(request, selectors.issued_notices(county=county))
    row_list = [rows.notice_row(n) for n in page]
    twin = Twin(title=_("Notices"), columns=rows.NOTICE_COLUMNS, rows=row_list, page=page)
    return respond(
        request,
        twin,
        template="participation/open/notices.html",
        context={**ctx, "rows": row_list, "page": page},
        filename="notices",
    )


def notice_detail(request: XhRequest, pk: int) -> HttpResponse:
    county, ctx = _county(request)
    notice = selectors.issued_notice_get(county=county, pk=pk)
    if notice is None:
        raise NotFound()
    head = rows.notice_row(notice)
    head["summary"] = rows.mask_personal_text(notice.summary)
    entry_rows = [rows.notice_entry_row(e) for e in selectors.notice_entries(notice=notice)]
    twin = Twin(
        title=head["title"],
        columns=rows.NOTICE_ENTRY_COLUMNS,
        rows=entry_rows,
        extra={"notice": head},
    )
    return respond(
        request,
        twin,
        template="participation/open/notice_detail.html",
        context={**ctx, "notice": head, "entries": entry_rows},
        filename=f"notice-{notice.pk}",
    )


# ---- closed cases ---------------------------------------------------------------------


def cases(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    townships = selectors.townships_of(county=county)
    code = request.GET.get("township", "")
    township = next((t for t in townships if t.code == code), None)
    search = (request.GET.get("q") or "").strip()[:50]
    item_code = (request.GET.get("item") or "").strip()[:32]
    qs = selectors.closed_cases(
        county=county, township=township, item_code=item_code or None, search=search or None
    )
    page = _page(request, qs)
    row_list = [rows.case_row(c) for c in page]
    twin = Twin(title=_("Closed cases"), columns=rows.CASE_COLUMNS, rows=row_list, page=page)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return respond(
        request,
        twin,
        template="participation/open/cases.html",
        context={
            **ctx,
            "rows": row_list,
            "page": page,
            "townships": townships,
            "township": township,
            "q": search,
            "item": item_code,
            "filter_q": query.urlencode(),
        },
        filename="cases",
    )


def case_detail(request: XhRequest, number: str) -> HttpResponse:
    call, county, ctx = _case(number)
    row = rows.case_row(call, detail=True)
    twin = Twin(title=row["title"], obj=row)
    return respond(
        request,
        twin,
        template="participation/open/case_detail.html",
        context={
            **ctx,
            "case": row,
            "may_clear": services.may_clear(request.actor, county.pk),
        },
        filename=f"case-{call.number}",
    )


def photo(request: XhRequest, pk: int) -> FileResponse:
    """A photo cleared for publication (404 for any other)."""
    attachment = selectors.cleared_photo_get(pk=pk)
    if attachment is None:
        raise NotFound()
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def manage_photos(request: XhRequest, number: str) -> HttpResponse:
    """The platform centre clears a closed case's photos for publication (or withdraws)."""
    call, county, ctx = _case(number)
    if not services.may_clear(request.actor, county.pk):
        raise NotFound()
    if request.method == "POST":
        attachment = (
            Attachment.objects.select_related("call")
            .filter(pk=request.POST.get("photo") or 0, call=call)
            .first()
        )
        if attachment is None:
            raise NotFound()
        if request.POST.get("action") == "withdraw":
            services.photo_withdraw(actor=request.actor, attachment=attachment)
            messages.success(request, _("The photo is no longer public."))
        else:
            services.photo_clear(actor=request.actor, attachment=attachment)
            messages.success(request, _("The photo is cleared for the open pages."))
        return redirect("open:manage_photos", number=call.number)
    return render(
        request,
        "participation/open/manage_photos.html",
        {**ctx, "case": rows.case_row(call), "photos": selectors.case_photos(call=call)},
    )


# ---- statistics -----------------------------------------------------------------------


def statistics(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    stats = selectors.monthly_statistics(county=county)
    row_list = [rows.stat_row(r) for r in stats]
    twin = Twin(title=_("Monthly statistics"), columns=rows.STAT_COLUMNS, rows=row_list)
    return respond(
        request,
        twin,
        template="participation/open/statistics.html",
        context={**ctx, "rows": stats},
        filename="statistics",
    )


# ---- consultations (the outcomes of deliberation) -------------------------------------


def consultations(request: XhRequest) -> HttpResponse:
    county, ctx = _county(request)
    page = _page(request, deliberation_public.public_consultations(county=county))
    row_list = [deliberation_public.consultation_row(c) for c in page]
    twin = Twin(
        title=_("Consultations"),
        columns=deliberation_public.LIST_COLUMNS,
        rows=row_list,
        page=page,
    )
    return respond(
        request,
        twin,
        template="participation/open/consultations.html",
        context={**ctx, "rows": row_list, "page": page},
        filename="consultations",
    )


def consultation_detail(request: XhRequest, pk: int) -> HttpResponse:
    county, ctx = _county(request)
    consultation = deliberation_public.public_consultation_get(county=county, pk=pk)
    if consultation is None:
        raise NotFound()
    row = deliberation_public.consultation_row(consultation, detail=True)
    twin = Twin(title=row["topic"], obj=row)
    return respond(
        request,
        twin,
        template="participation/open/consultation_detail.html",
        context={**ctx, "c": row},
        filename=f"consultation-{consultation.pk}",
    )
