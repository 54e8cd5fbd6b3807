"""The demo county's published list, derived from the 51-item default catalogue."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from xianghu.catalog import selectors
from xianghu.catalog.models import ListVersion
from xianghu.regions.models import Region


@pytest.mark.django_db
def test_demo_county_has_a_published_derived_list(client):
    call_command("demo_county", "--quiet", "--no-history")
    call_command("demo_county", "--quiet", "--no-history")  # idempotent: no second version
    county = Region.objects.get(code="371221")
    version = selectors.county_version_in_force(county=county)
    assert version is not None
    assert ListVersion.objects.filter(catalogue=version.catalogue).count() == 1
    report = selectors.derivation_of(version=version)
    assert report.guidance is not None
    assert report.guidance.items.count() == 51
    assert len(report.local) == 3
    assert len({i.parent_id for i in report.split}) == 2
    assert len(report.split) == 4
    assert [r.guidance_item.code for r in report.removed] == ["D7-04"]
    assert version.items.count() == 55
    # Every party of the county list is one of the county's own departments.
    parties = [p for item in selectors.version_items(version=version) for p in item.parties.all()]
    assert parties
    assert all(p.organisation is not None and p.organisation.county == county for p in parties)
    # The public page shows it without a login.
    html = client.get("/catalog/").content.decode()
    assert "清河县属地管理事项清单" in html
    assert "清河水库库区违规垂钓、游泳" in client.get("/catalog/?q=水库").content.decode()
