"""Reads of the open government pages (no login).

These selectors deliberately read past the staff access policies: what they return is
what the county publishes — issued notices, published rankings, the lists in force,
closed calls — and every free text they hand out is passed through
`core.masking.mask_personal_text` by the caller's row builders (`open/rows.py`). Each
list reads a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from xianghu.assessment.access import Scope
from xianghu.assessment.dashboards import (
    DashboardScope,
    ScopeKind,
    monthly_trend,
    trend_months,
)
from xianghu.assessment.models import EntryStatus, Notice, NoticeEntry, NoticeStatus
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import policy_for
from xianghu.calls.models import Attachment, Call, CallEvent, Dispatch, DispatchRole
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Catalogue, Item, ItemParty, ListVersion, PartyRole, PrimaryLevel
from xianghu.catalog.models import ScopeLevel as CatalogueLevel
from xianghu.core.actor import ANONYMOUS
from xianghu.core.sandbox import outside_sandbox
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel

from ..models_open import PhotoClearance, PublishedRanking

# ---- counties ---------------------------------------------------------------------------


def open_counties() -> list[Region]:
    """The counties on the platform: those with a county list (one query); practice
    counties of the training sandbox are not published."""
    ids = Catalogue.objects.filter(level=CatalogueLevel.COUNTY).values("region_id")
    return list(
        Region.objects.filter(outside_sandbox(), level=RegionLevel.COUNTY, pk__in=ids).order_by(
            "code"
        )
    )


def open_county(code: str | None) -> tuple[Region | None, list[Region]]:
    """The county named by `code` (default: the first one) and all of them."""
    counties = open_counties()
    chosen = next((c for c in counties if c.code == code), None) if code else None
    return chosen or (counties[0] if counties else None), counties


# ---- the lists in force: each department's duties -------------------------------------


def version_in_force(*, county: Region) -> ListVersion | None:
    return catalog_selectors.county_version_in_force(county=county)


def departments_with_duties(
    *, county: Region, version: ListVersion | None
) -> QuerySet[Organisation]:
    """The county's active departments with the number of items of the list in force on
    which they are primary (`primary_count`) or assisting (`assisting_count`)."""
    in_version = Q(list_parties__item__version=version) if version else Q(pk__in=[])
    return (
        Organisation.objects.filter(county=county, kind=OrgKind.DEPARTMENT, is_active=True)
        .annotate(
            primary_count=Count(
                "list_parties",
                filter=in_version & Q(list_parties__role=PartyRole.PRIMARY),
                distinct=True,
            ),
            assisting_count=Count(
                "list_parties",
                filter=in_version & Q(list_parties__role=PartyRole.ASSISTING),
                distinct=True,
            ),
        )
        .order_by("name", "pk")
    )


def township_primary_count(*, version: ListVersion | None) -> int:
    if version is None:
        return 0
    return Item.objects.filter(version=version, primary_level=PrimaryLevel.TOWNSHIP).count()


def department_get(*, county: Region, pk: int) -> Organisation | None:
    return Organisation.objects.filter(
        county=county, kind=OrgKind.DEPARTMENT, is_active=True, pk=pk
    ).first()


def _items(version: ListVersion) -> QuerySet[Item]:
    return (
        Item.objects.filter(version=version)
        .select_related("domain")
        .prefetch_related(
            Prefetch("parties", queryset=ItemParty.objects.select_related("organisation"))
        )
        .order_by("domain__order", "order", "code")
    )


def department_items(
    *, version: ListVersion, department: Organisation, role: str
) -> QuerySet[Item]:
    """The items of the version on which `department` is primary or assisting."""
    return _items(version).filter(
        pk__in=ItemParty.objects.filter(organisation=department, role=role).values("item_id")
    )


def township_items(*, version: ListVersion) -> QuerySet[Item]:
    """The items whose primary duty is the township's."""
    return _items(version).filter(primary_level=PrimaryLevel.TOWNSHIP)


# ---- rankings and notices as published --------------------------------------------------


def published_rankings(*, county: Region) -> QuerySet[PublishedRanking]:
    return PublishedRanking.objects.filter(county=county).order_by("-starts_on", "-pk")


def published_ranking_get(*, county: Region, pk: int) -> PublishedRanking | None:
    return published_rankings(county=county).filter(pk=pk).first()


def issued_notices(*, county: Region) -> QuerySet[Notice]:
    """The county's issued notices, newest first, with the number of organisations
    named and of entries closed."""
    return (
        Notice.objects.filter(county=county, status=NoticeStatus.ISSUED)
        .select_related("county")
        .annotate(
            entry_count=Count("entries", distinct=True),
            closed_count=Count(
                "entries", filter=Q(entries__status=EntryStatus.CLOSED), distinct=True
            ),
        )
        .order_by("-issued_at", "-pk")
    )


def issued_notice_get(*, county: Region, pk: int) -> Notice | None:
    return (
        Notice.objects.filter(county=county, status=NoticeStatus.ISSUED, pk=pk)
        .select_related("county")
        .first()
    )


def notice_entries(*, notice: Notice) -> list[NoticeEntry]:
    return list(notice.entries.order_by("position", "pk"))


# ---- closed cases ---------------------------------------------------------------------

OUTCOME_ACTIONS = ("complete", "evaluate", "auto_close")


def cleared_photos() -> QuerySet[Attachment]:
    return Attachment.objects.filter(public_clearance__isnull=False).order_by("pk")


def closed_cases(
    *,
    county: Region | None,
    township: Region | None = None,
    item_code: str | None = None,
    search: str | None = None,
) -> QuerySet[Call]:
    """The county's closed calls, latest closed first, with what the case pages show:
    the place, item, caller, the lead, the outcome events and the cleared photos (four
    queries with the count, whatever the number of rows)."""
    qs = Call.objects.filter(state=State.CLOSED)
    if county is not None:
        qs = qs.filter(county=county)
    if township is not None:
        qs = qs.filter(Q(location_id=township.pk) | Q(location__parent_id=township.pk))
    if item_code:
        qs = qs.filter(item__code=item_code)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(number__iexact=search))
    return (
        qs.select_related("location", "location__parent", "item", "caller", "callee")
        .prefetch_related(
            Prefetch(
                "dispatches",
                queryset=Dispatch.objects.filter(role=DispatchRole.LEAD, active=True)
                .select_related("organisation")
                .order_by("-dispatched_at", "-pk"),
                to_attr="leads",
            ),
            Prefetch(
                "events",
                queryset=CallEvent.objects.filter(action__in=OUTCOME_ACTIONS).order_by("seq"),
                to_attr="outcome_events",
            ),
            Prefetch("attachments", queryset=cleared_photos(), to_attr="public_photos"),
        )
        .order_by("-state_changed_at", "-pk")
    )


def closed_case_get(*, number: str) -> Call | None:
    """A closed call of any county on the platform, by its number."""
    return closed_cases(county=None).filter(number=number).first()


def townships_of(*, county: Region) -> list[Region]:
    return list(Region.objects.filter(parent=county, level=RegionLevel.TOWNSHIP).order_by("code"))


def cleared_photo_get(*, pk: int) -> Attachment | None:
    """A photo that may be served publicly: cleared, of a closed call."""
    return (
        Attachment.objects.filter(pk=pk, public_clearance__isnull=False, call__state=State.CLOSED)
        .select_related("call")
        .first()
    )


def case_photos(*, call: Call) -> list[tuple[Attachment, PhotoClearance | None]]:
    """Every photo of a call with its clearance (for the staff page)."""
    photos = Attachment.objects.filter(call=call).select_related("public_clearance").order_by("pk")
    out = []
    for photo in photos:
        try:
            clearance: PhotoClearance | None = photo.public_clearance
        except PhotoClearance.DoesNotExist:
            clearance = None
        out.append((photo, clearance))
    return out


# ---- monthly statistics ----------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: str  # 2026-05
    calls: int  # calls made in the month (handed to the county: no drafts, none withdrawn)
    closed: int  # calls closed in the month (still closed now)
    received: int  # lead dispatches received (as in the assessment)
    response_rate: Decimal | None
    completion_rate: Decimal | None  # completed on time, of those due in the month
    satisfaction_rate: Decimal | None
    overdue: int


def _by_month(qs: QuerySet[Call], field: str, span: Period) -> dict[tuple[int, int], int]:
    rows = (
        qs.filter(**{f"{field}__gte": span.starts_at, f"{field}__lt": span.ends_at})
        .annotate(month=TruncMonth(field, tzinfo=CHINA_TZ))
        .values("month")
        .order_by()
        .annotate(n=Count("pk"))
    )
    out: dict[tuple[int, int], int] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime) and timezone.is_aware(month):
            month = month.astimezone(CHINA_TZ)
        out[(month.year, month.month)] = row["n"]
    return out


def monthly_statistics(
    *, county: Region, now: datetime | None = None, count: int = 12
) -> list[MonthRow]:
    """The county's last `count` months (the current one included), newest first: the
    calls made and closed, and the rates of the assessment (`assessment.dashboards.
    monthly_trend`, the whole county). Six grouped queries, whatever the months."""
    now = now or timezone.now()
    today = timezone.localdate(now, CHINA_TZ)
    months = trend_months(Period.month(today.year, today.month), today=today, count=count)
    scope = DashboardScope(
        actor=ANONYMOUS,
        county=county,
        kind=ScopeKind.COUNTY,
        name=county.name,
        scope=Scope(county_id=county.pk, everything=True, subject_ids=frozenset()),
        organisation=None,
    )
    trend = monthly_trend(scope, months, policy=policy_for(county.pk), now=now)
    span = Period.days(months[0].start, months[-1].end)
    calls = Call.objects.filter(county=county)
    made = _by_month(calls.exclude(state__in=(State.DRAFT, State.CANCELLED)), "created_at", span)
    closed = _by_month(calls.filter(state=State.CLOSED), "state_changed_at", span)
    rows = []
    for point in trend:
        key = (point.period.start.year, point.period.start.month)
        rows.append(
            MonthRow(
                month=point.period.key,
                calls=made.get(key, 0),
                closed=closed.get(key, 0),
                received=point.received,
                response_rate=point.response_rate,
                completion_rate=point.completion_rate,
                satisfaction_rate=point.satisfaction_rate,
                overdue=point.overdue,
            )
        )
    return list(reversed(rows))
