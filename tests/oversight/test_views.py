"""The oversight pages: who sees which regions, the figures per county and township,
and the rollout report with its Excel and CSV twins."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from tests.oversight import scene as sc
from xianghu.assessment.dashboards import today_in_china
from xianghu.oversight import selectors
from xianghu.oversight.selectors import Rates, competition_ranks

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    return sc.build()


def client_for(scene, key) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(scene.users[key])
    return c


def counties_shown(response) -> set[str]:
    return {row.region.code for row in response.context["counties"]}


def test_province_user_sees_every_county(scene):
    r = client_for(scene, "province").get("/oversight/")
    assert r.status_code == 200
    assert r.context["region"].code == "370000"
    assert counties_shown(r) == {"371221", "371222", "371321"}
    assert {c.code for c in r.context["children"]} == {"371200", "371300"}
    # drill down into the other city, a county, a township
    c = client_for(scene, "province")
    assert counties_shown(c.get("/oversight/region/371300/")) == {"371321"}
    assert c.get("/oversight/region/371221/").status_code == 200
    assert c.get("/oversight/region/371221101/").status_code == 200


def test_city_user_sees_its_city_only(scene):
    c = client_for(scene, "city")
    r = c.get("/oversight/")
    assert r.context["region"].code == "371200"
    assert counties_shown(r) == {"371221", "371222"}
    assert c.get("/oversight/region/371321/").status_code == 404
    assert c.get("/oversight/region/371300/").status_code == 404
    assert c.get("/oversight/region/370000/").status_code == 404
    assert c.get("/oversight/region/371222/").status_code == 200


def test_county_user_gets_404_for_another_county(scene):
    c = client_for(scene, "county")
    r = c.get("/oversight/")
    assert r.context["region"].code == "371221"
    assert {t.region.code for t in r.context["townships"]} == {"371221101", "371221102"}
    assert c.get("/oversight/region/371221101/").status_code == 200
    for code in ("371222", "371321", "371200", "370000", "999999", "371222101"):
        assert c.get(f"/oversight/region/{code}/").status_code == 404, code
    # the rollout report of another region is refused the same way
    assert c.get("/oversight/rollout/?region=371222").status_code == 404


def test_user_without_membership_is_refused(scene):
    from tests import factories as f

    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(f.UserFactory(username="nobody"))
    assert c.get("/oversight/").status_code == 403
    assert c.get("/oversight/region/371221/").status_code == 403


def test_county_figures(scene):
    r = client_for(scene, "province").get("/oversight/")
    rows = {row.region.code: row for row in r.context["counties"]}
    qh = rows["371221"]
    assert qh.list.derived
    assert qh.list.published
    assert qh.list.version.number == 1
    assert (qh.list.added, qh.list.split, qh.list.removed) == (2, 1, 1)
    assert qh.list.backlog == 0
    m = qh.mechanism
    assert (m.operators, m.callable_items, m.with_steps, m.recent_calls) == (1, 3, 2, 2)
    assert m.procedures_share == Decimal("0.6667")
    assert not m.procedures_done
    assert not m.live
    assert qh.overdue == 1
    assert qh.rates.response is None
    assert qh.rank is None
    ds = rows["371222"]
    assert ds.list.derived
    assert not ds.list.published
    assert (ds.mechanism.operators, ds.mechanism.recent_calls, ds.overdue) == (0, 0, 0)
    nh = rows["371321"]
    assert not nh.list.derived
    assert not nh.list.published
    html = r.content.decode()
    assert "Derived, not published" in html
    assert "No list" in html


def test_township_rows(scene):
    r = client_for(scene, "city").get("/oversight/region/371221/")
    rows = {t.region.code: t for t in r.context["townships"]}
    assert rows["371221101"].overdue == 1
    assert rows["371221102"].overdue == 0
    assert rows["371221101"].organisation.name == "王庄镇人民政府"


def test_composite_and_ranks():
    assert Rates(Decimal("0.9"), Decimal("0.8"), None).composite == Decimal("0.85")
    assert Rates().composite is None
    ranks = competition_ranks(
        {1: Decimal("0.9"), 2: Decimal("0.95"), 3: Decimal("0.9"), 4: None, 5: Decimal("0.5")}
    )
    assert ranks == {2: 1, 1: 2, 3: 2, 5: 4}


def test_bad_period_is_400(scene):
    r = client_for(scene, "province").get("/oversight/?period=2026-13")
    assert r.status_code == 400
    assert r.context["period_error"]


def rollout_rows(scene, on: date) -> dict[str, tuple[bool, bool, bool]]:
    report = selectors.rollout(selectors.counties_under(scene.province), on=on)
    return {
        r.region.code: (r.list_compiled, r.procedures_designed, r.mechanism_live)
        for r in report.rows
    }


def test_rollout_rows_follow_the_date(scene):
    from xianghu.catalog.models import Item, ProcedureStep

    before = rollout_rows(scene, date(2026, 1, 9))
    assert before["371221"] == (False, False, False)
    today = today_in_china()
    assert rollout_rows(scene, today)["371221"] == (True, False, False)
    ProcedureStep.objects.create(
        item=Item.objects.get(version__catalogue__region=scene.counties["qinghe"], code="L-01"),
        order=1,
        name="受理",
        party="lead",
    )
    assert rollout_rows(scene, today)["371221"] == (True, True, True)
    assert rollout_rows(scene, today)["371222"] == (False, False, False)


def test_rollout_page_and_twins(scene):
    c = client_for(scene, "province")
    r = c.get("/oversight/rollout/?date=2026-02-01")
    assert r.status_code == 200
    assert r.context["report"].totals == {
        "counties": 3,
        "list_compiled": 1,
        "procedures_designed": 0,
        "mechanism_live": 0,
    }
    x = c.get("/oversight/rollout/?date=2026-02-01&format=xlsx")
    assert x.status_code == 200
    assert x["Content-Disposition"].endswith('rollout-2026-02-01.xlsx"')
    sheet = load_workbook(io.BytesIO(x.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    body = [v for v in values if v and v[0] in ("371221", "371222", "371321")]
    assert [v[:5] for v in body] == [
        ["371221", "清河县", "Yes", "No", "No"],
        ["371222", "东山县", "No", "No", "No"],
        ["371321", "南湖县", "No", "No", "No"],
    ]
    assert values[-1][1:] == ["Total (3 counties)", 1, 0, 0]
    t = c.get("/oversight/rollout/?date=2026-02-01&format=csv")
    rows = list(csv.reader(io.StringIO(t.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Code",
        "County",
        "List compiled",
        "Procedures designed",
        "Call mechanism live",
    ]
    assert [row[:5] for row in rows[1:4]] == [v[:5] for v in body]
    assert rows[-1] == ["", "Total (3 counties)", "1", "0", "0"]
    # a city user's report has its own counties only
    city = client_for(scene, "city").get("/oversight/rollout/?date=2026-02-01&format=csv")
    codes = [row[0] for row in csv.reader(io.StringIO(city.content.decode("utf-8-sig")))]
    assert codes[1:-1] == ["371221", "371222"]


def test_rollout_bad_date(scene):
    r = client_for(scene, "province").get("/oversight/rollout/?date=2026-02-31")
    assert r.status_code == 400


def test_query_count_of_the_main_page(scene):
    c = client_for(scene, "province")
    c.get("/oversight/")  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/oversight/").status_code == 200
    three = len(ctx.captured_queries)
    sc.f.county("371223", "西河县")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/oversight/").status_code == 200
    # a fixed number for the table, plus the metrics of each county
    assert len(ctx.captured_queries) - three == PER_COUNTY
    assert three == FIXED + 3 * PER_COUNTY


PER_COUNTY = 6
FIXED = 21


def test_the_menu_offers_oversight_to_province_and_city_users_only(scene):
    for key, shown in (("province", True), ("city", True), ("county", False)):
        html = client_for(scene, key).get("/").content.decode()
        assert ('data-testid="nav-oversight"' in html) is shown, key
