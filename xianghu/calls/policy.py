"""A county's time policy (时限规则): its office hours, the limits of each urgency and the
share of a clock after which the automatic reminder (催办) comes.

Read with `time_policy_table` (what the page shows: the county's values, or the
defaults); changed with `time_policy_update`, by a system administrator of the county.
The new values apply to clocks started afterwards (deadlines are stored as absolute
times). `deadlines.clock_policy` is what the clocks use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog.limits import parse_limit
from xianghu.core.actor import Actor
from xianghu.core.errors import DomainError, InvalidInput, PermissionDenied
from xianghu.core.workdays import WorkingHours
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel, Role

from .deadlines import (
    DEFAULT_REMIND_SHARE,
    DEFAULTS,
    ClockPolicy,
    Limits,
    clock_policy,
    limit_text,
    parse_accept_limit,
)
from .models import TimePolicy, Urgency, UrgencyLimit

LIMIT_FIELDS = ("accept", "sign", "respond", "complete", "return_window", "evaluation")
CAP_FIELDS = ("max_extensions", "max_extension_days")
HOUR_FIELDS = ("morning_start", "morning_end", "afternoon_start", "afternoon_end")


@dataclass(frozen=True)
class PolicyTable:
    county: Region
    policy: ClockPolicy
    customised: bool
    updated_at: Any = None
    updated_by: str = ""


def may_edit_time_policy(*, actor: Actor, county: Region) -> bool:
    return actor.is_superuser or county.pk in actor.county_ids(Role.SYSTEM_ADMIN)


def time_policy_table(*, county: Region) -> PolicyTable:
    row = TimePolicy.objects.filter(county=county).select_related("updated_by").first()
    return PolicyTable(
        county=county,
        policy=clock_policy(county.pk),
        customised=row is not None,
        updated_at=row.updated_at if row else None,
        updated_by=(row.updated_by.get_full_name() or row.updated_by.username)
        if row and row.updated_by
        else "",
    )


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _cap(value: Any, field: str, problems: list[dict[str, str]]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= 60:
        problems.append(_problem(field, _("Give a whole number from 0 to 60, or leave it empty.")))
        return None
    return number


@transaction.atomic
def time_policy_update(
    *,
    actor: Actor,
    county: Region,
    hours: Mapping[str, time],
    limits: Mapping[str, Mapping[str, Any]],
    remind_share: Any = None,
) -> TimePolicy:
    """Set the county's office hours and the limits of every urgency (all or nothing).

    `limits` maps each urgency to its `sign`, `respond`, `complete`, `return_window`,
    `evaluation` (limits as in the lists), `use_item_limits`, `max_extensions` and
    `max_extension_days` (None: no cap), and optionally `accept`, the platform's own
    limit (also `0.5wd`, half a working day; empty: the default). `remind_share` is the
    percentage of a clock after which the automatic reminder comes (1–99; None: 50).
    """
    if county.level != RegionLevel.COUNTY:
        raise InvalidInput(_("Time limits are set per county."), code="policy.not_a_county")
    if not may_edit_time_policy(actor=actor, county=county):
        raise PermissionDenied(
            _("Only a system administrator of the county can change its time limits."),
            code="policy.forbidden",
        )
    problems: list[dict[str, str]] = []
    missing = [name for name in HOUR_FIELDS if not isinstance(hours.get(name), time)]
    for name in missing:
        problems.append(_problem(name, _("Give a time such as 08:30.")))
    if not missing:
        try:
            WorkingHours(
                morning=(hours["morning_start"], hours["morning_end"]),
                afternoon=(hours["afternoon_start"], hours["afternoon_end"]),
            )
        except ValueError:
            problems.append(
                _problem(
                    "morning_start",
                    _(
                        "Office hours must run in order: the morning starts before it ends, "
                        "and ends no later than the afternoon starts, which starts before "
                        "it ends."
                    ),
                )
            )
    rows: list[UrgencyLimit] = []
    for urgency in Urgency.values:
        given = limits.get(urgency)
        if given is None:
            problems.append(_problem(urgency, _("The limits of every urgency are needed.")))
            continue
        row = UrgencyLimit(urgency=urgency, use_item_limits=bool(given.get("use_item_limits")))
        for name in LIMIT_FIELDS:
            text = str(given.get(name) or "").strip()
            if name == "accept" and not text:
                text = limit_text(DEFAULTS[urgency].accept)
            parse = parse_accept_limit if name == "accept" else parse_limit
            try:
                setattr(row, name, limit_text(parse(text)))
            except DomainError as error:
                problems.append(_problem(f"{urgency}-{name}", error.message))
        row.max_extensions = _cap(
            given.get("max_extensions"), f"{urgency}-max_extensions", problems
        )
        row.max_extension_days = _cap(
            given.get("max_extension_days"), f"{urgency}-max_extension_days", problems
        )
        rows.append(row)
    share = _share(remind_share, problems)
    if problems:
        raise InvalidInput(
            _("The time limits were not saved: correct the fields marked."),
            code="policy.invalid",
            detail=problems,
        )
    policy, _created = TimePolicy.objects.update_or_create(
        county=county,
        defaults={
            **{name: hours[name] for name in HOUR_FIELDS},
            "remind_share": share,
            "updated_at": timezone.now(),
            "updated_by_id": actor.user_id,
        },
    )
    policy.limits.all().delete()
    for row in rows:
        row.policy = policy
    UrgencyLimit.objects.bulk_create(rows)
    return policy


def _share(value: Any, problems: list[dict[str, str]]) -> int:
    if value in (None, ""):
        return DEFAULT_REMIND_SHARE
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 99:
        problems.append(_problem("remind_share", _("Give a whole percentage from 1 to 99.")))
    return number


def limits_as_form(limits: Limits) -> dict[str, Any]:
    """One urgency's limits as the form's initial values."""
    return {
        **{name: limit_text(getattr(limits, name)) for name in LIMIT_FIELDS},
        "use_item_limits": limits.use_item_limits,
        "max_extensions": limits.max_extensions,
        "max_extension_days": limits.max_extension_days,
    }
