"""The one error body `{code, message, detail}` (`core.errors.error_json` and its table)
wherever a failure is answered: the API's handlers, the API safety net, the error pages
and their JSON twins, the 500 handler; refusals are logged on `xianghu.security`."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client, override_settings
from django.utils import translation

from tests.core.failing_urls import FAILING_API, FAILING_PAGE
from xianghu.core import errors
from xianghu.core.errors import (
    ERROR_KINDS,
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    code_for_status,
    error_json,
)

ERROR_KEYS = {"code", "message", "detail"}


def _error_section(response) -> str:
    html = response.content.decode()
    start = html.index('<section class="card narrow error-page">')
    return html[start : html.index("</section>", start)]


def _security_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "xianghu.security"]


@pytest.mark.parametrize(
    "cls", [DomainError, InvalidInput, NotAuthenticated, PermissionDenied, NotFound, Conflict]
)
def test_domain_errors_take_status_and_message_from_the_one_table(cls):
    kind = ERROR_KINDS[cls.code]
    assert cls.status == kind.status
    assert cls().as_dict()["message"] == str(kind.message)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (401, "auth.required"),
        (403, "permission_denied"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (409, "conflict"),
        (413, "payload_too_large"),
        (500, "internal_error"),
        (418, "error"),
    ],
)
def test_a_bare_http_status_maps_to_its_generic_code(status, code):
    assert code_for_status(status) == code


def test_error_json_for_an_error_and_for_a_code():
    with translation.override("en"):
        r = error_json(Conflict(code="call.already_merged", detail={"call": 7}))
        assert r.status_code == 409
        assert r["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(r.content) == {
            "code": "call.already_merged",
            "message": "The request conflicts with the current state of the object.",
            "detail": {"call": 7},
        }
        r = error_json("payload_too_large")
        assert r.status_code == 413
        assert json.loads(r.content) == {
            "code": "payload_too_large",
            "message": "The request body is too large.",
            "detail": None,
        }
        # An explicit status and message win (ninja's validation error answers 422).
        r = error_json(InvalidInput(detail=[]), 422, message="bad")
        assert (r.status_code, json.loads(r.content)["message"]) == (422, "bad")
    with translation.override("zh-hans"):
        assert "不存在" in json.loads(error_json("not_found").content)["message"]


def test_router_405_gets_the_error_shape_with_allow(world, client):
    world.login(client, "operator")
    r = client.delete("/api/v1/me")
    assert r.status_code == 405
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "method_not_allowed"
    assert "GET" in r["Allow"]


def test_unknown_api_path_is_a_coded_404(world, client):
    world.login(client, "operator")
    r = client.get("/api/v1/no-such-endpoint")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_invalid_api_input_is_a_coded_422_with_detail(world, client):
    world.login(client, "operator")
    r = client.get("/api/v1/organisations?page=not-a-number")
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input"
    assert body["detail"][0]["loc"][-1] == "page"


def test_unexpected_api_failure_is_a_coded_500_and_logged(world, client, monkeypatch, caplog):
    from xianghu.regions import api as regions_api

    def broken(org):
        raise RuntimeError("boom")

    monkeypatch.setattr(regions_api, "_org_out", broken)
    world.login(client, "operator")
    with caplog.at_level(logging.ERROR, logger="xianghu.api"):
        r = client.get(f"/api/v1/organisations/{world.orgs['dept'].pk}")
    assert r.status_code == 500
    assert r.json() == {
        "code": "internal_error",
        "message": str(ERROR_KINDS["internal_error"].message),
        "detail": None,
    }
    assert any(rec.name == "xianghu.api" and rec.exc_info for rec in caplog.records)
    assert "boom" not in r.content.decode()


@override_settings(ROOT_URLCONF="tests.core.failing_urls")
def test_a_failing_page_gets_the_chinese_500_page(db):
    client = Client(raise_request_exception=False)
    r = client.get(FAILING_PAGE)
    assert r.status_code == 500
    html = r.content.decode()
    assert "服务器错误" in html
    assert "failing on purpose" not in html


@override_settings(ROOT_URLCONF="tests.core.failing_urls")
def test_a_failing_api_path_outside_ninja_gets_the_coded_500(db):
    client = Client(raise_request_exception=False)
    r = client.get(FAILING_API)
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error"


def test_other_county_object_on_a_page_is_a_logged_404(world, client, caplog):
    world.login(client, "operator")
    with caplog.at_level(logging.WARNING, logger="xianghu.security"):
        forbidden = client.get(f"/orgs/{world.orgs['dept_b'].pk}/")
    assert forbidden.status_code == 404
    assert "not found or not visible" in _security_messages(caplog)
    record = next(r for r in caplog.records if r.getMessage() == "not found or not visible")
    assert record.user_id == world.users["operator"].pk  # type: ignore[attr-defined]
    missing = client.get("/orgs/987654/")
    assert missing.status_code == 404
    # The page says the same for an object that does not exist.
    assert _error_section(forbidden) == _error_section(missing)
    assert "无权访问" in _error_section(forbidden)


def test_domain_error_on_a_page_answers_json_to_json_clients(world, client):
    world.login(client, "operator")
    r = client.get(f"/orgs/{world.orgs['dept_b'].pk}/", HTTP_ACCEPT="application/json")
    assert r.status_code == 404
    assert r.json() == errors.error_body("not_found")


def test_forbidden_page_is_a_logged_403(world, client, caplog):
    world.login(client, "handler")
    with caplog.at_level(logging.WARNING, logger="xianghu.security"):
        r = client.get("/routing/gaps/")
    assert r.status_code == 403
    assert "无权" in r.content.decode()
    assert "forbidden" in _security_messages(caplog)


def _csrf_client(world, who: str) -> tuple[Client, str]:
    from django.middleware.csrf import _get_new_csrf_string

    client = Client(enforce_csrf_checks=True)
    world.login(client, who)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def test_a_session_upload_over_the_file_limit_is_a_coded_400_not_a_500(world, settings, caplog):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    client, token = _csrf_client(world, "reporter")
    files = [SimpleUploadedFile(f"p{i}.jpg", b"x", content_type="image/jpeg") for i in range(3)]
    with caplog.at_level(logging.WARNING, logger="xianghu.security"):
        r = client.post(
            "/api/v1/calls/", {"payload": "{}", "photos": files}, HTTP_X_CSRFTOKEN=token
        )
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "bad_request"
    assert any("refused a request" in m for m in _security_messages(caplog))


def test_a_session_body_over_the_size_limit_is_a_coded_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client, token = _csrf_client(world, "reporter")
    r = client.post("/api/v1/calls/", {"payload": "x" * 500}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 413, r.content
    assert r.json()["code"] == "payload_too_large"
