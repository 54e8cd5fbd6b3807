"""Patterns in a county's calls: hotspots (热点: the same list item called about again and
again in one place) and list gaps (清单外 calls that recur: candidates for a change to
the list). docs/routing.md ("Duplicates, hotspots and list gaps") explains the method.

Which calls count: every call handed to the county or being written up again — not drafts,
withdrawn calls or calls merged into another (a merged call is the same problem twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from xianghu.calls.models import Call
from xianghu.calls.workflow import OPEN, State
from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from . import engine
from .training import seed_examples

NOT_COUNTED = (State.DRAFT, State.CANCELLED, State.MERGED)


def _counted(*, county: Region, actor: Actor | None = None) -> QuerySet[Call]:
    qs = Call.objects.filter(county=county).exclude(state__in=NOT_COUNTED)
    if actor is not None:
        qs = qs.filter(pk__in=access.visible(actor, Call.objects.all()).order_by().values("pk"))
    return qs


# ---- hotspots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hotspot:
    """`count` calls on `item` at `region` (a village, or a township: the calls of the
    township that no village hotspot holds) within the window."""

    region: Region
    item: Item
    count: int
    first_at: datetime
    last_at: datetime
    call_ids: tuple[int, ...]  # oldest first
    open_count: int
    level: str = RegionLevel.VILLAGE  # RegionLevel.VILLAGE or RegionLevel.TOWNSHIP
    township: Region | None = None  # the village's township (the region itself for one)


@dataclass
class _Group:
    count: int = 0
    open: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, count: int, open_: int, first: datetime, last: datetime) -> None:
        self.count += count
        self.open += open_
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)


def hotspots(
    *,
    county: Region,
    now: datetime | None = None,
    window_days: int = 30,
    min_calls: int = 3,
    township: Region | None = None,
    actor: Actor | None = None,
) -> list[Hotspot]:
    """Places where the same list item was called about at least `min_calls` times in the
    `window_days` before `now`, the most called first.

    A village is a hotspot when it alone reaches `min_calls` on an item; the other calls
    of the item in its township (other villages, or the township itself) roll up into a
    township hotspot when together they reach `min_calls`. No call counts twice. With
    `township`, only that township's places; with `actor`, only the calls it may see.
    Four queries, whatever the number of calls: the counts per place and item (grouped by
    the database), the calls of the hotspots, their places and their items."""
    now = now or timezone.now()
    min_calls = max(1, int(min_calls))
    base = _counted(county=county, actor=actor).filter(
        item__isnull=False,
        created_at__gte=now - timedelta(days=window_days),
        created_at__lte=now,
    )
    if township is not None:
        base = base.filter(Q(location_id=township.pk) | Q(location__parent_id=township.pk))
    rows = (
        base.order_by()
        .values("location_id", "location__level", "location__parent_id", "item_id")
        .annotate(
            n=Count("pk"),
            open=Count("pk", filter=Q(state__in=OPEN)),
            first=Min("created_at"),
            last=Max("created_at"),
        )
    )
    villages: dict[tuple[int, int], _Group] = {}  # (village, item) that are hotspots
    rest: dict[tuple[int, int], _Group] = defaultdict(_Group)  # (township, item): the others
    hot_villages: dict[tuple[int, int], set[int]] = defaultdict(set)
    for row in rows:
        place, item = row["location_id"], row["item_id"]
        is_village = row["location__level"] == RegionLevel.VILLAGE
        town = row["location__parent_id"] if is_village else place
        if is_village and row["n"] >= min_calls:
            group = _Group()
            group.add(row["n"], row["open"], row["first"], row["last"])
            villages[(place, item)] = group
            hot_villages[(town, item)].add(place)
        else:
            rest[(town, item)].add(row["n"], row["open"], row["first"], row["last"])
    towns = {key: g for key, g in rest.items() if g.count >= min_calls and key[0] is not None}
    if not villages and not towns:
        return []

    # The calls of the hotspots' items and places (a superset, sorted out below).
    hot_items = {i for _p, i in villages} | {i for _t, i in towns}
    hot_towns = {t for t, _i in towns}
    near = Q(location_id__in={p for p, _i in villages} | hot_towns) | Q(
        location__parent_id__in=hot_towns
    )
    ids: dict[tuple[str, int | None, int], list[int]] = defaultdict(list)
    for pk, place, parent, level, item in (
        base.filter(near, item_id__in=hot_items)
        .order_by("created_at", "pk")
        .values_list("pk", "location_id", "location__parent_id", "location__level", "item_id")
    ):
        if (place, item) in villages:
            ids[("v", place, item)].append(pk)
            continue
        town = parent if level == RegionLevel.VILLAGE else place
        if (town, item) in towns:
            ids[("t", town, item)].append(pk)

    # The hotspots' places and the villages' townships, in one query.
    region_ids = {p for p, _i in villages} | {t for t, _i in towns} | {t for t, _i in hot_villages}
    regions = Region.objects.in_bulk({r for r in region_ids if r is not None})
    items = Item.objects.in_bulk({i for _p, i in villages} | {i for _t, i in towns})

    found: list[Hotspot] = []
    for (place, item), g in villages.items():
        region = regions[place]
        found.append(
            _hotspot(region, items[item], g, ids[("v", place, item)], regions.get(region.parent_id))
        )
    for (town, item), g in towns.items():
        region = regions[town]
        found.append(_hotspot(region, items[item], g, ids[("t", town, item)], region))
    found.sort(
        key=lambda h: (-h.count, -h.open_count, -h.last_at.timestamp(), h.region.code, h.item.code)
    )
    return found


def _hotspot(
    region: Region, item: Item, g: _Group, ids: list[int], township: Region | None
) -> Hotspot:
    assert g.first is not None
    assert g.last is not None
    return Hotspot(
        region=region,
        item=item,
        count=g.count,
        first_at=g.first,
        last_at=g.last,
        call_ids=tuple(ids),
        open_count=g.open,
        level=RegionLevel.VILLAGE if region.level == RegionLevel.VILLAGE else RegionLevel.TOWNSHIP,
        township=township,
    )


# ---- list gaps -----------------------------------------------------------------------------

# Two groups of out-of-list calls join while the mean cosine between their calls is at
# least this (average linkage); docs/routing.md says how it was chosen.
GAP_SIMILARITY = 0.12
# The newest this many out-of-list calls of the period are clustered.
MAX_GAP_CALLS = 3000
# The blocks of a call's vector, each TF-IDF weighted and L2-normalised, then scaled by the
# square root of its weight: jieba words, character 1–2-grams of the title and description,
# and character 1–2-grams of the title alone (where the gist usually is).
GAP_WEIGHTS = {"w": 0.3, "c": 0.7, "h": 0.5}
GAP_CHAR_NGRAMS = (1, 2)
# The words of any call that say nothing about its topic (never a term of a cluster).
STOP_WORDS = frozenset(
    (
        "群众", "反映", "存在", "隐患", "尽快", "处置", "处理", "协调", "解决", "影响", "问题", "情况", "多次", "近期", "目前",
        "发现", "村民", "居民", "附近", "周边", "现场", "相关", "部门", "单位", "需要", "要求", "请求", "希望", "进行", "没有",
        "已经", "一直", "非常", "严重", "很多", "大量", "一些", "这个", "那个", "我们", "他们", "有人", "经常", "导致", "造成",
        "及时", "帮助", "联系", "安全", "派人", "核实", "查处", "依法", "上级", "县里", "乡镇", "街道", "社区", "村里", "本村",
        "该村", "村委", "村委会", "两委",
    )
)  # fmt: skip


@dataclass(frozen=True)
class GapCall:
    pk: int
    number: str
    title: str
    township: str
    created_at: datetime


@dataclass(frozen=True)
class GapCluster:
    """Out-of-list calls about one topic: its most telling words (`terms`, best first)
    and its calls, oldest first."""

    terms: tuple[str, ...]
    calls: tuple[GapCall, ...]
    townships: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    representative: str = ""  # the title of the call closest to the others
    call_ids: tuple[int, ...] = field(default=(), repr=False)

    @property
    def count(self) -> int:
        return len(self.calls)

    @property
    def label(self) -> str:
        return "、".join(self.terms[:3])


def _strip(text: str, names: Iterable[str]) -> str:
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def _words(segmenter: engine.Segmenter, text: str) -> list[str]:
    return [
        w for w in segmenter.cut(text) if len(w) >= 2 and w not in STOP_WORDS and not w.isdigit()
    ]


@cache
def _background() -> tuple[list[str], list[list[str]]]:
    """Texts that only lend their document frequencies (normalised, and as words): the
    routing seed examples, written as townships write calls, so that the words of every
    call (村民, 反映, 处置 …) weigh little however few out-of-list calls there are."""
    texts = [engine.normalise(text) for _code, text in seed_examples()]
    segmenter = engine.Segmenter()
    return texts, [_words(segmenter, t) for t in texts]


def _gap_matrix(titles: list[str], texts: list[str]) -> tuple[Any, Any, list[str]]:
    """(the combined L2-normalised vectors, the word block, its vocabulary) of calls
    given by their titles and their titles with descriptions."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    background, background_words = _background()
    chars = [engine.normalise(t) for t in texts]
    heads = [engine.normalise(t) for t in titles]
    segmenter = engine.Segmenter()
    words = [_words(segmenter, t) for t in chars]
    wv = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
    wv.fit(words + background_words)
    cv = TfidfVectorizer(
        analyzer="char", ngram_range=GAP_CHAR_NGRAMS, sublinear_tf=True, lowercase=False
    )
    cv.fit(chars + background)
    xw = normalize(wv.transform(words)).tocsr()
    blocks = [
        xw * np.sqrt(GAP_WEIGHTS["w"]),
        normalize(cv.transform(chars)) * np.sqrt(GAP_WEIGHTS["c"]),
        normalize(cv.transform(heads)) * np.sqrt(GAP_WEIGHTS["h"]),
    ]
    return normalize(sp.hstack(blocks).tocsr()), xw, list(wv.get_feature_names_out())


def _identity(doc: list[str]) -> list[str]:
    return doc


def _clusters(x: Any) -> list[list[int]]:
    """Average-linkage agglomerative clustering on cosine distance, cut at
    1 − GAP_SIMILARITY; deterministic for the same rows in the same order."""
    n = x.shape[0]
    if n == 1:
        return [[0]]
    from sklearn.cluster import AgglomerativeClustering

    sim = np.asarray((x @ x.T).todense(), dtype=np.float64)
    distance = np.clip(1.0 - sim, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=1.0 - GAP_SIMILARITY,
    ).fit_predict(distance)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _terms(xw: Any, vocabulary: list[str], members: list[int], k: int = 5) -> tuple[str, ...]:
    """The words most typical of the cluster against the other out-of-list calls: mean
    TF-IDF inside minus mean outside, among words that at least two of its calls (or a
    single call's) use."""
    if not vocabulary:
        return ()
    inside = xw[members]
    mean_in = np.asarray(inside.mean(axis=0)).ravel()
    support = np.asarray((inside > 0).sum(axis=0)).ravel()
    rest = np.setdiff1d(np.arange(xw.shape[0]), members)
    mean_out = np.asarray(xw[rest].mean(axis=0)).ravel() if len(rest) else 0.0
    score = mean_in - mean_out
    need = min(2, len(members))
    order = sorted(
        (i for i in np.flatnonzero(support >= need) if score[i] > 0),
        key=lambda i: (-round(float(score[i]), 9), vocabulary[i]),
    )
    return tuple(vocabulary[i] for i in order[:k])


def list_gaps(
    *,
    county: Region,
    since: datetime | None = None,
    until: datetime | None = None,
    min_calls: int = 3,
) -> list[GapCluster]:
    """Out-of-list calls of the county (no list item) made in [since, until) that recur:
    clusters of at least `min_calls` calls on one topic, the largest first.

    The calls' titles and descriptions, without the names of their places, become jieba
    words and character 2–3-grams, each block TF-IDF weighted (sublinear tf) and
    normalised; average-linkage clustering on the cosine joins groups while they are at
    least `GAP_SIMILARITY` alike. The same calls give the same clusters (one query)."""
    qs = _counted(county=county).filter(item__isnull=True)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    rows = list(
        qs.order_by("-created_at", "-pk").values(
            "pk",
            "number",
            "title",
            "description",
            "created_at",
            "location__name",
            "location__level",
            "location__parent__name",
        )[:MAX_GAP_CALLS]
    )
    rows.reverse()  # oldest first: the order the clustering sees
    min_calls = max(1, int(min_calls))
    if len(rows) < min_calls:
        return []
    names = [(r["location__name"], r["location__parent__name"]) for r in rows]
    x, xw, vocabulary = _gap_matrix(
        [_strip(r["title"], n) for r, n in zip(rows, names, strict=True)],
        [_strip(f"{r['title']}\n{r['description']}", n) for r, n in zip(rows, names, strict=True)],
    )
    found = []
    for members in _clusters(x):
        if len(members) < min_calls:
            continue
        calls = tuple(
            GapCall(
                pk=rows[i]["pk"],
                number=rows[i]["number"],
                title=rows[i]["title"],
                township=(
                    rows[i]["location__parent__name"]
                    if rows[i]["location__level"] == RegionLevel.VILLAGE
                    else rows[i]["location__name"]
                )
                or "",
                created_at=rows[i]["created_at"],
            )
            for i in members
        )
        sub = x[members]
        centrality = np.asarray((sub @ sub.T).sum(axis=1)).ravel()
        center = members[int(np.argmax(centrality))]
        found.append(
            GapCluster(
                terms=_terms(xw, vocabulary, members),
                calls=calls,
                townships=tuple(sorted({c.township for c in calls if c.township})),
                first_at=min(c.created_at for c in calls),
                last_at=max(c.created_at for c in calls),
                representative=rows[center]["title"],
                call_ids=tuple(c.pk for c in calls),
            )
        )
    found.sort(key=lambda g: (-g.count, -g.last_at.timestamp(), g.calls[0].pk))
    return found
