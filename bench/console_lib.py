"""The platform console at province scale (issue #9; docs/benchmarks.md, "The platform
console"): the call list a county's platform operator works from, first page and
filtered pages, timed as the app reads them against the bare index query of the same
page, plus a deep page by keyset against the offset a classic pager would use.

`bench/console.py` builds the data set and prints the figures; this module holds the
scenarios and the timing, which `tests/bench/test_console_bench.py` runs on a tiny data
set. Needs Django set up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xianghu.calls import selectors
from xianghu.calls.models import Call
from xianghu.calls.views import PAGE_SIZE, WORKING
from xianghu.catalog.models import Item
from xianghu.core.actor import Actor
from xianghu.core.prepared import prepared_statements
from xianghu.regions.models import Membership, Region
from xianghu.regions.roles import RegionLevel, Role
from xianghu.regions.selectors import actor_for_user


@dataclass(frozen=True)
class Scenario:
    """One page of the console: the app's filters and URL, and the bare query's filter."""

    name: str
    filters: selectors.CallFilters
    params: dict[str, str]
    where: str  # the bare query's conditions after `county_id = %s`
    args: tuple[Any, ...] = ()
    after: str = ""  # a keyset cursor: a page deep in the list
    offset: int = 0  # the same page by offset (the bare query's, for the deep page)


@dataclass
class Setting:
    county: Region
    actor: Actor
    user: Any
    calls: int  # the county's calls
    scenarios: list[Scenario] = field(default_factory=list)


def busiest_county() -> tuple[Region, int]:
    row = (
        Call.objects.values("county_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "county_id")
        .values_list("county_id", "n")
        .first()
    )
    if row is None:
        raise RuntimeError("no calls in the database")
    return Region.objects.get(pk=row[0]), row[1]


def setting(*, deep_page: int = 1000) -> Setting:
    """The busiest county's operator and the console's pages over its calls."""
    county, calls = busiest_county()
    membership = (
        Membership.objects.filter(
            organisation__county=county, role=Role.PLATFORM_OPERATOR, is_active=True
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if membership is None:
        raise RuntimeError(f"no platform operator in {county.name}")
    actor = actor_for_user(user=membership.user)
    mine = Call.objects.filter(county=county)
    # The busiest place's township (the generated calls are placed at the township).
    place_id = (
        mine.values("location_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "location_id")
        .values_list("location_id", flat=True)
        .first()
    )
    place = Region.objects.get(pk=place_id)
    township = place if place.level == RegionLevel.TOWNSHIP else place.parent
    assert township is not None
    places = [township.pk, *Region.objects.filter(parent=township).values_list("pk", flat=True)]
    item_id = (
        mine.exclude(item=None)
        .values("item_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("item_id", flat=True)
        .first()
    )
    item = Item.objects.get(pk=item_id)
    now = timezone.now()
    working = tuple(str(s) for s in WORKING)
    # A small data set (bench/all.sh --quick) has fewer pages: the deep page is its last.
    deep_page = max(1, min(deep_page, (calls - 1) // PAGE_SIZE))
    cursor = _cursor_at(county, deep_page * PAGE_SIZE)
    here = Setting(county=county, actor=actor, user=membership.user, calls=calls)
    marks = ", ".join(["%s"] * len(working))
    place_marks = ", ".join(["%s"] * len(places))
    here.scenarios = [
        Scenario("first page, all calls", selectors.CallFilters(), {"tab": "all"}, ""),
        Scenario(
            "status: in progress",
            selectors.CallFilters(states=WORKING),
            {"tab": "in_progress"},
            f"AND state IN ({marks})",
            working,
        ),
        Scenario(
            "township",
            selectors.CallFilters(township_region_id=township.pk),
            {"tab": "all", "township": township.code},
            f"AND location_id IN ({place_marks})",
            tuple(places),
        ),
        Scenario(
            "list item",
            selectors.CallFilters(item_id=item.pk),
            {"tab": "all", "item": item.code},
            "AND item_id = %s",
            (item.pk,),
        ),
        Scenario(
            "overdue",
            selectors.CallFilters(states=WORKING, overdue=True),
            {"tab": "overdue"},
            f"AND state IN ({marks}) AND next_deadline < %s",
            (*working, now),
        ),
        Scenario(
            f"page {deep_page + 1:,} of all calls (keyset)",
            selectors.CallFilters(),
            {"tab": "all", "after": cursor},
            "",
            after=cursor,
            offset=deep_page * PAGE_SIZE,
        ),
    ]
    return here


def _cursor_at(county: Region, offset: int) -> str:
    """The cursor of the call just before the page at `offset` (newest first)."""
    row = (
        Call.objects.filter(county=county)
        .order_by("-created_at", "-pk")
        .values_list("created_at", "pk")[max(0, offset - 1) : offset]
    )
    found = list(row)
    if not found:
        return ""
    created_at, pk = found[0]
    stub = Call(pk=pk, created_at=created_at)
    return selectors._cursor(stub)


# ---- what is timed


def app_page(here: Setting, scenario: Scenario) -> selectors.CallPage:
    """The page as the console reads it: the visible calls with the filters, the keyset
    page with its joins, its leads and the capped count (one statement)."""
    calls = selectors.call_list(actor=here.actor, filters=scenario.filters)
    return selectors.call_page(calls=calls, size=PAGE_SIZE, after=scenario.after)


def bare_sql(scenario: Scenario, *, offset: bool = False) -> str:
    keyset = ""
    if scenario.after and not offset:
        keyset = "AND created_at <= %s AND (created_at < %s OR id < %s)"
    skip = f" OFFSET {scenario.offset}" if offset and scenario.offset else ""
    return (
        "SELECT id FROM calls_call WHERE county_id = %s "  # noqa: S608  (constant parts)
        f"{scenario.where} {keyset} ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE + 1}{skip}"
    )


def bare_args(here: Setting, scenario: Scenario, *, offset: bool = False) -> list[Any]:
    args: list[Any] = [here.county.pk, *scenario.args]
    if scenario.after and not offset:
        position = selectors._position(scenario.after)
        assert position is not None
        args += [position[0], position[0], position[1]]
    # As the ORM writes them (SQLite compares the stored text).
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(a) if isinstance(a, datetime) else a for a in args]


def bare_page(here: Setting, scenario: Scenario, *, offset: bool = False) -> list[int]:
    """The bare index query: the page's call ids, one statement, nothing else."""
    with connection.cursor() as cursor:
        cursor.execute(bare_sql(scenario, offset=offset), bare_args(here, scenario, offset=offset))
        return [r[0] for r in cursor.fetchall()][:PAGE_SIZE]


def exact_count(here: Setting, scenario: Scenario) -> int:
    """What a classic pager counts first: every call of the list."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM calls_call WHERE county_id = %s {scenario.where}",  # noqa: S608
            bare_args(here, replace(scenario, after=""), offset=True),
        )
        return int(cursor.fetchone()[0])


def page_client(here: Setting) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(here.user)
    return client


def full_page(client: Client, scenario: Scenario) -> int:
    """The whole page through Django (session, middleware, template), in process."""
    response = client.get("/calls/", scenario.params)
    if response.status_code != 200:
        raise RuntimeError(f"/calls/ answered {response.status_code} for {scenario.params}")
    return len(response.content)


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class Row:
    scenario: Scenario
    app: Timing = field(default_factory=Timing)
    sql: Timing = field(default_factory=Timing)  # the app's statements, sent raw
    statements: list[str] = field(default_factory=list)
    bare: Timing = field(default_factory=Timing)
    page: Timing = field(default_factory=Timing)
    offset: Timing | None = None
    count: Timing | None = None
    queries: int = 0
    rows: int = 0
    total: int = 0  # the list's exact size
    capped: str = ""

    @property
    def ratio(self) -> float:
        return self.app.p95 / self.bare.p95 if self.bare.p95 else 0.0

    @property
    def sql_ratio(self) -> float:
        return self.sql.p95 / self.bare.p95 if self.bare.p95 else 0.0


def app_sql(statements: list[str]) -> None:
    """The app's statements for the page, exactly as it sent them, without the ORM: what
    the database spends on the page (plus one round trip each)."""
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()


def check(here: Setting, row: Row) -> None:
    """The app's page is the bare query's page, call for call."""
    page = app_page(here, row.scenario)
    ids = [c.pk for c in page.calls]
    expected = bare_page(here, row.scenario)
    if ids != expected:
        raise AssertionError(f"{row.scenario.name}: the app's page differs from the bare query")
    if row.scenario.offset:
        by_offset = bare_page(here, row.scenario, offset=True)
        if by_offset != expected:
            raise AssertionError(f"{row.scenario.name}: keyset and offset pages differ")
    row.rows = len(ids)
    row.capped = f"{page.count:,}{'+' if page.more else ''}"


def _timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run(here: Setting, *, repeat: int, pages: bool = True) -> list[Row]:
    """Warm up, check, then `repeat` rounds; each round runs every measurement of every
    scenario once, so that a change of the machine's load touches all alike.

    Everything runs as the console's request does (`PreparedStatementsMiddleware`): in
    `prepared_statements()`, which prepares nothing when `XH_DB_PREPARE_THRESHOLD` is 0."""
    with prepared_statements():
        return _run(here, repeat=repeat, pages=pages)


def _run(here: Setting, *, repeat: int, pages: bool) -> list[Row]:
    rows = [Row(s) for s in here.scenarios]
    client = page_client(here) if pages else None
    for row in rows:
        check(here, row)
        row.total = exact_count(here, row.scenario)
        if row.scenario.offset:
            row.offset = Timing()
        if row.scenario.name.startswith("first page"):
            row.count = Timing()
        with CaptureQueriesContext(connection) as captured:
            app_page(here, row.scenario)
        row.queries = len(captured.captured_queries)
        row.statements = [q["sql"] for q in captured.captured_queries]
        # Warm the caches.
        bare_page(here, row.scenario)
        if client is not None:
            full_page(client, row.scenario)
    for _ in range(repeat):
        for row in rows:
            s = row.scenario
            row.bare.add(_timed(lambda s=s: bare_page(here, s)))
            row.app.add(_timed(lambda s=s: app_page(here, s)))
            row.sql.add(_timed(lambda r=row: app_sql(r.statements)))
            if row.offset is not None:
                row.offset.add(_timed(lambda s=s: bare_page(here, s, offset=True)))
            if row.count is not None:
                row.count.add(_timed(lambda s=s: exact_count(here, s)))
            if client is not None:
                row.page.add(_timed(lambda s=s: full_page(client, s)))
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def markdown(here: Setting, rows: list[Row], *, header: dict[str, str]) -> str:
    lines = [f"- {k}: {v}" for k, v in header.items()]
    lines += [
        f"- County: {here.county.name} ({here.county.code}), the busiest: "
        f"{here.calls:,} calls; its platform operator's console (`/calls/`), "
        f"{PAGE_SIZE} a page",
        "",
        "| page | calls in the list | bare index query p95 ms | the app's SQL p95 ms "
        "| **SQL ÷ bare** | queries | the app (Django) p50 / p95 ms | app ÷ bare "
        "| whole page p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        page = _ms(row.page.p95) if row.page.samples else "—"
        lines.append(
            f"| {row.scenario.name} | {row.total:,} (shown: {row.capped}) "
            f"| {_ms(row.bare.p95)} | {_ms(row.sql.p95)} | **{row.sql_ratio:.2f}×** "
            f"| {row.queries} | {_ms(row.app.p50)} / {_ms(row.app.p95)} | {row.ratio:.1f}× "
            f"| {page} |"
        )
    extra = [r for r in rows if r.offset is not None or r.count is not None]
    if extra:
        lines += ["", "| what a classic pager does instead | p95 ms | × the bare page query |"]
        lines += ["|---|---:|---:|"]
        for row in extra:
            if row.offset is not None:
                lines.append(
                    f"| `OFFSET {row.scenario.offset:,}` for {row.scenario.name.split(' (')[0]} "
                    f"| {_ms(row.offset.p95)} | {row.offset.p95 / row.bare.p95:.1f}× |"
                )
            if row.count is not None:
                lines.append(
                    f"| exact `count(*)` of the county's {row.total:,} calls "
                    f"| {_ms(row.count.p95)} | {row.count.p95 / row.bare.p95:.1f}× |"
                )
    return "\n".join(lines) + "\n"


def now_label() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
