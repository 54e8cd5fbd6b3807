"""Pages of accountability by the list (依单追责), under /assessment/accountability/.

The list of cases; a call's evidence and proposal with the button that opens its case
(linked from the call page); a new incident, which opens its case at once; the case page
(evidence, proposal, the form of the final finding); its printable page, PDF and Excel.
Views are thin: reads and writes go through `accountability_services`, errors come back
on the forms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xianghu.calls import selectors as call_selectors
from xianghu.calls.forms import DomainErrorMixin
from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import DomainError, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Membership, Organisation
from xianghu.regions.roles import OrgKind

from . import accountability_services as services
from .accountability_access import CASE_ROLES, may_manage
from .accountability_export import build_report, case_number, case_pdf, case_xlsx, report_of
from .models import AccountabilityCase, CaseStatus, Finding

PAGE_SIZE = 20


def _managing_membership(request: XhRequest) -> Membership | None:
    """The membership the user works as, when it may open cases in its county."""
    membership = current_membership(request)
    if membership is None or membership.role not in CASE_ROLES:
        return None
    if not may_manage(request.actor, membership.organisation.county_id):
        return None
    return membership


# ---- the list ------------------------------------------------------------------------------

STATUS_TABS = (
    ("open", gettext_lazy("Open")),
    ("decided", gettext_lazy("Decided")),
    ("all", gettext_lazy("All")),
)


@login_required
def case_list(request: XhRequest) -> HttpResponse:
    """The cases the user may see: all of the county for its assessors, platform
    operators and administrators; the cases about their organisation for the parties."""
    status = request.GET.get("status") or "open"
    if status not in dict(STATUS_TABS):
        status = "open"
    q = (request.GET.get("q") or "").strip()[:50]
    filters = services.CaseFilters(status=None if status == "all" else status, search=q or None)
    qs = services.case_list(actor=request.actor, filters=filters).prefetch_related("parties")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessment/accountability/list.html",
        {
            "page": page,
            "rows": [(c, case_number(c)) for c in page.object_list],
            "tabs": STATUS_TABS,
            "status": status,
            "q": q,
            "can_open": _managing_membership(request) is not None,
        },
    )


# ---- a call's evidence -----------------------------------------------------------------------


@login_required
def call_evidence(request: XhRequest, call_id: int) -> HttpResponse:
    """The evidence and the proposal for a call, as they stand now; POST opens its case
    (or leads to the case already open)."""
    call = call_selectors.call_get(actor=request.actor, pk=call_id, related=False)
    if request.method == "POST":
        try:
            case = services.case_open(actor=request.actor, call=call)
        except DomainError as exc:
            if exc.code == "accountability.case_open" and isinstance(exc.detail, dict):
                messages.info(request, str(exc.message))
                return redirect("assessment:accountability_case", pk=exc.detail["case"])
            raise
        messages.success(request, _("Case %(number)s opened.") % {"number": case_number(case)})
        return redirect("assessment:accountability_case", pk=case.pk)
    assessment = services.call_assessment(actor=request.actor, call=call)
    proposal = assessment.proposal.as_dict()
    report = build_report(
        evidence=assessment.evidence.as_dict(),
        reasons=proposal["reasons"],
        proposed=assessment.proposal.finding,
    )
    return render(
        request,
        "assessment/accountability/preview.html",
        {
            "call": call,
            "report": report,
            "open_case": AccountabilityCase.objects.filter(
                call=call, status=CaseStatus.OPEN
            ).first(),
            "cases": services.cases_of_call(actor=request.actor, call=call),
        },
    )


# ---- a new incident --------------------------------------------------------------------------


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class IncidentForm(DomainErrorMixin, forms.Form):
    """An incident of the county: the township, the list item (by its code, looked up in
    the list in force when it was discovered), when and by whom it was discovered, and
    the related calls by number."""

    field_map = {"discovered_by_org": "discovered_by_org"}

    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    description = forms.CharField(
        label=gettext_lazy("What happened"), max_length=4000, widget=_textarea(5)
    )
    township = forms.ChoiceField(label=gettext_lazy("Township"))
    item = forms.ChoiceField(
        label=gettext_lazy("List item"),
        required=False,
        help_text=gettext_lazy(
            "Looked up by its code in the list in force when it was discovered. Leave empty "
            "for a task off the list."
        ),
    )
    department = forms.ChoiceField(
        label=gettext_lazy("Department concerned"),
        required=False,
        help_text=gettext_lazy(
            "For a task off the list: the county department that handed it to the township."
        ),
    )
    discovered_at = forms.DateTimeField(
        label=gettext_lazy("Discovered at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    discovered_by = forms.CharField(
        label=gettext_lazy("Discovered by"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("e.g. the county's satellite-image inspection (卫片执法检查)."),
    )
    discovered_by_org = forms.ChoiceField(
        label=gettext_lazy("Discovering organisation"), required=False
    )
    calls = forms.CharField(
        label=gettext_lazy("Related calls"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Call numbers, separated by commas."),
    )

    def __init__(
        self,
        *args: Any,
        townships: list[Organisation],
        departments: list[Organisation],
        organisations: list[Organisation],
        items: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._orgs = {str(o.pk): o for o in [*townships, *departments, *organisations]}
        none = [("", "—")]
        fields: dict[str, Any] = self.fields
        fields["township"].choices = [(str(o.pk), o.name) for o in townships]
        fields["department"].choices = none + [(str(o.pk), o.name) for o in departments]
        fields["discovered_by_org"].choices = none + [(str(o.pk), o.name) for o in organisations]
        fields["item"].choices = [("", gettext_lazy("Off the list")), *items]

    def org(self, name: str) -> Organisation | None:
        value = self.cleaned_data.get(name) or ""
        return self._orgs.get(value)

    def clean_discovered_at(self) -> datetime:
        value: datetime = self.cleaned_data["discovered_at"]
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


def _incident_choices(membership: Membership) -> dict[str, Any]:
    county = membership.organisation.county
    orgs = list(
        Organisation.objects.filter(county=county, is_active=True)
        .exclude(kind__in=(OrgKind.VILLAGE, OrgKind.SOCIAL_ORG, OrgKind.ENTERPRISE))
        .exclude(kind=OrgKind.VOLUNTEER_TEAM)
        .order_by("kind", "name")
    )
    version = catalog_selectors.county_version_in_force(county=county) if county else None
    items = (
        [(i.code, f"{i.code} {i.name}") for i in catalog_selectors.version_items(version=version)]
        if version
        else []
    )
    return {
        "townships": [o for o in orgs if o.kind == OrgKind.TOWNSHIP],
        "departments": [o for o in orgs if o.kind == OrgKind.DEPARTMENT],
        "organisations": orgs,
        "items": items,
    }


def _related_calls(
    request: XhRequest, form: IncidentForm, county_id: int | None
) -> list[Call] | None:
    text = form.cleaned_data.get("calls") or ""
    numbers = [n.strip() for n in text.replace("，", ",").replace("、", ",").split(",")]
    numbers = [n for n in numbers if n]
    found = {
        c.number: c
        for c in call_selectors.call_list(actor=request.actor).filter(
            number__in=numbers, county_id=county_id
        )
    }
    unknown = [n for n in numbers if n not in found]
    if unknown:
        form.add_error("calls", _("Unknown calls: %(numbers)s.") % {"numbers": "、".join(unknown)})
        return None
    return [found[n] for n in numbers]


@login_required
def incident_new(request: XhRequest) -> HttpResponse:
    """Record an incident and open its case."""
    membership = _managing_membership(request)
    if membership is None:
        raise PermissionDenied()
    choices = _incident_choices(membership)
    initial: dict[str, Any] = {
        "discovered_at": timezone.localtime().replace(second=0, microsecond=0)
    }
    wanted = request.GET.get("call")
    if wanted and wanted.isdigit():
        call = call_selectors.call_list(actor=request.actor).filter(pk=int(wanted)).first()
        if call is not None:
            township = call.callee if call.direction == "down" else call.caller
            initial.update(
                calls=call.number,
                township=str(township.pk) if township else "",
                item=call.item.code if call.item else "",
                title=call.title,
            )
    form = IncidentForm(
        request.POST if request.method == "POST" else None, initial=initial, **choices
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            calls = _related_calls(request, form, membership.organisation.county_id)
            township = form.org("township")
            if calls is not None and township is not None:
                data = form.cleaned_data
                try:
                    with transaction.atomic():
                        incident = services.incident_create(
                            actor=request.actor,
                            township=township,
                            title=data["title"],
                            description=data["description"],
                            discovered_at=data["discovered_at"],
                            discovered_by=data.get("discovered_by") or "",
                            discovered_by_org=form.org("discovered_by_org"),
                            item_code=data.get("item") or None,
                            department=form.org("department"),
                            calls=calls,
                        )
                        case = services.case_open(actor=request.actor, incident=incident)
                except DomainError as exc:
                    form.add_domain_error(exc)
                    status = exc.status
                else:
                    messages.success(
                        request,
                        _("Incident recorded and case %(number)s opened.")
                        % {"number": case_number(case)},
                    )
                    return redirect("assessment:accountability_case", pk=case.pk)
    return render(
        request, "assessment/accountability/incident_new.html", {"form": form}, status=status
    )


# ---- the case ------------------------------------------------------------------------------


class DecideForm(DomainErrorMixin, forms.Form):
    finding = forms.ChoiceField(
        label=gettext_lazy("Finding"), choices=Finding.choices, widget=forms.RadioSelect
    )
    reasons = forms.CharField(
        label=gettext_lazy("Reasons"),
        max_length=services.MAX_REASONS,
        widget=_textarea(5),
        help_text=gettext_lazy(
            "Say why, in particular where the finding departs from the proposal."
        ),
    )


def _render_case(
    request: XhRequest,
    case: AccountabilityCase,
    *,
    form: DecideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_decide = services.may_decide(actor=request.actor, case=case)
    if form is None and can_decide:
        form = DecideForm(initial={"finding": case.proposed_finding})
    return render(
        request,
        "assessment/accountability/case.html",
        {
            "case": case,
            "number": case_number(case),
            "report": report_of(case),
            "form": form if can_decide else None,
            "can_refresh": can_decide,
        },
        status=status,
    )


@login_required
def case_detail(request: XhRequest, pk: int) -> HttpResponse:
    case = services.case_get(actor=request.actor, pk=pk)
    return _render_case(request, case)


@login_required
@require_POST
def case_decide(request: XhRequest, pk: int) -> HttpResponse:
    case = services.case_get(actor=request.actor, pk=pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, form=form, status=400)
    try:
        services.case_decide(
            actor=request.actor,
            case=case,
            finding=form.cleaned_data["finding"],
            reasons=form.cleaned_data["reasons"],
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if exc.code == "accountability.already_decided":
            messages.warning(request, str(exc.message))
            return redirect("assessment:accountability_case", pk=case.pk)
        form.add_domain_error(exc)
        return _render_case(request, case, form=form, status=exc.status)
    messages.success(request, _("The finding is recorded."))
    return redirect("assessment:accountability_case", pk=case.pk)


@login_required
@require_POST
def case_refresh(request: XhRequest, pk: int) -> HttpResponse:
    case = services.case_get(actor=request.actor, pk=pk)
    try:
        services.case_refresh(actor=request.actor, case=case)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.warning(request, str(exc.message))
    else:
        messages.success(request, _("The evidence was assembled again."))
    return redirect("assessment:accountability_case", pk=case.pk)


@login_required
def case_print(request: XhRequest, pk: int) -> HttpResponse:
    """The report laid out for paper (A4, the browser's print)."""
    case = services.case_get(actor=request.actor, pk=pk)
    return render(
        request,
        "assessment/accountability/print.html",
        {
            "case": case,
            "number": case_number(case),
            "report": report_of(case),
            "printed_at": timezone.localtime(),
        },
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def case_pdf_download(request: XhRequest, pk: int) -> HttpResponse:
    case = services.case_get(actor=request.actor, pk=pk)
    return _download(case_pdf(case), "application/pdf", f"{case_number(case)}.pdf")


@login_required
def case_xlsx_download(request: XhRequest, pk: int) -> HttpResponse:
    case = services.case_get(actor=request.actor, pk=pk)
    return _download(
        case_xlsx(case),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{case_number(case)}.xlsx",
    )
