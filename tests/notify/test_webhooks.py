"""Webhooks against a real local HTTP server: signature, retries with backoff, final
failure, and who receives nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from tests.calls import conftest as calls_conftest
from xianghu.notify import services
from xianghu.notify.channels import http_post
from xianghu.notify.models import Webhook, WebhookDelivery, WebhookStatus

SECRET = "s3cret-for-tests"

# The calls suite's fixtures (a draft call, taking an action).
act = calls_conftest.act
new_call = calls_conftest.new_call


class Receiver:
    """Records every POST; answers with the queued status codes (then the last one)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    def make(*statuses: int) -> Receiver:
        return Receiver(list(statuses) or [200])

    return make


def _hook(org, url, events=("*",), active=True) -> Webhook:
    return Webhook.objects.create(
        organisation=org, url=url, secret=SECRET, events=list(events), active=active
    )


def test_call_events_arrive_signed_and_verifiable(
    world,
    act,
    new_call,
    receiver,
    django_capture_on_commit_callbacks,
):
    with receiver(200) as server:
        _hook(world.orgs["t1"], server.url)
        call = new_call()
        with django_capture_on_commit_callbacks(execute=True):
            event = act("reporter", call, "submit")
    (req,) = server.requests
    body, headers = req["body"], req["headers"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Xianghu-Signature"], expected)
    assert headers["X-Xianghu-Event"] == "call.submit"
    delivery = WebhookDelivery.objects.get()
    assert headers["X-Xianghu-Delivery"] == str(delivery.pk)
    payload = json.loads(body)
    assert payload == {
        "call": {"id": call.pk, "number": call.number, "state": "submitted", "title": call.title},
        "event": {
            "seq": event.seq,
            "action": "submit",
            "from_state": "draft",
            "to_state": "submitted",
            "at": timezone.localtime(event.at).isoformat(),
        },
    }
    assert delivery.status == WebhookStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.event_key == f"call-event:{event.pk}"
    # The same event again makes no second delivery.
    services.webhook_emit(
        organisation=world.orgs["t1"],
        event="call.submit",
        payload=payload,
        event_key=delivery.event_key,
    )
    assert WebhookDelivery.objects.count() == 1
    assert len(server.requests) == 1


def test_dispatched_organisations_receive_the_dispatch(
    world,
    act,
    new_call,
    receiver,
    django_capture_on_commit_callbacks,
):
    with receiver(200) as server:
        call = new_call()
        act("reporter", call, "submit")
        act("tleader", call, "approve")
        act("operator", call, "accept")
        _hook(world.orgs["dept"], server.url, events=["call.dispatch"])
        with django_capture_on_commit_callbacks(execute=True):
            act("operator", call, "dispatch", lead=world.orgs["dept"].pk, assisting=[])
    assert [r["headers"]["X-Xianghu-Event"] for r in server.requests] == ["call.dispatch"]


@override_settings(XH_WEBHOOK_RETRY_SCHEDULE=[60, 300, 1800, 7200])
def test_a_500_is_retried_with_backoff_then_succeeds(world, receiver):
    with receiver(500, 200) as server:
        _hook(world.orgs["t1"], server.url)
        (delivery,) = services.webhook_emit(
            organisation=world.orgs["t1"], event="call.submit", payload={"x": 1}, event_key="k1"
        )
        delivery.refresh_from_db()  # the first attempt ran at once (immediate backend)
        assert delivery.status == WebhookStatus.PENDING
        assert delivery.attempts == 1
        assert delivery.last_status_code == 500
        first_try = delivery.next_attempt_at - timedelta(seconds=60)
        # Not yet due: nothing is sent.
        services.webhook_deliver(delivery_id=delivery.pk, now=first_try + timedelta(seconds=30))
        assert len(server.requests) == 1
        done = services.webhook_deliver(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert done.status == WebhookStatus.SUCCEEDED
    assert done.attempts == 2
    assert done.last_status_code == 200
    assert len(server.requests) == 2
    first, second = server.requests
    assert first["body"] == second["body"]
    assert first["headers"]["X-Xianghu-Delivery"] == second["headers"]["X-Xianghu-Delivery"]


@override_settings(XH_WEBHOOK_RETRY_SCHEDULE=[60, 300, 1800])
def test_the_delivery_fails_after_the_schedule(world, receiver):
    with receiver(500) as server:
        _hook(world.orgs["t1"], server.url)
        (delivery,) = services.webhook_emit(
            organisation=world.orgs["t1"], event="call.submit", payload={"x": 1}, event_key="k1"
        )
        delivery.refresh_from_db()
        waits = []
        now = delivery.next_attempt_at
        while True:
            prev = now
            delivery = services.webhook_deliver(delivery_id=delivery.pk, now=now)
            if delivery.status != WebhookStatus.PENDING:
                break
            now = delivery.next_attempt_at
            waits.append(int((now - prev).total_seconds()))
        assert waits == [300, 1800]
        assert delivery.status == WebhookStatus.FAILED
        assert delivery.attempts == 4
        assert delivery.next_attempt_at is None
        assert delivery.last_error == "HTTP 500"
        services.webhook_deliver(delivery_id=delivery.pk, now=now + timedelta(days=1))
        assert len(server.requests) == 4


def test_inactive_non_matching_and_other_organisations_receive_nothing(
    world,
    act,
    new_call,
    receiver,
    django_capture_on_commit_callbacks,
):
    with receiver(200) as server:
        _hook(world.orgs["t1"], server.url, active=False)
        _hook(world.orgs["t1"], server.url, events=["call.dispatch"])
        _hook(world.orgs["t2"], server.url)
        call = new_call()
        with django_capture_on_commit_callbacks(execute=True):
            act("reporter", call, "submit")
    assert server.requests == []
    assert not WebhookDelivery.objects.exists()


def test_an_unreachable_webhook_never_affects_the_call(
    world,
    act,
    new_call,
    django_capture_on_commit_callbacks,
):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _hook(world.orgs["t1"], f"http://127.0.0.1:{port}/closed")
    call = new_call()
    with django_capture_on_commit_callbacks(execute=True):
        act("reporter", call, "submit")
    call.refresh_from_db()
    assert call.state == "submitted"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookStatus.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error


def test_only_http_urls(world):
    hook = Webhook(
        organisation=world.orgs["t1"], url="ftp://example.org/x", secret="s", events=["*"]
    )
    with pytest.raises(ValidationError):
        hook.full_clean()
    assert http_post("file:///etc/passwd", b"{}", {}) == (None, "only http(s) URLs are allowed")
