"""Login, lockout, session expiry, membership-less users, logout, password rules."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def test_login_succeeds_and_lands_on_the_workbench(world, client):
    r = client.post(LOGIN, {"username": "reporter", "password": PASSWORD}, follow=True)
    assert r.status_code == 200
    assert r.redirect_chain[-1][0] == "/"
    assert "工作台" in r.content.decode()


def test_wrong_password_gets_a_chinese_message_and_is_logged(world, client, caplog):
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.post(LOGIN, {"username": "reporter", "password": "wrong-password"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "用户名或密码错误" in html
    assert any("login failed" in rec.getMessage() for rec in caplog.records)


def test_unknown_user_gets_the_same_message_as_a_wrong_password(world, client):
    a = client.post(LOGIN, {"username": "reporter", "password": "wrong-password"})
    b = Client().post(LOGIN, {"username": "nobody-here", "password": "wrong-password"})
    assert "用户名或密码错误" in a.content.decode()
    assert "用户名或密码错误" in b.content.decode()


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account(world, client, caplog):
    for _ in range(3):
        client.post(LOGIN, {"username": "tleader", "password": "bad-password"})
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.post(LOGIN, {"username": "tleader", "password": PASSWORD})
    assert any("locked" in rec.getMessage() for rec in caplog.records)
    assert r.status_code == 429
    assert "账号已锁定" in r.content.decode()
    # The lock holds for the right password too: nobody got in.
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked.
    ok = client.post(LOGIN, {"username": "reporter", "password": PASSWORD})
    assert ok.status_code == 302


def test_disabled_user_cannot_log_in(world, client):
    user = world.users["handler"]
    user.is_active = False
    user.save()
    r = client.post(LOGIN, {"username": "handler", "password": PASSWORD})
    assert r.status_code == 200
    assert "_auth_user_id" not in client.session


def test_user_without_membership_is_told_so(world, client, caplog):
    world.login(client, "nomember")
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = client.get("/")
    assert r.status_code == 403
    assert "尚未分配" in r.content.decode()
    assert any("without membership" in rec.getMessage() for rec in caplog.records)


@override_settings(SESSION_IDLE_TIMEOUT=60)
def test_idle_session_expires_with_a_message(world, client, monkeypatch, caplog):
    world.login(client, "operator")
    assert client.get("/").status_code == 200
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    with caplog.at_level("INFO", logger="xianghu.security"):
        r = client.get("/orgs/")
    record = next(r for r in caplog.records if r.getMessage() == "session idle timeout")
    assert record.user_id == world.users["operator"].pk
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/?next=%2Forgs%2F&expired=1")
    r = client.get(r["Location"])
    assert "登录已过期" in r.content.decode()


def test_stale_session_cookie_is_reported_as_expired(world, client, caplog):
    world.login(client, "operator")
    client.session.flush()  # the server forgot the session (expired, cleared)
    client.cookies["sessionid"] = "stale-session-key"
    with caplog.at_level("INFO", logger="xianghu.security"):
        r = client.get("/")
    assert r.status_code == 302
    assert "expired=1" in r["Location"]
    assert any(rec.getMessage() == "stale session cookie" for rec in caplog.records)


def test_expired_session_on_the_api_gets_a_coded_401(world, client, caplog):
    client.cookies["sessionid"] = "stale-session-key"
    with caplog.at_level("INFO", logger="xianghu.security"):
        r = client.get("/api/v1/me")
    assert r.status_code == 401
    body = r.json()
    assert (body["code"], body["detail"]) == ("auth.session_expired", None)
    assert "登录已过期" in body["message"]
    assert any(rec.getMessage() == "stale session cookie" for rec in caplog.records)
    # The browser is told to drop the dead cookie.
    assert r.cookies["sessionid"].value == ""


def test_logout_needs_post_and_ends_the_session(world, client):
    world.login(client, "operator")
    assert client.get("/accounts/logout/").status_code == 405
    r = client.post("/accounts/logout/")
    assert r.status_code == 302
    assert client.get("/").status_code == 302


def test_login_form_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    r = client.post(LOGIN, {"username": "reporter", "password": PASSWORD})
    assert r.status_code == 403
    assert "页面已过期" in r.content.decode()


@pytest.mark.parametrize(
    "password",
    ["short1A!", "alllowercaseletters", "12345678901234", "password123456"],
)
def test_weak_passwords_are_refused(world, password):
    with pytest.raises(ValidationError):
        validate_password(password, world.users["reporter"])


def test_strong_password_is_accepted(world):
    validate_password("Qinghe@Town2026", world.users["reporter"])


def test_profile_shows_memberships_and_a_masked_phone(world, client):
    world.login(client, "reporter")
    html = client.get("/accounts/me/").content.decode()
    phone = world.users["reporter"].phone
    assert phone not in html
    assert f"{phone[:3]}****{phone[-4:]}" in html
    assert world.orgs["t1"].name in html


def test_password_change(world, client):
    world.login(client, "reporter")
    r = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Qinghe@Town2026",
            "new_password2": "Qinghe@Town2026",
        },
    )
    assert r.status_code == 302
    user = world.users["reporter"]
    user.refresh_from_db()
    assert user.check_password("Qinghe@Town2026")
