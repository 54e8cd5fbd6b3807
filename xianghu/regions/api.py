"""REST endpoints for regions and organisations (/api/v1/regions, /api/v1/organisations)."""

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES, Pagination
from xianghu.core.errors import NotFound

from . import selectors, services
from .models import Membership, Organisation, Region
from .roles import OrgKind, Role
from .schemas import MemberIn, MemberOut, MembershipOut, OrganisationOut, RegionOut

router = Router(tags=["regions"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


def _region_out(region: Region) -> RegionOut:
    parent_code = region.path.rstrip("/").rsplit("/", 2)[-2] if region.parent_id else None
    return RegionOut(
        code=region.code,
        name=region.name,
        level=region.level,
        kind=region.kind,
        parent_code=parent_code,
    )


def _org_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=org.pk,
        name=org.name,
        short_name=org.short_name,
        kind=org.kind,
        kind_label=str(OrgKind(org.kind).label),
        region_code=org.region.code,
        county_code=org.county.code if org.county else None,
        township_code=org.township.code if org.township else None,
        parent_id=org.parent_id,
    )


class RegionFilter(Schema):
    parent: str | None = None


@router.get("/regions", response={200: list[RegionOut], **ERROR_RESPONSES})
@paginate(Pagination, page_size=100)
def region_list(request: HttpRequest, filters: Query[RegionFilter]) -> list[RegionOut]:
    """Regions below `parent` (a region code), or the top level when it is absent."""
    parent = selectors.region_get(code=filters.parent) if filters.parent else None
    return [_region_out(r) for r in selectors.region_children(parent=parent)]


@router.get("/regions/{code}", response={200: RegionOut, **ERROR_RESPONSES})
def region_detail(request: HttpRequest, code: str) -> RegionOut:
    return _region_out(selectors.region_get(code=code))


class OrganisationFilter(Schema):
    kind: OrgKind | None = None
    county: str | None = None
    q: str | None = None


@router.get("/organisations", response={200: list[OrganisationOut], **ERROR_RESPONSES})
@paginate(Pagination, page_size=50)
def organisation_list(
    request: HttpRequest, filters: Query[OrganisationFilter]
) -> list[OrganisationOut]:
    """Organisations the caller may see, filtered by kind, county code or a name search."""
    county = None
    if filters.county:
        try:
            county = selectors.region_get(code=filters.county)
        except NotFound:
            return []
    qs = selectors.organisation_list(
        actor=_actor(request), kind=filters.kind, county=county, search=filters.q
    )
    return [_org_out(o) for o in qs]


@router.get("/organisations/{org_id}", response={200: OrganisationOut, **ERROR_RESPONSES})
def organisation_detail(request: HttpRequest, org_id: int) -> OrganisationOut:
    return _org_out(selectors.organisation_get(actor=_actor(request), pk=org_id))


def _member_out(m: Membership) -> MemberOut:
    return MemberOut(
        user_id=m.user_id,
        name=m.user.name or m.user.username,
        role=m.role,
        role_label=str(Role(m.role).label),
        title=m.title,
        phone_masked=m.user.masked_phone,
    )


@router.get("/organisations/{org_id}/members", response={200: list[MemberOut], **ERROR_RESPONSES})
def organisation_members(request: HttpRequest, org_id: int) -> list[MemberOut]:
    """Active members with masked phone numbers; 404 unless the caller may see them."""
    actor = _actor(request)
    org = selectors.organisation_get(actor=actor, pk=org_id)
    return [_member_out(m) for m in selectors.organisation_members(actor=actor, organisation=org)]


def _membership_out(m: Membership) -> MembershipOut:
    return MembershipOut(
        id=m.pk,
        user_id=m.user_id,
        organisation_id=m.organisation_id,
        role=m.role,
        title=m.title,
        is_active=m.is_active,
    )


@router.post(
    "/organisations/{org_id}/members",
    response={201: MembershipOut, **ERROR_RESPONSES},
)
def organisation_member_add(
    request: HttpRequest, org_id: int, payload: MemberIn
) -> Status[MembershipOut]:
    """Give an existing user a role here (leaders for their own organisation and
    what hangs below it; system administrators everywhere)."""
    actor = _actor(request)
    org = selectors.organisation_get(actor=actor, pk=org_id)
    user = selectors.user_by_username(username=payload.username)
    membership = services.membership_create(
        actor=actor, user=user, organisation=org, role=payload.role, title=payload.title
    )
    return Status(201, _membership_out(membership))


@router.delete("/memberships/{membership_id}", response={200: MembershipOut, **ERROR_RESPONSES})
def membership_deactivate(request: HttpRequest, membership_id: int) -> MembershipOut:
    """Deactivate a membership (kept for the audit trail, never deleted)."""
    actor = _actor(request)
    membership = access.get_visible(actor, Membership.objects.all(), pk=membership_id)
    return _membership_out(services.membership_deactivate(actor=actor, membership=membership))
