"""Two-factor login (TOTP, django-otp): enrolment, the code step of the login, wrong codes
(throttled, logged, counted toward the lockout), recovery codes, enforcement for system
administrators (the enrolment page only; the admin site), turning it off."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.twofactor_helpers import code, enrol, verified_login
from tests.factories import PASSWORD
from xianghu.accounts.services import apikey_create

LOGIN = "/accounts/login/"
VERIFY = "/accounts/login/verify/"
TWO_FACTOR = "/accounts/me/two-factor/"


def _password_step(client: Client, username: str, next_url: str = "") -> object:
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def test_enrol_shows_a_qr_code_and_the_secret_then_recovery_codes_once(world, client):
    user = world.users["reporter"]
    world.login(client, "reporter")
    r = client.get(TWO_FACTOR)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-enabled="0"' in html
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    # The secret in base32 (as typed into an app) and an inline SVG QR code; no image URL.
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    shown = html.split('data-testid="two-factor-secret"', 1)[1].split("</code>", 1)[0]
    assert shown.split(">", 1)[1].replace(" ", "") == secret
    assert "<svg" in html.split('data-testid="two-factor-qr"', 1)[1]
    # Reloading keeps the same secret (an app that scanned it stays valid).
    client.get(TWO_FACTOR)
    assert TOTPDevice.objects.filter(user=user).count() == 1

    r = client.post(TWO_FACTOR, {"action": "confirm", "code": "000000"})
    assert r.status_code == 400
    assert 'data-testid="error-code"' in r.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    device.throttle_reset()  # (the wrong code above delays the next attempt)
    r = client.post(TWO_FACTOR, {"action": "confirm", "code": code(device)})
    assert r.status_code == 302
    assert r["Location"] == TWO_FACTOR
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    tokens = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(tokens) == 10

    html = client.get(TWO_FACTOR).content.decode()
    assert 'data-enabled="1"' in html
    shown = {
        part.split(">", 1)[1].split("<", 1)[0]
        for part in html.split('data-testid="recovery-code"')[1:]
    }
    assert shown == tokens
    # Shown once.
    assert 'data-testid="recovery-code"' not in client.get(TWO_FACTOR).content.decode()
    # The session that enrolled keeps working.
    assert client.get("/").status_code == 200


def test_login_with_password_then_code(world, client):
    user = world.users["operator"]
    device, _codes = enrol(user)
    r = _password_step(client, "operator", next_url="/calls/")
    assert r.status_code == 302
    assert r["Location"] == VERIFY
    # The password alone logs nobody in.
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert client.get(VERIFY).status_code == 200

    r = client.post(VERIFY, {"code": code(device, ahead=1)})
    assert r.status_code == 302
    assert r["Location"] == "/calls/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200


def test_code_page_without_a_password_step_goes_back_to_login(world, client):
    r = client.get(VERIFY)
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/"
    r = client.post(VERIFY, {"code": "123456"})
    assert r.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_code_is_refused_logged_and_throttled(world, client, caplog):
    user = world.users["operator"]
    device, _codes = enrol(user)
    _password_step(client, "operator")
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.post(VERIFY, {"code": "000000"})
    assert r.status_code == 400
    assert "_auth_user_id" not in client.session
    record = next(rec for rec in caplog.records if rec.getMessage() == "2fa code rejected")
    assert record.user_id == user.pk
    assert record.ip == "127.0.0.1"
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Right after a failure even the right code is refused (django-otp's growing delay).
    r = client.post(VERIFY, {"code": code(device, ahead=1)})
    assert r.status_code == 400
    assert "_auth_user_id" not in client.session


@override_settings(XH_PROXY_COUNT=1)
def test_behind_a_proxy_the_client_address_is_logged(world, client, caplog):
    """Behind the TLS proxy (`XH_PROXY_COUNT`) the security log names the client the
    proxy saw, as the lockout and the audit log do, not the proxy."""
    enrol(world.users["operator"])
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}
    _password_step(client, "operator")
    with caplog.at_level("WARNING", logger="xianghu.security"):
        client.post(VERIFY, {"code": "000000"}, **forwarded)
    record = next(rec for rec in caplog.records if rec.getMessage() == "2fa code rejected")
    assert record.ip == "203.0.113.7"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_wrong_codes_count_toward_the_login_lockout(world, client, caplog):
    device, _codes = enrol(world.users["operator"])
    _password_step(client, "operator")
    client.post(VERIFY, {"code": "000000"})
    client.post(VERIFY, {"code": "111111"})
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.post(VERIFY, {"code": "222222"})
    assert r.status_code == 429
    assert any("locked" in rec.getMessage() for rec in caplog.records)
    # The half-done login is gone, and the password no longer opens the account either.
    assert client.get(VERIFY).status_code == 302
    device.throttle_reset()
    r = _password_step(client, "operator")
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session


def test_recovery_code_works_once(world, client):
    user = world.users["operator"]
    _device, codes = enrol(user)
    _password_step(client, "operator")
    r = client.post(VERIFY, {"code": codes[0].upper()})
    assert r.status_code == 302
    assert r["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert StaticToken.objects.filter(device__user=user).count() == 9

    other = Client()
    _password_step(other, "operator")
    r = other.post(VERIFY, {"code": codes[0]})
    assert r.status_code == 400
    assert "_auth_user_id" not in other.session


def test_new_recovery_codes_replace_the_old_ones(world, client):
    user = world.users["operator"]
    device, codes = enrol(user)
    verified_login(client, user, device)
    r = client.post(TWO_FACTOR, {"action": "recovery"})
    assert r.status_code == 302
    fresh = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(fresh) == 10
    assert not fresh & set(codes)
    assert StaticDevice.objects.filter(user=user).count() == 1


def test_password_only_session_of_a_user_with_two_factor_is_ended(world, client, caplog):
    """Such as one from the admin's login form, which asks for no code."""
    user = world.users["operator"]
    enrol(user)
    client.force_login(user)
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.get("/calls/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/?next=%2Fcalls%2F")
    assert any(
        rec.getMessage() == "session refused: second factor not verified" for rec in caplog.records
    )
    assert "_auth_user_id" not in client.session


@pytest.fixture
def enforced(settings):
    settings.XH_2FA_ENFORCE = True
    return settings


def test_admin_is_forced_to_enrol_when_enforced(world, client, enforced):
    admin = world.users["admin"]
    world.login(client, "admin")
    for path in ("/", "/calls/", "/accounts/me/", "/admin/"):
        r = client.get(path)
        assert r.status_code == 302, path
        assert r["Location"] == TWO_FACTOR, path
    r = client.get("/api/v1/me")
    assert r.status_code == 403
    assert r.json()["code"] == "auth.2fa_required"
    # The enrolment page's own htmx fragments (the notification badge) are refused without
    # a redirect, which would reload the page for ever.
    r = client.get(reverse("notify:unread_badge"), HTTP_HX_REQUEST="true")
    assert r.status_code == 403
    assert "HX-Redirect" not in r
    r = client.get(TWO_FACTOR)
    assert r.status_code == 200
    assert 'data-required="1"' in r.content.decode()

    device = TOTPDevice.objects.get(user=admin)
    r = client.post(TWO_FACTOR, {"action": "confirm", "code": code(device)})
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    # Logging out stays possible throughout.
    assert client.post("/accounts/logout/").status_code == 302


def test_enforcement_leaves_other_roles_and_api_keys_alone(world, client, enforced):
    world.login(client, "reporter")
    assert client.get("/").status_code == 200
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["platform"], role="system_admin", name="运维"
    )
    assert Client(HTTP_X_API_KEY=plain).get("/api/v1/calls/").status_code == 200


def test_admin_site_needs_a_verified_session_when_enforced(world, client, settings):
    admin = world.users["admin"]
    device, _codes = enrol(admin)
    verified_login(client, admin, device)
    settings.XH_2FA_ENFORCE = True
    assert client.get("/admin/").status_code == 200
    # A superuser without a device is sent to enrol before reaching the admin.
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    other = Client()
    other.force_login(root)
    r = other.get("/admin/")
    assert r.status_code == 302
    assert r["Location"] == TWO_FACTOR


def test_disable_is_refused_for_roles_that_require_it(world, client, enforced):
    admin = world.users["admin"]
    device, _codes = enrol(admin)
    verified_login(client, admin, device)
    html = client.get(TWO_FACTOR).content.decode()
    assert 'data-testid="two-factor-required"' in html
    assert 'data-testid="two-factor-off"' not in html
    r = client.post(TWO_FACTOR, {"action": "disable", "password": PASSWORD})
    assert r.status_code == 302
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()


def test_disable_needs_the_password(world, client, caplog):
    user = world.users["reporter"]
    device, _codes = enrol(user)
    verified_login(client, user, device)
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.post(TWO_FACTOR, {"action": "disable", "password": "not-my-password"})
    assert r.status_code == 400
    assert 'data-testid="error-password"' in r.content.decode()
    assert TOTPDevice.objects.filter(user=user).exists()
    assert any("2fa disable refused" in rec.getMessage() for rec in caplog.records)

    r = client.post(TWO_FACTOR, {"action": "disable", "password": PASSWORD})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    # The session goes on; the next login asks for the password only.
    assert client.get("/").status_code == 200
    r = _password_step(Client(), "reporter")
    assert r.status_code == 302
    assert r["Location"] == "/"


def test_a_session_opened_before_enrolling_elsewhere_is_ended(world, client):
    user = world.users["reporter"]
    world.login(client, "reporter")
    assert client.get("/").status_code == 200
    enrol(user)  # in another browser, which is verified by enrolling
    r = client.get("/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
