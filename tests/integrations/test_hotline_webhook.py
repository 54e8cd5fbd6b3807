"""The signed webhook of a 12345 system: good pushes, idempotency, and every refusal."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import World
from xianghu.integrations.hotline import services
from xianghu.integrations.hotline.models import ImportSource, Ticket, WebhookRefusal
from xianghu.integrations.hotline.webhook import WINDOW, sign

SECRET = "s3cret-of-the-hotline"


@pytest.fixture
def source(world: World) -> ImportSource:
    return services.source_ensure(actor=None, county=world.county, name="12345", secret=SECRET)


def push(
    client: Client,
    source: ImportSource,
    payload: Any,
    *,
    stamp: int | None = None,
    secret: str = SECRET,
    prefix: str = "",
    body: bytes | None = None,
) -> Any:
    raw = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
    ts = str(stamp if stamp is not None else int(time.time()))
    return client.post(
        reverse("integrations:hotline_webhook", args=[source.pk]),
        data=raw,
        content_type="application/json",
        headers={
            "X-Xianghu-Timestamp": ts,
            "X-Xianghu-Signature": prefix + sign(secret, ts, raw),
        },
    )


TICKET = {
    "number": "WH-1",
    "content": "王庄镇兴隆街路灯不亮",
    "type": "投诉",
    "received_at": "2025-03-01 08:30",
    "caller_phone": "13812345678",
    "address": "清河县王庄镇兴隆街",
}


def test_a_signed_push_creates_then_updates(
    client: Client, world: World, source: ImportSource
) -> None:
    response = push(client, source, TICKET)
    assert response.status_code == 200, response.content
    assert response.json() | {"errors": []} == {
        "received": 1,
        "inserted": 1,
        "updated": 0,
        "failed": 0,
        "errors": [],
    }
    ticket = Ticket.objects.get(number="WH-1")
    assert ticket.township == world.t1
    assert ticket.source == source
    # Re-sent with a result: the same ticket, updated (a new timestamp, so not a replay).
    response = push(
        client, source, TICKET | {"result": "已修复"}, stamp=int(time.time()) + 1, prefix="sha256="
    )
    assert response.json()["updated"] == 1
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().result == "已修复"


def test_a_batch_with_a_bad_ticket(client: Client, source: ImportSource) -> None:
    tickets = [TICKET, TICKET | {"number": "WH-2", "received_at": "yesterday"}, "nonsense"]
    response = push(client, source, {"tickets": tickets})
    assert response.status_code == 200
    data = response.json()
    assert (data["inserted"], data["failed"]) == (1, 2)
    assert [(e["index"], e["code"]) for e in data["errors"]] == [
        (1, "hotline.bad_date"),
        (2, "hotline.bad_ticket"),
    ]


def test_bad_signature_is_refused_and_logged(
    client: Client, source: ImportSource, caplog: Any
) -> None:
    response = push(client, source, TICKET, secret="wrong")
    assert response.status_code == 401
    assert response.json()["code"] == "hotline.webhook.bad_signature"
    assert not Ticket.objects.exists()
    refusal = WebhookRefusal.objects.get()
    assert (refusal.source, refusal.code) == (source, "hotline.webhook.bad_signature")
    assert "hotline.webhook.bad_signature" in caplog.text


def test_replayed_and_stale_timestamps_are_refused(client: Client, source: ImportSource) -> None:
    stamp = int(time.time())
    assert push(client, source, TICKET, stamp=stamp).status_code == 200
    again = push(client, source, TICKET, stamp=stamp)
    assert (again.status_code, again.json()["code"]) == (409, "hotline.webhook.replayed")
    # A minute past the window each way: the test's own time under load must not matter.
    old = push(client, source, TICKET, stamp=int(time.time()) - WINDOW - 60)
    assert (old.status_code, old.json()["code"]) == (401, "hotline.webhook.stale_timestamp")
    future = push(client, source, TICKET, stamp=int(time.time()) + WINDOW + 60)
    assert future.status_code == 401
    assert future.json()["code"] == "hotline.webhook.stale_timestamp"
    assert sorted(WebhookRefusal.objects.values_list("code", flat=True)) == [
        "hotline.webhook.replayed",
        "hotline.webhook.stale_timestamp",
        "hotline.webhook.stale_timestamp",
    ]


def test_oversize_body_is_refused_before_reading(
    client: Client, source: ImportSource, settings: Any
) -> None:
    settings.XH_HOTLINE_WEBHOOK_MAX_BYTES = 200
    response = push(client, source, TICKET | {"content": "长" * 300})
    assert (response.status_code, response.json()["code"]) == (
        413,
        "hotline.webhook.body_too_large",
    )
    assert WebhookRefusal.objects.get().code == "hotline.webhook.body_too_large"


def test_missing_timestamp_unknown_source_and_bad_json(
    client: Client, source: ImportSource
) -> None:
    url = reverse("integrations:hotline_webhook", args=[source.pk])
    response = client.post(url, data=b"{}", content_type="application/json")
    assert response.json()["code"] == "hotline.webhook.bad_timestamp"
    response = client.post(
        reverse("integrations:hotline_webhook", args=[source.pk + 99]),
        data=b"{}",
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (
        404,
        "hotline.webhook.unknown_source",
    )
    response = push(client, source, None, body=b"not json")
    assert (response.status_code, response.json()["code"]) == (400, "hotline.webhook.bad_json")
    assert client.get(url).status_code == 405
