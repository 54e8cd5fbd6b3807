"""The installable web app: manifest, service worker, offline page."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_manifest_names_the_app_and_its_icons():
    r = Client().get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/manifest+json"
    data = r.json()
    assert data["display"] == "standalone"
    assert data["short_name"] == "乡呼县应"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    assert any(i.get("purpose") == "maskable" for i in data["icons"])
    assert {s["url"] for s in data["shortcuts"]} == {"/calls/new/", "/calls/"}
    for icon in data["icons"]:
        assert Client().get(icon["src"]).status_code == 200


def test_the_service_worker_lists_the_shell_and_the_offline_pages():
    r = Client().get("/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/javascript")
    assert r["Service-Worker-Allowed"] == "/"
    assert "no-cache" in r["Cache-Control"]
    body = r.content.decode()
    for path in (
        '"/calls/new/"',
        '"/calls/"',
        '"/participation/report/"',
        '"/offline/"',
        "js/outbox.js",
        "css/xianghu.css",
    ):
        assert path in body
    # only GET requests are handled: a POST written offline is the outbox's business
    assert 'request.method !== "GET"' in body


def test_the_offline_page_and_the_base_page_link_the_app(world, client):
    r = client.get("/offline/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'rel="manifest"' in html
    assert 'data-sw="/sw.js"' in html
    assert "js/outbox.js" in html  # anonymous residents report offline too
    assert 'data-user=""' in html
    world.login(client, "reporter")
    html = client.get("/calls/new/").content.decode()
    assert "js/outbox.js" in html
    assert "data-offline-draft" in html
    assert f'data-user="{world.users["reporter"].pk}"' in html
    assert 'id="outbox-text"' in html
