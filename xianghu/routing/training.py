"""What a county's routing model learns from (docs/routing.md, "Learning").

1. The list itself (zero-shot): every callable item of the version in force gives a few
   short documents — its name, its name with its keywords (the item's own keywords and the
   curated ones of `data/keywords.csv`), its keywords alone, and its duties.
2. Seed examples (`data/seed_examples.csv`): call texts written for the default catalogue's
   items, as townships write them; they apply to a county's item with the same code, or to
   the one item that inherits from that code.
3. Imported labelled tickets (`RoutingExample`).
4. History: every dispatched call confirms its item (the platform read it and sent it
   on), with its township as context. A dispatch that differs from the list's suggestion
   (`changed_from_suggestion`) to a department the item names keeps the item; to a
   department the item does not name (where the guard did not apply) it is a correction:
   the call is taught as the lead department's item that fits its text best (weight 2).
5. Suggestion decisions (`RoutingSuggestionLog`): the item someone chose, weight 2 when
   it differs from the suggestion; calls already counted through their dispatch are skipped.

Out-of-list texts (seed, imported, dispatched out-of-list calls) form the `__outside__`
pseudo-class.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from xianghu.calls.models import Call, CallEvent
from xianghu.catalog.models import Item, ListVersion, PartyRole
from xianghu.regions.models import Region

from .engine import OUTSIDE, Example
from .models import RoutingExample, RoutingSuggestionLog

DATA_DIR = Path(__file__).resolve().parent / "data"
KEYWORDS_FILE = DATA_DIR / "keywords.csv"
SEEDS_FILE = DATA_DIR / "seed_examples.csv"

# Weights of the kinds of examples (a list text is short and generic; a confirmed call is
# what calls really look like; a correction says the model was wrong).
WEIGHTS = {
    "name": 1.0,
    "keywords": 1.0,
    "keyword": 1.0,
    "duties": 0.3,
    "seed": 1.0,
    "import": 1.0,
    "dispatch": 1.0,
    "correction": 2.0,
    "decision": 1.0,
}

# The events that send a call to a department (a ruling on a dispute sends it again).
DISPATCH_ACTIONS = ("dispatch", "rule")

_SPLIT = re.compile(r"[、，,；;/()（）\"“”《》\s]+")


@dataclass
class TrainingSet:
    examples: list[Example] = field(default_factory=list)
    phrases: set[str] = field(default_factory=set)
    sources: Counter[str] = field(default_factory=Counter)
    codes: list[str] = field(default_factory=list)
    # examples that are real texts (not the list's own), for cross-validated figures
    real: list[int] = field(default_factory=list)

    def add(self, kind: str, text: str, label: str, *, context: str | None = None) -> None:
        text = text.strip()
        if not text:
            return
        if kind not in ("name", "keywords", "keyword", "duties"):
            self.real.append(len(self.examples))
        self.examples.append(Example(text, label, WEIGHTS[kind], context))
        self.sources[kind] += 1


@cache
def curated_keywords() -> dict[str, tuple[str, ...]]:
    """Item code → the curated keywords of `data/keywords.csv`."""
    out: dict[str, tuple[str, ...]] = {}
    with KEYWORDS_FILE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            words = tuple(w.strip() for w in _SPLIT.split(row["keywords"]) if w.strip())
            out[row["code"].strip()] = words
    return out


@cache
def seed_examples() -> tuple[tuple[str, str], ...]:
    """(item code or "" for outside the list, text) of `data/seed_examples.csv`."""
    with SEEDS_FILE.open(encoding="utf-8", newline="") as fh:
        return tuple(
            (row["code"].strip(), row["text"].strip())
            for row in csv.DictReader(fh)
            if row["text"].strip()
        )


def _code_map(items: Iterable[Item]) -> dict[str, str]:
    """A guidance code → the county item it stands for: the item with that code, or the
    single item inheriting from it (a code split into several items maps to none)."""
    items = list(items)
    out = {item.code: item.code for item in items}
    by_parent: dict[str, list[str]] = {}
    for item in items:
        if item.parent_id is not None and item.parent is not None:
            by_parent.setdefault(item.parent.code, []).append(item.code)
    for parent_code, codes in by_parent.items():
        if parent_code not in out and len(codes) == 1:
            out[parent_code] = codes[0]
    return out


def item_phrases(item: Item) -> list[str]:
    """The phrases that name an item: its name's parts and its keywords."""
    parts = [p for p in _SPLIT.split(item.name) if len(p) >= 2]
    words = list(item.keyword_list()) + list(_curated_for(item))
    return list(dict.fromkeys([*parts, *(w.strip() for w in words if len(w.strip()) >= 2)]))


def _curated_for(item: Item) -> tuple[str, ...]:
    curated = curated_keywords()
    if item.code in curated:
        return curated[item.code]
    if item.parent is not None and item.parent.code in curated:
        # a split item has its own words in its name; the parent's words still help
        return curated[item.parent.code]
    return ()


def call_text(call: Call) -> str:
    return f"{call.title}。{call.description}"


def township_context(region: Region | None) -> str | None:
    if region is None or len(region.code) < 9:
        return None
    return region.code[:9]


def list_documents(items: Iterable[Item], out: TrainingSet) -> None:
    for item in items:
        name = " ".join(p for p in _SPLIT.split(item.name) if p)
        words = [w for w in item_phrases(item) if w not in name]
        out.add("name", name, item.code)
        out.add("keywords", f"{name} {' '.join(words)}", item.code)
        for i in range(0, len(words), 3):
            out.add("keyword", " ".join(words[i : i + 3]), item.code)
        out.add("duties", f"{item.primary_duties} {item.cooperating_duties}", item.code)
        out.phrases.update(item_phrases(item))


Scorer = Callable[[str, list[str], str | None], str | None]


def training_set(
    *, county: Region, version: ListVersion, resolve: Scorer | None = None
) -> TrainingSet:
    """Everything the county's model learns from (see the module's docstring).

    `resolve(text, candidate codes, context)` picks the item a corrected dispatch meant
    among the items of its lead department; without it corrections are left out (the
    first stage of training).
    """
    items = [
        i for i in version.items.select_related("parent").prefetch_related("parties") if i.callable
    ]
    codes = {i.code for i in items}
    out = TrainingSet(codes=sorted(codes))
    list_documents(items, out)
    mapping = _code_map(items)
    for code, text in seed_examples():
        if not code:
            out.add("seed", text, OUTSIDE)
        elif code in mapping:
            out.add("seed", text, mapping[code])
    for example in RoutingExample.objects.filter(county=county).order_by("id"):
        if not example.item_code:
            out.add("import", example.text, OUTSIDE)
        elif example.item_code in codes:
            out.add("import", example.text, example.item_code)
    counted = _history(county=county, items=items, out=out, resolve=resolve)
    _decisions(county=county, codes=codes, counted=counted, out=out)
    return out


def _history(
    *, county: Region, items: list[Item], out: TrainingSet, resolve: Scorer | None
) -> set[int]:
    by_lead: dict[int, list[str]] = {}
    parties: dict[str, set[int | None]] = {i.code: set() for i in items}
    for item in items:
        for party in item.parties.all():
            parties[item.code].add(party.organisation_id)
            if party.role == PartyRole.PRIMARY and party.organisation_id is not None:
                by_lead.setdefault(party.organisation_id, []).append(item.code)
    last: dict[int, dict] = {}
    for call_id, data in (
        CallEvent.objects.filter(call__county=county, action__in=DISPATCH_ACTIONS)
        .order_by("call_id", "seq")
        .values_list("call_id", "data")
    ):
        last[call_id] = data or {}
    counted: set[int] = set()
    dispatched = CallEvent.objects.filter(call__county=county, action__in=DISPATCH_ACTIONS).values(
        "call_id"
    )
    calls = Call.objects.filter(pk__in=dispatched).select_related("item", "location")
    for call in calls.iterator(chunk_size=500):
        data = last[call.pk]
        text = call_text(call)
        context = township_context(call.location)
        lead = data.get("lead")
        if call.out_of_list or call.item is None:
            out.add("dispatch", text, OUTSIDE, context=context)
        elif call.item.code not in parties:
            continue  # an item the list in force no longer has
        elif not data.get("changed_from_suggestion") or lead in parties[call.item.code]:
            # dispatched as the list says, or to another department the item names
            out.add("dispatch", text, call.item.code, context=context)
        else:
            candidates = sorted(set(by_lead.get(lead or 0, ())))
            if resolve is None:
                out.sources["pending_correction"] += bool(candidates)
                continue
            chosen = resolve(text, candidates, context) if candidates else None
            if chosen is None:
                continue
            out.add("correction", text, chosen, context=context)
        counted.add(call.pk)
    return counted


def _decisions(*, county: Region, codes: set[str], counted: set[int], out: TrainingSet) -> None:
    logs = RoutingSuggestionLog.objects.filter(county=county, accepted__isnull=False).order_by("id")
    # A call is decided at its creation and again at the platform's acceptance: the
    # later decision is the one that counts.
    latest: dict[object, RoutingSuggestionLog] = {}
    for log in logs.select_related("township"):
        if log.call_id is not None and log.call_id in counted:
            continue
        latest[log.call_id if log.call_id is not None else ("log", log.pk)] = log
    for log in latest.values():
        context = township_context(log.township)
        kind = "decision" if log.accepted else "correction"
        if log.chosen_outside:
            out.add(kind, log.text, OUTSIDE, context=context)
        elif log.chosen_code in codes:
            out.add(kind, log.text, log.chosen_code, context=context)
