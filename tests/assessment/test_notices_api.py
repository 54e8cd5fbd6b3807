"""The notices API (/api/v1/assessment/notices/): generate, read, edit, issue, reply and
decide, the files, and the coded refusals with nothing stored."""

# ruff: noqa: F811  (the fixture `march` is imported from test_notices)
from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from tests.assessment.test_notices import REPLY, march  # noqa: F401
from tests.calls.test_api import session
from xianghu.assessment.models import Notice, RectificationReply

API = "/api/v1/assessment/notices"


def post(client, path: str, body: dict):
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json")


def test_generate_read_issue_reply_and_decide(world, march):
    assessor = session(world, "assessor")
    r = post(assessor, "/", {"period": "2025-03", "criteria": {"late_min": 2}})
    assert r.status_code == 201, r.content
    notice = r.json()
    assert (notice["status"], notice["number"], notice["kind"]) == ("draft", None, "monthly")
    assert notice["period"]["key"] == "2025-03"
    assert [(e["organisation"]["id"], e["category"]) for e in notice["entries"]] == [
        (world.orgs["dept"].pk, "no_response"),
        (world.orgs["dept"].pk, "late_response"),
        (world.orgs["police"].pk, "poor_response"),
    ]
    assert notice["entries"][0]["calls"][0]["number"] == march["A"].number
    pk = notice["id"]

    r = assessor.patch(
        f"{API}/{pk}", data=json.dumps({"title": "三月份通报"}), content_type="application/json"
    )
    assert r.json()["title"] == "三月份通报"
    # Drafts are the issuing side's own.
    assert session(world, "dleader").get(f"{API}/{pk}").status_code == 404
    r = post(assessor, f"/{pk}/issue", {})
    assert r.status_code == 200
    issued = r.json()
    assert issued["status"] == "issued"
    assert issued["number"]
    assert all(e["reply_due"] for e in issued["entries"])
    assert post(assessor, f"/{pk}/issue", {}).json()["code"] == "notice.not_draft"

    entry = issued["entries"][0]["id"]
    # The wrong organisation: 403 with its code, nothing stored.
    r = post(session(world, "tleader"), f"/entries/{entry}/reply", REPLY)
    assert r.status_code == 403
    assert r.json()["code"] == "notice.not_your_entry"
    assert not RectificationReply.objects.exists()
    r = post(session(world, "operator_b"), f"/entries/{entry}/reply", REPLY)
    assert r.status_code == 404

    leader = session(world, "dleader")
    r = post(leader, f"/entries/{entry}/reply", {"text": "", "measures": ""})
    assert r.status_code == 400
    assert r.json()["code"] == "notice.invalid"
    r = post(leader, f"/entries/{entry}/reply", REPLY)
    assert r.status_code == 201
    assert r.json()["status"] == "replied"
    assert r.json()["replies"][0]["text"] == REPLY["text"]
    mine = leader.get(f"{API}/entries/mine?open=true").json()
    assert {e["id"] for e in mine} == {e["id"] for e in issued["entries"][:2]}
    # Others of the county read the notice, not the replies.
    r = session(world, "tleader").get(f"{API}/entries/{entry}")
    assert r.status_code == 200
    assert r.json()["replies"] is None

    assert post(leader, f"/entries/{entry}/decide", {"decision": "accept"}).status_code == 403
    r = post(assessor, f"/entries/{entry}/decide", {"decision": "return"})
    assert r.json()["code"] == "notice.reason_required"
    r = post(assessor, f"/entries/{entry}/decide", {"decision": "accept"})
    assert r.status_code == 200
    assert r.json()["status"] == "closed"

    r = assessor.get(f"{API}/{pk}/pdf")
    assert r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    r = assessor.get(f"{API}/{pk}/xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert len(book.sheetnames) == 4
    assert [n["id"] for n in session(world, "bianban").get(f"{API}/").json()["items"]] == [pk]


def test_refusals_store_nothing(world, march):
    assessor = session(world, "assessor")
    for period, code in (
        ("", "assessment.period_required"),
        ("2025-13", "assessment.period_invalid"),
        ("2025-03-10..2025-03-01", "assessment.period_reversed"),
        ("2999-01", "assessment.period_future"),
    ):
        r = post(assessor, "/", {"period": period})
        assert r.status_code == 400, period
        assert r.json()["code"] == code, period
    r = post(assessor, "/", {"period": "2025-03", "criteria": {"satisfaction_below": "2"}})
    assert r.json()["code"] == "notice.criteria_invalid"
    assert r.json()["detail"][0]["field"] == "satisfaction_below"
    r = post(session(world, "dleader"), "/", {"period": "2025-03"})
    assert r.status_code == 403
    assert r.json()["code"] == "notice.not_allowed"
    r = post(assessor, "/", {"period": "2025-03", "county": world.other_county.pk})
    assert r.status_code == 403
    assert not Notice.objects.exists()
    first = post(assessor, "/", {"period": "2025-03"}).json()
    r = post(session(world, "operator"), "/", {"period": "2025-03"})
    assert r.status_code == 409
    assert r.json()["detail"]["notice"] == first["id"]
    r = assessor.delete(f"{API}/{first['id']}")
    assert r.status_code == 204
    assert not Notice.objects.exists()
