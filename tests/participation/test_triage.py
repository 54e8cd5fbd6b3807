"""Public reports: where they go, who triages them, and the triage page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.calls.conftest import as_
from xianghu.accounts.services import apikey_create
from xianghu.calls.models import Call
from xianghu.calls.workflow import State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.participation import selectors, services
from xianghu.participation.models import ReportStatus
from xianghu.regions.models import Region
from xianghu.regions.roles import Role


@pytest.fixture
def report_of(world, lists):
    key, _plain = apikey_create(
        actor=None, organisation=world.orgs["enterprise"], role=Role.PUBLIC_USER, name="随手拍"
    )
    item = catalog_selectors.item_get(version=lists.version, code="D1-01")

    def make(**kw):
        kw.setdefault("address", "王庄镇某路口")
        report, _created = services.publicreport_create(
            api_key=key,
            county=world.county,
            item=item,
            description=kw.pop("description", "路边堆放易燃物"),
            phone="13800001111",
            email="someone@example.com",
            **kw,
        )
        return report

    return make


def test_the_place_is_found_by_address_then_coordinates(world, lists, new_call):
    village = Region.objects.get(parent=world.t1)
    assert (
        services.place_resolve(county=world.county, address=f"{village.name}东").location == village
    )
    assert services.place_resolve(county=world.county, address="柳林镇政府").township == world.t2
    # by the stem of the name (柳林 for 柳林镇)
    assert services.place_resolve(county=world.county, address="柳林街口").township == world.t2
    assert (
        services.place_resolve(county=world.county, address_id=world.t2.code).township == world.t2
    )
    nowhere = services.place_resolve(county=world.county, address="火星")
    assert nowhere.township is None
    assert nowhere.location is None
    # coordinates: nearest to the township's located calls, within ~30 km
    new_call(latitude=Decimal("36.80"), longitude=Decimal("115.70"))
    near = services.place_resolve(
        county=world.county, latitude=Decimal("36.82"), longitude=Decimal("115.71")
    )
    assert near.township == world.t1
    far = services.place_resolve(
        county=world.county, latitude=Decimal("39.9"), longitude=Decimal("116.4")
    )
    assert far.township is None


def test_only_the_township_triages_its_reports(world, report_of):
    report = report_of()
    assert report.township == world.t1
    assert list(selectors.triage_queue(actor=as_(world, "tleader"))) == [report]
    assert list(selectors.triage_queue(actor=as_(world, "reporter_t2"))) == []
    assert list(selectors.triage_queue(actor=as_(world, "handler"))) == []
    assert list(selectors.triage_queue(actor=as_(world, "operator"))) == []
    with pytest.raises(PermissionDenied):
        services.publicreport_accept(actor=as_(world, "reporter_t2"), report=report)
    lost = report_of(address="不知道哪里")
    assert list(selectors.triage_queue(actor=as_(world, "operator"))) == [lost]
    with pytest.raises(PermissionDenied):
        services.publicreport_accept(actor=as_(world, "operator"), report=lost)


def test_accept_makes_one_draft_call(world, report_of):
    report = report_of()
    call = services.publicreport_accept(actor=as_(world, "reporter"), report=report)
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    assert report.call == call
    assert call.state == State.DRAFT
    assert call.caller == world.orgs["t1"]
    assert call.item.code == "D1-01"
    assert "路边堆放易燃物" in call.description
    assert "13800001111" not in call.description
    with pytest.raises(Conflict):
        services.publicreport_accept(actor=as_(world, "reporter"), report=report)
    assert Call.objects.count() == 1


def test_reject_needs_a_reason(world, report_of):
    report = report_of()
    with pytest.raises(InvalidInput):
        services.publicreport_reject(actor=as_(world, "tleader"), report=report, reason=" ")
    services.publicreport_reject(actor=as_(world, "tleader"), report=report, reason="重复反映")
    report.refresh_from_db()
    assert report.status == ReportStatus.REJECTED
    assert report.reason == "重复反映"
    assert report.call is None


def test_idempotent_intake(world, lists, report_of):
    a = report_of(idempotency_key="k1")
    b = report_of(idempotency_key="k1")
    assert a.pk == b.pk


def test_the_triage_page(world, client, report_of):
    report = report_of()
    world.login(client, "tleader")
    page = client.get("/participation/triage/")
    html = page.content.decode()
    assert page.status_code == 200
    assert report.token in html
    assert "138****1111" in html
    assert "13800001111" not in html
    assert "someone@example.com" not in html
    r = client.post(f"/participation/triage/{report.pk}/accept/")
    report.refresh_from_db()
    assert r.status_code == 302
    assert r["Location"] == f"/calls/{report.call.pk}/"
    # another township's staff cannot see or decide it
    other = report_of()
    world.login(client, "reporter_t2")
    assert other.token not in client.get("/participation/triage/").content.decode()
    assert (
        client.post(f"/participation/triage/{other.pk}/reject/", {"reason": "x"}).status_code == 404
    )
    world.login(client, "tleader")
    r = client.post(f"/participation/triage/{other.pk}/reject/", {"reason": ""})
    other.refresh_from_db()
    assert other.status == ReportStatus.NEW
    client.post(f"/participation/triage/{other.pk}/reject/", {"reason": "不属实"})
    other.refresh_from_db()
    assert other.status == ReportStatus.REJECTED
    rejected = client.get("/participation/triage/?status=rejected").content.decode()
    assert "不属实" in rejected


@pytest.mark.parametrize(
    ("key", "shown"), [("reporter", True), ("operator", True), ("handler", False)]
)
def test_the_workbench_links_to_the_triage_queue(world, client, key, shown):
    world.login(client, key)
    assert (b"/participation/triage/" in client.get("/").content) is shown
