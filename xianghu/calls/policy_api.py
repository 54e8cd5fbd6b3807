"""REST endpoints of a county's time policy, mounted at /api/v1/time-limits/."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import WithJsonSchema

from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES
from xianghu.core.errors import NotFound
from xianghu.regions.models import Region
from xianghu.regions.roles import GOVERNMENT_KINDS, RegionLevel

from . import policy

router = Router(tags=["calls"])


class UrgencyLimitsSchema(Schema):
    accept: str | None = Field(
        None,
        description="The platform accepts and dispatches within this, from the call's "
        "arrival (also `0.5wd`, half a working day); empty or absent: the default.",
    )
    sign: str
    respond: str
    complete: str
    return_window: str
    evaluation: str
    use_item_limits: bool
    max_extensions: int | None = None
    max_extension_days: int | None = None


#: A time of day in the county's own time zone ("08:30", "17:30:00"): no UTC offset, so
#: not JSON Schema's `time` format (RFC 3339 `full-time` requires one; the API fuzzer
#: found every answer of this endpoint violating it).
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "examples": ["08:30"],
        }
    ),
]


class TimePolicySchema(Schema):
    morning_start: LocalTime
    morning_end: LocalTime
    afternoon_start: LocalTime
    afternoon_end: LocalTime
    remind_share: int | None = Field(
        None,
        description="The automatic reminder (催办) comes when this percentage of a clock "
        "has run (1–99); absent: 50.",
    )
    limits: dict[str, UrgencyLimitsSchema]


class TimePolicyOut(TimePolicySchema):
    county: str
    customised: bool


def _county(actor: Actor, code: str) -> Region:
    county = get_object_or_404(Region, code=code, level=RegionLevel.COUNTY)
    allowed = actor.is_superuser or any(
        g.county_id == county.pk and g.organisation_kind in GOVERNMENT_KINDS for g in actor.grants
    )
    if not allowed:
        raise NotFound(_("No such county."), code="not_found")
    return county


def _out(county: Region) -> dict[str, Any]:
    table = policy.time_policy_table(county=county)
    hours = table.policy.hours
    return {
        "county": county.code,
        "customised": table.customised,
        "morning_start": hours.morning[0],
        "morning_end": hours.morning[1],
        "afternoon_start": hours.afternoon[0],
        "afternoon_end": hours.afternoon[1],
        "remind_share": table.policy.remind_share,
        "limits": {u: policy.limits_as_form(lim) for u, lim in table.policy.limits.items()},
    }


@router.get(
    "/{county_code}",
    response={200: TimePolicyOut, **ERROR_RESPONSES},
    summary="A county's office hours and time limits",
)
def time_policy_get(request: HttpRequest, county_code: str) -> dict[str, Any]:
    return _out(_county(request.auth, county_code))  # type: ignore[attr-defined]


@router.put(
    "/{county_code}",
    response={200: TimePolicyOut, **ERROR_RESPONSES},
    summary="Set a county's office hours and time limits",
    description=(
        "All fields at once; a system administrator of the county only (403 "
        "`policy.forbidden`). Limits are written as in the lists (`30m`, `2h`, `2wh`, "
        "`5wd`, `3d`; the platform's `accept` limit also `0.5wd`); `limits` has one entry "
        "per urgency (urgent, normal, complex); `remind_share` (optional) is the share of "
        "a clock after which the automatic reminder comes. 400 `policy.invalid` with "
        "`detail = [{field, message}]` when anything is wrong; nothing is saved then."
    ),
)
def time_policy_put(
    request: HttpRequest, county_code: str, payload: TimePolicySchema
) -> dict[str, Any]:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    county = _county(actor, county_code)
    policy.time_policy_update(
        actor=actor,
        county=county,
        hours={name: getattr(payload, name) for name in policy.HOUR_FIELDS},
        limits={u: limits.dict() for u, limits in payload.limits.items()},
        remind_share=payload.remind_share,
    )
    return _out(county)
