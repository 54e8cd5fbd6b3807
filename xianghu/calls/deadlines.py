"""The clocks of a dispatch: when it must be signed, responded to and completed, from
the call's urgency and the item's limits, in clock time or on the working calendar
(core.workdays). Deadlines are stored as absolute times; an approved extension moves the
completion deadline by working days. The rules are in docs/workflow.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from xianghu.catalog.limits import Limit, parse_limit
from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import DEFAULT_HOURS, HolidayCalendar, WorkingHours, deadline

from .models import Call, Dispatch, DispatchRole, Urgency


@dataclass(frozen=True)
class Limits:
    """The default limits of the domain brief (§4), per urgency; counties will override
    them. `None` for the extension caps means "no extension"."""

    sign: Limit
    respond: Limit
    complete: Limit
    return_window: Limit
    evaluation: Limit
    max_extensions: int | None
    max_extension_days: int | None


DEFAULTS: dict[str, Limits] = {
    Urgency.URGENT: Limits(
        Limit(30, "m"), Limit(30, "m"), Limit(24, "h"), Limit(30, "m"), Limit(1, "wd"), 0, 0
    ),
    Urgency.NORMAL: Limits(
        Limit(2, "wh"), Limit(24, "h"), Limit(5, "wd"), Limit(1, "wd"), Limit(3, "wd"), 2, 10
    ),
    Urgency.COMPLEX: Limits(
        Limit(1, "wd"), Limit(24, "h"), Limit(15, "wd"), Limit(1, "wd"), Limit(3, "wd"), None, 10
    ),
}


def limits_for(call: Call) -> Limits:
    """The defaults of the call's urgency; for a normal call the item's own respond and
    complete limits win (the list sets them per item); a complex call keeps at least
    15 working days; an urgent call keeps its urgent clocks."""
    base = DEFAULTS[call.urgency]
    if call.item is None or call.urgency != Urgency.NORMAL:
        if call.item is not None and call.urgency == Urgency.COMPLEX:
            item_complete = parse_limit(call.item.complete_limit)
            if item_complete.unit == "wd" and item_complete.amount > base.complete.amount:
                return _replace(base, complete=item_complete)
        return base
    return _replace(
        base,
        respond=parse_limit(call.item.respond_limit),
        complete=parse_limit(call.item.complete_limit),
    )


def _replace(limits: Limits, **changes: Limit) -> Limits:
    from dataclasses import replace

    return replace(limits, **changes)  # type: ignore[arg-type]


def _due(start: datetime, limit: Limit, hours: WorkingHours, calendar: HolidayCalendar) -> datetime:
    return deadline(start, limit.amount, limit.unit, hours=hours, calendar=calendar)


def set_dispatch_clocks(
    *, dispatch: Dispatch, call: Call, at: datetime, hours: WorkingHours = DEFAULT_HOURS
) -> None:
    limits = limits_for(call)
    calendar = HolidayCalendar.load(at.year, at.year + 1)
    dispatch.sign_due = _due(at, limits.sign, hours, calendar)
    dispatch.respond_due = _due(at, limits.respond, hours, calendar)
    dispatch.complete_due = _due(at, limits.complete, hours, calendar)


def return_window_ends(
    *, dispatch: Dispatch, call: Call, hours: WorkingHours = DEFAULT_HOURS
) -> datetime:
    calendar = HolidayCalendar.load(dispatch.dispatched_at.year, dispatch.dispatched_at.year + 1)
    return _due(dispatch.dispatched_at, limits_for(call).return_window, hours, calendar)


def check_extension(*, dispatch: Dispatch, call: Call, days: int) -> None:
    """Refuse an extension request beyond the caps (count and working days)."""
    limits = limits_for(call)
    if days <= 0:
        raise InvalidInput(
            _("Ask for at least one working day."),
            code="call.invalid",
            detail=[{"field": "days", "message": _("Ask for at least one working day.")}],
        )
    if limits.max_extensions == 0:
        raise InvalidInput(
            _("An urgent call cannot be extended."), code="call.extension_not_allowed"
        )
    if limits.max_extensions is not None and dispatch.extension_count >= limits.max_extensions:
        raise InvalidInput(
            _("This call has had %(count)s extensions already, the most allowed.")
            % {"count": dispatch.extension_count},
            code="call.extension_cap",
        )
    if limits.max_extension_days is not None and (
        dispatch.extension_days + days > limits.max_extension_days
    ):
        raise InvalidInput(
            _("Extensions may add up to %(max)s working days in all; %(left)s are left.")
            % {
                "max": limits.max_extension_days,
                "left": max(0, limits.max_extension_days - dispatch.extension_days),
            },
            code="call.extension_cap",
        )


def extend(*, dispatch: Dispatch, days: int, hours: WorkingHours = DEFAULT_HOURS) -> datetime:
    """Move the completion deadline by `days` working days (from the current one)."""
    assert dispatch.complete_due is not None
    calendar = HolidayCalendar.load(dispatch.complete_due.year, dispatch.complete_due.year + 1)
    dispatch.complete_due = deadline(
        dispatch.complete_due, days, "wd", hours=hours, calendar=calendar
    )
    dispatch.extension_count += 1
    dispatch.extension_days += days
    return dispatch.complete_due


def restart_for_redo(
    *, dispatch: Dispatch, call: Call, at: datetime, hours: WorkingHours = DEFAULT_HOURS
) -> None:
    """A reopened call (重办) gets fresh respond and complete clocks from the reopening."""
    limits = limits_for(call)
    calendar = HolidayCalendar.load(at.year, at.year + 1)
    dispatch.responded_at = None
    dispatch.completed_at = None
    dispatch.respond_due = _due(at, limits.respond, hours, calendar)
    dispatch.complete_due = _due(at, limits.complete, hours, calendar)


def next_deadline(call: Call) -> datetime | None:
    """The earliest deadline still open on the lead dispatch (for the sweep). Assisting
    departments' clocks are recorded but supervision follows the lead, which answers for
    the call."""
    dues: list[datetime] = []
    for d in call.dispatches.filter(active=True, role=DispatchRole.LEAD):
        if d.signed_at is None and d.sign_due:
            dues.append(d.sign_due)
        elif d.responded_at is None and d.respond_due:
            dues.append(d.respond_due)
        elif d.completed_at is None and d.complete_due:
            dues.append(d.complete_due)
    return min(dues) if dues else None
