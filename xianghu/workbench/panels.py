"""What each role's workbench shows: built from selectors, rendered generically.

A panel is plain data (title, figures, rows with links, a note) so that later apps add
their own panels (calls waiting for me, overdue dispatches, …) without new templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xianghu.accounts.access import apikeys_may_manage
from xianghu.assessment.dashboards import may_fill_forms, may_see_dashboards
from xianghu.assessment.notices import notices_link
from xianghu.calls import selectors as call_selectors
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Admission, ChangeRequest, DecisionStatus
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.health import health_report
from xianghu.integrations.hotline.access import may_handle_tickets
from xianghu.notify.access import webhooks_may_manage
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import GOVERNMENT_KINDS, SOCIETY_KINDS, OrgKind, Role
from xianghu.regions.selectors import organisation_stats
from xianghu.routing.access import MONITOR_KINDS as ROUTING_MONITOR_KINDS
from xianghu.routing.access import may_see_gaps

from .overview import may_see_overview


@dataclass
class Row:
    label: str
    url: str = ""
    extra: str = ""


@dataclass
class Panel:
    title: str
    figures: list[tuple[str, Any]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    key: str = ""


def _org_url(org: Organisation) -> str:
    return reverse("regions:organisation_detail", args=[org.pk])


def _role_intro(role: str) -> Panel:
    duties: dict[str, str] = {
        Role.TOWNSHIP_REPORTER: _(
            "Record problems found in your township's territory and call the county when "
            "the township cannot solve them alone; follow each call until it is evaluated."
        ),
        Role.TOWNSHIP_LEADER: _(
            "Approve your township's calls before they go to the county platform, evaluate "
            "the departments' responses and manage your township's accounts."
        ),
        Role.PLATFORM_OPERATOR: _(
            "Accept calls from townships, dispatch them to the departments the list makes "
            "responsible, rule on returns and disputes, and supervise deadlines."
        ),
        Role.DEPARTMENT_HANDLER: _(
            "Sign for calls dispatched to your department, respond on time, report progress "
            "and results with evidence."
        ),
        Role.DEPARTMENT_LEADER: _(
            "Oversee your department's and its stationed agencies' calls, approve returns "
            "and extensions, and manage your department's accounts."
        ),
        Role.BIANBAN_REVIEWER: _(
            "Keep the responsibility lists: review change requests and the admission of "
            "tasks outside the list."
        ),
        Role.ASSESSOR: _(
            "Assess departments, stationed agencies and townships on response, completion "
            "and satisfaction, and issue notices."
        ),
        Role.SYSTEM_ADMIN: _("Manage accounts, organisations, API keys and the platform's health."),
        Role.SECURITY_AUDITOR: _(
            "Review the security audit log: logins, refusals, exports, unmasking of personal "
            "data and changes in the administration site."
        ),
        Role.PUBLIC_USER: _(
            "Report problems, follow them, and take part in co-governance with the "
            "government bodies of your area."
        ),
    }
    return Panel(key="role", title=_("My role"), note=str(duties.get(role, "")))


def _township_panels(m: Membership) -> list[Panel]:
    org = m.organisation
    township = org.township
    villages = Organisation.objects.filter(kind=OrgKind.VILLAGE, township=township).order_by(
        "region__code"
    )
    agencies = (
        Organisation.objects.filter(kind=OrgKind.STATIONED_AGENCY, township=township)
        .select_related("parent")
        .order_by("name")
    )
    members = (
        Membership.objects.filter(organisation=org, is_active=True)
        .values("role")
        .annotate(n=Count("id"))
    )
    by_role = {row["role"]: row["n"] for row in members}
    panels = [
        Panel(
            key="township",
            title=_("My township: %(name)s") % {"name": org.name},
            figures=[
                (_("Villages and communities"), villages.count()),
                (_("Stationed agencies"), agencies.count()),
                (_("Reporters"), by_role.get(Role.TOWNSHIP_REPORTER, 0)),
                (_("Leaders"), by_role.get(Role.TOWNSHIP_LEADER, 0)),
            ],
            rows=[Row(v.name, _org_url(v)) for v in villages[:12]],
        ),
        Panel(
            key="agencies",
            title=_("Stationed agencies in the township"),
            rows=[Row(a.name, _org_url(a), a.parent.name if a.parent else "") for a in agencies],
            note="" if agencies else _("No stationed agency is hosted here."),
        ),
    ]
    return panels


def _department_panels(m: Membership) -> list[Panel]:
    org = m.organisation
    dept = org.parent if org.kind == OrgKind.STATIONED_AGENCY and org.parent else org
    agencies = (
        Organisation.objects.filter(kind=OrgKind.STATIONED_AGENCY, parent=dept)
        .select_related("township")
        .order_by("name")
    )
    colleagues = Membership.objects.filter(organisation=org, is_active=True).count()
    return [
        Panel(
            key="department",
            title=_("My organisation: %(name)s") % {"name": org.name},
            figures=[
                (_("Active accounts"), colleagues),
                (_("Stationed agencies"), agencies.count()),
            ],
            rows=[
                Row(a.name, _org_url(a), a.township.name if a.township else "") for a in agencies
            ],
        )
    ]


def _county_panels(m: Membership, *, kinds: list[str]) -> list[Panel]:
    county: Region | None = m.organisation.county
    if county is None:
        return []
    stats = organisation_stats(county=county)
    figures = [(str(OrgKind(k).label), stats.get(k, 0)) for k in kinds]
    # Official order: by region code (街道 first, then 镇, then 乡).
    orgs = Organisation.objects.filter(county=county, kind=kinds[0], is_active=True).order_by(
        "region__code", "name"
    )
    return [
        Panel(
            key="county",
            title=_("County overview: %(name)s") % {"name": county.name},
            figures=figures,
            rows=[Row(o.name, _org_url(o)) for o in orgs],
        )
    ]


def _admin_panels(m: Membership | None) -> list[Panel]:
    report = health_report()
    worker = report.get("worker", {})
    return [
        Panel(
            key="admin",
            title=_("Platform administration"),
            figures=[
                (_("Organisations"), Organisation.objects.count()),
                (_("Active memberships"), Membership.objects.filter(is_active=True).count()),
                (_("Worker"), worker.get("status", "")),
                (_("Tasks waiting"), report.get("queue", {}).get("ready", 0)),
            ],
            rows=[
                Row(_("Administration site"), reverse("admin:index")),
                Row(_("API documentation"), "/api/v1/docs"),
                Row(_("Health report"), reverse("core:healthz")),
                Row(_("Security audit log"), reverse("core:audit")),
            ],
        )
    ]


def _public_panels() -> list[Panel]:
    return [
        Panel(
            key="public",
            title=_("Government bodies and partners"),
            note=_(
                "Browse the directory of government bodies, social organisations and enterprises."
            ),
            rows=[Row(_("Open the directory"), reverse("regions:organisation_list"))],
        )
    ]


def _auditor_panels() -> list[Panel]:
    return [
        Panel(
            key="audit",
            title=_("Security audit"),
            note=_("Who did what, when, from where and with what outcome, in your county."),
            rows=[Row(_("Security audit log"), reverse("core:audit"))],
        )
    ]


_BUILDERS: dict[str, Callable[[Membership], list[Panel]]] = {
    Role.TOWNSHIP_REPORTER: _township_panels,
    Role.TOWNSHIP_LEADER: _township_panels,
    Role.DEPARTMENT_HANDLER: _department_panels,
    Role.DEPARTMENT_LEADER: _department_panels,
    Role.PLATFORM_OPERATOR: lambda m: _county_panels(
        m, kinds=[OrgKind.TOWNSHIP, OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY, OrgKind.VILLAGE]
    ),
    Role.BIANBAN_REVIEWER: lambda m: _county_panels(
        m, kinds=[OrgKind.DEPARTMENT, OrgKind.TOWNSHIP, OrgKind.STATIONED_AGENCY]
    ),
    Role.ASSESSOR: lambda m: _county_panels(
        m, kinds=[OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY, OrgKind.TOWNSHIP]
    ),
    Role.SYSTEM_ADMIN: _admin_panels,
    Role.PUBLIC_USER: lambda m: _public_panels(),
    Role.SECURITY_AUDITOR: lambda m: _auditor_panels(),
}


# ---- the responsibility lists (清单) ------------------------------------------------------


def _review_panel(m: Membership, actor: Actor) -> list[Panel]:
    """The 编办's pending work: change requests and admissions (only once the county
    keeps a list)."""
    county = m.organisation.county
    catalogue = catalog_selectors.county_catalogue(county=county) if county else None
    if catalogue is None:
        return []
    pending = DecisionStatus.PENDING
    changes = access.visible(
        actor, ChangeRequest.objects.filter(catalogue=catalogue, status=pending), "decide"
    ).count()
    admissions = access.visible(
        actor, Admission.objects.filter(catalogue=catalogue, status=pending), "decide"
    ).count()
    return [
        Panel(
            key="catalog_review",
            title=_("Responsibility list: to decide"),
            figures=[
                (_("Change requests pending"), changes),
                (_("Admissions pending"), admissions),
            ],
            rows=[
                Row(_("Open the establishment office workbench"), reverse("catalog:review")),
                Row(
                    _("Versions of the list"),
                    reverse("catalog:version_list", args=[catalogue.pk]),
                ),
            ],
        )
    ]


def _duties_panel(m: Membership, actor: Actor) -> list[Panel]:
    """What the list in force gives the organisation (only once there is one)."""
    org = m.organisation
    county = org.county
    if county is None or catalog_selectors.county_version_in_force(county=county) is None:
        return []
    duties = catalog_selectors.duties_of(organisation=org)
    return [
        Panel(
            key="duties",
            title=_("My duties on the list"),
            figures=[
                (_("Primary responsibility"), len(duties.primary)),
                (_("Cooperating responsibility"), len(duties.cooperating)),
            ],
            rows=[
                Row(_("See my duties"), reverse("catalog:duties")),
                Row(_("My requests to change the list"), reverse("catalog:my_requests")),
                *(
                    [Row(_("May we hand this to a township?"), reverse("catalog:guard_check"))]
                    if org.kind in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
                    else []
                ),
            ],
        )
    ]


_LIST_PANELS: dict[str, Callable[[Membership, Actor], list[Panel]]] = {
    Role.BIANBAN_REVIEWER: _review_panel,
    Role.TOWNSHIP_REPORTER: _duties_panel,
    Role.TOWNSHIP_LEADER: _duties_panel,
    Role.DEPARTMENT_HANDLER: _duties_panel,
    Role.DEPARTMENT_LEADER: _duties_panel,
}


# ---- calls (乡呼县应) ---------------------------------------------------------------------

_S = State
_WORKING = [_S.DISPATCHED, _S.SIGNED, _S.IN_PROGRESS, _S.REOPENED]
# Per side: (tab of the call list, label, filter on the visible calls); `mine` limits to
# the calls the actor's organisations made or handle (as the list's tabs do).
_CALL_FIGURES: dict[str, tuple[bool, list[tuple[str, Any, Q]]]] = {
    "township": (
        True,
        [
            ("drafts", gettext_lazy("Drafts and returned"), Q(state__in=[_S.DRAFT, _S.RETURNED])),
            (
                "in_progress",
                gettext_lazy("With the county"),
                Q(
                    state__in=[
                        _S.APPROVED,
                        _S.ACCEPTED,
                        _S.RETURN_REQUESTED,
                        _S.DISPUTED,
                        *_WORKING,
                    ]
                ),
            ),
            (
                "to_evaluate",
                gettext_lazy("Awaiting our evaluation"),
                Q(state=_S.AWAITING_EVALUATION),
            ),
        ],
    ),
    "platform": (
        False,
        [
            ("to_accept", gettext_lazy("Waiting for acceptance"), Q(state=_S.APPROVED)),
            ("to_dispatch", gettext_lazy("To dispatch"), Q(state=_S.ACCEPTED)),
            ("overdue", gettext_lazy("Overdue"), Q(state__in=_WORKING)),
        ],
    ),
    "department": (
        True,
        [
            ("to_sign", gettext_lazy("To sign for"), Q(state=_S.DISPATCHED)),
            (
                "in_progress",
                gettext_lazy("In progress"),
                Q(state__in=[_S.SIGNED, _S.IN_PROGRESS, _S.REOPENED]),
            ),
            ("overdue", gettext_lazy("Overdue"), Q(state__in=_WORKING)),
        ],
    ),
}


def _calls_panel(side: str) -> Callable[[Membership, Actor], list[Panel]]:
    def build(m: Membership, actor: Actor) -> list[Panel]:
        mine, figures = _CALL_FIGURES[side]
        now = timezone.now()
        qs = call_selectors.call_list(
            actor=actor, filters=call_selectors.CallFilters(mine=mine)
        ).prefetch_related(None)
        counts = qs.aggregate(
            **{
                key: Count(
                    "pk",
                    filter=q & Q(next_deadline__lt=now) if key == "overdue" else q,
                    distinct=True,
                )
                for key, _label, q in figures
            }
        )
        url = reverse("calls:list")
        rows = [Row(str(label), f"{url}?tab={key}") for key, label, _q in figures]
        if m.role in (Role.PLATFORM_OPERATOR, Role.DEPARTMENT_LEADER):
            rows.append(Row(_("Overdue board"), reverse("calls:overdue")))
        if side != "platform":
            rows.insert(0, Row(_("New call"), reverse("calls:new")))
        return [
            Panel(
                key="calls",
                title=_("Calls"),
                figures=[(str(label), counts[key] or 0) for key, label, _q in figures],
                rows=rows,
            )
        ]

    return build


_CALL_PANELS: dict[str, Callable[[Membership, Actor], list[Panel]]] = {
    Role.TOWNSHIP_REPORTER: _calls_panel("township"),
    Role.TOWNSHIP_LEADER: _calls_panel("township"),
    Role.PLATFORM_OPERATOR: _calls_panel("platform"),
    Role.DEPARTMENT_HANDLER: _calls_panel("department"),
    Role.DEPARTMENT_LEADER: _calls_panel("department"),
}


# ---- links to the leaders' overview and the webhook pages --------------------------------

# The panel that carries each link: the first of these keys the role's workbench has.
_OVERVIEW_PANELS = ("calls", "county", "admin")
_WEBHOOK_PANELS = ("township", "department", "admin")


def _add_links(panels: list[Panel], membership: Membership) -> None:
    """The leaders' overview (for the roles that may open it) and the organisation's
    webhooks (for the roles that manage them), on a panel the role already has."""
    by_key = {p.key: p for p in panels}

    def add(keys: tuple[str, ...], row: Row) -> None:
        target = next((by_key[k] for k in keys if k in by_key), None)
        if target is not None:
            target.rows.append(row)

    if may_see_overview(membership):
        add(_OVERVIEW_PANELS, Row(_("Leaders' overview"), reverse("workbench:overview")))
    if may_see_dashboards(membership):
        add(_OVERVIEW_PANELS, Row(_("Assessment dashboards"), reverse("assessment:dashboard")))
    if may_fill_forms(membership):
        add(
            ("township", *_OVERVIEW_PANELS),
            Row(_("Evaluate the departments"), reverse("assessment:evaluations")),
        )
    if membership.role in (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER, Role.PLATFORM_OPERATOR):
        # Reports from the public (Open311 apps) waiting for triage.
        add(
            ("township", "calls", "county", *_OVERVIEW_PANELS),
            Row(_("Public reports"), reverse("participation:triage")),
        )
    if may_handle_tickets(membership):
        add(
            ("calls", "county", "admin"),
            Row(_("12345 hotline tickets"), reverse("integrations:hotline_list")),
        )
    if membership.organisation.kind in ROUTING_MONITOR_KINDS:
        add(
            ("calls", "county", "review", "admin"),
            Row(_("Routing acceptance"), reverse("routing:acceptance")),
        )
    if may_see_gaps(membership):
        add(
            ("calls", "county", "review", "department", "admin"),
            Row(_("List gaps (recurring out-of-list calls)"), reverse("routing:gaps")),
        )
    notices = notices_link(membership)  # notices (通报): the issuing side, named organisations
    if notices is not None:
        add(("calls", "county", "township", "department", "admin"), Row(*notices))
    if apikeys_may_manage(membership):
        add(
            _WEBHOOK_PANELS,
            Row(
                _("API keys of my organisation"),
                reverse("accounts:apikeys"),
                membership.organisation.name,
            ),
        )
    if webhooks_may_manage(membership):
        add(
            _WEBHOOK_PANELS,
            Row(
                _("Webhooks of my organisation"),
                reverse("notify:webhook_list"),
                membership.organisation.name,
            ),
        )


# ---- co-governance (多元共治) -----------------------------------------------------------------

_TOWNSHIP_STAFF = (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER)


def _cogovernance_panel(membership: Membership | None) -> Panel:
    """Public reporting, moderation, the stakeholder registry and resource coordination,
    the open government pages: the links each role works with."""
    role = membership.role if membership is not None else Role.PUBLIC_USER
    kind = membership.organisation.kind if membership is not None else ""
    rows: list[Row] = []

    def add(label: str, name: str) -> None:
        rows.append(Row(label, reverse(name)))

    if role == Role.PUBLIC_USER:
        add(_("Report a problem"), "participation:report_new")
        add(_("My reports"), "participation:mine")
        if kind in SOCIETY_KINDS:
            add(_("My organisation's profile"), "participation:stakeholder_mine")
            add(_("Offers"), "participation:offer_list")
            add(_("Resource needs"), "participation:need_list")
    if role in (*_TOWNSHIP_STAFF, Role.PLATFORM_OPERATOR):
        add(_("Moderation of public text and photos"), "participation:moderation")
        add(_("Organisations to verify"), "participation:applications")
        add(_("Resource needs"), "participation:need_list")
    if role == Role.PLATFORM_OPERATOR:
        add(_("Offers"), "participation:offer_list")
    if membership is not None and kind in GOVERNMENT_KINDS and role != Role.PUBLIC_USER:
        add(_("Stakeholder registry"), "participation:registry")
    if role in (*_TOWNSHIP_STAFF, Role.PLATFORM_OPERATOR, Role.ASSESSOR, Role.SYSTEM_ADMIN):
        add(_("Consultations (议事协商)"), "participation:consultations")
    if role in (Role.ASSESSOR, Role.SYSTEM_ADMIN):
        add(_("Publish rankings"), "open:manage_rankings")
    if role == Role.SYSTEM_ADMIN:
        add(_("Unmasking audit"), "participation:unmask_audit")
    add(_("Resource board (public)"), "participation:resource_board")
    add(_("Open government"), "open:index")
    return Panel(
        key="cogovernance",
        title=_("Co-governance"),
        note=_("Residents, enterprises and social organisations govern together with us."),
        rows=rows,
    )


def panels_for(*, request: HttpRequest, actor: Actor, membership: Membership | None) -> list[Panel]:
    if membership is None:
        # Public accounts without an organisation, and superusers without a membership.
        if request.user.is_superuser:
            return [_role_intro(Role.SYSTEM_ADMIN), *_admin_panels(None)]
        return [_role_intro(Role.PUBLIC_USER), *_public_panels(), _cogovernance_panel(None)]
    panels = [_role_intro(membership.role), *_BUILDERS[membership.role](membership)]
    list_panels = _LIST_PANELS.get(membership.role)
    if list_panels is not None:
        panels += list_panels(membership, actor)
    call_panels = _CALL_PANELS.get(membership.role)
    if call_panels is not None:
        panels += call_panels(membership, actor)
    _add_links(panels, membership)
    panels.append(_cogovernance_panel(membership))
    return panels
