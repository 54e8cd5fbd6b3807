"""Pages of the participation app: the township's triage of public reports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianghu.calls.models import Urgency
from xianghu.core.errors import DomainError, InvalidInput, NotFound
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_email, mask_personal_text, mask_phone

from . import public_reports, selectors, services
from .models import PublicReport, ReportStatus


def _report(request: XhRequest, pk: int) -> PublicReport:
    report = selectors.triage_queue(actor=request.actor).filter(pk=pk).first()
    if report is None:
        raise NotFound()
    return report


@login_required
def triage(request: XhRequest) -> HttpResponse:
    """Public reports of the user's township (the platform: those no township was found for)."""
    status = request.GET.get("status") or ReportStatus.NEW
    if status not in ReportStatus.values:
        status = ReportStatus.NEW
    qs = selectors.triage_queue(actor=request.actor, status=status).prefetch_related("photos")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    reports = list(page)
    # Merge targets: the township's other new or accepted reports (one query for the page).
    townships = {r.township_id for r in reports if r.status == ReportStatus.NEW and r.township_id}
    targets: dict[int, list[PublicReport]] = {}
    if townships:
        for target in (
            selectors.triage_queue(actor=request.actor)
            .filter(
                township_id__in=townships,
                status__in=(ReportStatus.NEW, ReportStatus.ACCEPTED),
            )
            .order_by("-created_at")[:200]
        ):
            assert target.township_id is not None
            targets.setdefault(target.township_id, []).append(target)
    rows = []
    for r in reports:
        contact = public_reports.report_contact(r)
        rows.append(
            {
                "report": r,
                "phone": mask_phone(contact["phone"]),
                "email": mask_email(contact["email"]),
                "urgency": Urgency(r.urgency).label if r.urgency in Urgency.values else r.urgency,
                "can_decide": r.status == ReportStatus.NEW and r.township_id is not None,
                "targets": [t for t in targets.get(r.township_id or 0, []) if t.pk != r.pk][:30],
                "photos": list(r.photos.all()),
                "text": mask_personal_text(r.description),
            }
        )
    return render(
        request,
        "participation/triage.html",
        {"rows": rows, "page": page, "status": status, "statuses": ReportStatus.choices},
    )


@login_required
@require_POST
def triage_accept(request: XhRequest, pk: int) -> HttpResponse:
    report = _report(request, pk)
    call = services.publicreport_accept(actor=request.actor, report=report)
    messages.success(
        request, _("The report is now the draft call %(number)s.") % {"number": call.number}
    )
    return redirect("calls:detail", pk=call.pk)


@login_required
@require_POST
def triage_reject(request: XhRequest, pk: int) -> HttpResponse:
    report = _report(request, pk)
    try:
        services.publicreport_reject(
            actor=request.actor, report=report, reason=request.POST.get("reason", "")
        )
    except InvalidInput as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The report was rejected."))
    return redirect("participation:triage")


@login_required
@require_POST
def triage_merge(request: XhRequest, pk: int) -> HttpResponse:
    report = _report(request, pk)
    into = selectors.triage_queue(actor=request.actor).filter(pk=request.POST.get("into") or 0)
    target = into.first()
    if target is None:
        messages.error(request, _("Choose the report to merge into."))
        return redirect("participation:triage")
    try:
        services.publicreport_merge(actor=request.actor, report=report, into=target)
    except DomainError as error:
        if error.status == 404:
            raise
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The report was merged; its reporter has been told."))
    return redirect("participation:triage")


@login_required
@require_POST
def triage_unmask(request: XhRequest, pk: int) -> HttpResponse:
    """Show the reporter's full phone or e-mail to call back; the unmasking is audited."""
    report = _report(request, pk)
    field = request.POST.get("field", "phone")
    try:
        value = public_reports.contact_unmask(
            actor=request.actor, report=report, field=field, reason=request.POST.get("reason", "")
        )
    except InvalidInput as error:
        messages.error(request, str(error.message))
        return redirect("participation:triage")
    response = render(
        request,
        "participation/triage_unmask.html",
        {"report": report, "field": field, "value": value},
    )
    response["Cache-Control"] = "no-store"
    return response
