"""The leaders' overview (领导总览, /overview/): who may open it, which calls it counts,
and the page's data, read through `xianghu.calls.overview`.

The scope follows the role the user works as (the role switcher):
- township leader: the township's calls — made by it, and two-way calls it received;
- department leader: the calls its department and the department's stationed agencies
  lead (a leader in a stationed agency: that agency's);
- platform operator, assessor, system administrator: every call of their county.
Everybody else gets 403. Within the scope only calls the user may see are counted
(`calls/access.py`), so the overview never shows more than the call list would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xianghu.calls import overview as reads
from xianghu.calls.access import may_see_overdue_board
from xianghu.calls.models import Call
from xianghu.core.actor import Actor
from xianghu.core.errors import PermissionDenied
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, Role
from xianghu.routing.access import may_see_gaps
from xianghu.routing.hotspots import Hotspot, hotspots

OVERVIEW_ROLES = frozenset(
    {
        Role.TOWNSHIP_LEADER,
        Role.DEPARTMENT_LEADER,
        Role.PLATFORM_OPERATOR,
        Role.ASSESSOR,
        Role.SYSTEM_ADMIN,
    }
)
COUNTY_ROLES = frozenset({Role.PLATFORM_OPERATOR, Role.ASSESSOR, Role.SYSTEM_ADMIN})

CLOCK_LABELS = {
    "sign": gettext_lazy("Sign for"),
    "respond": gettext_lazy("Respond"),
    "complete": gettext_lazy("Complete"),
}


def may_see_overview(membership: Membership | None) -> bool:
    """Whether the overview opens for this membership (and the workbench links to it);
    no query."""
    if membership is None or membership.role not in OVERVIEW_ROLES:
        return False
    org = membership.organisation
    if membership.role == Role.TOWNSHIP_LEADER:
        return org.kind == OrgKind.TOWNSHIP
    if membership.role == Role.DEPARTMENT_LEADER:
        return org.kind in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
    return org.county_id is not None


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: Any
    by: str  # "lead" or "caller"
    organisations: tuple[Organisation, ...]


@dataclass(frozen=True)
class Scope:
    kind: str  # "township", "department" or "county"
    name: str  # what the overview is of: the organisation, or the county
    calls: Any  # a Q on Call
    tables: tuple[TableSpec, ...]
    card_organisations: frozenset[int] | None = None


def overview_scope(membership: Membership | None) -> Scope | None:
    """The scope of the overview for a membership, or None when it may not open it.
    At most one query (a department's stationed agencies, a county's organisations)."""
    if membership is None or not may_see_overview(membership):
        return None
    org = membership.organisation
    if membership.role == Role.TOWNSHIP_LEADER:
        return Scope(
            kind="township",
            name=org.name,
            calls=reads.scope_township(organisation_id=org.pk),
            tables=(TableSpec("lead", gettext_lazy("Who handles our calls"), "lead", ()),),
        )
    if membership.role == Role.DEPARTMENT_LEADER:
        if org.kind == OrgKind.DEPARTMENT:
            agencies = Organisation.objects.filter(
                kind=OrgKind.STATIONED_AGENCY, parent=org, is_active=True
            ).order_by("name")
            orgs = (org, *agencies)
        else:  # a leader of a stationed agency
            orgs = (org,)
        ids = frozenset(o.pk for o in orgs)
        return Scope(
            kind="department",
            name=org.name,
            calls=reads.scope_led_by(organisation_ids=ids),
            tables=(
                TableSpec(
                    "lead",
                    gettext_lazy("Our department and its stationed agencies")
                    if len(orgs) > 1
                    else gettext_lazy("Our organisation"),
                    "lead",
                    orgs,
                ),
            ),
            card_organisations=ids,
        )
    county: Region | None = org.county
    assert county is not None  # may_see_overview
    listed = list(
        Organisation.objects.filter(
            county=county, kind__in=(OrgKind.DEPARTMENT, OrgKind.TOWNSHIP), is_active=True
        ).order_by("region__code", "name")
    )
    return Scope(
        kind="county",
        name=county.name,
        calls=reads.scope_county(county_id=county.pk),
        tables=(
            TableSpec(
                "lead",
                gettext_lazy("Handling organisations (lead)"),
                "lead",
                tuple(o for o in listed if o.kind == OrgKind.DEPARTMENT),
            ),
            TableSpec(
                "caller",
                gettext_lazy("Calling organisations"),
                "caller",
                tuple(o for o in listed if o.kind == OrgKind.TOWNSHIP),
            ),
        ),
    )


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int
    alert: bool = False  # shown in red when not zero


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    rows: list[reads.OrganisationRow]


@dataclass(frozen=True)
class OverdueCall:
    call: Any
    lead: str
    clock: str
    due: datetime


@dataclass(frozen=True)
class HotspotRow:
    hotspot: Hotspot
    calls: tuple[tuple[int, str], ...]  # (id, number) of its latest calls, newest first


# Hotspots (routing.hotspots): the county's or the township's, over these days.
HOTSPOT_DAYS = 30
HOTSPOT_MIN_CALLS = 3
HOTSPOTS_SHOWN = 8
HOTSPOT_CALLS_SHOWN = 5


@dataclass(frozen=True)
class Overview:
    scope: Scope
    period: reads.Period
    figures: list[Figure]
    tables: list[Table]
    items: list[reads.ItemRow]
    overdue: list[OverdueCall]
    links: list[tuple[str, str]]
    hotspots: list[HotspotRow] = field(default_factory=list)
    show_hotspots: bool = False
    hotspot_days: int = HOTSPOT_DAYS
    hotspot_min_calls: int = HOTSPOT_MIN_CALLS


def overview_hotspots(
    *, actor: Actor, membership: Membership, scope: Scope, now: datetime
) -> list[HotspotRow]:
    """The hotspots of a county or township overview among the calls the actor may see
    (`routing.hotspots`; five queries at most, with the shown calls' numbers)."""
    org = membership.organisation
    county = org.county
    if county is None or scope.kind not in ("county", "township"):
        return []
    township = org.township if scope.kind == "township" else None
    if scope.kind == "township" and township is None:
        return []
    found = hotspots(
        county=county,
        now=now,
        window_days=HOTSPOT_DAYS,
        min_calls=HOTSPOT_MIN_CALLS,
        township=township,
        actor=actor,
    )[:HOTSPOTS_SHOWN]
    wanted = [pk for h in found for pk in h.call_ids[-HOTSPOT_CALLS_SHOWN:]]
    numbers = dict(Call.objects.filter(pk__in=wanted).values_list("pk", "number")) if wanted else {}
    return [
        HotspotRow(
            hotspot=h,
            calls=tuple(
                (pk, numbers[pk]) for pk in h.call_ids[-HOTSPOT_CALLS_SHOWN:][::-1] if pk in numbers
            ),
        )
        for h in found
    ]


def overview_build(
    *, actor: Actor, membership: Membership | None, now: datetime | None = None
) -> Overview:
    """The overview for the membership the user works as (`PermissionDenied` if it may
    not open one). A fixed number of queries, whatever the number of calls."""
    scope = overview_scope(membership)
    if scope is None or membership is None:
        raise PermissionDenied(code="overview.not_allowed")
    period = reads.overview_period(now=now)
    calls = reads.overview_calls(actor=actor, scope=scope.calls)
    f = reads.overview_figures(
        calls=calls, period=period, card_organisations=scope.card_organisations
    )
    figures = [
        Figure("open", _("Open calls"), f.open),
        Figure("overdue", _("Overdue now"), f.overdue, alert=True),
        Figure("due_soon", _("Due within one working day"), f.due_soon),
        Figure("awaiting_evaluation", _("Awaiting evaluation"), f.awaiting_evaluation),
        Figure("closed", _("Closed this month"), f.closed_this_month),
        Figure("yellow_cards", _("Yellow cards this month"), f.yellow_cards, alert=True),
        Figure("red_cards", _("Red cards this month"), f.red_cards, alert=True),
        Figure(
            "supervision_orders",
            _("Supervision orders this month"),
            f.supervision_orders,
            alert=True,
        ),
    ]
    tables = [
        Table(
            key=spec.key,
            title=str(spec.title),
            rows=reads.overview_by_organisation(
                calls=calls,
                period=period,
                by="lead" if spec.by == "lead" else "caller",
                organisations=spec.organisations,
            ),
        )
        for spec in scope.tables
    ]
    overdue = [
        OverdueCall(
            call=row.call,
            lead=row.lead.name if row.lead is not None else "",
            clock=str(CLOCK_LABELS.get(row.clock, "")),
            due=row.due,
        )
        for row in reads.overview_most_overdue(calls=calls, period=period)
    ]
    links = [(_("Calls"), reverse("calls:list"))]
    if may_see_overdue_board(membership):
        links.append((_("Overdue board"), reverse("calls:overdue")))
    if may_see_gaps(membership):
        links.append((_("List gaps"), reverse("routing:gaps")))
    return Overview(
        scope=scope,
        period=period,
        figures=figures,
        tables=tables,
        items=reads.overview_top_items(calls=calls, period=period),
        overdue=overdue,
        links=links,
        hotspots=overview_hotspots(actor=actor, membership=membership, scope=scope, now=period.now),
        show_hotspots=scope.kind in ("county", "township"),
    )
