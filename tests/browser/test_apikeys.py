"""The API-key page in a real browser: a township leader creates a key with two scopes,
sees it once, replaces it with a grace period and revokes the new one."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD
from xianghu.accounts.models import ApiKey, ApiKeyStatus

pytestmark = pytest.mark.django_db(transaction=True)


def works(plain: str, path: str = "/api/v1/calls/") -> int:
    return Client(HTTP_X_API_KEY=plain).get(path).status_code


def test_create_rotate_and_revoke_a_key(page, world):
    login(page, "tleader", PASSWORD)
    page.goto("/accounts/api-keys/")
    expect(page.get_by_test_id("apikeys-title")).to_contain_text(world.orgs["t1"].name)
    expect(page.get_by_test_id("no-apikeys")).to_be_visible()

    # A form with a mistake keeps what was typed and says what is wrong, in Chinese.
    form = page.get_by_test_id("apikey-form")
    form.locator("#id_name").fill("网格平台")
    form.get_by_test_id("add-apikey").click()
    expect(page.get_by_test_id("error-scopes")).to_be_visible()
    assert_chinese_rendered(page, page.get_by_test_id("error-scopes").inner_text())
    expect(page.locator("#id_name")).to_have_value("网格平台")

    page.get_by_label("calls:read", exact=False).check()
    page.get_by_label("open311:post", exact=False).check()
    page.get_by_test_id("add-apikey").click()
    plain = page.get_by_test_id("apikey-plain").inner_text().strip()
    key = ApiKey.objects.get()
    assert plain.startswith(f"xh_{key.prefix}_")
    assert key.scopes == ["calls:read", "open311:post"]
    row = page.locator(f"[data-prefix='{key.prefix}']")
    expect(row.get_by_test_id("apikey-status")).to_be_visible()
    expect(row).to_have_attribute("data-status", "active")
    screenshot(page, "apikeys-created")
    assert works(plain) == 200
    assert Client(HTTP_X_API_KEY=plain).post("/api/v1/calls/").status_code == 403

    # Shown once: a reload no longer has it.
    page.reload()
    expect(page.get_by_test_id("apikey-plain")).to_have_count(0)

    # Replace it; the old key keeps working for 24 hours.
    row = page.locator(f"[data-prefix='{key.prefix}']")
    row.get_by_test_id("apikey-rotate").click()
    row.get_by_test_id("apikey-grace").select_option("24")
    row.get_by_test_id("apikey-rotate-confirm").click()
    new_plain = page.get_by_test_id("apikey-plain").inner_text().strip()
    new = ApiKey.objects.exclude(pk=key.pk).get()
    assert new_plain.startswith(f"xh_{new.prefix}_")
    expect(page.locator(f"[data-prefix='{key.prefix}']")).to_have_attribute(
        "data-status", "expiring"
    )
    expect(page.locator(f"[data-prefix='{new.prefix}']")).to_have_attribute("data-status", "active")
    screenshot(page, "apikeys-rotated")
    assert works(plain) == works(new_plain) == 200

    # Revoke the new key: it stops at once.
    row = page.locator(f"[data-prefix='{new.prefix}']")
    row.get_by_test_id("apikey-revoke").click()
    row.get_by_test_id("apikey-revoke-confirm").click()
    expect(page.locator(f"[data-prefix='{new.prefix}']")).to_have_attribute(
        "data-status", "revoked"
    )
    new.refresh_from_db()
    assert new.status == ApiKeyStatus.REVOKED
    assert works(new_plain) == 401
    screenshot(page, "apikeys-revoked")


def test_the_page_fits_a_phone(phone_page, world):
    from tests.browser.test_calls import OVERFLOW_JS
    from xianghu.accounts.services import apikey_create, apikey_rotate

    key, _plain = apikey_create(
        actor=None, organisation=world.orgs["t1"], role="township_reporter", name="12345 热线对接"
    )
    apikey_rotate(actor=None, key=key, grace_hours=24)
    page = phone_page
    login(page, "tleader", PASSWORD)
    page.goto("/accounts/api-keys/")
    expect(page.get_by_test_id("apikey-row")).to_have_count(2)
    page.locator(f"[data-prefix='{key.prefix}']").get_by_test_id("apikey-revoke").click()
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "apikeys-phone")
