"""Reads of calls, always scoped by the access policies (`calls/access.py`).

Every queryset here loads what its screens and endpoints show with a fixed number of
queries: the call's organisations, place and item by join, the dispatches and the
timeline's people by prefetch or join, never one query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Organisation
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
    return qs.prefetch_related(_active_leads()).order_by("-created_at", "-pk")


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
