"""POST /api/v1/routing/suggest."""

from __future__ import annotations

import json

import pytest

from tests.calls.test_api import session

pytestmark = pytest.mark.django_db

URL = "/api/v1/routing/suggest"


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_suggestion_with_departments_and_explanation(world, trained):
    r = post(session(world, "operator"), URL, {"title": "麦地焚烧秸秆", "description": "浓烟很大"})
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["status"] == "ok"
    assert len(data["candidates"]) == 3
    best = data["candidates"][0]
    assert best["code"] == data["item_code"] or data["outside_list"]
    assert 0 < best["confidence"] <= 1
    assert best["departments"]
    assert best["matched"]
    assert data["model_version"] == trained.version


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"title": ""}, "empty"),
        ({"title": "hello there"}, "not_chinese"),
        ({"title": "啊啊啊啊啊"}, "unreadable"),
    ],
)
def test_bad_text_is_a_status_not_an_error(world, trained, payload, status):
    r = post(session(world, "reporter"), URL, payload)
    assert r.status_code == 200
    assert r.json()["status"] == status
    assert r.json()["message"]


def test_a_county_without_a_model(world, lists):
    r = post(session(world, "reporter"), URL, {"title": "焚烧秸秆"})
    assert r.json()["status"] == "no_model"


def test_validation_and_access(world, trained):
    client = session(world, "reporter")
    r = post(client, URL, {"title": "焚烧秸秆", "k": 99})
    assert r.status_code == 422 or r.status_code == 400
    assert "code" in r.json()
    r = post(client, URL, {"title": "焚烧秸秆", "county": world.other_county.code})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = post(session(world, "citizen"), URL, {"title": "焚烧秸秆"})
    assert r.status_code == 400
    assert r.json()["code"] == "routing.county_required"


def test_a_long_text_is_cut_and_says_so(world, trained):
    r = post(session(world, "reporter"), URL, {"title": "焚烧秸秆", "description": "浓烟" * 3000})
    assert r.status_code == 200
    assert r.json()["truncated"] is True
    assert r.json()["notes"]
