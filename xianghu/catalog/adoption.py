"""Guidance catalogue governance (指导目录更新的采纳): when the province publishes a new
guidance version, every list derived from the version before it gets one adoption task
per change (an item added, modified or removed, from `selectors.version_diff`). The
list's 编办 adopts each change into the list through the normal route (change requests
approved at once, one new published version for a batch) or declines it with a reason.
Rules: docs/catalog.md, "Guidance versions and adoption".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, DomainError, InvalidInput
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind, Role

from . import selectors, services
from .models import (
    AdoptionStatus,
    AdoptionTask,
    Catalogue,
    ChangeKind,
    ChangeRequest,
    DecisionStatus,
    GuidanceUpdate,
    Item,
    ItemOrigin,
    ListVersion,
    RemovedItem,
    VersionStatus,
)
from .specs import ItemSpec

# How far back a derived list's guidance version may lie behind the one in force (a
# guard on the walk along `previous`, not a rule).
_MAX_CHAIN = 500

# The proposal keys of a modification, by the field `version_diff` reports.
_DIFF_TO_PROPOSAL: dict[str, tuple[str, ...]] = {
    **{f: (f,) for f in selectors.ITEM_FIELDS},
    "domain": ("domain_code", "domain_name"),
    "primary_parties": ("primary_departments",),
    "assisting_parties": ("assisting_departments",),
    "steps": ("steps",),
}


# ---- creating the tasks ----------------------------------------------------------------


def _published(catalogue_id: int) -> ListVersion | None:
    return (
        ListVersion.objects.filter(catalogue_id=catalogue_id, status=VersionStatus.PUBLISHED)
        .select_related("based_on")
        .first()
    )


def _steps_between(base: ListVersion, latest: ListVersion) -> list[tuple[ListVersion, ListVersion]]:
    """The consecutive (old, new) guidance versions from `base` to `latest`, along
    `previous`; one step `(base, latest)` when `base` is not on that chain."""
    chain = [latest]
    node = latest
    for _n in range(_MAX_CHAIN):
        previous = node.previous
        if previous is None:
            break
        if previous.pk == base.pk:
            versions = [base, *reversed(chain)]
            return list(pairwise(versions))
        chain.append(previous)
        node = previous
    return [(base, latest)]


def _json(value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)


def _tasks_of(update: GuidanceUpdate, diff: selectors.VersionDiff) -> list[AdoptionTask]:
    def task(kind: str, code: str, name: str, changes: list[dict[str, Any]]) -> AdoptionTask:
        return AdoptionTask(
            update=update,
            catalogue_id=update.catalogue_id,
            kind=kind,
            item_code=code,
            item_name=name,
            changes=changes,
        )

    return [
        *(task(ChangeKind.ADD, i.code, i.name, []) for i in diff.added),
        *(
            task(
                ChangeKind.MODIFY,
                m.code,
                m.name,
                [{"field": c.field, "old": _json(c.old), "new": _json(c.new)} for c in m.changes],
            )
            for m in diff.modified
        ),
        *(task(ChangeKind.REMOVE, i.code, i.name, []) for i in diff.removed),
    ]


def adoption_tasks_sync(
    *,
    catalogue: Catalogue,
    diffs: dict[tuple[int, int], selectors.VersionDiff] | None = None,
) -> list[GuidanceUpdate]:
    """Make sure the derived list `catalogue` has, for every guidance version published
    after the one its published version derives from, a `GuidanceUpdate` with one task
    per change. Idempotent: an update is made once per list and guidance version, so
    publishing again (or calling this again) never duplicates tasks. Returns the
    updates made now. `diffs` caches diffs between calls for several lists."""
    current = _published(catalogue.pk)
    if current is None or current.based_on is None:
        return []
    base = current.based_on
    latest = _published(base.catalogue_id)
    if latest is None or latest.pk == base.pk:
        return []
    if base.valid_from and latest.valid_from and latest.valid_from <= base.valid_from:
        return []
    diffs = {} if diffs is None else diffs
    made = []
    for old, new in _steps_between(base, latest):
        update, created = GuidanceUpdate.objects.get_or_create(
            catalogue=catalogue, new=new, defaults={"old": old}
        )
        if not created:
            continue
        diff = diffs.get((old.pk, new.pk))
        if diff is None:
            diff = diffs[(old.pk, new.pk)] = selectors.version_diff(old=old, new=new)
        AdoptionTask.objects.bulk_create(_tasks_of(update, diff))
        made.append(update)
    return made


def after_publish(*, version: ListVersion) -> None:
    """Called by `services.version_publish`: a new guidance version gives every list
    derived from its catalogue its tasks; a derived list published from an older
    guidance version gets the backlog of the versions since."""
    diffs: dict[tuple[int, int], selectors.VersionDiff] = {}
    derived = (
        Catalogue.objects.filter(
            Q(guidance_id=version.catalogue_id)
            | Q(versions__based_on__catalogue_id=version.catalogue_id)
        )
        .exclude(pk=version.catalogue_id)
        .distinct()
        .order_by("pk")
    )
    for catalogue in derived:
        adoption_tasks_sync(catalogue=catalogue, diffs=diffs)
    if version.based_on_id is not None:
        adoption_tasks_sync(catalogue=version.catalogue, diffs=diffs)


# ---- how a change meets the list in force ------------------------------------------------


@dataclass
class Fit:
    """What adopting a task would do to the list in force.

    `action`: "add", "modify", "remove" (a new version carries it), "remove_split"
    (the list split the item: its finer items go), "none" (the list already says so:
    adopted without a new version), or "refused" (`message` says why; decline it)."""

    action: str
    message: str = ""
    codes: list[str] = field(default_factory=list)  # the list's items it touches
    proposal: dict[str, Any] = field(default_factory=dict)

    @property
    def adoptable(self) -> bool:
        return self.action != "refused"


def _guidance_item(task: AdoptionTask) -> Item | None:
    return (
        Item.objects.filter(version_id=task.update.new_id, code=task.item_code)
        .select_related("domain")
        .prefetch_related("parties", "steps")
        .first()
    )


def _step_dicts(item: Item) -> list[dict[str, str]]:
    return [
        {
            "name": s["name"],
            "party": s["party"],
            "time_limit": s["time_limit"],
            "handoff": s["handoff"],
        }
        for s in selectors.step_dicts(item)
    ]


def _add_proposal(item: Item) -> dict[str, Any]:
    proposal = services._spec_dict(services.spec_of(item))
    proposal["steps"] = _step_dicts(item)
    return proposal


def _modify_proposal(task: AdoptionTask, item: Item) -> dict[str, Any]:
    """The changed fields of the guidance item, as a modify proposal."""
    values = _add_proposal(item)
    proposal: dict[str, Any] = {}
    for change in task.changes:
        for key in _DIFF_TO_PROPOSAL.get(str(change.get("field")), ()):
            proposal[key] = values[key]
    return proposal


def _comparable(spec: ItemSpec) -> dict[str, Any]:
    values = services._spec_dict(spec)
    values["primary_departments"] = [p.organisation_id or p.name for p in spec.primary]
    values["assisting_departments"] = [p.organisation_id or p.name for p in spec.assisting]
    values["steps"] = spec.steps
    return values


def _split_parts(items: dict[str, Item], code: str) -> list[str]:
    return sorted(
        c
        for c, i in items.items()
        if i.origin == ItemOrigin.SPLIT and i.parent is not None and i.parent.code == code
    )


def _guidance_items(tasks: Sequence[AdoptionTask]) -> dict[tuple[int, str], Item]:
    """The guidance items of `tasks` (in their new guidance versions), in one query."""
    found = (
        Item.objects.filter(
            version_id__in={t.update.new_id for t in tasks},
            code__in={t.item_code for t in tasks},
        )
        .select_related("domain")
        .prefetch_related("parties", "steps")
    )
    return {(i.version_id, i.code): i for i in found}


def fit_of(
    task: AdoptionTask,
    items: dict[str, Item],
    county: Any,
    guidance_items: dict[tuple[int, str], Item] | None = None,
) -> Fit:
    """How `task` meets the list whose items (by code, parents and parties loaded) are
    `items`; `county` is the list's region (to resolve departments). `guidance_items`
    (`_guidance_items`) saves a query per task."""
    code = task.item_code
    mine = items.get(code)
    if task.kind == ChangeKind.REMOVE:
        if mine is not None:
            return Fit("remove", codes=[code])
        parts = _split_parts(items, code)
        if parts:
            return Fit("remove_split", codes=parts)
        return Fit(
            "none", _("Item %(code)s is not on the list: nothing to remove.") % {"code": code}
        )
    guidance_item = (
        guidance_items.get((task.update.new_id, code))
        if guidance_items is not None
        else _guidance_item(task)
    )
    if guidance_item is None:  # a published version never loses items; defensive
        return Fit("refused", _("Item %(code)s is not in the guidance version.") % {"code": code})
    if task.kind == ChangeKind.ADD:
        if mine is None:
            proposal = _add_proposal(guidance_item)
            try:
                services.proposal_spec(proposal, county=county)
            except InvalidInput as exc:
                return Fit("refused", _problems_text(code, exc), codes=[code], proposal=proposal)
            return Fit("add", codes=[code], proposal=proposal)
        if (
            mine.origin == ItemOrigin.INHERITED
            and mine.parent is not None
            and mine.parent.code == code
        ):
            return Fit("none", _("Item %(code)s is already on the list.") % {"code": code})
        return Fit(
            "refused",
            _(
                "The list already has an item %(code)s of its own; decline this change and "
                "say why, or change the list's item first."
            )
            % {"code": code},
        )
    # A modification.
    if mine is None:
        parts = _split_parts(items, code)
        if parts:
            return Fit(
                "refused",
                _(
                    "The list split item %(code)s into %(parts)s: change the finer items "
                    "through change requests, then decline this change with that reason."
                )
                % {"code": code, "parts": "、".join(parts)},
                codes=parts,
            )
        return Fit(
            "refused",
            _(
                "Item %(code)s is not on the list (it was removed from it); decline this change with a reason."
            )
            % {"code": code},
        )
    proposal = _modify_proposal(task, guidance_item)
    old = services.spec_of(mine)
    try:
        new = services.proposal_spec(
            {**services._spec_dict(old), **proposal, "code": code}, county=county, steps=old.steps
        )
    except InvalidInput as exc:
        return Fit("refused", _problems_text(code, exc), codes=[code], proposal=proposal)
    before, after = _comparable(old), _comparable(new)
    if all(before.get(k) == after.get(k) for k in proposal):
        return Fit("none", _("Item %(code)s already reads so.") % {"code": code}, codes=[code])
    return Fit("modify", codes=[code], proposal=proposal)


def _problems_text(code: str, exc: DomainError) -> str:
    detail = exc.detail if isinstance(exc.detail, list) else []
    problems = [str(p.get("message", "")) for p in detail if isinstance(p, dict)]
    return _("Item %(code)s cannot be taken over as it is: %(problems)s") % {
        "code": code,
        "problems": "；".join(problems) or str(exc.message),
    }


def list_items(version: ListVersion) -> dict[str, Item]:
    """The items of a version by code, with what `fit_of` reads."""
    return {i.code: i for i in selectors.version_items(version=version).prefetch_related("steps")}


def fits(tasks: Sequence[AdoptionTask], version: ListVersion | None) -> dict[int, Fit]:
    """`fit_of` for each open task against `version` (the list in force)."""
    if version is None:
        return {}
    items = list_items(version)
    county = version.catalogue.region
    open_tasks = [t for t in tasks if t.is_open]
    guidance_items = _guidance_items(open_tasks)
    return {t.pk: fit_of(t, items, county, guidance_items) for t in open_tasks}


# ---- deciding ----------------------------------------------------------------------------


def _lock_open(ids: Sequence[int]) -> list[AdoptionTask]:
    tasks = list(
        AdoptionTask.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("catalogue__region", "update__new", "update__old")
        .order_by("pk")
    )
    for task in tasks:
        if not task.is_open:
            raise Conflict(
                _("The change to %(code)s has already been decided (%(status)s).")
                % {"code": task.item_code, "status": task.get_status_display()},
                code="catalog.adoption_decided",
            )
    return tasks


def _bianban_of(actor: Actor, catalogue: Catalogue) -> Organisation:
    """The 编办 on whose behalf the adoption's change requests are recorded."""
    keepers = Organisation.objects.filter(kind=OrgKind.BIANBAN, is_active=True).filter(
        Q(county_id=catalogue.region_id) | Q(region_id=catalogue.region_id, county__isnull=True)
    )
    own = keepers.filter(pk__in=actor.organisation_ids(Role.BIANBAN_REVIEWER)).first()
    found = own or keepers.order_by("pk").first()
    if found is None:
        raise Conflict(
            _("The list has no establishment office (编办) to record the change."),
            code="catalog.no_bianban",
        )
    return found


def _rebase(draft: ListVersion, target: ListVersion, adopted_adds: dict[str, Item]) -> None:
    """Make `draft` derive from the guidance version `target`: inherited and split items
    point at `target`'s items (an item `target` no longer has becomes the list's own),
    the adopted additions are inherited, the list's removals name `target`'s items, and
    additions the list declined are recorded as removals with the reason given."""
    guidance = {i.code: i for i in Item.objects.filter(version=target)}
    draft.based_on = target
    draft.save(update_fields=["based_on"])
    changed = []
    for item in Item.objects.filter(version=draft).select_related("parent"):
        if item.code in adopted_adds:
            item.origin = ItemOrigin.INHERITED
            item.parent = guidance.get(item.code) or adopted_adds[item.code]
            changed.append(item)
        elif item.parent is not None and item.parent.version_id != target.pk:
            parent = guidance.get(item.parent.code)
            if parent is not None:
                item.parent = parent
            else:
                item.origin = ItemOrigin.LOCAL
            changed.append(item)
    Item.objects.bulk_update(changed, ["origin", "parent"])
    codes = set(Item.objects.filter(version=draft).values_list("code", flat=True))
    removed: set[str] = set()
    for record in RemovedItem.objects.filter(version=draft).select_related("guidance_item"):
        same = guidance.get(record.guidance_item.code)
        if same is None or same.code in codes:
            record.delete()
            continue
        removed.add(same.code)
        if record.guidance_item_id != same.pk:
            record.guidance_item = same
            record.save(update_fields=["guidance_item"])
    declined = AdoptionTask.objects.filter(
        catalogue_id=draft.catalogue_id, kind=ChangeKind.ADD, status=AdoptionStatus.DECLINED
    ).order_by("decided_at", "pk")
    for task in declined:
        declined_item = guidance.get(task.item_code)
        if declined_item is None or task.item_code in codes or task.item_code in removed:
            continue
        RemovedItem.objects.create(version=draft, guidance_item=declined_item, reason=task.reason)
        removed.add(task.item_code)


def _later(a: ListVersion, b: ListVersion) -> bool:
    """Whether guidance version `a` came into force after `b`."""
    return (
        (a.valid_from, a.number) > (b.valid_from, b.number)
        if a.valid_from and b.valid_from
        else a.number > b.number
    )


@transaction.atomic
def adoption_adopt(*, actor: Actor, tasks: Sequence[AdoptionTask], note: str = "") -> ListVersion:
    """Adopt open changes of a guidance version into their list, all or none.

    Each change that alters the list becomes a change request of the list's 编办,
    approved at once; together they make one new version, published now and derived
    from the newest guidance version adopted. A change the list already reflects is
    adopted without a new version. Returns the version in force afterwards."""
    if not tasks:
        raise InvalidInput(
            _("Choose at least one change to adopt."), code="catalog.adoption_none_chosen"
        )
    if len({t.catalogue_id for t in tasks}) != 1:
        raise InvalidInput(
            _("Changes of different lists are adopted separately."),
            code="catalog.adoption_other_list",
        )
    catalogue = tasks[0].catalogue
    services._require_reviewer(actor, catalogue)
    locked = _lock_open([t.pk for t in tasks])
    current = selectors.version_in_force(catalogue=catalogue)
    if current is None:
        raise Conflict(_("The list has no version in force."), code="catalog.no_version")
    note = clean_text(note)
    items = list_items(current)
    region = catalogue.region
    locked.sort(
        key=lambda t: ((t.update.new.valid_from or timezone.now()), t.update.new.number, t.pk)
    )
    guidance_items = _guidance_items(locked)
    planned: list[tuple[AdoptionTask, Fit]] = [
        (t, fit_of(t, items, region, guidance_items)) for t in locked
    ]
    problems = [
        {"item": t.item_code, "field": "", "message": f.message}
        for t, f in planned
        if not f.adoptable
    ]
    if problems:
        raise InvalidInput(
            problems[0]["message"]
            if len(problems) == 1
            else _("Some changes cannot be adopted as they are; nothing was adopted."),
            code="catalog.adoption_not_applicable",
            detail=problems,
        )
    now = timezone.now()
    reason = _("Adopting the changes of the guidance version %(title)s.")
    requests: list[tuple[AdoptionTask, ChangeRequest]] = []
    adopted_adds: dict[str, Item] = {}
    for task, fit in planned:
        kinds = {
            "add": [(ChangeKind.ADD, "")],
            "modify": [(ChangeKind.MODIFY, task.item_code)],
            "remove": [(ChangeKind.REMOVE, task.item_code)],
            "remove_split": [(ChangeKind.REMOVE, c) for c in fit.codes],
        }.get(fit.action, [])
        for kind, code in kinds:
            requests.append(
                (
                    task,
                    ChangeRequest(
                        catalogue=catalogue,
                        base_version=current,
                        kind=kind,
                        item_code=code or task.item_code,
                        proposal=fit.proposal if kind != ChangeKind.REMOVE else {},
                        reason=reason % {"title": task.update.new.title},
                        filed_by_id=actor.user_id,
                    ),
                )
            )
        if fit.action == "add":
            adopted_adds[task.item_code] = guidance_items[(task.update.new_id, task.item_code)]
    result = current
    if requests:
        bianban = _bianban_of(actor, catalogue)
        target = max(
            (t.update.new for t, _f in planned), key=lambda v: (v.valid_from or now, v.number)
        )
        titles = "、".join(dict.fromkeys(t.update.new.title for t, _f in planned))
        draft = services.copy_with_changes(
            current=current,
            changes=[r for _t, r in requests],
            note=reason % {"title": titles},
        )
        if current.based_on is None or _later(target, current.based_on):
            _rebase(draft, target, adopted_adds)
        elif adopted_adds:
            _rebase(draft, current.based_on, adopted_adds)
        result = services.version_publish(version=draft, actor=actor)
        for _task, change in requests:
            change.filed_by_org = bianban
            change.status = DecisionStatus.APPROVED
            change.decided_by_id = actor.user_id
            change.decided_at = now
            change.opinion = note or _("Adopted from the guidance version.")
            change.result_version = result
            change.save()
    first_request: dict[int, ChangeRequest] = {}
    for task, change in requests:
        first_request.setdefault(task.pk, change)
    for task, _fit in planned:
        task.status = AdoptionStatus.ADOPTED
        task.decided_by_id = actor.user_id
        task.decided_at = now
        task.reason = note
        task.change_request = first_request.get(task.pk)
        task.result_version = result
        task.save(
            update_fields=[
                "status",
                "decided_by",
                "decided_at",
                "reason",
                "change_request",
                "result_version",
            ]
        )
    return result


@transaction.atomic
def adoption_decline(*, actor: Actor, task: AdoptionTask, reason: str) -> AdoptionTask:
    """Decline a change of the guidance version for the list, with the reason (who and
    when are recorded); the list stays as it is."""
    services._require_reviewer(actor, task.catalogue)
    (task,) = _lock_open([task.pk])
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(
            _("Say why the list does not take this change over."),
            code="catalog.adoption_reason_required",
        )
    task.status = AdoptionStatus.DECLINED
    task.decided_by_id = actor.user_id
    task.decided_at = timezone.now()
    task.reason = reason
    task.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return task
