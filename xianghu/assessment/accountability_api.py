"""REST endpoints of accountability by the list (依单追责), mounted at
/api/v1/assessment/accountability/ (docs/accountability.md).

The evidence and the proposal of a call or an incident; recording incidents; opening,
reading, refreshing and deciding cases; the report as PDF or Excel. Assessors, platform
operators and system administrators of the county open and decide cases; the parties a
case is about read it; everyone else gets 404. Errors are `{code, message, detail}` with
codes `accountability.*` (see `accountability_services`).
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from xianghu.calls import selectors as call_selectors
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES, Pagination, file_responses
from xianghu.core.errors import InvalidInput
from xianghu.regions.models import Organisation

from . import accountability_services as services
from .accountability import Proposal
from .accountability_export import case_number, case_pdf, case_xlsx
from .accountability_services import Assessment
from .models import AccountabilityCase, CaseStatus, Finding, Incident

router = Router(tags=["accountability"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


# ---- schemas --------------------------------------------------------------------------------


class CaseOrgOut(Schema):
    id: int
    name: str


class ReasonOut(Schema):
    code: str = Field(description="The rule: e.g. `lead.sign.late`, `township.cooperating_only`.")
    verdict: str = Field(
        description="against_primary | against_cooperating | diligent | exempt | info | summary"
    )
    text: str
    basis: str = Field("", description="The list's word for it: item, step, limit, hand-off.")
    item: str = ""
    step: int | None = None
    call: str = Field("", description="The call number of the event cited.")
    event: int | None = Field(None, description="The sequence number of the event cited.")


class ProposalOut(Schema):
    finding: Finding
    party: CaseOrgOut | None = Field(None, description="Whom the finding is about.")
    reasons: list[ReasonOut]


class AssessmentOut(Schema):
    evidence: dict[str, Any] = Field(
        description=(
            "The evidence: the list version and item in force at the time, the township's "
            "duty, every clock (`checks`: code, organisation, role, outcome, due, done, "
            "basis, call_number, event_seq), the timeline and notes."
        )
    )
    proposal: ProposalOut


def _assessment(result: Assessment) -> dict[str, Any]:
    return {"evidence": result.evidence.as_dict(), "proposal": _proposal(result.proposal)}


def _proposal(proposal: Proposal) -> dict[str, Any]:
    return proposal.as_dict()


class CaseOut(Schema):
    id: int
    number: str
    title: str
    subject: str = Field(description="call | incident")
    call_id: int | None
    incident_id: int | None
    county_id: int
    status: CaseStatus
    proposed_finding: Finding
    proposed_reasons: list[ReasonOut]
    final_finding: Finding | None
    final_reasons: str
    decided_by: str | None
    decided_at: datetime | None
    opened_at: datetime
    evidence_at: datetime
    parties: list[CaseOrgOut]

    @staticmethod
    def resolve_number(obj: AccountabilityCase) -> str:
        return case_number(obj)

    @staticmethod
    def resolve_final_finding(obj: AccountabilityCase) -> str | None:
        return obj.final_finding or None

    @staticmethod
    def resolve_decided_by(obj: AccountabilityCase) -> str | None:
        user = obj.decided_by
        return (user.name or user.username) if user is not None else None

    @staticmethod
    def resolve_parties(obj: AccountabilityCase) -> list[dict[str, Any]]:
        return [{"id": p.pk, "name": p.name} for p in obj.parties.all()]


class CaseDetailOut(CaseOut):
    evidence: dict[str, Any]


class CaseIn(Schema):
    call_id: int | None = Field(None, description="The call (give this or `incident_id`).")
    incident_id: int | None = None


class DecideIn(Schema):
    finding: str = Field(
        description="primary_failure | cooperation_failure | diligent_exempt | insufficient_evidence"
    )
    reasons: str = Field(description="Required; at most 4000 characters.")


class CaseFilterIn(Schema):
    status: CaseStatus | None = None
    finding: Finding | None = Field(
        None, description="The final finding, or the proposal while open."
    )
    q: str | None = Field(None, max_length=50, description="In the title.")


class IncidentIn(Schema):
    township_id: int
    title: str = Field(description="At most 120 characters.")
    description: str = Field(description="What happened; at most 4000 characters.")
    discovered_at: datetime = Field(description="ISO 8601 with a time zone.")
    discovered_by: str = Field("", description="Who discovered it (text).")
    discovered_by_org_id: int | None = None
    item_code: str | None = Field(
        None, description="The item's code in the list in force when it was discovered."
    )
    department_id: int | None = Field(
        None, description="For a task off the list: the department that handed it down."
    )
    call_ids: list[int] = Field(default_factory=list, description="Related calls.")
    open_case: bool = Field(True, description="Open the incident's case at once.")


class IncidentOut(Schema):
    id: int
    county_id: int
    township: CaseOrgOut
    item_code: str | None
    department: CaseOrgOut | None
    title: str
    description: str
    discovered_at: datetime
    discovered_by: str
    call_ids: list[int]
    case_id: int | None = None

    @staticmethod
    def resolve_township(obj: Incident) -> dict[str, Any]:
        return {"id": obj.township_id, "name": obj.township.name}

    @staticmethod
    def resolve_item_code(obj: Incident) -> str | None:
        return obj.item.code if obj.item_id and obj.item else None

    @staticmethod
    def resolve_department(obj: Incident) -> dict[str, Any] | None:
        d = obj.department
        return {"id": d.pk, "name": d.name} if d is not None else None

    @staticmethod
    def resolve_call_ids(obj: Incident) -> list[int]:
        return sorted(obj.calls.values_list("pk", flat=True))

    @staticmethod
    def resolve_case_id(obj: Incident) -> int | None:
        case = obj.cases.filter(status=CaseStatus.OPEN).first()
        return case.pk if case else None


# ---- evidence ----------------------------------------------------------------------------------


@router.get(
    "/calls/{call_id}/evidence",
    response={200: AssessmentOut, **ERROR_RESPONSES},
    summary="Evidence and proposal for a call",
)
def call_evidence(request: HttpRequest, call_id: int) -> dict[str, Any]:
    """The evidence of the call as it stands now and the finding the rules propose
    (nothing is stored). 404 unless the caller may see the call; 403
    `accountability.not_allowed` unless an assessor, platform operator or system
    administrator of its county."""
    actor = _actor(request)
    call = call_selectors.call_get(actor=actor, pk=call_id, related=False)
    return _assessment(services.call_assessment(actor=actor, call=call))


@router.get(
    "/incidents/{incident_id}/evidence",
    response={200: AssessmentOut, **ERROR_RESPONSES},
    summary="Evidence and proposal for an incident",
)
def incident_evidence(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    actor = _actor(request)
    incident = services.incident_get(actor=actor, pk=incident_id)
    return _assessment(services.incident_assessment(actor=actor, incident=incident))


# ---- incidents ---------------------------------------------------------------------------------


def _org(
    actor: Actor, pk: int | None, field: str, problems: list[dict[str, str]]
) -> Organisation | None:
    if pk is None:
        return None
    org = access.visible(actor, Organisation.objects.select_related("county")).filter(pk=pk).first()
    if org is None:
        problems.append({"field": field, "message": _("Unknown organisation.")})
    return org


@router.post(
    "/incidents",
    response={201: IncidentOut, **ERROR_RESPONSES},
    summary="Record an incident (and open its case)",
)
def incident_create(request: HttpRequest, payload: IncidentIn) -> Status[Incident]:
    """Record an incident of the county; with `open_case` (default) its case is opened at
    once (`case_id`). 400 `accountability.invalid` with every problem by field; 403
    `accountability.not_allowed`."""
    actor = _actor(request)
    problems: list[dict[str, str]] = []
    township = _org(actor, payload.township_id, "township", problems)
    department = _org(actor, payload.department_id, "department", problems)
    by_org = _org(actor, payload.discovered_by_org_id, "discovered_by_org", problems)
    calls = list(
        call_selectors.call_list(actor=actor).filter(pk__in=payload.call_ids).prefetch_related(None)
    )
    if len(calls) != len(set(payload.call_ids)):
        problems.append({"field": "calls", "message": _("Unknown calls.")})
    if problems or township is None:
        raise InvalidInput(
            _("The incident is not complete."), code="accountability.invalid", detail=problems
        )
    # One transaction: an incident whose case cannot be opened is not recorded either.
    with transaction.atomic():
        incident = services.incident_create(
            actor=actor,
            township=township,
            title=payload.title,
            description=payload.description,
            discovered_at=payload.discovered_at,
            discovered_by=payload.discovered_by,
            discovered_by_org=by_org,
            item_code=payload.item_code,
            department=department,
            calls=calls,
        )
        if payload.open_case:
            services.case_open(actor=actor, incident=incident)
    return Status(201, services.incident_get(actor=actor, pk=incident.pk))


@router.get(
    "/incidents/{incident_id}",
    response={200: IncidentOut, **ERROR_RESPONSES},
    summary="One incident",
)
def incident_detail(request: HttpRequest, incident_id: int) -> Incident:
    return services.incident_get(actor=_actor(request), pk=incident_id)


# ---- cases ------------------------------------------------------------------------------------


def _case(actor: Actor, pk: int) -> AccountabilityCase:
    return services.case_get(actor=actor, pk=pk)


@router.post("/cases", response={201: CaseDetailOut, **ERROR_RESPONSES}, summary="Open a case")
def case_create(request: HttpRequest, payload: CaseIn) -> Status[AccountabilityCase]:
    """Open the case of a call or an incident: the evidence is assembled now and stored
    with the proposal. 409 `accountability.case_open` when one is open (`detail.case`)."""
    actor = _actor(request)
    if (payload.call_id is None) == (payload.incident_id is None):
        raise InvalidInput(
            _("A case is about one call or one incident."), code="accountability.invalid"
        )
    if payload.call_id is not None:
        call = call_selectors.call_get(actor=actor, pk=payload.call_id, related=False)
        case = services.case_open(actor=actor, call=call)
    else:
        incident = services.incident_get(actor=actor, pk=payload.incident_id)
        case = services.case_open(actor=actor, incident=incident)
    return Status(201, _case(actor, case.pk))


@router.get("/cases", response={200: list[CaseOut], **ERROR_RESPONSES}, summary="List cases")
@paginate(Pagination, page_size=50)
def case_list(request: HttpRequest, filters: Query[CaseFilterIn]) -> QuerySet[AccountabilityCase]:
    """The cases the caller may see, newest first, 50 a page."""
    return services.case_list(
        actor=_actor(request),
        filters=services.CaseFilters(
            status=filters.status.value if filters.status else None,
            finding=filters.finding.value if filters.finding else None,
            search=(filters.q or "").strip() or None,
        ),
    ).prefetch_related("parties")


@router.get(
    "/cases/{case_id}", response={200: CaseDetailOut, **ERROR_RESPONSES}, summary="One case"
)
def case_detail(request: HttpRequest, case_id: int) -> AccountabilityCase:
    return _case(_actor(request), case_id)


@router.post(
    "/cases/{case_id}/decide",
    response={200: CaseDetailOut, **ERROR_RESPONSES},
    summary="Record the final finding",
)
def case_decide(request: HttpRequest, case_id: int, payload: DecideIn) -> AccountabilityCase:
    """Once: 409 `accountability.already_decided` after; 400
    `accountability.reasons_required`, `accountability.invalid` (unknown finding); 403
    `accountability.not_allowed` for the parties, who only read."""
    actor = _actor(request)
    services.case_decide(
        actor=actor, case=_case(actor, case_id), finding=payload.finding, reasons=payload.reasons
    )
    return _case(actor, case_id)


@router.post(
    "/cases/{case_id}/refresh",
    response={200: CaseDetailOut, **ERROR_RESPONSES},
    summary="Assemble the evidence again",
)
def case_refresh(request: HttpRequest, case_id: int) -> AccountabilityCase:
    actor = _actor(request)
    services.case_refresh(actor=actor, case=_case(actor, case_id))
    return _case(actor, case_id)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get(
    "/cases/{case_id}/pdf",
    summary="PDF report",
    response=ERROR_RESPONSES,
    openapi_extra=file_responses("The case's report as PDF.", "application/pdf"),
)
def case_pdf_download(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(_actor(request), case_id)
    return _file(case_pdf(case), "application/pdf", f"{case_number(case)}.pdf")


@router.get(
    "/cases/{case_id}/xlsx",
    summary="Excel report",
    response=ERROR_RESPONSES,
    openapi_extra=file_responses("The case's report as an Excel workbook.", XLSX_TYPE),
)
def case_xlsx_download(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(_actor(request), case_id)
    return _file(case_xlsx(case), XLSX_TYPE, f"{case_number(case)}.xlsx")
