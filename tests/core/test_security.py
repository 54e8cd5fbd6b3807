"""Security headers, CSRF, the admin for system administrators only, error pages,
and `check --deploy` under production settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _clean_env() -> dict[str, str]:
    # The browser tests allow sync ORM calls next to Playwright's event loop in this
    # process; a deployment never does, and `check --deploy` rightly refuses it.
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_security_headers_on_pages(world, client):
    world.login(client, "operator")
    r = client.get("/")
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    csp = r["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert len(r["X-Request-ID"]) >= 16


def test_pages_load_nothing_from_outside(world, client):
    world.login(client, "admin")
    html = client.get("/").content.decode()
    for needle in ("http://", "https://", "//cdn", "googleapis"):
        assert needle not in html.replace("http://www.w3.org", ""), needle


def test_request_id_is_taken_from_the_proxy_when_valid(db, client):
    r = client.get("/healthz", HTTP_X_REQUEST_ID="abc12345-proxy")
    assert r["X-Request-ID"] == "abc12345-proxy"
    r = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert r["X-Request-ID"] != "bad id with spaces"


@pytest.mark.parametrize(
    ("user", "status"),
    [("admin", 200), ("operator", 302), ("tleader", 302), ("citizen", 302)],
)
def test_admin_is_for_system_administrators_only(world, client, user, status):
    world.login(client, user)
    r = client.get("/admin/")
    assert r.status_code == status


def test_system_admin_can_use_the_admin_models(world, client):
    world.login(client, "admin")
    assert client.get("/admin/regions/organisation/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_404_page_is_friendly_and_chinese(db, client):
    r = client.get("/no/such/page/")
    assert r.status_code == 404
    assert "未找到" in r.content.decode()


def test_500_page_is_friendly_and_chinese(db, client):
    from django.test import RequestFactory

    from xianghu.core.views import server_error

    r = server_error(RequestFactory().get("/x"))
    assert r.status_code == 500
    assert "服务器错误" in r.content.decode()


def test_403_page_is_friendly_and_chinese(db, client):
    from django.test import RequestFactory

    from xianghu.core.views import permission_denied

    r = permission_denied(RequestFactory().get("/x"))
    assert r.status_code == 403
    assert "无权访问" in r.content.decode()


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        **_clean_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-for-check-0123456789",
        "DJANGO_ALLOWED_HOSTS": "xianghu.example.gov.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "XH_STATIC_ROOT": str(tmp_path / "static"),
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_production_refuses_a_short_secret_key(tmp_path):
    env = {
        **_clean_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "short",
        "DJANGO_ALLOWED_HOSTS": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "DJANGO_SECRET_KEY" in proc.stderr
