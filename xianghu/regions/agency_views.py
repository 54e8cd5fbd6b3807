"""Pages of stationed agencies (派驻机构), under /orgs/agencies/ (docs/agencies.md): the
county's agencies, filtered by host township or department; an agency's page with its
figures (panels of higher apps, `agency_panels`), its funds arrangement and its head
consultations, with the forms of whoever may act on them. Views are thin: reads and
writes go through `regions.agencies`, checks through `regions.agency_access`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import DomainError, NotFound
from xianghu.core.http import XhRequest

from . import agencies
from .agency_access import may_propose, may_see_agencies, may_set_funds
from .agency_forms import DecisionForm, FundsForm, OpinionForm, ProposalForm
from .agency_panels import agency_panels
from .models import HeadConsultation, Organisation

PAGE_SIZE = 50


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def agency_list(request: XhRequest) -> HttpResponse:
    actor = request.actor
    if not may_see_agencies(actor):
        raise NotFound()
    township_id = _int(request.GET.get("township"))
    department_id = _int(request.GET.get("department"))
    townships, departments = agencies.agency_filters(actor=actor)
    qs = agencies.agency_list(actor=actor, township_id=township_id, department_id=department_id)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "regions/agency_list.html",
        {
            "page": page,
            "townships": townships,
            "departments": departments,
            "township_id": township_id,
            "department_id": department_id,
        },
    )


@login_required
def agency_detail(request: XhRequest, pk: int) -> HttpResponse:
    agency = agencies.agency_get(actor=request.actor, pk=pk)
    return _render_detail(request, agency)


def _render_detail(
    request: XhRequest,
    agency: Organisation,
    *,
    proposal_form: ProposalForm | None = None,
    bound: OpinionForm | DecisionForm | None = None,
    bound_id: int | None = None,
    funds_form: FundsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.actor
    rows: list[dict[str, Any]] = []
    for c in agencies.agency_consultations(actor=actor, agency=agency):
        opinion_form = decision_form = None
        if not c.opinion and access.can(actor, "opine", c):
            opinion_form = (
                bound
                if isinstance(bound, OpinionForm) and bound_id == c.pk
                else OpinionForm(consultation_id=c.pk)
            )
        if c.opinion and not c.decision and access.can(actor, "decide", c):
            decision_form = (
                bound
                if isinstance(bound, DecisionForm) and bound_id == c.pk
                else DecisionForm(consultation_id=c.pk)
            )
        rows.append({"c": c, "opinion_form": opinion_form, "decision_form": decision_form})
    funds = agencies.agency_funds(actor=actor, agency=agency)
    can_set_funds = may_set_funds(actor, agency)
    if can_set_funds and funds_form is None:
        funds_form = FundsForm(
            initial={
                "managed_by_township": funds.managed_by_township if funds else False,
                "note": funds.note if funds else "",
            }
        )
    can_propose = agency.is_active and may_propose(actor, agency)
    return render(
        request,
        "regions/agency_detail.html",
        {
            "agency": agency,
            "panels": agency_panels(request, agency),
            "consultations": rows,
            "funds": funds,
            "funds_form": funds_form if can_set_funds else None,
            "proposal_form": (proposal_form or ProposalForm()) if can_propose else None,
        },
        status=status,
    )


def _back(agency_id: int, consultation_id: int | None = None) -> HttpResponse:
    url = reverse("regions:agency_detail", args=[agency_id])
    return redirect(f"{url}#consultation-{consultation_id}" if consultation_id else url)


def _refused(
    request: XhRequest, exc: DomainError, agency: Organisation, **forms: Any
) -> HttpResponse:
    """A service's refusal: 403/404 as error pages; a conflict (the record moved on)
    as a message on the page; bad input back on its form."""
    if exc.status in (403, 404):
        raise exc
    if exc.status == 409:
        messages.warning(request, str(exc.message))
        return _back(agency.pk)
    return _render_detail(request, agency, status=exc.status, **forms)


@login_required
@require_POST
def consultation_propose(request: XhRequest, pk: int) -> HttpResponse:
    agency = agencies.agency_get(actor=request.actor, pk=pk)
    form = ProposalForm(request.POST)
    try:
        c = agencies.consultation_propose(
            actor=request.actor,
            agency=agency,
            kind=form["kind"].value() or "",
            person_name=form["person_name"].value() or "",
            position=form["position"].value() or "",
            proposal=form["proposal"].value() or "",
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, exc, agency, proposal_form=form)
    messages.success(
        request, _("The proposal was recorded; the host township is asked for its opinion.")
    )
    return _back(agency.pk, c.pk)


def _consultation(request: XhRequest, pk: int) -> HeadConsultation:
    return agencies.consultation_get(actor=request.actor, pk=pk)


@login_required
@require_POST
def consultation_opinion(request: XhRequest, pk: int) -> HttpResponse:
    c = _consultation(request, pk)
    form = OpinionForm(request.POST, consultation_id=c.pk)
    try:
        agencies.consultation_opine(
            actor=request.actor,
            consultation=c,
            opinion=form["opinion"].value() or "",
            text=form["opinion_text"].value() or "",
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, exc, c.agency, bound=form, bound_id=c.pk)
    messages.success(request, _("The township's opinion was recorded."))
    return _back(c.agency_id, c.pk)


@login_required
@require_POST
def consultation_decision(request: XhRequest, pk: int) -> HttpResponse:
    c = _consultation(request, pk)
    form = DecisionForm(request.POST, consultation_id=c.pk)
    try:
        agencies.consultation_decide(
            actor=request.actor,
            consultation=c,
            decision=form["decision"].value() or "",
            text=form["decision_text"].value() or "",
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, exc, c.agency, bound=form, bound_id=c.pk)
    messages.success(request, _("The decision was recorded."))
    return _back(c.agency_id, c.pk)


@login_required
@require_POST
def agency_funds(request: XhRequest, pk: int) -> HttpResponse:
    agency = agencies.agency_get(actor=request.actor, pk=pk)
    form = FundsForm(request.POST)
    try:
        agencies.agency_funds_set(
            actor=request.actor,
            agency=agency,
            managed_by_township=bool(form["managed_by_township"].value()),
            note=form["note"].value() or "",
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, exc, agency, funds_form=form)
    messages.success(request, _("The funds arrangement was saved."))
    return _back(agency.pk)
