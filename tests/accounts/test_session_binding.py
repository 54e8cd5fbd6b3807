"""A session is bound to the browser that logged in (User-Agent; optionally the client's
network): the same cookie sent by another browser is refused, logged, and the session
ended."""

from __future__ import annotations

from django.test import Client

from tests.factories import PASSWORD

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _logged_in(ua: str, addr: str = "10.0.0.5") -> Client:
    client = Client(HTTP_USER_AGENT=ua, REMOTE_ADDR=addr)
    r = client.post("/accounts/login/", {"username": "operator", "password": PASSWORD})
    assert r.status_code == 302
    return client


def _thief(victim: Client, ua: str, addr: str = "10.0.0.5") -> Client:
    thief = Client(HTTP_USER_AGENT=ua, REMOTE_ADDR=addr)
    thief.cookies["sessionid"] = victim.cookies["sessionid"].value
    return thief


def test_cookie_from_another_browser_is_refused_and_logged(world, caplog):
    victim = _logged_in(FIREFOX)
    assert victim.get("/").status_code == 200
    thief = _thief(victim, CHROME)
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = thief.get("/calls/")
    assert r.status_code == 302
    assert "expired=1" in r["Location"]
    record = next(
        rec
        for rec in caplog.records
        if rec.getMessage() == "session refused: bound to another browser"
    )
    assert record.user_id == world.users["operator"].pk
    # The session is ended: the cookie is worth nothing to anyone now.
    assert victim.get("/").status_code == 302
    assert _thief(victim, FIREFOX).get("/").status_code == 302


def test_api_with_a_stolen_cookie_gets_a_coded_401(world):
    victim = _logged_in(FIREFOX)
    r = _thief(victim, CHROME).get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "auth.session_expired"


def test_same_browser_keeps_its_session_from_another_address(world):
    victim = _logged_in(FIREFOX)
    assert _thief(victim, FIREFOX, addr="192.168.7.9").get("/").status_code == 200


def test_network_binding_when_turned_on(world, settings):
    settings.XH_SESSION_BIND_IP = True
    victim = _logged_in(FIREFOX, addr="10.0.0.5")
    assert _thief(victim, FIREFOX, addr="10.0.0.77").get("/").status_code == 200  # same /24
    assert _thief(victim, FIREFOX, addr="10.0.9.5").get("/").status_code == 302


def test_sessions_made_without_a_login_are_bound_on_first_use(world):
    """force_login (and sessions from before the binding) carry no binding yet."""
    first = Client(HTTP_USER_AGENT=FIREFOX)
    first.force_login(world.users["operator"])
    assert first.get("/").status_code == 200
    assert _thief(first, CHROME).get("/").status_code == 302
