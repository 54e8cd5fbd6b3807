"""Who may use the participation pages that are about no single object.

The registered policies of the stakeholder registry and resource coordination are in
`coord/access.py`; public reports are scoped by `public_reports.moderation_rule`.
"""

from __future__ import annotations

from xianghu.core.actor import Actor
from xianghu.regions.access import is_system_admin


def may_see_unmask_audit(actor: Actor) -> bool:
    """Whether the actor opens the unmasking audit (who saw a reporter's full contact):
    system administrators (`selectors.unmask_audit` keeps the rows of their counties)."""
    return is_system_admin(actor)
