"""Who may see what of routing."""

from __future__ import annotations

from xianghu.regions.models import Membership
from xianghu.regions.roles import OrgKind, Role

# Who watches how well routing does: the county's platform, its office and the 编办.
MONITOR_KINDS = frozenset({OrgKind.PLATFORM_CENTRE, OrgKind.COUNTY_OFFICE, OrgKind.BIANBAN})


def may_see_gaps(membership: Membership | None) -> bool:
    """Whether the list-gap page (/routing/gaps/) opens for this membership (no query):
    the county's monitors (`MONITOR_KINDS`) and the leaders of its departments."""
    if membership is None:
        return False
    org = membership.organisation
    if org.county_id is None:
        return False
    if org.kind in MONITOR_KINDS:
        return True
    return membership.role == Role.DEPARTMENT_LEADER and org.kind == OrgKind.DEPARTMENT
