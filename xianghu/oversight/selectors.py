"""The figures of the oversight pages (docs/oversight.md), read through the lower
apps' selectors: the lists (`catalog.selectors`), the assessment metrics and rankings
(`assessment.metrics`, `assessment.scores`, `assessment.dashboards.totals_of`) and the
calls (`calls.supervision.CARD_STATES`, the overdue rule of the board and the overview).

The caller checks the remit (`access.region_get`); these functions take regions the
actor may oversee and answer with aggregated figures only, never a call or a person.
Queries: a fixed number for the whole table, plus the assessment metrics of each county
(`metrics_for_period`: five queries, and one for the county's rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from xianghu.assessment.dashboards import totals_of
from xianghu.assessment.metrics import SubjectMetrics, metrics_for_period
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import Policy, policy_for
from xianghu.assessment.scores import RankStatus, ranking_for_period
from xianghu.calls.models import Call
from xianghu.calls.supervision import CARD_STATES
from xianghu.calls.workflow import State
from xianghu.catalog.models import Catalogue, Item, ItemOrigin, ListVersion, RemovedItem, ScopeLevel
from xianghu.catalog.selectors import AdoptionProgress, guidance_adoption_statuses, in_force_at
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel, Role

#: Calls "flow" when the county received one in this many days before the moment.
FLOW_DAYS = 30


@dataclass
class ListStatus:
    """A county's list at a moment: derived (a county list exists), published (a
    version in force), how it departs from its guidance version (`derivation_of`'s
    local, split and removed items) and the adoption backlog."""

    derived: bool = False
    version: ListVersion | None = None
    added: int = 0
    split: int = 0
    removed: int = 0
    adoption: AdoptionProgress | None = None

    @property
    def published(self) -> bool:
        return self.version is not None

    @property
    def backlog(self) -> int:
        return self.adoption.open if self.adoption else 0


@dataclass
class Mechanism:
    """Whether the call mechanism is live in a county at a moment."""

    operators: int = 0
    callable_items: int = 0
    with_steps: int = 0
    recent_calls: int = 0

    @property
    def staffed(self) -> bool:
        return self.operators > 0

    @property
    def procedures_share(self) -> Decimal | None:
        if not self.callable_items:
            return None
        return (Decimal(self.with_steps) / Decimal(self.callable_items)).quantize(Decimal("0.0001"))

    @property
    def procedures_done(self) -> bool:
        return self.callable_items > 0 and self.with_steps == self.callable_items

    @property
    def flowing(self) -> bool:
        return self.recent_calls > 0

    @property
    def live(self) -> bool:
        return self.staffed and self.procedures_done and self.flowing


@dataclass
class Rates:
    response: Decimal | None = None
    completion: Decimal | None = None
    satisfaction: Decimal | None = None
    supervised: int = 0

    @property
    def composite(self) -> Decimal | None:
        """The mean of the rates with data (None without any)."""
        values = [v for v in (self.response, self.completion, self.satisfaction) if v is not None]
        if not values:
            return None
        return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.0001"))


@dataclass
class CountyRow:
    region: Region
    list: ListStatus
    mechanism: Mechanism
    rates: Rates
    overdue: int = 0
    rank: int | None = None


@dataclass
class TownshipRow:
    region: Region
    organisation: Organisation | None
    calls_sent: int = 0
    rates: Rates = field(default_factory=Rates)
    overdue: int = 0
    rank: int | None = None
    rank_status: str = RankStatus.NO_DATA


def counties_under(region: Region) -> list[Region]:
    """The counties of a province, a city, or the county itself (by code)."""
    if region.level == RegionLevel.COUNTY:
        return [region]
    return list(
        Region.objects.filter(level=RegionLevel.COUNTY, path__startswith=region.path)
        .select_related("parent")
        .order_by("code")
    )


def _moment(on: date | None) -> datetime:
    """The end of day `on` in Asia/Shanghai (now when None)."""
    if on is None:
        return timezone.now()
    return datetime.combine(on + timedelta(days=1), time.min, tzinfo=CHINA_TZ) - timedelta(
        microseconds=1
    )


def list_statuses(counties: list[Region], *, at: datetime) -> dict[int, ListStatus]:
    """Each county's list at `at` (five queries for all)."""
    ids = [c.pk for c in counties]
    catalogues = Catalogue.objects.filter(level=ScopeLevel.COUNTY, region_id__in=ids)
    out = {c.pk: ListStatus() for c in counties}
    progress = guidance_adoption_statuses(catalogues=catalogues, at=at)
    by_version: dict[int, int] = {}
    for p in progress:
        status = out[p.catalogue.region_id]
        status.derived = True
        status.adoption = p
    versions: dict[int, ListVersion] = {}
    for v in (
        ListVersion.objects.filter(in_force_at(at), catalogue__in=catalogues)
        .select_related("catalogue", "based_on")
        .order_by("catalogue_id", "-valid_from")
    ):
        versions.setdefault(v.catalogue.region_id, v)
    for county_id, v in versions.items():
        out[county_id].version = v
        by_version[v.pk] = county_id
    for version_id, origin, n in (
        Item.objects.filter(
            version_id__in=list(by_version), origin__in=[ItemOrigin.LOCAL, ItemOrigin.SPLIT]
        )
        .values_list("version_id", "origin")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        status = out[by_version[version_id]]
        if origin == ItemOrigin.LOCAL:
            status.added = n
        else:
            status.split = n
    for version_id, n in (
        RemovedItem.objects.filter(version_id__in=list(by_version))
        .values_list("version_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        out[by_version[version_id]].removed = n
    return out


def mechanisms(
    counties: list[Region], *, at: datetime, lists: dict[int, ListStatus]
) -> dict[int, Mechanism]:
    """Whether the call mechanism is live in each county at `at` (three queries)."""
    ids = [c.pk for c in counties]
    out = {c.pk: Mechanism() for c in counties}
    for county_id, n in (
        Membership.objects.filter(
            role=Role.PLATFORM_OPERATOR,
            is_active=True,
            created_at__lte=at,
            user__is_active=True,
            organisation__kind=OrgKind.PLATFORM_CENTRE,
            organisation__is_active=True,
            organisation__county_id__in=ids,
        )
        .values_list("organisation__county_id")
        .annotate(n=Count("user_id", distinct=True))
        .order_by()
    ):
        out[county_id].operators = n
    by_version = {s.version.pk: cid for cid, s in lists.items() if s.version is not None}
    for version_id, total, with_steps in (
        Item.objects.filter(version_id__in=list(by_version), callable=True)
        .values_list("version_id")
        .annotate(
            total=Count("pk", distinct=True),
            with_steps=Count("pk", filter=Q(steps__isnull=False), distinct=True),
        )
        .order_by()
    ):
        m = out[by_version[version_id]]
        m.callable_items, m.with_steps = total, with_steps
    for county_id, n in (
        Call.objects.filter(
            county_id__in=ids, created_at__gt=at - timedelta(days=FLOW_DAYS), created_at__lte=at
        )
        .exclude(state=State.DRAFT)
        .values_list("county_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        out[county_id].recent_calls = n
    return out


def _overdue_now(now: datetime) -> Q:
    """Overdue as on the overdue board and the leaders' overview: a call in a state that
    can be carded whose running clock has passed."""
    return Q(state__in=CARD_STATES, next_deadline__lt=now)


def _rates(metrics: list[SubjectMetrics], policy: Policy) -> Rates:
    totals = totals_of(metrics, policy)
    return Rates(
        response=totals.response_rate,
        completion=totals.completion_rate,
        satisfaction=totals.satisfaction_rate,
        supervised=totals.supervision_orders,
    )


def competition_ranks(values: dict[int, Decimal | None]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of the values, highest first; None unranked."""
    ordered = sorted(((v, k) for k, v in values.items() if v is not None), key=lambda x: -x[0])
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    current = 0
    for position, (value, key) in enumerate(ordered, start=1):
        if value != previous:
            current, previous = position, value
        ranks[key] = current
    return ranks


def county_rows(
    counties: list[Region], *, period: Period, now: datetime | None = None
) -> list[CountyRow]:
    """One row per county, ranked among these counties by the composite."""
    now = now or timezone.now()
    lists = list_statuses(counties, at=now)
    mech = mechanisms(counties, at=now, lists=lists)
    overdue = dict(
        Call.objects.filter(_overdue_now(now), county_id__in=[c.pk for c in counties])
        .values_list("county_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = []
    for county in counties:
        policy = policy_for(county.pk)
        metrics = metrics_for_period(
            county=county.pk, period=period, policy=policy, times=False, now=now
        )
        rows.append(
            CountyRow(
                region=county,
                list=lists[county.pk],
                mechanism=mech[county.pk],
                rates=_rates(metrics, policy),
                overdue=overdue.get(county.pk, 0),
            )
        )
    ranks = competition_ranks({r.region.pk: r.rates.composite for r in rows})
    for r in rows:
        r.rank = ranks.get(r.region.pk)
    return rows


def township_rows(
    county: Region, *, period: Period, now: datetime | None = None, only: Region | None = None
) -> list[TownshipRow]:
    """One row per township of the county (or the one township `only`): its figures as
    an assessment subject and its rank in the county's township ranking
    (`ranking_for_period`); overdue counts the calls it made."""
    now = now or timezone.now()
    regions = Region.objects.filter(parent=county, level=RegionLevel.TOWNSHIP)
    if only is not None:
        regions = regions.filter(pk=only.pk)
    regions_list = list(regions.order_by("code"))
    orgs: dict[int, Organisation] = {}
    for o in Organisation.objects.filter(
        kind=OrgKind.TOWNSHIP, region__in=regions_list, county=county
    ).order_by("is_active", "-pk"):
        orgs[o.region_id] = o  # the active one, else the oldest
    ranking = ranking_for_period(
        county=county.pk, period=period, subject_kind=OrgKind.TOWNSHIP, now=now
    )
    overdue = dict(
        Call.objects.filter(_overdue_now(now), caller_id__in=[o.pk for o in orgs.values()])
        .values_list("caller_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = []
    for region in regions_list:
        org = orgs.get(region.pk)
        entry = ranking.entry_for(org.pk) if org is not None else None
        row = TownshipRow(region=region, organisation=org)
        if entry is not None:
            m = entry.score.metrics
            row.calls_sent = m.calls_sent or 0
            row.rates = Rates(
                response=m.response_rate,
                completion=m.completion_rate,
                satisfaction=m.satisfaction.rate,
                supervised=m.supervision_orders,
            )
            row.rank, row.rank_status = entry.rank, entry.status
        if org is not None:
            row.overdue = overdue.get(org.pk, 0)
        rows.append(row)
    return rows


@dataclass
class RolloutRow:
    region: Region
    list_compiled: bool
    procedures_designed: bool
    mechanism_live: bool
    version: ListVersion | None


@dataclass
class Rollout:
    on: date
    rows: list[RolloutRow]

    @property
    def totals(self) -> dict[str, int]:
        return {
            "counties": len(self.rows),
            "list_compiled": sum(r.list_compiled for r in self.rows),
            "procedures_designed": sum(r.procedures_designed for r in self.rows),
            "mechanism_live": sum(r.mechanism_live for r in self.rows),
        }


def rollout(counties: list[Region], *, on: date) -> Rollout:
    """Which counties had, at the end of day `on` (Asia/Shanghai), a published list in
    force, a procedure for every callable item of it, and a live call mechanism."""
    at = _moment(on)
    lists = list_statuses(counties, at=at)
    mech = mechanisms(counties, at=at, lists=lists)
    return Rollout(
        on=on,
        rows=[
            RolloutRow(
                region=c,
                list_compiled=lists[c.pk].published,
                procedures_designed=mech[c.pk].procedures_done,
                mechanism_live=mech[c.pk].live,
                version=lists[c.pk].version,
            )
            for c in counties
        ],
    )
