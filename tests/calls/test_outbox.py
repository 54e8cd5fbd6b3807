"""The event outbox: an event's after-commit effects survive a crash between the commit
and those effects, run once, and a broken effect neither reaches the request nor makes
the relay spin for ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from xianghu.calls import notifying, outbox, services
from xianghu.calls.models import EventOutbox
from xianghu.integrations.hotline import push
from xianghu.integrations.hotline.models import Ticket
from xianghu.notify import services as notify_services
from xianghu.notify.models import Notification, Webhook, WebhookDelivery
from xianghu.regions.selectors import actor_for_user


def _told(event) -> int:
    return Notification.objects.filter(source_key=f"call-event:{event.pk}").count()


def _later() -> timezone.datetime:
    return timezone.now() + timedelta(minutes=5)


@pytest.fixture
def fresh_call(new_call, django_capture_on_commit_callbacks):
    """A draft call whose creation's effects have run (its outbox row is gone)."""

    def make():
        with django_capture_on_commit_callbacks(execute=True):
            call = new_call()
        assert not EventOutbox.objects.exists()
        return call

    return make


def test_effects_run_after_commit_and_the_row_goes(
    world, act, fresh_call, django_capture_on_commit_callbacks
):
    call = fresh_call()
    with django_capture_on_commit_callbacks(execute=True):
        event = act("reporter", call, "submit")
    assert _told(event) == 1
    assert not EventOutbox.objects.exists()


def test_a_crash_after_the_commit_is_made_good_by_the_relay(
    world, act, fresh_call, django_capture_on_commit_callbacks
):
    call = fresh_call()
    # The process dies right after the commit: the on-commit effects never run.
    with django_capture_on_commit_callbacks(execute=False):
        event = act("reporter", call, "submit")
    assert _told(event) == 0
    assert EventOutbox.objects.filter(event=event).exists()

    # Within the grace period the relay leaves it to the request that is still at it.
    assert outbox.outbox_relay().done == 0
    assert EventOutbox.objects.filter(event=event).exists()

    result = outbox.outbox_relay(now=_later())
    assert (result.done, result.failed) == (1, 0)
    assert _told(event) == 1
    assert not EventOutbox.objects.exists()
    # Nothing left: a second relay does nothing, and tells nobody twice.
    assert outbox.outbox_relay(now=_later()).done == 0
    assert _told(event) == 1


def test_the_relay_overtaking_the_request_tells_nobody_twice(
    world, act, fresh_call, django_capture_on_commit_callbacks
):
    call = fresh_call()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = act("reporter", call, "submit")
    assert outbox.outbox_relay(now=_later()).done == 1
    for callback in callbacks:  # the slow request's own effects come afterwards
        callback()
    assert _told(event) == 1
    # The effects themselves are idempotent too (a relay racing the request on SQLite,
    # where rows are not locked).
    outbox.outbox_process(event_id=event.pk, effects=list(services.AFTER_COMMIT))
    notifying.on_call_event(event)
    assert _told(event) == 1


def test_a_database_error_keeps_the_row_and_a_later_relay_succeeds(
    world, act, fresh_call, django_capture_on_commit_callbacks, monkeypatch
):
    real = notifying.notify_services.notify

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    call = fresh_call()
    monkeypatch.setattr(notifying.notify_services, "notify", down)
    with django_capture_on_commit_callbacks(execute=True):
        event = act("reporter", call, "submit")
    call.refresh_from_db()
    assert call.state == "submitted"  # the request is not affected
    row = EventOutbox.objects.get(event=event)
    assert row.attempts == 0

    result = outbox.outbox_relay(now=_later())
    assert (result.done, result.failed) == (0, 1)
    assert EventOutbox.objects.get(event=event).attempts == 1

    monkeypatch.setattr(notifying.notify_services, "notify", real)
    assert outbox.outbox_relay(now=_later()).done == 1
    assert _told(event) == 1
    assert not EventOutbox.objects.exists()


def test_an_effect_that_always_fails_is_given_up_after_max_attempts(
    world, act, fresh_call, django_capture_on_commit_callbacks, monkeypatch
):
    def down(event):
        raise OperationalError("always")

    call = fresh_call()
    with django_capture_on_commit_callbacks(execute=False):
        event = act("reporter", call, "submit")
    monkeypatch.setattr(services, "AFTER_COMMIT", [down])
    given_up = 0
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        given_up += outbox.outbox_relay(now=_later()).given_up
    assert given_up == 1
    assert EventOutbox.objects.get(event=event).attempts == outbox.MAX_ATTEMPTS
    # Left alone from then on (and kept, for an operator to look at).
    assert outbox.outbox_relay(now=_later()).as_dict() == {"done": 0, "failed": 0, "given_up": 0}


def test_a_bug_in_an_effect_never_reaches_the_request(
    world, act, fresh_call, django_capture_on_commit_callbacks, monkeypatch
):
    def bug(event):
        raise KeyError("oops")

    call = fresh_call()
    monkeypatch.setattr(services, "AFTER_COMMIT", [bug])
    with django_capture_on_commit_callbacks(execute=True):
        event = act("reporter", call, "submit")
    assert EventOutbox.objects.filter(event=event).exists()


def test_muted_events_get_no_row_and_no_effects(
    world, act, fresh_call, django_capture_on_commit_callbacks
):
    call = fresh_call()
    with outbox.outbox_muted(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = act("reporter", call, "submit")
    assert callbacks == []
    assert not EventOutbox.objects.exists()
    assert outbox.outbox_relay(now=_later()).done == 0
    assert _told(event) == 0


# ---- the probes: events no effect concerns -------------------------------------------------


def _spy_processing(monkeypatch) -> list[int]:
    processed: list[int] = []
    real = outbox.outbox_process

    def spy(*, event_id, effects):
        processed.append(event_id)
        return real(event_id=event_id, effects=effects)

    monkeypatch.setattr(outbox, "outbox_process", spy)
    return processed


def test_a_creation_nobody_is_concerned_with_only_deletes_its_row(
    world, new_call, django_capture_on_commit_callbacks, monkeypatch
):
    processed = _spy_processing(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        call = new_call()
    assert processed == []  # no effects' transaction: nobody's inbox, no webhook, no ticket
    assert not EventOutbox.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert call.events.count() == 1


def test_a_creation_a_webhook_wants_is_emitted(
    world, new_call, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(notify_services, "_enqueue_delivery", lambda *a, **k: None)
    processed = _spy_processing(monkeypatch)
    # Another organisation's hook and a hook for other events do not count.
    Webhook.objects.create(
        organisation=world.orgs["dept"], url="https://d.example/", secret="s", events=["*"]
    )
    hook = Webhook.objects.create(
        organisation=world.orgs["t1"], url="https://t.example/", secret="s", events=["call.submit"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        new_call()
    assert processed == []
    hook.events = ["call.create"]
    hook.save()
    with django_capture_on_commit_callbacks(execute=True):
        call = new_call()
    event = call.events.get()
    assert processed == [event.pk]
    assert list(WebhookDelivery.objects.values_list("webhook_id", "event")) == [
        (hook.pk, "call.create")
    ]
    assert not EventOutbox.objects.exists()


def test_a_bug_in_a_probe_runs_the_effects(
    world, new_call, django_capture_on_commit_callbacks, monkeypatch
):
    def bug(event):
        raise KeyError("oops")

    processed = _spy_processing(monkeypatch)
    monkeypatch.setitem(outbox._PROBES, notifying.on_call_event, bug)
    with django_capture_on_commit_callbacks(execute=True):
        call = new_call()
    assert processed == [call.events.get().pk]
    assert not EventOutbox.objects.exists()


def test_a_database_error_in_a_probe_keeps_the_row_for_the_relay(
    world, new_call, django_capture_on_commit_callbacks, monkeypatch
):
    def down(event):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setitem(outbox._PROBES, notifying.on_call_event, down)
    with django_capture_on_commit_callbacks(execute=True):
        call = new_call()
    event = call.events.get()
    assert EventOutbox.objects.filter(event=event).exists()
    monkeypatch.undo()
    assert outbox.outbox_relay(now=_later()).done == 1
    assert not EventOutbox.objects.exists()


def test_the_relay_task_is_scheduled_by_the_worker(settings):
    paths = [path for path, _seconds in settings.XH_PERIODIC_TASKS]
    assert "xianghu.calls.tasks.outbox_relay" in paths


# ---- a batch's events ---------------------------------------------------------------------


def _batch_of_three(world, lists, django_capture_on_commit_callbacks, before_commit=None):
    actor = actor_for_user(user=world.users["reporter"])
    item = lists.version.items.get(code="D1-01")
    entries = [
        services.BatchEntry(
            caller=world.orgs["t1"],
            draft=services.CallDraft(
                title=f"第{n}处易燃物品",
                description="厂房内堆放大量易燃物品",
                location=world.t1,
                item=item,
            ),
            idempotency_key=f"b-{n}",
        )
        for n in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcomes = services.call_create_many(actor=actor, entries=entries)
    calls = [call for call, _created in outcomes]
    assert EventOutbox.objects.count() == 3
    if before_commit:
        before_commit(calls)
    for callback in callbacks:
        callback()
    return calls


def test_a_batch_runs_the_effects_only_for_the_events_a_probe_finds_work_for(
    world, lists, django_capture_on_commit_callbacks, monkeypatch
):
    processed = _spy_processing(monkeypatch)

    def ticket_for_the_second(calls):  # as if the ticket had been linked in the transaction
        Ticket.objects.create(
            county=world.county, number="T-9", content="路灯不亮", call=calls[1], township=world.t1
        )

    calls = _batch_of_three(world, lists, django_capture_on_commit_callbacks, ticket_for_the_second)
    assert processed == [calls[1].events.get().pk]
    assert not EventOutbox.objects.exists()


def test_a_bug_in_a_batch_probe_runs_every_events_effects(
    world, lists, django_capture_on_commit_callbacks, monkeypatch
):
    processed = _spy_processing(monkeypatch)

    def bug(events):
        raise RuntimeError("probe bug")

    monkeypatch.setitem(outbox._MANY_PROBES, push.on_call_event, bug)
    calls = _batch_of_three(world, lists, django_capture_on_commit_callbacks)
    assert sorted(processed) == sorted(c.events.get().pk for c in calls)
    assert not EventOutbox.objects.exists()


def test_a_database_error_in_a_batch_probe_leaves_the_rows_for_the_relay(
    world, lists, django_capture_on_commit_callbacks, monkeypatch
):
    processed = _spy_processing(monkeypatch)

    def down(events):
        raise OperationalError("server closed the connection")

    monkeypatch.setitem(outbox._MANY_PROBES, push.on_call_event, down)
    _batch_of_three(world, lists, django_capture_on_commit_callbacks)
    assert processed == []
    assert EventOutbox.objects.count() == 3
    monkeypatch.undo()
    assert outbox.outbox_relay(now=_later()).done == 3
    assert not EventOutbox.objects.exists()
