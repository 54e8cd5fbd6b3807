"""The rows of the open pages: plain dicts that the HTML, JSON and CSV forms share.

This is the one place where the open pages turn records into what the public sees, so
it is where personal data is removed: free texts (titles, descriptions, results,
summaries, decisions) go through `mask_personal_text`; people are never named (a call's
creator, a handler, an evaluator); contact data, addresses and coordinates are left out.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from xianghu.assessment.models import Notice, NoticeCategory, NoticeEntry
from xianghu.assessment.notices import notice_number
from xianghu.calls.models import Attachment, Call
from xianghu.calls.workflow import Evaluation
from xianghu.catalog.limits import limit_label
from xianghu.catalog.models import Item, ListVersion, PartyRole, PrimaryLevel
from xianghu.core.masking import mask_personal_text
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel

from ..models_open import PublishedRanking


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "astimezone"):
        return str(value.astimezone(CHINA_TZ).isoformat(timespec="minutes"))
    return str(value.isoformat())


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "astimezone"):
        return str(value.astimezone(CHINA_TZ).date().isoformat())
    return str(value.isoformat())


# ---- duties ---------------------------------------------------------------------------

DEPARTMENT_COLUMNS = ("id", "name", "primary_items", "assisting_items", "url")
ITEM_COLUMNS = (
    "code",
    "name",
    "domain",
    "primary",
    "assisting",
    "primary_duties",
    "cooperating_duties",
    "respond_within",
    "complete_within",
    "url",
)


def department_row(org: Organisation, county: Region) -> dict[str, Any]:
    return {
        "id": org.pk,
        "name": org.name,
        "primary_items": getattr(org, "primary_count", 0),
        "assisting_items": getattr(org, "assisting_count", 0),
        "url": reverse("open:duties_department", args=[org.pk]) + f"?county={county.code}",
    }


def _party_names(item: Item, role: str) -> list[str]:
    return [p.name for p in item.parties.all() if p.role == role]


def item_row(item: Item, version: ListVersion) -> dict[str, Any]:
    township = str(OrgKind.TOWNSHIP.label)
    primary = (
        [township]
        if item.primary_level == PrimaryLevel.TOWNSHIP
        else _party_names(item, PartyRole.PRIMARY)
    )
    return {
        "code": item.code,
        "name": item.name,
        "domain": item.domain.name,
        "primary": primary,
        "assisting": _party_names(item, PartyRole.ASSISTING),
        "primary_duties": item.primary_duties,
        "cooperating_duties": item.cooperating_duties,
        "respond_within": limit_label(item.respond_limit),
        "complete_within": limit_label(item.complete_limit),
        "url": reverse("catalog:item_detail", args=[version.pk, item.code]),
    }


# ---- rankings -------------------------------------------------------------------------

RANKING_COLUMNS = ("id", "period", "period_label", "published_at", "url")
RANKING_ENTRY_COLUMNS = (
    "kind",
    "rank",
    "status",
    "name",
    "score",
    "volume",
    "response_rate",
    "completion_rate",
    "satisfaction_rate",
)
KIND_ORDER = (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY, OrgKind.TOWNSHIP)


def ranking_row(ranking: PublishedRanking, county: Region) -> dict[str, Any]:
    return {
        "id": ranking.pk,
        "period": ranking.period_key,
        "period_label": ranking.period_label,
        "published_at": _iso(ranking.published_at),
        "url": reverse("open:ranking_detail", args=[ranking.pk]) + f"?county={county.code}",
    }


def ranking_entry_rows(ranking: PublishedRanking) -> list[dict[str, Any]]:
    rows = []
    for kind in KIND_ORDER:
        for entry in ranking.data.get(kind, []):
            rows.append({"kind": kind, **{k: entry.get(k) for k in RANKING_ENTRY_COLUMNS[1:]}})
    return rows


# ---- notices --------------------------------------------------------------------------

NOTICE_COLUMNS = ("id", "number", "title", "period", "issued_at", "named", "closed", "url")
NOTICE_ENTRY_COLUMNS = (
    "organisation",
    "category",
    "status",
    "response_rate",
    "satisfaction_rate",
    "calls",
)


def notice_row(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "number": notice_number(notice),
        "title": mask_personal_text(notice.title),
        "period": notice.period_label,
        "issued_at": _date(notice.issued_at),
        "named": getattr(notice, "entry_count", None),
        "closed": getattr(notice, "closed_count", None),
        "url": reverse("open:notice_detail", args=[notice.pk]) + f"?county={notice.county.code}",
    }


def notice_entry_row(entry: NoticeEntry) -> dict[str, Any]:
    figures = entry.figures or {}
    return {
        "organisation": entry.subject_name,
        "category": entry.category,
        "category_label": str(NoticeCategory(entry.category).label)
        if entry.category in NoticeCategory.values
        else entry.category,
        "status": entry.status,
        "status_label": entry.get_status_display(),
        "response_rate": figures.get("response_rate"),
        "satisfaction_rate": figures.get("satisfaction_rate"),
        "calls": [
            f"{c.get('number', '')} {mask_personal_text(c.get('title', ''))}".strip()
            for c in entry.calls or []
        ],
    }


# ---- closed cases ---------------------------------------------------------------------

CASE_COLUMNS = (
    "number",
    "title",
    "township",
    "place",
    "item_code",
    "item",
    "caller",
    "lead",
    "created_at",
    "closed_at",
    "completed_on_time",
    "evaluation",
    "result",
    "photos",
    "url",
)
EVALUATION_LABELS = {e.value: e.label for e in Evaluation}


def _township(place: Region) -> Region:
    if place.level == RegionLevel.VILLAGE and place.parent is not None:
        return place.parent
    return place


def photo_url(photo: Attachment) -> str:
    return reverse("open:photo", args=[photo.pk])


def case_row(call: Call, *, detail: bool = False) -> dict[str, Any]:
    """A closed call as the public sees it (masked; no person, address or coordinate)."""
    result = ""
    evaluation = ""
    for event in getattr(call, "outcome_events", []):
        if event.action == "complete":
            result = str(event.data.get("result", ""))
        elif event.action == "evaluate":
            evaluation = str(event.data.get("evaluation", ""))
        elif event.action == "auto_close":
            evaluation = "none"
    leads = getattr(call, "leads", [])
    lead = leads[0] if leads else None
    on_time = None
    if lead is not None and lead.completed_at is not None and lead.complete_due is not None:
        on_time = lead.completed_at <= lead.complete_due
    township = _township(call.location)
    row: dict[str, Any] = {
        "number": call.number,
        "title": mask_personal_text(call.title),
        "township": township.name,
        "place": call.location.name,
        "item_code": call.item.code if call.item else "",
        "item": call.item.name if call.item else "",
        "caller": call.caller.name,
        "lead": lead.organisation.name if lead else "",
        "created_at": _date(call.created_at),
        "closed_at": _date(call.state_changed_at),
        "completed_on_time": on_time,
        "evaluation": evaluation,
        "evaluation_label": str(EVALUATION_LABELS.get(evaluation, "")),
        "result": mask_personal_text(result),
        "photos": [photo_url(p) for p in getattr(call, "public_photos", [])],
        "url": reverse("open:case_detail", args=[call.number]),
    }
    if detail:
        row["description"] = mask_personal_text(call.description)
    return row


# ---- monthly statistics ---------------------------------------------------------------

STAT_COLUMNS = (
    "month",
    "calls",
    "closed",
    "received",
    "response_rate",
    "completion_rate",
    "satisfaction_rate",
    "overdue",
)


def stat_row(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in STAT_COLUMNS:
        value = getattr(row, key)
        out[key] = str(value) if key.endswith("_rate") and value is not None else value
    return out
