"""Writes of regions, organisations and memberships."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput

from .models import Membership, Organisation, Region
from .roles import LEVEL_ORDER, ROLE_ORG_KINDS, OrgKind, RegionLevel, Role

# Code lengths per level (GB/T 2260 for province–county, statistical codes below).
_CODE_LENGTH = {
    RegionLevel.PROVINCE: 6,
    RegionLevel.CITY: 6,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
}


def region_upsert(
    *, code: str, name: str, level: str, kind: str, parent: Region | None = None
) -> Region:
    """Create or update a region, checking that it sits one level below its parent."""
    if len(code) != _CODE_LENGTH[RegionLevel(level)] or not code.isdigit():
        raise InvalidInput(
            _("Region code %(code)s does not fit the level %(level)s.")
            % {"code": code, "level": level},
            code="region.bad_code",
        )
    if parent is not None:
        if (
            LEVEL_ORDER.index(RegionLevel(level))
            != LEVEL_ORDER.index(RegionLevel(parent.level)) + 1
        ):
            raise InvalidInput(
                _("A %(level)s cannot be placed under a %(parent)s.")
                % {"level": level, "parent": parent.level},
                code="region.bad_parent",
            )
        if level in (RegionLevel.TOWNSHIP, RegionLevel.VILLAGE) and not code.startswith(
            parent.code
        ):
            raise InvalidInput(
                _("Region code %(code)s must extend its parent's code %(parent)s.")
                % {"code": code, "parent": parent.code},
                code="region.bad_code",
            )
    region, _created = Region.objects.update_or_create(
        code=code, defaults={"name": name, "level": level, "kind": kind, "parent": parent}
    )
    return region


def _county_of(region: Region) -> Region | None:
    node: Region | None = region
    while node is not None and node.level not in (RegionLevel.COUNTY,):
        if node.level in (RegionLevel.PROVINCE, RegionLevel.CITY):
            return None
        node = node.parent
    return node


def _township_of(region: Region) -> Region | None:
    if region.level == RegionLevel.TOWNSHIP:
        return region
    if region.level == RegionLevel.VILLAGE:
        return region.parent
    return None


def organisation_upsert(
    *,
    name: str,
    kind: str,
    region: Region,
    parent: Organisation | None = None,
    host_township: Region | None = None,
    **fields: Any,
) -> Organisation:
    """Create or update an organisation; county and township are derived from its region."""
    if kind == OrgKind.STATIONED_AGENCY:
        if parent is None or parent.kind != OrgKind.DEPARTMENT:
            raise InvalidInput(
                _("A stationed agency must belong to a county department."),
                code="organisation.agency_without_department",
            )
        if host_township is None or host_township.level != RegionLevel.TOWNSHIP:
            raise InvalidInput(
                _("A stationed agency must be hosted by a township."),
                code="organisation.agency_without_host",
            )
        region = host_township
    if kind == OrgKind.TOWNSHIP and region.level != RegionLevel.TOWNSHIP:
        raise InvalidInput(
            _("A township government must serve a township region."),
            code="organisation.bad_region",
        )
    if kind == OrgKind.VILLAGE and region.level != RegionLevel.VILLAGE:
        raise InvalidInput(
            _("A village committee must serve a village region."),
            code="organisation.bad_region",
        )
    org, _created = Organisation.objects.update_or_create(
        region=region,
        kind=kind,
        name=name,
        defaults={
            "county": _county_of(region),
            "township": _township_of(region),
            "parent": parent,
            **fields,
        },
    )
    return org


@transaction.atomic
def membership_create(
    *,
    actor: Actor | None,
    user: Any,
    organisation: Organisation,
    role: str,
    title: str = "",
) -> Membership:
    """Give a user a role in an organisation.

    `actor=None` is for trusted callers (the demo command, migrations); otherwise the
    actor must be allowed to manage the organisation's members.
    """
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."), code="membership.unknown_role")
    if organisation.kind not in ROLE_ORG_KINDS[role]:
        raise InvalidInput(
            _("The role %(role)s cannot be held in a %(kind)s.")
            % {"role": Role(role).label, "kind": OrgKind(organisation.kind).label},
            code="membership.role_not_allowed",
        )
    if actor is not None:
        access.require(actor, "manage_members", organisation)
        if role == Role.SYSTEM_ADMIN and not actor.has_role(Role.SYSTEM_ADMIN):
            raise InvalidInput(
                _("Only a system administrator can appoint another."),
                code="membership.role_not_allowed",
            )
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=role, defaults={"title": title}
    )
    if not created:
        if membership.is_active:
            raise Conflict(
                _("This user already holds this role in this organisation."),
                code="membership.exists",
            )
        membership.is_active = True
        membership.title = title or membership.title
        membership.save(update_fields=["is_active", "title"])
    return membership


@transaction.atomic
def membership_deactivate(*, actor: Actor, membership: Membership) -> Membership:
    access.require(actor, "deactivate", membership)
    if membership.user_id == actor.user_id and membership.role == Role.SYSTEM_ADMIN:
        raise Conflict(
            _("You cannot remove your own administrator role."), code="membership.self_removal"
        )
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    return membership
