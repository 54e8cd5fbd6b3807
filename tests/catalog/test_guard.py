"""The guard: who may hand a task on which item to whom (docs/catalog.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from xianghu.catalog import selectors, services
from xianghu.catalog.guard import admission_for, handoff_check
from xianghu.core.errors import PermissionDenied
from xianghu.regions.selectors import actor_for_user


def item(lists, code):
    return selectors.item_get(version=lists.version, code=code)


def test_department_may_not_push_its_primary_duty_down(lists, world):
    d = handoff_check(
        giver=world.orgs["dept"], receiver=world.orgs["t1"], item=item(lists, "D1-01")
    )
    assert d.allowed is False
    assert d.code == "primary_duty_push_down"
    assert "工矿商贸企业安全生产监管" in d.message
    with pytest.raises(PermissionDenied) as exc:
        d.raise_if_refused()
    assert exc.value.code == "guard.primary_duty_push_down"


def test_department_may_ask_for_the_townships_cooperating_duties(lists, world):
    d = handoff_check(
        giver=world.orgs["dept"],
        receiver=world.orgs["t1"],
        item=item(lists, "D1-01"),
        duty="cooperating",
    )
    assert d.allowed is True
    assert d.code == "cooperating"
    assert "日常巡查" in d.message


def test_assisting_department_cannot_hand_down_a_county_duty(lists, world):
    d = handoff_check(
        giver=world.orgs["police"], receiver=world.orgs["t1"], item=item(lists, "D1-04-2")
    )
    assert (d.allowed, d.code) == (False, "primary_duty_push_down")


def test_stationed_agency_counts_as_its_department(lists, world):
    d = handoff_check(
        giver=world.orgs["agency"], receiver=world.orgs["t1"], item=item(lists, "QH-01")
    )
    assert (d.allowed, d.code) == (False, "primary_duty_push_down")


def test_department_not_named_on_the_item_is_refused(lists, world):
    d = handoff_check(
        giver=world.orgs["police"], receiver=world.orgs["t1"], item=item(lists, "D1-01")
    )
    assert (d.allowed, d.code) == (False, "not_on_item")


def test_township_primary_item_may_go_to_the_township(lists, world):
    d = handoff_check(
        giver=world.orgs["dept"], receiver=world.orgs["t1"], item=item(lists, "D2-09")
    )
    assert (d.allowed, d.code) == (True, "township_primary")


def test_out_of_list_task_needs_an_approved_admission(lists, world):
    dept, t1, t2 = world.orgs["dept"], world.orgs["t1"], world.orgs["t2"]
    refused = handoff_check(giver=dept, receiver=t1)
    assert (refused.allowed, refused.code) == (False, "out_of_list_without_admission")
    handler = actor_for_user(user=world.users["handler"])
    admission = services.admission_file(
        actor=handler,
        department=dept,
        title="安全生产大排查信息采集",
        content="协助采集辖区企业基础信息",
        basis="县安委会2026年第3号文件",
        resources="每乡镇工作经费2万元",
        townships=[t1],
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    assert handoff_check(giver=dept, receiver=t1).allowed is False  # pending
    services.admission_decide(
        actor=actor_for_user(user=world.users["bianban"]),
        admission=admission,
        approve=True,
        opinion="同意，经费随事转",
    )
    allowed = handoff_check(giver=dept, receiver=t1)
    assert (allowed.allowed, allowed.code, allowed.admission) == (True, "admitted", admission)
    # Only for the townships it names, and only within its period.
    assert handoff_check(giver=dept, receiver=t2).allowed is False
    assert admission_for(department=dept, township=t1, on=date.today() + timedelta(days=31)) is None
    # A village of an admitted township is covered through its township.
    assert handoff_check(giver=dept, receiver=world.orgs["v1"]).allowed is True


def test_township_calls_are_always_allowed_but_flagged(lists, world):
    t1, platform = world.orgs["t1"], world.orgs["platform"]
    assert handoff_check(giver=t1, receiver=platform, item=item(lists, "D1-01")).code == "on_list"
    assist = handoff_check(giver=t1, receiver=platform, item=item(lists, "D2-09"))
    assert (assist.allowed, assist.code) == (True, "assist_only")
    assert handoff_check(giver=t1, receiver=platform).code == "out_of_list"


def test_platform_dispatches_only_to_departments_the_list_names(lists, world):
    platform = world.orgs["platform"]
    d1 = item(lists, "D1-04-2")
    assert handoff_check(giver=platform, receiver=world.orgs["dept"], item=d1).code == "lead"
    assert handoff_check(giver=platform, receiver=world.orgs["police"], item=d1).code == "assist"
    assert handoff_check(giver=platform, receiver=world.orgs["agency"], item=d1).code == "assist"
    refused = handoff_check(
        giver=platform, receiver=world.orgs["police"], item=item(lists, "D1-01")
    )
    assert (refused.allowed, refused.code) == (False, "not_on_item")
    assert handoff_check(giver=platform, receiver=world.orgs["police"]).allowed is True


def test_other_directions_are_not_handoffs(lists, world):
    d = handoff_check(giver=world.orgs["t1"], receiver=world.orgs["t2"])
    assert (d.allowed, d.code) == (False, "not_a_handoff")
