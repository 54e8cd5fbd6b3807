"""The accountability pages and API: who sees what, opening a case from a call, a new
incident, recording the finding, the printable page and the downloads."""

# ruff: noqa: F811  (the fixture `acc_list` is imported from test_accountability)
from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from tests.assessment.test_accountability import acc_list, loop, t, up_call  # noqa: F401
from tests.calls.conftest import as_
from xianghu.assessment import accountability_services as services
from xianghu.assessment.models import AccountabilityCase, CaseStatus, Finding, Incident

BASE = "/assessment/accountability"
API = "/api/v1/assessment/accountability"


def late_call(world):
    return loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))


def test_the_call_page_links_to_the_evidence_for_the_county_roles(world, acc_list, client):
    call = late_call(world)
    for key, shown in (
        ("assessor", True),
        ("operator", True),
        ("admin", True),
        ("reporter", False),
        ("tleader", False),
        ("handler", False),
    ):
        client.force_login(world.users[key])
        page = client.get(f"/calls/{call.pk}/")
        assert page.status_code == 200
        assert (b'data-testid="call-accountability"' in page.content) is shown, key


def test_opening_a_case_from_the_call(world, acc_list, client):
    call = late_call(world)
    client.force_login(world.users["assessor"])
    preview = client.get(f"{BASE}/calls/{call.pk}/")
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-finding="primary_failure"' in html
    assert "主体责任部门签收响应" in html
    assert AccountabilityCase.objects.count() == 0  # looking stores nothing
    opened = client.post(f"{BASE}/calls/{call.pk}/")
    case = AccountabilityCase.objects.get()
    assert opened.status_code == 302
    assert opened["Location"] == f"{BASE}/{case.pk}/"
    page = client.get(f"{BASE}/{case.pk}/")
    assert page.status_code == 200
    assert b'data-testid="decide-form"' in page.content
    # Opening again leads to the open case.
    again = client.post(f"{BASE}/calls/{call.pk}/")
    assert again["Location"] == f"{BASE}/{case.pk}/"
    assert AccountabilityCase.objects.count() == 1


def test_the_parties_read_and_the_others_do_not_see(world, acc_list, client):
    call = late_call(world)
    case = services.case_open(actor=as_(world, "assessor"), call=call)
    for key in ("tleader", "handler"):
        client.force_login(world.users[key])
        page = client.get(f"{BASE}/{case.pk}/")
        assert page.status_code == 200, key
        assert b'data-testid="decide-form"' not in page.content
        assert b'data-testid="refresh-case"' not in page.content
        denied = client.post(
            f"{BASE}/{case.pk}/decide/", {"finding": "diligent_exempt", "reasons": "理由"}
        )
        assert denied.status_code == 403, key
        assert client.get(f"{BASE}/{case.pk}/pdf/").status_code == 200
        assert client.get(f"{BASE}/calls/{call.pk}/").status_code == 403  # sees the call only
        assert client.get(f"{BASE}/incidents/new/").status_code == 403
        listing = client.get(f"{BASE}/")
        assert f'data-pk="{case.pk}"'.encode() in listing.content
    for key in ("reporter_t2", "police_leader", "operator_b", "bianban"):
        client.force_login(world.users[key])
        for url in ("", "print/", "pdf/", "xlsx/"):
            assert client.get(f"{BASE}/{case.pk}/{url}").status_code == 404, (key, url)
        listing = client.get(f"{BASE}/?status=all")
        assert b'data-testid="acc-case-row"' not in listing.content
    client.logout()
    assert client.get(f"{BASE}/{case.pk}/").status_code == 302  # to the login page
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_recording_the_finding_on_the_page(world, acc_list, client):
    case = services.case_open(actor=as_(world, "assessor"), call=late_call(world))
    client.force_login(world.users["assessor"])
    empty = client.post(f"{BASE}/{case.pk}/decide/", {"finding": "primary_failure"})
    assert empty.status_code == 400
    assert b'data-testid="error-reasons"' in empty.content
    done = client.post(
        f"{BASE}/{case.pk}/decide/",
        {"finding": "primary_failure", "reasons": "签收超时两个半小时，无正当理由。"},
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.final_finding) == (CaseStatus.DECIDED, Finding.PRIMARY_FAILURE)
    page = client.get(f"{BASE}/{case.pk}/")
    assert b'data-testid="acc-final"' in page.content
    assert b'data-testid="decide-form"' not in page.content
    twice = client.post(
        f"{BASE}/{case.pk}/decide/", {"finding": "diligent_exempt", "reasons": "改判"}
    )
    assert twice.status_code == 302
    case.refresh_from_db()
    assert case.final_finding == Finding.PRIMARY_FAILURE
    printed = client.get(f"{BASE}/{case.pk}/print/")
    assert printed.status_code == 200
    assert "签收超时两个半小时，无正当理由。" in printed.content.decode()
    assert b"@media print" not in printed.content  # the print rules live in the stylesheet
    assert b"css/accountability.css" in printed.content
    pdf = client.get(f"{BASE}/{case.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert pdf.content.startswith(b"%PDF-")
    xlsx = client.get(f"{BASE}/{case.pk}/xlsx/")
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames


def test_a_new_incident_opens_its_case(world, acc_list, client):
    call = late_call(world)
    client.force_login(world.users["operator"])
    form = client.get(f"{BASE}/incidents/new/?call={call.pk}")
    assert form.status_code == 200
    assert call.number in form.content.decode()
    bad = client.post(
        f"{BASE}/incidents/new/",
        {
            "title": "违法建设",
            "description": "村东新建彩钢房。",
            "township": str(world.orgs["t1"].pk),
            "item": "AC-01",
            "discovered_at": "2024-03-20T09:00",
            "discovered_by": "县综合行政执法局",
            "calls": "NO-SUCH-CALL",
        },
    )
    assert bad.status_code == 400
    assert b'data-testid="error-calls"' in bad.content
    created = client.post(
        f"{BASE}/incidents/new/",
        {
            "title": "违法建设",
            "description": "村东新建彩钢房。",
            "township": str(world.orgs["t1"].pk),
            "item": "AC-01",
            "discovered_at": "2024-03-20T09:00",
            "discovered_by": "县综合行政执法局",
            "calls": call.number,
        },
    )
    assert created.status_code == 302
    incident = Incident.objects.get()
    assert incident.item.code == "AC-01"
    assert list(incident.calls.all()) == [call]
    case = AccountabilityCase.objects.get(incident=incident)
    assert created["Location"] == f"{BASE}/{case.pk}/"
    assert case.proposed_finding == Finding.PRIMARY_FAILURE  # the call's late signing
    client.force_login(world.users["handler"])
    assert client.get(f"{BASE}/incidents/new/").status_code == 403


# ---- the API ----------------------------------------------------------------------------------


def test_the_api(world, acc_list, client):
    call = late_call(world)
    client.force_login(world.users["assessor"])
    evidence = client.get(f"{API}/calls/{call.pk}/evidence")
    assert evidence.status_code == 200, evidence.content
    body = evidence.json()
    assert body["proposal"]["finding"] == "primary_failure"
    assert body["evidence"]["list_info"]["item_code"] == "AC-01"
    assert any(r["code"] == "lead.sign.late" for r in body["proposal"]["reasons"])
    created = client.post(f"{API}/cases", {"call_id": call.pk}, content_type="application/json")
    assert created.status_code == 201, created.content
    case = created.json()
    assert case["status"] == "open"
    assert case["proposed_finding"] == "primary_failure"
    assert {p["id"] for p in case["parties"]} == {world.orgs["t1"].pk, world.orgs["dept"].pk}
    conflict = client.post(f"{API}/cases", {"call_id": call.pk}, content_type="application/json")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "accountability.case_open"
    assert conflict.json()["detail"] == {"case": case["id"]}
    listing = client.get(f"{API}/cases?status=open").json()
    assert [c["id"] for c in listing["items"]] == [case["id"]]
    no_reasons = client.post(
        f"{API}/cases/{case['id']}/decide",
        {"finding": "primary_failure", "reasons": ""},
        content_type="application/json",
    )
    assert no_reasons.status_code == 400
    assert no_reasons.json()["code"] == "accountability.reasons_required"
    decided = client.post(
        f"{API}/cases/{case['id']}/decide",
        {"finding": "primary_failure", "reasons": "签收超时。"},
        content_type="application/json",
    )
    assert decided.status_code == 200
    assert decided.json()["final_finding"] == "primary_failure"
    again = client.post(
        f"{API}/cases/{case['id']}/decide",
        {"finding": "diligent_exempt", "reasons": "改判"},
        content_type="application/json",
    )
    assert again.status_code == 409
    assert again.json()["code"] == "accountability.already_decided"
    pdf = client.get(f"{API}/cases/{case['id']}/pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    # The township's leader reads, and is refused the finding.
    client.force_login(world.users["tleader"])
    assert client.get(f"{API}/cases/{case['id']}").status_code == 200
    assert client.get(f"{API}/calls/{call.pk}/evidence").json()["code"] == (
        "accountability.not_allowed"
    )
    # Another county's operator: as if nothing existed.
    client.force_login(world.users["operator_b"])
    assert client.get(f"{API}/cases/{case['id']}").status_code == 404
    assert client.get(f"{API}/calls/{call.pk}/evidence").status_code == 404


def test_the_api_records_incidents(world, acc_list, client):
    client.force_login(world.users["assessor"])
    payload = {
        "township_id": world.orgs["t1"].pk,
        "title": "王庄镇1村新增违法建设",
        "description": "村东新建彩钢房约200平方米。",
        "discovered_at": "2024-03-12T09:00:00+08:00",
        "discovered_by": "县综合行政执法局卫片执法检查",
        "item_code": "AC-02",
    }
    created = client.post(f"{API}/incidents", json.dumps(payload), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["item_code"] == "AC-02"
    assert body["case_id"] is not None
    case = client.get(f"{API}/cases/{body['case_id']}").json()
    assert case["subject"] == "incident"
    assert case["proposed_finding"] == "diligent_exempt"
    evidence = client.get(f"{API}/incidents/{body['id']}/evidence").json()
    assert evidence["evidence"]["township_duty"] == "cooperating"
    bad = client.post(
        f"{API}/incidents",
        json.dumps({**payload, "item_code": "NO-SUCH", "call_ids": [999999]}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "accountability.invalid"
    assert {p["field"] for p in bad.json()["detail"]} == {"calls"}
    client.force_login(world.users["handler"])
    refused = client.post(f"{API}/incidents", json.dumps(payload), content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "accountability.not_allowed"
