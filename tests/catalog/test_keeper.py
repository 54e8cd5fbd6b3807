"""The 编办's Excel round trip (export → edit → import as a draft → publish) and the
guard page."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from xianghu.catalog import selectors, views_keeper
from xianghu.catalog.io import PROCEDURE_SHEET
from xianghu.catalog.models import ItemOrigin, ListVersion, VersionStatus


def export(client, version) -> bytes:
    r = client.get(f"/catalog/versions/{version.pk}/export.xlsx")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    return b"".join(r.streaming_content) if r.streaming else r.content


def edit_limit(data: bytes, code: str, new_label: str) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    header = next(
        r for r in ws.iter_rows(min_row=1, max_row=5) if any(c.value == "事项名称" for c in r)
    )
    cols = {c.value: c.column for c in header}
    for row in ws.iter_rows(min_row=header[0].row + 1):
        if row[cols["事项编码"] - 1].value == code:
            row[cols["办结时限"] - 1].value = new_label
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_anyone_can_export_a_published_version(lists, client):
    data = export(client, lists.version)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "清河县属地管理事项清单" in str(wb.active["A1"].value)


def test_round_trip_through_excel_makes_a_draft_with_the_edit(lists, world, client):
    data = edit_limit(export(client, lists.version), "D1-01", "3个工作日")
    world.login(client, "bianban")
    r = client.post(
        f"/catalog/{lists.catalogue.pk}/import/",
        {"title": "导入测试", "file": SimpleUploadedFile("list.xlsx", data)},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    draft = ListVersion.objects.get(catalogue=lists.catalogue, status=VersionStatus.DRAFT)
    assert draft.title == "导入测试"
    page = client.get(r["Location"]).content.decode()
    assert "D1-01" in page
    diff = selectors.version_diff(old=lists.version, new=draft)
    assert [(c.code, [f.field for f in c.changes]) for c in diff.modified] == [
        ("D1-01", ["complete_limit", "steps"])
    ]
    limits, steps = diff.modified[0].changes
    assert limits.new == "3wd"
    # The file's procedure sheet still said 5个工作日 for the step the clerk did not
    # touch: it follows the item's new completion limit; every other item keeps its steps.
    assert [(s["name"], s["time_limit"]) for s in steps.new] == [
        ("乡镇巡查发现并报告", ""),
        ("主体责任部门依法处置办结", "3wd"),
    ]
    assert diff.added == diff.removed == []
    # The derivation survives the round trip.
    report = selectors.derivation_of(version=draft)
    assert [i.code for i in report.split] == ["D1-04-1", "D1-04-2"]
    assert [i.code for i in report.local] == ["QH-01"]
    assert [r.guidance_item.code for r in report.removed] == ["D7-04"]
    assert selectors.item_get(version=draft, code="D2-09").origin == ItemOrigin.INHERITED
    # Nothing is in force until the draft is published.
    assert selectors.version_in_force(catalogue=lists.catalogue) == lists.version
    r = client.post(f"/catalog/versions/{draft.pk}/publish/")
    assert r.status_code == 302
    assert selectors.version_in_force(catalogue=lists.catalogue) == draft


def test_a_broken_file_saves_nothing_and_lists_every_problem(lists, world, client):
    csv = (
        "code,domain_code,domain_name,item_name,primary_level,primary_departments,"
        "primary_duties,respond_limit,complete_limit\n"
        "A-1,D1,安全,事项一,county,不存在局,执法,24h,5天\n"
        "A-1,D1,安全,,county,应急管理局,执法,24h,5wd\n"
    ).encode()
    world.login(client, "bianban")
    before = ListVersion.objects.count()
    r = client.post(
        f"/catalog/{lists.catalogue.pk}/import/",
        {"file": SimpleUploadedFile("list.csv", csv)},
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert 'data-testid="import-problems"' in html
    for needle in ("不存在局", "5天", "A-1"):
        assert needle in html
    assert ListVersion.objects.count() == before


def test_only_the_keeper_imports_publishes_and_discards(lists, world, client):
    world.login(client, "handler")
    assert client.get(f"/catalog/{lists.catalogue.pk}/import/").status_code == 403
    world.login(client, "operator_b")
    assert client.get(f"/catalog/{lists.catalogue.pk}/import/").status_code == 403
    world.login(client, "bianban")
    assert client.get(f"/catalog/{lists.catalogue.pk}/import/").status_code == 200


def test_discarding_a_draft(lists, world, client):
    data = export(client, lists.version)
    world.login(client, "bianban")
    client.post(
        f"/catalog/{lists.catalogue.pk}/import/", {"file": SimpleUploadedFile("l.xlsx", data)}
    )
    draft = ListVersion.objects.get(status=VersionStatus.DRAFT, catalogue=lists.catalogue)
    world.login(client, "handler")
    assert (
        client.post(f"/catalog/versions/{draft.pk}/discard/").status_code == 404
    )  # drafts are hidden
    world.login(client, "bianban")
    assert client.post(f"/catalog/versions/{draft.pk}/discard/").status_code == 302
    assert not ListVersion.objects.filter(pk=draft.pk).exists()


def test_guard_page_refuses_then_admits(lists, world, client):
    from datetime import date

    from xianghu.catalog import services
    from xianghu.regions.selectors import actor_for_user

    world.login(client, "handler")
    t1 = world.orgs["t1"]
    r = client.get("/catalog/guard/", {"township": t1.pk, "item": "", "duty": "primary"})
    assert 'data-code="out_of_list_without_admission"' in r.content.decode()
    d101 = selectors.item_get(version=lists.version, code="D1-01")
    r = client.get("/catalog/guard/", {"township": t1.pk, "item": d101.pk, "duty": "primary"})
    assert 'data-code="primary_duty_push_down"' in r.content.decode()
    admission = services.admission_file(
        actor=actor_for_user(user=world.users["handler"]),
        department=world.orgs["dept"],
        title="信息采集",
        content="c",
        basis="b",
        townships=[t1],
        starts_on=date.today(),
        ends_on=date.today(),
    )
    services.admission_decide(
        actor=actor_for_user(user=world.users["bianban"]),
        admission=admission,
        approve=True,
        opinion="同意",
    )
    r = client.get("/catalog/guard/", {"township": t1.pk, "item": "", "duty": "primary"})
    assert 'data-allowed="true" data-code="admitted"' in r.content.decode()


def test_guard_page_is_for_departments(lists, world, client):
    world.login(client, "reporter")
    assert client.get("/catalog/guard/").status_code == 403


@override_settings(XH_CATALOG_MAX_UPLOAD_BYTES=1000)
def test_an_oversized_upload_is_refused_before_it_is_read(lists, world, client, monkeypatch):
    def must_not_parse(**kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(views_keeper, "read_upload", must_not_parse)
    world.login(client, "bianban")
    before = ListVersion.objects.count()
    big = SimpleUploadedFile("list.xlsx", b"PK" + b"\0" * 1000)
    r = client.post(f"/catalog/{lists.catalogue.pk}/import/", {"file": big})
    assert r.status_code == 422
    assert r.context["problems"][0]["code"] == "catalog.file_too_large"
    assert 'data-code="catalog.file_too_large"' in r.content.decode()
    # So is a file of another type, whatever its size.
    r = client.post(
        f"/catalog/{lists.catalogue.pk}/import/",
        {"file": SimpleUploadedFile("list.pdf", b"%PDF")},
    )
    assert r.context["problems"][0]["code"] == "catalog.bad_file_type"
    assert ListVersion.objects.count() == before


def test_procedure_problems_are_listed_with_their_sheet(lists, world, client):
    data = export(client, lists.version)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    procedure = workbook[PROCEDURE_SHEET]
    procedure.cell(3, 5).value = "村委会"  # 责任方 of the first step
    buffer = io.BytesIO()
    workbook.save(buffer)
    world.login(client, "bianban")
    r = client.post(
        f"/catalog/{lists.catalogue.pk}/import/",
        {"file": SimpleUploadedFile("list.xlsx", buffer.getvalue())},
    )
    assert r.status_code == 422
    assert [(p["sheet"], p["row"], p["column"], p["code"]) for p in r.context["problems"]] == [
        (PROCEDURE_SHEET, 3, "责任方", "catalog.bad_step_party")
    ]
    html = r.content.decode()
    assert f"<td>{PROCEDURE_SHEET}</td><td>3</td><td>责任方</td>" in html
    assert not ListVersion.objects.filter(status=VersionStatus.DRAFT).exists()


def test_the_diff_and_the_change_request_show_the_procedure(lists, world, client):
    from xianghu.catalog import services
    from xianghu.catalog.models import ChangeKind
    from xianghu.regions.selectors import actor_for_user

    change = services.change_request_file(
        actor=actor_for_user(user=world.users["handler"]),
        organisation=world.orgs["dept"],
        version=lists.version,
        kind=ChangeKind.MODIFY,
        item_code="D1-01",
        proposal={
            "steps": [
                {"name": "乡镇发现上报", "party": "township", "handoff": "呼叫县级平台"},
                {"name": "部门依法处置", "party": "primary", "time_limit": "3wd"},
            ]
        },
        reason="细化流程",
    )
    world.login(client, "bianban")
    html = client.get(f"/catalog/change-requests/{change.pk}/").content.decode()
    assert 'data-field="steps"' in html
    assert "2. 主体责任部门依法处置办结" in html  # the current procedure …
    assert "1. 乡镇发现上报" in html  # … and the proposed one
    assert "呼叫县级平台" in html
    r = client.post(
        f"/catalog/change-requests/{change.pk}/", {"decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 302
    change.refresh_from_db()
    html = client.get(
        "/catalog/diff/", {"old": lists.version.pk, "new": change.result_version_id}
    ).content.decode()
    assert 'data-field="steps"' in html
    assert "2. 部门依法处置" in html


def test_a_department_files_change_requests_from_an_edited_file(lists, world, client):
    from tests.catalog.test_procedures import edited_export
    from xianghu.catalog.models import ChangeRequest

    world.login(client, "handler")
    html = client.get("/catalog/my-requests/").content.decode()
    assert 'href="/catalog/change-requests/import/"' in html
    page = client.get("/catalog/change-requests/import/")
    assert page.status_code == 200
    assert f'href="/catalog/versions/{lists.version.pk}/export.xlsx"' in page.content.decode()
    r = client.post(
        "/catalog/change-requests/import/",
        {"file": SimpleUploadedFile("list.xlsx", edited_export(lists)), "reason": "按新规调整"},
    )
    assert r.status_code == 302
    assert r["Location"] == "/catalog/my-requests/"
    filed = ChangeRequest.objects.filter(filed_by_org=world.orgs["dept"])
    assert sorted(filed.values_list("item_code", "kind")) == [
        ("D1-01", "modify"),
        ("QH-01", "modify"),
        ("QH-07", "add"),
    ]
    # An unchanged export asks for nothing, says so and files nothing.
    r = client.post(
        "/catalog/change-requests/import/",
        {"file": SimpleUploadedFile("l.xlsx", export(client, lists.version)), "reason": "无"},
    )
    assert r.status_code == 200
    assert r.context["form"].non_field_errors()
    assert filed.count() == 3
    # A broken file: every problem listed, nothing filed.
    broken = "序号,领域\n1,安全\n".encode()
    r = client.post(
        "/catalog/change-requests/import/",
        {"file": SimpleUploadedFile("b.csv", broken), "reason": "调整"},
    )
    assert r.status_code == 422
    assert 'data-testid="import-problems"' in r.content.decode()
    assert filed.count() == 3


def test_only_departments_and_townships_file_changes_from_a_file(lists, world, client):
    world.login(client, "bianban")
    assert client.get("/catalog/change-requests/import/").status_code == 403
    world.login(client, "reporter")
    assert client.get("/catalog/change-requests/import/").status_code == 200
    client.logout()
    assert client.get("/catalog/change-requests/import/").status_code == 302
