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
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_phone

from . import selectors, services
from .models import PublicReport, ReportStatus


def _mask_email(email: str) -> str:
    name, _at, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else ""


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
    qs = selectors.triage_queue(actor=request.actor, status=status)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    rows = [
        {
            "report": r,
            "phone": mask_phone(r.phone),
            "email": _mask_email(r.email),
            "urgency": Urgency(r.urgency).label if r.urgency in Urgency.values else r.urgency,
            "can_decide": r.status == ReportStatus.NEW and r.township_id is not None,
        }
        for r in page
    ]
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
