"""The clocks of a dispatch: when it must be signed, responded to and completed, from
the call's urgency and the item's limits, in clock time or on the working calendar
(core.workdays). Deadlines are stored as absolute times; an approved extension moves the
completion deadline by working days. The rules are in docs/workflow.md."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from xianghu.catalog.limits import Limit, parse_limit
from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import DEFAULT_HOURS, HolidayCalendar, WorkingHours, deadline

from .models import Call, Dispatch, DispatchRole, TimePolicy, Urgency, UrgencyLimit


@dataclass(frozen=True)
class Limits:
    """The limits of one urgency. `None` for the extension caps means "no cap"; 0 means
    "no extension"."""

    sign: Limit
    respond: Limit
    complete: Limit
    return_window: Limit
    evaluation: Limit
    max_extensions: int | None
    max_extension_days: int | None
    use_item_limits: bool = False


# The defaults of the domain brief (§4), used where a county has no time policy.
DEFAULTS: dict[str, Limits] = {
    Urgency.URGENT: Limits(
        Limit(30, "m"), Limit(30, "m"), Limit(24, "h"), Limit(30, "m"), Limit(1, "wd"), 0, 0
    ),
    Urgency.NORMAL: Limits(
        Limit(2, "wh"),
        Limit(24, "h"),
        Limit(5, "wd"),
        Limit(1, "wd"),
        Limit(3, "wd"),
        2,
        10,
        use_item_limits=True,
    ),
    Urgency.COMPLEX: Limits(
        Limit(1, "wd"),
        Limit(24, "h"),
        Limit(15, "wd"),
        Limit(1, "wd"),
        Limit(3, "wd"),
        None,
        10,
        use_item_limits=True,
    ),
}


@dataclass(frozen=True)
class ClockPolicy:
    """A county's office hours and limits per urgency (`TimePolicy`, or the defaults)."""

    hours: WorkingHours
    limits: dict[str, Limits]


DEFAULT_POLICY = ClockPolicy(hours=DEFAULT_HOURS, limits=DEFAULTS)


def _limits_of(row: UrgencyLimit) -> Limits:
    return Limits(
        sign=parse_limit(row.sign),
        respond=parse_limit(row.respond),
        complete=parse_limit(row.complete),
        return_window=parse_limit(row.return_window),
        evaluation=parse_limit(row.evaluation),
        max_extensions=row.max_extensions,
        max_extension_days=row.max_extension_days,
        use_item_limits=row.use_item_limits,
    )


def policy_of(row: TimePolicy | None) -> ClockPolicy:
    if row is None:
        return DEFAULT_POLICY
    hours = WorkingHours(
        morning=(row.morning_start, row.morning_end),
        afternoon=(row.afternoon_start, row.afternoon_end),
    )
    limits = dict(DEFAULTS)
    for limit_row in row.limits.all():
        limits[limit_row.urgency] = _limits_of(limit_row)
    return ClockPolicy(hours=hours, limits=limits)


def clock_policy(county_id: int) -> ClockPolicy:
    """The time policy of a county (one query, two with limits)."""
    row = TimePolicy.objects.filter(county_id=county_id).prefetch_related("limits").first()
    return policy_of(row)


def clock_policies(county_ids: Iterable[int]) -> dict[int, ClockPolicy]:
    """The time policies of several counties in two queries; a county without a row
    gets the defaults (look it up with `.get(county_id, DEFAULT_POLICY)`)."""
    rows = TimePolicy.objects.filter(county_id__in=set(county_ids)).prefetch_related("limits")
    return {row.county_id: policy_of(row) for row in rows}


def limits_for(call: Call, policy: ClockPolicy | None = None) -> Limits:
    """The limits of the call's urgency in its county; where the policy says so, the
    item's own respond and complete limits win (the list sets them per item), a complex
    call keeping the longer completion limit of the two."""
    policy = policy or clock_policy(call.county_id)
    base = policy.limits[call.urgency]
    if call.item is None or not base.use_item_limits:
        return base
    item_respond = parse_limit(call.item.respond_limit)
    item_complete = parse_limit(call.item.complete_limit)
    if call.urgency == Urgency.COMPLEX:
        if _longer(item_complete, base.complete):
            return _replace(base, complete=item_complete)
        return base
    return _replace(base, respond=item_respond, complete=item_complete)


def _longer(a: Limit, b: Limit) -> bool:
    """Whether `a` is certainly the longer limit (same unit, more of it)."""
    return a.unit == b.unit and a.amount > b.amount


def _replace(limits: Limits, **changes: Limit) -> Limits:
    from dataclasses import replace

    return replace(limits, **changes)  # type: ignore[arg-type]


def _due(start: datetime, limit: Limit, hours: WorkingHours, calendar: HolidayCalendar) -> datetime:
    return deadline(start, limit.amount, limit.unit, hours=hours, calendar=calendar)


def set_dispatch_clocks(*, dispatch: Dispatch, call: Call, at: datetime) -> None:
    policy = clock_policy(call.county_id)
    limits = limits_for(call, policy)
    calendar = HolidayCalendar.load(at.year, at.year + 1)
    dispatch.sign_due = _due(at, limits.sign, policy.hours, calendar)
    dispatch.respond_due = _due(at, limits.respond, policy.hours, calendar)
    dispatch.complete_due = _due(at, limits.complete, policy.hours, calendar)


def return_window_ends(*, dispatch: Dispatch, call: Call) -> datetime:
    policy = clock_policy(call.county_id)
    calendar = HolidayCalendar.load(dispatch.dispatched_at.year, dispatch.dispatched_at.year + 1)
    return _due(
        dispatch.dispatched_at, limits_for(call, policy).return_window, policy.hours, calendar
    )


def check_extension(*, dispatch: Dispatch, call: Call, days: int) -> None:
    """Refuse an extension request beyond the caps (count and working days)."""
    limits = limits_for(call)
    if days <= 0:
        raise InvalidInput(
            _("Ask for at least one working day."),
            code="call.invalid",
            detail=[{"field": "days", "message": _("Ask for at least one working day.")}],
        )
    if limits.max_extensions == 0 or limits.max_extension_days == 0:
        raise InvalidInput(
            _("Calls of this urgency cannot be extended."), code="call.extension_not_allowed"
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


def extend(*, dispatch: Dispatch, call: Call, days: int) -> datetime:
    """Move the completion deadline by `days` working days (from the current one)."""
    assert dispatch.complete_due is not None
    hours = clock_policy(call.county_id).hours
    calendar = HolidayCalendar.load(dispatch.complete_due.year, dispatch.complete_due.year + 1)
    dispatch.complete_due = deadline(
        dispatch.complete_due, days, "wd", hours=hours, calendar=calendar
    )
    dispatch.extension_count += 1
    dispatch.extension_days += days
    return dispatch.complete_due


def restart_for_redo(*, dispatch: Dispatch, call: Call, at: datetime) -> None:
    """A reopened call (重办) gets fresh respond and complete clocks from the reopening."""
    policy = clock_policy(call.county_id)
    hours = policy.hours
    limits = limits_for(call, policy)
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
