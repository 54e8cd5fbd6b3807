"""Reads of calls, always scoped by the access policies (`calls/access.py`).

Every queryset here loads what its screens and endpoints show with a fixed number of
queries: the call's organisations, place and item by join, the dispatches and the
timeline's people by prefetch or join, never one query per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import (
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from . import services
from .models import Call, CallEvent, Dispatch, DispatchRole
from .parties import parties_of
from .workflow import BY_ACTION, Transition, allowed_actions


@dataclass(frozen=True)
class CallFilters:
    """The filters of a call list; empty values do not filter."""

    states: tuple[str, ...] = ()
    urgency: str | None = None
    caller_id: int | None = None
    item_code: str | None = None
    overdue: bool | None = None  # True: a deadline has passed; False: none has
    search: str | None = None  # in the title, or the call number
    mine: bool = False  # called by, or (actively) dispatched to, the actor's organisations
    # The places of one township (its region and its villages'), by the township's region id.
    township_region_id: int | None = None
    # One item of a county's list: the calls on it or on the same item of the list's
    # earlier versions (by code within the catalogue).
    item_id: int | None = None


def _calls() -> QuerySet[Call]:
    return Call.objects.select_related("caller", "callee", "location", "item")


def _active_leads() -> Prefetch:
    return Prefetch(
        "dispatches",
        queryset=Dispatch.objects.filter(active=True, role=DispatchRole.LEAD).select_related(
            "organisation"
        ),
        to_attr="active_leads",
    )


def _own_side(actor: Actor) -> Q:
    """Calls the actor's organisations made or handle: the calling organisation (village
    staff act for their township) or an active dispatch (stationed agencies act for
    their department), the same sides `parties.parties_of` knows."""
    own = set(actor.organisation_ids())
    townships = {g.township_id for g in actor.grants if g.organisation_kind == OrgKind.VILLAGE}
    departments = {
        g.parent_organisation_id
        for g in actor.grants
        if g.organisation_kind == OrgKind.STATIONED_AGENCY and g.parent_organisation_id
    }
    q = Q(caller_id__in=own)
    if townships:
        q |= Q(caller__kind=OrgKind.TOWNSHIP, caller__township_id__in=townships)
    handling = Dispatch.objects.filter(active=True, organisation_id__in=own | departments)
    return q | Q(pk__in=handling.values("call_id"))


def call_list(*, actor: Actor, filters: CallFilters | None = None) -> QuerySet[Call]:
    """The calls the actor may see, newest first, with their lead (`active_leads`)."""
    filters = filters or CallFilters()
    qs = access.visible(actor, _calls())
    if filters.states:
        qs = qs.filter(state__in=filters.states)
    if filters.urgency:
        qs = qs.filter(urgency=filters.urgency)
    if filters.caller_id is not None:
        qs = qs.filter(caller_id=filters.caller_id)
    if filters.item_code:
        qs = qs.filter(item__code=filters.item_code)
    if filters.overdue is True:
        qs = qs.filter(next_deadline__lt=timezone.now())
    elif filters.overdue is False:
        qs = qs.filter(Q(next_deadline__isnull=True) | Q(next_deadline__gte=timezone.now()))
    if filters.search:
        qs = qs.filter(Q(title__icontains=filters.search) | Q(number__icontains=filters.search))
    if filters.mine:
        qs = qs.filter(_own_side(actor))
    if filters.item_id is not None:
        qs = qs.filter(item_id__in=_same_item(filters.item_id))
    if filters.township_region_id is not None:
        places = [filters.township_region_id, *_villages(filters.township_region_id)]
        qs = qs.filter(location_id__in=places)
    return qs.prefetch_related(_active_leads()).order_by("-created_at", "-pk")


def _same_item(item_id: int) -> list[int]:
    item = Item.objects.filter(pk=item_id)
    return list(
        Item.objects.filter(
            code__in=item.values("code"),
            version__catalogue_id__in=item.values("version__catalogue_id"),
        ).values_list("pk", flat=True)
    )


def _villages(township_region_id: int) -> list[int]:
    return list(Region.objects.filter(parent_id=township_region_id).values_list("pk", flat=True))


# ---- keyset pages of a call list ----------------------------------------------------------

#: A list's count stops here: counting every row of a county's year is what makes an
#: offset pager slow at scale (docs/benchmarks.md, "The platform console").
COUNT_CAP = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CURSOR = re.compile(r"^(\d{1,17})\.(\d{1,18})$")


@dataclass(frozen=True)
class CallPage:
    """One page of a call list, newest first, and the cursors of its neighbours."""

    calls: list[Call]
    count: int  # the calls of the list, counted up to `COUNT_CAP`
    more: bool  # the list has more than `count` calls
    next_cursor: str  # "" on the last page
    previous_cursor: str  # "" on the first page

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _cursor(call: Call) -> str:
    stamp = call.created_at
    micros = (stamp - _EPOCH) // _MICROSECOND
    return f"{micros}.{call.pk}"


def _position(cursor: str) -> tuple[datetime, int] | None:
    match = _CURSOR.match(cursor or "")
    if match is None:
        return None
    micros, pk = int(match.group(1)), int(match.group(2))
    try:
        return _EPOCH + micros * _MICROSECOND, pk
    except OverflowError:
        return None


def _rows_of(window: QuerySet[Call], limit: int, *, counted: QuerySet[Call]) -> list[Call]:
    """The first `limit` calls of `window` in its order, each with its active lead's
    name (`lead_name`) and the size of the list `counted` up to `COUNT_CAP + 1`
    (`listed`): the whole page in one statement.

    A deferred join: the ids are picked by the filtered, ordered index query alone (a
    subquery with its LIMIT), and only those rows are joined to their organisations,
    places and items. Joined first, the database would join every row of a filter that
    no index returns in order (a township's places, an item's versions) before sorting
    and cutting them to a page. The lead (one at most: `dispatch_one_active_lead`) is a
    correlated subquery of the twenty rows, and the count an uncorrelated one, which the
    database runs once: a second and third statement would cost their own round trip
    and planning, more than the page itself (docs/benchmarks.md, "The platform console")."""
    ids = window.values("pk")[:limit]
    ordering = window.query.order_by
    lead = (
        Dispatch.objects.filter(call=OuterRef("pk"), active=True, role=DispatchRole.LEAD)
        .order_by()
        .values("organisation__name")[:1]
    )
    rows = (
        _calls()
        .filter(pk__in=ids)
        .only(*LIST_FIELDS)
        .annotate(lead_name=Coalesce(Subquery(lead), Value("")))
        .order_by(*ordering)
    )
    try:
        sql, params = _capped(counted).query.sql_with_params()
    except EmptyResultSet:  # a list that is empty by its conditions: no rows to count
        return list(rows)
    capped = f"SELECT count(*) FROM ({sql}) capped"  # noqa: S608  (our own compiled query)
    return list(rows.annotate(listed=RawSQL(capped, params)))  # noqa: S611


def _capped(calls: QuerySet[Call]) -> QuerySet[Call, Any]:
    """The list's ids up to one past the cap: what its count reads at most."""
    return calls.order_by().values("pk")[: COUNT_CAP + 1]


#: What a list row shows (`templates/calls/_rows.html`): the rows are read narrow, not
#: with every column of the call and of the four tables joined to it.
LIST_FIELDS = (
    "number",
    "title",
    "state",
    "urgency",
    "created_at",
    "next_deadline",
    "county_id",
    "caller__name",
    "callee__name",
    "location__name",
    "item__code",
    "item__name",
)


def call_page(*, calls: QuerySet[Call], size: int, after: str = "", before: str = "") -> CallPage:
    """A page of `calls` (a `call_list`, ordered newest first) by keyset: the `size`
    calls after the cursor `after`, or before `before`, or the first ones. A cursor is
    a call's creation moment and id; a malformed one reads as none (the first page).

    Keyset, not offsets: a page deep in a county's year costs what the first costs (an
    index range from the cursor), where `OFFSET n` reads and drops n rows. The bound
    `created_at <= t` comes first, so that the index on `created_at` serves the range
    (a bare OR of the two conditions would not)."""
    start = _position(after)
    end = None if start is not None else _position(before)
    if start is not None:
        moment, pk = start
        window = calls.filter(created_at__lte=moment).filter(
            Q(created_at__lt=moment) | Q(pk__lt=pk)
        )
        rows = _rows_of(window, size + 1, counted=calls)
        has_next, has_previous = len(rows) > size, True
        rows = rows[:size]
    elif end is not None:
        moment, pk = end
        window = (
            calls.filter(created_at__gte=moment)
            .filter(Q(created_at__gt=moment) | Q(pk__gt=pk))
            .order_by("created_at", "pk")
        )
        rows = _rows_of(window, size + 1, counted=calls)
        has_next, has_previous = True, len(rows) > size
        rows = rows[:size][::-1]
    else:
        rows = _rows_of(calls, size + 1, counted=calls)
        has_next, has_previous = len(rows) > size, False
        rows = rows[:size]
    # An empty page (the end of the list, a stale cursor) brought no count with it.
    counted: int = getattr(rows[0], "listed") if rows else _capped(calls).count()  # noqa: B009
    return CallPage(
        calls=rows,
        count=min(counted, COUNT_CAP),
        more=counted > COUNT_CAP,
        next_cursor=_cursor(rows[-1]) if has_next and rows else "",
        previous_cursor=_cursor(rows[0]) if has_previous and rows else "",
    )


def call_get(*, actor: Actor, pk: Any, related: bool = True) -> Call:
    """One call the actor may see (`NotFound` otherwise); with `related`, also all its
    dispatches (active first, the lead first) and its item's parties."""
    if not related:
        return access.get_visible(actor, Call.objects.all(), pk=pk)
    qs = _calls().prefetch_related(
        Prefetch(
            "dispatches",
            queryset=Dispatch.objects.select_related("organisation").order_by(
                "-active", "-role", "dispatched_at", "pk"
            ),
        ),
        "item__parties",
    )
    return access.get_visible(actor, qs, pk=pk)


def call_created(*, call: Call) -> Call:
    """The call `services.call_create` has just made, ready to be shown as `call_get`
    would read it, without reading it again: its caller, callee, place and item are the
    objects it was made with, and a new call has no dispatches (the empty prefetch
    runs no query)."""
    return calls_created(calls=[call])[0]


def calls_created(*, calls: list[Call]) -> list[Call]:
    """`call_created` for many calls at once: one prefetch for all (each prefetch
    builds its queryset, about 1 ms; a batch's calls share it)."""
    prefetch_related_objects(calls, Prefetch("dispatches", queryset=Dispatch.objects.none()))
    return calls


def calls_made(*, actor: Actor, calls: Sequence[tuple[Call, bool]]) -> dict[int, Call]:
    """The calls of a batch to show, by id: the new ones as they were made
    (`call_created`), the ones made before read again in one query (they may have moved
    on since), with their lead."""
    made = calls_created(calls=[call for call, created in calls if created])
    shown = {call.pk: call for call in made}
    earlier = {call.pk for call, created in calls if not created}
    if earlier:
        shown.update((c.pk, c) for c in call_list(actor=actor).filter(pk__in=earlier))
    return shown


def call_timeline(*, actor: Actor, call: Call) -> QuerySet[CallEvent]:
    """The events of a visible call in order, with the people and organisations."""
    qs = CallEvent.objects.filter(call=call).select_related("actor", "actor_org")
    return access.visible(actor, qs).order_by("seq")


def call_parties(*, actor: Actor, call: Call) -> set[str]:
    """Every party the actor is to the call (`parties.parties_of`)."""
    return parties_of(actor=actor, call=call)


def call_actions(*, parties: set[str], state: str) -> list[Transition]:
    """The actions open to these parties now: allowed in the state by the workflow table
    and granted to one of the parties."""
    return [BY_ACTION[a] for a in allowed_actions(state) if parties & BY_ACTION[a].parties]


@dataclass(frozen=True)
class Suggestion:
    lead: Organisation | None
    assisting: list[Organisation]


def call_suggestion(*, call: Call) -> Suggestion:
    """The list's suggestion for the dispatch (`services.suggested_dispatch`) with the
    organisations it names (one query)."""
    ids = services.suggested_dispatch(call=call)
    wanted = [i for i in [ids["lead"], *ids["assisting"]] if i is not None]
    orgs = Organisation.objects.in_bulk(wanted)
    lead = orgs.get(ids["lead"]) if ids["lead"] is not None else None
    return Suggestion(lead=lead, assisting=[orgs[i] for i in ids["assisting"] if i in orgs])
