"""The webhook pages (/notifications/webhooks/): an organisation's leaders and the system
administrators working in it manage its webhooks — and nobody else's."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests import factories as f
from tests.calls.conftest import as_
from tests.notify.test_webhooks import Receiver
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.notify import selectors, services
from xianghu.notify.models import Webhook, WebhookDelivery, WebhookStatus
from xianghu.regions.roles import Role

URL = "https://hooks.example.org/xianghu"


def hook_of(world, org_key: str, url: str = URL, **kw) -> Webhook:
    return Webhook.objects.create(
        organisation=world.orgs[org_key], url=url, secret="s", events=["*"], **kw
    )


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("tleader", 200),
        ("dleader", 200),
        ("police_leader", 200),
        ("admin", 200),
        ("reporter", 403),
        ("handler", 403),
        ("agency_handler", 403),
        ("operator", 403),
        ("assessor", 403),
        ("bianban", 403),
        ("volunteer", 403),
        ("citizen", 403),
        ("nomember", 403),
    ],
)
def test_who_may_open_the_pages(world, client, key, status):
    world.login(client, key)
    assert client.get("/notifications/webhooks/").status_code == status


def test_anonymous_is_sent_to_login(db, client):
    r = client.get("/notifications/webhooks/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_add_a_webhook_and_see_its_secret_once(world, client):
    world.login(client, "tleader")
    r = client.post(
        "/notifications/webhooks/",
        {"url": f"  {URL}  ", "events": "call.dispatch, call.complete call.dispatch"},
    )
    hook = Webhook.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/notifications/webhooks/{hook.pk}/"
    assert (hook.organisation, hook.url, hook.events, hook.active) == (
        world.orgs["t1"],
        URL,
        ["call.dispatch", "call.complete"],
        True,
    )
    assert len(hook.secret) >= 40
    page = client.get(r["Location"])
    html = page.content.decode()
    assert hook.secret in html
    assert 'data-testid="webhook-secret"' in html
    assert "no-store" in page["Cache-Control"]
    # Never again: not on the page, not in the list.
    assert hook.secret not in client.get(r["Location"]).content.decode()
    listing = client.get("/notifications/webhooks/").content.decode()
    assert URL in listing
    assert hook.secret not in listing


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"url": "ftp://example.org/x", "events": "*"}, "url", "webhook.invalid_url"),
        ({"url": "javascript:alert(1)", "events": "*"}, "url", "webhook.invalid_url"),
        ({"url": "example.org/hook", "events": "*"}, "url", "webhook.invalid_url"),
        ({"url": URL, "events": "dispatch"}, "events", "webhook.invalid_events"),
        ({"url": URL, "events": " , "}, "events", "webhook.invalid_events"),
        ({"url": "", "events": "*"}, "url", None),
    ],
)
def test_bad_input_is_refused_next_to_the_field(world, client, data, field, code):
    world.login(client, "dleader")
    r = client.post("/notifications/webhooks/", data)
    assert r.status_code == 400
    assert f'data-testid="error-{field}"' in r.content.decode()
    assert not Webhook.objects.exists()
    if code is not None:
        with pytest.raises(InvalidInput) as exc:
            services.webhook_create(
                actor=as_(world, "dleader"),
                organisation=world.orgs["dept"],
                url=data["url"],
                events=data["events"].split(),
            )
        assert exc.value.code == code


def test_the_same_url_twice_and_the_cap(world, client):
    world.login(client, "dleader")
    hook_of(world, "dept")
    r = client.post("/notifications/webhooks/", {"url": URL, "events": "*"})
    assert r.status_code == 409
    assert 'data-testid="error-url"' in r.content.decode()
    for n in range(services.MAX_WEBHOOKS_PER_ORGANISATION - 1):
        hook_of(world, "dept", url=f"{URL}/{n}")
    with pytest.raises(Conflict) as exc:
        services.webhook_create(
            actor=as_(world, "dleader"),
            organisation=world.orgs["dept"],
            url=f"{URL}/more",
            events=["*"],
        )
    assert exc.value.code == "webhook.too_many"
    html = client.get("/notifications/webhooks/").content.decode()
    assert 'data-testid="webhook-cap"' in html
    assert 'data-testid="webhook-form"' not in html
    # Another organisation's hooks do not count.
    hook, _secret = services.webhook_create(
        actor=as_(world, "tleader"), organisation=world.orgs["t1"], url=URL, events=["*"]
    )
    assert hook.organisation == world.orgs["t1"]


def test_strictly_per_organisation(world, client):
    theirs = hook_of(world, "dept")
    mine = hook_of(world, "t1", url=f"{URL}/t1")
    WebhookDelivery.objects.create(webhook=theirs, event="call.submit", event_key="k")
    world.login(client, "tleader")
    listing = client.get("/notifications/webhooks/").content.decode()
    assert f"{URL}/t1" in listing
    assert f'data-webhook="{theirs.pk}"' not in listing
    base = f"/notifications/webhooks/{theirs.pk}"
    assert client.get(f"{base}/").status_code == 404
    for action, data in (("active", {"active": "0"}), ("delete", {}), ("secret", {}), ("test", {})):
        assert client.post(f"{base}/{action}/", data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active
    assert theirs.secret == "s"
    # The services refuse the same, as not found.
    with pytest.raises(NotFound):
        services.webhook_set_active(actor=as_(world, "tleader"), webhook=theirs, active=False)
    with pytest.raises(PermissionDenied) as exc:
        services.webhook_create(
            actor=as_(world, "tleader"), organisation=world.orgs["dept"], url=URL, events=["*"]
        )
    assert exc.value.code == "webhook.not_allowed"
    # The reads: a handler of the department sees neither the hook nor its log.
    handler = as_(world, "handler")
    assert not selectors.webhook_list(actor=handler, organisation_id=world.orgs["dept"].pk)
    assert selectors.webhook_deliveries(actor=handler, webhook=theirs) == []
    assert len(selectors.webhook_deliveries(actor=as_(world, "dleader"), webhook=theirs)) == 1
    assert mine.pk in {
        h.pk
        for h in selectors.webhook_list(
            actor=as_(world, "tleader"), organisation_id=world.orgs["t1"].pk
        )
    }


def test_the_pages_follow_the_role_switcher(world, client):
    """A user leading two organisations manages the one they work as now."""
    user = world.users["tleader"]
    second = f.MembershipFactory(
        user=user, organisation=world.orgs["dept"], role=Role.DEPARTMENT_LEADER
    )
    dept_hook = hook_of(world, "dept")
    world.login(client, "tleader")
    assert client.get(f"/notifications/webhooks/{dept_hook.pk}/").status_code == 404
    client.post("/workbench/switch/", {"membership": second.pk})
    assert client.get(f"/notifications/webhooks/{dept_hook.pk}/").status_code == 200


def test_a_system_administrator_manages_their_own_organisation(world, client):
    platform = hook_of(world, "platform")
    other = hook_of(world, "dept", url=f"{URL}/dept")
    world.login(client, "admin")
    assert client.get(f"/notifications/webhooks/{platform.pk}/").status_code == 200
    assert client.get(f"/notifications/webhooks/{other.pk}/").status_code == 404


def test_disable_enable_and_delete(world, client):
    hook = hook_of(world, "t1")
    world.login(client, "tleader")
    url = f"/notifications/webhooks/{hook.pk}/"
    assert client.post(f"{url}active/", {"active": "0"}).status_code == 302
    hook.refresh_from_db()
    assert not hook.active
    assert 'data-testid="webhook-enable"' in client.get(url).content.decode()
    # A disabled webhook is sent nothing.
    assert (
        services.webhook_emit(
            organisation=world.orgs["t1"], event="call.submit", payload={}, event_key="k1"
        )
        == []
    )
    client.post(f"{url}active/", {"active": "1"})
    hook.refresh_from_db()
    assert hook.active
    WebhookDelivery.objects.create(webhook=hook, event="call.submit", event_key="k2")
    r = client.post(f"{url}delete/")
    assert r.status_code == 302
    assert r["Location"] == "/notifications/webhooks/"
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert client.get(url).status_code == 404
    # GET never changes anything.
    assert client.get(f"{url}delete/").status_code in (404, 405)


def test_a_new_secret_is_shown_once(world, client):
    hook = hook_of(world, "dept")
    world.login(client, "dleader")
    url = f"/notifications/webhooks/{hook.pk}/"
    client.post(f"{url}secret/")
    hook.refresh_from_db()
    assert hook.secret != "s"
    assert hook.secret in client.get(url).content.decode()
    assert hook.secret not in client.get(url).content.decode()


def test_send_a_test_event_through_the_real_delivery(
    world, client, django_capture_on_commit_callbacks
):
    with Receiver([200]) as server:
        world.login(client, "tleader")
        client.post("/notifications/webhooks/", {"url": server.url, "events": "call.dispatch"})
        hook = Webhook.objects.get()
        url = f"/notifications/webhooks/{hook.pk}/"
        # Queued after the commit (the worker must see the row), then delivered.
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            client.post(f"{url}test/")
        assert len(callbacks) == 1
        r = client.get(url)
    (req,) = server.requests
    headers, body = req["headers"], req["body"]
    assert headers["X-Xianghu-Event"] == "webhook.test"
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Xianghu-Signature"], expected)
    payload = json.loads(body)
    assert payload["organisation"] == {"id": world.orgs["t1"].pk}
    assert payload["event"]["action"] == "test"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookStatus.SUCCEEDED,
        1,
        200,
    )
    assert headers["X-Xianghu-Delivery"] == str(delivery.pk)
    html = r.content.decode()
    assert 'data-testid="delivery-row" data-status="succeeded"' in html
    assert "webhook.test" in html


def test_a_failing_test_event_is_logged_for_retry(
    world, client, settings, django_capture_on_commit_callbacks
):
    settings.XH_WEBHOOK_RETRY_SCHEDULE = [60]
    with Receiver([500]) as server:
        hook = Webhook.objects.create(
            organisation=world.orgs["dept"], url=server.url, secret="s", events=["*"]
        )
        world.login(client, "dleader")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/notifications/webhooks/{hook.pk}/test/")
        html = client.get(f"/notifications/webhooks/{hook.pk}/").content.decode()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookStatus.PENDING
    assert delivery.last_status_code == 500
    assert 'data-status="pending"' in html
    assert "HTTP 500" in html


def test_no_test_event_to_a_disabled_webhook(world, client):
    hook = hook_of(world, "dept", active=False)
    world.login(client, "dleader")
    r = client.post(f"/notifications/webhooks/{hook.pk}/test/", follow=True)
    assert r.status_code == 200
    assert not WebhookDelivery.objects.exists()
    with pytest.raises(Conflict) as exc:
        services.webhook_send_test(actor=as_(world, "dleader"), webhook=hook)
    assert exc.value.code == "webhook.inactive"
