"""REST endpoints of the catalog app, mounted at /api/v1/catalog/.

The lists themselves (catalogues, versions, items, diffs) are public: those reads work
without authentication (`auth=None`) and show published and superseded versions to
everyone, drafts only to the county's 编办 and system admins (an API key or a session,
when sent, is honoured). Duties, the guard, change requests, admissions and guidance adoption need a
session (with CSRF for writes) or an API key. Objects the caller may not see answer 404.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from xianghu.accounts.api_auth import ApiKeyAuth
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES, Pagination
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.regions import selectors as region_selectors
from xianghu.regions.models import Organisation

from . import adoption, selectors, services
from .access import adoption_catalogues
from .guard import handoff_check
from .models import (
    Admission,
    AdoptionStatus,
    AdoptionTask,
    Catalogue,
    ChangeRequest,
    DecisionStatus,
    Domain,
    Item,
    ListVersion,
    ScopeLevel,
)
from .schemas import (
    AdmissionIn,
    AdmissionOut,
    AdmittedTaskOut,
    AdoptIn,
    AdoptionDecisionIn,
    AdoptionStatusOut,
    AdoptionTaskOut,
    AdoptOut,
    CatalogueOut,
    ChangeRequestIn,
    ChangeRequestOut,
    DecisionIn,
    DiffOut,
    DutiesOut,
    FieldChangeOut,
    GuardOut,
    ItemChangeOut,
    ItemDetailOut,
    ItemOut,
    ItemRef,
    VersionDetailOut,
    VersionOut,
)

router = Router(tags=["catalog"])

_API_KEY = ApiKeyAuth()


def _actor(request: HttpRequest) -> Actor:
    """The authenticated caller of an operation that requires authentication."""
    return request.auth  # type: ignore[attr-defined]


def _viewer(request: HttpRequest) -> Actor:
    """The caller of a public read: the API key's actor if a key is sent (an invalid
    key is still refused with 401), else the session's actor, else the anonymous one."""
    key = request.headers.get(ApiKeyAuth.param_name)
    if key:
        actor = _API_KEY.authenticate(request, key)
        if actor is not None:
            return actor
    return request.actor  # type: ignore[attr-defined]


def _aware(at: datetime | None) -> datetime | None:
    """A naive `at` is read in the site's time zone."""
    if at is None or timezone.is_aware(at):
        return at
    return timezone.make_aware(at)


def _item_refs(items: list[Item]) -> list[ItemRef]:
    return [ItemRef(id=i.pk, code=i.code, name=i.name) for i in items]


# ---- catalogues and versions ------------------------------------------------------------


def _with_version_in_force(qs: QuerySet[Catalogue], at: datetime) -> QuerySet[Catalogue]:
    """Annotate `version_in_force_id` (`selectors.in_force_at`), as one subquery instead
    of one query per catalogue."""
    in_force = (
        ListVersion.objects.filter(selectors.in_force_at(at), catalogue=OuterRef("pk"))
        .order_by("-valid_from")
        .values("pk")[:1]
    )
    return qs.annotate(version_in_force_id=Subquery(in_force))


class CatalogueFilter(Schema):
    level: ScopeLevel | None = None
    region: str | None = None


@router.get("/catalogues", response={200: list[CatalogueOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination, page_size=50)
def catalogue_list(request: HttpRequest, filters: Query[CatalogueFilter]) -> QuerySet[Catalogue]:
    """The catalogues: the province's guidance catalogue and the city and county lists,
    each with the id of its version in force now (null before the first publication).
    Filter by `level` (province, city, county) or `region` (a region code). Public."""
    qs = access.visible(_viewer(request), Catalogue.objects.select_related("region"))
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.region:
        qs = qs.filter(region__code=filters.region)
    return _with_version_in_force(qs, timezone.now()).order_by("region__code", "level", "pk")


def _versions(actor: Actor) -> QuerySet[ListVersion]:
    return access.visible(actor, ListVersion.objects.all())


@router.get(
    "/catalogues/{catalogue_id}/versions",
    response={200: list[VersionOut], **ERROR_RESPONSES},
    auth=None,
)
@paginate(Pagination, page_size=50)
def catalogue_versions(request: HttpRequest, catalogue_id: int) -> QuerySet[ListVersion]:
    """The versions of a catalogue, newest first: published and superseded ones for
    everybody, drafts too for the county's 编办 and system admins. Public."""
    actor = _viewer(request)
    catalogue = access.get_visible(actor, Catalogue.objects.all(), pk=catalogue_id)
    return (
        _versions(actor)
        .filter(catalogue=catalogue)
        .annotate(item_count=Count("items"))
        .order_by("-number")
    )


@router.get(
    "/versions/{version_id}", response={200: VersionDetailOut, **ERROR_RESPONSES}, auth=None
)
def version_detail(request: HttpRequest, version_id: int) -> VersionDetailOut:
    """One version with its domains (and how many items each holds). Public, except
    drafts (404 unless the caller keeps the list)."""
    qs = (
        ListVersion.objects.select_related("catalogue__region")
        .annotate(item_count=Count("items"))
        .prefetch_related(
            Prefetch(
                "domains",
                queryset=Domain.objects.annotate(item_count=Count("items")).order_by(
                    "order", "code"
                ),
            )
        )
    )
    version = access.get_visible(_viewer(request), qs, pk=version_id)
    return VersionDetailOut.from_orm(version)


# ---- items ------------------------------------------------------------------------------


class ItemFilter(Schema):
    domain: str | None = None
    department: int | None = None
    q: str | None = None


def _filtered_items(version: ListVersion, filters: ItemFilter) -> QuerySet[Item]:
    organisation = None
    if filters.department is not None:
        # Only a filter key: the list itself names its departments publicly.
        organisation = Organisation.objects.filter(pk=filters.department).first()
        if organisation is None:
            return Item.objects.none()
    return selectors.version_items(
        version=version,
        domain_code=filters.domain or None,
        search=(filters.q or "").strip() or None,
        organisation=organisation,
    )


@router.get(
    "/versions/{version_id}/items",
    response={200: list[ItemOut], **ERROR_RESPONSES},
    auth=None,
)
@paginate(Pagination, page_size=50)
def version_items(
    request: HttpRequest, version_id: int, filters: Query[ItemFilter]
) -> QuerySet[Item]:
    """The items of a version with their parties and time limits. Filters: `domain` (a
    domain code such as D1), `department` (an organisation id named as a party), `q` (a
    search in names, keywords and duties, or an exact item code). Public."""
    version = access.get_visible(_viewer(request), ListVersion.objects.all(), pk=version_id)
    return _filtered_items(version, filters)


class CountyItemFilter(ItemFilter):
    county: str
    at: datetime | None = None


@router.get("/items", response={200: list[ItemOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination, page_size=50)
def county_items(request: HttpRequest, filters: Query[CountyItemFilter]) -> QuerySet[Item]:
    """The items of the list in force in `county` (a region code) at `at` (an ISO date
    and time, default now; a time without offset is read in China Standard Time), with
    the same filters as a version's items. 404 (`not_found`) if the county had no list
    in force at that time. Public."""
    county = region_selectors.region_get(code=filters.county)
    version = selectors.county_version_in_force(county=county, at=_aware(filters.at))
    if version is None:
        raise NotFound(_("The county has no list in force at that time."))
    return _filtered_items(version, filters)


@router.get(
    "/versions/{version_id}/items/{code}",
    response={200: ItemDetailOut, **ERROR_RESPONSES},
    auth=None,
)
def item_detail(request: HttpRequest, version_id: int, code: str) -> ItemDetailOut:
    """One item of a version, by code, with its parties and procedure steps (who does
    what within what time, and where the responsibility passes on). Public."""
    version = access.get_visible(_viewer(request), ListVersion.objects.all(), pk=version_id)
    item = selectors.item_get(version=version, code=code)
    if item is None:
        raise NotFound()
    return ItemDetailOut.from_orm(item)


class DiffFilter(Schema):
    old: int
    new: int


@router.get("/diff", response={200: DiffOut, **ERROR_RESPONSES}, auth=None)
def version_diff(request: HttpRequest, filters: Query[DiffFilter]) -> DiffOut:
    """What changed from version `old` to version `new` of one catalogue: items added,
    removed, and for items in both each changed field with its old and new value
    (including the primary and assisting parties). 400
    (`catalog.diff_other_catalogue`) if the versions belong to different catalogues.
    Public."""
    actor = _viewer(request)
    versions = ListVersion.objects.all()
    old = access.get_visible(actor, versions, pk=filters.old)
    new = access.get_visible(actor, versions, pk=filters.new)
    if old.catalogue_id != new.catalogue_id:
        raise InvalidInput(
            _("Only two versions of the same catalogue can be compared."),
            code="catalog.diff_other_catalogue",
        )
    diff = selectors.version_diff(old=old, new=new)
    return DiffOut(
        old_id=old.pk,
        new_id=new.pk,
        added=_item_refs(diff.added),
        removed=_item_refs(diff.removed),
        modified=[
            ItemChangeOut(
                code=m.code,
                name=m.name,
                changes=[FieldChangeOut(field=c.field, old=c.old, new=c.new) for c in m.changes],
            )
            for m in diff.modified
        ],
    )


# ---- duties and the guard ---------------------------------------------------------------


class DutiesFilter(Schema):
    organisation: int
    at: datetime | None = None


@router.get("/duties", response={200: DutiesOut, **ERROR_RESPONSES})
def duties(request: HttpRequest, filters: Query[DutiesFilter]) -> DutiesOut:
    """The organisation's duties (我的职责): the items of the list in force (at `at`, default now) where the
    organisation bears the primary duty and where it cooperates. A stationed agency
    has its department's duties; a township is primary on township items and
    cooperates on the others and also lists its admitted out-of-list tasks (approved
    admissions naming it, in their period on that date). 404 unless the caller may see
    the organisation."""
    organisation = region_selectors.organisation_get(actor=_actor(request), pk=filters.organisation)
    found = selectors.duties_of(organisation=organisation, at=_aware(filters.at))
    return DutiesOut(
        organisation_id=organisation.pk,
        primary=_item_refs(found.primary),
        cooperating=_item_refs(found.cooperating),
        admitted=[
            AdmittedTaskOut(
                admission_id=a.pk,
                title=a.title,
                content=a.content,
                basis=a.basis,
                resources=a.resources,
                department_id=a.department_id,
                department_name=a.department.name,
                starts_on=a.starts_on,
                ends_on=a.ends_on,
            )
            for a in found.admitted
        ],
    )


class GuardFilter(Schema):
    giver: int
    receiver: int
    item: int | None = None
    duty: Literal["primary", "cooperating"] = "primary"
    at: datetime | None = None


@router.get("/guard", response={200: GuardOut, **ERROR_RESPONSES})
def guard(request: HttpRequest, filters: Query[GuardFilter]) -> GuardOut:
    """The guard's decision: may organisation `giver` hand organisation `receiver` a task
    on list item `item` (omitted: a task outside the list), asking for the `primary`
    duty or only the `cooperating` one, at `at` (default now)? A refusal is an answer
    (200, `allowed: false`) with a stable `code` such as `primary_duty_push_down`,
    `not_on_item` or `out_of_list_without_admission`. 404 unless the caller may see
    both organisations and the item."""
    actor = _actor(request)
    giver = region_selectors.organisation_get(actor=actor, pk=filters.giver)
    receiver = region_selectors.organisation_get(actor=actor, pk=filters.receiver)
    item = None
    if filters.item is not None:
        item = access.get_visible(
            actor,
            Item.objects.select_related("version").prefetch_related("parties"),
            pk=filters.item,
        )
    decision = handoff_check(
        giver=giver, receiver=receiver, item=item, duty=filters.duty, at=_aware(filters.at)
    )
    return GuardOut(
        allowed=decision.allowed,
        code=decision.code,
        message=decision.message,
        admission_id=decision.admission.pk if decision.admission else None,
    )


# ---- change requests --------------------------------------------------------------------


def _change_requests(actor: Actor) -> QuerySet[ChangeRequest]:
    return access.visible(actor, ChangeRequest.objects.select_related("filed_by_org"))


class ChangeRequestFilter(Schema):
    status: DecisionStatus | None = None


@router.get("/change-requests", response={200: list[ChangeRequestOut], **ERROR_RESPONSES})
@paginate(Pagination, page_size=50)
def change_request_list(
    request: HttpRequest, filters: Query[ChangeRequestFilter]
) -> QuerySet[ChangeRequest]:
    """Change requests the caller may see, newest first: its own organisation's, and
    every request of the county for its 编办, platform operators and assessors.
    Filter by `status` (pending, approved, rejected)."""
    qs = _change_requests(_actor(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by("-filed_at", "-pk")


@router.get("/change-requests/{request_id}", response={200: ChangeRequestOut, **ERROR_RESPONSES})
def change_request_detail(request: HttpRequest, request_id: int) -> ChangeRequestOut:
    """One change request (404 unless the caller may see it)."""
    change = access.get_visible(_actor(request), _change_requests(_actor(request)), pk=request_id)
    return ChangeRequestOut.from_orm(change)


@router.post("/change-requests", response={201: ChangeRequestOut, **ERROR_RESPONSES})
def change_request_file(request: HttpRequest, payload: ChangeRequestIn) -> Status[ChangeRequestOut]:
    """File a request to add, modify or remove an item of the list in force, on behalf
    of the caller's own department or township (`organisation_id`). `version_id` must be
    the version in force (else 409 `catalog.version_superseded`); an invalid proposal is
    refused with 400 `catalog.bad_proposal` and every problem by field in `detail`."""
    actor = _actor(request)
    organisation = region_selectors.organisation_get(actor=actor, pk=payload.organisation_id)
    version = access.get_visible(
        actor, ListVersion.objects.select_related("catalogue__region"), pk=payload.version_id
    )
    change = services.change_request_file(
        actor=actor,
        organisation=organisation,
        version=version,
        kind=payload.kind.value,
        reason=payload.reason,
        legal_basis=payload.legal_basis,
        item_code=payload.item_code,
        proposal=payload.proposal,
    )
    return Status(201, ChangeRequestOut.from_orm(change))


@router.post(
    "/change-requests/{request_id}/decision",
    response={200: ChangeRequestOut, **ERROR_RESPONSES},
)
def change_request_decide(
    request: HttpRequest, request_id: int, payload: DecisionIn
) -> ChangeRequestOut:
    """The county's 编办 approves or rejects a pending request, with an opinion (403
    `catalog.not_a_reviewer` for anyone else, 409 `catalog.already_decided` the second
    time). Approval publishes a new version at once: `result_version_id`."""
    actor = _actor(request)
    change = access.get_visible(actor, _change_requests(actor), pk=request_id)
    change = services.change_request_decide(
        actor=actor, request=change, approve=payload.approve, opinion=payload.opinion
    )
    return ChangeRequestOut.from_orm(change)


# ---- admissions of out-of-list tasks ----------------------------------------------------


def _admissions(actor: Actor) -> QuerySet[Admission]:
    return access.visible(
        actor,
        Admission.objects.select_related("department").prefetch_related(
            Prefetch("townships", queryset=Organisation.objects.order_by("name"))
        ),
    )


class AdmissionFilter(Schema):
    status: DecisionStatus | None = None


@router.get("/admissions", response={200: list[AdmissionOut], **ERROR_RESPONSES})
@paginate(Pagination, page_size=50)
def admission_list(request: HttpRequest, filters: Query[AdmissionFilter]) -> QuerySet[Admission]:
    """Admissions of out-of-list tasks the caller may see, newest first: its own
    department's, those reaching its township, and every one of the county for its
    编办, platform operators and assessors. Filter by `status`."""
    qs = _admissions(_actor(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by("-filed_at", "-pk")


@router.get("/admissions/{admission_id}", response={200: AdmissionOut, **ERROR_RESPONSES})
def admission_detail(request: HttpRequest, admission_id: int) -> AdmissionOut:
    """One admission (404 unless the caller may see it)."""
    actor = _actor(request)
    return AdmissionOut.from_orm(access.get_visible(actor, _admissions(actor), pk=admission_id))


@router.post("/admissions", response={201: AdmissionOut, **ERROR_RESPONSES})
def admission_file(request: HttpRequest, payload: AdmissionIn) -> Status[AdmissionOut]:
    """A county department asks to hand townships of its county a task that is not on
    the list, for a period (准入). Only an approved admission lets the guard allow it.
    Incomplete requests: 400 `catalog.bad_admission` with the problems by field."""
    actor = _actor(request)
    department = region_selectors.organisation_get(actor=actor, pk=payload.department_id)
    wanted = set(payload.township_ids)
    townships = list(region_selectors.organisation_list(actor=actor).filter(pk__in=wanted))
    if len(townships) != len(wanted):
        raise NotFound()
    admission = services.admission_file(
        actor=actor,
        department=department,
        title=payload.title,
        content=payload.content,
        basis=payload.basis,
        resources=payload.resources,
        townships=townships,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
    )
    return Status(201, AdmissionOut.from_orm(admission))


@router.post("/admissions/{admission_id}/decision", response={200: AdmissionOut, **ERROR_RESPONSES})
def admission_decide(request: HttpRequest, admission_id: int, payload: DecisionIn) -> AdmissionOut:
    """The county's 编办 approves or rejects a pending admission, with an opinion (403
    `catalog.not_a_reviewer` for anyone else, 409 `catalog.already_decided` the second
    time)."""
    actor = _actor(request)
    admission = access.get_visible(actor, _admissions(actor), pk=admission_id)
    admission = services.admission_decide(
        actor=actor, admission=admission, approve=payload.approve, opinion=payload.opinion
    )
    return AdmissionOut.from_orm(admission)


# ---- guidance adoption ------------------------------------------------------------------


def _adoption_tasks(actor: Actor) -> QuerySet[AdoptionTask]:
    return access.visible(actor, AdoptionTask.objects.select_related("catalogue__region", "update"))


class AdoptionTaskFilter(Schema):
    county: str | None = None
    status: AdoptionStatus | None = None


@router.get("/adoption-tasks", response={200: list[AdoptionTaskOut], **ERROR_RESPONSES})
@paginate(Pagination, page_size=50)
def adoption_task_list(
    request: HttpRequest, filters: Query[AdoptionTaskFilter]
) -> QuerySet[AdoptionTask]:
    """The changes of new guidance versions that county lists adopt or decline, newest
    guidance version first: a county's for its 编办, platform operators and assessors;
    every county's below a province or city for its users; all for system admins.
    Filter by `county` (a region code) and `status` (open, adopted, declined)."""
    qs = _adoption_tasks(_actor(request))
    if filters.county:
        qs = qs.filter(catalogue__region__code=filters.county)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by(
        "-update__new__valid_from", "-update__new__number", "kind", "item_code", "pk"
    )


@router.post("/adoption-tasks/adopt", response={200: AdoptOut, **ERROR_RESPONSES})
def adoption_tasks_adopt(request: HttpRequest, payload: AdoptIn) -> dict[str, Any]:
    """Adopt several open changes of one list together, all or none: one new version of
    the list (`version_id`). Refusals as for one decision; 400
    `catalog.adoption_other_list` for changes of different lists."""
    actor = _actor(request)
    wanted = set(payload.task_ids)
    tasks = list(_adoption_tasks(actor).filter(pk__in=wanted))
    if len(tasks) != len(wanted):
        raise NotFound()
    version = adoption.adoption_adopt(actor=actor, tasks=tasks, note=payload.note)
    return {
        "version_id": version.pk,
        "tasks": list(_adoption_tasks(actor).filter(pk__in=wanted).order_by("pk")),
    }


@router.get("/adoption-tasks/{task_id}", response={200: AdoptionTaskOut, **ERROR_RESPONSES})
def adoption_task_detail(request: HttpRequest, task_id: int) -> AdoptionTaskOut:
    """One change to adopt (404 unless the caller may see it)."""
    actor = _actor(request)
    return AdoptionTaskOut.from_orm(access.get_visible(actor, _adoption_tasks(actor), pk=task_id))


@router.post(
    "/adoption-tasks/{task_id}/decision",
    response={200: AdoptionTaskOut, **ERROR_RESPONSES},
)
def adoption_task_decide(
    request: HttpRequest, task_id: int, payload: AdoptionDecisionIn
) -> AdoptionTaskOut:
    """The county's 编办 adopts the change (`adopt: true`: an approved change request
    publishes a new version of the list at once; `reason` is an optional note) or
    declines it (`adopt: false`, `reason` required: 400
    `catalog.adoption_reason_required`). 403 `catalog.not_a_reviewer` for anyone else
    who may see it (a province or city user, the county's platform), 404 for other
    counties, 409 `catalog.adoption_decided` the second time, 400
    `catalog.adoption_not_applicable` when the list cannot take the change as it is (an
    item the county split or removed, a department it lacks): decline it instead."""
    actor = _actor(request)
    task = access.get_visible(actor, _adoption_tasks(actor), pk=task_id)
    if payload.adopt:
        adoption.adoption_adopt(actor=actor, tasks=[task], note=payload.reason)
    else:
        adoption.adoption_decline(actor=actor, task=task, reason=payload.reason)
    return AdoptionTaskOut.from_orm(_adoption_tasks(actor).get(pk=task.pk))


class AdoptionStatusFilter(Schema):
    county: str | None = None


@router.get("/adoption-status", response={200: list[AdoptionStatusOut], **ERROR_RESPONSES})
def adoption_status(
    request: HttpRequest, filters: Query[AdoptionStatusFilter]
) -> list[AdoptionStatusOut]:
    """Per county list the caller may follow (as for the tasks): how many changes of
    the guidance are open, adopted and declined, and whether it is up to date."""
    catalogues = adoption_catalogues(_actor(request))
    if filters.county:
        catalogues = catalogues.filter(region__code=filters.county)
    return [
        AdoptionStatusOut(
            catalogue_id=row.catalogue.pk,
            county_code=row.county.code,
            county_name=row.county.name,
            open=row.open,
            adopted=row.adopted,
            declined=row.declined,
            total=row.total,
            percent_decided=row.percent_decided,
            up_to_date=row.up_to_date,
            guidance_version_id=row.guidance.pk if row.guidance else None,
            based_on_id=row.based_on.pk if row.based_on else None,
        )
        for row in selectors.guidance_adoption_statuses(catalogues=catalogues)
    ]
