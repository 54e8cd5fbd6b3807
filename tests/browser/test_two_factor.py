"""Two-factor login in a real browser: a system administrator (enforcement on) is sent to
the enrolment page, enrols by reading the secret from the page, sees the recovery codes
once, logs out, and logs in again with the password and a code."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def code_from(secret: str, ahead: int = 0) -> str:
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, drift=ahead):06d}"


def test_enrol_then_log_in_with_a_code(page, world, settings):
    settings.XH_2FA_ENFORCE = True
    login(page, "admin", PASSWORD)
    # Enforcement: the administrator can reach nothing but the enrolment page.
    page.wait_for_url("**/accounts/me/two-factor/")
    page.goto("/calls/")
    page.wait_for_url("**/accounts/me/two-factor/")
    expect(page.get_by_test_id("two-factor-title")).to_have_attribute("data-required", "1")
    expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
    assert_chinese_rendered(page, page.locator("h1").inner_text())
    screenshot(page, "two-factor-enrol")

    secret = page.get_by_test_id("two-factor-secret").inner_text().strip()
    page.locator("#id_code").fill("000000")
    page.get_by_test_id("two-factor-confirm").click()
    expect(page.get_by_test_id("error-code")).to_be_visible()
    # (a wrong code delays the next attempt by a second)
    time.sleep(1.1)
    page.locator("#id_code").fill(code_from(secret))
    page.get_by_test_id("two-factor-confirm").click()
    expect(page.get_by_test_id("two-factor-title")).to_have_attribute("data-enabled", "1")
    expect(page.get_by_test_id("recovery-code")).to_have_count(10)
    assert TOTPDevice.objects.get(user=world.users["admin"]).confirmed
    screenshot(page, "two-factor-recovery-codes")
    page.reload()
    expect(page.get_by_test_id("recovery-code")).to_have_count(0)
    expect(page.get_by_test_id("codes-left")).to_have_attribute("data-count", "10")
    expect(page.get_by_test_id("two-factor-off")).to_have_count(0)

    page.get_by_test_id("logout").click()
    login(page, "admin", PASSWORD)
    page.wait_for_url("**/accounts/login/verify/")
    expect(page.get_by_test_id("login-verify")).to_be_visible()
    screenshot(page, "two-factor-login")
    page.locator("#id_code").fill(code_from(secret, ahead=1))
    page.get_by_test_id("verify-code").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    page.goto("/admin/")
    assert "/admin/" in page.url
    assert "login" not in page.url


def test_the_code_page_fits_a_phone(phone_page, world):
    from tests.accounts.twofactor_helpers import enrol
    from tests.browser.test_calls import OVERFLOW_JS

    enrol(world.users["operator"])
    page = phone_page
    login(page, "operator", PASSWORD)
    page.wait_for_url("**/accounts/login/verify/")
    page.locator("#id_code").fill("123")
    page.get_by_test_id("verify-code").click()
    expect(page.get_by_test_id("error-code")).to_be_visible()
    assert_chinese_rendered(page, page.locator("h1").inner_text())
    assert page.evaluate(OVERFLOW_JS) <= 0
    screenshot(page, "two-factor-phone")
