"""The call clocks of a list item's printed manual (说明书, `catalog.manual`).

The lists sit below the calls app, so the manual cannot read a county's time policy
itself: `CallsConfig.ready` registers `item_clocks` in `catalog.manual.CALL_CLOCK_PROVIDERS`.
The limits are those a new call on the item would get (`deadlines.limits_for`, so the
item's own respond/complete limits win where the policy says so).
"""

from __future__ import annotations

from xianghu.catalog.manual import CallClocks, ClockRow, ItemClocks
from xianghu.catalog.models import Item
from xianghu.core.errors import InvalidInput

from .deadlines import clock_policy, limit_text, limit_text_label, limits_for
from .models import Call, TimePolicy, Urgency


def item_clocks(county_id: int) -> ItemClocks:
    """The clocks of calls on items of `county_id`'s list (its policy read once)."""
    policy = clock_policy(county_id)
    customised = TimePolicy.objects.filter(county_id=county_id).exists()

    def clocks(item: Item) -> CallClocks | None:
        rows = []
        for urgency in Urgency:
            # An unsaved call: what limits_for would give a new call on the item.
            call = Call(county_id=county_id, item=item, urgency=urgency)
            try:
                limits = limits_for(call, policy)
            except InvalidInput:
                # An item limit that cannot be read: the policy's own limits apply.
                limits = policy.limits[urgency]
            rows.append(
                ClockRow(
                    urgency=str(urgency.label),
                    accept=limit_text_label(limit_text(limits.accept)),
                    sign=limits.sign.label,
                    respond=limits.respond.label,
                    complete=limits.complete.label,
                )
            )
        return CallClocks(rows=tuple(rows), customised=customised)

    return clocks
