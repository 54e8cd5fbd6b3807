"""Writes of the routing app: training a county's model, recording suggestions and what
was chosen, importing labelled tickets."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item, ListVersion
from xianghu.core.errors import InvalidInput
from xianghu.core.memo import insert_later
from xianghu.core.text import clean_text
from xianghu.regions.models import Region

from . import engine
from .models import ExampleSource, RoutingExample, RoutingModel, RoutingSuggestionLog
from .selectors import CACHE, DEFAULT_THRESHOLD, RouteSuggestion
from .training import TrainingSet, training_set

# Models of a county kept after a training (the newest is in use).
KEEP_MODELS = 3
# New decisions, dispatches or imports after which a county's model is retrained by the
# periodic task (settings.XH_ROUTING_RETRAIN_AFTER).
RETRAIN_AFTER = int(getattr(settings, "XH_ROUTING_RETRAIN_AFTER", 20))
THRESHOLDS = tuple(round(float(t), 3) for t in np.arange(0.05, 0.61, 0.025))


@dataclass(frozen=True)
class Figures:
    """Cross-validated figures on a county's real examples (seeds, imports, history), and
    the temperature and threshold chosen on them."""

    n: int
    top1: float | None
    top3: float | None
    outside_detected: float | None
    threshold: float
    temperature: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "top1": _round(self.top1),
            "top3": _round(self.top3),
            "outside_detected": _round(self.outside_detected),
            "threshold": self.threshold,
            "temperature": _round(self.temperature),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _train(data: TrainingSet, *, calibrate: bool = True, **meta: Any) -> engine.TextModel:
    return engine.train(
        data.examples,
        phrases=data.phrases,
        user_words=data.phrases,
        calibrate=calibrate,
        meta=meta,
    )


@dataclass(frozen=True)
class _Held:
    label: str
    classes: list[str]
    scores: np.ndarray


def _cross_validate(data: TrainingSet, *, folds: int = 3, seed: int = 0) -> Figures:
    """Hold out a third of the real examples at a time (the list's own documents always
    stay in training). On the held-out texts: the softmax temperature that fits them best
    (the list's documents are too easy to calibrate on), then the threshold that best
    balances in-list accuracy and out-of-list detection."""
    real = list(data.real)
    if len(real) < 3 * folds:
        return Figures(len(real), None, None, None, DEFAULT_THRESHOLD)
    random.Random(seed).shuffle(real)
    held: list[_Held] = []
    for f in range(folds):
        test = set(real[f::folds])
        train_part = TrainingSet(
            examples=[e for i, e in enumerate(data.examples) if i not in test],
            phrases=data.phrases,
        )
        model = _train(train_part, calibrate=False)
        for i in sorted(test):
            example = data.examples[i]
            if example.label not in model.classes:
                continue
            p = model.predict(example.text, context=example.context)
            held.append(_Held(example.label, model.classes, p.scores))
    if not held:
        return Figures(0, None, None, None, DEFAULT_THRESHOLD)
    temperature = engine.fit_temperature(
        [h.scores for h in held], [h.classes.index(h.label) for h in held]
    )
    ranked = []  # (label, items best first, confidence of the best item, outside first)
    for h in held:
        probs = engine.softmax(h.scores * temperature)
        order = [h.classes[i] for i in np.argsort(-probs)]
        items = [c for c in order if c != engine.OUTSIDE]
        ranked.append(
            (h.label, items, float(probs[h.classes.index(items[0])]), order[0] == engine.OUTSIDE)
        )
    inside = [r for r in ranked if r[0] != engine.OUTSIDE]
    outside = [r for r in ranked if r[0] == engine.OUTSIDE]

    def score(t: float) -> tuple[float, float | None, float | None]:
        right = sum(
            1 for label, items, conf, out in inside if items[0] == label and not out and conf >= t
        )
        acc = right / len(inside) if inside else None
        caught = sum(1 for _l, _i, conf, out in outside if out or conf < t)
        det = caught / len(outside) if outside else None
        parts = [v for v in (acc, det) if v is not None]
        return sum(parts) / len(parts), acc, det

    threshold = max(THRESHOLDS, key=lambda t: (score(t)[0], -t))
    top1 = sum(1 for r in inside if r[1][0] == r[0]) / len(inside) if inside else None
    top3 = sum(1 for r in inside if r[0] in r[1][:3]) / len(inside) if inside else None
    return Figures(len(held), top1, top3, score(threshold)[2], threshold, temperature)


def routing_train(
    *,
    county: Region,
    user: Any = None,
    at: datetime | None = None,
    evaluate: bool = True,
) -> RoutingModel:
    """Train the county's model on its list in force and everything it has learnt
    (`training.training_set`), store it as the county's newest model and prune old ones."""
    at = at or timezone.now()
    version = catalog_selectors.county_version_in_force(county=county, at=at)
    if version is None:
        raise InvalidInput(
            _("%(county)s has no responsibility list in force: there is nothing to learn.")
            % {"county": county.name},
            code="routing.no_list",
        )
    started = time.perf_counter()
    data = training_set(county=county, version=version)
    if data.sources.get("pending_correction"):
        # second stage: corrected dispatches are taught as the lead department's item
        # that a first model, trained without them, finds most likely
        first = _train(data, calibrate=False)

        def resolve(text: str, codes: list[str], context: str | None) -> str | None:
            p = first.predict(text, context=context)
            return next((lab for lab in p.labels if lab in codes), None)

        data = training_set(county=county, version=version, resolve=resolve)
    figures = _cross_validate(data) if evaluate else None
    threshold = figures.threshold if figures else DEFAULT_THRESHOLD
    temperature = figures.temperature if figures else None
    model = _train(
        data,
        calibrate=temperature is None,
        threshold=threshold,
        county=county.code,
        list_version=version.pk,
    )
    if temperature is not None:
        model.temperature = temperature
    # Training reads and takes seconds; only storing the result is one short transaction.
    with transaction.atomic():
        row = _store(county, version, model, data, figures, threshold, started, at, user)
    CACHE.put(CACHE.models, row.pk, model)
    return row


def _store(
    county: Region,
    version: ListVersion,
    model: engine.TextModel,
    data: TrainingSet,
    figures: Figures | None,
    threshold: float,
    started: float,
    at: datetime,
    user: Any,
) -> RoutingModel:
    blob = model.to_bytes()
    # the county row serialises concurrent trainings of one county (version numbers)
    Region.objects.select_for_update().filter(pk=county.pk).first()
    number = (RoutingModel.objects.filter(county=county).aggregate(n=Max("version"))["n"] or 0) + 1
    row = RoutingModel.objects.create(
        county=county,
        version=number,
        schema=engine.SCHEMA_VERSION,
        list_version=version,
        created_at=at,
        created_by=user if getattr(user, "pk", None) else None,
        examples=len(data.examples),
        metrics={
            "examples": len(data.examples),
            "sources": {k: v for k, v in sorted(data.sources.items()) if k != "pending_correction"},
            "labels": len(model.classes),
            "features": len(model.vocabulary),
            "threshold": threshold,
            "cv": figures.as_dict() if figures else None,
            "train_seconds": round(time.perf_counter() - started, 1),
            "bytes": len(blob),
        },
        data=blob,
        size=len(blob),
        digest=hashlib.sha256(blob).hexdigest(),
    )
    old = RoutingModel.objects.filter(county=county).order_by("-version")[KEEP_MODELS:]
    RoutingModel.objects.filter(pk__in=[m.pk for m in old.only("pk")]).delete()
    return row


# ---- suggestions and decisions -----------------------------------------------------------


class _Unsettled:
    """No decision yet (`suggestion_record`'s default)."""


UNSETTLED = _Unsettled()


def suggestion_record(
    *,
    county: Region,
    text: str,
    suggestion: RouteSuggestion,
    township: Region | None = None,
    call: Call | None = None,
    user: Any = None,
    at: datetime | None = None,
    stage: str = "",
    settled: Item | _Unsettled | None = UNSETTLED,
) -> RoutingSuggestionLog:
    """Remember a suggestion that was shown (for acceptance figures and learning); with
    `settled`, also the item already chosen for it (`suggestion_settle`), in one INSERT —
    within a `core.memo` scope (a batch of calls) with the scope's other suggestions, when
    it ends (the log has no id until then)."""
    log = RoutingSuggestionLog(
        county=county,
        call=call,
        model_id=suggestion.model_id,
        model_version=suggestion.model_version,
        text=clean_text(text)[:4000],
        township=township,
        candidates=[{"code": c.code, "confidence": c.confidence} for c in suggestion.candidates],
        outside_list=suggestion.outside_list,
        suggested_code=suggestion.item_code,
        status=suggestion.status,
        stage=stage,
        created_at=at or timezone.now(),
        created_by=user if getattr(user, "pk", None) else None,
    )
    if not isinstance(settled, _Unsettled):
        _decide(log, code=settled.code if settled else "", user=user, at=at)
    if not insert_later(log):
        log.save(force_insert=True)
    return log


def suggestion_decide(
    *,
    log: RoutingSuggestionLog,
    item_code: str | None,
    call: Call | None = None,
    user: Any = None,
    at: datetime | None = None,
) -> RoutingSuggestionLog:
    """Record what was chosen after a suggestion: an item code of the list in force, or
    None for "outside the list". Accepted means it is what was suggested (an item, or
    "outside" when the suggestion said so); anything else is a correction to learn from."""
    code = clean_text(item_code or "")
    if code:
        version = catalog_selectors.county_version_in_force(county=log.county, at=at)
        if version is None or not version.items.filter(code=code).exists():
            raise InvalidInput(
                _("“%(code)s” is not an item of the list in force.") % {"code": code},
                code="routing.unknown_item",
            )
    return _decision_store(log=log, code=code, call=call, user=user, at=at)


def suggestion_settle(
    *,
    log: RoutingSuggestionLog,
    item: Item | None,
    call: Call | None = None,
    user: Any = None,
    at: datetime | None = None,
) -> RoutingSuggestionLog:
    """`suggestion_decide` for an item the call workflow has already checked (it may be
    of an earlier version of the list when events are replayed)."""
    return _decision_store(log=log, code=item.code if item else "", call=call, user=user, at=at)


def _decide(log: RoutingSuggestionLog, *, code: str, user: Any, at: datetime | None) -> None:
    """Set the decision fields of a log for the code chosen ("" = outside the list)."""
    if log.status != "ok":
        log.accepted = None  # there was nothing to accept
    elif code:
        log.accepted = code == log.suggested_code
    else:
        log.accepted = log.outside_list
    log.chosen_code = code
    log.chosen_outside = not code
    log.decided_at = at or timezone.now()
    log.decided_by = user if getattr(user, "pk", None) else None


def _decision_store(
    *,
    log: RoutingSuggestionLog,
    code: str,
    call: Call | None,
    user: Any,
    at: datetime | None,
) -> RoutingSuggestionLog:
    _decide(log, code=code, user=user, at=at)
    if call is not None:
        log.call = call
    log.save(
        update_fields=[
            "chosen_code",
            "chosen_outside",
            "accepted",
            "decided_at",
            "decided_by",
            "call",
        ]
    )
    return log


# ---- imported examples ---------------------------------------------------------------------


OUTSIDE_LABELS = frozenset({"", "-", "outside", "清单外"})


def examples_import(
    *,
    county: Region,
    rows: Sequence[Mapping[str, Any]] | Iterable[Mapping[str, Any]],
    text_col: str = "text",
    label_col: str = "label",
    user: Any = None,
    batch: str = "",
) -> int:
    """Store labelled tickets (text, item code; an empty code or "清单外" = outside the
    list). Every row is checked first: a missing column, an empty text or a code that is
    not an item of the list in force stops the import with the rows listed, and nothing
    is written."""
    version = catalog_selectors.county_version_in_force(county=county)
    if version is None:
        raise InvalidInput(
            _("%(county)s has no responsibility list in force.") % {"county": county.name},
            code="routing.no_list",
        )
    codes = set(version.items.values_list("code", flat=True))
    rows = list(rows)
    if rows:
        missing = [c for c in (text_col, label_col) if c not in rows[0]]
        if missing:
            raise InvalidInput(
                _("The file has no column %(cols)s.") % {"cols": ", ".join(missing)},
                code="routing.missing_columns",
                detail=[{"column": c} for c in missing],
            )
    problems: list[dict[str, Any]] = []
    clean: list[tuple[str, str]] = []
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        text = clean_text(row.get(text_col))
        label = clean_text(row.get(label_col))
        if not text:
            problems.append({"row": n, "field": text_col, "message": _("The text is empty.")})
        if label not in OUTSIDE_LABELS and label not in codes:
            problems.append(
                {
                    "row": n,
                    "field": label_col,
                    "message": _("“%(code)s” is not an item of the list in force.")
                    % {"code": label},
                }
            )
        clean.append((text[:4000], "" if label in OUTSIDE_LABELS else label))
    if problems:
        raise InvalidInput(
            _("%(n)s rows cannot be imported; nothing was imported.") % {"n": len(problems)},
            code="routing.bad_rows",
            detail=problems,
        )
    RoutingExample.objects.bulk_create(
        RoutingExample(
            county=county,
            text=text,
            item_code=label,
            source=ExampleSource.IMPORT,
            batch=batch[:64],
            created_by=user if getattr(user, "pk", None) else None,
        )
        for text, label in clean
    )
    return len(clean)


def counties_to_retrain(*, min_new: int | None = None) -> list[Region]:
    """Counties with a list in force whose model is missing, of another schema, trained
    on another list version, or older than `min_new` new decisions, dispatches or imports."""
    from xianghu.calls.models import CallEvent
    from xianghu.catalog.models import Catalogue, ScopeLevel

    min_new = min_new if min_new is not None else RETRAIN_AFTER
    out = []
    for catalogue in Catalogue.objects.filter(level=ScopeLevel.COUNTY).select_related("region"):
        county = catalogue.region
        version = catalog_selectors.version_in_force(catalogue=catalogue)
        if version is None:
            continue
        row = RoutingModel.objects.filter(county=county).defer("data").order_by("-version").first()
        if row is None or row.schema != engine.SCHEMA_VERSION or row.list_version_id != version.pk:
            out.append(county)
            continue
        new = (
            RoutingSuggestionLog.objects.filter(
                county=county, decided_at__gt=row.created_at
            ).count()
            + CallEvent.objects.filter(
                call__county=county, action__in=("dispatch", "rule"), at__gt=row.created_at
            ).count()
            + RoutingExample.objects.filter(county=county, created_at__gt=row.created_at).count()
        )
        if new >= min_new:
            out.append(county)
    return out
