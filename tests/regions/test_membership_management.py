"""Leaders manage their organisation's members; nobody else can (pages and API)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests import factories as f
from xianghu.regions.models import Membership


@pytest.fixture
def newcomer(world):
    return f.UserFactory(username="newcomer")


def test_township_leader_adds_a_reporter_to_a_village(world, client, newcomer):
    world.login(client, "tleader")
    v1 = world.orgs["v1"]
    r = client.post(
        f"/orgs/{v1.pk}/members/",
        {"username": "newcomer", "role": "township_reporter", "title": "网格员"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    assert "已添加该成员" in r.content.decode()
    m = Membership.objects.get(user=newcomer, organisation=v1)
    assert m.role == "township_reporter"
    assert m.title == "网格员"


def test_role_must_fit_the_organisation(world, client, newcomer):
    world.login(client, "tleader")
    r = client.post(
        f"/orgs/{world.orgs['t1'].pk}/members/",
        {"username": "newcomer", "role": "platform_operator"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    assert not Membership.objects.filter(user=newcomer).exists()
    assert 'class="field-error"' in r.content.decode()


def test_unknown_username_is_a_clear_error(world, client):
    world.login(client, "tleader")
    r = client.post(
        f"/orgs/{world.orgs['t1'].pk}/members/",
        {"username": "ghost", "role": "township_reporter"},
        HTTP_HX_REQUEST="true",
    )
    assert "没有使用该用户名的有效用户" in r.content.decode()


def test_duplicate_membership_is_refused(world, client):
    world.login(client, "tleader")
    r = client.post(
        f"/orgs/{world.orgs['t1'].pk}/members/",
        {"username": "reporter", "role": "township_reporter"},
        HTTP_HX_REQUEST="true",
    )
    assert "已在本单位担任此角色" in r.content.decode()
    assert Membership.objects.filter(user=world.users["reporter"]).count() == 1


@pytest.mark.parametrize(
    ("user", "status"), [("reporter", 403), ("operator", 403), ("reporter_b", 404)]
)
def test_others_cannot_add_members(world, client, newcomer, user, status):
    world.login(client, user)
    r = client.post(
        f"/orgs/{world.orgs['t1'].pk}/members/",
        {"username": "newcomer", "role": "township_reporter"},
    )
    assert r.status_code == status
    assert not Membership.objects.filter(user=newcomer).exists()


def test_leader_ends_a_membership_but_not_in_another_township(world, client):
    world.login(client, "tleader")
    m = Membership.objects.get(user=world.users["village_reporter"])
    r = client.post(f"/orgs/memberships/{m.pk}/end/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    m.refresh_from_db()
    assert m.is_active is False
    other = Membership.objects.get(user=world.users["reporter_t2"])
    assert client.post(f"/orgs/memberships/{other.pk}/end/").status_code == 404
    other.refresh_from_db()
    assert other.is_active is True


def test_page_shows_the_form_only_to_managers(world, client):
    world.login(client, "tleader")
    assert (
        'data-testid="add-member"' in client.get(f"/orgs/{world.orgs['t1'].pk}/").content.decode()
    )
    world.login(client, "operator")
    html = client.get(f"/orgs/{world.orgs['t1'].pk}/").content.decode()
    assert 'data-testid="members"' in html
    assert 'data-testid="add-member"' not in html


def test_api_add_and_end_membership(world, newcomer):
    client = Client(enforce_csrf_checks=True)
    world.login(client, "police_leader")
    agency = world.orgs["agency"]
    body = json.dumps({"username": "newcomer", "role": "department_handler", "title": "民警"})
    # Without the CSRF token a session write is refused.
    r = client.post(
        f"/api/v1/organisations/{agency.pk}/members", body, content_type="application/json"
    )
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    client.get("/")  # obtain the CSRF cookie
    token = client.cookies["csrftoken"].value
    r = client.post(
        f"/api/v1/organisations/{agency.pk}/members",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert r.status_code == 201, r.content
    membership_id = r.json()["id"]
    r = client.post(
        f"/api/v1/organisations/{agency.pk}/members",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "membership.exists"
    r = client.delete(f"/api/v1/memberships/{membership_id}", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    assert r.json()["is_active"] is False


def test_api_refuses_a_role_the_organisation_cannot_hold(world, client, newcomer):
    world.login(client, "admin")
    r = client.post(
        f"/api/v1/organisations/{world.orgs['t1'].pk}/members",
        {"username": "newcomer", "role": "assessor"},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.json()["code"] == "membership.role_not_allowed"


def test_api_member_add_validation_error(world, client):
    world.login(client, "admin")
    r = client.post(
        f"/api/v1/organisations/{world.orgs['t1'].pk}/members",
        {"role": "township_reporter"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "username"


def test_admin_cannot_remove_own_admin_role(world, client):
    world.login(client, "admin")
    m = Membership.objects.get(user=world.users["admin"])
    r = client.delete(f"/api/v1/memberships/{m.pk}")
    assert r.status_code == 409
    assert r.json()["code"] == "membership.self_removal"
