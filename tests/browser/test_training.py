"""The training sandbox in a real browser: a trainee starts a practice, follows the
guided steps through every role of the loop on the real call screens (switching only
between their own practice identities), returns to the real account — and the real
county's figures (roll-up, rankings, oversight, open pages, Open311) are unchanged."""

from __future__ import annotations

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.calls.test_attachments import png_bytes
from tests.factories import PASSWORD
from tests.training.figures import real_figures, real_loop
from xianghu.calls.integrity import install_append_only_triggers
from xianghu.calls.models import Call
from xianghu.training.models import Sandbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_the_event_log(transactional_db):
    """The log refuses DELETE (database triggers), which the flush after a transactional
    test needs: empty it with the triggers lifted, then put them back."""
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS call_event_append_only ON calls_callevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS call_event_no_delete")
        cursor.execute("DELETE FROM calls_attachment")
        cursor.execute("DELETE FROM calls_callevent")
    install_append_only_triggers()


@pytest.fixture(autouse=True)
def _evidence(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.XH_EVIDENCE_REQUIRED = ["respond:on_site", "complete"]


def guide_at(page, step: str, role: str) -> None:
    guide = page.get_by_test_id("training-guide")
    expect(guide).to_be_visible()
    expect(guide).to_have_attribute("data-step", step)
    expect(guide).to_have_attribute("data-role", role)


def state(page, value: str) -> None:
    expect(page.locator("h1 + .badges [data-testid=state]")).to_have_attribute("data-state", value)


def do(page, action: str, *, photos: list[dict] | None = None, **fields: str) -> None:
    form = page.get_by_test_id(f"action-{action}")
    if photos:
        form.locator("input[type=file][name=photos]").set_input_files(photos)
    for name, value in fields.items():
        field = form.locator(f"[name={action}-{name}]")
        if field.first.get_attribute("type") == "radio":
            form.locator(f"input[name={action}-{name}][value={value}]").check()
        else:
            field.fill(value)
    with page.expect_navigation():
        form.get_by_test_id(f"do-{action}").click()


def switch_to(page, role: str) -> None:
    """The guide's own "switch to" button (shown when the step is another role's)."""
    expect(page.get_by_test_id("guide-not-your-turn")).to_be_visible()
    with page.expect_navigation():
        page.get_by_test_id("training-guide").get_by_test_id(f"switch-{role}").click()


def test_a_trainee_completes_the_loop_and_the_real_figures_stay(page, world, lists):
    real_loop(world, lists)
    before = real_figures(world)

    login(page, "operator", PASSWORD)
    page.goto("/training/")
    screenshot(page, "training-start")
    page.get_by_test_id("training-start").click()
    expect(page.get_by_test_id("training-sandbox")).to_be_visible()
    expect(page.get_by_test_id("practice-call")).to_have_count(3)
    sandbox = Sandbox.objects.get(trainee=world.users["operator"])
    first = Call.objects.filter(county=sandbox.county).order_by("pk").first()
    url = f"/calls/{first.pk}/"
    screenshot(page, "training-sandbox")

    # Township staff: the switch lands on the first practice call, with the guide.
    with page.expect_navigation():
        page.get_by_test_id("switch-township_staff").click()
    expect(page).to_have_url(f"{page.url.split('/calls/')[0]}{url}")
    guide_at(page, "submit", "township_staff")
    screenshot(page, "training-guide-submit")
    do(page, "submit")
    state(page, "submitted")
    guide_at(page, "approve", "township_staff")

    # Township leader approves.
    switch_to(page, "township_leader")
    guide_at(page, "approve", "township_leader")
    do(page, "approve")
    state(page, "approved")

    # The platform operator accepts and dispatches as the list says.
    switch_to(page, "platform_operator")
    guide_at(page, "accept", "platform_operator")
    do(page, "accept")
    guide_at(page, "dispatch", "platform_operator")
    lead = first.item.parties.get(role="primary").organisation_id
    expect(page.locator("[name=dispatch-lead]")).to_have_value(str(lead))
    do(page, "dispatch")
    state(page, "dispatched")

    # The department handler signs, responds and reports the result with a photo.
    switch_to(page, "department_handler")
    guide_at(page, "sign", "department_handler")
    do(page, "sign")
    guide_at(page, "respond", "department_handler")
    do(page, "respond", mode="contact")
    guide_at(page, "complete", "department_handler")
    photo = {"name": "整改.png", "mimeType": "image/png", "buffer": png_bytes()}
    do(page, "complete", result="已设置警示牌，劝离垂钓人员。", photos=[photo])
    state(page, "awaiting_evaluation")

    # The township leader evaluates: the loop is closed.
    switch_to(page, "township_leader")
    guide_at(page, "evaluate", "township_leader")
    do(page, "evaluate", evaluation="satisfied", resolved="yes")
    state(page, "closed")
    # The guide says the loop is done and moves on to the next practice call.
    expect(page.get_by_test_id("guide-finished")).to_have_attribute("data-count", "1")
    guide_at(page, "submit", "township_leader")
    page.goto("/training/")
    expect(page.get_by_test_id("training-sandbox")).to_have_attribute("data-finished", "1")
    screenshot(page, "training-loop-done")

    # Back to the real account: no guide, the trainee's own role again.
    with page.expect_navigation():
        page.get_by_test_id("training-guide").get_by_test_id("training-return").click()
    expect(page.get_by_test_id("training-guide")).to_have_count(0)
    expect(page.get_by_test_id("training-sandbox")).to_be_visible()
    first.refresh_from_db()
    assert first.state == "closed"
    assert [e.action for e in first.events.order_by("seq")] == [
        "create",
        "submit",
        "approve",
        "accept",
        "dispatch",
        "sign",
        "respond",
        "complete",
        "evaluate",
    ]
    assert real_figures(world) == before
