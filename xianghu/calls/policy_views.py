"""The county's time-limit page (/calls/time-limits/): every government member of the
county reads it; a system administrator of the county changes it."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.roles import GOVERNMENT_KINDS

from . import policy
from .deadlines import limit_text_label
from .models import Urgency


def _time(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        return None


def _rows(
    table: policy.PolicyTable, posted: Any = None, errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per urgency, one cell per field, with the value shown and its error."""
    errors = errors or {}
    rows = []
    for urgency in Urgency:
        limits = table.policy.limits[urgency.value]
        values = policy.limits_as_form(limits)
        cells = []
        for name in (*policy.LIMIT_FIELDS, "use_item_limits", *policy.CAP_FIELDS):
            key = f"{urgency.value}-{name}"
            if name == "use_item_limits":
                value: Any = (posted.get(key) == "on") if posted is not None else values[name]
            else:
                value = posted.get(key, "") if posted is not None else values[name]
            cells.append(
                {
                    "name": key,
                    "kind": "check"
                    if name == "use_item_limits"
                    else ("cap" if name in policy.CAP_FIELDS else "limit"),
                    "value": "" if value is None else value,
                    "label": limit_text_label(str(values[name]))
                    if name in policy.LIMIT_FIELDS
                    else "",
                    "error": errors.get(key, ""),
                }
            )
        rows.append({"urgency": urgency.value, "label": urgency.label, "cells": cells})
    return rows


@login_required
def time_policy_page(request: XhRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None or membership.organisation.kind not in GOVERNMENT_KINDS:
        raise PermissionDenied()
    county = membership.organisation.county
    if county is None:
        raise PermissionDenied()
    table = policy.time_policy_table(county=county)
    may_edit = policy.may_edit_time_policy(actor=request.actor, county=county)
    errors: dict[str, str] = {}
    posted = None
    moments = (*table.policy.hours.morning, *table.policy.hours.afternoon)
    hours = {
        name: moment.strftime("%H:%M")
        for name, moment in zip(policy.HOUR_FIELDS, moments, strict=True)
    }
    remind_share: Any = table.policy.remind_share
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(
                _("Only a system administrator of the county can change its time limits."),
                code="policy.forbidden",
            )
        posted = request.POST
        given_hours = {name: _time(posted.get(name, "")) for name in policy.HOUR_FIELDS}
        limits = {
            urgency: {
                **{name: posted.get(f"{urgency}-{name}", "") for name in policy.LIMIT_FIELDS},
                "use_item_limits": posted.get(f"{urgency}-use_item_limits") == "on",
                **{name: posted.get(f"{urgency}-{name}", "") for name in policy.CAP_FIELDS},
            }
            for urgency in Urgency.values
        }
        try:
            policy.time_policy_update(
                actor=request.actor,
                county=county,
                hours={k: v for k, v in given_hours.items() if v is not None},
                limits=limits,
                remind_share=posted.get("remind_share", ""),
            )
        except InvalidInput as error:
            errors = {p["field"]: p["message"] for p in (error.detail or [])}
            messages.error(request, str(error.message))
            hours = {name: posted.get(name, "") for name in policy.HOUR_FIELDS}
            remind_share = posted.get("remind_share", "")
        else:
            messages.success(request, _("The time limits were saved; they apply to new clocks."))
            return redirect("calls:time_policy")
    return render(
        request,
        "calls/time_policy.html",
        {
            "table": table,
            "rows": _rows(table, posted, errors),
            "hours": hours,
            "remind_share": remind_share,
            "may_edit": may_edit,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
