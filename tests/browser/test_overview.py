"""The leaders' overview and the webhook pages in a real browser: every role that may
open the overview, on a desktop and on a 375 px phone (no horizontal overflow), and a
department leader adding a webhook, seeing its secret once, and sending a test event."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_calls import OVERFLOW_JS, _empty_the_event_log, switch  # noqa: F401
from tests.notify.test_webhooks import Receiver
from tests.workbench.scene import build_scene
from xianghu.notify.models import Webhook, WebhookDelivery, WebhookStatus

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("tleader", "dleader", "police_leader", "operator", "assessor", "admin")


def open_overview(page) -> None:
    page.goto("/")
    page.locator('a[href="/overview/"]').click()
    expect(page.get_by_test_id("overview-title")).to_be_visible()


def test_the_overview_for_every_role_that_may_open_it(page, phone_page, world, lists):
    scene = build_scene(world, lists)
    overdue = scene.calls["overdue"]
    for key in ROLES:
        switch(page, key)
        open_overview(page)
        figures = page.get_by_test_id("overview-figures")
        expect(figures.locator("[data-figure=open] dd")).to_be_visible()
        expect(page.get_by_test_id("org-table-lead")).to_be_visible()
        screenshot(page, f"overview-{key}")
        # The scene's deadlines are in March 2025: today they have all passed. 公安局
        # leads only the call that was due soon then; its stationed agency is listed.
        late = scene.calls["due_soon"] if key == "police_leader" else overdue
        link = page.get_by_test_id("most-overdue").get_by_role("link", name=late.title)
        expect(link).to_have_attribute("href", f"/calls/{late.pk}/")
        if key == "police_leader":
            expect(page.get_by_test_id("org-table-lead")).to_contain_text("王庄镇派出所")
            expect(page.get_by_test_id("most-overdue")).not_to_contain_text(overdue.title)
        expect(page.locator("main")).not_to_contain_text("北关镇")
    # The operator follows a most-overdue call to its page.
    page.get_by_test_id("most-overdue").get_by_role("link", name=overdue.title).click()
    expect(page.get_by_test_id("call-title")).to_contain_text(overdue.title)

    # On a phone the page fits in 375 px.
    for key in ("operator", "tleader", "dleader"):
        switch(phone_page, key)
        phone_page.goto("/overview/")
        expect(phone_page.get_by_test_id("overview-title")).to_be_visible()
        assert phone_page.evaluate(OVERFLOW_JS) <= 0, key
        screenshot(phone_page, f"overview-phone-{key}")

    # Anybody else gets the friendly 403 page, and no link on the workbench.
    switch(page, "reporter")
    expect(page.locator('a[href="/overview/"]')).to_have_count(0)
    page.goto("/overview/")
    expect(page.get_by_test_id("error-message")).to_be_visible()
    screenshot(page, "overview-forbidden")


def test_a_leader_adds_a_webhook_and_sends_a_test_event(page, phone_page, world):
    with Receiver([200]) as server:
        switch(page, "dleader")
        page.goto("/")
        page.locator('a[href="/notifications/webhooks/"]').click()
        expect(page.get_by_test_id("webhooks-title")).to_contain_text("清河县应急管理局")
        expect(page.get_by_test_id("no-webhooks")).to_be_visible()
        # A wrong address is refused next to the field.
        page.fill("#id_url", "ftp://example.org/hook")
        page.get_by_test_id("add-webhook").click()
        expect(page.get_by_test_id("error-url")).to_be_visible()
        screenshot(page, "webhooks-error")
        page.fill("#id_url", server.url)
        page.fill("#id_events", "call.dispatch call.complete")
        page.get_by_test_id("add-webhook").click()
        secret = page.get_by_test_id("webhook-secret")
        expect(secret).to_be_visible()
        hook = Webhook.objects.get()
        expect(secret).to_have_text(hook.secret)
        screenshot(page, "webhook-created")
        page.get_by_test_id("webhook-test").click()
        expect(page.get_by_test_id("delivery-row")).to_have_count(1)
        expect(page.get_by_test_id("delivery-row")).to_have_attribute("data-status", "succeeded")
        expect(page.get_by_test_id("webhook-secret")).to_have_count(0)  # shown once
        screenshot(page, "webhook-detail")
        page.locator(".breadcrumb").get_by_role("link").click()
        row = page.get_by_test_id("webhook-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(server.url)
        screenshot(page, "webhooks-list")
    assert server.requests[0]["headers"]["X-Xianghu-Event"] == "webhook.test"
    assert WebhookDelivery.objects.get().status == WebhookStatus.SUCCEEDED

    # The pages fit a phone.
    switch(phone_page, "dleader")
    for url in ("/notifications/webhooks/", f"/notifications/webhooks/{hook.pk}/"):
        phone_page.goto(url)
        assert phone_page.evaluate(OVERFLOW_JS) <= 0, url
    screenshot(phone_page, "webhook-detail-phone")

    # Disable, then delete.
    page.get_by_test_id("webhook-row").get_by_role("link").click()
    page.get_by_test_id("webhook-disable").click()
    expect(page.get_by_test_id("webhook-state")).to_have_attribute("data-active", "0")
    page.get_by_test_id("webhook-delete").click()
    page.get_by_test_id("webhook-delete-confirm").click()
    expect(page.get_by_test_id("no-webhooks")).to_be_visible()
    assert not Webhook.objects.exists()
