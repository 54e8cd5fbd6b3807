"""Who may see what of routing."""

from __future__ import annotations

from xianghu.regions.roles import OrgKind

# Who watches how well routing does: the county's platform, its office and the 编办.
MONITOR_KINDS = frozenset({OrgKind.PLATFORM_CENTRE, OrgKind.COUNTY_OFFICE, OrgKind.BIANBAN})
