"""REST endpoints of the routing app, mounted at /api/v1/routing/."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.regions.models import Region
from xianghu.regions.roles import GOVERNMENT_KINDS, RegionLevel

from . import selectors

router = Router(tags=["routing"])


class SuggestIn(Schema):
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=20000)
    county: str | None = Field(None, description="county code; default: the caller's county")
    township: str | None = Field(None, description="code of the township or village")
    k: int = Field(3, ge=1, le=10)


class DepartmentOut(Schema):
    name: str
    role: str
    organisation_id: int | None = None


class CandidateOut(Schema):
    code: str
    name: str
    confidence: float
    departments: list[DepartmentOut]
    matched: list[str]
    explanation: str


class SuggestOut(Schema):
    status: str
    message: str
    outside_list: bool
    item_code: str
    candidates: list[CandidateOut]
    model_version: int | None = None
    stale: bool
    truncated: bool
    notes: list[str]


def _county(actor: Actor, code: str | None) -> Region:
    counties = {
        g.county_id
        for g in actor.grants
        if g.county_id is not None and g.organisation_kind in GOVERNMENT_KINDS
    }
    if code:
        county = Region.objects.filter(code=code, level=RegionLevel.COUNTY).first()
        if county is None or not (actor.is_superuser or county.pk in counties):
            raise NotFound(_("No such county."), code="not_found")
        return county
    if len(counties) != 1:
        raise InvalidInput(
            _("Name the county (you work for several, or for none)."),
            code="routing.county_required",
        )
    return Region.objects.get(pk=next(iter(counties)))


@router.post(
    "/suggest",
    response={200: SuggestOut, **ERROR_RESPONSES},
    summary="Suggest list items and departments for a call's text",
    description=(
        "Routes a call's title and description against the county's responsibility list in "
        "force: the best `k` items with a confidence, the departments each implies and the "
        "words that matched. Never fails for bad text: `status` says why there is no "
        "suggestion (`empty`, `not_chinese`, `unreadable`, `no_list`, `no_model`, "
        "`model_outdated`) and `message` says it for people; `outside_list` means nothing "
        "fits well enough. Texts over 2,000 characters are cut (`truncated`). Reads only."
    ),
)
def suggest(request: HttpRequest, payload: SuggestIn) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    county = _county(actor, payload.county)
    township = (
        Region.objects.filter(code=payload.township, code__startswith=county.code).first()
        if payload.township
        else None
    )
    s = selectors.route_suggest(
        county=county,
        text=f"{payload.title}\n{payload.description}",
        township=township,
        k=payload.k,
    )
    return {
        "status": s.status,
        "message": s.message,
        "outside_list": s.outside_list,
        "item_code": s.item_code,
        "candidates": [
            {
                "code": c.code,
                "name": c.name,
                "confidence": c.confidence,
                "departments": [
                    {"name": d.name, "role": d.role, "organisation_id": d.organisation_id}
                    for d in c.departments
                ],
                "matched": list(c.matched),
                "explanation": c.explanation,
            }
            for c in s.candidates
        ],
        "model_version": s.model_version,
        "stale": s.stale,
        "truncated": s.truncated,
        "notes": list(s.notes),
    }
