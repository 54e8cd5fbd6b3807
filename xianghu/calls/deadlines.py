"""The clocks of a call: the platform's (accept and dispatch) and its dispatches' (sign,
respond, complete), from the call's urgency and the item's limits, in clock time or on
the working calendar (core.workdays). Deadlines are stored as absolute times; an approved
extension moves the completion deadline by working days. `refresh_call_clocks` keeps the
call's indexed columns (`next_deadline`, `remind_at`) in step after every transition. The
rules are in docs/workflow.md."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog.limits import Limit, limit_label, parse_limit
from xianghu.core.errors import InvalidInput
from xianghu.core.workdays import (
    CHINA_TZ,
    DEFAULT_HOURS,
    HolidayCalendar,
    WorkingHours,
    add_working_hours,
    deadline,
    working_time_between,
)

from .models import Call, Dispatch, DispatchRole, TimePolicy, Urgency, UrgencyLimit
from .workflow import BY_ACTION, OPEN, State

#: The platform's own limit may be half a working day (the domain brief's "0.5 working
#: day"): a `Limit` of this unit counts halves of the county's working day in working
#: hours (3 h 45 min by default). Only the `accept` limit takes it.
HALF_DAYS = "hwd"
_WORKING_UNITS = ("wh", "wd", HALF_DAYS)
_HALF_DAY = re.compile(r"^\s*(?:0?\.5\s*(?:wd|个?工作日)|半个?工作日)\s*$")

#: The states in which the call waits for the platform: its accept clock runs.
PLATFORM_STATES = frozenset({State.APPROVED, State.ACCEPTED})

#: By default the automatic reminder (催办) comes when half of a clock has run.
DEFAULT_REMIND_SHARE = 50


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
    # The platform accepts and dispatches within this (from reaching the platform).
    accept: Limit = Limit(1, HALF_DAYS)  # noqa: RUF009  (a frozen value)


# The defaults of the domain brief (§4), used where a county has no time policy.
DEFAULTS: dict[str, Limits] = {
    Urgency.URGENT: Limits(
        Limit(30, "m"),
        Limit(30, "m"),
        Limit(24, "h"),
        Limit(30, "m"),
        Limit(1, "wd"),
        0,
        0,
        accept=Limit(30, "m"),
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
    remind_share: int = DEFAULT_REMIND_SHARE  # percent of a clock


DEFAULT_POLICY = ClockPolicy(hours=DEFAULT_HOURS, limits=DEFAULTS)


def parse_accept_limit(value: str) -> Limit:
    """The platform's limit: as in the lists (`30m`, `2wh`, `1wd`), or half a working day
    (`0.5wd`, 半个工作日); anything else is `catalog.bad_limit`."""
    if _HALF_DAY.match(value or ""):
        return Limit(1, HALF_DAYS)
    return parse_limit(value)


def limit_text(limit: Limit) -> str:
    """How a limit is written back (`0.5wd` for half a working day)."""
    if limit.unit == HALF_DAYS:
        return f"{limit.amount * 0.5:g}wd"
    return str(limit)


def limit_text_label(text: str) -> str:
    """`0.5wd` → 0.5个工作日, `5wd` → 5个工作日 (for display)."""
    if _HALF_DAY.match(text or ""):
        return "0.5个工作日"
    return limit_label(text)


def _limits_of(row: UrgencyLimit) -> Limits:
    accept = parse_accept_limit(row.accept) if row.accept else DEFAULTS[row.urgency].accept
    return Limits(
        accept=accept,
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
    return ClockPolicy(hours=hours, limits=limits, remind_share=row.remind_share)


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
    return replace(limits, **changes)  # type: ignore[arg-type]


def _due(start: datetime, limit: Limit, hours: WorkingHours, calendar: HolidayCalendar) -> datetime:
    if limit.unit == HALF_DAYS:
        half = hours.per_day.total_seconds() / 3600 / 2
        return add_working_hours(start, limit.amount * half, hours=hours, calendar=calendar)
    return deadline(start, limit.amount, limit.unit, hours=hours, calendar=calendar)


def set_dispatch_clocks(*, dispatch: Dispatch, call: Call, at: datetime) -> None:
    policy = clock_policy(call.county_id)
    limits = limits_for(call, policy)
    calendar = HolidayCalendar.load(at.year, at.year + 1)
    dispatch.sign_due = _due(at, limits.sign, policy.hours, calendar)
    # A limit in clock hours (an item's "24小时") can end before one in working hours
    # that started with it (a sign-off due after the weekend): no step is due before
    # the one it follows.
    dispatch.respond_due = max(_due(at, limits.respond, policy.hours, calendar), dispatch.sign_due)
    dispatch.complete_due = max(
        _due(at, limits.complete, policy.hours, calendar), dispatch.respond_due
    )


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
    dispatch.complete_due = max(_due(at, limits.complete, hours, calendar), dispatch.respond_due)


# --------------------------------------------------------------------------- the running clock


def iso(moment: datetime) -> str:
    """How deadlines are written into event data: ISO 8601 in Asia/Shanghai."""
    return moment.astimezone(CHINA_TZ).isoformat()


def parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if timezone.is_naive(parsed) else parsed


def open_clock(dispatch: Dispatch) -> tuple[str, datetime] | None:
    """The dispatch's clock that is running now and its deadline: sign until signed, then
    respond until responded, then complete until completed."""
    if dispatch.signed_at is None and dispatch.sign_due:
        return "sign", dispatch.sign_due
    if dispatch.responded_at is None and dispatch.respond_due:
        return "respond", dispatch.respond_due
    if dispatch.completed_at is None and dispatch.complete_due:
        return "complete", dispatch.complete_due
    return None


def running_clock(call: Call, lead: Dispatch | None) -> tuple[str, datetime] | None:
    """The call's clock that runs now: the platform's (`accept`) while the call waits for
    the platform, otherwise the lead dispatch's. Assisting departments' clocks are
    recorded but supervision follows the lead, which answers for the call."""
    if call.state in PLATFORM_STATES:
        return ("accept", call.accept_due) if call.accept_due else None
    return open_clock(lead) if lead is not None else None


def _lead(call: Call) -> Dispatch | None:
    return call.dispatches.filter(active=True, role=DispatchRole.LEAD).first()


def next_deadline(call: Call) -> datetime | None:
    """The deadline of the running clock (for the sweep and the lists)."""
    if call.state not in OPEN:
        return None
    clock = running_clock(call, _lead(call))
    return clock[1] if clock else None


def remind_moment(
    start: datetime,
    due: datetime,
    limit: Limit,
    *,
    share: int,
    hours: WorkingHours,
    calendar: HolidayCalendar,
) -> datetime:
    """When `share` percent of a clock from `start` to `due` has run: counted in working
    time for a limit in working hours or days (so the reminder comes in office hours),
    in clock time otherwise; to the whole second."""
    if due <= start:
        return start
    if limit.unit in _WORKING_UNITS:
        span = working_time_between(start, due, hours=hours, calendar=calendar)
        if span.total_seconds() > 0:
            used = span.total_seconds() * share / 100 / 3600
            moment = add_working_hours(start, used, hours=hours, calendar=calendar)
            return min(moment, due).replace(microsecond=0)
    return (start + (due - start) * share / 100).replace(microsecond=0)


def _clock_limit(limits: Limits, name: str) -> Limit:
    return {
        "accept": limits.accept,
        "sign": limits.sign,
        "respond": limits.respond,
        "complete": limits.complete,
    }[name]


def _dues(call: Call, lead: Dispatch | None) -> dict[str, datetime]:
    dues: dict[str, datetime] = {}
    if call.accept_due:
        dues["accept"] = call.accept_due
    if lead is not None:
        for name in ("sign", "respond", "complete"):
            due = getattr(lead, f"{name}_due")
            if due:
                dues[name] = due
    return dues


def reminder_entry(call: Call, name: str, due: datetime) -> Mapping[str, Any] | None:
    """The reminder recorded for clock `name` with deadline `due`, if any."""
    entry = (call.reminders or {}).get(name)
    if isinstance(entry, dict) and parse_iso(entry.get("deadline")) == due:
        return entry
    return None


#: The states in which the workflow lets the system remind (催办).
REMIND_STATES = BY_ACTION["remind"].sources


def refresh_call_clocks(call: Call, *, from_state: str, at: datetime) -> None:
    """Keep the call's clock columns in step after a transition (called by
    `services.call_transition` before it saves the call, at the moment `at`):

    - `accept_due`: set when the call reaches the platform (approved by the caller's
      leader, or back to the platform after a granted return) from the county's `accept`
      limit;
    - `reminders`: for every clock whose deadline was set or moved in this transition
      (dispatch, ruling, reopening, extension, reaching the platform), the moment the
      county's share of it (`remind_share`) has run, counted from `at`;
    - `next_deadline`: the running clock's deadline (`running_clock`);
    - `remind_at`: the running clock's reminder moment while its reminder is still to be
      issued (the sweep marks it done), in a state where the system may remind.
    """
    policy: ClockPolicy | None = None
    calendar: HolidayCalendar | None = None
    if call.state != from_state and (
        call.state == State.APPROVED
        or (call.state == State.ACCEPTED and from_state == State.RETURN_REQUESTED)
    ):
        policy = clock_policy(call.county_id)
        calendar = HolidayCalendar.load(at.year, at.year + 1)
        call.accept_due = _due(at, limits_for(call, policy).accept, policy.hours, calendar)
    lead = _lead(call)
    reminders = dict(call.reminders or {})
    limits: Limits | None = None
    for name, due in _dues(call, lead).items():
        if reminder_entry(call, name, due) is not None:
            continue
        if policy is None:
            policy = clock_policy(call.county_id)
        if calendar is None:
            calendar = HolidayCalendar.load(at.year, at.year + 1)
        if limits is None:
            limits = limits_for(call, policy)
        moment = remind_moment(
            at,
            due,
            _clock_limit(limits, name),
            share=policy.remind_share,
            hours=policy.hours,
            calendar=calendar,
        )
        reminders[name] = {"deadline": iso(due), "at": iso(moment)}
    call.reminders = reminders
    clock = running_clock(call, lead) if call.state in OPEN else None
    call.next_deadline = clock[1] if clock else None
    call.remind_at = None
    if clock is not None and call.state in REMIND_STATES:
        entry = reminder_entry(call, *clock)
        if entry is not None and not entry.get("done"):
            call.remind_at = parse_iso(entry.get("at"))
