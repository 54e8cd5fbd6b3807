"""Reads of the responsibility lists: the version in force, items, duties, diffs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from .models import (
    Admission,
    AdoptionStatus,
    AdoptionTask,
    Catalogue,
    DecisionStatus,
    GuidanceUpdate,
    Item,
    ItemOrigin,
    ItemParty,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    ScopeLevel,
    VersionStatus,
)

# The fields that make an item what it is; a diff compares these (and the parties).
ITEM_FIELDS = (
    "name",
    "name_en",
    "primary_level",
    "primary_duties",
    "cooperating_duties",
    "legal_basis",
    "keywords",
    "respond_limit",
    "complete_limit",
    "callable",
)


def in_force_at(at: datetime) -> Q:
    """The rule "in force at `at`" as a filter on ListVersion: published or superseded,
    and `at` within [valid_from, valid_to). Every reader of "the list in force" uses it."""
    return Q(status__in=(VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED), valid_from__lte=at) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=at)
    )


def version_in_force(*, catalogue: Catalogue, at: datetime | None = None) -> ListVersion | None:
    """The version of `catalogue` in force at `at` (default: now), or None."""
    return (
        ListVersion.objects.filter(in_force_at(at or timezone.now()), catalogue=catalogue)
        .order_by("-valid_from")
        .first()
    )


def county_catalogue(*, county: Region) -> Catalogue | None:
    return Catalogue.objects.filter(region=county, level=ScopeLevel.COUNTY).first()


def county_version_in_force(*, county: Region, at: datetime | None = None) -> ListVersion | None:
    """The version of the county's list (its one county catalogue) in force at `at`
    (default: now), with its catalogue, in one query."""
    return (
        ListVersion.objects.filter(
            in_force_at(at or timezone.now()),
            catalogue__region=county,
            catalogue__level=ScopeLevel.COUNTY,
        )
        .select_related("catalogue")
        .order_by("-valid_from")
        .first()
    )


def version_items(
    *,
    version: ListVersion,
    domain_code: str | None = None,
    search: str | None = None,
    organisation: Organisation | None = None,
) -> QuerySet[Item]:
    qs = Item.objects.filter(version=version).select_related("domain", "parent")
    if domain_code:
        qs = qs.filter(domain__code=domain_code)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(keywords__icontains=search)
            | Q(primary_duties__icontains=search)
            | Q(cooperating_duties__icontains=search)
            | Q(code__iexact=search)
        )
    if organisation is not None:
        qs = qs.filter(parties__organisation=organisation).distinct()
    return qs.prefetch_related(
        Prefetch("parties", queryset=ItemParty.objects.select_related("organisation"))
    ).order_by("domain__order", "order", "code")


def item_get(*, version: ListVersion, code: str) -> Item | None:
    return (
        Item.objects.filter(version=version, code=code)
        .select_related("domain", "parent", "version")
        .prefetch_related("parties__organisation", "steps")
        .first()
    )


@dataclass
class Duties:
    """An organisation's duties on a list: where it is primary, where it cooperates,
    and (for a township) the out-of-list tasks admitted for it (临时交办事项)."""

    primary: list[Item] = field(default_factory=list)
    cooperating: list[Item] = field(default_factory=list)
    admitted: list[Admission] = field(default_factory=list)


def admitted_tasks(*, organisation: Organisation, on: date | None = None) -> QuerySet[Admission]:
    """The approved admissions that hand `organisation` (a township, or a village by its
    township) an out-of-list task on day `on` (default today): temporary tasks, valid
    for their period. Pending and rejected admissions never reach a township."""
    on = on or timezone.localdate()
    if organisation.county_id is None:
        return Admission.objects.none()
    if organisation.kind == OrgKind.TOWNSHIP:
        township = Q(townships=organisation)
    elif organisation.kind == OrgKind.VILLAGE and organisation.township_id:
        township = Q(
            townships__kind=OrgKind.TOWNSHIP, townships__township_id=organisation.township_id
        )
    else:
        return Admission.objects.none()
    return (
        Admission.objects.filter(
            township,
            catalogue__region_id=organisation.county_id,
            status=DecisionStatus.APPROVED,
            starts_on__lte=on,
            ends_on__gte=on,
        )
        .select_related("department")
        .distinct()
        .order_by("ends_on", "pk")
    )


def duties_of(*, organisation: Organisation, at: datetime | None = None) -> Duties:
    """What the list in force gives `organisation` (a department, agency or township),
    and the admitted out-of-list tasks of a township at the same instant."""
    duties = Duties()
    if organisation.county is None:
        return duties
    if organisation.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE):
        on = timezone.localdate(at) if at else None
        duties.admitted = list(admitted_tasks(organisation=organisation, on=on))
    version = county_version_in_force(county=organisation.county, at=at)
    if version is None:
        return duties
    items = version_items(version=version)
    if organisation.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE):
        for item in items:
            target = (
                duties.primary
                if item.primary_level == PrimaryLevel.TOWNSHIP
                else duties.cooperating
            )
            target.append(item)
        return duties
    department_id = (
        organisation.parent_id if organisation.kind == OrgKind.STATIONED_AGENCY else organisation.pk
    )
    for item in items:
        roles = {p.role for p in item.parties.all() if p.organisation_id == department_id}
        if PartyRole.PRIMARY in roles:
            duties.primary.append(item)
        elif PartyRole.ASSISTING in roles:
            duties.cooperating.append(item)
    return duties


def primary_organisation_ids(item: Item) -> set[int]:
    return {
        p.organisation_id
        for p in item.parties.all()
        if p.role == PartyRole.PRIMARY and p.organisation_id is not None
    }


def assisting_organisation_ids(item: Item) -> set[int]:
    return {
        p.organisation_id
        for p in item.parties.all()
        if p.role == PartyRole.ASSISTING and p.organisation_id is not None
    }


# ---- diffs -------------------------------------------------------------------------


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ItemChange:
    code: str
    name: str
    changes: list[FieldChange]


@dataclass
class VersionDiff:
    old: ListVersion
    new: ListVersion
    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    modified: list[ItemChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.modified)


def _parties(item: Item) -> dict[str, str]:
    out: dict[str, list[str]] = {PartyRole.PRIMARY: [], PartyRole.ASSISTING: []}
    for p in item.parties.all():
        out[p.role].append(p.name)
    return {
        "primary_parties": "、".join(out[PartyRole.PRIMARY]),
        "assisting_parties": "、".join(out[PartyRole.ASSISTING]),
    }


def step_dicts(item: Item) -> list[dict[str, Any]]:
    """An item's procedure as plain values, in order (diffs and the API)."""
    return [
        {
            "order": s.order,
            "name": s.name,
            "party": s.party,
            "time_limit": s.time_limit,
            "handoff": s.handoff,
        }
        for s in sorted(item.steps.all(), key=lambda s: s.order)
    ]


def _procedure(item: Item) -> list[tuple[str, str, str, str]]:
    """What a procedure says, without its numbering (renumbering is no change)."""
    return [(s.name, s.party, s.time_limit, s.handoff) for s in item.steps.all()]


def version_diff(*, old: ListVersion, new: ListVersion) -> VersionDiff:
    """Items added, removed and changed (field by field, the procedure as one field
    `steps`) from `old` to `new`, by code."""
    steps = Prefetch("steps", queryset=ProcedureStep.objects.order_by("order"))
    old_items = {i.code: i for i in version_items(version=old).prefetch_related(steps)}
    new_items = {i.code: i for i in version_items(version=new).prefetch_related(steps)}
    diff = VersionDiff(old=old, new=new)
    diff.added = [i for code, i in new_items.items() if code not in old_items]
    diff.removed = [i for code, i in old_items.items() if code not in new_items]
    for code, new_item in new_items.items():
        old_item = old_items.get(code)
        if old_item is None:
            continue
        changes = [
            FieldChange(f, getattr(old_item, f), getattr(new_item, f))
            for f in ITEM_FIELDS
            if getattr(old_item, f) != getattr(new_item, f)
        ]
        if old_item.domain.code != new_item.domain.code:
            changes.append(FieldChange("domain", old_item.domain.name, new_item.domain.name))
        old_p, new_p = _parties(old_item), _parties(new_item)
        changes += [FieldChange(k, old_p[k], new_p[k]) for k in old_p if old_p[k] != new_p[k]]
        if _procedure(old_item) != _procedure(new_item):
            changes.append(FieldChange("steps", step_dicts(old_item), step_dicts(new_item)))
        if changes:
            diff.modified.append(ItemChange(code=code, name=new_item.name, changes=changes))
    return diff


@dataclass
class Derivation:
    """How a derived list departs from its guidance version."""

    version: ListVersion
    guidance: ListVersion | None
    inherited: list[Item] = field(default_factory=list)
    local: list[Item] = field(default_factory=list)
    split: list[Item] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)  # RemovedItem rows


def derivation_of(*, version: ListVersion) -> Derivation:
    report = Derivation(version=version, guidance=version.based_on)
    for item in version_items(version=version):
        {
            ItemOrigin.INHERITED: report.inherited,
            ItemOrigin.LOCAL: report.local,
            ItemOrigin.SPLIT: report.split,
        }.get(ItemOrigin(item.origin), report.inherited).append(item)
    report.removed = list(
        version.removed.select_related("guidance_item", "guidance_item__domain").order_by(
            "guidance_item__code"
        )
    )
    return report


def versions_of(*, catalogue: Catalogue) -> QuerySet[ListVersion]:
    return ListVersion.objects.filter(catalogue=catalogue).order_by("-number")


def _name_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


class DepartmentResolver:
    """The county's organisations a list may name, looked up by full or short name
    (清河县应急管理局 / 应急管理局); one query for the whole file."""

    def __init__(self, *, county: Region) -> None:
        self.county_name = county.name
        self.by_key: dict[str, list[Organisation]] = {}
        organisations = Organisation.objects.filter(
            county=county,
            is_active=True,
            kind__in=[OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY],
        ).only("id", "name", "short_name", "kind")
        for org in organisations:
            for key in {_name_key(org.name), _name_key(org.short_name)} - {""}:
                self.by_key.setdefault(key, []).append(org)

    def resolve(self, name: str, *, primary: bool) -> tuple[int | None, str | None, str]:
        """(organisation id, None, "") or (None, problem code, message)."""
        found: dict[int, Organisation] = {}
        for key in (_name_key(name), _name_key(self.county_name + name)):
            for org in self.by_key.get(key, ()):
                found[org.pk] = org
        departments = [o for o in found.values() if o.kind == OrgKind.DEPARTMENT]
        agencies = [o for o in found.values() if o.kind == OrgKind.STATIONED_AGENCY]
        candidates = departments or ([] if primary else agencies)
        if len(candidates) == 1:
            return candidates[0].pk, None, ""
        if len(candidates) > 1:
            return (
                None,
                "catalog.ambiguous_department",
                _("“%(name)s” matches several organisations of %(county)s; write its full name.")
                % {"name": name, "county": self.county_name},
            )
        if agencies:
            return (
                None,
                "catalog.bad_party",
                _(
                    "“%(name)s” is a stationed agency; the primary party must be a county "
                    "department."
                )
                % {"name": name},
            )
        return (
            None,
            "catalog.unknown_department",
            _("“%(name)s” is not an active department of %(county)s.")
            % {"name": name, "county": self.county_name},
        )


# ---- guidance adoption ------------------------------------------------------------------


def adoption_tasks(*, catalogue: Catalogue, status: str | None = None) -> QuerySet[AdoptionTask]:
    """The adoption tasks of a derived list (docs/catalog.md, "Guidance versions and
    adoption"), newest guidance version first, then by kind and item code."""
    qs = AdoptionTask.objects.filter(catalogue=catalogue).select_related(
        "update__old", "update__new", "decided_by", "result_version", "change_request"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-update__new__valid_from", "-update__new__number", "kind", "item_code")


@dataclass
class AdoptionProgress:
    """How far a derived list has taken over the changes of its guidance catalogue."""

    catalogue: Catalogue
    open: int = 0
    adopted: int = 0
    declined: int = 0
    # The guidance version in force now, and the one the list in force derives from.
    guidance: ListVersion | None = None
    based_on: ListVersion | None = None
    # The newest guidance version whose changes reached the list as tasks.
    latest_update: ListVersion | None = None

    @property
    def county(self) -> Region:
        return self.catalogue.region

    @property
    def total(self) -> int:
        return self.open + self.adopted + self.declined

    @property
    def decided(self) -> int:
        return self.adopted + self.declined

    @property
    def percent_decided(self) -> int:
        """Decided changes in per cent of all (100 when there were none)."""
        return 100 if not self.total else int(self.decided * 100 / self.total)

    @property
    def up_to_date(self) -> bool:
        """Every change of every guidance version since the list's own was decided."""
        return self.open == 0 and (
            self.guidance is None
            or self.based_on is None
            or self.guidance.pk == self.based_on.pk
            or (self.latest_update is not None and self.latest_update.pk == self.guidance.pk)
        )


def with_adoption_counts(qs: QuerySet[Catalogue]) -> QuerySet[Catalogue]:
    """`qs` annotated with `adoption_open`, `adoption_adopted` and `adoption_declined`
    (the list's adoption tasks by status), in the same query."""
    return qs.annotate(
        **{
            f"adoption_{status}": Count(
                "adoption_tasks", filter=Q(adoption_tasks__status=status), distinct=True
            )
            for status in AdoptionStatus.values
        }
    )


def adoption_counts(catalogue: Catalogue) -> AdoptionProgress:
    """The progress of a catalogue annotated by `with_adoption_counts` (counts only)."""
    return AdoptionProgress(
        catalogue=catalogue,
        open=getattr(catalogue, "adoption_open", 0),
        adopted=getattr(catalogue, "adoption_adopted", 0),
        declined=getattr(catalogue, "adoption_declined", 0),
    )


def guidance_adoption_statuses(
    *, catalogues: Any = None, within: Region | None = None, at: datetime | None = None
) -> list[AdoptionProgress]:
    """Adoption progress of derived lists, in the order of their region codes: of
    `catalogues` (a queryset or list; e.g. those an actor may see), else of every county
    list, limited to the counties under `within` (a province or city) when given. A few
    queries whatever the number of lists; reusable by oversight reports."""
    if catalogues is None:
        catalogues = Catalogue.objects.filter(level=ScopeLevel.COUNTY)
    if isinstance(catalogues, QuerySet):
        qs = catalogues
    else:
        qs = Catalogue.objects.filter(pk__in=[c.pk for c in catalogues])
    if within is not None:
        qs = qs.filter(region__path__startswith=within.path)
    rows = list(qs.select_related("region").order_by("region__code", "pk"))
    ids = [c.pk for c in rows]
    counts: dict[int, dict[str, int]] = {}
    for row in (
        AdoptionTask.objects.filter(catalogue_id__in=ids)
        .values("catalogue_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault(row["catalogue_id"], {})[row["status"]] = row["n"]
    at = at or timezone.now()
    in_force: dict[int, ListVersion] = {}
    for v in (
        ListVersion.objects.filter(in_force_at(at), catalogue_id__in=ids)
        .select_related("based_on")
        .order_by("catalogue_id", "-valid_from")
    ):
        in_force.setdefault(v.catalogue_id, v)
    guidance_ids = {v.based_on.catalogue_id for v in in_force.values() if v.based_on}
    guidance_ids |= {c.guidance_id for c in rows if c.guidance_id}
    guidance: dict[int, ListVersion] = {}
    for v in ListVersion.objects.filter(in_force_at(at), catalogue_id__in=guidance_ids).order_by(
        "catalogue_id", "-valid_from"
    ):
        guidance.setdefault(v.catalogue_id, v)
    latest: dict[int, ListVersion] = {}
    for update in (
        GuidanceUpdate.objects.filter(catalogue_id__in=ids)
        .select_related("new")
        .order_by("catalogue_id", "-new__valid_from", "-new__number")
    ):
        latest.setdefault(update.catalogue_id, update.new)
    out = []
    for catalogue in rows:
        version = in_force.get(catalogue.pk)
        based_on = version.based_on if version else None
        guidance_catalogue = based_on.catalogue_id if based_on else catalogue.guidance_id
        n = counts.get(catalogue.pk, {})
        out.append(
            AdoptionProgress(
                catalogue=catalogue,
                open=n.get(AdoptionStatus.OPEN, 0),
                adopted=n.get(AdoptionStatus.ADOPTED, 0),
                declined=n.get(AdoptionStatus.DECLINED, 0),
                guidance=guidance.get(guidance_catalogue) if guidance_catalogue else None,
                based_on=based_on,
                latest_update=latest.get(catalogue.pk),
            )
        )
    return out


def guidance_adoption_status(
    *, county: Region, at: datetime | None = None
) -> AdoptionProgress | None:
    """Adoption progress of `county`'s list (None when the county keeps no list): how
    many changes of new guidance versions are open, adopted and declined."""
    catalogue = county_catalogue(county=county)
    if catalogue is None:
        return None
    return guidance_adoption_statuses(catalogues=[catalogue], at=at)[0]
