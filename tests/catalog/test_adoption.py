"""Guidance catalogue governance (指导目录更新的采纳): a new guidance version gives the
lists derived from the one before one task per change; the county's 编办 adopts each
(through approved change requests, one new version) or declines it with a reason."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.test import Client
from django.utils import translation

from tests import factories as f
from tests.catalog.conftest import GUIDANCE_SPECS, spec
from xianghu.catalog import adoption, selectors, services
from xianghu.catalog.models import (
    AdoptionStatus,
    AdoptionTask,
    ChangeKind,
    DecisionStatus,
    GuidanceUpdate,
    ItemOrigin,
    ListVersion,
    ScopeLevel,
    VersionStatus,
)
from xianghu.core import access
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.regions.roles import OrgKind, Role
from xianghu.regions.selectors import actor_for_user

API = "/api/v1/catalog"


def as_(world, key):
    return actor_for_user(user=world.users[key])


def _member(world, key, org, role):
    user = f.UserFactory(username=key)
    f.MembershipFactory(user=user, organisation=org, role=role)
    world.users[key] = user
    return user


@pytest.fixture
def upper(world):
    """The province's and the city's 编办 (above every county), a city department and
    the other county's 编办, each with a user."""
    province = f.province()
    city = world.county.parent
    orgs = {
        "province": f.OrganisationFactory(
            name="山东省委编办", kind=OrgKind.BIANBAN, region=province
        ),
        "city": f.OrganisationFactory(name="鲁中市委编办", kind=OrgKind.BIANBAN, region=city),
        "city_dept": f.OrganisationFactory(
            name="鲁中市应急管理局", short_name="应急管理局", kind=OrgKind.DEPARTMENT, region=city
        ),
        "bianban_b": f.county_org(world.other_county, OrgKind.BIANBAN, "柳河县委编办"),
    }
    _member(world, "province", orgs["province"], Role.BIANBAN_REVIEWER)
    _member(world, "city", orgs["city"], Role.BIANBAN_REVIEWER)
    _member(world, "city_handler", orgs["city_dept"], Role.DEPARTMENT_HANDLER)
    _member(world, "bianban_b", orgs["bianban_b"], Role.BIANBAN_REVIEWER)
    return orgs


def _by_code(specs):
    return {s.code: s for s in specs}


def guidance_v2_specs():
    """Guidance v2: D1-01's completion limit shortened, D1-04's response limit changed
    (the county split it), D2-09 and D7-04 (the county removed it) dropped, D3-01 new."""
    old = _by_code(GUIDANCE_SPECS)
    return [
        replace(old["D1-01"], complete_limit="3wd", legal_basis="《安全生产法》第六十五条"),
        replace(old["D1-04"], respond_limit="1h"),
        spec(
            "D3-01",
            "农村自建房安全隐患排查",
            assisting=("公安局",),
            domain=("D3", "自然资源与村镇建设"),
        ),
    ]


def publish_guidance(lists, specs, actor=None):
    draft = services.version_create_draft(
        catalogue=lists.guidance_catalogue, specs=specs, title="指导目录（新版）", actor=actor
    )
    return services.version_publish(version=draft, actor=actor)


@pytest.fixture
def v2(lists, world, upper):
    """Guidance v2 published by the province's 编办."""
    return publish_guidance(lists, guidance_v2_specs(), actor=as_(world, "province"))


def tasks(lists):
    return {t.item_code: t for t in AdoptionTask.objects.filter(catalogue=lists.catalogue)}


# ---- creation on publish ----------------------------------------------------------------


def test_publishing_a_guidance_version_gives_the_derived_list_a_task_per_change(lists, v2):
    found = tasks(lists)
    assert {c: t.kind for c, t in found.items()} == {
        "D3-01": ChangeKind.ADD,
        "D1-01": ChangeKind.MODIFY,
        "D1-04": ChangeKind.MODIFY,
        "D2-09": ChangeKind.REMOVE,
        "D7-04": ChangeKind.REMOVE,
    }
    assert all(t.status == AdoptionStatus.OPEN for t in found.values())
    changes = {c["field"]: (c["old"], c["new"]) for c in found["D1-01"].changes}
    assert changes == {
        "legal_basis": ("", "《安全生产法》第六十五条"),
        "complete_limit": ("5wd", "3wd"),
    }
    update = GuidanceUpdate.objects.get(catalogue=lists.catalogue)
    assert (update.old, update.new) == (lists.guidance, v2)
    assert found["D3-01"].item_name == "农村自建房安全隐患排查"


def test_creating_tasks_is_idempotent(lists, world, v2):
    assert adoption.adoption_tasks_sync(catalogue=lists.catalogue) == []
    adoption.after_publish(version=v2)
    # A new county version (an approved change request) does not repeat them either.
    change = services.change_request_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=lists.version,
        kind=ChangeKind.MODIFY,
        item_code="QH-01",
        proposal={"keywords": "垂钓,游泳"},
        reason="补充关键词",
    )
    services.change_request_decide(
        actor=as_(world, "bianban"), request=change, approve=True, opinion="同意"
    )
    assert AdoptionTask.objects.filter(catalogue=lists.catalogue).count() == 5
    assert GuidanceUpdate.objects.filter(catalogue=lists.catalogue).count() == 1


def test_a_third_guidance_version_brings_only_its_own_changes(lists, world, v2):
    specs = guidance_v2_specs()
    specs[2] = replace(specs[2], name="农村自建房安全")
    v3 = publish_guidance(lists, specs, actor=as_(world, "province"))
    updates = list(GuidanceUpdate.objects.filter(catalogue=lists.catalogue).order_by("pk"))
    assert [(u.old, u.new) for u in updates] == [(lists.guidance, v2), (v2, v3)]
    assert [(t.kind, t.item_code) for t in updates[1].tasks.all()] == [(ChangeKind.MODIFY, "D3-01")]


def test_a_list_derived_from_an_older_guidance_version_gets_the_backlog(lists, world, v2):
    other = services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY,
        region=world.other_county,
        name="柳河县属地管理事项清单",
        guidance=lists.guidance_catalogue,
    )
    derived = services.version_derive(
        catalogue=other,
        guidance=lists.guidance,
        title="柳河县清单（第1版）",
        removals={"D1-04": "本县无烟花爆竹企业", "D7-04": "本县无田野文物"},
    )
    assert not AdoptionTask.objects.filter(catalogue=other).exists()
    services.version_publish(version=derived)
    assert {t.item_code for t in AdoptionTask.objects.filter(catalogue=other)} == {
        "D1-01",
        "D1-04",
        "D2-09",
        "D3-01",
        "D7-04",
    }


def test_an_unchanged_guidance_version_gives_no_task(lists, world, upper):
    publish_guidance(lists, GUIDANCE_SPECS, actor=as_(world, "province"))
    assert not AdoptionTask.objects.filter(catalogue=lists.catalogue).exists()


# ---- adopting -------------------------------------------------------------------------------


def test_adopting_changes_publishes_one_new_county_version(lists, world, v2):
    found = tasks(lists)
    result = adoption.adoption_adopt(
        actor=as_(world, "bianban"),
        tasks=[found["D1-01"], found["D3-01"]],
        note="按新版指导目录执行",
    )
    assert result.status == VersionStatus.PUBLISHED
    assert selectors.version_in_force(catalogue=lists.catalogue) == result
    assert result.based_on == v2
    items = {i.code: i for i in selectors.version_items(version=result)}
    assert items["D1-01"].complete_limit == "3wd"
    assert items["D1-01"].legal_basis == "《安全生产法》第六十五条"
    added = items["D3-01"]
    assert added.origin == ItemOrigin.INHERITED
    assert added.parent == v2.items.get(code="D3-01")
    # Departments resolved to the county's own.
    assert {p.organisation for p in added.parties.all()} == {
        world.orgs["dept"],
        world.orgs["police"],
    }
    # Split items now hang on v2's D1-04; D2-09, which v2 dropped, is the county's own.
    assert items["D1-04-1"].parent == v2.items.get(code="D1-04")
    assert items["D2-09"].origin == ItemOrigin.LOCAL
    # D7-04 left the guidance too: no removal left to record.
    assert not result.removed.exists()
    diff = selectors.version_diff(old=lists.version, new=result)
    assert [i.code for i in diff.added] == ["D3-01"]
    assert [m.code for m in diff.modified] == ["D1-01"]
    for code in ("D1-01", "D3-01"):
        task = AdoptionTask.objects.get(pk=found[code].pk)
        assert task.status == AdoptionStatus.ADOPTED
        assert task.decided_by == world.users["bianban"]
        assert task.decided_at is not None
        assert task.reason == "按新版指导目录执行"
        assert task.result_version == result
        change = task.change_request
        assert change.status == DecisionStatus.APPROVED
        assert change.result_version == result
        assert change.filed_by_org == world.orgs["bianban"]
        assert change.decided_by == world.users["bianban"]
    assert tasks(lists)["D2-09"].status == AdoptionStatus.OPEN


def test_adopting_a_removal(lists, world, v2):
    result = adoption.adoption_adopt(actor=as_(world, "bianban"), tasks=[tasks(lists)["D2-09"]])
    codes = set(result.items.values_list("code", flat=True))
    assert "D2-09" not in codes
    assert codes == {"D1-01", "D1-04-1", "D1-04-2", "QH-01"}
    assert tasks(lists)["D2-09"].change_request.kind == ChangeKind.REMOVE


def test_a_change_the_list_already_reflects_is_adopted_without_a_new_version(lists, world, v2):
    before = ListVersion.objects.filter(catalogue=lists.catalogue).count()
    result = adoption.adoption_adopt(actor=as_(world, "bianban"), tasks=[tasks(lists)["D7-04"]])
    assert result == lists.version
    assert ListVersion.objects.filter(catalogue=lists.catalogue).count() == before
    task = tasks(lists)["D7-04"]
    assert task.status == AdoptionStatus.ADOPTED
    assert task.change_request is None


def test_a_change_to_an_item_the_county_split_cannot_be_adopted_as_such(lists, world, v2):
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        adoption.adoption_adopt(actor=as_(world, "bianban"), tasks=[tasks(lists)["D1-04"]])
    assert exc.value.code == "catalog.adoption_not_applicable"
    assert "D1-04-1" in str(exc.value.message)
    assert exc.value.detail[0]["item"] == "D1-04"
    # All or nothing: with an adoptable change in the batch, nothing is adopted.
    with pytest.raises(InvalidInput):
        adoption.adoption_adopt(
            actor=as_(world, "bianban"), tasks=[tasks(lists)["D1-01"], tasks(lists)["D1-04"]]
        )
    assert tasks(lists)["D1-01"].status == AdoptionStatus.OPEN
    assert selectors.version_in_force(catalogue=lists.catalogue) == lists.version


def test_adopting_an_item_whose_department_the_county_lacks_is_refused(lists, world, upper):
    specs = [*GUIDANCE_SPECS, spec("D4-01", "耕地保护", primary=("自然资源局",))]
    publish_guidance(lists, specs, actor=as_(world, "province"))
    with pytest.raises(InvalidInput) as exc:
        adoption.adoption_adopt(actor=as_(world, "bianban"), tasks=[tasks(lists)["D4-01"]])
    assert exc.value.code == "catalog.adoption_not_applicable"
    assert "自然资源局" in str(exc.value.message)


# ---- declining -------------------------------------------------------------------------------


def test_declining_needs_a_reason_and_is_recorded(lists, world, v2):
    task = tasks(lists)["D3-01"]
    with pytest.raises(InvalidInput) as exc:
        adoption.adoption_decline(actor=as_(world, "bianban"), task=task, reason="  ")
    assert exc.value.code == "catalog.adoption_reason_required"
    declined = adoption.adoption_decline(
        actor=as_(world, "bianban"), task=task, reason="本县无农村自建房经营情形"
    )
    assert declined.status == AdoptionStatus.DECLINED
    assert declined.reason == "本县无农村自建房经营情形"
    assert declined.decided_by == world.users["bianban"]
    assert declined.decided_at is not None
    # The list is unchanged.
    assert selectors.version_in_force(catalogue=lists.catalogue) == lists.version
    # A declined addition is recorded as the list's removal, with the reason, in the next
    # version the adoption publishes.
    result = adoption.adoption_adopt(actor=as_(world, "bianban"), tasks=[tasks(lists)["D1-01"]])
    removed = {r.guidance_item.code: r.reason for r in result.removed.all()}
    assert removed == {"D3-01": "本县无农村自建房经营情形"}
    report = selectors.derivation_of(version=result)
    assert [r.guidance_item.code for r in report.removed] == ["D3-01"]


def test_deciding_twice_is_refused(lists, world, v2):
    reviewer = as_(world, "bianban")
    task = tasks(lists)["D2-09"]
    adoption.adoption_decline(actor=reviewer, task=task, reason="本县仍保留该事项")
    with pytest.raises(Conflict) as exc:
        adoption.adoption_decline(actor=reviewer, task=task, reason="再次")
    assert exc.value.code == "catalog.adoption_decided"
    with pytest.raises(Conflict) as exc:
        adoption.adoption_adopt(actor=reviewer, tasks=[task])
    assert exc.value.code == "catalog.adoption_decided"
    adopted = tasks(lists)["D1-01"]
    adoption.adoption_adopt(actor=reviewer, tasks=[adopted])
    with pytest.raises(Conflict) as exc:
        adoption.adoption_adopt(actor=reviewer, tasks=[adopted])
    assert exc.value.code == "catalog.adoption_decided"


@pytest.mark.parametrize("user", ["province", "city", "bianban_b", "operator", "admin", "handler"])
def test_only_the_countys_bianban_decides(lists, world, v2, user):
    actor = as_(world, user)
    task = tasks(lists)["D1-01"]
    with pytest.raises(PermissionDenied) as exc:
        adoption.adoption_adopt(actor=actor, tasks=[task])
    assert exc.value.code == "catalog.not_a_reviewer"
    with pytest.raises(PermissionDenied):
        adoption.adoption_decline(actor=actor, task=task, reason="不适用")
    assert not access.can(actor, "decide", task)
    assert tasks(lists)["D1-01"].status == AdoptionStatus.OPEN


def test_who_sees_the_tasks(lists, world, v2):
    task = tasks(lists)["D1-01"]
    for user in ("bianban", "province", "city", "operator", "assessor", "admin"):
        assert access.can(as_(world, user), "view", task), user
    for user in ("bianban_b", "operator_b", "handler", "reporter", "citizen"):
        assert not access.can(as_(world, user), "view", task), user


def test_a_city_user_cannot_change_a_countys_list(lists, world, upper):
    city = as_(world, "city")
    with pytest.raises(PermissionDenied):
        services.version_create_draft(
            catalogue=lists.catalogue, specs=GUIDANCE_SPECS, title="x", actor=city
        )
    with pytest.raises(PermissionDenied) as exc:
        services.change_request_file(
            actor=as_(world, "city_handler"),
            organisation=upper["city_dept"],
            version=lists.version,
            kind=ChangeKind.REMOVE,
            item_code="QH-01",
            reason="市级要求",
        )
    assert exc.value.code == "catalog.other_county"
    assert not access.can(city, "manage", lists.catalogue)
    assert not access.can(city, "manage", lists.version)


def test_only_the_provinces_bianban_keeps_the_guidance_catalogue(lists, world, upper):
    assert access.can(as_(world, "province"), "manage", lists.guidance_catalogue)
    for user in ("city", "bianban"):
        assert not access.can(as_(world, user), "manage", lists.guidance_catalogue)
        with pytest.raises(PermissionDenied):
            services.version_create_draft(
                catalogue=lists.guidance_catalogue,
                specs=GUIDANCE_SPECS,
                title="x",
                actor=as_(world, user),
            )


# ---- progress ------------------------------------------------------------------------------


def test_adoption_status_per_county(lists, world, v2):
    reviewer = as_(world, "bianban")
    found = tasks(lists)
    adoption.adoption_adopt(actor=reviewer, tasks=[found["D1-01"], found["D2-09"]])
    adoption.adoption_decline(actor=reviewer, task=found["D3-01"], reason="本县无此情形")
    status = selectors.guidance_adoption_status(county=world.county)
    assert (status.open, status.adopted, status.declined, status.total) == (2, 2, 1, 5)
    assert status.percent_decided == 60
    assert status.guidance == v2
    assert status.based_on == v2
    assert not status.up_to_date
    assert selectors.guidance_adoption_status(county=world.other_county) is None
    rows = selectors.guidance_adoption_statuses(within=f.province())
    assert [r.county for r in rows] == [world.county]
    adoption.adoption_decline(actor=reviewer, task=found["D1-04"], reason="已拆分，另行调整")
    adoption.adoption_adopt(actor=reviewer, tasks=[found["D7-04"]])
    status = selectors.guidance_adoption_status(county=world.county)
    assert (status.open, status.percent_decided, status.up_to_date) == (0, 100, True)


# ---- pages -----------------------------------------------------------------------------------


def page(client, lists, **kw):
    return client.get(f"/catalog/adoption/{lists.catalogue.pk}/", HTTP_ACCEPT_LANGUAGE="en", **kw)


def test_the_bianban_page_shows_the_changes_and_what_adopting_does(lists, world, v2):
    client = world.login(Client(), "bianban")
    # The workbench's section, and the overview leads a county's 编办 to its own page.
    review = client.get("/catalog/review/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/catalog/adoption/{lists.catalogue.pk}/" in review
    r = client.get("/catalog/adoption/")
    assert r.status_code == 302
    assert r.url == f"/catalog/adoption/{lists.catalogue.pk}/"
    r = page(client, lists)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="n-open">5<' in html
    assert html.count('data-testid="task"') == 5
    assert html.count('data-testid="decline-form"') == 5
    # Four can be adopted (D7-04 adopts without a new version); D1-04 was split.
    assert html.count('data-testid="adopt"') == 4
    assert "The list split item D1-04 into D1-04-1、D1-04-2" in html
    assert "Adopting adds the item to the list." in html


def test_adopting_and_declining_through_the_page(lists, world, v2):
    client = world.login(Client(), "bianban")
    found = tasks(lists)
    url = f"/catalog/adoption/{lists.catalogue.pk}/adopt/"
    r = client.post(url, {"task": [found["D1-01"].pk, found["D2-09"].pk], "note": "按新版执行"})
    assert r.status_code == 302
    result = selectors.version_in_force(catalogue=lists.catalogue)
    assert result != lists.version
    assert {t.status for c, t in tasks(lists).items() if c in ("D1-01", "D2-09")} == {
        AdoptionStatus.ADOPTED
    }
    decline = f"/catalog/adoption/tasks/{found['D3-01'].pk}/decline/"
    r = client.post(decline, {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    assert 'data-testid="error-reason"' in r.content.decode()
    assert "Say why the list does not take this change over." in r.content.decode()
    r = client.post(decline, {"reason": "本县无此情形"})
    assert r.status_code == 302
    r = client.post(decline, {"reason": "再次"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 409
    r = client.post(url, {"task": [found["D1-04"].pk]}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    assert 'data-testid="adoption-error"' in r.content.decode()
    html = page(client, lists).content.decode()
    assert 'data-testid="n-adopted">2<' in html
    assert 'data-testid="n-declined">1<' in html
    assert html.count('data-testid="history-row"') == 3
    assert "本县无此情形" in html


def test_province_and_city_users_follow_but_cannot_decide(lists, world, v2):
    task = tasks(lists)["D1-01"]
    for user in ("province", "city"):
        client = world.login(Client(), user)
        r = page(client, lists)
        assert r.status_code == 200
        html = r.content.decode()
        assert 'data-testid="read-only"' in html
        assert 'data-testid="decline-form"' not in html
        adopt = client.post(f"/catalog/adoption/{lists.catalogue.pk}/adopt/", {"task": [task.pk]})
        assert adopt.status_code == 403
        decline = client.post(f"/catalog/adoption/tasks/{task.pk}/decline/", {"reason": "x"})
        assert decline.status_code == 403
    # Nor may the city touch the county's list through the keeper's pages.
    city = world.login(Client(), "city")
    assert city.get(f"/catalog/{lists.catalogue.pk}/import/").status_code == 403
    assert city.post(f"/catalog/versions/{lists.version.pk}/discard/").status_code == 403
    # The province's overview: one row per county list in its remit, linked from the
    # guidance catalogue's versions.
    client = world.login(Client(), "province")
    versions = client.get(f"/catalog/{lists.guidance_catalogue.pk}/versions/").content.decode()
    assert 'href="/catalog/adoption/" data-testid="adoption-link"' in versions
    assert 'data-testid="import-link"' in versions  # the province keeps the guidance
    other = services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=world.other_county, name="柳河县属地管理事项清单"
    )
    r = client.get("/catalog/adoption/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'data-county="{world.county.code}" data-open="5"' in html
    assert f'href="/catalog/adoption/{other.pk}/"' in html
    assert tasks(lists)["D1-01"].status == AdoptionStatus.OPEN


def test_other_counties_and_other_roles_are_refused(lists, world, v2):
    task = tasks(lists)["D1-01"]
    for user in ("bianban_b", "operator_b"):
        client = world.login(Client(), user)
        assert page(client, lists).status_code == 404
        r = client.post(f"/catalog/adoption/{lists.catalogue.pk}/adopt/", {"task": [task.pk]})
        assert r.status_code == 404
        r = client.post(f"/catalog/adoption/tasks/{task.pk}/decline/", {"reason": "x"})
        assert r.status_code == 404
    # The county's platform follows read-only; a department has no such page.
    operator = world.login(Client(), "operator")
    assert page(operator, lists).status_code == 200
    r = operator.post(f"/catalog/adoption/tasks/{task.pk}/decline/", {"reason": "x"})
    assert r.status_code == 403
    assert world.login(Client(), "handler").get("/catalog/adoption/").status_code == 403
    assert Client().get("/catalog/adoption/").status_code == 302  # to the login page
    assert tasks(lists)["D1-01"].status == AdoptionStatus.OPEN


# ---- API -----------------------------------------------------------------------------------


def post(client, path, body):
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json")


def test_api_lists_and_decides_tasks(lists, world, v2):
    client = world.login(Client(), "bianban")
    r = client.get(f"{API}/adoption-tasks", {"county": world.county.code, "status": "open"})
    assert r.status_code == 200, r.json()
    listed = {t["item_code"]: t for t in r.json()["items"]}
    assert set(listed) == {"D1-01", "D1-04", "D2-09", "D3-01", "D7-04"}
    d101 = listed["D1-01"]
    assert d101["kind"] == "modify"
    assert d101["guidance_new_id"] == v2.pk
    assert d101["county_code"] == world.county.code
    assert {c["field"] for c in d101["changes"]} == {"complete_limit", "legal_basis"}

    r = post(client, f"/adoption-tasks/{d101['id']}/decision", {"adopt": True})
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "adopted"
    assert r.json()["result_version_id"] == selectors.version_in_force(catalogue=lists.catalogue).pk
    assert r.json()["change_request_id"] is not None
    again = post(client, f"/adoption-tasks/{d101['id']}/decision", {"adopt": False, "reason": "x"})
    assert again.status_code == 409
    assert again.json()["code"] == "catalog.adoption_decided"

    d301 = listed["D3-01"]["id"]
    r = post(client, f"/adoption-tasks/{d301}/decision", {"adopt": False})
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.adoption_reason_required"
    r = post(client, f"/adoption-tasks/{d301}/decision", {"adopt": False, "reason": "本县无此情形"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["reason"]) == ("declined", "本县无此情形")
    assert r.json()["decided_by_id"] == world.users["bianban"].pk

    r = post(client, f"/adoption-tasks/{listed['D1-04']['id']}/decision", {"adopt": True})
    assert r.status_code == 400
    assert r.json()["code"] == "catalog.adoption_not_applicable"

    r = post(
        client,
        "/adoption-tasks/adopt",
        {"task_ids": [listed["D2-09"]["id"], listed["D7-04"]["id"]], "note": "一并采纳"},
    )
    assert r.status_code == 200, r.json()
    assert {t["status"] for t in r.json()["tasks"]} == {"adopted"}

    r = client.get(f"{API}/adoption-status")
    assert r.json() == [
        {
            "catalogue_id": lists.catalogue.pk,
            "county_code": world.county.code,
            "county_name": world.county.name,
            "open": 1,
            "adopted": 3,
            "declined": 1,
            "total": 5,
            "percent_decided": 80,
            "up_to_date": False,
            "guidance_version_id": v2.pk,
            "based_on_id": v2.pk,
        }
    ]


def test_api_refusals_by_who(lists, world, v2):
    task = tasks(lists)["D1-01"]
    for user in ("province", "city", "operator"):
        client = world.login(Client(), user)
        assert client.get(f"{API}/adoption-tasks/{task.pk}").status_code == 200
        r = post(client, f"/adoption-tasks/{task.pk}/decision", {"adopt": True})
        assert r.status_code == 403, user
        assert r.json()["code"] == "catalog.not_a_reviewer"
    client = world.login(Client(), "province")
    status = client.get(f"{API}/adoption-status").json()
    assert [s["county_code"] for s in status] == [world.county.code]
    other = world.login(Client(), "bianban_b")
    assert other.get(f"{API}/adoption-tasks").json()["count"] == 0
    r = post(other, f"/adoption-tasks/{task.pk}/decision", {"adopt": True})
    assert r.status_code == 404
    r = post(other, "/adoption-tasks/adopt", {"task_ids": [task.pk]})
    assert r.status_code == 404
    assert Client().get(f"{API}/adoption-tasks").status_code == 401
    assert tasks(lists)["D1-01"].status == AdoptionStatus.OPEN


def test_openapi_schema_lists_the_adoption_paths(world, client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/adoption-tasks",
        "/adoption-tasks/{task_id}",
        "/adoption-tasks/{task_id}/decision",
        "/adoption-tasks/adopt",
        "/adoption-status",
    ):
        assert f"{API}{path}" in paths, path
