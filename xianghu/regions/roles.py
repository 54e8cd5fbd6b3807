"""Roles and organisation kinds, and which role may be held in which kind of organisation."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")
    VILLAGE = "village", _("Village")


class RegionKind(models.TextChoices):
    """Finer type within a level (乡/镇/街道, 村/社区)."""

    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    DISTRICT = "district", _("District")
    COUNTY_CITY = "county_city", _("County-level city")
    TOWN = "town", _("Town (镇)")
    XIANG = "xiang", _("Township (乡)")
    SUBDISTRICT = "subdistrict", _("Subdistrict (街道)")
    VILLAGE = "village", _("Village (村)")
    COMMUNITY = "community", _("Community (社区)")


LEVEL_ORDER = [
    RegionLevel.PROVINCE,
    RegionLevel.CITY,
    RegionLevel.COUNTY,
    RegionLevel.TOWNSHIP,
    RegionLevel.VILLAGE,
]


class OrgKind(models.TextChoices):
    COUNTY_OFFICE = "county_office", _("County Party and government offices (两办)")
    PLATFORM_CENTRE = "platform_centre", _("Platform centre")
    DEPARTMENT = "department", _("County department")
    STATIONED_AGENCY = "stationed_agency", _("Stationed agency")
    TOWNSHIP = "township", _("Township government")
    VILLAGE = "village", _("Village committee")
    BIANBAN = "bianban", _("Establishment office (编办)")
    SOCIAL_ORG = "social_org", _("Social organisation")
    ENTERPRISE = "enterprise", _("Enterprise")
    VOLUNTEER_TEAM = "volunteer_team", _("Volunteer team")


GOVERNMENT_KINDS = frozenset(
    {
        OrgKind.COUNTY_OFFICE,
        OrgKind.PLATFORM_CENTRE,
        OrgKind.DEPARTMENT,
        OrgKind.STATIONED_AGENCY,
        OrgKind.TOWNSHIP,
        OrgKind.VILLAGE,
        OrgKind.BIANBAN,
    }
)
SOCIETY_KINDS = frozenset({OrgKind.SOCIAL_ORG, OrgKind.ENTERPRISE, OrgKind.VOLUNTEER_TEAM})


class Role(models.TextChoices):
    TOWNSHIP_REPORTER = "township_reporter", _("Township reporter")
    TOWNSHIP_LEADER = "township_leader", _("Township leader")
    PLATFORM_OPERATOR = "platform_operator", _("Platform operator")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    DEPARTMENT_LEADER = "department_leader", _("Department leader")
    BIANBAN_REVIEWER = "bianban_reviewer", _("Establishment office reviewer")
    ASSESSOR = "assessor", _("Assessor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    # MLPS 2.0 three-role separation: reads the security audit log (core.audit), nothing else.
    SECURITY_AUDITOR = "security_auditor", _("Security auditor")
    PUBLIC_USER = "public_user", _("Public user")


# Which organisation kinds a role may be held in. Everything else is refused by
# `membership_create` with the code `membership.role_not_allowed`.
ROLE_ORG_KINDS: dict[str, frozenset[str]] = {
    Role.TOWNSHIP_REPORTER: frozenset({OrgKind.TOWNSHIP, OrgKind.VILLAGE}),
    Role.TOWNSHIP_LEADER: frozenset({OrgKind.TOWNSHIP}),
    Role.PLATFORM_OPERATOR: frozenset({OrgKind.PLATFORM_CENTRE}),
    Role.DEPARTMENT_HANDLER: frozenset({OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY}),
    Role.DEPARTMENT_LEADER: frozenset({OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY}),
    Role.BIANBAN_REVIEWER: frozenset({OrgKind.BIANBAN}),
    Role.ASSESSOR: frozenset({OrgKind.COUNTY_OFFICE, OrgKind.PLATFORM_CENTRE}),
    Role.SYSTEM_ADMIN: frozenset({OrgKind.PLATFORM_CENTRE, OrgKind.COUNTY_OFFICE}),
    Role.SECURITY_AUDITOR: frozenset({OrgKind.COUNTY_OFFICE, OrgKind.PLATFORM_CENTRE}),
    Role.PUBLIC_USER: SOCIETY_KINDS,
}

# Roles whose remit is the whole county they work in (they see every organisation of it).
COUNTY_WIDE_ROLES = frozenset(
    {Role.PLATFORM_OPERATOR, Role.BIANBAN_REVIEWER, Role.ASSESSOR, Role.SYSTEM_ADMIN}
)
LEADER_ROLES = frozenset({Role.TOWNSHIP_LEADER, Role.DEPARTMENT_LEADER})
