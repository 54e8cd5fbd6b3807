"""Pages of the responsibility lists (清单), mounted at /catalog/.

Public (no login): the list in force of a county with search and domain filter, an item
with its procedure drawn as a flow, the versions of a list, the diff between two
versions and what a county list changes from its guidance version. Logged in: the
编办's workbench (change requests and admissions to decide), filing a change request or
an admission, one's own requests, and the duties the list gives one's organisation.

Views are thin: they read through `selectors` and `xianghu.core.access`, write through
`services`, and put a service's `DomainError` back on the form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.regions.current import current_membership
from xianghu.regions.models import Membership, Organisation
from xianghu.regions.roles import OrgKind
from xianghu.regions.selectors import townships_of_county

from . import selectors, services
from .access import adoption_catalogues
from .forms import (
    AdmissionForm,
    ChangeChoiceForm,
    ChangeRequestForm,
    DecisionForm,
    item_values,
)
from .limits import limit_label
from .models import (
    Admission,
    Catalogue,
    ChangeKind,
    ChangeRequest,
    DecisionStatus,
    Domain,
    Item,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    ScopeLevel,
    StepParty,
)
from .specs import PROPOSAL_FIELDS

# Field labels of diffs and proposals (old → new, current → proposed).
FIELD_LABELS: dict[str, Any] = {
    "code": gettext_lazy("Item code"),
    "domain": gettext_lazy("Domain"),
    "domain_code": gettext_lazy("Domain"),
    "name": gettext_lazy("Item name"),
    "name_en": gettext_lazy("English name"),
    "primary_level": gettext_lazy("Primary level"),
    "primary_parties": gettext_lazy("Primary departments"),
    "primary_departments": gettext_lazy("Primary departments"),
    "assisting_parties": gettext_lazy("Assisting departments"),
    "assisting_departments": gettext_lazy("Assisting departments"),
    "primary_duties": gettext_lazy("Primary duties"),
    "cooperating_duties": gettext_lazy("Cooperating duties"),
    "legal_basis": gettext_lazy("Legal basis"),
    "keywords": gettext_lazy("Keywords"),
    "respond_limit": gettext_lazy("Respond within"),
    "complete_limit": gettext_lazy("Complete within"),
    "callable": gettext_lazy("Callable"),
    "steps": gettext_lazy("Procedure"),
}

# The proposal as the pages show it (the domain's name goes with its code).
PROPOSAL_ORDER = tuple(f for f in PROPOSAL_FIELDS if f != "domain_name")


# ---- small helpers (what the selectors do not offer) ---------------------------------


def _current_membership(request: XhRequest) -> Membership | None:
    """The membership the user works as (the workbench's role switcher); None for
    anonymous visitors."""
    if not request.user.is_authenticated:
        return None
    return current_membership(request)


def _lists_in_force(actor: Actor) -> list[ListVersion]:
    """The version in force of every county list the actor may read, one per list, in
    the order of the county codes (one query)."""
    qs = (
        ListVersion.objects.filter(
            selectors.in_force_at(timezone.now()), catalogue__level=ScopeLevel.COUNTY
        )
        .select_related("catalogue", "catalogue__region")
        .order_by("catalogue__region__code", "-valid_from")
    )
    seen: set[int] = set()
    out = []
    for version in access.visible(actor, qs):
        if version.catalogue_id not in seen:
            seen.add(version.catalogue_id)
            out.append(version)
    return out


def _may_file(actor: Actor, organisation: Organisation | None) -> bool:
    if organisation is None:
        return False
    try:
        services._filing_grant(actor, organisation)
    except PermissionDenied:
        return False
    return True


def _filer(request: XhRequest) -> Organisation:
    """The organisation the user files for; 403 unless services would accept it."""
    membership = _current_membership(request)
    if membership is None:
        raise PermissionDenied()
    services._filing_grant(request.actor, membership.organisation)
    return membership.organisation


def _names(item: Item, role: str) -> str:
    return "、".join(p.name for p in item.parties.all() if p.role == role)


def primary_label(item: Item) -> str:
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        return str(OrgKind.TOWNSHIP.label)
    return _names(item, PartyRole.PRIMARY) or "—"


def _step_line(number: int, step: Any) -> str:
    """One step of a procedure as a line: 2. 平台受理并派单（县级平台，4小时）→ 派单至…"""
    if not isinstance(step, dict):
        return f"{number}. {step}"
    party = step.get("party", "")
    party = str(StepParty(party).label) if party in StepParty.values else str(party)
    limit = limit_label(str(step.get("time_limit") or ""))
    line = f"{number}. {step.get('name', '')}（{party}{'，' + limit if limit else ''}）"
    if step.get("handoff"):
        line += f" → {step['handoff']}"
    return line


def _display(field: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "steps" and isinstance(value, list):
        return "\n".join(_step_line(n, s) for n, s in enumerate(value, start=1))
    if field in ("respond_limit", "complete_limit"):
        return limit_label(str(value))
    if field == "primary_level":
        return str(PrimaryLevel(value).label) if value in PrimaryLevel.values else str(value)
    if field == "callable":
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


@dataclass
class ItemRow:
    item: Item
    primary: str
    assisting: str
    respond: str
    complete: str


def _row(item: Item) -> ItemRow:
    return ItemRow(
        item=item,
        primary=primary_label(item),
        assisting=_names(item, PartyRole.ASSISTING),
        respond=limit_label(item.respond_limit),
        complete=limit_label(item.complete_limit),
    )


@dataclass
class StepRow:
    step: ProcedureStep
    party: str
    who: str
    limit: str


def _step_rows(item: Item) -> list[StepRow]:
    township = str(OrgKind.TOWNSHIP.label)
    who = {
        StepParty.TOWNSHIP: township,
        StepParty.PLATFORM: str(OrgKind.PLATFORM_CENTRE.label),
        StepParty.PRIMARY: primary_label(item),
        StepParty.ASSISTING: _names(item, PartyRole.ASSISTING),
    }
    return [
        StepRow(
            step=s,
            party=s.get_party_display(),
            who=who.get(StepParty(s.party), "") if s.party in StepParty.values else "",
            limit=limit_label(s.time_limit),
        )
        for s in item.steps.all()
    ]


@dataclass
class FieldRow:
    field: str
    label: str
    old: str
    new: str
    changed: bool = True


# ---- the public list -----------------------------------------------------------------


def public_list(request: XhRequest) -> HttpResponse:
    """The list in force of a county: domain tabs, live search, one row per item."""
    actor = request.actor
    in_force = _lists_in_force(actor)
    wanted = request.GET.get("county", "")
    version = next((v for v in in_force if v.catalogue.region.code == wanted), None)
    if version is None and in_force:
        membership = _current_membership(request)
        county_id = membership.organisation.county_id if membership else None
        version = next((v for v in in_force if v.catalogue.region_id == county_id), in_force[0])
    context: dict[str, Any] = {"lists": in_force, "version": version}
    if version is not None:
        domains = list(
            Domain.objects.filter(version=version)
            .annotate(n=Count("items"))
            .order_by("order", "code")
        )
        domain = request.GET.get("domain", "")
        if domain not in {d.code for d in domains}:
            domain = ""
        search = (request.GET.get("q") or "").strip()[:50]
        rows = [
            _row(i)
            for i in selectors.version_items(
                version=version, domain_code=domain or None, search=search or None
            )
        ]
        context.update(
            domains=domains,
            domain=domain,
            q=search,
            rows=rows,
            total=sum(d.n for d in domains),
            county=version.catalogue.region.code,
            derived=version.based_on_id is not None,
        )
    partial = request.htmx and request.htmx.target == "item-rows"
    template = "catalog/_item_rows.html" if partial else "catalog/public_list.html"
    return render(request, template, context)


def version_detail(request: XhRequest, pk: int) -> HttpResponse:
    """Every item of one version (a past version, or a draft for its 编办)."""
    version = access.get_visible(
        request.actor, ListVersion.objects.select_related("catalogue", "based_on"), pk=pk
    )
    rows = [_row(i) for i in selectors.version_items(version=version)]
    in_force = selectors.version_in_force(catalogue=version.catalogue)
    return render(
        request,
        "catalog/version_detail.html",
        {
            "version": version,
            "rows": rows,
            "in_force": in_force,
            "derived": version.based_on_id is not None,
        },
    )


def item_detail(request: XhRequest, pk: int, code: str) -> HttpResponse:
    """One item: duties, parties, basis, limits and its procedure as a flow."""
    version = access.get_visible(
        request.actor,
        ListVersion.objects.select_related("catalogue", "catalogue__region"),
        pk=pk,
    )
    item = selectors.item_get(version=version, code=code)
    if item is None:
        raise NotFound()
    in_force = selectors.version_in_force(catalogue=version.catalogue)
    township_primary = item.primary_level == PrimaryLevel.TOWNSHIP
    assisting = _names(item, PartyRole.ASSISTING)
    return render(
        request,
        "catalog/item_detail.html",
        {
            "version": version,
            "item": item,
            "row": _row(item),
            "steps": _step_rows(item),
            "in_force": in_force,
            "township": str(OrgKind.TOWNSHIP.label),
            # Who holds the primary duty and who the cooperating one.
            "primary_holder": primary_label(item),
            "cooperating_holder": (assisting or "—")
            if township_primary
            else str(OrgKind.TOWNSHIP.label),
            "township_primary": township_primary,
            "keywords": item.keyword_list(),
        },
    )


# ---- versions, diffs, derivation -------------------------------------------------------


def version_list(request: XhRequest, pk: int) -> HttpResponse:
    """The versions of a list (drafts only for its 编办) and a form to compare two."""
    actor = request.actor
    catalogue = access.get_visible(
        actor, Catalogue.objects.select_related("region", "guidance"), pk=pk
    )
    versions = list(
        access.visible(
            actor,
            selectors.versions_of(catalogue=catalogue)
            .select_related("based_on")
            .annotate(n=Count("items")),
        ).order_by("-number")
    )
    in_force = selectors.version_in_force(catalogue=catalogue)
    by_id = {v.pk: v for v in versions}
    rows = []
    for v in versions:
        previous = by_id.get(v.previous_id) if v.previous_id else None
        if previous is None:
            previous = next((p for p in versions if p.number < v.number), None)
        rows.append({"version": v, "previous": previous, "in_force": v == in_force})
    # Where the user follows the adoption of guidance changes, if anywhere.
    followed = adoption_catalogues(actor)
    adoption_url = ""
    if catalogue.level == ScopeLevel.COUNTY:
        if followed.filter(pk=catalogue.pk).exists():
            adoption_url = reverse("catalog:adoption", args=[catalogue.pk])
    elif followed.exists():
        adoption_url = reverse("catalog:adoption_overview")
    default_new = in_force or (versions[0] if versions else None)
    default_old = next((r["previous"] for r in rows if r["version"] == default_new), None)
    return render(
        request,
        "catalog/version_list.html",
        {
            "catalogue": catalogue,
            "can_manage": access.can(actor, "manage", catalogue),
            "adoption_url": adoption_url,
            "rows": rows,
            "versions": versions,
            "in_force": in_force,
            "default_old": default_old,
            "default_new": default_new,
        },
    )


def _visible_version(actor: Actor, value: str | None) -> ListVersion:
    return access.get_visible(
        actor, ListVersion.objects.select_related("catalogue"), pk=value or None
    )


def version_diff(request: XhRequest) -> HttpResponse:
    """What changed from one version to another: added, removed, modified field by field."""
    actor = request.actor
    old = _visible_version(actor, request.GET.get("old"))
    new = _visible_version(actor, request.GET.get("new"))
    diff = selectors.version_diff(old=old, new=new)
    modified = [
        {
            "code": change.code,
            "name": change.name,
            "fields": [
                FieldRow(
                    field=c.field,
                    label=str(FIELD_LABELS.get(c.field, c.field)),
                    old=_display(c.field, c.old),
                    new=_display(c.field, c.new),
                )
                for c in change.changes
            ],
        }
        for change in diff.modified
    ]
    return render(
        request,
        "catalog/version_diff.html",
        {
            "old": old,
            "new": new,
            "diff": diff,
            "added": [_row(i) for i in diff.added],
            "removed": [_row(i) for i in diff.removed],
            "modified": modified,
        },
    )


def derivation(request: XhRequest, pk: int) -> HttpResponse:
    """What a county list inherits, splits, adds and removes from its guidance version."""
    version = access.get_visible(
        request.actor,
        ListVersion.objects.select_related("catalogue", "based_on", "based_on__catalogue"),
        pk=pk,
    )
    report = selectors.derivation_of(version=version)
    return render(
        request,
        "catalog/derivation.html",
        {
            "version": version,
            "report": report,
            "inherited": [_row(i) for i in report.inherited],
            "local": [_row(i) for i in report.local],
            "split": [_row(i) for i in report.split],
        },
    )


# ---- the 编办's workbench -------------------------------------------------------------


@login_required
def review(request: XhRequest) -> HttpResponse:
    """Change requests and admissions of the lists the user decides on."""
    actor = request.actor
    catalogues = list(
        access.visible(
            actor,
            selectors.with_adoption_counts(
                Catalogue.objects.filter(level=ScopeLevel.COUNTY).select_related("region")
            ),
            "decide",
        )
    )
    if not catalogues:
        raise PermissionDenied()
    changes = access.visible(
        actor,
        ChangeRequest.objects.filter(catalogue__in=catalogues).select_related(
            "filed_by_org", "filed_by", "result_version"
        ),
        "decide",
    )
    admissions = access.visible(
        actor,
        Admission.objects.filter(catalogue__in=catalogues)
        .select_related("department", "filed_by")
        .annotate(n_townships=Count("townships", distinct=True)),
        "decide",
    )
    pending = DecisionStatus.PENDING
    return render(
        request,
        "catalog/review.html",
        {
            "catalogues": catalogues,
            "pending_changes": list(changes.filter(status=pending).order_by("filed_at")),
            "decided_changes": list(changes.exclude(status=pending).order_by("-decided_at")[:30]),
            "pending_admissions": list(admissions.filter(status=pending).order_by("filed_at")),
            "decided_admissions": list(
                admissions.exclude(status=pending).order_by("-decided_at")[:30]
            ),
            # Changes of new guidance versions to adopt or decline (views_adoption).
            "adoption": [selectors.adoption_counts(c) for c in catalogues],
        },
    )


def _proposal_rows(change: ChangeRequest) -> tuple[list[FieldRow], Item | None]:
    """The proposed item as field rows; for a modification, current → proposed."""
    current_item = (
        selectors.item_get(version=change.base_version, code=change.item_code)
        if change.kind != ChangeKind.ADD
        else None
    )
    proposal = dict(change.proposal or {})
    if "domain_code" in proposal or "domain_name" in proposal:
        proposal["domain_code"] = " ".join(
            str(proposal.get(k, "")) for k in ("domain_code", "domain_name")
        ).strip()
    current: dict[str, Any] = {}
    if current_item is not None:
        current = item_values(current_item)
        current["domain_code"] = f"{current['domain_code']} {current['domain_name']}"
        current["steps"] = selectors.step_dicts(current_item)
    rows = []
    for key in PROPOSAL_ORDER:
        if key not in proposal:
            continue
        rows.append(
            FieldRow(
                field=key,
                label=str(FIELD_LABELS.get(key, key)),
                old=_display(key, current.get(key)) if current_item is not None else "",
                new=_display(key, proposal[key]),
            )
        )
    return rows, current_item


def _decision(
    request: XhRequest, can_decide: bool, decide: Callable[[bool, str], Any]
) -> tuple[DecisionForm, int, Any]:
    """Handle the 编办's approve/reject form: (form, status, the decided object or None)."""
    if request.method != "POST":
        return DecisionForm(), 200, None
    if not can_decide:
        raise PermissionDenied()
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return form, 200, None
    try:
        return form, 200, decide(form.approve, form.cleaned_data["opinion"])
    except DomainError as exc:
        form.add_domain_error(exc)
        return form, 409 if isinstance(exc, Conflict) else 200, None


@login_required
@require_http_methods(["GET", "POST"])
def change_request_detail(request: XhRequest, pk: int) -> HttpResponse:
    """A change request: what it proposes, why, and (for the 编办) the decision form."""
    actor = request.actor
    change = access.get_visible(
        actor,
        ChangeRequest.objects.select_related(
            "catalogue",
            "base_version",
            "result_version",
            "filed_by",
            "filed_by_org",
            "decided_by",
        ),
        pk=pk,
    )
    can_decide = access.can(actor, "decide", change)
    form, status, decided = _decision(
        request,
        can_decide,
        lambda approve, opinion: services.change_request_decide(
            actor=actor, request=change, approve=approve, opinion=opinion
        ),
    )
    if decided is not None:
        messages.success(
            request,
            _("The change request has been approved; a new version is in force.")
            if decided.status == DecisionStatus.APPROVED
            else _("The change request has been rejected."),
        )
        return redirect("catalog:change_request_detail", pk=change.pk)
    rows, current_item = _proposal_rows(change)
    return render(
        request,
        "catalog/change_request_detail.html",
        {
            "change": change,
            "rows": rows,
            "current_item": current_item,
            "form": form,
            "reviewer": can_decide,
            "can_decide": can_decide and change.status == DecisionStatus.PENDING,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def admission_detail(request: XhRequest, pk: int) -> HttpResponse:
    """An admission request (准入) and, for the 编办, the decision form."""
    actor = request.actor
    admission = access.get_visible(
        actor,
        Admission.objects.select_related("catalogue", "department", "filed_by", "decided_by"),
        pk=pk,
    )
    can_decide = access.can(actor, "decide", admission)
    form, status, decided = _decision(
        request,
        can_decide,
        lambda approve, opinion: services.admission_decide(
            actor=actor, admission=admission, approve=approve, opinion=opinion
        ),
    )
    if decided is not None:
        messages.success(
            request,
            _("The admission has been approved.")
            if decided.status == DecisionStatus.APPROVED
            else _("The admission has been rejected."),
        )
        return redirect("catalog:admission_detail", pk=admission.pk)
    return render(
        request,
        "catalog/admission_detail.html",
        {
            "admission": admission,
            "townships": admission.townships.select_related("region").order_by("region__code"),
            "form": form,
            "reviewer": can_decide,
            "can_decide": can_decide and admission.status == DecisionStatus.PENDING,
        },
        status=status,
    )


# ---- filing ------------------------------------------------------------------------------


def _no_list(request: XhRequest, organisation: Organisation) -> HttpResponse:
    return render(request, "catalog/no_list.html", {"organisation": organisation})


@login_required
@require_http_methods(["GET", "POST"])
def change_request_new(request: XhRequest) -> HttpResponse:
    """File a change request: first the kind and the item, then the proposal."""
    actor = request.actor
    organisation = _filer(request)
    county = organisation.county
    version = selectors.county_version_in_force(county=county) if county else None
    if version is None or county is None:
        return _no_list(request, organisation)
    items = list(selectors.version_items(version=version))
    data = request.POST if request.method == "POST" else request.GET
    choice = ChangeChoiceForm(data if "kind" in data else None, items=items)
    form = None
    if choice.is_bound and choice.is_valid():
        kind = choice.cleaned_data["kind"]
        code = choice.cleaned_data["item"] if kind != ChangeKind.ADD else ""
        current = None
        if code:
            item = next(i for i in items if i.code == code)
            short = {
                p.name: (p.organisation.short_name or p.organisation.name)
                for p in item.parties.all()
                if p.organisation is not None
            }
            current = item_values(item, short)
        departments = list(
            access.visible(
                actor,
                Organisation.objects.filter(
                    county=county, kind=OrgKind.DEPARTMENT, is_active=True
                ).order_by("name"),
            )
        )
        form = ChangeRequestForm(
            request.POST if request.method == "POST" else None,
            kind=kind,
            domains=list(version.domains.all()),
            departments=departments,
            current=current,
        )
        if request.method == "GET":
            # A draft prefilled by a link (e.g. routing's list-gap page): the proposed
            # name and keywords of a new item, and the reason.
            prefill = {"reason": request.GET.get("reason", "")[:2000]}
            if kind == ChangeKind.ADD:
                prefill["name"] = request.GET.get("name", "")[:200]
                prefill["keywords"] = request.GET.get("keywords", "")[:500]
            form.initial.update({k: v for k, v in prefill.items() if v.strip()})
        if request.method == "POST" and form.is_valid():
            proposal = form.proposal()
            if kind == ChangeKind.MODIFY and not proposal:
                form.add_error(None, _("Nothing would change: edit at least one field."))
            else:
                try:
                    change = services.change_request_file(
                        actor=actor,
                        organisation=organisation,
                        version=version,
                        kind=kind,
                        item_code=code,
                        proposal=proposal,
                        reason=form.cleaned_data["reason"],
                        legal_basis=form.cleaned_data["legal_basis"],
                    )
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    messages.success(
                        request, _("The change request has been sent to the establishment office.")
                    )
                    return redirect("catalog:change_request_detail", pk=change.pk)
    return render(
        request,
        "catalog/change_request_new.html",
        {
            "organisation": organisation,
            "version": version,
            "choice": choice,
            "form": form,
            "kind": choice.cleaned_data.get("kind") if form is not None else "",
            "item_code": choice.cleaned_data.get("item") if form is not None else "",
            "kinds": ChangeKind,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def admission_new(request: XhRequest) -> HttpResponse:
    """A county department asks to hand townships a task that is not on the list."""
    actor = request.actor
    organisation = _filer(request)
    if organisation.kind != OrgKind.DEPARTMENT or organisation.county is None:
        raise PermissionDenied()
    catalogue = selectors.county_catalogue(county=organisation.county)
    if catalogue is None:
        return _no_list(request, organisation)
    townships = access.visible(
        actor,
        townships_of_county(county=organisation.county)
        .select_related("region")
        .order_by("region__code"),
    )
    form = AdmissionForm(request.POST if request.method == "POST" else None, townships=townships)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            admission = services.admission_file(
                actor=actor,
                department=organisation,
                title=data["title"],
                content=data["content"],
                basis=data["basis"],
                resources=data["resources"],
                townships=list(data["townships"]),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, _("The admission request has been sent to the establishment office.")
            )
            return redirect("catalog:admission_detail", pk=admission.pk)
    return render(
        request, "catalog/admission_new.html", {"organisation": organisation, "form": form}
    )


@login_required
def my_requests(request: XhRequest) -> HttpResponse:
    """The change requests and admissions filed by the user's organisation."""
    actor = request.actor
    membership = _current_membership(request)
    organisation = membership.organisation if membership else None
    changes: QuerySet[ChangeRequest] | list[ChangeRequest] = []
    admissions: QuerySet[Admission] | list[Admission] = []
    if organisation is not None:
        changes = access.visible(
            actor,
            ChangeRequest.objects.filter(filed_by_org=organisation)
            .select_related("filed_by", "result_version")
            .order_by("-filed_at"),
        )
        admissions = access.visible(
            actor,
            Admission.objects.filter(department=organisation)
            .select_related("filed_by")
            .order_by("-filed_at"),
        )
    return render(
        request,
        "catalog/my_requests.html",
        {
            "organisation": organisation,
            "changes": changes,
            "admissions": admissions,
            "may_file": _may_file(actor, organisation),
            "may_admit": organisation is not None
            and organisation.kind == OrgKind.DEPARTMENT
            and _may_file(actor, organisation),
        },
    )


@login_required
def duties(request: XhRequest) -> HttpResponse:
    """What the list in force gives the user's organisation: primary and cooperating
    items, and for a township its admitted out-of-list tasks with their period."""
    membership = _current_membership(request)
    organisation = membership.organisation if membership else None
    result = selectors.duties_of(organisation=organisation) if organisation else None
    return render(
        request,
        "catalog/duties.html",
        {
            "organisation": organisation,
            "primary": [_row(i) for i in result.primary] if result else [],
            "cooperating": [_row(i) for i in result.cooperating] if result else [],
            "admitted": result.admitted if result else [],
            "is_township": organisation is not None
            and organisation.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE),
        },
    )
