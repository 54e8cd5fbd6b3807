"""Procedures (办理流程) across versions: carried over by an import that has none, kept
in step with their item's limits, proposed by a change request, shown by a diff."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import openpyxl
import pytest
from django.utils import translation

from tests.catalog.conftest import STEPS
from tests.catalog.test_io import csv_file, csv_row
from xianghu.catalog import selectors, services
from xianghu.catalog.io import PROCEDURE_SHEET, default_steps, export_version_xlsx, read_upload
from xianghu.catalog.models import ChangeKind, ListVersion
from xianghu.catalog.specs import PartySpec, StepSpec
from xianghu.core.errors import InvalidInput
from xianghu.regions.selectors import actor_for_user


def as_(world: Any, key: str) -> Any:
    return actor_for_user(user=world.users[key])


def steps(version: ListVersion, code: str) -> tuple[StepSpec, ...]:
    item = selectors.item_get(version=version, code=code)
    assert item is not None
    return services.steps_of(item)


def approve(world: Any, change: Any) -> ListVersion:
    decided = services.change_request_decide(
        actor=as_(world, "bianban"), request=change, approve=True, opinion="同意"
    )
    return decided.result_version


def modify(world: Any, version: ListVersion, code: str, proposal: dict[str, Any]) -> Any:
    return services.change_request_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=version,
        kind=ChangeKind.MODIFY,
        item_code=code,
        proposal=proposal,
        reason="按新规调整",
    )


# ---- steps follow their item's limits ----------------------------------------------------

COUNTY_STEPS = (
    StepSpec("乡镇巡查发现并报告", "township", "", "乡镇呼叫"),
    StepSpec("平台受理并派单", "platform", "4h", ""),
    StepSpec("主体责任部门签收响应", "primary", "24h", ""),
    StepSpec("主体责任部门依法处置办结", "primary", "3wd", ""),
    StepSpec("协办部门配合", "assisting", "24h", ""),
    StepSpec("乡镇评价反馈", "township", "3wd", ""),
)


def test_a_county_items_department_steps_follow_and_the_others_keep_their_own() -> None:
    out = services.steps_following_limits(
        COUNTY_STEPS, level="county", old=("24h", "3wd"), new=("2h", "5wd")
    )
    assert [s.time_limit for s in out] == ["", "4h", "2h", "5wd", "2h", "3wd"]
    assert [s.name for s in out] == [s.name for s in COUNTY_STEPS]
    unchanged = services.steps_following_limits(
        COUNTY_STEPS, level="county", old=("24h", "3wd"), new=("24h", "3wd")
    )
    assert unchanged == COUNTY_STEPS


def test_a_township_items_township_completes_and_the_departments_respond() -> None:
    township_steps = (
        StepSpec("乡镇巡查发现并处置", "township", "1wd"),
        StepSpec("主体（乡镇）办结", "primary", "1wd"),
        StepSpec("协办部门配合处置", "assisting", "1wd"),
        StepSpec("平台督办", "platform", "1wd"),
    )
    out = services.steps_following_limits(
        township_steps, level="township", old=("1wd", "1wd"), new=("30m", "2wd")
    )
    assert [s.time_limit for s in out] == ["2wd", "2wd", "30m", "1wd"]


def test_equal_old_limits_the_first_department_step_is_the_response() -> None:
    equal = (
        StepSpec("签收", "primary", "24h"),
        StepSpec("办结", "primary", "24h"),
        StepSpec("复核", "primary", "24h"),
    )
    out = services.steps_following_limits(
        equal, level="county", old=("24h", "24h"), new=("2h", "3wd")
    )
    assert [s.time_limit for s in out] == ["2h", "3wd", "3wd"]


def test_with_previous_steps_only_untouched_steps_follow() -> None:
    edited = (
        COUNTY_STEPS[2],  # untouched: follows
        StepSpec("主体责任部门依法处置办结", "primary", "3wd", "新的分界点"),  # edited: kept
    )
    out = services.steps_following_limits(
        edited, level="county", old=("24h", "3wd"), new=("2h", "5wd"), previous=COUNTY_STEPS
    )
    assert [s.time_limit for s in out] == ["2h", "3wd"]


def test_a_modify_moves_the_steps_that_ran_on_the_old_limit(lists: Any, world: Any) -> None:
    v2 = approve(world, modify(world, lists.version, "D1-01", {"complete_limit": "3个工作日"}))
    assert steps(v2, "D1-01") == (STEPS[0], replace(STEPS[1], time_limit="3wd"))
    # A township item: the primary (township) step follows its completion limit.
    v3 = approve(
        world, modify(world, v2, "D2-09", {"complete_limit": "5wd", "respond_limit": "2h"})
    )
    assert steps(v3, "D2-09") == STEPS  # 5wd was already the step's limit
    v4 = approve(world, modify(world, v3, "D2-09", {"complete_limit": "10wd"}))
    assert [s.time_limit for s in steps(v4, "D2-09")] == ["", "10wd"]
    # Items the change does not touch keep their steps.
    assert steps(v4, "D1-04-1") == STEPS


# ---- change requests may propose a procedure ---------------------------------------------

PROPOSED = [
    {"name": "乡镇网格员发现上报", "party": "township", "handoff": "乡镇呼叫县级平台"},
    {"name": "平台派单", "party": "platform", "time_limit": "2小时"},
    {"name": "应急管理局到场处置", "party": "primary", "time_limit": "3wd", "handoff": "办结反馈"},
]


def test_a_modification_may_replace_the_procedure(lists: Any, world: Any) -> None:
    change = modify(world, lists.version, "D1-01", {"steps": PROPOSED, "complete_limit": "10wd"})
    v2 = approve(world, change)
    # The proposed steps stand as proposed: they do not follow the new limit.
    assert steps(v2, "D1-01") == (
        StepSpec("乡镇网格员发现上报", "township", "", "乡镇呼叫县级平台"),
        StepSpec("平台派单", "platform", "2h", ""),
        StepSpec("应急管理局到场处置", "primary", "3wd", "办结反馈"),
    )
    diff = selectors.version_diff(old=lists.version, new=v2)
    (item,) = diff.modified
    assert [c.field for c in item.changes] == ["complete_limit", "steps"]
    assert [s["name"] for s in item.changes[1].new] == [p["name"] for p in PROPOSED]


def test_an_addition_may_bring_its_procedure(lists: Any, world: Any) -> None:
    add = services.change_request_file(
        actor=as_(world, "tleader"),
        organisation=world.orgs["t1"],
        version=lists.version,
        kind=ChangeKind.ADD,
        proposal={
            "code": "QH-05",
            "domain_code": "D1",
            "domain_name": "安全生产与应急管理",
            "name": "农家乐消防安全",
            "primary_level": "county",
            "primary_departments": ["应急管理局"],
            "primary_duties": "检查、执法",
            "respond_limit": "24h",
            "complete_limit": "5wd",
            "steps": PROPOSED[:2],
        },
        reason="新增本地事项",
    )
    v2 = approve(world, add)
    assert [s.name for s in steps(v2, "QH-05")] == ["乡镇网格员发现上报", "平台派单"]


def test_a_proposed_procedure_is_checked_step_by_step(lists: Any, world: Any) -> None:
    bad = [
        {"name": "", "party": "township"},
        {"name": "派单", "party": "county", "time_limit": "5天"},
        {"name": "处置", "party": "primary", "handoff": "衔" * 201, "extra": 1},
        "不是对象",
    ]
    with pytest.raises(InvalidInput) as exc, translation.override("en"):
        modify(world, lists.version, "D1-01", {"steps": bad})
    assert exc.value.code == "catalog.bad_proposal"
    messages = [p["message"] for p in exc.value.detail]
    assert {p["field"] for p in exc.value.detail} == {"steps"}
    assert len(messages) == 6
    assert [m.split(":")[0] for m in messages] == ["Step 1"] + ["Step 2"] * 2 + ["Step 3"] * 2 + [
        "Step 4"
    ]
    for empty in ([], "一步", [{"name": f"第{n}步", "party": "township"} for n in range(51)]):
        with pytest.raises(InvalidInput) as exc:
            modify(world, lists.version, "D1-01", {"steps": empty})
        assert [p["field"] for p in exc.value.detail] == ["steps"]


# ---- an import without a procedure carries the steps over -------------------------------


def import_file(world: Any, lists: Any, name: str, data: bytes) -> ListVersion:
    specs = read_upload(filename=name, data=data, county=world.county)
    return services.version_import(
        catalogue=lists.catalogue, specs=specs, title="导入", actor=as_(world, "bianban")
    )


def test_a_csv_import_keeps_each_items_steps(lists: Any, world: Any) -> None:
    # In force: v2, where D2-09 has a procedure of its own (so it differs from guidance).
    v2 = approve(world, modify(world, lists.version, "D2-09", {"steps": PROPOSED}))
    data = csv_file(
        csv_row("D1-01", complete_limit="3wd"),  # a changed limit
        csv_row(
            "D2-09",
            primary_level="township",
            primary_departments="",
            assisting_departments="应急管理局",
        ),
        csv_row("D7-04", primary_departments="公安局"),  # back from the guidance version
        csv_row("QH-09", item_name="新增事项"),  # new
    )
    draft = import_file(world, lists, "list.csv", data)
    assert draft.based_on == lists.guidance
    # The version in force's steps, the one bound to the changed limit following it.
    assert steps(draft, "D1-01") == (STEPS[0], replace(STEPS[1], time_limit="3wd"))
    assert steps(draft, "D2-09") == steps(v2, "D2-09")
    assert steps(draft, "D7-04") == STEPS  # the guidance item's steps
    new = selectors.item_get(version=draft, code="QH-09")
    assert steps(draft, "QH-09") == default_steps(spec=services.spec_of(new))
    # The draft's diff shows the procedure change that came with the limit.
    diff = selectors.version_diff(old=v2, new=draft)
    d1_01 = next(m for m in diff.modified if m.code == "D1-01")
    assert {"complete_limit", "steps"} <= {c.field for c in d1_01.changes}


def test_an_excel_round_trip_keeps_the_steps_and_the_clerks_edits(lists: Any, world: Any) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(export_version_xlsx(version=lists.version)))
    listing, procedure = workbook.worksheets[0], workbook[PROCEDURE_SHEET]
    headers = {c.value: c.column for c in listing[2]}
    for row in listing.iter_rows(min_row=3):
        code = row[headers["事项编码"] - 1].value
        if code in ("D1-01", "D1-04-1"):
            row[headers["办结时限"] - 1].value = "10个工作日"
    step_headers = {c.value: c.column for c in procedure[2]}
    for row in procedure.iter_rows(min_row=3):
        if (row[0].value, row[step_headers["序号"] - 1].value) == ("D1-01", 2):
            row[step_headers["分界点/衔接点"] - 1].value = "书面反馈乡镇"  # the clerk's edit
        if row[0].value == "QH-01":
            row[step_headers["环节"] - 1].value = row[step_headers["环节"] - 1].value + "（修订）"
    buffer = io.BytesIO()
    workbook.save(buffer)
    draft = import_file(world, lists, "list.xlsx", buffer.getvalue())
    # An edited step keeps what the clerk wrote, limit included.
    assert steps(draft, "D1-01")[1] == StepSpec(STEPS[1].name, "primary", "5wd", "书面反馈乡镇")
    # D1-04-1's steps are repeated unchanged, but none ran on its old limit (3wd).
    assert steps(draft, "D1-04-1") == STEPS
    assert [s.name for s in steps(draft, "QH-01")] == [f"{s.name}（修订）" for s in STEPS]
    diff = selectors.version_diff(old=lists.version, new=draft)
    assert {m.code: [c.field for c in m.changes] for m in diff.modified} == {
        "D1-01": ["complete_limit", "steps"],
        "D1-04-1": ["complete_limit"],
        "QH-01": ["steps"],
    }


def test_an_unchanged_round_trip_changes_nothing(lists: Any, world: Any) -> None:
    draft = import_file(world, lists, "list.xlsx", export_version_xlsx(version=lists.version))
    assert selectors.version_diff(old=lists.version, new=draft).is_empty


# ---- an edited file filed as change requests ---------------------------------------------


def edited_export(lists: Any) -> bytes:
    """The list in force as exported, edited by a department: D1-01 completes in 3
    working days, QH-01's first step gets a new hand-off point, a new item QH-07 with
    two steps."""
    workbook = openpyxl.load_workbook(io.BytesIO(export_version_xlsx(version=lists.version)))
    listing, procedure = workbook.worksheets[0], workbook[PROCEDURE_SHEET]
    headers = {c.value: c.column for c in listing[2]}
    template = None
    for row in listing.iter_rows(min_row=3):
        if row[headers["事项编码"] - 1].value == "D1-01":
            row[headers["办结时限"] - 1].value = "3个工作日"
            template = [c.value for c in row]
    assert template is not None
    new = dict(zip(headers, template, strict=True))
    new.update({"序号": 99, "事项名称": "农家乐消防安全", "事项编码": "QH-07", "关键词": "农家乐"})
    listing.append([new[h] for h in headers])
    for row in procedure.iter_rows(min_row=3):
        if (row[0].value, row[2].value) == ("QH-01", 1):
            row[6].value = "乡镇呼叫：移交县公安局"
    procedure.append(["QH-07", "", 1, "乡镇发现上报", "乡镇", "", "呼叫县级平台"])
    procedure.append(["QH-07", "", 2, "应急管理局处置", "主体责任单位", "5个工作日", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_edited_file_becomes_one_request_per_changed_row(lists: Any, world: Any) -> None:
    specs = read_upload(filename="l.xlsx", data=edited_export(lists), county=world.county)
    filed = services.change_requests_from_file(
        actor=as_(world, "handler"),
        organisation=world.orgs["dept"],
        version=lists.version,
        specs=specs,
        reason="按新规调整清单",
        legal_basis="《安全生产法》",
    )
    by_code = {c.item_code: c for c in filed}
    assert sorted(by_code) == ["D1-01", "QH-01", "QH-07"]
    assert by_code["D1-01"].kind == ChangeKind.MODIFY
    assert by_code["D1-01"].proposal == {"complete_limit": "3wd"}  # only what changed
    assert by_code["QH-01"].proposal == {
        "steps": [
            {**step, "handoff": "乡镇呼叫：移交县公安局" if n == 0 else step["handoff"]}
            for n, step in enumerate(
                {"name": s.name, "party": s.party, "time_limit": s.time_limit, "handoff": s.handoff}
                for s in STEPS
            )
        ]
    }
    add = by_code["QH-07"]
    assert (add.kind, add.proposal["name"], len(add.proposal["steps"])) == (
        ChangeKind.ADD,
        "农家乐消防安全",
        2,
    )
    assert all(c.reason == "按新规调整清单" for c in filed)
    # Each is decided on its own; approving them in turn builds on the version in force.
    for change in filed:
        latest = approve(world, change)
    assert [s.time_limit for s in steps(latest, "D1-01")] == ["", "3wd"]
    assert steps(latest, "QH-01")[0].handoff == "乡镇呼叫：移交县公安局"
    assert [s.name for s in steps(latest, "QH-07")] == ["乡镇发现上报", "应急管理局处置"]


def test_a_file_that_changes_nothing_or_would_be_refused_files_nothing(
    lists: Any, world: Any
) -> None:
    unchanged = read_upload(
        filename="l.xlsx", data=export_version_xlsx(version=lists.version), county=world.county
    )
    handler, dept = as_(world, "handler"), world.orgs["dept"]
    with pytest.raises(InvalidInput) as exc:
        services.change_requests_from_file(
            actor=handler, organisation=dept, version=lists.version, specs=unchanged, reason="r"
        )
    assert exc.value.code == "catalog.no_change"
    # Rows that would be refused (here: specs that bypassed the reader, with an unknown
    # department and an unreadable limit) stop them all, each problem by item code.
    specs = read_upload(filename="l.xlsx", data=edited_export(lists), county=world.county)
    bad = {
        "D1-01": {"primary": (PartySpec("火星局"),)},
        "QH-07": {"respond_limit": "5天"},
    }
    specs = [replace(s, **bad[s.code]) if s.code in bad else s for s in specs]
    with pytest.raises(InvalidInput) as exc:
        services.change_requests_from_file(
            actor=handler, organisation=dept, version=lists.version, specs=specs, reason="调整"
        )
    assert exc.value.code == "catalog.bad_proposal"
    assert [(p["item"], p["field"]) for p in exc.value.detail] == [
        ("D1-01", "primary_departments"),
        ("QH-07", "respond_limit"),
    ]
    assert not lists.catalogue.changes.exists()
    # A reason is needed, as for any change request.
    with pytest.raises(InvalidInput) as exc:
        services.change_requests_from_file(
            actor=handler, organisation=dept, version=lists.version, specs=unchanged, reason=" "
        )
    assert exc.value.code == "catalog.reason_required"
