"""The API-key page (/accounts/api-keys/): those who manage an organisation's members
create, replace and revoke its keys; a new key is shown once; nobody else gets in."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from xianghu.accounts.models import ApiKey, ApiKeyStatus
from xianghu.accounts.scopes import ALL_SCOPES
from xianghu.accounts.services import apikey_create
from xianghu.accounts.views import PLAIN_SESSION_KEY
from xianghu.regions.roles import Role

URL = "/accounts/api-keys/"


def key_of(world, org="t1", role=Role.TOWNSHIP_REPORTER, **kw):
    return apikey_create(actor=None, organisation=world.orgs[org], role=role, name="网格平台", **kw)


def works(plain: str) -> bool:
    return Client(HTTP_X_API_KEY=plain).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("admin", 200),
        ("tleader", 200),
        ("dleader", 200),
        ("police_leader", 200),
        ("reporter", 403),
        ("handler", 403),
        ("agency_handler", 403),
        ("operator", 403),
        ("assessor", 403),
        ("bianban", 403),
        ("volunteer", 403),
        ("citizen", 403),
        ("nomember", 403),
    ],
)
def test_who_may_open_the_page(world, client, user, status):
    world.login(client, user)
    r = client.get(URL)
    assert r.status_code == status
    if status == 403:
        assert "apikey-form" not in r.content.decode()


def test_anonymous_is_sent_to_login(db, client):
    r = client.get(URL)
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("user", "org", "status"),
    [
        ("tleader", "v1", 200),  # a village of the township
        ("tleader", "t2", 403),  # visible (same county), not managed
        ("tleader", "dept", 403),
        ("tleader", "dept_b", 404),  # another county: not even visible
        ("police_leader", "agency", 200),
        ("admin", "enterprise", 200),
        ("admin", "dept_b", 200),
        ("reporter", "t1", 403),
    ],
)
def test_another_organisation_by_its_id(world, client, user, org, status):
    world.login(client, user)
    assert client.get(URL, {"org": world.orgs[org].pk}).status_code == status
    assert client.get(URL, {"org": "nope"}).status_code in (403, 404)


def test_the_list_shows_only_the_organisations_keys(world, client):
    mine, _ = key_of(world)
    village, _ = key_of(world, org="v1")
    other, _ = key_of(world, org="t2")
    world.login(client, "tleader")
    html = client.get(URL).content.decode()
    assert f'data-prefix="{mine.prefix}"' in html
    assert f'data-prefix="{village.prefix}"' not in html
    assert f'data-prefix="{other.prefix}"' not in html
    assert world.orgs["v1"].name in html  # the switcher offers the village
    html = client.get(URL, {"org": world.orgs["v1"].pk}).content.decode()
    assert f'data-prefix="{village.prefix}"' in html


def test_create_a_key_and_see_it_once(world, client):
    world.login(client, "tleader")
    r = client.post(
        URL,
        {
            "name": " 网格平台 ",
            "role": Role.TOWNSHIP_REPORTER,
            "scopes": ["calls:read", "open311:post"],
        },
    )
    key = ApiKey.objects.get()
    assert r.status_code == 302
    assert r["Location"] == URL
    assert (key.organisation, key.role, key.name, key.scopes, key.created_by) == (
        world.orgs["t1"],
        Role.TOWNSHIP_REPORTER,
        "网格平台",
        ["calls:read", "open311:post"],
        world.users["tleader"],
    )
    page = client.get(URL)
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    plain = html.split('data-testid="apikey-plain"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert plain.startswith(f"xh_{key.prefix}_")
    assert works(plain)
    # Never again.
    assert plain not in client.get(URL).content.decode()
    assert PLAIN_SESSION_KEY not in client.session


def test_a_key_of_another_organisation_goes_back_to_its_page(world, client):
    world.login(client, "admin")
    org = world.orgs["enterprise"]
    r = client.post(
        URL, {"org": org.pk, "name": "随手拍", "role": Role.PUBLIC_USER, "scopes": ["open311:post"]}
    )
    assert r.status_code == 302
    assert r["Location"] == f"{URL}?org={org.pk}"
    key = ApiKey.objects.get()
    assert key.organisation == org
    assert 'data-testid="apikey-plain"' in client.get(r["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "role": Role.TOWNSHIP_REPORTER, "scopes": ["calls:read"]}, "name"),
        ({"name": "网格平台", "role": Role.TOWNSHIP_REPORTER}, "scopes"),
        ({"name": "网格平台", "role": Role.TOWNSHIP_REPORTER, "scopes": ["calls:drop"]}, "scopes"),
        # A role the organisation cannot hold, or one the user cannot give.
        ({"name": "网格平台", "role": Role.PLATFORM_OPERATOR, "scopes": ["calls:read"]}, "role"),
        ({"name": "网格平台", "role": Role.SYSTEM_ADMIN, "scopes": ["calls:read"]}, "role"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_kept(world, client, data, field):
    world.login(client, "tleader")
    r = client.post(URL, data)
    assert r.status_code == 400
    html = r.content.decode()
    assert f'data-testid="error-{field}"' in html
    assert not ApiKey.objects.exists()
    if data["name"]:
        assert f'value="{data["name"]}"' in html  # nothing typed is lost
    for scope in data.get("scopes", []):
        if scope in ALL_SCOPES:
            assert re.search(rf'value="{scope}"[^>]*checked', html)


def test_errors_are_in_chinese(world, client):
    world.login(client, "tleader")
    html = client.post(URL, {"name": "", "role": Role.TOWNSHIP_REPORTER}).content.decode()
    assert "此项必填" in html


def test_the_role_choices_follow_the_organisation_and_the_user(world, client):
    world.login(client, "admin")
    html = client.get(URL).content.decode()  # the platform centre
    assert f'value="{Role.PLATFORM_OPERATOR}"' in html
    assert f'value="{Role.SYSTEM_ADMIN}"' in html
    assert f'value="{Role.TOWNSHIP_REPORTER}"' not in html
    world.login(client, "tleader")
    html = client.get(URL).content.decode()
    assert f'value="{Role.TOWNSHIP_LEADER}"' in html
    assert f'value="{Role.SYSTEM_ADMIN}"' not in html


def test_rotate_with_a_grace_period(world, client):
    old, old_plain = key_of(world, scopes=["calls:read"])
    world.login(client, "tleader")
    r = client.post(f"{URL}{old.pk}/rotate/", {"grace_hours": "24"})
    assert r.status_code == 302
    assert r["Location"] == URL
    new = ApiKey.objects.exclude(pk=old.pk).get()
    old.refresh_from_db()
    assert old.status == ApiKeyStatus.EXPIRING
    assert new.scopes == ["calls:read"]
    page = client.get(URL)
    html = page.content.decode()
    assert f'data-prefix="{old.prefix}" data-status="expiring"' in html
    assert f'data-prefix="{new.prefix}" data-status="active" data-fresh="1"' in html
    plain = html.split('data-testid="apikey-plain"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert plain.startswith(f"xh_{new.prefix}_")
    assert works(plain)
    assert works(old_plain)
    assert old.prefix in html  # the message names the old key and until when it works


def test_rotate_now_and_revoke(world, client):
    old, old_plain = key_of(world)
    world.login(client, "tleader")
    client.post(f"{URL}{old.pk}/rotate/", {"grace_hours": "0"})
    old.refresh_from_db()
    assert old.status == ApiKeyStatus.REVOKED
    assert not works(old_plain)
    new = ApiKey.objects.exclude(pk=old.pk).get()
    r = client.post(f"{URL}{new.pk}/revoke/")
    assert r.status_code == 302
    new.refresh_from_db()
    assert new.status == ApiKeyStatus.REVOKED
    html = client.get(URL).content.decode()
    assert 'data-testid="apikey-rotate"' not in html  # nothing left to replace or revoke
    assert 'data-testid="apikey-revoke"' not in html


def test_refused_actions_change_nothing(world, client):
    key, _plain = key_of(world)
    world.login(client, "tleader")
    client.post(f"{URL}{key.pk}/rotate/", {"grace_hours": "5"})  # not offered
    assert ApiKey.objects.count() == 1
    client.post(f"{URL}{key.pk}/revoke/")
    r = client.post(f"{URL}{key.pk}/rotate/", {"grace_hours": "24"}, follow=True)
    assert ApiKey.objects.count() == 1
    assert "message-error" in r.content.decode()
    assert client.get(f"{URL}{key.pk}/rotate/").status_code == 405


@pytest.mark.parametrize(("user", "status"), [("dleader", 404), ("reporter", 404), ("admin", 302)])
def test_only_those_who_manage_the_organisation_act_on_its_keys(world, client, user, status):
    key, plain = key_of(world)
    world.login(client, user)
    assert client.post(f"{URL}{key.pk}/revoke/").status_code == status
    assert client.post(f"{URL}{key.pk}/rotate/", {"grace_hours": "0"}).status_code == status
    assert works(plain) is (status != 302)
