"""Possible duplicates of a call (重复呼叫): open calls of the same county about the same
problem, which the platform may merge the call into (the `merge` transition).

The database narrows the candidates first — same county, visible to the actor, in a state
a call can be merged into, created within `window_days` of the call, and sharing its list
item or its place (the same township, or a village of it) — at most `MAX_CANDIDATES` of
them, the newest first. Then each candidate gets a score in [0, 1]:

    text   = cosine of character 1–3-gram TF-IDF vectors (sublinear tf, the idf of the
             call and its candidates) of the normalised title and description
             (`engine.normalise`, as routing reads a call)
    t      = min(1, text / TEXT_FULL)     two reporters rarely write alike: a cosine of
                                          TEXT_FULL already counts as fully alike
    place  = 1 the same village (or both at the same township), 0.75 the same township,
             0.35 elsewhere (a call sharing only the item)
    other  = 0.6 + 0.2 · same item + 0.2 · 0.5 ^ (days apart / 7)
    score  = t · place · other

Alike text is necessary, and the place weighs most: the same problem is reported from the
same place, while the same kind of problem comes from many places at once (straw burning
in June). Candidates scoring at least `THRESHOLD` are returned, best first.
docs/routing.md ("Duplicates, hotspots and list gaps") gives the reasons for the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xianghu.calls import workflow
from xianghu.calls.models import Call
from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from . import engine

# The states a call may be merged INTO (`calls.workflow.MERGE_TARGET_STATES`).
MERGE_TARGET_STATES = tuple(sorted(workflow.MERGE_TARGET_STATES))
# At most this many candidates (the newest) are compared with the call.
MAX_CANDIDATES = 400
# A candidate with at least this score is shown as a possible duplicate.
THRESHOLD = 0.35
# A text cosine of this much counts as fully alike.
TEXT_FULL = 0.35
# The place factor: same village (or township-level place), same township, elsewhere.
PLACE_SAME, PLACE_TOWNSHIP, PLACE_OTHER = 1.0, 0.75, 0.35
# The weight of the same item and of closeness in time (halved every HALF_LIFE_DAYS).
W_ITEM, W_TIME, HALF_LIFE_DAYS = 0.2, 0.2, 7.0


@dataclass(frozen=True)
class Duplicate:
    call: Call
    score: float
    reasons: tuple[str, ...]  # translated short phrases: "same item", "3 days apart" …


@dataclass(frozen=True)
class _Target:
    text: str
    location: Region | None
    township_id: int | None
    item_id: int | None
    at: datetime


def township_of(region: Region | None) -> int | None:
    """The township a call's place belongs to (the place itself when it is one)."""
    if region is None:
        return None
    if region.level == RegionLevel.VILLAGE:
        return region.parent_id
    return region.pk


def call_text(title: str, description: str) -> str:
    return engine.prepare(f"{title}\n{description}").text


def _candidates(
    *,
    actor: Actor,
    county_id: int,
    target: _Target,
    window_days: int,
    exclude_pk: int | None = None,
) -> QuerySet[Call]:
    visible = access.visible(actor, Call.objects.all()).order_by().values("pk")
    window = timedelta(days=window_days)
    qs = Call.objects.filter(
        county_id=county_id,
        state__in=MERGE_TARGET_STATES,
        created_at__gte=target.at - window,
        created_at__lte=target.at + window,
        pk__in=visible,
    )
    shared = Q()
    if target.item_id is not None:
        shared |= Q(item_id=target.item_id)
    if target.township_id is not None:
        shared |= Q(location_id=target.township_id) | Q(location__parent_id=target.township_id)
    if shared:
        qs = qs.filter(shared)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.select_related("location", "item", "caller").order_by("-created_at", "-pk")[
        :MAX_CANDIDATES
    ]


def text_similarities(target: str, others: Sequence[str]) -> np.ndarray:
    """Cosine of the character 1–3-gram TF-IDF vectors of `target` and each of `others`
    (normalised texts), the idf taken from all of them."""
    if not others:
        return np.zeros(0)
    if not target:
        return np.zeros(len(others))
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False
    )
    try:
        x = vectorizer.fit_transform([target, *others])
    except ValueError:  # every text empty
        return np.zeros(len(others))
    return np.asarray((x[1:] @ x[0].T).toarray()).ravel()


def _days_apart(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 86400


def _days_phrase(days: float) -> str:
    whole = round(days)
    if whole == 0:
        return _("same day")
    return ngettext("%(n)d day apart", "%(n)d days apart", whole) % {"n": whole}


def _rank(
    target: _Target, candidates: list[Call], *, window_days: int, limit: int
) -> list[Duplicate]:
    sims = text_similarities(target.text, [call_text(c.title, c.description) for c in candidates])
    found: list[Duplicate] = []
    for call, text in zip(candidates, sims, strict=True):
        text = float(min(max(text, 0.0), 1.0))
        reasons: list[str] = []
        place = PLACE_OTHER
        if target.location is not None and call.location_id == target.location.pk:
            place = PLACE_SAME
            reasons.append(
                _("same village")
                if target.location.level == RegionLevel.VILLAGE
                else _("same township")
            )
        elif target.township_id is not None and township_of(call.location) == target.township_id:
            place = PLACE_TOWNSHIP
            reasons.append(_("same township"))
        item = 1.0 if target.item_id is not None and call.item_id == target.item_id else 0.0
        if item:
            reasons.insert(0, _("same item"))
        days = _days_apart(call.created_at, target.at)
        other = 1.0 - W_ITEM - W_TIME + W_ITEM * item + W_TIME * 0.5 ** (days / HALF_LIFE_DAYS)
        score = min(1.0, text / TEXT_FULL) * place * other
        if score < THRESHOLD:
            continue
        reasons.append(_days_phrase(days))
        reasons.append(_("text %(percent)d%% alike") % {"percent": round(text * 100)})
        found.append(Duplicate(call=call, score=round(score, 3), reasons=tuple(reasons)))
    found.sort(key=lambda d: (-d.score, -d.call.created_at.timestamp(), d.call.pk))
    return found[: max(0, limit)]


def call_duplicates(
    *, actor: Actor, call: Call, limit: int = 5, window_days: int = 30
) -> list[Duplicate]:
    """The open calls of the call's county that may be the same problem, best first:
    only calls the actor may see, in a state the call can be merged into (two queries
    at most: the call's place if not loaded, and the candidates)."""
    location = call.location  # loaded with the call by `call_get`
    target = _Target(
        text=call_text(call.title, call.description),
        location=location,
        township_id=township_of(location),
        item_id=call.item_id,
        at=call.created_at,
    )
    candidates = list(
        _candidates(
            actor=actor,
            county_id=call.county_id,
            target=target,
            window_days=window_days,
            exclude_pk=call.pk,
        )
    )
    return _rank(target, candidates, window_days=window_days, limit=limit)


def text_duplicates(
    *,
    actor: Actor,
    county: Region,
    text: str,
    location: Region | None = None,
    item: Item | None = None,
    at: datetime | None = None,
    limit: int = 5,
    window_days: int = 30,
) -> list[Duplicate]:
    """The same for a call not saved yet (a draft being written): `text` is its title
    and description. Without a place or an item every open call of the window is a
    candidate (the newest `MAX_CANDIDATES`)."""
    target = _Target(
        text=engine.prepare(text or "").text,
        location=location,
        township_id=township_of(location),
        item_id=item.pk if item is not None else None,
        at=at or timezone.now(),
    )
    if not target.text:
        return []
    candidates = list(
        _candidates(actor=actor, county_id=county.pk, target=target, window_days=window_days)
    )
    return _rank(target, candidates, window_days=window_days, limit=limit)
