"""API keys: scopes (the table, enforcement on the REST API and Open311), rotation with a
grace period, revocation, expiry, and the data migration that gave old keys every scope."""

from __future__ import annotations

import importlib
import json
import re
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from tests.calls.conftest import as_
from tests.calls.test_api import body as call_body
from xianghu.accounts.models import ApiKey, ApiKeyStatus
from xianghu.accounts.scopes import (
    ALL_SCOPES,
    API_SCOPE_BASES,
    SCOPES,
    apikey_scopes_backfill,
    scope_required,
)
from xianghu.accounts.services import apikey_create, apikey_revoke, apikey_rotate
from xianghu.calls.models import Call
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.participation.models import PublicReport
from xianghu.regions.roles import Role

ERROR_KEYS = {"code", "message", "detail"}


def key_of(world, org="t1", role=Role.TOWNSHIP_REPORTER, scopes=None, name="网格平台"):
    return apikey_create(
        actor=None, organisation=world.orgs[org], role=role, name=name, scopes=scopes
    )


def api(plain: str) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_X_API_KEY=plain)  # keys need no CSRF


def post_json(client: Client, path: str, data: dict):
    return client.post(path, data=json.dumps(data), content_type="application/json")


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    return error


# ---- the table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "calls/", "calls:read"),
        ("GET", "calls/12/events", "calls:read"),
        ("HEAD", "calls/", "calls:read"),
        ("POST", "calls/", "calls:write"),
        ("POST", "calls/12/actions/submit", "calls:write"),
        ("GET", "time-limits/371221", "calls:read"),
        ("PUT", "time-limits/371221", "calls:write"),
        ("GET", "catalog/items", "lists:read"),
        ("POST", "catalog/change-requests", "lists:write"),
        ("GET", "assessment/scores", "assessment:read"),
        ("PUT", "assessment/policy", "assessment:write"),
        ("POST", "routing/suggest", "routing:read"),  # the explicit exception
        ("POST", "/routing/suggest/", "routing:read"),
        ("GET", "organisations/3/members", "directory:read"),
        ("POST", "organisations/3/members", "directory:write"),
        ("DELETE", "memberships/9", "directory:write"),
        ("GET", "regions", "directory:read"),
        ("GET", "me", None),
        ("POST", "participation/reports", "participation:write"),
        ("GET", "integrations/hotline/updates", "hotline:read"),
        ("POST", "integrations/hotline/import", "hotline:write"),  # not a scope (yet)
        ("GET", "integrations/other", "integrations:read"),
        # Outside the table: a scope no key holds.
        ("GET", "somewhere/new", "somewhere:read"),
        ("GET", "participation/reports", "participation:read"),
    ],
)
def test_the_scope_a_request_needs(method, path, scope):
    assert scope_required(method=method, path=path) == scope


def test_every_mounted_operation_needs_a_defined_scope():
    """A new router or endpoint fails here until its scope is in the table (closed to keys
    otherwise)."""
    from config.api import api as ninja_api

    seen = set()
    for prefix, router in ninja_api._routers:
        for path, view in router.path_operations.items():
            full = re.sub(r"\{[^}]+\}", "1", re.sub("/+", "/", f"{prefix}/{path}"))
            for operation in view.operations:
                for method in operation.methods:
                    scope = scope_required(method=method, path=full)
                    assert scope is None or scope in SCOPES, (method, full, scope)
                    seen.add(scope)
                    segments = full.strip("/").split("/")
                    assert (
                        scope is None
                        or segments[0] in API_SCOPE_BASES
                        or "/".join(segments[:2]) in API_SCOPE_BASES
                    ), full
    # Every scope but Open311's (not a ninja route) and participation's (no endpoint yet)
    # is needed by some operation.
    assert set(SCOPES) - seen == {"open311:post", "participation:write"}


# ---- enforcement on the REST API -----------------------------------------------------------


def test_a_read_only_key_reads_calls_but_cannot_post_one(world, lists):
    _key, plain = key_of(world, scopes=["calls:read"])
    client = api(plain)
    r = client.get("/api/v1/calls/")
    assert r.status_code == 200, r.content
    error = refused(
        post_json(client, "/api/v1/calls/", call_body(world, lists)), 403, "auth.scope_missing"
    )
    assert "calls:write" in error["message"]
    assert error["detail"] == {"scope": "calls:write"}
    assert Call.objects.count() == 0
    # The same call with a key that may write.
    _key, writer = key_of(world, scopes=["calls:write"])
    r = post_json(api(writer), "/api/v1/calls/", call_body(world, lists))
    assert r.status_code == 201, r.content
    # ... which in turn may not read.
    refused(api(writer).get("/api/v1/calls/"), 403, "auth.scope_missing")


def test_scopes_per_router(world, lists):
    _key, plain = key_of(world, org="platform", role=Role.PLATFORM_OPERATOR, scopes=["calls:read"])
    client = api(plain)
    # Who am I needs no scope.
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.content
    refused(client.get("/api/v1/organisations"), 403, "auth.scope_missing")
    # A key sent to a public read is checked too (the lists are public without a key).
    refused(client.get("/api/v1/catalog/catalogues"), 403, "auth.scope_missing")
    assert Client().get("/api/v1/catalog/catalogues").status_code == 200
    refused(client.get("/api/v1/assessment/scores"), 403, "auth.scope_missing")
    assert client.get(f"/api/v1/time-limits/{world.county.code}").status_code == 200
    # routing/suggest is a POST but a read.
    _key, router = key_of(
        world, org="platform", role=Role.PLATFORM_OPERATOR, scopes=["routing:read"]
    )
    r = post_json(api(router), "/api/v1/routing/suggest", {"title": "麦地焚烧秸秆"})
    assert r.status_code == 200, r.content
    _key, lists_only = key_of(
        world, org="platform", role=Role.PLATFORM_OPERATOR, scopes=["lists:read"]
    )
    assert api(lists_only).get("/api/v1/catalog/catalogues").status_code == 200
    refused(
        post_json(api(lists_only), "/api/v1/routing/suggest", {"title": "麦地焚烧秸秆"}),
        403,
        "auth.scope_missing",
    )


def test_scopes_do_not_apply_to_sessions(world, lists):
    client = Client()
    world.login(client, "operator")
    assert client.get("/api/v1/organisations").status_code == 200


def test_an_invalid_key_is_refused_before_its_scopes_are_looked_at(world):
    refused(api("xh_dead_beef").get("/api/v1/me"), 401, "auth.api_key_invalid")


# ---- Open311 ----------------------------------------------------------------------------------


def open311_post(plain: str, fmt: str = "json"):
    return Client(enforce_csrf_checks=True).post(
        f"/open311/v2/requests.{fmt}",
        {"api_key": plain, "service_code": "D1-01", "address_string": "王庄镇", "description": "x"},
    )


@pytest.mark.parametrize(
    ("org", "role"), [("t1", Role.TOWNSHIP_REPORTER), ("enterprise", Role.PUBLIC_USER)]
)
def test_open311_post_needs_the_open311_scope(world, lists, org, role):
    _key, without = key_of(world, org=org, role=role, scopes=["calls:read", "calls:write"])
    r = open311_post(without)
    assert r.status_code == 403
    errors = r.json()
    assert isinstance(errors, list)
    assert len(errors) == 1
    assert errors[0]["code"] == 403
    assert errors[0]["reason"] == "scope_missing"
    assert "open311:post" in errors[0]["description"]
    xml = open311_post(without, "xml")
    assert xml.status_code == 403
    assert b"<errors>" in xml.content
    assert b"open311:post" in xml.content
    assert Call.objects.count() == PublicReport.objects.count() == 0
    _key, with_scope = key_of(world, org=org, role=role, scopes=["open311:post"])
    r = open311_post(with_scope)
    assert r.status_code == 200, r.content
    assert Call.objects.count() + PublicReport.objects.count() == 1


def test_open311_refuses_expired_keys_in_both_forms(world, lists):
    key, plain = key_of(world)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = open311_post(plain)
    assert r.status_code == 403
    assert r.json()[0]["reason"] == "bad_api_key"
    # A key in the documented demo form (found by its digest) too.
    import hashlib

    ApiKey.objects.create(
        organisation=world.orgs["t1"],
        role=Role.TOWNSHIP_REPORTER,
        name="demo",
        prefix="demoexp",
        key_hash=hashlib.sha256(b"demo-expired-key").hexdigest(),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert open311_post("demo-expired-key").status_code == 403
    ApiKey.objects.filter(prefix="demoexp").update(expires_at=None)
    assert open311_post("demo-expired-key").status_code == 200


# ---- creation --------------------------------------------------------------------------------


def test_a_new_key_has_every_scope_by_default_and_scopes_are_normalised(world):
    key, _plain = key_of(world)
    assert key.scopes == list(ALL_SCOPES)
    key, _plain = key_of(world, scopes=["open311:post", "calls:read", "calls:read"])
    assert key.scopes == ["calls:read", "open311:post"]
    # Keys made without the service (the demo's documented keys) get the model's default.
    raw = ApiKey.objects.create(
        organisation=world.orgs["t1"],
        role=Role.TOWNSHIP_REPORTER,
        name="x",
        prefix="p",
        key_hash="h",
    )
    raw.refresh_from_db()
    assert raw.scopes == list(ALL_SCOPES)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"scopes": []}, "apikey.no_scopes"),
        ({"scopes": ["calls:read", "calls:delete"]}, "apikey.unknown_scope"),
        ({"name": "   "}, "apikey.bad_name"),
        ({"name": "x" * 101}, "apikey.bad_name"),
        ({"role": Role.PLATFORM_OPERATOR}, "apikey.role_not_allowed"),
    ],
)
def test_bad_keys_are_refused(world, kw, code):
    args = {"organisation": world.orgs["t1"], "role": Role.TOWNSHIP_REPORTER, "name": "n"} | kw
    with pytest.raises(InvalidInput) as exc:
        apikey_create(actor=as_(world, "tleader"), **args)
    assert exc.value.code == code
    assert not ApiKey.objects.exists()


def test_who_may_create_keys(world):
    apikey_create(
        actor=as_(world, "tleader"),
        organisation=world.orgs["v1"],
        role=Role.TOWNSHIP_REPORTER,
        name="村",
    )
    apikey_create(
        actor=as_(world, "admin"),
        organisation=world.orgs["dept"],
        role=Role.DEPARTMENT_HANDLER,
        name="局",
    )
    with pytest.raises(PermissionDenied):
        apikey_create(
            actor=as_(world, "reporter"),
            organisation=world.orgs["t1"],
            role=Role.TOWNSHIP_REPORTER,
            name="n",
        )
    with pytest.raises(NotFound):  # another county's township: not even visible
        apikey_create(
            actor=as_(world, "tleader"),
            organisation=world.orgs["tb"],
            role=Role.TOWNSHIP_REPORTER,
            name="n",
        )


# ---- rotation, revocation, expiry ----------------------------------------------------------


def test_rotation_keeps_the_old_key_working_until_the_grace_period_ends(world):
    old, old_plain = key_of(world, scopes=["calls:read", "open311:post"])
    new, new_plain = apikey_rotate(actor=as_(world, "tleader"), key=old, grace_hours=24)
    assert new_plain != old_plain
    assert (new.organisation, new.role, new.name, new.scopes) == (
        old.organisation,
        old.role,
        old.name,
        ["calls:read", "open311:post"],
    )
    assert new.created_by == world.users["tleader"]
    old.refresh_from_db()
    assert old.revoked_at is None
    assert timedelta(hours=23, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=24)
    assert old.status == ApiKeyStatus.EXPIRING
    assert new.status == ApiKeyStatus.ACTIVE
    assert api(old_plain).get("/api/v1/calls/").status_code == 200
    assert api(new_plain).get("/api/v1/calls/").status_code == 200
    # The grace period ends.
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused(api(old_plain).get("/api/v1/calls/"), 401, "auth.api_key_expired")
    assert api(new_plain).get("/api/v1/calls/").status_code == 200
    old.refresh_from_db()
    assert old.status == ApiKeyStatus.EXPIRED


def test_rotation_without_grace_revokes_the_old_key_now(world):
    old, old_plain = key_of(world)
    _new, new_plain = apikey_rotate(actor=as_(world, "admin"), key=old, grace_hours=0)
    assert old.revoked_at is not None  # the caller's instance is brought up to date
    refused(api(old_plain).get("/api/v1/me"), 401, "auth.api_key_revoked")
    assert api(new_plain).get("/api/v1/me").status_code == 200


def test_only_an_active_key_can_be_rotated_by_those_who_manage_it(world):
    key, _plain = key_of(world)
    for grace in (-1, 24 * 31):
        with pytest.raises(InvalidInput) as exc:
            apikey_rotate(actor=as_(world, "tleader"), key=key, grace_hours=grace)
        assert exc.value.code == "apikey.bad_grace"
    with pytest.raises(PermissionDenied):
        apikey_rotate(actor=as_(world, "reporter"), key=key, grace_hours=24)
    with pytest.raises(PermissionDenied):
        apikey_rotate(actor=as_(world, "dleader"), key=key, grace_hours=24)
    apikey_rotate(actor=as_(world, "tleader"), key=key, grace_hours=24)
    with pytest.raises(Conflict) as exc:  # already replaced (in its grace period)
        apikey_rotate(actor=as_(world, "tleader"), key=key, grace_hours=24)
    assert exc.value.code == "apikey.not_active"
    apikey_revoke(actor=as_(world, "tleader"), key=key)
    with pytest.raises(Conflict):
        apikey_rotate(actor=as_(world, "tleader"), key=key, grace_hours=0)
    assert ApiKey.objects.count() == 2


def test_revocation_stops_a_key_at_once(world):
    key, plain = key_of(world)
    assert api(plain).get("/api/v1/me").status_code == 200
    with pytest.raises(PermissionDenied):
        apikey_revoke(actor=as_(world, "handler"), key=key)
    apikey_revoke(actor=as_(world, "tleader"), key=key)
    error = refused(api(plain).get("/api/v1/me"), 401, "auth.api_key_revoked")
    assert error["message"]
    first = key.revoked_at
    apikey_revoke(actor=as_(world, "tleader"), key=key)  # idempotent
    key.refresh_from_db()
    assert key.revoked_at == first
    assert key.status == ApiKeyStatus.REVOKED


def test_a_key_in_its_grace_period_can_be_revoked(world):
    key, plain = key_of(world)
    apikey_rotate(actor=None, key=key, grace_hours=168)
    assert api(plain).get("/api/v1/me").status_code == 200
    apikey_revoke(actor=None, key=key)
    refused(api(plain).get("/api/v1/me"), 401, "auth.api_key_revoked")


def test_an_expired_key_has_its_own_code(world):
    key, plain = key_of(world)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    error = refused(api(plain).get("/api/v1/me"), 401, "auth.api_key_expired")
    assert error["message"]


# ---- the data migration ---------------------------------------------------------------------


def test_existing_keys_get_every_scope(world):
    old_a, _ = key_of(world, name="a")
    old_b, _ = key_of(world, name="b")
    narrow, _ = key_of(world, name="c", scopes=["calls:read"])
    ApiKey.objects.filter(pk__in=[old_a.pk, old_b.pk]).update(scopes=[])
    assert apikey_scopes_backfill(ApiKey) == 2
    for key in (old_a, old_b):
        key.refresh_from_db()
        assert key.scopes == list(ALL_SCOPES)
    narrow.refresh_from_db()
    assert narrow.scopes == ["calls:read"]
    assert apikey_scopes_backfill(ApiKey) == 0


def test_the_migration_gives_the_scopes_of_its_time(world):
    migration = importlib.import_module("xianghu.accounts.migrations.0003_apikey_scopes_expiry")
    # Frozen in the migration: every scope that existed then, each still a scope.
    assert set(migration.SCOPES_AT_0003) <= set(ALL_SCOPES)
    assert {"calls:write", "lists:write", "open311:post", "hotline:read"} <= set(
        migration.SCOPES_AT_0003
    )
    key, _ = key_of(world, scopes=["calls:read"])
    ApiKey.objects.filter(pk=key.pk).update(scopes=[])
    migration.backfill_scopes(django_apps, None)
    key.refresh_from_db()
    assert key.scopes == list(migration.SCOPES_AT_0003)


def test_the_command_takes_scopes(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    org = str(world.orgs["t1"].pk)
    call_command(
        "apikey_create",
        organisation=org,
        role=Role.TOWNSHIP_REPORTER,
        name="热线",
        scopes="open311:post, calls:read",
        stdout=out,
    )
    key = ApiKey.objects.get()
    assert key.scopes == ["calls:read", "open311:post"]
    assert out.getvalue().startswith(f"xh_{key.prefix}_")
    with pytest.raises(CommandError, match=r"apikey\.unknown_scope"):
        call_command(
            "apikey_create", organisation=org, role=Role.TOWNSHIP_REPORTER, name="x", scopes="x:y"
        )
