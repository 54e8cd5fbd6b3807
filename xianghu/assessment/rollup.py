"""Keeping the roll-up (`DispatchFact`, `EventFact`, `SubmissionFact`) in step with the
call events, and rebuilding it from the log.

- `on_event_appended` receives `calls.signals.event_appended`, sent inside the
  transaction of every appended event (connected in `AssessmentConfig.ready`): it folds
  all the events of that one call again (`facts.facts_from_events`) and replaces the
  call's facts, so the roll-up commits or rolls back with the event.
- `on_attachment_saved` does the same when a photo is attached to an event (photos are
  saved after their event, in the same transaction): the evidence flag depends on them.
- `rebuild` folds every call again, in batches, each batch in its own transaction with its
  calls locked (so a transition running meanwhile waits for the batch, then refreshes its
  call). Rebuilding gives exactly the rows the receivers keep; a test checks it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count

from xianghu.calls.models import Attachment, Call, CallEvent
from xianghu.regions.models import Organisation

from .facts import (
    IGNORED_ACTIONS,
    CallFacts,
    CallInfo,
    EventInfo,
    OrgInfo,
    facts_from_events,
    organisations_named,
    row_values,
)
from .models import DispatchFact, EventFact, SubmissionFact

logger = logging.getLogger(__name__)

_CALL_FIELDS = (
    "id",
    "county_id",
    "direction",
    "caller_id",
    "caller__kind",
    "caller__township_id",
    "item_id",
    "item__domain_id",
    "urgency",
)


def _call_infos(call_ids: Iterable[int]) -> dict[int, CallInfo]:
    rows = Call.objects.filter(pk__in=list(call_ids)).order_by().values_list(*_CALL_FIELDS)
    return {
        row[0]: CallInfo(
            id=row[0],
            county_id=row[1],
            direction=row[2],
            caller_id=row[3],
            caller_kind=row[4],
            caller_township_id=row[5],
            item_id=row[6],
            domain_id=row[7],
            urgency=row[8],
        )
        for row in rows
    }


def _events(call_ids: Sequence[int]) -> dict[int, list[EventInfo]]:
    """The events of the calls in order, with the number of photos of each (two queries)."""
    photos = dict(
        Attachment.objects.filter(call_id__in=call_ids, event__isnull=False)
        .order_by()
        .values("event_id")
        .annotate(n=Count("pk"))
        .values_list("event_id", "n")
    )
    out: dict[int, list[EventInfo]] = defaultdict(list)
    rows = (
        CallEvent.objects.filter(call_id__in=call_ids)
        .order_by("call_id", "seq")
        .values_list("call_id", "id", "seq", "action", "at", "data")
    )
    for call_id, event_id, seq, action, at, data in rows:
        out[call_id].append(
            EventInfo(
                seq=seq,
                action=action,
                at=at,
                data=data if isinstance(data, dict) else {},
                photos=photos.get(event_id, 0),
            )
        )
    return out


def _organisations(ids: Iterable[int]) -> dict[int, OrgInfo]:
    rows = Organisation.objects.filter(pk__in=set(ids)).values_list(
        "id", "kind", "township_id", "parent_id"
    )
    return {row[0]: OrgInfo(*row) for row in rows}


def _facts_of(call_ids: Sequence[int]) -> dict[int, CallFacts]:
    calls = _call_infos(call_ids)
    events = _events(call_ids)
    named: set[int] = set()
    for call_events in events.values():
        named |= organisations_named(call_events)
    organisations = _organisations(named)
    return {
        call_id: facts_from_events(info, events.get(call_id, []), organisations=organisations)
        for call_id, info in calls.items()
    }


def _store(call_ids: Sequence[int], facts: dict[int, CallFacts]) -> tuple[int, int, int]:
    """Replace the facts of the calls (call inside a transaction)."""
    DispatchFact.objects.filter(call_id__in=call_ids).delete()
    EventFact.objects.filter(call_id__in=call_ids).delete()
    SubmissionFact.objects.filter(call_id__in=call_ids).delete()
    episodes = [DispatchFact(**row_values(r)) for f in facts.values() for r in f.episodes]
    events = [EventFact(**row_values(r)) for f in facts.values() for r in f.events]
    submissions = [
        SubmissionFact(**row_values(f.submission))
        for f in facts.values()
        if f.submission is not None
    ]
    DispatchFact.objects.bulk_create(episodes, batch_size=1000)
    EventFact.objects.bulk_create(events, batch_size=1000)
    SubmissionFact.objects.bulk_create(submissions, batch_size=1000)
    return len(episodes), len(events), len(submissions)


def refresh_calls(call_ids: Sequence[int]) -> None:
    """Fold the events of these calls again and replace their facts. Inside a
    transaction (the event's) no savepoint is made: a failure rolls the event back too."""
    ids = list(call_ids)
    with transaction.atomic(savepoint=False):
        _store(ids, _facts_of(ids))


def on_event_appended(sender: Any, *, event: CallEvent, call: Call, **kwargs: Any) -> None:
    """Receiver of `calls.signals.event_appended` (inside the event's transaction)."""
    if event.action in IGNORED_ACTIONS:
        return
    refresh_calls([call.pk])


def on_attachment_saved(sender: Any, *, instance: Attachment, created: bool, **kw: Any) -> None:
    """Receiver of `post_save` of `Attachment`: a photo on an event may be evidence."""
    if created and instance.event_id is not None and not kw.get("raw"):
        refresh_calls([instance.call_id])


@dataclass
class RebuildReport:
    calls: int = 0
    episodes: int = 0
    events: int = 0
    submissions: int = 0

    def __str__(self) -> str:
        return (
            f"{self.calls} calls: {self.episodes} handling episodes, {self.events} assessed "
            f"events, {self.submissions} calls sent to the platform"
        )


def rebuild(*, county_id: int | None = None, batch_size: int = 500) -> RebuildReport:
    """Fold every call (of one county, or all) again and replace its facts, in batches
    of `batch_size` calls."""
    report = RebuildReport()
    calls = Call.objects.order_by("pk")
    if county_id is not None:
        calls = calls.filter(county_id=county_id)
    last = 0
    while True:
        with transaction.atomic():
            # Lock the batch: a transition on one of these calls waits, then refreshes it.
            ids = list(
                calls.filter(pk__gt=last)
                .select_for_update()
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            episodes, events, submissions = _store(ids, _facts_of(ids))
        report.calls += len(ids)
        report.episodes += episodes
        report.events += events
        report.submissions += submissions
        last = ids[-1]
    return report
