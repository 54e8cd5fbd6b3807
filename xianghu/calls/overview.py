"""Reads for the leaders' overview (领导总览): the figures, a table per organisation, the
list items called most and the most overdue calls of a set of calls.

Every read takes the set as a queryset without joins (`overview_calls`: a scope the
caller chooses, cut down to what the actor may see) and answers with one or two
aggregated queries, whatever the number of calls or organisations. The rules are those
of the call list and the overdue board: "overdue" is a call in a state that can be
carded whose running clock (`Call.next_deadline`, the lead dispatch's) has passed; "due
soon" ends before the overdue board's horizon (`supervision.due_horizon`, the end of
the next working day); "closed this month" counts calls whose state became `closed`
since the first day of the month in Asia/Shanghai; cards and supervision orders are read
from the call events (docs/workflow.md, "Supervision").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.workdays import CHINA_TZ, HolidayCalendar
from xianghu.regions.models import Organisation

from .models import Call, CallEvent, Dispatch, DispatchRole
from .supervision import CARD_STATES, RED, SUPERVISE, YELLOW, due_horizon, open_clock
from .workflow import OPEN, Evaluation, State

CARD_ACTIONS = (YELLOW, RED, SUPERVISE)


# ---- scopes (filters on Call) ----------------------------------------------------------------


def scope_township(*, organisation_id: int) -> Q:
    """A township's calls: the ones it made, and the two-way calls it received."""
    return Q(caller_id=organisation_id) | Q(callee_id=organisation_id)


def scope_led_by(*, organisation_ids: Collection[int]) -> Q:
    """The calls these organisations lead (an active lead dispatch), as a subquery."""
    led = Dispatch.objects.filter(
        active=True, role=DispatchRole.LEAD, organisation_id__in=list(organisation_ids)
    )
    return Q(pk__in=led.values("call_id"))


def scope_county(*, county_id: int) -> Q:
    return Q(county_id=county_id)


@dataclass(frozen=True)
class Period:
    """The moments an overview is counted at."""

    now: datetime
    month_start: datetime  # the first day of `now`'s month, 00:00 Asia/Shanghai
    due_before: datetime  # the overdue board's horizon: the end of the next working day


def overview_period(*, now: datetime | None = None) -> Period:
    """The period of an overview at `now` (default: the current time); one query for the
    holiday calendar."""
    now = now or timezone.now()
    local = now.astimezone(CHINA_TZ)
    calendar = HolidayCalendar.load(local.year, local.year + 1)
    return Period(
        now=now,
        month_start=local.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        due_before=due_horizon(now, calendar=calendar),
    )


def overview_calls(*, actor: Actor, scope: Q) -> QuerySet[Call]:
    """The calls within `scope` (a filter on `Call`) that the actor may see.

    Visibility is a subquery, so the result has no joins and aggregates over it count
    every call once."""
    visible = access.visible(actor, Call.objects.all())
    return Call.objects.filter(scope).filter(pk__in=visible.order_by().values("pk"))


# ---- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    open: int
    overdue: int
    due_soon: int
    awaiting_evaluation: int
    closed_this_month: int
    yellow_cards: int
    red_cards: int
    supervision_orders: int


def _overdue(period: Period, prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}state__in": CARD_STATES,
            f"{prefix}next_deadline__lt": period.now,
        }
    )


def overview_figures(
    *,
    calls: QuerySet[Call],
    period: Period,
    card_organisations: Collection[int] | None = None,
) -> Figures:
    """The figures of `calls` (two queries).

    With `card_organisations`, a card or order counts only when it was issued to one of
    these organisations (its `organisation`), or names none (an order for repeated
    reopening, or one the platform issued) — so a department does not inherit the cards
    of the department that had the call before a return.
    """
    counts = calls.aggregate(
        open=Count("pk", filter=Q(state__in=OPEN)),
        overdue=Count("pk", filter=_overdue(period)),
        due_soon=Count(
            "pk",
            filter=Q(
                state__in=CARD_STATES,
                next_deadline__gte=period.now,
                next_deadline__lt=period.due_before,
            ),
        ),
        awaiting=Count("pk", filter=Q(state=State.AWAITING_EVALUATION)),
        closed=Count("pk", filter=Q(state=State.CLOSED, state_changed_at__gte=period.month_start)),
    )
    events = CallEvent.objects.filter(
        call__in=calls,
        action__in=CARD_ACTIONS,
        at__gte=period.month_start,
        at__lte=period.now,
    )
    if card_organisations is not None:
        events = events.filter(
            Q(data__organisation__in=list(card_organisations)) | Q(data__organisation__isnull=True)
        )
    cards = dict(events.order_by().values_list("action").annotate(n=Count("pk")))
    return Figures(
        open=counts["open"],
        overdue=counts["overdue"],
        due_soon=counts["due_soon"],
        awaiting_evaluation=counts["awaiting"],
        closed_this_month=counts["closed"],
        yellow_cards=cards.get(YELLOW, 0),
        red_cards=cards.get(RED, 0),
        supervision_orders=cards.get(SUPERVISE, 0),
    )


# ---- per organisation ------------------------------------------------------------------------


@dataclass
class OrganisationRow:
    organisation_id: int
    name: str
    open: int = 0
    overdue: int = 0
    closed_this_month: int = 0
    unsatisfied_this_month: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.open or self.overdue or self.closed_this_month or self.unsatisfied_this_month
        )


def overview_by_organisation(
    *,
    calls: QuerySet[Call],
    period: Period,
    by: Literal["lead", "caller"],
    organisations: Iterable[Organisation] = (),
) -> list[OrganisationRow]:
    """Open, overdue and closed-this-month calls and unsatisfied evaluations this month,
    per organisation (two queries), worst first.

    `by="lead"` counts each call for the organisation of its active lead dispatch (主办,
    the one whose clocks and evaluation they are; calls not dispatched yet count for
    nobody); `by="caller"` for its calling organisation. `organisations` are listed even
    with nothing to count (a department that has no call is worth seeing too); any other
    organisation only when it has something."""
    rows: dict[int, OrganisationRow] = {
        o.pk: OrganisationRow(organisation_id=o.pk, name=o.name) for o in organisations
    }
    required = set(rows)
    source: QuerySet[Any]
    if by == "lead":
        # One active lead per call (a constraint): counting dispatches counts calls.
        source = Dispatch.objects.filter(active=True, role=DispatchRole.LEAD, call__in=calls)
        prefix, key, name = "call__", "organisation_id", "organisation__name"
        event_key = "call__dispatches__organisation_id"
        events = CallEvent.objects.filter(
            call__dispatches__active=True, call__dispatches__role=DispatchRole.LEAD
        )
    else:
        source = calls
        prefix, key, name = "", "caller_id", "caller__name"
        event_key = "call__caller_id"
        events = CallEvent.objects.all()
    grouped = source.values(key, name).annotate(
        open=Count("pk", filter=Q(**{f"{prefix}state__in": OPEN})),
        overdue=Count("pk", filter=_overdue(period, prefix)),
        closed=Count(
            "pk",
            filter=Q(
                **{
                    f"{prefix}state": State.CLOSED,
                    f"{prefix}state_changed_at__gte": period.month_start,
                }
            ),
        ),
    )
    for values in grouped.order_by():
        row = rows.setdefault(
            values[key], OrganisationRow(organisation_id=values[key], name=values[name])
        )
        row.open, row.overdue, row.closed_this_month = (
            values["open"],
            values["overdue"],
            values["closed"],
        )
    unsatisfied = (
        events.filter(
            call__in=calls,
            action="evaluate",
            data__evaluation=Evaluation.UNSATISFIED.value,
            at__gte=period.month_start,
            at__lte=period.now,
        )
        .order_by()
        .values_list(event_key)
        .annotate(n=Count("pk"))
    )
    for org_id, n in unsatisfied:
        if org_id in rows:
            rows[org_id].unsatisfied_this_month = n
    shown = [r for r in rows.values() if r.organisation_id in required or not r.empty]
    return sorted(
        shown,
        key=lambda r: (-r.overdue, -r.unsatisfied_this_month, -r.open, r.name, r.organisation_id),
    )


# ---- list items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    code: str | None  # None: calls outside the list
    name: str | None
    calls: int


def overview_top_items(*, calls: QuerySet[Call], period: Period, limit: int = 5) -> list[ItemRow]:
    """The list items with the most calls made this month (drafts and withdrawn calls
    left out), most first; calls outside the list are one row. One query.

    Items are grouped by code and name, so the same item in two versions of the list
    is one row."""
    grouped = (
        calls.filter(created_at__gte=period.month_start, created_at__lte=period.now)
        .exclude(state__in=(State.DRAFT, State.CANCELLED))
        .values("item__code", "item__name")
        .annotate(n=Count("pk"))
        # Ties by code, the calls outside the list last (on every database).
        .order_by("-n", F("item__code").asc(nulls_last=True), "item__name")[:limit]
    )
    return [ItemRow(code=g["item__code"], name=g["item__name"], calls=g["n"]) for g in grouped]


# ---- the most overdue ------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueRow:
    call: Call
    lead: Organisation | None
    clock: str  # "sign", "respond" or "complete"; "" when the lead has no running clock
    due: datetime


def overview_most_overdue(
    *, calls: QuerySet[Call], period: Period, limit: int = 10
) -> list[OverdueRow]:
    """The overdue calls whose deadline passed longest ago, with their lead and running
    clock (two queries)."""
    leads = Prefetch(
        "dispatches",
        queryset=Dispatch.objects.filter(active=True, role=DispatchRole.LEAD).select_related(
            "organisation"
        ),
        to_attr="overview_leads",
    )
    overdue = (
        calls.filter(_overdue(period))
        .select_related("caller", "item")
        .prefetch_related(leads)
        .order_by("next_deadline", "pk")[:limit]
    )
    rows = []
    for call in overdue:
        found: list[Dispatch] = getattr(call, "overview_leads", [])
        lead = found[0] if found else None
        clock = open_clock(lead) if lead is not None else None
        assert call.next_deadline is not None  # filtered above
        rows.append(
            OverdueRow(
                call=call,
                lead=lead.organisation if lead is not None else None,
                clock=clock[0] if clock else "",
                due=clock[1] if clock else call.next_deadline,
            )
        )
    return rows
