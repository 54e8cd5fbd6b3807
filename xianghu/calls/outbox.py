"""The transactional outbox of call events.

A transition writes its event and an `EventOutbox` row in one transaction. Right after
the commit, in the same request or task, `outbox_process` runs the after-commit effects
(`services.AFTER_COMMIT`: inbox notifications, webhooks, the hotline's status push) and
deletes the row in one transaction — unless every effect's probe (`effect_probe`) finds
nothing to do for the event, as for most creations, and the row is simply deleted; with
the database task backend the channel and
webhook tasks those effects enqueue are rows of that transaction too. A process killed,
or a database restarted, between the two commits leaves the row behind, and the worker's
relay (`outbox_relay`, every `XH_OUTBOX_RELAY_SECONDS`) runs the effects of rows older
than `XH_OUTBOX_GRACE_SECONDS`. Every effect is idempotent per event (a notification per
user and `call-event:<id>`, a webhook delivery per webhook and key), so running one twice
— a relay overtaking a slow request — tells nobody twice.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, router, transaction
from django.db.models import F
from django.utils import timezone

from xianghu.core.memo import memo_scope

from .models import CallEvent, EventOutbox

logger = logging.getLogger(__name__)

# After this many failed relays a row is left alone (and logged): a bug in an effect
# must not make the relay spin on the same events for ever.
MAX_ATTEMPTS = 10
DONE, GONE, FAILED = "done", "gone", "failed"

_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("xh_outbox_muted", default=False)


@contextmanager
def outbox_muted() -> Iterator[None]:
    """Within this block events get no outbox row and no after-commit effects: the demo's
    history is the past, and nobody is told of it."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


Effect = Callable[[CallEvent], None]
Probe = Callable[[CallEvent], bool]

# An effect's probe answers, after the commit and without a transaction, whether the
# effect could do anything for an event; an effect without one always could.
_PROBES: dict[Effect, Probe] = {}


def effect_probe(effect: Effect) -> Callable[[Probe], Probe]:
    """Register the probe of an effect (a decorator). A probe reads committed data only
    and answers True when in doubt."""

    def register(probe: Probe) -> Probe:
        _PROBES[effect] = probe
        return probe

    return register


ManyProbe = Callable[[list[CallEvent]], set[int]]
_MANY_PROBES: dict[Effect, ManyProbe] = {}


def effect_probe_many(effect: Effect) -> Callable[[ManyProbe], ManyProbe]:
    """Register an effect's probe for a batch's events (a decorator): the ids of the
    events it could do anything for, in one look-up. Without one, a batch's events are
    probed one by one."""

    def register(probe: ManyProbe) -> ManyProbe:
        _MANY_PROBES[effect] = probe
        return probe

    return register


def outbox_add(*, event: CallEvent, effects: list[Effect]) -> None:
    """Inside the event's transaction: record that its effects are due, and run them
    once the transaction commits."""
    if _muted.get() or not effects:
        return
    EventOutbox.objects.create(event=event)
    transaction.on_commit(lambda: outbox_after_commit(event=event, effects=effects))


def outbox_add_many(*, events: list[CallEvent], effects: list[Effect]) -> None:
    """`outbox_add` for the events of a batch: their rows in one INSERT, and after the
    commit one DELETE for every event no effect concerns."""
    if _muted.get() or not effects or not events:
        return
    EventOutbox.objects.bulk_create([EventOutbox(event=event) for event in events])
    transaction.on_commit(lambda: outbox_after_commit_many(events=events, effects=effects))


def outbox_after_commit_many(*, events: list[CallEvent], effects: list[Effect]) -> list[str]:
    """`outbox_after_commit` for a batch's events, the idle ones' rows deleted together
    (the probes may remember their look-ups for the batch: `core.memo`)."""
    with memo_scope():
        return _after_commit_many(events, effects)


def _after_commit_many(events: list[CallEvent], effects: list[Effect]) -> list[str]:
    results: dict[int, str] = {}
    idle: list[int] = []
    try:
        concerned = set().union(*(_MANY_PROBES[e](events) for e in effects if e in _MANY_PROBES))
        one_by_one = [e for e in effects if e not in _MANY_PROBES]
    except DatabaseError:
        logger.warning("outbox: the effects of %s events are left for the relay", len(events))
        return [FAILED] * len(events)
    except Exception:  # a probe's bug: run the effects, which decide for themselves
        logger.exception("outbox: probing the effects of %s events failed", len(events))
        concerned, one_by_one = {event.pk for event in events}, []
    for event in events:
        try:
            if event.pk not in concerned and _idle(event, one_by_one):
                idle.append(event.pk)
                continue
        except DatabaseError:
            logger.warning("outbox: the effects of event %s are left for the relay", event.pk)
            results[event.pk] = FAILED
            continue
        except Exception:  # a probe's bug: run the effects, which decide for themselves
            logger.exception("outbox: probing the effects of event %s failed", event.pk)
        results[event.pk] = outbox_process(event_id=event.pk, effects=effects)
    if idle:
        try:
            rows = EventOutbox.objects.filter(event_id__in=idle)
            rows._raw_delete(router.db_for_write(EventOutbox))
            results.update(dict.fromkeys(idle, DONE))
        except DatabaseError:
            logger.warning("outbox: the effects of %s events are left for the relay", len(idle))
            results.update(dict.fromkeys(idle, FAILED))
    return [results[event.pk] for event in events]


def _idle(event: CallEvent, effects: list[Effect]) -> bool:
    return not any(_PROBES.get(effect, _always)(event) for effect in effects)


def outbox_after_commit(*, event: CallEvent, effects: list[Effect]) -> str:
    """Right after the event's commit: when no effect's probe finds anything to do (a new
    call's creation, mostly: nobody's inbox, no webhook wants it, no ticket), delete the
    outbox row in one statement; else `outbox_process`. The probes run after the commit,
    so they see what the whole transaction did (a ticket linked to its new call after the
    call was made, say). A batch of one (`outbox_after_commit_many`)."""
    return outbox_after_commit_many(events=[event], effects=effects)[0]


def _always(event: CallEvent) -> bool:
    return True


def outbox_process(*, event_id: int, effects: list[Effect]) -> str:
    """Run the effects of one event and delete its outbox row, in one transaction.
    Returns DONE; GONE when the row was done already or is being done by another process;
    or FAILED when the database failed (the row stays for the relay)."""
    try:
        with transaction.atomic():
            row = (
                EventOutbox.objects.select_for_update(skip_locked=True)
                .filter(event_id=event_id)
                .first()
            )
            if row is None:
                return GONE
            event = CallEvent.objects.select_related("call").get(pk=event_id)
            for effect in effects:
                effect(event)
            row.delete()
    except DatabaseError:
        logger.warning("outbox: the effects of event %s are left for the relay", event_id)
        return FAILED
    except Exception:  # an effect's bug must never reach the request that committed
        logger.exception("outbox: the effects of event %s failed", event_id)
        return FAILED
    return DONE


@dataclass(frozen=True)
class RelayResult:
    done: int
    failed: int
    given_up: int

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "failed": self.failed, "given_up": self.given_up}


def outbox_relay(*, now: datetime | None = None, limit: int = 500) -> RelayResult:
    """Run the effects of events whose outbox row outlived the grace period (their
    process died between the two commits), oldest first."""
    from .services import AFTER_COMMIT

    now = now or timezone.now()
    grace = timedelta(seconds=getattr(settings, "XH_OUTBOX_GRACE_SECONDS", 30))
    due = list(
        EventOutbox.objects.filter(created_at__lte=now - grace, attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at", "event_id")
        .values_list("event_id", "attempts")[:limit]
    )
    done = failed = given_up = 0
    for event_id, attempts in due:
        # Counted before the attempt, in its own statement: an effect that kills the
        # transaction every time still uses up its attempts.
        EventOutbox.objects.filter(event_id=event_id).update(attempts=F("attempts") + 1)
        outcome = outbox_process(event_id=event_id, effects=list(AFTER_COMMIT))
        if outcome == DONE:
            done += 1
        if outcome != FAILED:
            continue
        failed += 1
        if attempts + 1 >= MAX_ATTEMPTS:
            given_up += 1
            logger.error("outbox: gave up on the effects of event %s", event_id)
    if done or failed:
        logger.info("outbox relay: %s done, %s failed, %s given up", done, failed, given_up)
    return RelayResult(done=done, failed=failed, given_up=given_up)
