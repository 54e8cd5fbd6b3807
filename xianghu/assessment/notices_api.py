"""REST endpoints of notices (通报) and rectification replies, mounted at
/api/v1/assessment/notices/ (docs/notices.md, "API").

Assessors, platform operators and system administrators of the county generate, edit,
issue and discard notices and decide on replies; government members of the county read
issued notices; a leader of the organisation named files its reply. Errors are
`{code, message, detail}` with codes `notice.*` (see `notices`), and
`assessment.period_*` for periods.
"""

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES, Pagination, file_responses
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.regions.models import Region

from . import notices as services
from .models import (
    EntryStatus,
    Notice,
    NoticeCategory,
    NoticeEntry,
    NoticeKind,
    NoticeStatus,
    RectificationReply,
    ReplyStatus,
)
from .notices_access import may_manage, may_see_replies
from .notices_export import XLSX_TYPE, file_name, notice_pdf, notice_xlsx
from .periods import Period

router = Router(tags=["notices"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


# ---- schemas ----------------------------------------------------------------------------------


class OrgOut(Schema):
    id: int
    name: str
    kind: str


class NoticePeriodOut(Schema):
    key: str
    start: date
    end: date
    label: str


class ReplyOut(Schema):
    id: int
    organisation: OrgOut
    text: str = Field(description="The causes found and the rectification.")
    measures: str
    submitted_by: str | None
    submitted_at: datetime
    late: bool = Field(description="Filed after the reply deadline.")
    status: ReplyStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str

    @staticmethod
    def resolve_organisation(obj: RectificationReply) -> dict[str, Any]:
        o = obj.organisation
        return {"id": o.pk, "name": o.name, "kind": o.kind}

    @staticmethod
    def resolve_submitted_by(obj: RectificationReply) -> str | None:
        u = obj.submitted_by
        return (u.name or u.username) if u is not None else None

    @staticmethod
    def resolve_decided_by(obj: RectificationReply) -> str | None:
        u = obj.decided_by
        return (u.name or u.username) if u is not None else None


class EntryOut(Schema):
    id: int
    notice_id: int
    organisation: OrgOut
    category: NoticeCategory
    figures: dict[str, Any] = Field(
        description=(
            "The figures when the notice was generated: received, rated, no_response, "
            "late_response, response_rate, sign_rate, evaluations, unsatisfied, "
            "satisfaction_rate, red_cards, … (rates 0–1 as text, or null)."
        )
    )
    calls: list[dict[str, Any]] = Field(
        description="The offending calls: id, number, title, reasons, due, done, at."
    )
    status: EntryStatus
    reply_due: datetime | None
    closed_at: datetime | None
    overdue: bool
    replies: list[ReplyOut] | None = Field(
        None, description="The replies, for the issuing side and the organisation named."
    )

    @staticmethod
    def resolve_organisation(obj: NoticeEntry) -> dict[str, Any]:
        return {"id": obj.organisation_id, "name": obj.subject_name, "kind": obj.subject_kind}

    @staticmethod
    def resolve_overdue(obj: NoticeEntry) -> bool:
        return obj.is_overdue

    @staticmethod
    def resolve_replies(obj: NoticeEntry, context: dict[str, Any]) -> list[Any] | None:
        actor = _actor(context["request"])
        if not may_see_replies(actor, obj):
            return None
        return list(services.entry_replies(actor=actor, entry=obj))


class NoticeOut(Schema):
    id: int
    number: str | None = Field(description="The number (文号) once issued.")
    county_id: int
    kind: NoticeKind
    status: NoticeStatus
    period: NoticePeriodOut
    title: str
    summary: str
    criteria: dict[str, Any]
    as_of: datetime = Field(description="The moment the figures were read.")
    reply_days: int
    issued_at: datetime | None
    issuer_org: OrgOut | None

    @staticmethod
    def resolve_number(obj: Notice) -> str | None:
        return services.notice_number(obj) if obj.serial else None

    @staticmethod
    def resolve_period(obj: Notice) -> dict[str, Any]:
        return {
            "key": obj.period_key,
            "start": obj.starts_on,
            "end": obj.ends_on,
            "label": obj.period_label,
        }

    @staticmethod
    def resolve_issuer_org(obj: Notice) -> dict[str, Any] | None:
        o = obj.issuer_org
        return {"id": o.pk, "name": o.name, "kind": o.kind} if o is not None else None


class NoticeDetailOut(NoticeOut):
    entries: list[EntryOut]

    @staticmethod
    def resolve_entries(obj: Notice) -> list[NoticeEntry]:
        return services.notice_entries(notice=obj)


class GenerateIn(Schema):
    period: str = Field(description="2025-03, 2025-Q1, 2025 or 2025-03-01..2025-03-15.")
    county: int | None = Field(None, description="Required when you issue in several counties.")
    criteria: dict[str, Any] | None = Field(
        None,
        description=(
            "Thresholds (defaults where missing): no_response_min, late_min, "
            "response_rate_below, satisfaction_below (0–1 or '80%'), unsatisfied_min, "
            "reply_days."
        ),
    )


class NoticeUpdateIn(Schema):
    title: str | None = None
    summary: str | None = None


class ReplyIn(Schema):
    text: str = Field(description="The causes found and the rectification; at most 4000.")
    measures: str = Field(description="The measures taken; at most 4000.")


class NoticeDecideIn(Schema):
    decision: str = Field(description="accept | return")
    reason: str = Field("", description="Required to return a reply.")


class MineQuery(Schema):
    open: bool = Field(False, description="Only the entries not closed.")


class NoticeFilterIn(Schema):
    status: NoticeStatus | None = None
    county: int | None = None


# ---- helpers ----------------------------------------------------------------------------------


def _detail(actor: Actor, notice: Notice) -> Notice:
    """The notice as the actor sees it now (read again after a write)."""
    return services.notice_get(actor=actor, pk=notice.pk)


def _county(actor: Actor, county_id: int | None) -> Region:
    if county_id is not None:
        county = Region.objects.filter(pk=county_id, level="county").first()
        if county is None:
            raise NotFound()
        return county
    counties = services.managed_counties(actor)
    if len(counties) == 1:
        return counties[0]
    if not counties:
        raise services.not_allowed()
    raise InvalidInput(
        _("Choose a county."),
        code="notice.county_required",
        detail=[{"field": "county", "message": _("This field is required.")}],
    )


# ---- notices ----------------------------------------------------------------------------------


@router.get("/", response={200: list[NoticeOut], **ERROR_RESPONSES}, summary="List notices")
@paginate(Pagination, page_size=50)
def notice_list(request: HttpRequest, filters: Query[NoticeFilterIn]) -> QuerySet[Notice]:
    """The notices the caller may see, newest period first, 50 a page: every notice of
    the county for the issuing side, the issued ones for the county's government members."""
    return services.notice_list(
        actor=_actor(request),
        status=filters.status.value if filters.status else None,
        county_id=filters.county,
    )


@router.post(
    "/", response={201: NoticeDetailOut, **ERROR_RESPONSES}, summary="Generate a draft notice"
)
def notice_generate(request: HttpRequest, payload: GenerateIn) -> Status[Any]:
    """Generate the draft notice of a period: the organisations named, their figures and
    calls as of now. 400 `assessment.period_*`, `notice.criteria_invalid`,
    `notice.county_required`; 403 `notice.not_allowed`; 409 `notice.exists`
    (`detail.notice`)."""
    actor = _actor(request)
    period = Period.parse(payload.period)
    county = _county(actor, payload.county)
    notice = services.notice_generate(
        actor=actor, county=county, period=period, criteria=payload.criteria
    )
    return Status(201, _detail(actor, notice))


@router.get(
    "/{notice_id}", response={200: NoticeDetailOut, **ERROR_RESPONSES}, summary="One notice"
)
def notice_detail(request: HttpRequest, notice_id: int) -> Notice:
    """The notice with its entries (figures, calls, status; the replies for the issuing
    side and the organisation named)."""
    actor = _actor(request)
    return _detail(actor, services.notice_get(actor=actor, pk=notice_id))


@router.patch(
    "/{notice_id}", response={200: NoticeDetailOut, **ERROR_RESPONSES}, summary="Edit a draft"
)
def notice_update(request: HttpRequest, notice_id: int, payload: NoticeUpdateIn) -> Notice:
    """The title and summary of a draft. 409 `notice.not_draft` once issued."""
    actor = _actor(request)
    notice = services.notice_get(actor=actor, pk=notice_id)
    services.notice_update(
        actor=actor,
        notice=notice,
        title=notice.title if payload.title is None else payload.title,
        summary=notice.summary if payload.summary is None else payload.summary,
    )
    return _detail(actor, notice)


@router.delete("/{notice_id}", response={204: None, **ERROR_RESPONSES}, summary="Discard a draft")
def notice_discard(request: HttpRequest, notice_id: int) -> Status[None]:
    actor = _actor(request)
    services.notice_discard(actor=actor, notice=services.notice_get(actor=actor, pk=notice_id))
    return Status(204, None)


@router.post(
    "/{notice_id}/issue",
    response={200: NoticeDetailOut, **ERROR_RESPONSES},
    summary="Issue a notice",
)
def notice_issue(request: HttpRequest, notice_id: int) -> Notice:
    """Give the draft its number, start the reply deadlines and tell the organisations
    named. 400 `notice.empty`; 409 `notice.not_draft`."""
    actor = _actor(request)
    notice = services.notice_issue(
        actor=actor, notice=services.notice_get(actor=actor, pk=notice_id)
    )
    return _detail(actor, notice)


def _file(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get(
    "/{notice_id}/pdf",
    summary="The notice as PDF",
    response=ERROR_RESPONSES,
    openapi_extra=file_responses("The notice as PDF.", "application/pdf"),
)
def notice_pdf_download(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = services.notice_get(actor=_actor(request), pk=notice_id)
    return _file(notice_pdf(notice), "application/pdf", file_name(notice, "pdf"))


@router.get(
    "/{notice_id}/xlsx",
    summary="The notice as Excel",
    response=ERROR_RESPONSES,
    openapi_extra=file_responses("The notice (with its replies) as an Excel workbook.", XLSX_TYPE),
)
def notice_xlsx_download(request: HttpRequest, notice_id: int) -> HttpResponse:
    actor = _actor(request)
    notice = services.notice_get(actor=actor, pk=notice_id)
    content = notice_xlsx(notice, replies=True, actor=actor)
    return _file(content, XLSX_TYPE, file_name(notice, "xlsx"))


# ---- entries and replies ---------------------------------------------------------------------


@router.get(
    "/entries/mine",
    response={200: list[EntryOut], **ERROR_RESPONSES},
    summary="Entries naming my organisations",
)
def my_entries(request: HttpRequest, q: Query[MineQuery]) -> list[NoticeEntry]:
    """The entries of issued notices naming the caller's organisations (for department
    staff also its stationed agencies); `open=true`: only those not closed."""
    actor = _actor(request)
    qs = services.entries_of_organisations(actor=actor)
    if q.open:
        qs = qs.exclude(status=EntryStatus.CLOSED)
    return list(qs[:200])


@router.get("/entries/{entry_id}", response={200: EntryOut, **ERROR_RESPONSES}, summary="One entry")
def entry_detail(request: HttpRequest, entry_id: int) -> NoticeEntry:
    return services.entry_get(actor=_actor(request), pk=entry_id)


@router.post(
    "/entries/{entry_id}/reply",
    response={201: EntryOut, **ERROR_RESPONSES},
    summary="File a rectification reply",
)
def entry_reply(request: HttpRequest, entry_id: int, payload: ReplyIn) -> Status[Any]:
    """A leader of the organisation named (for a stationed agency also of its
    department) files the reply; anyone else 403 `notice.not_your_entry`, nothing
    stored. 400 `notice.invalid`; 409 `notice.reply_pending`, `notice.entry_closed`."""
    actor = _actor(request)
    entry = services.entry_get(actor=actor, pk=entry_id)
    services.reply_submit(actor=actor, entry=entry, text=payload.text, measures=payload.measures)
    return Status(201, services.entry_get(actor=actor, pk=entry_id))


@router.post(
    "/entries/{entry_id}/decide",
    response={200: EntryOut, **ERROR_RESPONSES},
    summary="Accept or return the reply",
)
def entry_decide(request: HttpRequest, entry_id: int, payload: NoticeDecideIn) -> NoticeEntry:
    """`accept` closes the entry; `return` (with a `reason`) asks for a new reply within
    5 working days. 403 `notice.not_allowed`; 400 `notice.decision_invalid`,
    `notice.reason_required`; 409 `notice.no_reply`."""
    actor = _actor(request)
    entry = services.entry_get(actor=actor, pk=entry_id)
    if not may_manage(actor, entry.notice.county_id):
        raise services.not_allowed()
    services.reply_decide(
        actor=actor, entry=entry, decision=payload.decision, reason=payload.reason
    )
    return services.entry_get(actor=actor, pk=entry_id)
