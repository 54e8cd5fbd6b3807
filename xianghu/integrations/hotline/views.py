"""Pages of the hotline (the county's platform centre): tickets, import, progress, export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import DomainError, NotFound
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_name, mask_personal_text, mask_phone
from xianghu.core.xlsx import Sheet, render_xlsx
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from . import selectors, services
from .importer import media_path
from .models import Disposition, ImportRun, RunStatus, Ticket, TicketType
from .reader import open_table
from .rows import FIELDS, guess_mapping
from .selectors import STATUS_FIELDS

PAGE_SIZE = 30
XLSX_MAX_ROWS = 50_000


def _manager_county(request: XhRequest) -> Region:
    """The county whose hotline the user manages (platform operator or administrator)."""
    counties = sorted(services.access_counties(request.actor))
    if not counties:
        raise NotFound()
    return Region.objects.get(pk=counties[0])


def _townships(ticket_county_ids: list[int]) -> list[Region]:
    return list(
        Region.objects.filter(parent_id__in=ticket_county_ids, level=RegionLevel.TOWNSHIP).order_by(
            "code"
        )
    )


# ---- tickets -------------------------------------------------------------------------------


@login_required
def ticket_list(request: XhRequest) -> HttpResponse:
    params = request.GET
    township = params.get("township") or ""
    since = parse_date(params.get("since") or "") if params.get("since") else None
    qs = selectors.tickets_find(
        actor=request.actor,
        q=params.get("q", "")[:64],
        type=params.get("type", "") if params.get("type") in TicketType.values else "",
        disposition=params.get("disposition", "")
        if params.get("disposition") in Disposition.values
        else "",
        township_id=int(township) if township.isdigit() else None,
        since=timezone.make_aware(datetime.combine(since, datetime.min.time())) if since else None,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    manager = bool(services.access_counties(request.actor)) or request.actor.is_superuser
    # Numbers inside the caller's text are masked as the caller's own are: the platform
    # hands tickets on, the hotline calls back (docs/privacy.md).
    rows = [
        {
            "ticket": t,
            "caller": mask_name(t.caller_name),
            "phone": mask_phone(t.caller_phone),
            "content": mask_personal_text(t.content),
        }
        for t in page
    ]
    query = params.copy()
    query.pop("page", None)
    context = {
        "rows": rows,
        "page": page,
        "params": params,
        "query": query.urlencode(),
        "types": TicketType.choices,
        "dispositions": Disposition.choices,
        "townships": _townships(sorted(request.actor.county_ids())),
        "manager": manager,
    }
    template = "integrations/hotline_list.html"
    if request.htmx and request.htmx.target == "ticket-rows":
        template = "integrations/hotline_rows.html"
    return render(request, template, context)


@login_required
def ticket_detail(request: XhRequest, pk: int) -> HttpResponse:
    ticket = access.get_visible(
        request.actor, Ticket.objects.select_related("township", "location", "call"), pk=pk
    )
    can_manage = access.can(request.actor, "manage", ticket)
    return render(
        request,
        "integrations/hotline_detail.html",
        {
            "ticket": ticket,
            "caller": mask_name(ticket.caller_name),
            "phone": mask_phone(ticket.caller_phone),
            "title": mask_personal_text(ticket.title),
            "content": mask_personal_text(ticket.content),
            "can_manage": can_manage,
            "townships": _townships([ticket.county_id]) if can_manage else [],
        },
    )


@login_required
@require_POST
def ticket_to_call(request: XhRequest, pk: int) -> HttpResponse:
    ticket = access.get_visible(request.actor, Ticket.objects.all(), pk=pk)
    township = None
    code = request.POST.get("township", "")
    if code:
        township = Region.objects.filter(code=code, level=RegionLevel.TOWNSHIP).first()
    dispatch = request.POST.get("mode") == "dispatch"
    try:
        call = services.ticket_to_call(
            actor=request.actor, ticket=ticket, dispatch=dispatch, township=township
        )
    except DomainError as error:
        if error.status in (403, 404):
            raise
        messages.error(request, str(error.message))
        return redirect("integrations:hotline_detail", pk=pk)
    if dispatch:
        text = _("Dispatched to the township as the call %(number)s.")
    else:
        text = _("The ticket is now the draft call %(number)s of the township.")
    messages.success(request, text % {"number": call.number})
    return redirect("integrations:hotline_detail", pk=pk)


# ---- import ----------------------------------------------------------------------------------


@login_required
def import_page(request: XhRequest) -> HttpResponse:
    county = _manager_county(request)
    sources = list(selectors.sources_visible(actor=request.actor).filter(county=county))
    if request.method == "POST":
        upload = request.FILES.get("file")
        name = (request.POST.get("source") or request.POST.get("new_source") or "").strip()
        if upload is None or not name:
            messages.error(request, _("Choose a source and a file."))
        else:
            try:
                source = services.source_ensure(actor=request.actor, county=county, name=name)
                run = services.run_create(
                    actor=request.actor,
                    source=source,
                    file_name=upload.name or "upload.csv",
                    chunks=upload.chunks(),
                )
            except DomainError as error:
                messages.error(request, str(error.message))
            else:
                return redirect("integrations:hotline_run", pk=run.pk)
    runs = selectors.runs_visible(actor=request.actor).filter(source__county=county)[:20]
    return render(
        request,
        "integrations/hotline_import.html",
        {"sources": sources, "runs": runs, "county": county},
    )


def _run(request: XhRequest, pk: int) -> ImportRun:
    return access.get_visible(
        request.actor, ImportRun.objects.select_related("source", "source__county"), pk=pk
    )


@login_required
def run_page(request: XhRequest, pk: int) -> HttpResponse:
    """The mapping form of a run awaiting it; then its progress (polled) and its result."""
    run = _run(request, pk)
    if run.status == RunStatus.PENDING and request.method == "POST":
        mapping = {f: request.POST.get(f"map_{f}", "") for f in FIELDS}
        try:
            services.run_start(actor=request.actor, run=run, mapping=mapping)
        except DomainError as error:
            messages.error(request, str(error.message))
        return redirect("integrations:hotline_run", pk=run.pk)
    context: dict[str, Any] = {"run": run}
    if run.status == RunStatus.PENDING:
        try:
            table = open_table(Path(run.file_path), run.file_name, run.source.encoding)
        except DomainError as error:
            context["file_error"] = str(error.message)
            headers: list[str] = []
        else:
            headers = [h for h in table.headers if h]
            table.close()
        guessed = guess_mapping(headers)
        saved = run.source.mapping or {}
        context["headers"] = headers
        context["fields"] = [
            {
                "name": f,
                "label": spec[0],
                "required": spec[1],
                "chosen": saved.get(f) if saved.get(f) in headers else guessed.get(f, ""),
            }
            for f, spec in FIELDS.items()
        ]
    return render(request, "integrations/hotline_run.html", context)


@login_required
def run_progress(request: XhRequest, pk: int) -> HttpResponse:
    """The progress fragment the run page polls (htmx) until the run has finished."""
    run = _run(request, pk)
    return render(request, "integrations/hotline_progress.html", {"run": run})


@login_required
def run_errors(request: XhRequest, pk: int) -> FileResponse:
    run = _run(request, pk)
    path = media_path(run.error_file) if run.error_file else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=f"hotline-import-{run.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )


# ---- export ----------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _since(request: XhRequest) -> datetime | None:
    text = request.GET.get("since") or ""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        day = parse_date(text)
        if day is None:
            return None
        value = datetime.combine(day, datetime.min.time())
    return value if timezone.is_aware(value) else timezone.make_aware(value)


@login_required
def export(request: XhRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Status updates of the tickets handled (turned into calls or dispatched) as CSV or
    Excel; `since` (a date or ISO datetime) keeps what changed since then. Callers masked."""
    qs = selectors.status_updates(
        actor=request.actor, since=_since(request), handled_only=request.GET.get("all") != "1"
    )
    if not services.access_counties(request.actor) and not request.actor.is_superuser:
        raise NotFound()
    header = list(STATUS_FIELDS)
    if fmt == "xlsx":
        rows = [[row[k] for k in header] for row in selectors.iter_status_rows(qs[:XLSX_MAX_ROWS])]
        body = render_xlsx([Sheet(title="12345", header=header, rows=rows)])
        response = HttpResponse(
            body,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="hotline-status.xlsx"'
        return response

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header)
        for row in selectors.iter_status_rows(qs):
            yield writer.writerow([row[k] for k in header])

    stream = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stream["Content-Disposition"] = 'attachment; filename="hotline-status.csv"'
    return stream
