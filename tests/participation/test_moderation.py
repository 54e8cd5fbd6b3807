"""Moderation of public text and photos, automatic masking and staff redaction, and the
audit of unmasked contact data."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.calls.conftest import as_
from tests.calls.test_attachments import png
from tests.participation.test_public import report_post
from xianghu.core.errors import InvalidInput, NotFound
from xianghu.participation import public_reports, selectors
from xianghu.participation.models import Moderation, PublicReport
from xianghu.participation.models_public import ReportPhoto, UnmaskAudit

SECRET_TEXT = (
    "张庄村王老五家门口的垃圾堆没人管，电话13811112222，车牌鲁A12345，身份证370101199001011234"
)


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()


@pytest.fixture
def report(world, lists, client):
    r = report_post(
        client,
        world,
        description=SECRET_TEXT,
        contact="13800003333",
        consent="on",
        photos=[png()],
    )
    assert r.status_code == 302
    return PublicReport.objects.get()


def test_the_queue_is_the_township_s_and_the_county_s(world, report):
    state = Moderation.PENDING
    assert list(selectors.moderation_reports(actor=as_(world, "tleader"), state=state)) == [report]
    assert list(selectors.moderation_reports(actor=as_(world, "operator"), state=state)) == [report]
    assert list(selectors.moderation_reports(actor=as_(world, "reporter_t2"), state=state)) == []
    assert list(selectors.moderation_reports(actor=as_(world, "handler"), state=state)) == []
    assert list(selectors.moderation_reports(actor=as_(world, "operator_b"), state=state)) == []
    with pytest.raises(NotFound):
        public_reports.report_moderate(
            actor=as_(world, "reporter_t2"), report=report, decision="approve"
        )


def test_nothing_is_public_before_moderation_and_approval_masks(world, report, client):
    anon = client.__class__()
    assert SECRET_TEXT[:6] not in anon.get("/participation/reports/").content.decode()
    public_reports.report_moderate(actor=as_(world, "tleader"), report=report, decision="approve")
    html = anon.get("/participation/reports/").content.decode()
    assert "垃圾堆没人管" in html
    for secret in ("13811112222", "鲁A12345", "370101199001011234", "13800003333"):
        assert secret not in html
    assert "138****2222" in html


def test_staff_redact_arbitrary_spans(world, report, client):
    with pytest.raises(InvalidInput):
        public_reports.report_moderate(
            actor=as_(world, "tleader"), report=report, decision="redact", spans=[]
        )
    with pytest.raises(InvalidInput):
        public_reports.report_moderate(
            actor=as_(world, "tleader"), report=report, decision="redact", spans=["不存在的字"]
        )
    world.login(client, "tleader")
    r = client.post(
        f"/participation/moderation/reports/{report.pk}/",
        {"decision": "redact", "spans": "王老五\n张庄村"},
    )
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.moderation == Moderation.REDACTED
    assert "王老五" not in report.public_text
    assert "张庄村" not in report.public_text
    assert report.description == SECRET_TEXT  # the original is kept for the township
    html = client.__class__().get("/participation/reports/").content.decode()
    assert "王老五" not in html
    assert public_reports.REDACTED in html
    # hidden later: gone from the public list
    client.post(f"/participation/moderation/reports/{report.pk}/", {"decision": "hide"})
    assert "垃圾堆" not in client.__class__().get("/participation/reports/").content.decode()


def test_photos_are_public_only_once_approved(world, report, client):
    photo = ReportPhoto.objects.get()
    anon = client.__class__()
    assert anon.get(f"/participation/photos/{photo.pk}/").status_code == 404
    world.login(client, "reporter_t2")
    assert client.get(f"/participation/photos/{photo.pk}/").status_code == 404
    world.login(client, "tleader")
    page = client.get("/participation/moderation/").content.decode()
    assert 'data-testid="moderation-photo"' in page
    assert "13811112222" not in page  # staff see the masked text too
    assert (
        client.post(
            f"/participation/moderation/photos/{photo.pk}/", {"decision": "approve"}
        ).status_code
        == 302
    )
    response = anon.get(f"/participation/photos/{photo.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_moderation_page_is_for_staff(world, client):
    world.login(client, "handler")
    assert client.get("/participation/moderation/").status_code == 403
    world.login(client, "citizen")
    assert client.get("/participation/moderation/").status_code == 403
    assert client.get("/participation/moderation/audit/").status_code == 403


def test_unmasking_is_audited(world, report, client):
    world.login(client, "tleader")
    r = client.post(f"/participation/triage/{report.pk}/unmask/", {"field": "phone", "reason": ""})
    assert r.status_code == 302
    assert not UnmaskAudit.objects.exists()
    r = client.post(
        f"/participation/triage/{report.pk}/unmask/", {"field": "phone", "reason": "回电核实地点"}
    )
    assert r.status_code == 200
    assert "13800003333" in r.content.decode()
    assert r["Cache-Control"] == "no-store"
    audit = UnmaskAudit.objects.get()
    assert audit.user == world.users["tleader"]
    assert audit.report == report
    assert audit.field == "phone"
    assert audit.reason == "回电核实地点"
    assert audit.organisation == world.orgs["t1"]
    assert audit.county == world.county
    # another township cannot
    world.login(client, "reporter_t2")
    r = client.post(
        f"/participation/triage/{report.pk}/unmask/", {"field": "phone", "reason": "想看看"}
    )
    assert r.status_code == 404
    assert UnmaskAudit.objects.count() == 1
    # the county's system admin sees the audit; the township leader does not
    assert client.get("/participation/moderation/audit/").status_code == 403
    world.login(client, "admin")
    page = client.get("/participation/moderation/audit/").content.decode()
    assert "回电核实地点" in page
    assert "13800003333" not in page


def test_public_pages_pin_their_queries(world, lists, client, django_assert_max_num_queries):
    for n in range(3):
        report_post(client, world, description=f"第{n}处路面塌陷，请尽快处理", photos=[png()])
    for report in PublicReport.objects.all():
        public_reports.report_moderate(
            actor=as_(world, "tleader"), report=report, decision="approve"
        )
    anon = client.__class__()
    with django_assert_max_num_queries(8):
        assert anon.get("/participation/reports/").status_code == 200
    world.login(client, "tleader")
    with django_assert_max_num_queries(16):
        assert client.get("/participation/moderation/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/participation/triage/").status_code == 200
