"""The list-gap page (/routing/gaps/): recurring out-of-list calls of the county, grouped
by topic (`hotspots.list_gaps`), each with a link that drafts a change request to the
list (the catalog's form, prefilled).

Who opens it (`access.may_see_gaps`): the members of the county's platform centre, county
office (两办) and 编办 (`access.MONITOR_KINDS`, as for the acceptance monitor) and the leaders
of the county's departments, who may file the change request themselves. Everybody else
gets 403.
The button shows only when the membership the user works as may file a change request
(`catalog.services._filing_grant`: departments and townships).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from xianghu.calls.models import Call
from xianghu.catalog import services as catalog_services
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation, Region

from .access import may_see_gaps
from .hotspots import GapCluster, list_gaps

# The period shown when none is asked for: the last half year.
DEFAULT_DAYS = 183
MIN_CALLS_CHOICES = (2, 3, 5)
# At most this many call numbers are written into a drafted change request's reason.
REASON_NUMBERS = 20


def may_file_change(actor: Actor, organisation: Organisation) -> bool:
    try:
        catalog_services._filing_grant(actor, organisation)
    except PermissionDenied:
        return False
    return True


@dataclass(frozen=True)
class GapRow:
    cluster: GapCluster
    draft_url: str  # the prefilled change request; "" when the viewer may not file one


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ)


def change_draft_url(cluster: GapCluster, *, since: date, until: date) -> str:
    """The catalog's change-request form, prefilled to add an item for the cluster."""
    numbers = [c.number for c in cluster.calls]
    listed = "、".join(numbers[:REASON_NUMBERS])
    if len(numbers) > REASON_NUMBERS:
        listed = _("%(numbers)s and %(n)d more") % {
            "numbers": listed,
            "n": len(numbers) - REASON_NUMBERS,
        }
    reason = _(
        "%(count)d calls outside the list about %(topic)s between %(since)s and %(until)s "
        "(townships: %(townships)s): %(numbers)s."
    ) % {
        "count": cluster.count,
        "topic": cluster.label or cluster.representative,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "townships": "、".join(cluster.townships) or "—",
        "numbers": listed,
    }
    query = {
        "kind": "add",
        "name": cluster.label or cluster.representative,
        "reason": reason,
        "keywords": ",".join(cluster.terms),
    }
    return f"{reverse('catalog:change_request_new')}?{urlencode(query)}"


@login_required
@require_GET
def gaps_page(request: XhRequest) -> HttpResponse:
    """Recurring out-of-list calls of the user's county in a period, by topic."""
    membership = current_membership(request)
    if not may_see_gaps(membership):
        raise PermissionDenied(
            _(
                "Only the platform centre, the county office, the establishment office and "
                "the leaders of county departments see the list gaps."
            ),
            code="routing.gaps_not_allowed",
        )
    assert membership is not None
    county: Region | None = membership.organisation.county
    assert county is not None  # may_see_gaps
    today = timezone.localdate(timezone=CHINA_TZ)
    until = _day(request.GET.get("until")) or today
    since = _day(request.GET.get("since")) or until - timedelta(days=DEFAULT_DAYS)
    error = ""
    if since > until:
        error = _("The period starts after it ends; the last half year is shown.")
        until, since = today, today - timedelta(days=DEFAULT_DAYS)
    raw = request.GET.get("min", "")
    min_calls = int(raw) if raw.isdigit() and int(raw) in MIN_CALLS_CHOICES else 3
    clusters = list_gaps(
        county=county,
        since=_start_of(since),
        until=_start_of(until + timedelta(days=1)),
        min_calls=min_calls,
    )
    can_file = may_file_change(request.actor, membership.organisation)
    rows = [
        GapRow(
            cluster=c,
            draft_url=change_draft_url(c, since=since, until=until) if can_file else "",
        )
        for c in clusters
    ]
    # Call numbers link to the call pages the user may open.
    wanted = [pk for c in clusters for pk in c.call_ids]
    linkable = (
        set(
            access.visible(request.actor, Call.objects.filter(pk__in=wanted))
            .order_by()
            .values_list("pk", flat=True)
        )
        if wanted
        else set()
    )
    return render(
        request,
        "routing/gaps.html",
        {
            "county": county,
            "rows": rows,
            "since": since,
            "until": until,
            "min_calls": min_calls,
            "min_choices": MIN_CALLS_CHOICES,
            "error": error,
            "can_file": can_file,
            "linkable": linkable,
        },
    )
