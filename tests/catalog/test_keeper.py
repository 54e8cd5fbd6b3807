"""The 编办's Excel round trip (export → edit → import as a draft → publish) and the
guard page."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from xianghu.catalog import selectors
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
    assert [(c.code, [(f.field, f.new) for f in c.changes]) for c in diff.modified] == [
        ("D1-01", [("complete_limit", "3wd")])
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
