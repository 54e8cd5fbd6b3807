"""Reads of the routing app: the suggestion for a call's text (`route_suggest`), the model
in use and the acceptance figures. Screens and the API call these; none of them writes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item, ListVersion, PartyRole, PrimaryLevel
from xianghu.core.memo import memoized
from xianghu.regions.models import Region

from . import engine
from .models import RoutingModel, RoutingSuggestionLog
from .training import township_context

# Below this confidence the best item is not trusted: the answer is "outside the list".
# A model stores the threshold its training chose (docs/routing.md); this is the fallback.
DEFAULT_THRESHOLD = 0.25
# A text with fewer different characters than this (e.g. 村村村村…) is not routed.
MIN_DISTINCT_CHARS = 3


class Status:
    OK = "ok"
    EMPTY = "empty"
    NOT_CHINESE = "not_chinese"
    UNREADABLE = "unreadable"
    NO_LIST = "no_list"
    NO_MODEL = "no_model"
    OUTDATED = "model_outdated"


@dataclass(frozen=True)
class Department:
    name: str  # as the list writes it
    role: str  # PartyRole value, or "township" for the township itself
    organisation_id: int | None = None


@dataclass(frozen=True)
class Candidate:
    item: Item
    confidence: float
    departments: tuple[Department, ...] = ()
    matched: tuple[str, ...] = ()  # the words of the text that pointed to the item
    clause: str = ""  # the clause of the text that pointed to it most

    @property
    def code(self) -> str:
        return self.item.code

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def explanation(self) -> str:
        if not self.matched:
            return ""
        text = _("Matched: %(words)s") % {"words": "、".join(self.matched)}
        if self.clause:
            text += _("; most telling: “%(clause)s”") % {"clause": self.clause}
        return text


@dataclass(frozen=True)
class RouteSuggestion:
    """What the list suggests for a text. With `status` other than "ok" there is no
    suggestion and `message` says why; `outside_list` with candidates means the best
    items are shown but none fits well enough."""

    candidates: tuple[Candidate, ...] = ()
    outside_list: bool = False
    model_version: int | None = None
    status: str = Status.OK
    message: str = ""
    truncated: bool = False
    stale: bool = False  # the model was trained on another version of the list
    model_id: int | None = None
    list_version_id: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def item_code(self) -> str:
        """The suggested item's code; empty when there is none or it is outside the list."""
        return "" if self.outside_list or self.top is None else self.top.code


# ---- the model in use --------------------------------------------------------------------


class _Cache:
    """Loaded models by row id and list items by version id (published versions never
    change, and a model row is never updated)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.models: OrderedDict[int, engine.TextModel] = OrderedDict()
        self.items: OrderedDict[int, dict[str, Item]] = OrderedDict()

    def get(self, store: OrderedDict, key: int) -> Any:
        with self.lock:
            value = store.get(key)
            if value is not None:
                store.move_to_end(key)
            return value

    def put(self, store: OrderedDict, key: int, value: Any) -> None:
        with self.lock:
            store[key] = value
            while len(store) > self.size:
                store.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.models.clear()
            self.items.clear()


CACHE = _Cache()


def routing_model_latest(*, county: Region) -> RoutingModel | None:
    """The newest model row of the county, whatever its schema (without its bytes); once
    within a `core.memo` scope (a batch of calls)."""
    return memoized(
        ("routing_model_latest", county.pk),
        lambda: (
            RoutingModel.objects.filter(county=county).defer("data").order_by("-version").first()
        ),
    )


def routing_models(*, county: Region) -> QuerySet[RoutingModel]:
    return RoutingModel.objects.filter(county=county).defer("data").order_by("-version")


def model_load(*, row: RoutingModel) -> engine.TextModel:
    """The engine model of a row (cached); raises engine.ModelSchemaError for a model of
    another schema or damaged bytes."""
    cached = CACHE.get(CACHE.models, row.pk)
    if cached is not None:
        return cached
    if row.schema != engine.SCHEMA_VERSION:
        raise engine.ModelSchemaError(
            f"model schema {row.schema} is not the engine's {engine.SCHEMA_VERSION}"
        )
    data = RoutingModel.objects.filter(pk=row.pk).values_list("data", flat=True).first()
    if data is None:
        raise engine.ModelSchemaError("the model row has no data")
    model = engine.TextModel.from_bytes(bytes(data))
    CACHE.put(CACHE.models, row.pk, model)
    return model


def version_items_by_code(*, version: ListVersion) -> dict[str, Item]:
    """The callable items of a version by code, with their parties (cached)."""
    cached = CACHE.get(CACHE.items, version.pk)
    if cached is not None:
        return cached
    items = {
        item.code: item
        for item in catalog_selectors.version_items(version=version)
        if item.callable
    }
    CACHE.put(CACHE.items, version.pk, items)
    return items


def item_departments(item: Item) -> tuple[Department, ...]:
    parties = sorted(item.parties.all(), key=lambda p: (p.role != PartyRole.PRIMARY, p.order))
    out = []
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        out.append(Department(name=_("the township"), role="township"))
    out += [Department(p.name, p.role, p.organisation_id) for p in parties]
    return tuple(out)


# ---- the suggestion ----------------------------------------------------------------------


def _refusal(status: str, message: str, **kw: Any) -> RouteSuggestion:
    return RouteSuggestion(status=status, message=message, **kw)


def route_suggest(
    *,
    county: Region,
    text: str,
    township: Region | None = None,
    k: int = 3,
    at: datetime | None = None,
    explain: bool = True,
    version: ListVersion | None = None,
) -> RouteSuggestion:
    """The top `k` items of the county's list in force for a call's text (title and
    description), with confidences, the departments they imply and why.

    Never raises for bad input or a missing model: the answer then has no candidates,
    a status and a message the screen can show as it is. `version`: the county's list in
    force, when the caller has already looked it up (it is not checked again).
    """
    prepared = engine.prepare(text or "")
    k = max(1, min(int(k), 10))
    notes: list[str] = []
    if prepared.truncated:
        notes.append(
            _("Only the first %(n)s characters were used for the suggestion.")
            % {"n": engine.MAX_CHARS}
        )
    if prepared.length == 0:
        return _refusal(Status.EMPTY, _("Describe the problem to get a suggestion."))
    if prepared.cjk < 2:
        return _refusal(
            Status.NOT_CHINESE,
            _("The text has no Chinese words to go by; describe the problem in Chinese."),
        )
    if prepared.distinct < MIN_DISTINCT_CHARS:
        return _refusal(
            Status.UNREADABLE,
            _("The text is too repetitive to go by; describe the problem in a few words."),
        )
    if version is None:
        # Once for a batch's calls without an item (`core.memo`), not once each.
        version = memoized(
            ("county_version_in_force", county.pk, at),
            lambda: catalog_selectors.county_version_in_force(county=county, at=at),
        )
    if version is None:
        return _refusal(
            Status.NO_LIST,
            _("%(county)s has no responsibility list in force: there is nothing to suggest.")
            % {"county": county.name},
        )
    row = routing_model_latest(county=county)
    if row is None:
        return _refusal(
            Status.NO_MODEL,
            _("No routing model has been trained for %(county)s yet; choose the item yourself.")
            % {"county": county.name},
            list_version_id=version.pk,
        )
    try:
        model = model_load(row=row)
    except engine.ModelSchemaError:
        return _refusal(
            Status.OUTDATED,
            _(
                "The routing model was made by an older version of the platform and must be "
                "retrained; choose the item yourself."
            ),
            model_version=row.version,
            model_id=row.pk,
            list_version_id=version.pk,
        )
    context = township_context(township)
    prediction = model.predict(prepared.text, context=context, prepared=True)
    items = version_items_by_code(version=version)
    threshold = float(model.meta.get("threshold", DEFAULT_THRESHOLD))
    candidates: list[Candidate] = []
    outside_first = prediction.labels[0] == engine.OUTSIDE
    for label, confidence in zip(prediction.labels, prediction.confidences, strict=True):
        item = items.get(label)
        if item is None:
            continue
        matched: tuple[str, ...] = ()
        clause = ""
        if explain:
            words, clause = model.explain(text, label, context)
            matched = tuple(words)
        candidates.append(
            Candidate(
                item=item,
                confidence=round(confidence, 4),
                departments=item_departments(item),
                matched=matched,
                clause=clause,
            )
        )
        if len(candidates) >= k:
            break
    outside = outside_first or not candidates or candidates[0].confidence < threshold
    message = (
        _("Nothing on the list fits this text well: it may be outside the list.") if outside else ""
    )
    return RouteSuggestion(
        candidates=tuple(candidates),
        outside_list=outside,
        model_version=row.version,
        status=Status.OK,
        message=message,
        truncated=prepared.truncated,
        stale=row.list_version_id != version.pk,
        model_id=row.pk,
        list_version_id=version.pk,
        notes=tuple(notes),
    )


# ---- acceptance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    shown: int
    decided: int
    accepted: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


def acceptance_of(*, county: Region, since: datetime | None = None) -> Acceptance:
    """How often the decided suggestions were taken as they were."""
    logs = RoutingSuggestionLog.objects.filter(county=county)
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    figures = logs.aggregate(
        shown=Count("id"),
        decided=Count("id", filter=Q(accepted__isnull=False)),
        accepted=Count("id", filter=Q(accepted=True)),
    )
    return Acceptance(**figures)


@dataclass(frozen=True)
class AcceptanceCell:
    decided: int
    accepted: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


@dataclass(frozen=True)
class AcceptanceRow:
    """One suggested item (code "" = "outside the list") over the months of a report."""

    code: str
    name: str
    total: AcceptanceCell
    months: tuple[AcceptanceCell, ...]


@dataclass(frozen=True)
class AcceptanceReport:
    months: tuple[date, ...]
    total: AcceptanceCell
    by_month: tuple[AcceptanceCell, ...]
    by_stage: dict[str, AcceptanceCell]
    rows: tuple[AcceptanceRow, ...]
    shown: int


def _month_starts(since: date, until: date) -> list[date]:
    months = []
    cursor = since.replace(day=1)
    while cursor <= until:
        months.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


def acceptance_report(
    *, county: Region, months: int = 6, now: datetime | None = None
) -> AcceptanceReport:
    """How often the suggestions were taken as they were, per suggested item and month,
    over the last `months` calendar months (this one included). Two queries."""
    now = timezone.localtime(now or timezone.now())
    months = max(1, min(int(months), 24))
    first = now.date().replace(day=1)
    for _i in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    logs = RoutingSuggestionLog.objects.filter(county=county, created_at__gte=since)
    shown = logs.count()
    grouped = (
        logs.filter(accepted__isnull=False)
        .annotate(month=TruncMonth("created_at"))
        .values("suggested_code", "month", "stage")
        .annotate(
            decided=Count("id"),
            accepted_n=Count("id", filter=Q(accepted=True)),
        )
    )
    month_list = _month_starts(first, now.date())
    index = {m: i for i, m in enumerate(month_list)}
    per_code: dict[str, list[list[int]]] = {}
    per_stage: dict[str, list[int]] = {}
    per_month = [[0, 0] for _m in month_list]
    for row in grouped:
        month = row["month"]
        key = month.date() if isinstance(month, datetime) else month
        i = index.get(key)
        if i is None:
            continue
        cells = per_code.setdefault(row["suggested_code"], [[0, 0] for _m in month_list])
        for target in (cells[i], per_month[i], per_stage.setdefault(row["stage"] or "", [0, 0])):
            target[0] += row["decided"]
            target[1] += row["accepted_n"]
    version = catalog_selectors.county_version_in_force(county=county)
    names = (
        {code: item.name for code, item in version_items_by_code(version=version).items()}
        if version is not None
        else {}
    )
    rows = []
    for code, cells in per_code.items():
        total = AcceptanceCell(sum(c[0] for c in cells), sum(c[1] for c in cells))
        rows.append(
            AcceptanceRow(
                code=code,
                name=names.get(code, "") if code else _("— outside the list —"),
                total=total,
                months=tuple(AcceptanceCell(*c) for c in cells),
            )
        )
    rows.sort(key=lambda r: (-r.total.decided, r.code))
    return AcceptanceReport(
        months=tuple(month_list),
        total=AcceptanceCell(sum(c[0] for c in per_month), sum(c[1] for c in per_month)),
        by_month=tuple(AcceptanceCell(*c) for c in per_month),
        by_stage={k: AcceptanceCell(*v) for k, v in per_stage.items()},
        rows=tuple(rows),
        shown=shown,
    )


def corrections_recent(*, county: Region, limit: int = 20) -> QuerySet[RoutingSuggestionLog]:
    """The latest decisions that differed from the suggestion (what the model learns next)."""
    return (
        RoutingSuggestionLog.objects.filter(county=county, accepted=False)
        .select_related("call")
        .order_by("-decided_at", "-id")[:limit]
    )
