"""Writes of the responsibility lists: versions, derivation, publication, change
requests and admissions. A published version is never edited; every change makes a new
version (docs/catalog.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, Role

from . import selectors
from .access import guidance_keeper_regions
from .limits import parse_limit
from .models import (
    Admission,
    Catalogue,
    ChangeKind,
    ChangeRequest,
    DecisionStatus,
    Domain,
    Item,
    ItemOrigin,
    ItemParty,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    RemovedItem,
    ScopeLevel,
    StepParty,
    VersionStatus,
)
from .specs import PROPOSAL_FIELDS, STEP_FIELDS, ItemSpec, PartySpec, StepSpec


def catalogue_get_or_create(
    *, level: str, region: Region, name: str, guidance: Catalogue | None = None
) -> Catalogue:
    catalogue, _created = Catalogue.objects.get_or_create(
        region=region, level=level, defaults={"name": name, "guidance": guidance}
    )
    return catalogue


# ---- building versions ---------------------------------------------------------------


def _next_number(catalogue: Catalogue) -> int:
    last = ListVersion.objects.filter(catalogue=catalogue).order_by("-number").first()
    return (last.number + 1) if last else 1


def _save_item(
    *,
    version: ListVersion,
    domains: dict[str, Domain],
    spec: ItemSpec,
    order: int,
    origin: str,
    parent: Item | None = None,
) -> Item:
    domain = domains.get(spec.domain_code)
    if domain is None:
        domain = Domain.objects.create(
            version=version, code=spec.domain_code, name=spec.domain_name, order=len(domains) + 1
        )
        domains[spec.domain_code] = domain
    item = Item.objects.create(
        version=version,
        domain=domain,
        code=spec.code,
        order=order,
        name=spec.name,
        name_en=spec.name_en,
        primary_level=spec.primary_level,
        primary_duties=spec.primary_duties,
        cooperating_duties=spec.cooperating_duties,
        legal_basis=spec.legal_basis,
        keywords=spec.keywords,
        respond_limit=str(parse_limit(spec.respond_limit)),
        complete_limit=str(parse_limit(spec.complete_limit)),
        callable=spec.callable,
        source=spec.source,
        origin=origin,
        parent=parent,
    )
    ItemParty.objects.bulk_create(
        [
            ItemParty(item=item, role=role, name=p.name, organisation_id=p.organisation_id, order=n)
            for role, parties in (
                (PartyRole.PRIMARY, spec.primary),
                (PartyRole.ASSISTING, spec.assisting),
            )
            for n, p in enumerate(parties)
        ]
    )
    ProcedureStep.objects.bulk_create(
        [
            ProcedureStep(
                item=item,
                order=n,
                name=s.name,
                party=s.party,
                time_limit=s.time_limit,
                handoff=s.handoff,
            )
            for n, s in enumerate(spec.steps, start=1)
        ]
    )
    return item


def steps_of(item: Item) -> tuple[StepSpec, ...]:
    """An item's procedure as specs, in order."""
    return tuple(
        StepSpec(s.name, s.party, s.time_limit, s.handoff)
        for s in sorted(item.steps.all(), key=lambda s: s.order)
    )


# Which of an item's limits bind a step, by the step's party: for a county item the
# departments' steps answer to the response and completion limits; for a township item
# the township (its primary party) completes and the assisting departments respond. The
# platform's and the township's own steps on a county item (dispatch, evaluation) have
# limits of their own.
_BOUND_LIMITS: dict[str, dict[str, tuple[str, ...]]] = {
    PrimaryLevel.COUNTY.value: {
        StepParty.PRIMARY.value: ("respond", "complete"),
        StepParty.ASSISTING.value: ("respond", "complete"),
    },
    PrimaryLevel.TOWNSHIP.value: {
        StepParty.TOWNSHIP.value: ("complete",),
        StepParty.PRIMARY.value: ("complete",),
        StepParty.ASSISTING.value: ("respond",),
    },
}


def steps_following_limits(
    steps: Sequence[StepSpec],
    *,
    level: str,
    old: tuple[str, str],
    new: tuple[str, str],
    previous: Sequence[StepSpec] | None = None,
) -> tuple[StepSpec, ...]:
    """The steps after an item's (response, completion) limits changed from `old` to
    `new`: a step whose time limit was the old limit it answers to (by its party, see
    `_BOUND_LIMITS`, for an item of primary level `level`) takes the new limit, so that
    the procedure never contradicts its item. With `previous` (the item's steps in the
    version in force) only steps found there unchanged follow: a step edited together
    with the limits keeps what it was given.

    When the old limits were equal, a department's first step with that limit is taken
    for the response and its later ones for the completion.
    """
    limits = {"respond": (old[0], new[0]), "complete": (old[1], new[1])}
    if all(o == n for o, n in limits.values()):
        return tuple(steps)
    unchanged = set(previous) if previous is not None else None
    bound = _BOUND_LIMITS.get(level, {})
    responded = False
    out = []
    for step in steps:
        kinds = [k for k in bound.get(step.party, ()) if limits[k][0] == step.time_limit]
        if step.time_limit and kinds and (unchanged is None or step in unchanged):
            kind = kinds[0]
            if len(kinds) > 1:
                kind = "complete" if responded else "respond"
                responded = True
            step = replace(step, time_limit=limits[kind][1])
        out.append(step)
    return tuple(out)


def spec_of(item: Item) -> ItemSpec:
    """The plain description of a saved item (to copy it into another version)."""
    parties = list(item.parties.all())
    return ItemSpec(
        code=item.code,
        domain_code=item.domain.code,
        domain_name=item.domain.name,
        name=item.name,
        name_en=item.name_en,
        primary_level=item.primary_level,
        primary_duties=item.primary_duties,
        cooperating_duties=item.cooperating_duties,
        legal_basis=item.legal_basis,
        keywords=item.keywords,
        respond_limit=item.respond_limit,
        complete_limit=item.complete_limit,
        callable=item.callable,
        source=item.source,
        primary=tuple(
            PartySpec(p.name, p.organisation_id) for p in parties if p.role == PartyRole.PRIMARY
        ),
        assisting=tuple(
            PartySpec(p.name, p.organisation_id) for p in parties if p.role == PartyRole.ASSISTING
        ),
        steps=steps_of(item),
    )


def _check_unique_codes(specs: Sequence[ItemSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.code in seen:
            raise InvalidInput(
                _("The item code %(code)s appears twice.") % {"code": spec.code},
                code="catalog.duplicate_code",
            )
        seen.add(spec.code)


@transaction.atomic
def version_create_draft(
    *,
    catalogue: Catalogue,
    specs: Sequence[ItemSpec],
    title: str,
    actor: Actor | None = None,
    note: str = "",
    origin: str = ItemOrigin.GUIDANCE,
) -> ListVersion:
    """A new draft version holding exactly `specs` (an import, or a fresh list)."""
    _require_list_keeper(actor, catalogue)
    _check_unique_codes(specs)
    version = ListVersion.objects.create(
        catalogue=catalogue,
        number=_next_number(catalogue),
        title=title,
        note=note,
        created_by_id=actor.user_id if actor else None,
    )
    domains: dict[str, Domain] = {}
    for n, spec in enumerate(specs, start=1):
        _save_item(version=version, domains=domains, spec=spec, order=n, origin=origin)
    return version


def _resolve(
    parties: Iterable[PartySpec], resolver: selectors.DepartmentResolver, *, primary: bool
) -> tuple[PartySpec, ...]:
    resolved = []
    for p in parties:
        organisation_id, code, message = resolver.resolve(p.name, primary=primary)
        if organisation_id is None:
            raise InvalidInput(message, code=code or "catalog.unknown_department")
        resolved.append(PartySpec(p.name, organisation_id))
    return tuple(resolved)


@transaction.atomic
def version_derive(
    *,
    catalogue: Catalogue,
    guidance: ListVersion,
    title: str,
    local: Sequence[ItemSpec] = (),
    splits: Mapping[str, Sequence[ItemSpec]] | None = None,
    removals: Mapping[str, str] | None = None,
    actor: Actor | None = None,
) -> ListVersion:
    """A county's draft list derived from a guidance version.

    Every guidance item is inherited (its departments resolved to the county's own),
    unless it is removed (with a reason) or split into finer items that keep a link to
    it; `local` items are added. Codes of split and local items are the caller's.
    """
    _require_list_keeper(actor, catalogue)
    if guidance.status == VersionStatus.DRAFT:
        raise InvalidInput(
            _("A list can only be derived from a published guidance version."),
            code="catalog.guidance_not_published",
        )
    splits = splits or {}
    removals = removals or {}
    resolver = selectors.DepartmentResolver(county=catalogue.region)
    guidance_items = {i.code: i for i in selectors.version_items(version=guidance)}
    unknown = (set(splits) | set(removals)) - set(guidance_items)
    if unknown:
        raise InvalidInput(
            _("Unknown guidance items: %(codes)s.") % {"codes": "、".join(sorted(unknown))},
            code="catalog.unknown_item",
        )
    version = ListVersion.objects.create(
        catalogue=catalogue,
        number=_next_number(catalogue),
        title=title,
        based_on=guidance,
        created_by_id=actor.user_id if actor else None,
    )
    domains: dict[str, Domain] = {}
    order = 0
    codes: set[str] = set()

    def add(spec: ItemSpec, origin: str, parent: Item | None) -> None:
        nonlocal order
        if spec.code in codes:
            raise InvalidInput(
                _("The item code %(code)s appears twice.") % {"code": spec.code},
                code="catalog.duplicate_code",
            )
        codes.add(spec.code)
        order += 1
        spec = replace(
            spec,
            primary=_resolve(spec.primary, resolver, primary=True),
            assisting=_resolve(spec.assisting, resolver, primary=False),
        )
        _save_item(
            version=version, domains=domains, spec=spec, order=order, origin=origin, parent=parent
        )

    for code, g_item in guidance_items.items():
        if code in removals:
            if not removals[code].strip():
                raise InvalidInput(
                    _("Removing %(code)s needs a reason.") % {"code": code},
                    code="catalog.reason_required",
                )
            RemovedItem.objects.create(version=version, guidance_item=g_item, reason=removals[code])
        elif code in splits:
            for part in splits[code]:
                add(part, ItemOrigin.SPLIT, g_item)
        else:
            add(spec_of(g_item), ItemOrigin.INHERITED, g_item)
    for spec in local:
        add(spec, ItemOrigin.LOCAL, None)
    return version


@transaction.atomic
def version_publish(
    *, version: ListVersion, actor: Actor | None = None, at: datetime | None = None
) -> ListVersion:
    """Put a draft in force from `at` (default now); the version it replaces is
    superseded at the same instant, so exactly one version is in force at any time."""
    _require_list_keeper(actor, version.catalogue)
    ListVersion.objects.select_for_update().get(pk=version.pk)  # lock, then read afresh
    version.refresh_from_db()
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("Only a draft can be published."), code="catalog.not_a_draft")
    if not version.items.exists():
        raise InvalidInput(_("An empty list cannot be published."), code="catalog.empty_version")
    at = at or timezone.now()
    current = (
        ListVersion.objects.select_for_update()
        .filter(catalogue=version.catalogue, status=VersionStatus.PUBLISHED)
        .first()
    )
    if current is not None:
        if current.valid_from and at < current.valid_from:
            raise InvalidInput(
                _("A new version cannot take effect before the version in force."),
                code="catalog.bad_valid_from",
            )
        current.status = VersionStatus.SUPERSEDED
        current.valid_to = at
        current.save(update_fields=["status", "valid_to"])
        version.previous = current
    version.status = VersionStatus.PUBLISHED
    version.valid_from = at
    version.published_at = timezone.now()
    version.save(update_fields=["status", "valid_from", "published_at", "previous"])
    # A new guidance version: the lists derived from the one before get their adoption
    # tasks (catalog/adoption.py), in the same transaction.
    from .adoption import after_publish

    after_publish(version=version)
    return version


@transaction.atomic
def version_discard(*, version: ListVersion, actor: Actor | None = None) -> None:
    _require_list_keeper(actor, version.catalogue)
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("Only a draft can be discarded."), code="catalog.not_a_draft")
    version.delete()


def version_title(catalogue: Catalogue, number: int) -> str:
    return _("%(name)s, version %(number)s") % {"name": catalogue.name, "number": number}


def _copy_with_change(*, current: ListVersion, change: ChangeRequest) -> ListVersion:
    """A draft equal to `current` with one change applied."""
    return copy_with_changes(current=current, changes=[change], note=change.reason)


def _apply_change(
    specs: list[tuple[ItemSpec, str, Item | None]], change: ChangeRequest, county: Region
) -> None:
    """Apply one change request to the (spec, origin, parent) rows of a version."""
    codes = [s.code for s, _o, _p in specs]
    if change.kind == ChangeKind.ADD:
        spec = proposal_spec(change.proposal, county=county)
        if spec.code in codes:
            raise Conflict(
                _("The item code %(code)s is already on the list.") % {"code": spec.code},
                code="catalog.duplicate_code",
            )
        specs.append((spec, ItemOrigin.LOCAL, None))
        return
    if change.item_code not in codes:
        raise Conflict(
            _("Item %(code)s is no longer on the list.") % {"code": change.item_code},
            code="catalog.item_gone",
        )
    index = codes.index(change.item_code)
    if change.kind == ChangeKind.REMOVE:
        specs.pop(index)
        return
    old, origin, parent = specs[index]
    merged = {**_spec_dict(old), **change.proposal, "code": old.code}
    new = proposal_spec(merged, county=county, steps=old.steps)
    if "steps" not in change.proposal:
        # The item keeps its procedure; steps bound to a changed limit follow it.
        new = replace(
            new,
            steps=steps_following_limits(
                old.steps,
                level=old.primary_level,
                old=(old.respond_limit, old.complete_limit),
                new=(new.respond_limit, new.complete_limit),
            ),
        )
    specs[index] = (new, origin, parent)


def copy_with_changes(
    *, current: ListVersion, changes: Sequence[ChangeRequest], note: str = ""
) -> ListVersion:
    """A draft equal to `current` with `changes` applied in order (the normal route of
    every change to a published list: approved change requests)."""
    items = list(selectors.version_items(version=current).prefetch_related("steps"))
    specs: list[tuple[ItemSpec, str, Item | None]] = [
        (spec_of(i), i.origin, i.parent) for i in items
    ]
    for change in changes:
        _apply_change(specs, change, current.catalogue.region)
    number = _next_number(current.catalogue)
    version = ListVersion.objects.create(
        catalogue=current.catalogue,
        number=number,
        title=version_title(current.catalogue, number),
        based_on=current.based_on,
        note=note,
    )
    domains: dict[str, Domain] = {}
    for n, (spec, origin, parent) in enumerate(specs, start=1):
        _save_item(
            version=version, domains=domains, spec=spec, order=n, origin=origin, parent=parent
        )
    if current.based_on_id:
        RemovedItem.objects.bulk_create(
            [
                RemovedItem(version=version, guidance_item_id=r.guidance_item_id, reason=r.reason)
                for r in current.removed.all()
            ]
        )
    return version


def _with_earlier_procedure(spec: ItemSpec, earlier: Item | None) -> ItemSpec:
    """`spec` with its procedure taken from `earlier` (the same item in an earlier
    version) when its source had none, and with the steps bound to a changed limit
    following it (see `version_import`)."""
    if earlier is None:
        return spec
    earlier_steps = steps_of(earlier)
    steps, previous = (
        (earlier_steps, None) if spec.default_procedure else (spec.steps, earlier_steps)
    )
    return replace(
        spec,
        steps=steps_following_limits(
            steps,
            level=earlier.primary_level,
            old=(earlier.respond_limit, earlier.complete_limit),
            new=(str(parse_limit(spec.respond_limit)), str(parse_limit(spec.complete_limit))),
            previous=previous,
        ),
        default_procedure=False,
    )


# ---- proposals (the item a change request proposes) ----------------------------------


def _spec_dict(spec: ItemSpec) -> dict[str, Any]:
    return {
        "code": spec.code,
        "domain_code": spec.domain_code,
        "domain_name": spec.domain_name,
        "name": spec.name,
        "name_en": spec.name_en,
        "primary_level": spec.primary_level,
        "primary_departments": [p.name for p in spec.primary],
        "assisting_departments": [p.name for p in spec.assisting],
        "primary_duties": spec.primary_duties,
        "cooperating_duties": spec.cooperating_duties,
        "legal_basis": spec.legal_basis,
        "keywords": spec.keywords,
        "respond_limit": spec.respond_limit,
        "complete_limit": spec.complete_limit,
        "callable": spec.callable,
    }


def proposal_spec(
    proposal: Mapping[str, Any], *, county: Region, steps: tuple[StepSpec, ...] | None = None
) -> ItemSpec:
    """Validate a proposed item (a change request's payload) into a spec.

    Its procedure is the proposal's `steps` when it has them, else `steps`, else
    `io.default_steps`."""
    proposal = {k: clean_text(v) if isinstance(v, str) else v for k, v in proposal.items()}
    problems: list[dict[str, str]] = []
    unknown = set(proposal) - set(PROPOSAL_FIELDS)
    for key in sorted(unknown):
        problems.append({"field": key, "message": _("Unknown field.")})
    required = (
        "code",
        "domain_code",
        "domain_name",
        "name",
        "primary_level",
        "primary_duties",
        "respond_limit",
        "complete_limit",
    )
    for key in required:
        if not str(proposal.get(key, "") or "").strip():
            problems.append({"field": key, "message": _("This field is required.")})
    level = proposal.get("primary_level")
    if level and level not in PrimaryLevel.values:
        problems.append({"field": "primary_level", "message": _("Must be county or township.")})
    for key in ("respond_limit", "complete_limit"):
        if proposal.get(key):
            try:
                parse_limit(str(proposal[key]))
            except InvalidInput as exc:
                problems.append({"field": key, "message": str(exc.message)})
    resolver = selectors.DepartmentResolver(county=county)
    parties: dict[str, tuple[PartySpec, ...]] = {}
    for key in ("primary_departments", "assisting_departments"):
        names = proposal.get(key) or []
        if isinstance(names, str):
            names = names.replace("；", ";").replace("、", ";").split(";")
        names = [str(n).strip() for n in names if str(n).strip()]
        resolved = []
        for name in names:
            organisation_id, _code, message = resolver.resolve(
                name, primary=key == "primary_departments"
            )
            if organisation_id is None:
                problems.append({"field": key, "message": message})
            else:
                resolved.append(PartySpec(name, organisation_id))
        parties[key] = tuple(resolved)
    if (
        level == PrimaryLevel.COUNTY
        and not parties["primary_departments"]
        and not any(p["field"] == "primary_departments" for p in problems)
    ):
        problems.append(
            {
                "field": "primary_departments",
                "message": _("A county item needs a primary department."),
            }
        )
    if "steps" in proposal:
        steps = _proposal_steps(proposal["steps"], problems)
    if problems:
        raise InvalidInput(
            _("The proposed item is not valid."), code="catalog.bad_proposal", detail=problems
        )
    spec = ItemSpec(
        code=str(proposal["code"]).strip(),
        domain_code=str(proposal["domain_code"]).strip(),
        domain_name=str(proposal["domain_name"]).strip(),
        name=str(proposal["name"]).strip(),
        name_en=str(proposal.get("name_en", "") or ""),
        primary_level=str(level),
        primary_duties=str(proposal["primary_duties"]).strip(),
        cooperating_duties=str(proposal.get("cooperating_duties", "") or ""),
        legal_basis=str(proposal.get("legal_basis", "") or ""),
        keywords=str(proposal.get("keywords", "") or ""),
        respond_limit=str(parse_limit(str(proposal["respond_limit"]))),
        complete_limit=str(parse_limit(str(proposal["complete_limit"]))),
        callable=bool(proposal.get("callable", True)),
        primary=parties["primary_departments"],
        assisting=parties["assisting_departments"],
    )
    if steps is None:
        from .io import default_steps

        steps = default_steps(spec=spec)
    return replace(spec, steps=steps)


MAX_PROPOSED_STEPS = 50


def _proposal_steps(value: Any, problems: list[dict[str, str]]) -> tuple[StepSpec, ...]:
    """A proposal's `steps` (a list of {name, party, time_limit, handoff}) as specs;
    what is wrong is appended to `problems`, one entry per problem, under `steps`."""

    def problem(message: str) -> None:
        problems.append({"field": "steps", "message": message})

    if not isinstance(value, list) or not value:
        problem(_("The procedure must be a list of at least one step."))
        return ()
    if len(value) > MAX_PROPOSED_STEPS:
        problem(_("A procedure has at most %(max)s steps.") % {"max": MAX_PROPOSED_STEPS})
        return ()
    name_length = ProcedureStep._meta.get_field("name").max_length or 0
    handoff_length = ProcedureStep._meta.get_field("handoff").max_length or 0
    steps = []
    for number, raw in enumerate(value, start=1):
        if not isinstance(raw, dict):
            problem(_("Step %(number)s: must be an object.") % {"number": number})
            continue
        step = {k: clean_text(v).strip() if isinstance(v, str) else v for k, v in raw.items()}
        found = []
        for key in sorted(set(step) - set(STEP_FIELDS)):
            found.append(_("unknown field “%(field)s”") % {"field": key})
        name = step.get("name")
        if not isinstance(name, str) or not name:
            found.append(_("the step needs a name"))
        elif len(name) > name_length:
            found.append(_("the name has more than %(max)s characters") % {"max": name_length})
        party = step.get("party")
        if party not in StepParty.values:
            found.append(
                _("the party must be one of %(choices)s") % {"choices": ", ".join(StepParty.values)}
            )
        limit = step.get("time_limit") or ""
        handoff = step.get("handoff") or ""
        if not isinstance(limit, str) or not isinstance(handoff, str):
            found.append(_("the time limit and the hand-off point must be text"))
            limit, handoff = "", ""
        if limit:
            try:
                limit = str(parse_limit(limit))
            except InvalidInput as exc:
                found.append(str(exc.message))
        if len(handoff) > handoff_length:
            found.append(
                _("the hand-off point has more than %(max)s characters") % {"max": handoff_length}
            )
        for message in found:
            problem(_("Step %(number)s: %(problem)s") % {"number": number, "problem": message})
        if not found:
            steps.append(StepSpec(str(name), str(party), limit, handoff))
    return tuple(steps)


# ---- change requests -------------------------------------------------------------------


def _filing_grant(actor: Actor, organisation: Organisation) -> None:
    allowed = {
        OrgKind.DEPARTMENT: (Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_LEADER),
        OrgKind.STATIONED_AGENCY: (Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_LEADER),
        OrgKind.TOWNSHIP: (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER),
    }.get(OrgKind(organisation.kind), ())
    if not any(g.organisation_id == organisation.pk and g.role in allowed for g in actor.grants):
        raise PermissionDenied(
            _("Only a department or a township can file this, on behalf of its own organisation."),
            code="catalog.not_a_filer",
        )


@transaction.atomic
def change_request_file(
    *,
    actor: Actor,
    organisation: Organisation,
    version: ListVersion,
    kind: str,
    reason: str,
    legal_basis: str = "",
    item_code: str = "",
    proposal: Mapping[str, Any] | None = None,
) -> ChangeRequest:
    """A department or township asks the 编办 to add, modify or remove an item of the
    list in force."""
    _filing_grant(actor, organisation)
    reason, legal_basis, item_code = (
        clean_text(reason),
        clean_text(legal_basis),
        clean_text(item_code),
    )
    catalogue = version.catalogue
    if organisation.county_id != catalogue.region_id:
        raise PermissionDenied(
            _("You can only request changes to your own county's list."),
            code="catalog.other_county",
        )
    if version.status != VersionStatus.PUBLISHED:
        raise Conflict(
            _("Changes can only be requested against the version in force; this one is %(status)s.")
            % {"status": version.get_status_display()},
            code="catalog.version_superseded",
        )
    if kind not in ChangeKind.values:
        raise InvalidInput(_("Unknown kind of change."), code="catalog.bad_kind")
    if not reason.strip():
        raise InvalidInput(_("A change request needs a reason."), code="catalog.reason_required")
    proposal = {k: clean_text(v) if isinstance(v, str) else v for k, v in (proposal or {}).items()}
    if (
        kind in (ChangeKind.MODIFY, ChangeKind.REMOVE)
        and not version.items.filter(code=item_code).exists()
    ):
        raise InvalidInput(
            _("Item %(code)s is not on the list in force.") % {"code": item_code},
            code="catalog.unknown_item",
        )
    if kind == ChangeKind.ADD:
        spec = proposal_spec(proposal, county=catalogue.region)
        if version.items.filter(code=spec.code).exists():
            raise InvalidInput(
                _("The item code %(code)s is already on the list.") % {"code": spec.code},
                code="catalog.duplicate_code",
            )
        item_code = spec.code
    elif kind == ChangeKind.MODIFY:
        if not proposal:
            raise InvalidInput(_("Say what should change."), code="catalog.bad_proposal")
        current = selectors.item_get(version=version, code=item_code)
        assert current is not None
        proposal_spec(
            {**_spec_dict(spec_of(current)), **proposal, "code": item_code},
            county=catalogue.region,
            steps=(),
        )
    return ChangeRequest.objects.create(
        catalogue=catalogue,
        base_version=version,
        kind=kind,
        item_code=item_code,
        proposal=proposal,
        reason=reason.strip(),
        legal_basis=legal_basis.strip(),
        filed_by_id=actor.user_id,
        filed_by_org=organisation,
    )


def _step_dicts(steps: Sequence[StepSpec]) -> list[dict[str, str]]:
    return [
        {"name": s.name, "party": s.party, "time_limit": s.time_limit, "handoff": s.handoff}
        for s in steps
    ]


def _file_delta(spec: ItemSpec, item: Item) -> dict[str, Any]:
    """What a file's row proposes to change on `item` (empty: nothing): the changed
    fields as a modify proposal; departments compare by the organisations they resolve
    to, the procedure only when the file gives one."""
    old, new = _spec_dict(spec_of(item)), _spec_dict(spec)
    delta: dict[str, Any] = {}
    for key in PROPOSAL_FIELDS:
        if key in ("code", "steps", "domain_name") or key not in new:
            continue
        if key in ("primary_departments", "assisting_departments"):
            role = PartyRole.PRIMARY if key == "primary_departments" else PartyRole.ASSISTING
            mine = spec.primary if role == PartyRole.PRIMARY else spec.assisting
            theirs = [p for p in item.parties.all() if p.role == role]
            if [p.organisation_id or p.name for p in mine] != [
                p.organisation_id or p.name for p in theirs
            ]:
                delta[key] = new[key]
        elif key == "domain_code":
            if (old["domain_code"], old["domain_name"]) != (new["domain_code"], new["domain_name"]):
                delta["domain_code"], delta["domain_name"] = new["domain_code"], new["domain_name"]
        elif old[key] != new[key]:
            delta[key] = new[key]
    if not spec.default_procedure and spec.steps != steps_of(item):
        delta["steps"] = _step_dicts(spec.steps)
    return delta


@transaction.atomic
def change_requests_from_file(
    *,
    actor: Actor,
    organisation: Organisation,
    version: ListVersion,
    specs: Sequence[ItemSpec],
    reason: str,
    legal_basis: str = "",
) -> list[ChangeRequest]:
    """A department or township's edited list file, filed as change requests against
    the version in force: one `add` per new item code, one `modify` per item whose row
    differs (only the changed fields; the procedure when the file gives one that
    differs). A row left out of the file is not a removal (a file may hold only the
    filer's items): removals go through the form. All or nothing: if any request would
    be refused, none is filed and every problem is reported by item code."""
    _filing_grant(actor, organisation)
    if not clean_text(reason).strip():
        raise InvalidInput(_("A change request needs a reason."), code="catalog.reason_required")
    _check_unique_codes(specs)
    items = {i.code: i for i in selectors.version_items(version=version).prefetch_related("steps")}
    wanted: list[tuple[str, str, dict[str, Any]]] = []
    for spec in specs:
        item = items.get(spec.code)
        if item is None:
            proposal = _spec_dict(spec)
            if not spec.default_procedure:
                proposal["steps"] = _step_dicts(spec.steps)
            wanted.append((ChangeKind.ADD, spec.code, proposal))
        else:
            delta = _file_delta(spec, item)
            if delta:
                wanted.append((ChangeKind.MODIFY, spec.code, delta))
    if not wanted:
        raise InvalidInput(
            _("The file changes nothing on the list in force."), code="catalog.no_change"
        )
    filed: list[ChangeRequest] = []
    problems: list[dict[str, Any]] = []
    for kind, code, proposal in wanted:
        try:
            filed.append(
                change_request_file(
                    actor=actor,
                    organisation=organisation,
                    version=version,
                    kind=kind,
                    item_code=code if kind == ChangeKind.MODIFY else "",
                    proposal=proposal,
                    reason=reason,
                    legal_basis=legal_basis,
                )
            )
        except InvalidInput as exc:
            detail = exc.detail if isinstance(exc.detail, list) else []
            problems.extend(
                {"item": code, "field": p.get("field", ""), "message": p.get("message", "")}
                for p in detail
                if isinstance(p, dict)
            )
            if not detail:
                problems.append({"item": code, "field": "", "message": str(exc.message)})
    if problems:
        raise InvalidInput(
            _("The file's changes cannot be filed; nothing was filed."),
            code="catalog.bad_proposal",
            detail=problems,
        )
    return filed


def _require_reviewer(actor: Actor | None, catalogue: Catalogue) -> None:
    """The county's 编办 for a county list; for a province or city guidance catalogue,
    the 编办 of that province or city (`access.guidance_keeper_regions`)."""
    if actor is None:
        return
    if actor.is_superuser or any(
        g.role == Role.BIANBAN_REVIEWER and g.county_id == catalogue.region_id for g in actor.grants
    ):
        return
    if catalogue.level != ScopeLevel.COUNTY and catalogue.region_id in guidance_keeper_regions(
        actor
    ):
        return
    raise PermissionDenied(
        _("Only a reviewer of the county's establishment office (编办) can decide this."),
        code="catalog.not_a_reviewer",
    )


_require_list_keeper = _require_reviewer


R = TypeVar("R", ChangeRequest, Admission)


def _lock_pending(actor: Actor, obj: R, opinion: str) -> tuple[R, str]:
    """The request locked and still pending, and the cleaned opinion; else a coded error."""
    _require_reviewer(actor, obj.catalogue)
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    if obj.status != DecisionStatus.PENDING:
        raise Conflict(
            _("This request has already been decided (%(status)s).")
            % {"status": obj.get_status_display()},
            code="catalog.already_decided",
        )
    opinion = clean_text(opinion)
    if not opinion:
        raise InvalidInput(_("A decision needs an opinion."), code="catalog.opinion_required")
    return obj, opinion


def _record_decision(obj: R, *, actor: Actor, approve: bool, opinion: str) -> R:
    obj.status = DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED
    obj.decided_by_id = actor.user_id
    obj.decided_at = timezone.now()
    obj.opinion = opinion
    obj.save()
    return obj


@transaction.atomic
def change_request_decide(
    *, actor: Actor, request: ChangeRequest, approve: bool, opinion: str
) -> ChangeRequest:
    """The 编办 approves (a new version is published at once) or rejects, with an opinion."""
    request, opinion = _lock_pending(actor, request, opinion)
    if approve:
        current = selectors.version_in_force(catalogue=request.catalogue)
        if current is None:
            raise Conflict(_("The list has no version in force."), code="catalog.no_version")
        new = _copy_with_change(current=current, change=request)
        version_publish(version=new, actor=actor)
        request.result_version = new
    return _record_decision(request, actor=actor, approve=approve, opinion=opinion)


# ---- admissions of out-of-list tasks -----------------------------------------------------


@transaction.atomic
def admission_file(
    *,
    actor: Actor,
    department: Organisation,
    title: str,
    content: str,
    basis: str,
    townships: Sequence[Organisation],
    starts_on: date,
    ends_on: date,
    resources: str = "",
) -> Admission:
    """A county department asks to hand townships a task that is not on the list."""
    if department.kind != OrgKind.DEPARTMENT:
        raise InvalidInput(
            _("Only a county department can request the admission of a task."),
            code="catalog.not_a_department",
        )
    _filing_grant(actor, department)
    catalogue = selectors.county_catalogue(county=department.county) if department.county else None
    if catalogue is None:
        raise Conflict(_("The county has no list yet."), code="catalog.no_version")
    title, content, basis, resources = map(clean_text, (title, content, basis, resources))
    problems = []
    if not title.strip():
        problems.append({"field": "title", "message": _("This field is required.")})
    if not content.strip():
        problems.append({"field": "content", "message": _("This field is required.")})
    if not basis.strip():
        problems.append({"field": "basis", "message": _("This field is required.")})
    if not townships:
        problems.append({"field": "townships", "message": _("Name at least one township.")})
    if any(t.kind != OrgKind.TOWNSHIP or t.county_id != department.county_id for t in townships):
        problems.append({"field": "townships", "message": _("Only townships of your own county.")})
    if ends_on < starts_on:
        problems.append({"field": "ends_on", "message": _("The period ends before it starts.")})
    if problems:
        raise InvalidInput(
            _("The request is not complete."), code="catalog.bad_admission", detail=problems
        )
    admission = Admission.objects.create(
        catalogue=catalogue,
        department=department,
        title=title.strip(),
        content=content.strip(),
        basis=basis.strip(),
        resources=resources.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        filed_by_id=actor.user_id,
    )
    admission.townships.set(townships)
    return admission


@transaction.atomic
def admission_decide(
    *, actor: Actor, admission: Admission, approve: bool, opinion: str
) -> Admission:
    """The 编办 approves or rejects an admission, once, with an opinion."""
    admission, opinion = _lock_pending(actor, admission, opinion)
    return _record_decision(admission, actor=actor, approve=approve, opinion=opinion)


@transaction.atomic
def version_import(
    *, catalogue: Catalogue, specs: Sequence[ItemSpec], title: str, actor: Actor | None = None
) -> ListVersion:
    """A draft from an imported file (the official Excel table or the CSV shape).

    For a derived list the draft keeps the derivation of the version in force: an item
    whose code is a guidance item's code is inherited from it, `<guidance code>-<n>` is
    split from it, anything else is local; a guidance item the file leaves out is
    recorded as removed (with the reason already given, or "left out of the import").

    An item the file gives no procedure for (`spec.default_procedure`: a CSV file, or a
    workbook without steps for it) keeps the steps of the same item in the version in
    force, else of the guidance version; only a new item gets the default procedure.
    Carried steps, and steps the file repeats unchanged, follow the item's limits when
    the file changes them (`steps_following_limits`).
    """
    _require_list_keeper(actor, catalogue)
    _check_unique_codes(specs)
    current = selectors.version_in_force(catalogue=catalogue)
    guidance = current.based_on if current is not None else None
    number = _next_number(catalogue)
    version = ListVersion.objects.create(
        catalogue=catalogue,
        number=number,
        title=title or version_title(catalogue, number),
        based_on=guidance,
        created_by_id=actor.user_id if actor else None,
        note=_("Imported from a file."),
    )
    guidance_items = (
        {i.code: i for i in selectors.version_items(version=guidance).prefetch_related("steps")}
        if guidance
        else {}
    )
    in_force_items = (
        {i.code: i for i in selectors.version_items(version=current).prefetch_related("steps")}
        if current is not None
        else {}
    )
    domains: dict[str, Domain] = {}
    covered: set[str] = set()
    for n, spec in enumerate(specs, start=1):
        spec = _with_earlier_procedure(
            spec, in_force_items.get(spec.code) or guidance_items.get(spec.code)
        )
        origin, parent = ItemOrigin.GUIDANCE, None
        if guidance is not None:
            parent = guidance_items.get(spec.code)
            origin = ItemOrigin.INHERITED
            if parent is None:
                parent = (
                    guidance_items.get(spec.code.rsplit("-", 1)[0]) if "-" in spec.code else None
                )
                origin = ItemOrigin.SPLIT if parent is not None else ItemOrigin.LOCAL
            if parent is not None:
                covered.add(parent.code)
        _save_item(
            version=version, domains=domains, spec=spec, order=n, origin=origin, parent=parent
        )
    if guidance is not None and current is not None:
        reasons = {
            r.guidance_item.code: r.reason for r in current.removed.select_related("guidance_item")
        }
        RemovedItem.objects.bulk_create(
            [
                RemovedItem(
                    version=version,
                    guidance_item=item,
                    reason=reasons.get(code) or _("Left out of the imported file."),
                )
                for code, item in guidance_items.items()
                if code not in covered
            ]
        )
    return version
