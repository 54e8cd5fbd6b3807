"""The demo's public reporting (xianghu/demo/public.py) on the test world: every fate
is there, personal data is masked publicly, and a rerun makes nothing twice."""

from __future__ import annotations

from django.test import Client

from tests import factories as f
from xianghu.demo.public import build_demo_public
from xianghu.participation.models import Moderation, PublicReport, ReportStatus
from xianghu.participation.models_public import OrganisationApplication, ReportSupport
from xianghu.regions.roles import Role


def test_the_demo_is_complete_masked_and_idempotent(world, lists, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for key, org in (("t01_leader", "t1"), ("t02_leader", "t2")):
        user = f.UserFactory(username=key)
        f.MembershipFactory(user=user, organisation=world.orgs[org], role=Role.TOWNSHIP_LEADER)
    first = build_demo_public(county=world.county)
    again = build_demo_public(county=world.county)
    assert first == again
    assert first.reports == PublicReport.objects.count() == 6
    assert OrganisationApplication.objects.count() == 1
    statuses = sorted(PublicReport.objects.values_list("status", flat=True))
    assert statuses.count(ReportStatus.MERGED) == 1
    assert statuses.count(ReportStatus.REJECTED) == 1
    assert statuses.count(ReportStatus.ACCEPTED) == 1
    assert PublicReport.objects.filter(moderation=Moderation.REDACTED).count() == 1
    assert ReportSupport.objects.count() == 3
    assert PublicReport.objects.filter(reporter=world.users["citizen"]).exists()
    html = Client().get("/participation/reports/").content.decode()
    assert "村口路灯坏了半个月" in html
    for secret in ("17000009901", "鲁A12345", "集市东口"):
        assert secret not in html
    for token in PublicReport.objects.values_list("token", flat=True):
        page = Client().get(f"/participation/track/{token}/").content.decode()
        assert "17000009901" not in page
        assert "370101199001011234" not in page
