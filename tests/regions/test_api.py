"""The REST API shell: auth by session or API key, scoping, the one error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from xianghu.accounts.services import apikey_create, apikey_revoke

ERROR_KEYS = {"code", "message", "detail"}


def security_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "xianghu.security"]


def api_key(world, org_key="platform", role="platform_operator"):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs[org_key], role=role, name="12345"
    )
    return _key, plain


def test_unauthenticated_request_gets_a_coded_401(world, client):
    r = client.get("/api/v1/organisations")
    assert r.status_code == 401
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "auth.required"
    assert "登录" in body["message"]


def test_session_user_sees_own_county_only(world, client):
    world.login(client, "operator")
    r = client.get("/api/v1/organisations?page_size=100")
    assert r.status_code == 200
    names = {o["name"] for o in r.json()["items"]}
    assert world.orgs["dept"].name in names
    assert world.orgs["dept_b"].name not in names


def test_other_county_object_is_indistinguishable_from_a_missing_one(world, client, caplog):
    world.login(client, "operator")
    with caplog.at_level("WARNING", logger="xianghu.security"):
        forbidden = client.get(f"/api/v1/organisations/{world.orgs['dept_b'].pk}/members")
    assert security_messages(caplog) == ["api refused 404 not_found"]
    missing = client.get("/api/v1/organisations/987654/members")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()
    assert forbidden.json()["code"] == "not_found"


def test_members_have_masked_phones(world, client):
    world.login(client, "tleader")
    r = client.get(f"/api/v1/organisations/{world.orgs['t1'].pk}/members")
    assert r.status_code == 200
    phones = [m["phone_masked"] for m in r.json()]
    assert phones
    for m, phone in zip(r.json(), phones, strict=True):
        assert "****" in phone
        assert (
            phone
            != world.users[next(k for k, u in world.users.items() if u.pk == m["user_id"])].phone
        )


def test_api_key_acts_for_its_organisation(world):
    _key, plain = api_key(world)
    client = Client()
    r = client.get("/api/v1/me", HTTP_X_API_KEY=plain)
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] is None
    assert body["grants"] == [
        {
            "organisation_id": world.orgs["platform"].pk,
            "organisation_kind": "platform_centre",
            "role": "platform_operator",
        }
    ]
    r = client.get(f"/api/v1/organisations/{world.orgs['t1'].pk}/members", HTTP_X_API_KEY=plain)
    assert r.status_code == 200
    r = client.get(f"/api/v1/organisations/{world.orgs['tb'].pk}", HTTP_X_API_KEY=plain)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("xh_deadbeef_notakey", "auth.api_key_invalid"),
        ("garbage", "auth.api_key_invalid"),
    ],
)
def test_unknown_api_key_is_refused_with_a_code(world, header, code, caplog):
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = Client().get("/api/v1/me", HTTP_X_API_KEY=header)
    assert r.status_code == 401
    assert r.json()["code"] == code
    assert r.json()["message"]
    assert security_messages(caplog) == [
        "api key rejected: unknown",
        f"api refused 401 {code}",
    ]


def test_tampered_api_key_is_refused(world):
    _key, plain = api_key(world)
    r = Client().get("/api/v1/me", HTTP_X_API_KEY=plain[:-2] + "xx")
    assert r.status_code == 401
    assert r.json()["code"] == "auth.api_key_invalid"


def test_revoked_api_key_is_refused(world, caplog):
    key, plain = api_key(world)
    apikey_revoke(actor=None, key=key)
    with caplog.at_level("WARNING", logger="xianghu.security"):
        r = Client().get("/api/v1/me", HTTP_X_API_KEY=plain)
    assert r.status_code == 401
    assert r.json()["code"] == "auth.api_key_revoked"
    assert security_messages(caplog) == [
        "api key rejected: revoked",
        "api refused 401 auth.api_key_revoked",
    ]
    # The key's prefix identifies it in the log; the secret part is never written.
    record = caplog.records[0]
    assert record.key_prefix == key.prefix  # type: ignore[attr-defined]
    assert plain not in caplog.text


def test_api_key_of_a_deactivated_organisation_is_refused(world):
    _key, plain = api_key(world)
    org = world.orgs["platform"]
    org.is_active = False
    org.save()
    r = Client().get("/api/v1/me", HTTP_X_API_KEY=plain)
    assert r.status_code == 401


def test_api_key_cannot_hold_a_role_its_organisation_cannot(world):
    from xianghu.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        apikey_create(actor=None, organisation=world.orgs["t1"], role="platform_operator", name="x")
    assert exc.value.code == "apikey.role_not_allowed"


def test_validation_errors_use_the_error_shape(world, client):
    world.login(client, "operator")
    r = client.get("/api/v1/organisations?kind=not-a-kind")
    assert r.status_code == 422
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_input"
    assert body["detail"][0]["loc"][-1] == "kind"


def test_unknown_endpoint_uses_the_error_shape(world, client):
    world.login(client, "operator")
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_regions_tree(world, client):
    world.login(client, "reporter")
    r = client.get("/api/v1/regions?parent=371221")
    assert r.status_code == 200
    codes = [x["code"] for x in r.json()["items"]]
    assert codes == [world.t1.code, world.t2.code]
    assert r.json()["items"][0]["parent_code"] == "371221"
    assert client.get("/api/v1/regions/000000").json()["code"] == "not_found"


def test_session_writes_need_csrf(world):
    client = Client(enforce_csrf_checks=True)
    world.login(client, "operator")
    r = client.post("/api/v1/me")
    assert r.status_code in (401, 403, 405)
    assert set(r.json()) == ERROR_KEYS


def test_openapi_schema_and_docs_are_served_locally(world, client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "xianghu API"
    assert "/api/v1/organisations/{org_id}/members" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert {"ApiKeyAuth", "ActorSessionAuth"} <= set(schemes)
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
