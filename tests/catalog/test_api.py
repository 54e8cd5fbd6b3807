"""The catalog REST API (/api/v1/catalog/): public reads of the lists, drafts for the
编办 only, the version in force at a date, diffs, duties, the guard, change requests and
admissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.catalog.conftest import spec
from xianghu.accounts.services import apikey_create
from xianghu.catalog import services
from xianghu.catalog.models import ChangeRequest, ListVersion, VersionStatus

API = "/api/v1/catalog"
ERROR_KEYS = {"code", "message", "detail"}
COUNTY_CODES = ["D1-01", "D1-04-1", "D1-04-2", "D2-09", "QH-01"]


def post(client: Client, path: str, body: dict, **headers):
    return client.post(
        f"{API}{path}", data=json.dumps(body), content_type="application/json", **headers
    )


def codes(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [i["code"] for i in response.json()["items"]]


def item_id(lists, code: str) -> int:
    return lists.version.items.get(code=code).pk


def draft(lists) -> ListVersion:
    """A draft v2 of the county's list: as v1, without D1-01 and with QH-01 finished
    in 3wd."""
    return services.version_derive(
        catalogue=lists.catalogue,
        guidance=lists.guidance,
        title="清河县属地管理事项清单（第2版草案）",
        splits={
            "D1-04": [
                spec("D1-04-1", "烟花爆竹非法生产", respond_limit="30m", complete_limit="3wd"),
                spec(
                    "D1-04-2",
                    "烟花爆竹非法经营储存",
                    assisting=("公安局",),
                    respond_limit="30m",
                    complete_limit="3wd",
                ),
            ]
        },
        removals={"D7-04": "本县无田野文物", "D1-01": "并入其他事项"},
        local=[
            spec(
                "QH-01",
                "水库周边违规垂钓游泳",
                primary=("公安局",),
                complete_limit="3wd",
                domain=("D7", "社会事业与综合治理"),
            )
        ],
    )


def file_modify(client: Client, world, lists, *, version=None, **headers):
    return post(
        client,
        "/change-requests",
        {
            "organisation_id": world.orgs["dept"].pk,
            "version_id": (version or lists.version).pk,
            "kind": "modify",
            "item_code": "D1-01",
            "proposal": {"complete_limit": "3wd"},
            "reason": "实际办结周期缩短",
            "legal_basis": "《安全生产法》",
        },
        **headers,
    )


# ---- public reads ---------------------------------------------------------------------


def test_anonymous_reads_the_published_lists(lists, world, client):
    r = client.get(f"{API}/catalogues")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    county = next(c for c in body["items"] if c["level"] == "county")
    assert county == {
        "id": lists.catalogue.pk,
        "name": "清河县属地管理事项清单",
        "level": "county",
        "region_code": "371221",
        "region_name": "清河县",
        "guidance_id": lists.guidance_catalogue.pk,
        "version_in_force_id": lists.version.pk,
    }
    assert client.get(f"{API}/catalogues", {"level": "province"}).json()["count"] == 1

    r = client.get(f"{API}/catalogues/{lists.catalogue.pk}/versions")
    assert r.status_code == 200
    [v1] = r.json()["items"]
    assert v1["id"] == lists.version.pk
    assert v1["status"] == "published"
    assert v1["number"] == 1
    assert v1["item_count"] == 5
    assert v1["based_on_id"] == lists.guidance.pk
    assert v1["previous_id"] is None
    assert v1["valid_from"]
    assert v1["valid_to"] is None

    r = client.get(f"{API}/versions/{lists.version.pk}")
    assert r.status_code == 200
    detail = r.json()
    assert detail["region_code"] == "371221"
    assert [(d["code"], d["item_count"]) for d in detail["domains"]] == [
        ("D1", 3),
        ("D2", 1),
        ("D7", 1),
    ]

    assert codes(client.get(f"{API}/versions/{lists.version.pk}/items")) == COUNTY_CODES
    r = client.get(f"{API}/versions/{lists.version.pk}/items/D1-04-2")
    assert r.status_code == 200
    item = r.json()
    assert item["origin"] == "split"
    assert item["parent_code"] == "D1-04"
    assert item["respond_limit"] == "30m"
    assert item["respond_limit_label"] == "30分钟"
    assert item["complete_limit_label"] == "3个工作日"
    assert item["domain_code"] == "D1"
    assert [(p["name"], p["role"], p["organisation_id"]) for p in item["parties"]] == [
        ("应急管理局", "primary", world.orgs["dept"].pk),
        ("公安局", "assisting", world.orgs["police"].pk),
    ]
    assert [(s["order"], s["party"], s["time_limit"]) for s in item["steps"]] == [
        (1, "township", ""),
        (2, "primary", "5wd"),
    ]
    missing = client.get(f"{API}/versions/{lists.version.pk}/items/NOPE")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize("user", [None, "handler", "operator", "reporter", "operator_b"])
def test_drafts_are_invisible_outside_the_keeping_bianban(lists, world, client, user):
    v2 = draft(lists)
    if user:
        world.login(client, user)
    versions = client.get(f"{API}/catalogues/{lists.catalogue.pk}/versions").json()
    assert [v["id"] for v in versions["items"]] == [lists.version.pk]
    for path in (
        f"/versions/{v2.pk}",
        f"/versions/{v2.pk}/items",
        f"/versions/{v2.pk}/items/QH-01",
    ):
        r = client.get(f"{API}{path}")
        assert r.status_code == 404, path
        assert r.json()["code"] == "not_found"
    r = client.get(f"{API}/diff", {"old": lists.version.pk, "new": v2.pk})
    assert r.status_code == 404


@pytest.mark.parametrize("user", ["bianban", "admin"])
def test_drafts_are_visible_to_the_bianban_and_admins(lists, world, client, user):
    v2 = draft(lists)
    world.login(client, user)
    versions = client.get(f"{API}/catalogues/{lists.catalogue.pk}/versions").json()["items"]
    assert [(v["id"], v["status"]) for v in versions] == [
        (v2.pk, "draft"),
        (lists.version.pk, "published"),
    ]
    assert client.get(f"{API}/versions/{v2.pk}").json()["status"] == "draft"
    assert codes(client.get(f"{API}/versions/{v2.pk}/items")) == [
        "D1-04-1",
        "D1-04-2",
        "D2-09",
        "QH-01",
    ]


def test_an_api_key_of_the_bianban_sees_drafts_on_public_reads(lists, world):
    v2 = draft(lists)
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["bianban"], role="bianban_reviewer", name="x"
    )
    assert Client().get(f"{API}/versions/{v2.pk}", HTTP_X_API_KEY=plain).status_code == 200
    assert Client().get(f"{API}/versions/{v2.pk}").status_code == 404
    bad = Client().get(f"{API}/catalogues", HTTP_X_API_KEY="xh_dead_beef")
    assert bad.status_code == 401
    assert bad.json()["code"] == "auth.api_key_invalid"


def test_items_in_force_at_a_date(lists, world, client):
    v1 = lists.version
    switch = timezone.now() + timedelta(days=1)
    v2 = draft(lists)
    services.version_publish(version=v2, at=switch)

    now = client.get(f"{API}/items", {"county": "371221"})
    assert codes(now) == COUNTY_CODES
    assert {i["version_id"] for i in now.json()["items"]} == {v1.pk}
    before = client.get(
        f"{API}/items",
        {"county": "371221", "at": (switch - timedelta(seconds=1)).isoformat()},
    )
    assert codes(before) == COUNTY_CODES
    after = client.get(f"{API}/items", {"county": "371221", "at": switch.isoformat()})
    assert codes(after) == ["D1-04-1", "D1-04-2", "D2-09", "QH-01"]
    assert {i["version_id"] for i in after.json()["items"]} == {v2.pk}
    # A time without offset is read in the site's time zone (Asia/Shanghai).
    local = timezone.localtime(switch + timedelta(hours=1)).replace(tzinfo=None)
    assert "D1-01" not in codes(client.get(f"{API}/items", {"county": "371221", "at": local}))

    # Before the first publication, and in a county without a list: nothing in force.
    past = v1.valid_from - timedelta(days=1)
    r = client.get(f"{API}/items", {"county": "371221", "at": past.isoformat()})
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert set(r.json()) == ERROR_KEYS
    assert client.get(f"{API}/items", {"county": "371222"}).status_code == 404
    assert client.get(f"{API}/items", {"county": "999999"}).status_code == 404

    # The catalogue reports the version in force now; v1 now has its end date.
    versions = client.get(f"{API}/catalogues/{lists.catalogue.pk}/versions").json()["items"]
    assert [(v["number"], v["status"], v["previous_id"]) for v in versions] == [
        (2, "published", v1.pk),
        (1, "superseded", None),
    ]
    assert versions[1]["valid_to"] is not None
    county = next(
        c for c in client.get(f"{API}/catalogues").json()["items"] if c["level"] == "county"
    )
    assert county["version_in_force_id"] == v1.pk


def test_items_in_force_after_a_change_published_in_the_past(lists, world, client):
    v1 = lists.version
    now = timezone.now()
    ListVersion.objects.filter(pk=v1.pk).update(valid_from=now - timedelta(days=10))
    switch = now - timedelta(days=3)
    v2 = services.version_publish(version=draft(lists), at=switch)

    def in_force(at=None):
        params = {"county": "371221"} | ({"at": at.isoformat()} if at else {})
        r = client.get(f"{API}/items", params)
        assert r.status_code == 200, r.json()
        return {i["version_id"] for i in r.json()["items"]}

    assert in_force() == {v2.pk}
    assert in_force(now - timedelta(days=1)) == {v2.pk}
    assert in_force(switch) == {v2.pk}
    assert in_force(switch - timedelta(microseconds=1)) == {v1.pk}
    assert in_force(now - timedelta(days=5)) == {v1.pk}
    assert (
        client.get(f"{API}/catalogues", {"level": "county"}).json()["items"][0][
            "version_in_force_id"
        ]
        == v2.pk
    )


def test_item_filters(lists, world, client):
    base = f"{API}/versions/{lists.version.pk}/items"
    assert codes(client.get(base, {"domain": "D2"})) == ["D2-09"]
    assert codes(client.get(base, {"department": world.orgs["police"].pk})) == [
        "D1-04-2",
        "QH-01",
    ]
    assert codes(client.get(base, {"q": "隐患"})) == ["D1-01"]
    assert codes(client.get(base, {"q": "d1-04-1"})) == ["D1-04-1"]
    assert codes(client.get(base, {"department": world.orgs["police"].pk, "domain": "D7"})) == [
        "QH-01"
    ]
    assert codes(client.get(base, {"department": 987654})) == []
    assert codes(client.get(base, {"domain": "D9"})) == []
    county = {"county": "371221"}
    assert codes(client.get(f"{API}/items", {**county, "q": "烟花爆竹"})) == [
        "D1-04-1",
        "D1-04-2",
    ]
    page = client.get(f"{API}/items", {**county, "page_size": 2, "page": 2}).json()
    assert page["count"] == 5
    assert [i["code"] for i in page["items"]] == ["D1-04-2", "D2-09"]


def test_bad_query_parameters_are_422(lists, client):
    r = client.get(f"{API}/items", {"county": "371221", "at": "yesterday"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"
    assert r.json()["detail"][0]["loc"][-1] == "at"
    r = client.get(f"{API}/items")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "county"
    r = client.get(f"{API}/versions/{lists.version.pk}/items", {"department": "police"})
    assert r.status_code == 422


def test_item_lists_have_a_fixed_number_of_queries(
    lists, world, client, django_assert_max_num_queries
):
    v = lists.version
    with django_assert_max_num_queries(4):  # version, count, items, parties
        assert len(codes(client.get(f"{API}/versions/{v.pk}/items"))) == 5
    with django_assert_max_num_queries(6):  # + region, catalogue, version in force
        assert len(codes(client.get(f"{API}/items", {"county": "371221"}))) == 5
    with django_assert_max_num_queries(2):  # count, catalogues (with version in force)
        assert client.get(f"{API}/catalogues").json()["count"] == 2
    with django_assert_max_num_queries(3):  # catalogue, count, versions with item counts
        client.get(f"{API}/catalogues/{lists.catalogue.pk}/versions")
    world.login(client, "bianban")
    with django_assert_max_num_queries(10):  # + session, user, memberships, session touch
        assert len(codes(client.get(f"{API}/versions/{v.pk}/items"))) == 5


# ---- diffs ----------------------------------------------------------------------------


def test_diff_between_versions(lists, world, client):
    v2 = draft(lists)
    world.login(client, "bianban")
    r = client.get(f"{API}/diff", {"old": lists.version.pk, "new": v2.pk})
    assert r.status_code == 200
    body = r.json()
    assert (body["old_id"], body["new_id"]) == (lists.version.pk, v2.pk)
    assert [i["code"] for i in body["removed"]] == ["D1-01"]
    assert body["added"] == []
    assert body["modified"] == [
        {
            "code": "QH-01",
            "name": "水库周边违规垂钓游泳",
            "changes": [{"field": "complete_limit", "old": "5wd", "new": "3wd"}],
        }
    ]


def test_diff_needs_two_versions_of_one_catalogue(lists, client):
    r = client.get(f"{API}/diff", {"old": lists.guidance.pk, "new": lists.version.pk})
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.diff_other_catalogue"
    assert client.get(f"{API}/diff", {"old": lists.version.pk}).status_code == 422
    assert client.get(f"{API}/diff", {"old": lists.version.pk, "new": 987654}).status_code == 404


# ---- duties and the guard ---------------------------------------------------------------


def test_duties_of_an_organisation(lists, world, client):
    assert client.get(f"{API}/duties", {"organisation": world.orgs["dept"].pk}).status_code == 401
    world.login(client, "handler")
    r = client.get(f"{API}/duties", {"organisation": world.orgs["dept"].pk})
    assert r.status_code == 200
    body = r.json()
    assert body["organisation_id"] == world.orgs["dept"].pk
    assert [i["code"] for i in body["primary"]] == ["D1-01", "D1-04-1", "D1-04-2"]
    assert [i["code"] for i in body["cooperating"]] == ["D2-09"]
    township = client.get(f"{API}/duties", {"organisation": world.orgs["t1"].pk}).json()
    assert [i["code"] for i in township["primary"]] == ["D2-09"]
    other = client.get(f"{API}/duties", {"organisation": world.orgs["dept_b"].pk})
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"


def guard(client, world, *, item=None, duty=None, giver="dept", receiver="t1"):
    params = {"giver": world.orgs[giver].pk, "receiver": world.orgs[receiver].pk}
    if item is not None:
        params["item"] = item
    if duty:
        params["duty"] = duty
    return client.get(f"{API}/guard", params)


def test_guard_refuses_pushing_a_primary_duty_down(lists, world, client):
    assert guard(client, world).status_code == 401
    world.login(client, "handler")
    d101 = item_id(lists, "D1-01")
    r = guard(client, world, item=d101)
    assert r.status_code == 200
    assert r.json()["allowed"] is False
    assert r.json()["code"] == "primary_duty_push_down"
    assert r.json()["message"]
    r = guard(client, world, item=d101, duty="cooperating")
    assert (r.json()["allowed"], r.json()["code"]) == (True, "cooperating")
    r = guard(client, world, item=item_id(lists, "QH-01"))
    assert (r.json()["allowed"], r.json()["code"]) == (False, "not_on_item")
    r = guard(client, world, giver="platform", receiver="police", item=item_id(lists, "QH-01"))
    assert (r.json()["allowed"], r.json()["code"]) == (True, "lead")
    assert guard(client, world, item=d101, duty="everything").status_code == 422
    assert guard(client, world, receiver="tb").status_code == 404
    assert guard(client, world, item=987654).status_code == 404


def test_guard_allows_an_out_of_list_task_after_an_approved_admission(lists, world, client):
    handler, reviewer = Client(), Client()
    world.login(handler, "handler")
    world.login(reviewer, "bianban")
    r = guard(handler, world)
    assert (r.json()["allowed"], r.json()["code"]) == (False, "out_of_list_without_admission")

    today = timezone.localdate()
    r = post(
        handler,
        "/admissions",
        {
            "department_id": world.orgs["dept"].pk,
            "title": "森林防火专项排查",
            "content": "对辖区林地开展防火隐患排查",
            "basis": "县森林防灭火指挥部通知",
            "resources": "专项经费2万元",
            "township_ids": [world.orgs["t1"].pk],
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
    )
    assert r.status_code == 201, r.json()
    admission = r.json()
    assert admission["status"] == "pending"
    assert admission["department_name"] == world.orgs["dept"].name
    assert admission["townships"] == [{"id": world.orgs["t1"].pk, "name": world.orgs["t1"].name}]
    assert guard(handler, world).json()["allowed"] is False  # pending is not enough

    # A pending admission hands the township nothing: it does not see it yet.
    township = world.login(Client(), "reporter")
    assert township.get(f"{API}/admissions").json()["count"] == 0
    assert township.get(f"{API}/admissions/{admission['id']}").status_code == 404
    duties = township.get(f"{API}/duties", {"organisation": world.orgs["t1"].pk}).json()
    assert duties["admitted"] == []
    other = world.login(Client(), "operator_b")
    assert other.get(f"{API}/admissions").json()["count"] == 0
    assert other.get(f"{API}/admissions/{admission['id']}").status_code == 404

    r = post(
        handler, f"/admissions/{admission['id']}/decision", {"approve": True, "opinion": "同意"}
    )
    assert r.status_code == 403
    assert r.json()["code"] == "catalog.not_a_reviewer"
    r = post(
        reviewer, f"/admissions/{admission['id']}/decision", {"approve": True, "opinion": "同意"}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    assert r.json()["opinion"] == "同意"

    r = guard(handler, world)
    assert (r.json()["allowed"], r.json()["code"]) == (True, "admitted")
    assert r.json()["admission_id"] == admission["id"]
    # Approved, it reaches the township: visible, and a temporary task among its duties.
    assert [a["id"] for a in township.get(f"{API}/admissions").json()["items"]] == [admission["id"]]
    duties = township.get(f"{API}/duties", {"organisation": world.orgs["t1"].pk}).json()
    assert duties["admitted"] == [
        {
            "admission_id": admission["id"],
            "title": "森林防火专项排查",
            "content": "对辖区林地开展防火隐患排查",
            "basis": "县森林防灭火指挥部通知",
            "resources": "专项经费2万元",
            "department_id": world.orgs["dept"].pk,
            "department_name": world.orgs["dept"].name,
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        }
    ]
    # Not after its period, and never for a township it does not name.
    later = f"{(today + timedelta(days=31)).isoformat()}T12:00:00+08:00"
    r = township.get(f"{API}/duties", {"organisation": world.orgs["t1"].pk, "at": later})
    assert r.json()["admitted"] == []
    t2 = reviewer.get(f"{API}/duties", {"organisation": world.orgs["t2"].pk}).json()
    assert t2["admitted"] == []
    assert guard(handler, world, receiver="t2").json()["allowed"] is False  # not named
    again = post(
        reviewer, f"/admissions/{admission['id']}/decision", {"approve": False, "opinion": "否"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "catalog.already_decided"
    assert reviewer.get(f"{API}/admissions", {"status": "pending"}).json()["count"] == 0
    assert reviewer.get(f"{API}/admissions/{admission['id']}").json()["status"] == "approved"


def test_admission_validation(lists, world, client):
    world.login(client, "handler")
    today = timezone.localdate().isoformat()
    body = {
        "department_id": world.orgs["dept"].pk,
        "title": " ",
        "content": "内容",
        "basis": "依据",
        "township_ids": [],
        "starts_on": today,
        "ends_on": today,
    }
    r = post(client, "/admissions", body)
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.bad_admission"
    assert {p["field"] for p in r.json()["detail"]} == {"title", "townships"}
    r = post(client, "/admissions", {**body, "title": "x", "township_ids": [world.orgs["tb"].pk]})
    assert r.status_code == 404  # another county's township is not even visible
    r = post(client, "/admissions", {**body, "ends_on": "not a date"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "ends_on"


# ---- change requests ------------------------------------------------------------------


def test_change_request_flow(lists, world):
    handler, reviewer, reporter = Client(), Client(), Client()
    world.login(handler, "handler")
    world.login(reviewer, "bianban")
    world.login(reporter, "reporter")

    r = file_modify(handler, world, lists)
    assert r.status_code == 201, r.json()
    change = r.json()
    assert change["status"] == "pending"
    assert change["kind"] == "modify"
    assert change["organisation_id"] == world.orgs["dept"].pk
    assert change["base_version_id"] == lists.version.pk
    assert change["proposal"] == {"complete_limit": "3wd"}
    assert change["result_version_id"] is None
    decide = f"/change-requests/{change['id']}/decision"

    # The township's reporter does not even see the department's request; its own
    # request it sees, but cannot decide; nor can the filing department.
    assert post(reporter, decide, {"approve": True, "opinion": "同意"}).status_code == 404
    own = post(
        reporter,
        "/change-requests",
        {
            "organisation_id": world.orgs["t1"].pk,
            "version_id": lists.version.pk,
            "kind": "modify",
            "item_code": "D2-09",
            "proposal": {"keywords": "秸秆,焚烧"},
            "reason": "补充关键词",
        },
    )
    assert own.status_code == 201, own.json()
    for client, path in (
        (reporter, f"/change-requests/{own.json()['id']}/decision"),
        (handler, decide),
    ):
        r = post(client, path, {"approve": True, "opinion": "同意"})
        assert r.status_code == 403
        assert r.json()["code"] == "catalog.not_a_reviewer"

    r = post(reviewer, decide, {"approve": True, "opinion": "同意，按新时限执行"})
    assert r.status_code == 200, r.json()
    decided = r.json()
    assert decided["status"] == "approved"
    assert decided["opinion"] == "同意，按新时限执行"
    assert decided["decided_by_id"] == world.users["bianban"].pk
    new_id = decided["result_version_id"]
    assert new_id
    assert ListVersion.objects.get(pk=new_id).status == VersionStatus.PUBLISHED

    # The new version is in force; the diff shows the change.
    county = next(
        c for c in Client().get(f"{API}/catalogues").json()["items"] if c["level"] == "county"
    )
    assert county["version_in_force_id"] == new_id
    items = Client().get(f"{API}/items", {"county": "371221", "q": "D1-01"}).json()["items"]
    assert [(i["version_id"], i["complete_limit"]) for i in items] == [(new_id, "3wd")]
    diff = Client().get(f"{API}/diff", {"old": lists.version.pk, "new": new_id}).json()
    assert diff["added"] == diff["removed"] == []
    (modified,) = diff["modified"]
    assert (modified["code"], modified["name"]) == ("D1-01", "工矿商贸企业安全生产监管")
    limits, steps = modified["changes"]
    assert limits == {"field": "complete_limit", "old": "5wd", "new": "3wd"}
    # The procedure is one field: every step, in order, before and after.
    assert steps["field"] == "steps"
    assert [(s["order"], s["party"], s["time_limit"]) for s in steps["old"]] == [
        (1, "township", ""),
        (2, "primary", "5wd"),
    ]
    assert [(s["order"], s["party"], s["time_limit"]) for s in steps["new"]] == [
        (1, "township", ""),
        (2, "primary", "3wd"),
    ]
    assert steps["new"][1]["handoff"] == "办结反馈乡镇"

    again = post(reviewer, decide, {"approve": False, "opinion": "再议"})
    assert again.status_code == 409
    assert again.json()["code"] == "catalog.already_decided"
    stale = file_modify(handler, world, lists)
    assert stale.status_code == 409
    assert stale.json()["code"] == "catalog.version_superseded"
    current = ListVersion.objects.get(pk=new_id)
    assert file_modify(handler, world, lists, version=current).status_code == 201

    # Lists and filters.
    mine = handler.get(f"{API}/change-requests").json()
    assert mine["count"] == 2
    assert {c["organisation_id"] for c in mine["items"]} == {world.orgs["dept"].pk}
    everything = reviewer.get(f"{API}/change-requests").json()
    assert everything["count"] == 3
    approved = reviewer.get(f"{API}/change-requests", {"status": "approved"}).json()
    assert [c["id"] for c in approved["items"]] == [change["id"]]
    detail = reviewer.get(f"{API}/change-requests/{change['id']}")
    assert detail.status_code == 200
    assert detail.json()["result_version_id"] == new_id
    assert reviewer.get(f"{API}/change-requests", {"status": "maybe"}).status_code == 422


def test_a_decision_needs_an_opinion(lists, world):
    handler, reviewer = world.login(Client(), "handler"), world.login(Client(), "bianban")
    change = file_modify(handler, world, lists).json()
    r = post(
        reviewer, f"/change-requests/{change['id']}/decision", {"approve": False, "opinion": " "}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.opinion_required"
    r = post(reviewer, f"/change-requests/{change['id']}/decision", {"approve": False})
    assert r.status_code == 422
    r = post(
        reviewer,
        f"/change-requests/{change['id']}/decision",
        {"approve": False, "opinion": "依据不足"},
    )
    assert (r.status_code, r.json()["status"], r.json()["result_version_id"]) == (
        200,
        "rejected",
        None,
    )


def test_change_request_validation(lists, world, client):
    world.login(client, "handler")
    base = {
        "organisation_id": world.orgs["dept"].pk,
        "version_id": lists.version.pk,
        "kind": "modify",
        "item_code": "D1-01",
        "proposal": {"complete_limit": "3wd"},
        "reason": "理由",
    }
    r = post(client, "/change-requests", {k: v for k, v in base.items() if k != "reason"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"
    assert set(r.json()) == ERROR_KEYS
    assert ["body", "payload", "reason"] in [e["loc"] for e in r.json()["detail"]]
    r = post(client, "/change-requests", {**base, "kind": "rename"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "kind"
    r = client.post(f"{API}/change-requests", data="{", content_type="application/json")
    assert r.status_code in (400, 422)
    assert set(r.json()) == ERROR_KEYS

    r = post(client, "/change-requests", {**base, "proposal": {"complete_limit": "5天"}})
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.bad_proposal"
    assert [p["field"] for p in r.json()["detail"]] == ["complete_limit"]

    r = post(
        client,
        "/change-requests",
        {
            **base,
            "kind": "add",
            "item_code": "",
            "proposal": {
                "code": "QH-09",
                "name": "乡村道路违规占道",
                "primary_level": "city",
                "primary_departments": ["不存在局"],
                "respond_limit": "24h",
                "complete_limit": "5天",
                "colour": "red",
            },
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.bad_proposal"
    fields = {p["field"] for p in r.json()["detail"]}
    assert {
        "colour",
        "domain_code",
        "domain_name",
        "primary_duties",
        "primary_level",
        "complete_limit",
        "primary_departments",
    } <= fields
    assert all(p["message"] for p in r.json()["detail"])

    r = post(client, "/change-requests", {**base, "reason": "  "})
    assert (r.status_code, r.json()["code"]) == (400, "catalog.reason_required")
    r = post(client, "/change-requests", {**base, "item_code": "NOPE"})
    assert (r.status_code, r.json()["code"]) == (400, "catalog.unknown_item")
    # Filing for an organisation one does not belong to.
    r = post(client, "/change-requests", {**base, "organisation_id": world.orgs["police"].pk})
    assert (r.status_code, r.json()["code"]) == (403, "catalog.not_a_filer")
    # Objects the caller cannot see are 404, drafts included.
    r = post(client, "/change-requests", {**base, "organisation_id": world.orgs["dept_b"].pk})
    assert r.status_code == 404
    r = post(client, "/change-requests", {**base, "version_id": draft(lists).pk})
    assert r.status_code == 404
    assert ChangeRequest.objects.count() == 0


def test_another_county_cannot_see_change_requests(lists, world):
    handler = world.login(Client(), "handler")
    change = file_modify(handler, world, lists).json()
    other = world.login(Client(), "operator_b")
    assert other.get(f"{API}/change-requests").json()["count"] == 0
    r = other.get(f"{API}/change-requests/{change['id']}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = post(other, f"/change-requests/{change['id']}/decision", {"approve": True, "opinion": "x"})
    assert r.status_code == 404
    # The county's own platform operator follows the county's changes.
    operator = world.login(Client(), "operator")
    assert [c["id"] for c in operator.get(f"{API}/change-requests").json()["items"]] == [
        change["id"]
    ]
    assert Client().get(f"{API}/change-requests").status_code == 401
    assert post(Client(), f"/change-requests/{change['id']}/decision", {}).status_code == 401


def test_session_writes_need_the_csrf_token(lists, world):
    client = Client(enforce_csrf_checks=True)
    world.login(client, "handler")
    r = file_modify(client, world, lists)
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert set(r.json()) == ERROR_KEYS
    assert ChangeRequest.objects.count() == 0
    token = "a" * 32
    client.cookies["csrftoken"] = token
    r = file_modify(client, world, lists, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201, r.json()


def test_an_api_key_can_file_a_change_request(lists, world):
    _key, plain = apikey_create(
        actor=None, organisation=world.orgs["dept"], role="department_handler", name="x"
    )
    client = Client(enforce_csrf_checks=True)  # keys need no CSRF token
    r = file_modify(client, world, lists, HTTP_X_API_KEY=plain)
    assert r.status_code == 201, r.json()
    assert r.json()["filed_by_id"] is None
    assert r.json()["organisation_id"] == world.orgs["dept"].pk
    listed = client.get(f"{API}/change-requests", HTTP_X_API_KEY=plain).json()
    assert [c["id"] for c in listed["items"]] == [r.json()["id"]]


def test_openapi_schema_lists_the_catalog_paths(world, client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/catalogues",
        "/catalogues/{catalogue_id}/versions",
        "/versions/{version_id}",
        "/versions/{version_id}/items",
        "/versions/{version_id}/items/{code}",
        "/items",
        "/diff",
        "/duties",
        "/guard",
        "/change-requests",
        "/change-requests/{request_id}",
        "/change-requests/{request_id}/decision",
        "/admissions",
        "/admissions/{admission_id}",
        "/admissions/{admission_id}/decision",
    ):
        assert f"/api/v1/catalog{path}" in paths, path
    public = paths["/api/v1/catalog/items"]["get"]
    assert not public.get("security")
    assert paths["/api/v1/catalog/guard"]["get"]["security"]
    assert set(paths["/api/v1/catalog/change-requests"]["post"]["responses"]) >= {
        "201",
        "400",
        "403",
        "404",
        "409",
        "422",
    }
