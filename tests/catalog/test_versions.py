"""Versions: derivation, publication, the version in force, diffs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.catalog.conftest import GUIDANCE_SPECS, spec
from xianghu.catalog import selectors, services
from xianghu.catalog.models import ItemOrigin, ListVersion, VersionStatus
from xianghu.core.errors import Conflict, InvalidInput


def test_derived_list_inherits_splits_removes_and_adds(lists, world):
    report = selectors.derivation_of(version=lists.version)
    assert [i.code for i in report.inherited] == ["D1-01", "D2-09"]
    assert [i.code for i in report.split] == ["D1-04-1", "D1-04-2"]
    assert {i.parent.code for i in report.split} == {"D1-04"}
    assert [i.code for i in report.local] == ["QH-01"]
    assert [(r.guidance_item.code, r.reason) for r in report.removed] == [
        ("D7-04", "本县无田野文物，纳入其他事项管理")
    ]
    item = selectors.item_get(version=lists.version, code="D1-01")
    assert [p.organisation for p in item.parties.all()] == [world.orgs["dept"]]
    assert [s.name for s in item.steps.all()] == ["乡镇巡查发现并报告", "主体责任部门依法处置办结"]


def test_derivation_refuses_unknown_departments(lists, world):
    with pytest.raises(InvalidInput) as exc:
        services.version_derive(
            catalogue=lists.catalogue,
            guidance=lists.guidance,
            title="x",
            local=[spec("QH-02", "某事项", primary=("不存在局",))],
        )
    assert exc.value.code == "catalog.unknown_department"
    assert "不存在局" in str(exc.value.message)


def test_derivation_needs_a_reason_to_remove(lists):
    with pytest.raises(InvalidInput) as exc:
        services.version_derive(
            catalogue=lists.catalogue, guidance=lists.guidance, title="x", removals={"D1-01": " "}
        )
    assert exc.value.code == "catalog.reason_required"


def test_exactly_one_version_in_force_over_time(lists):
    v1 = lists.version
    t_publish = timezone.now() + timedelta(seconds=1)
    v2 = services.version_derive(catalogue=lists.catalogue, guidance=lists.guidance, title="v2")
    assert v2.number == 2
    assert v2.status == VersionStatus.DRAFT
    assert selectors.version_in_force(catalogue=lists.catalogue) == v1
    services.version_publish(version=v2, at=t_publish)
    v1.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED
    assert v1.valid_to == t_publish
    assert (
        selectors.version_in_force(
            catalogue=lists.catalogue, at=t_publish - timedelta(microseconds=1)
        )
        == v1
    )
    assert selectors.version_in_force(catalogue=lists.catalogue, at=t_publish) == v2
    assert (
        selectors.version_in_force(catalogue=lists.catalogue, at=v1.valid_from - timedelta(days=1))
        is None
    )
    assert ListVersion.objects.filter(catalogue=lists.catalogue, status="published").count() == 1


def test_published_versions_are_not_republished_or_discarded(lists):
    with pytest.raises(Conflict):
        services.version_publish(version=lists.version)
    with pytest.raises(Conflict):
        services.version_discard(version=lists.version)


def test_duplicate_codes_in_a_draft_are_refused(lists):
    with pytest.raises(InvalidInput) as exc:
        services.version_create_draft(
            catalogue=lists.guidance_catalogue,
            specs=[GUIDANCE_SPECS[0], GUIDANCE_SPECS[0]],
            title="x",
        )
    assert exc.value.code == "catalog.duplicate_code"


def test_diff_between_versions(lists, world):
    v2 = services.version_derive(
        catalogue=lists.catalogue,
        guidance=lists.guidance,
        title="v2",
        removals={"D7-04": "同上", "D1-04": "并入 D1-01"},
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
    diff = selectors.version_diff(old=lists.version, new=v2)
    assert [i.code for i in diff.removed] == ["D1-04-1", "D1-04-2"]
    assert diff.added == []
    assert [(c.code, [(f.field, f.old, f.new) for f in c.changes]) for c in diff.modified] == [
        ("QH-01", [("complete_limit", "5wd", "3wd")])
    ]


def test_items_are_found_by_keyword_domain_and_department(lists, world):
    v = lists.version
    assert [i.code for i in selectors.version_items(version=v, search="隐患")] == ["D1-01"]
    assert [i.code for i in selectors.version_items(version=v, domain_code="D2")] == ["D2-09"]
    police = [i.code for i in selectors.version_items(version=v, organisation=world.orgs["police"])]
    assert police == ["D1-04-2", "QH-01"]


def test_duties_of_departments_agencies_and_townships(lists, world):
    dept = selectors.duties_of(organisation=world.orgs["dept"])
    assert [i.code for i in dept.primary] == ["D1-01", "D1-04-1", "D1-04-2"]
    assert [i.code for i in dept.cooperating] == ["D2-09"]
    agency = selectors.duties_of(organisation=world.orgs["agency"])  # a 派出所 of 公安局
    assert [i.code for i in agency.primary] == ["QH-01"]
    assert [i.code for i in agency.cooperating] == ["D1-04-2"]
    township = selectors.duties_of(organisation=world.orgs["t1"])
    assert [i.code for i in township.primary] == ["D2-09"]
    assert len(township.cooperating) == 4


def test_origin_of_inherited_items(lists):
    item = selectors.item_get(version=lists.version, code="D2-09")
    assert item.origin == ItemOrigin.INHERITED
    assert item.parent.version == lists.guidance
