"""Reading lists from CSV and .xlsx, validating them, and exporting a version to .xlsx."""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories as f
from xianghu.catalog.io import (
    CSV_HEADERS,
    PROCEDURE_SHEET,
    STEP_HEADERS,
    XLSX_HEADERS,
    ImportFailed,
    default_steps,
    export_version_xlsx,
    read_csv,
    read_upload,
    read_workbook,
    read_xlsx,
    validate_rows,
)
from xianghu.catalog.models import (
    Catalogue,
    Domain,
    Item,
    ItemParty,
    ListVersion,
    PartyRole,
    PrimaryLevel,
    ProcedureStep,
    ScopeLevel,
    StepParty,
)
from xianghu.catalog.specs import TOWNSHIP_PARTY, ItemSpec, PartySpec, StepSpec
from xianghu.core.errors import InvalidInput
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

SHIPPED_CSV = (
    Path(__file__).resolve().parents[2] / "xianghu" / "catalog" / "data" / "default-catalog.csv"
)
OFFICIAL = list(XLSX_HEADERS[:11])  # the official table without the round-trip columns
CSV_HEADER_LINE = ",".join(CSV_HEADERS)


# --- helpers ----------------------------------------------------------------------------


def xlsx(
    rows: list[list[Any]],
    merge: str | None = None,
    *,
    steps: list[list[Any]] | None = None,
    steps_sheet: str = PROCEDURE_SHEET,
) -> bytes:
    """A workbook with `rows` on its first sheet and, with `steps`, a procedure sheet."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    if steps is not None:
        procedure = workbook.create_sheet(steps_sheet)
        for row in steps:
            procedure.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def official_row(n: int, **cells: Any) -> list[Any]:
    """A complete, valid row of the official table; `cells` overrides by header."""
    values: dict[str, Any] = {
        "序号": n,
        "领域": "安全生产",
        "事项名称": f"事项{n}",
        "主体责任单位": "应急管理局",
        "主体责任": "执法检查",
        "配合责任单位": TOWNSHIP_PARTY,
        "配合责任": "巡查报告",
        "协办单位": "",
        "法律依据": "",
        "响应时限": "24小时",
        "办结时限": "5个工作日",
    }
    values.update(cells)
    return [values[h] for h in OFFICIAL]


def csv_row(code: str, **cells: str) -> str:
    values = {
        "code": code,
        "domain_code": "D1",
        "domain_name": "安全生产",
        "item_name": f"事项{code}",
        "item_name_en": "",
        "primary_level": "county",
        "primary_departments": "应急管理局",
        "assisting_departments": "",
        "primary_duties": "执法检查",
        "cooperating_duties": "巡查报告",
        "respond_limit": "24h",
        "complete_limit": "5wd",
        "callable": "true",
        "source": "P",
        "legal_basis": "",
        "keywords": "",
    }
    values.update(cells)
    return ",".join(values[h] for h in CSV_HEADERS)


def csv_file(*rows: str) -> bytes:
    return "\n".join([CSV_HEADER_LINE, *rows]).encode()


def failure(filename: str, data: bytes, county: Region | None = None) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        read_upload(filename=filename, data=data, county=county)
    exc = info.value
    assert exc.code == "catalog.import_failed"
    assert isinstance(exc, InvalidInput)
    assert len(exc.detail) == min(len(exc.problems), 500) + (len(exc.problems) > 500)
    assert str(len(exc.problems)) in str(exc.message)
    return exc


def found(exc: ImportFailed) -> set[tuple[int | None, str | None, str]]:
    return {(p["row"], p["column"], p["code"]) for p in exc.detail}


def canonical(spec: ItemSpec) -> ItemSpec:
    return dataclasses.replace(spec, row=None)


def spec_of(item: Item) -> ItemSpec:
    parties = list(item.parties.order_by("order"))
    return ItemSpec(
        code=item.code,
        domain_code=item.domain.code,
        domain_name=item.domain.name,
        name=item.name,
        primary_level=item.primary_level,
        primary_duties=item.primary_duties,
        respond_limit=item.respond_limit,
        complete_limit=item.complete_limit,
        name_en=item.name_en,
        cooperating_duties=item.cooperating_duties,
        legal_basis=item.legal_basis,
        keywords=item.keywords,
        callable=item.callable,
        source=item.source,
        primary=tuple(
            PartySpec(p.name, p.organisation_id) for p in parties if p.role == PartyRole.PRIMARY
        ),
        assisting=tuple(
            PartySpec(p.name, p.organisation_id) for p in parties if p.role == PartyRole.ASSISTING
        ),
        steps=tuple(
            StepSpec(s.name, s.party, s.time_limit, s.handoff) for s in item.steps.order_by("order")
        ),
    )


# --- the shipped catalogue --------------------------------------------------------------


def test_shipped_csv_reads_to_51_items_in_7_domains() -> None:
    specs = read_upload(filename="default-catalog.csv", data=SHIPPED_CSV.read_bytes())
    assert len(specs) == 51
    assert len({s.domain_code for s in specs}) == 7
    assert len({s.code for s in specs}) == 51
    township = [s for s in specs if s.primary_level == PrimaryLevel.TOWNSHIP]
    assert township
    assert all(s.primary == () and s.assisting for s in township)
    county = [s for s in specs if s.primary_level == PrimaryLevel.COUNTY]
    assert all(s.primary for s in county)
    assert all(p.organisation_id is None for s in specs for p in (*s.primary, *s.assisting))
    assert all(s.steps == default_steps(spec=s) for s in specs)
    first = specs[0]
    assert (first.code, first.respond_limit, first.complete_limit, first.row) == (
        "D1-01",
        "24h",
        "5wd",
        2,
    )
    assert first.primary == (PartySpec("应急管理局"),)


def test_shipped_csv_with_a_bom_reads_the_same() -> None:
    data = SHIPPED_CSV.read_bytes()
    assert read_upload(filename="x.CSV", data=b"\xef\xbb\xbf" + data) == read_upload(
        filename="x.csv", data=data
    )


@pytest.mark.django_db
def test_every_department_of_the_shipped_csv_resolves_in_the_demo_county() -> None:
    from xianghu.demo.county import build_demo_county

    build_demo_county()
    county = Region.objects.get(code="371221")
    specs = read_upload(filename="c.csv", data=SHIPPED_CSV.read_bytes(), county=county)
    assert len(specs) == 51
    parties = [p for s in specs for p in (*s.primary, *s.assisting)]
    organisations = Organisation.objects.in_bulk([p.organisation_id for p in parties])
    for party in parties:
        organisation = organisations[party.organisation_id]
        assert organisation.county_id == county.pk
        assert organisation.kind == OrgKind.DEPARTMENT
        assert party.name in (organisation.short_name, organisation.name)


# --- the official table -----------------------------------------------------------------


def test_official_table_without_the_extra_columns_derives_them() -> None:
    rows = [
        ["清河县属地管理事项清单"],
        OFFICIAL,
        official_row(1, 协办单位="工业和信息化局；公安局"),
        official_row(2, 领域=None, 响应时限="30分钟", 办结时限="3个工作日"),  # merged 领域
        official_row(
            3,
            领域="生态环境",
            主体责任单位="乡镇人民政府",
            配合责任单位="生态环境局、公安局",
            协办单位="消防救援大队",
            响应时限="30m",
            办结时限="1wd",
        ),
    ]
    specs = read_upload(filename="清单.XLSX", data=xlsx(rows, merge="B3:B4"))
    assert [(s.code, s.domain_code, s.domain_name, s.primary_level) for s in specs] == [
        ("X-1", "D1", "安全生产", "county"),
        ("X-2", "D1", "安全生产", "county"),
        ("X-3", "D2", "生态环境", "township"),
    ]
    assert [(s.respond_limit, s.complete_limit) for s in specs] == [
        ("24h", "5wd"),
        ("30m", "3wd"),
        ("30m", "1wd"),
    ]
    assert specs[0].primary == (PartySpec("应急管理局"),)
    assert specs[0].assisting == (PartySpec("工业和信息化局"), PartySpec("公安局"))
    assert specs[2].primary == ()
    assert [p.name for p in specs[2].assisting] == ["生态环境局", "公安局", "消防救援大队"]
    assert all(s.callable for s in specs)
    assert [s.row for s in specs] == [3, 4, 5]
    assert specs[2].steps[2].party == StepParty.ASSISTING


def test_booleans_and_levels_are_read_in_several_spellings() -> None:
    header = [*OFFICIAL, "主体层级", "可呼叫"]
    values = [("是", True), ("否", False), ("true", True), ("FALSE", False), ("1", True)]
    values += [("0", False), ("Y", True), ("n", False), (True, True), (0, False)]
    rows = [header] + [
        [*official_row(i), "县级" if i % 2 else "county", text]
        for i, (text, _) in enumerate(values, 1)
    ]
    specs = read_upload(filename="b.xlsx", data=xlsx(rows))
    assert [s.callable for s in specs] == [v for _, v in values]
    assert {s.primary_level for s in specs} == {"county"}


# --- export and round trip --------------------------------------------------------------


def _version(world: Any) -> ListVersion:
    catalogue = Catalogue.objects.create(
        name="清河县属地管理事项清单", level=ScopeLevel.COUNTY, region=world.county
    )
    version = ListVersion.objects.create(catalogue=catalogue, number=3, title="第3版")
    safety = Domain.objects.create(version=version, code="D1", name="安全生产", order=2)
    ecology = Domain.objects.create(version=version, code="D2", name="生态环境", order=1)
    dept, police = world.orgs["dept"], world.orgs["police"]

    def item(
        domain: Domain,
        code: str,
        order: int,
        parties: list[tuple[str, Any]],
        steps: Sequence[tuple[int, tuple[str, str, str, str]]] = (),
        **kw: Any,
    ):
        defaults = {
            "name": f"事项{code}",
            "primary_level": PrimaryLevel.COUNTY,
            "primary_duties": "执法检查、行政处罚",
            "cooperating_duties": "巡查、报告",
            "respond_limit": "24h",
            "complete_limit": "5wd",
        }
        defaults.update(kw)
        obj = Item.objects.create(
            version=version, domain=domain, code=code, order=order, **defaults
        )
        for n, (role, org) in enumerate(parties):
            ItemParty.objects.create(
                item=obj, role=role, name=org.short_name, organisation=org, order=n
            )
        for order, (name, party, limit, handoff) in steps:
            ProcedureStep.objects.create(
                item=obj, order=order, name=name, party=party, time_limit=limit, handoff=handoff
            )
        return obj

    item(
        safety,
        "D1-01",
        1,
        [(PartyRole.PRIMARY, dept), (PartyRole.ASSISTING, police)],
        [
            (1, ("乡镇巡查发现并报告", "township", "", "乡镇呼叫：问题移交县级平台")),
            (2, ("平台受理并派单", "platform", "4h", "派单至主体责任部门")),
            (3, ("主体责任部门依法处置办结", "primary", "5wd", "办结反馈乡镇\n（书面）")),
            (4, ("=协办部门配合", "assisting", "24h", "")),
        ],
        name="工矿商贸企业安全生产监管",
        name_en="safety oversight",
        legal_basis="《安全生产法》第九条\n《山东省安全生产条例》",
        keywords="危化品,隐患",
        source="S",
    )
    item(
        safety,
        "D1-02",
        2,
        [(PartyRole.PRIMARY, police)],
        # Numbered with gaps: the sheet keeps the numbers, the import keeps the order.
        [
            (5, ("公安机关依法查处", "primary", "3wd", "")),
            (2, ("乡镇发现报告", "township", "", "")),
        ],
        name="=SUM(A1)",
        callable=False,
        respond_limit="30m",
        complete_limit="3wd",
    )
    item(
        ecology,
        "D2-01",
        1,
        [(PartyRole.ASSISTING, dept), (PartyRole.ASSISTING, police)],
        [
            (1, ("乡镇巡查发现并处置", "township", "1wd", "")),
            (2, ("协办部门配合处置", "assisting", "2h", "")),
        ],
        name="秸秆禁烧",
        primary_level=PrimaryLevel.TOWNSHIP,
        respond_limit="2h",
        complete_limit="1wd",
        source="A",
    )
    return version


def test_export_then_import_gives_the_same_items(world: Any) -> None:
    version = _version(world)
    data = export_version_xlsx(version=version)
    specs = read_upload(filename="x.xlsx", data=data, county=world.county)
    expected = [spec_of(i) for i in Item.objects.filter(version=version).select_related("domain")]
    assert {s.code: canonical(s) for s in specs} == {s.code: s for s in expected}
    # domain order, then item order
    assert [s.code for s in specs] == ["D2-01", "D1-01", "D1-02"]
    assert specs[1].primary == (PartySpec("应急管理局", world.orgs["dept"].pk),)


def test_export_layout(world: Any, django_assert_max_num_queries: Any) -> None:
    version = ListVersion.objects.get(pk=_version(world).pk)
    with django_assert_max_num_queries(4):
        data = export_version_xlsx(version=version)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames[1] == PROCEDURE_SHEET
    procedure = workbook[PROCEDURE_SHEET]
    assert [c.value for c in procedure[2]] == list(STEP_HEADERS)
    assert procedure.freeze_panes == "A3"
    cells = [[c.value for c in row] for row in procedure.iter_rows(min_row=3)]
    assert [["" if v is None else v for v in row] for row in cells] == [
        ["D2-01", "秸秆禁烧", 1, "乡镇巡查发现并处置", "乡镇", "1个工作日", ""],
        ["D2-01", "秸秆禁烧", 2, "协办部门配合处置", "协办单位", "2小时", ""],
        [
            "D1-01",
            "工矿商贸企业安全生产监管",
            1,
            "乡镇巡查发现并报告",
            "乡镇",
            "",
            "乡镇呼叫：问题移交县级平台",
        ],
        [
            "D1-01",
            "工矿商贸企业安全生产监管",
            2,
            "平台受理并派单",
            "县级平台",
            "4小时",
            "派单至主体责任部门",
        ],
        [
            "D1-01",
            "工矿商贸企业安全生产监管",
            3,
            "主体责任部门依法处置办结",
            "主体责任单位",
            "5个工作日",
            "办结反馈乡镇\n（书面）",
        ],
        ["D1-01", "工矿商贸企业安全生产监管", 4, "=协办部门配合", "协办单位", "24小时", ""],
        ["D1-02", "=SUM(A1)", 2, "乡镇发现报告", "乡镇", "", ""],
        ["D1-02", "=SUM(A1)", 5, "公安机关依法查处", "主体责任单位", "3个工作日", ""],
    ]
    assert procedure["D8"].data_type == "s"  # text, never a formula
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value.startswith("清河县属地管理事项清单")
    assert "3" in sheet["A1"].value
    assert [c.value for c in sheet[2]] == list(XLSX_HEADERS)
    assert sheet.freeze_panes == "A3"
    assert sheet.max_row == 5
    d1_01 = [c.value for c in sheet[4]]
    assert d1_01[:4] == [2, "安全生产", "工矿商贸企业安全生产监管", "应急管理局"]
    assert d1_01[5] == TOWNSHIP_PARTY
    assert d1_01[7] == "公安局"
    assert d1_01[9:15] == ["24小时", "5个工作日", "D1-01", "D1", "县级", "是"]
    township = [c.value for c in sheet[3]]
    assert township[3] == TOWNSHIP_PARTY
    assert township[5] == "应急管理局、公安局"
    assert township[9:11] == ["2小时", "1个工作日"]
    formula_like = sheet["C5"]
    assert (formula_like.value, formula_like.data_type) == ("=SUM(A1)", "s")
    assert sheet["E4"].alignment.wrap_text
    assert sheet.column_dimensions["C"].width >= 20


def test_export_strips_control_characters(world: Any) -> None:
    version = _version(world)
    Item.objects.filter(code="D1-01").update(legal_basis="第九条\x07\x1b条例", name="监管\x08")
    data = export_version_xlsx(version=version)
    specs = read_upload(filename="x.xlsx", data=data)
    first = next(s for s in specs if s.code == "D1-01")
    assert (first.name, first.legal_basis) == ("监管", "第九条条例")


def test_empty_version_exports_a_header_only_sheet(world: Any) -> None:
    catalogue = Catalogue.objects.create(
        name="空清单", level=ScopeLevel.COUNTY, region=world.county
    )
    version = ListVersion.objects.create(catalogue=catalogue, number=1, title="v1")
    sheet = openpyxl.load_workbook(io.BytesIO(export_version_xlsx(version=version))).active
    assert [c.value for c in sheet[2]] == list(XLSX_HEADERS)
    exc = failure("x.xlsx", export_version_xlsx(version=version))
    assert found(exc) == {(None, None, "catalog.empty_list")}


# --- broken files: every problem is reported --------------------------------------------


def test_missing_headers_csv() -> None:
    header = CSV_HEADER_LINE.replace("respond_limit", "respond").replace(",complete_limit", "")
    exc = failure("x.csv", f"{header}\nD1-01\n".encode())
    assert found(exc) == {
        (1, "respond_limit", "catalog.missing_header"),
        (1, "complete_limit", "catalog.missing_header"),
    }


def test_missing_headers_xlsx_below_a_title() -> None:
    header = [h for h in OFFICIAL if h not in ("主体责任", "办结时限", "序号")]
    exc = failure("x.xlsx", xlsx([["某县清单"], header, ["安全生产"]]))
    assert found(exc) == {
        (2, "序号", "catalog.missing_header"),
        (2, "主体责任", "catalog.missing_header"),
        (2, "办结时限", "catalog.missing_header"),
    }


def test_empty_required_cells() -> None:
    rows = [OFFICIAL, official_row(1, 事项名称=""), official_row(2, 主体责任=None), official_row(3)]
    exc = failure("x.xlsx", xlsx(rows))
    assert found(exc) == {(2, "事项名称", "catalog.required"), (3, "主体责任", "catalog.required")}


def test_empty_required_cells_csv() -> None:
    data = csv_file(
        csv_row("D1-01", primary_level="", respond_limit=""),
        csv_row("", domain_name=""),
        csv_row("D1-03", primary_departments=""),
    )
    exc = failure("x.csv", data)
    assert found(exc) == {
        (2, "primary_level", "catalog.required"),
        (2, "respond_limit", "catalog.required"),
        (3, "code", "catalog.required"),
        (3, "domain_name", "catalog.required"),
        (4, "primary_departments", "catalog.required"),
    }


def test_unknown_departments_for_a_county(world: Any) -> None:
    f.department(world.other_county, "水利局")  # another county's department is not ours
    data = csv_file(
        csv_row("D1-01", primary_departments="不存在局", assisting_departments="应急管理局;外星办"),
        csv_row("D1-02", primary_departments="水利局"),
        csv_row("D1-03", primary_departments="清河县应急管理局", assisting_departments="公安局"),
    )
    exc = failure("x.csv", data, county=world.county)
    assert found(exc) == {
        (2, "primary_departments", "catalog.unknown_department"),
        (2, "assisting_departments", "catalog.unknown_department"),
        (3, "primary_departments", "catalog.unknown_department"),
    }
    assert sum("外星办" in p["message"] for p in exc.detail) == 1


def test_departments_resolve_by_short_full_and_county_prefixed_name(world: Any) -> None:
    agency = world.orgs["agency"]
    data = csv_file(
        csv_row("D1-01", primary_departments="应急管理局", assisting_departments=agency.name),
        csv_row("D1-02", primary_departments="清河县公安局"),
        csv_row(
            "D1-03",
            primary_level="township",
            primary_departments="乡镇人民政府（街道办事处）",
            assisting_departments="公安局；应急管理局、乡镇政府",
        ),
    )
    specs = read_upload(filename="x.csv", data=data, county=world.county)
    dept, police = world.orgs["dept"].pk, world.orgs["police"].pk
    assert specs[0].primary == (PartySpec("应急管理局", dept),)
    assert specs[0].assisting == (PartySpec(agency.name, agency.pk),)
    assert specs[1].primary == (PartySpec("清河县公安局", police),)
    assert specs[2].primary == ()
    assert specs[2].assisting == (PartySpec("公安局", police), PartySpec("应急管理局", dept))


def test_a_stationed_agency_is_not_a_primary_party(world: Any) -> None:
    data = csv_file(csv_row("D1-01", primary_departments=world.orgs["agency"].name))
    exc = failure("x.csv", data, county=world.county)
    assert found(exc) == {(2, "primary_departments", "catalog.bad_party")}


def test_township_party_on_the_wrong_side() -> None:
    data = csv_file(
        csv_row("D1-01", primary_departments="应急管理局;乡镇人民政府"),
        csv_row("D1-02", primary_level="township", primary_departments="应急管理局"),
        csv_row("D1-03", assisting_departments="应急管理局"),
    )
    exc = failure("x.csv", data)
    assert found(exc) == {
        (2, "primary_departments", "catalog.bad_party"),
        (3, "primary_departments", "catalog.bad_party"),
        (4, "assisting_departments", "catalog.bad_party"),
    }


def test_duplicate_codes_report_both_rows() -> None:
    data = csv_file(csv_row("D1-01"), csv_row("D1-02"), csv_row("D1-01"))
    exc = failure("x.csv", data)
    assert found(exc) == {
        (2, "code", "catalog.duplicate_code"),
        (4, "code", "catalog.duplicate_code"),
    }


def test_duplicate_generated_codes_point_at_the_serial_number() -> None:
    exc = failure("x.xlsx", xlsx([OFFICIAL, official_row(1), official_row(1)]))
    assert found(exc) == {
        (2, "序号", "catalog.duplicate_code"),
        (3, "序号", "catalog.duplicate_code"),
    }


def test_ambiguous_limits_are_refused() -> None:
    rows = [OFFICIAL, official_row(1, 响应时限="5天"), official_row(2, 办结时限="3 weeks")]
    exc = failure("x.xlsx", xlsx(rows))
    assert found(exc) == {
        (2, "响应时限", "catalog.bad_limit"),
        (3, "办结时限", "catalog.bad_limit"),
    }
    assert "5天" in exc.detail[0]["message"]


def test_a_sheet_that_is_not_a_list() -> None:
    timetable = [
        ["高一(3)班课程表"],
        ["节次", "星期一", "星期二", "星期三"],
        [1, "语文", "数学", "英语"],
        [2, "物理", "化学", "体育"],
    ]
    exc = failure("课程表.xlsx", xlsx(timetable))
    assert found(exc) == {(None, None, "catalog.not_a_list")}


def test_a_text_that_is_not_a_list() -> None:
    exc = failure("x.csv", b"hello, world\nthis is, not a list\n")
    assert found(exc) == {(None, None, "catalog.not_a_list")}


def test_a_non_boolean_callable() -> None:
    header = [*OFFICIAL, "可呼叫"]
    rows = [header, [*official_row(1), "也许"], [*official_row(2), "是"], [*official_row(3), 2]]
    exc = failure("x.xlsx", xlsx(rows))
    assert found(exc) == {
        (2, "可呼叫", "catalog.bad_boolean"),
        (4, "可呼叫", "catalog.bad_boolean"),
    }


def test_a_bad_primary_level() -> None:
    exc = failure("x.csv", csv_file(csv_row("D1-01", primary_level="city")))
    assert found(exc) == {(2, "primary_level", "catalog.bad_level")}


def test_a_domain_code_used_for_two_domains() -> None:
    data = csv_file(csv_row("D1-01"), csv_row("D1-02", domain_name="市场监管"))
    exc = failure("x.csv", data)
    assert found(exc) == {(3, "domain_name", "catalog.domain_conflict")}


def test_cells_longer_than_the_database_allows() -> None:
    exc = failure("x.csv", csv_file(csv_row("D" * 40, source="SOURCE-TOO-LONG")))
    assert found(exc) == {(2, "code", "catalog.too_long"), (2, "source", "catalog.too_long")}


@override_settings(XH_CATALOG_MAX_UPLOAD_BYTES=100)
def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    exc = failure("x.csv", SHIPPED_CSV.read_bytes())
    assert found(exc) == {(None, None, "catalog.file_too_large")}
    exc = failure("x.xlsx", b"\xff" * 101)  # not even looked at
    assert found(exc) == {(None, None, "catalog.file_too_large")}


@pytest.mark.parametrize("name", ["清单.pdf", "清单.txt", "清单.xls", "清单", "csv"])
def test_other_file_types_are_refused(name: str) -> None:
    exc = failure(name, SHIPPED_CSV.read_bytes())
    assert found(exc) == {(None, None, "catalog.bad_file_type")}


def test_an_xlsx_name_on_bytes_that_are_not_a_workbook() -> None:
    exc = failure("x.xlsx", SHIPPED_CSV.read_bytes())
    assert found(exc) == {(None, None, "catalog.bad_file_type")}
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    exc = failure("x.xlsx", other_zip.getvalue())
    assert found(exc) == {(None, None, "catalog.bad_file_type")}


def test_a_broken_workbook_is_unreadable() -> None:
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really")
    exc = failure("x.xlsx", broken.getvalue())
    assert found(exc) == {(None, None, "catalog.unreadable_file")}


def test_a_csv_that_is_not_utf8() -> None:
    data = SHIPPED_CSV.read_text(encoding="utf-8").encode("gbk", errors="replace")
    exc = failure("x.csv", data)
    assert found(exc) == {(None, None, "catalog.bad_encoding")}
    assert "UTF-8" in exc.detail[0]["message"]


def test_a_file_with_many_kinds_of_problems_reports_them_all(world: Any) -> None:
    header = [*OFFICIAL, "事项编码", "可呼叫"]
    rows = [
        ["清河县属地管理事项清单"],
        header,
        [*official_row(1, 事项名称=""), "A-1", "是"],
        [*official_row(2, 响应时限="5天"), "A-2", "maybe"],
        [*official_row(3, 主体责任单位="外星办"), "A-1", "否"],
        [*official_row(4, 协办单位="公安局、火星局"), "A-4", ""],
        [*official_row(5), "A-5", ""],
    ]
    exc = failure("x.xlsx", xlsx(rows), county=world.county)
    assert found(exc) == {
        (3, "事项名称", "catalog.required"),
        (3, "事项编码", "catalog.duplicate_code"),
        (4, "响应时限", "catalog.bad_limit"),
        (4, "可呼叫", "catalog.bad_boolean"),
        (5, "主体责任单位", "catalog.unknown_department"),
        (5, "事项编码", "catalog.duplicate_code"),
        (6, "协办单位", "catalog.unknown_department"),
    }
    assert [p["row"] for p in exc.detail] == sorted(p["row"] for p in exc.detail)


def test_the_summary_counts_problems_beyond_those_listed() -> None:
    data = csv_file(*(csv_row(f"C{i}", respond_limit="5天") for i in range(600)))
    exc = failure("x.csv", data)
    assert len(exc.problems) == 600
    assert len(exc.detail) == 501
    assert exc.detail[-1]["code"] == "catalog.more_problems"


# --- the procedure sheet (办理流程) --------------------------------------------------------

LIST_WITH_CODES = [
    [*OFFICIAL, "事项编码"],
    [*official_row(1), "A-1"],
    [*official_row(2, 主体责任单位=TOWNSHIP_PARTY, 配合责任单位="应急管理局"), "A-2"],
    [*official_row(3), "A-3"],
]


def full_result(exc: ImportFailed) -> list[tuple[str | None, int | None, str | None, str]]:
    return [(p["sheet"], p["row"], p["column"], p["code"]) for p in exc.detail]


def test_the_procedure_sheet_gives_items_their_steps_in_order() -> None:
    steps = [
        ["办理流程"],
        ["事项编码", "环节名称", "序号", "责任主体", "办理时限", "分界点"],  # other spellings
        ["A-1", "主体责任部门依法处置", 3, "主体责任部门", "5个工作日", "办结反馈乡镇"],
        ["A-1", "乡镇巡查发现", 1, "乡镇(街道)", None, "乡镇呼叫"],
        [],
        ["A-1", "平台派单", 2, "平台", "2小时", ""],
        ["A-2", "乡镇处置", 1, "township", "1wd", ""],
    ]
    specs = read_upload(filename="x.xlsx", data=xlsx(LIST_WITH_CODES, steps=steps))
    first, second, third = specs
    assert first.steps == (
        StepSpec("乡镇巡查发现", "township", "", "乡镇呼叫"),
        StepSpec("平台派单", "platform", "2h", ""),
        StepSpec("主体责任部门依法处置", "primary", "5wd", "办结反馈乡镇"),
    )
    assert second.steps == (StepSpec("乡镇处置", "township", "1wd", ""),)
    assert not first.default_procedure
    assert not second.default_procedure
    # An item the sheet says nothing about gets the default procedure, marked as such
    # (the import carries its steps over from the version in force instead).
    assert third.default_procedure
    assert third.steps == default_steps(spec=third)


def test_without_a_procedure_sheet_every_item_has_the_default_procedure() -> None:
    for data, name in (
        (xlsx(LIST_WITH_CODES), "x.xlsx"),
        (xlsx(LIST_WITH_CODES, steps=[]), "x.xlsx"),  # an empty sheet says nothing
        (csv_file(csv_row("A-1")), "x.csv"),
    ):
        specs = read_upload(filename=name, data=data)
        assert all(s.default_procedure and s.steps == default_steps(spec=s) for s in specs)


def test_the_procedure_sheet_is_found_by_its_name_wherever_it_is() -> None:
    workbook = openpyxl.Workbook()
    procedure = workbook.active
    procedure.title = " 办理流程 "
    for row in (list(STEP_HEADERS), ["A-1", "", 1, "环节", "乡镇", "", ""]):
        procedure.append(row)
    listing = workbook.create_sheet("清单")
    for row in LIST_WITH_CODES:
        listing.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    items, steps = read_workbook(data=buffer.getvalue())
    assert [r.get("code") for r in items] == ["A-1", "A-2", "A-3"]
    assert items[0].sheet == "清单"
    assert steps is not None
    assert [(r.sheet, r.row, r.get("name")) for r in steps] == [(" 办理流程 ", 2, "环节")]


def test_every_problem_of_the_procedure_sheet_is_reported_with_its_sheet() -> None:
    rows = [*LIST_WITH_CODES, [*official_row(4, 响应时限="5天"), "A-4"]]
    steps = [
        list(STEP_HEADERS),
        ["A-1", "", 1, "第一步", "乡镇", "", ""],
        ["A-9", "", 1, "未知事项的步骤", "乡镇", "", ""],
        ["", "", 2, "没有编码", "乡镇", "", ""],
        ["A-1", "", "一", "序号不是数字", "乡镇", "", ""],
        ["A-1", "", 0, "序号为零", "乡镇", "", ""],
        ["A-1", "", 1.5, "序号是小数", "乡镇", "", ""],
        ["A-1", "", None, "没有序号", "乡镇", "", ""],
        ["A-2", "", 1, "", "乡镇", "", ""],
        ["A-2", "", 2, "责任方不明", "村委会", "", ""],
        ["A-2", "", 3, "时限含糊", "主体责任单位", "5天", ""],
        ["A-2", "", 4, "分界点过长", "协办单位", "", "衔" * 201],
        ["A-2", "", 5, "没有责任方", None, "", ""],
        ["A-3", "", 1, "重复一", "乡镇", "", ""],
        ["A-3", "", 1, "重复二", "乡镇", "", ""],
        ["A-3", "", 2, "环" * 101, "乡镇", "", ""],
    ]
    exc = failure("x.xlsx", xlsx(rows, steps=steps))
    sheet = "Sheet"  # openpyxl's name for a new workbook's first sheet
    assert full_result(exc) == [
        (sheet, 5, "响应时限", "catalog.bad_limit"),  # the list sheet first
        (PROCEDURE_SHEET, 3, "事项编码", "catalog.step_unknown_item"),
        (PROCEDURE_SHEET, 4, "事项编码", "catalog.required"),
        (PROCEDURE_SHEET, 5, "序号", "catalog.bad_step_order"),
        (PROCEDURE_SHEET, 6, "序号", "catalog.bad_step_order"),
        (PROCEDURE_SHEET, 7, "序号", "catalog.bad_step_order"),
        (PROCEDURE_SHEET, 8, "序号", "catalog.required"),
        (PROCEDURE_SHEET, 9, "环节", "catalog.required"),
        (PROCEDURE_SHEET, 10, "责任方", "catalog.bad_step_party"),
        (PROCEDURE_SHEET, 11, "时限", "catalog.bad_limit"),
        (PROCEDURE_SHEET, 12, "分界点/衔接点", "catalog.too_long"),
        (PROCEDURE_SHEET, 13, "责任方", "catalog.required"),
        (PROCEDURE_SHEET, 14, "序号", "catalog.duplicate_step"),
        (PROCEDURE_SHEET, 15, "序号", "catalog.duplicate_step"),
        (PROCEDURE_SHEET, 16, "环节", "catalog.too_long"),
    ]
    messages = {p["row"]: p["message"] for p in exc.detail if p["sheet"] == PROCEDURE_SHEET}
    assert "A-9" in messages[3]
    assert "村委会" in messages[10]
    assert "主体责任单位" in messages[10]
    assert "14、15" in messages[14]


def test_a_procedure_sheet_without_its_headers_is_refused() -> None:
    steps = [["事项编码", "环节", "时限"], ["A-1", "第一步", ""]]
    exc = failure("x.xlsx", xlsx(LIST_WITH_CODES, steps=steps))
    assert full_result(exc) == [
        (PROCEDURE_SHEET, 1, "序号", "catalog.missing_header"),
        (PROCEDURE_SHEET, 1, "责任方", "catalog.missing_header"),
    ]
    exc = failure("x.xlsx", xlsx(LIST_WITH_CODES, steps=[["随便写点什么"], ["A-1"]]))
    assert full_result(exc) == [(PROCEDURE_SHEET, None, None, "catalog.not_a_procedure")]


def test_an_item_has_at_most_fifty_steps() -> None:
    steps = [list(STEP_HEADERS)] + [
        ["A-1", "", n, f"第{n}步", "乡镇", "", ""] for n in range(1, 52)
    ]
    exc = failure("x.xlsx", xlsx(LIST_WITH_CODES, steps=steps))
    # Reported at the 51st step (row 52, below the header row).
    assert full_result(exc) == [(PROCEDURE_SHEET, 52, "事项编码", "catalog.too_many_steps")]


# --- lower-level functions --------------------------------------------------------------


def test_read_functions_give_raw_rows_with_row_numbers() -> None:
    rows = read_xlsx(data=xlsx([["标题"], [], OFFICIAL, official_row(7), [], official_row(8)]))
    assert [(r.row, r.get("code"), r.column("name")) for r in rows] == [
        (4, "X-7", "事项名称"),
        (6, "X-8", "事项名称"),
    ]
    raw = read_csv(data=csv_file(csv_row("D1-01", item_name='"多行\n名称"')))
    assert [(r.row, r.get("name")) for r in raw] == [(2, "多行\n名称")]
    assert validate_rows(rows=raw)[0].name == "多行\n名称"


def test_validate_rows_needs_a_county_region(world: Any) -> None:
    with pytest.raises(ValueError, match="county"):
        validate_rows(rows=[], county=world.t1)


def test_default_steps() -> None:
    (county_item,) = read_upload(filename="x.csv", data=csv_file(csv_row("D1-01")))
    steps = default_steps(spec=county_item)
    assert [(s.party, s.time_limit) for s in steps] == [
        ("township", ""),
        ("platform", "4h"),
        ("primary", "24h"),
        ("primary", "5wd"),
        ("township", "3wd"),
    ]
    assert steps[0].handoff == "乡镇呼叫：问题移交县级平台"
    township_item = dataclasses.replace(
        county_item, primary_level="township", respond_limit="30m", complete_limit="1wd"
    )
    steps = default_steps(spec=township_item)
    assert [(s.name, s.party, s.time_limit) for s in steps] == [
        ("乡镇巡查发现并处置", "township", "1wd"),
        ("需要时呼叫协办部门", "township", ""),
        ("协办部门配合处置", "assisting", "30m"),
        ("乡镇办结归档", "township", ""),
    ]


# --- nothing but ImportFailed escapes ---------------------------------------------------

_WORDS = st.sampled_from(
    [
        *OFFICIAL,
        *STEP_HEADERS,
        "A-1",
        "乡镇",
        "主体责任单位",
        *XLSX_HEADERS[11:],
        *CSV_HEADERS,
        "",
        "24h",
        "5天",
        "5个工作日",
        "0m",
        "是",
        "maybe",
        "county",
        "township",
        "应急管理局",
        TOWNSHIP_PARTY,
        "D1",
        "X-1",
    ]
)
_CELL = st.one_of(_WORDS, st.text(max_size=12), st.integers(-5, 10**6), st.floats(), st.booleans())
_GRID = st.lists(st.lists(_CELL, max_size=14), max_size=8)


def _must_be_import_failed(filename: str, data: bytes) -> None:
    detail: list[dict[str, Any]] | None = None
    try:
        specs = read_upload(filename=filename, data=data)
    except ImportFailed as exc:
        detail = exc.detail
    if detail is None:
        assert all(isinstance(s, ItemSpec) for s in specs)
    else:
        assert detail
        assert all(isinstance(p["message"], str) and p["code"] for p in detail)


def _csv_text(grid: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(grid)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _clean_grid(grid: list[list[Any]]) -> list[list[Any]]:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [
        [ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row] for row in grid
    ]


def _sheet(grid: list[list[Any]]) -> bytes:
    return xlsx(_clean_grid(grid))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["x.csv", "x.xlsx"]),
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
        st.builds(lambda b: b"PK\x03\x04" + b, st.binary(max_size=200)),
    ),
)
def test_arbitrary_bytes_only_ever_raise_import_failed(name: str, data: bytes) -> None:
    _must_be_import_failed(name, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=_GRID, as_xlsx=st.booleans())
def test_arbitrary_tables_only_ever_raise_import_failed(
    grid: list[list[Any]], as_xlsx: bool
) -> None:
    if as_xlsx:
        _must_be_import_failed("x.xlsx", _sheet([OFFICIAL, *grid]))
        _must_be_import_failed("x.xlsx", _sheet(grid))
        # The same grid as a procedure sheet, below its headers or alone.
        for steps in ([list(STEP_HEADERS), *grid], grid):
            _must_be_import_failed("x.xlsx", xlsx(LIST_WITH_CODES, steps=_clean_grid(steps)))
    else:
        _must_be_import_failed("x.csv", _csv_text([list(CSV_HEADERS), *grid]))
        _must_be_import_failed("x.csv", _csv_text([OFFICIAL, *grid]))
