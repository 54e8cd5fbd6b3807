"""The open government pages (/open/): no login, masked, with JSON and CSV twins, pinned
query counts; rankings published by the assessor, photos cleared by the platform."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.calls.conftest import as_
from tests.calls.test_attachments import png_bytes
from xianghu.assessment.models import (
    EntryStatus,
    Notice,
    NoticeCategory,
    NoticeEntry,
    NoticeKind,
    NoticeStatus,
)
from xianghu.assessment.periods import Period
from xianghu.calls.attachments import attachment_save
from xianghu.calls.workflow import State
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.masking import contains_personal_data
from xianghu.core.workdays import CHINA_TZ
from xianghu.participation.models_open import PhotoClearance, PublishedRanking
from xianghu.participation.open import services as open_services

PHONE = "13912345678"
ID_NUMBER = "371221198503124512"
PLATE = "鲁C12345"


def close_call(act, call, *, result="已清理完毕", evaluation="satisfied"):
    """Drive a draft call of 王庄镇 through the loop to closed (lead: 应急管理局)."""
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    from xianghu.calls.services import suggested_dispatch

    lead = suggested_dispatch(call=call)["lead"]
    act("operator", call, "dispatch", lead=lead, assisting=[])
    act("handler", call, "sign")
    act("handler", call, "respond", mode="on_site")
    act("handler", call, "complete", result=result)
    act("reporter", call, "evaluate", evaluation=evaluation, resolved="yes")
    assert call.state == State.CLOSED
    return call


@pytest.fixture
def closed_case(world, lists, act, new_call):
    call = new_call(
        title=f"村民{PHONE}反映易燃物",
        description=f"联系人张三，电话{PHONE}，身份证{ID_NUMBER}，车辆{PLATE}停在厂房门口。",
    )
    return close_call(act, call, result=f"已清理，回访电话{PHONE}。")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


def _json(client: Client, url: str) -> dict:
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}format=json")
    assert r.status_code == 200, r.content[:500]
    assert r["Content-Type"].startswith("application/json")
    return r.json()


def _csv(client: Client, url: str) -> list[list[str]]:
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}format=csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_index_lists_every_section_with_its_twins(world, lists, client):
    r = client.get("/open/")
    assert r.status_code == 200
    html = r.content.decode()
    for key in ("lists", "duties", "rankings", "notices", "cases", "statistics", "consultations"):
        assert f'data-testid="section-{key}"' in html
    doc = _json(client, "/open/")
    assert doc["county"]["code"] == world.county.code
    assert {row["key"] for row in doc["results"]} >= {"cases", "statistics", "notices"}
    cases = next(row for row in doc["results"] if row["key"] == "cases")
    assert cases["json"].endswith("format=json")
    rows = _csv(client, "/open/")
    assert rows[0] == ["key", "title", "url", "json", "csv"]


def test_an_unknown_format_is_refused_clearly(world, lists, client):
    r = client.get("/open/cases/?format=xml")
    assert r.status_code == 400
    assert "format=json" in r.content.decode()


def test_closed_cases_are_public_and_masked_in_every_form(world, lists, client, closed_case):
    r = client.get("/open/cases/")
    assert r.status_code == 200
    html = r.content.decode()
    assert closed_case.number in html
    assert PHONE not in html
    assert "139****5678" in html
    assert not contains_personal_data(html)

    detail = client.get(f"/open/cases/{closed_case.number}/").content.decode()
    for secret in (PHONE, ID_NUMBER, PLATE):
        assert secret not in detail
    assert "371221********4512" in detail
    assert "已清理，回访电话139****5678。" in detail
    assert "应急管理局" in detail  # the lead, a public body
    assert world.users["reporter"].username not in detail

    doc = _json(client, "/open/cases/")
    assert doc["count"] == 1
    [row] = doc["results"]
    assert row["number"] == closed_case.number
    assert row["township"] == world.t1.name
    assert row["evaluation"] == "satisfied"
    assert row["completed_on_time"] is True
    assert not contains_personal_data(str(doc))
    one = _json(client, f"/open/cases/{closed_case.number}/")["object"]
    assert one["description"].startswith("联系人张三，电话139****5678")
    assert not contains_personal_data(str(one))
    table = _csv(client, "/open/cases/")
    assert table[0][0] == "number"
    assert table[1][0] == closed_case.number
    assert not contains_personal_data(str(table))


def test_only_closed_calls_are_cases(world, lists, client, new_call, act):
    call = new_call()
    act("reporter", call, "submit")
    assert client.get("/open/cases/?format=json").json()["count"] == 0
    assert client.get(f"/open/cases/{call.number}/").status_code == 404


def test_the_case_list_filters_and_pins_its_queries(
    world, lists, client, act, new_call, django_assert_max_num_queries
):
    for i in range(3):
        close_call(act, new_call(title=f"第{i}件"))
    with django_assert_max_num_queries(12):
        r = client.get("/open/cases/")
    assert r.status_code == 200
    with django_assert_max_num_queries(12):
        doc = client.get("/open/cases/?format=json").json()
    assert doc["count"] == 3
    assert client.get(f"/open/cases/?township={world.t2.code}&format=json").json()["count"] == 0
    assert client.get(f"/open/cases/?township={world.t1.code}&format=json").json()["count"] == 3
    assert client.get("/open/cases/?q=第1件&format=json").json()["count"] == 1


def test_photos_are_public_only_once_cleared(world, lists, client, closed_case, media):
    photo = attachment_save(
        actor=as_(world, "reporter"),
        call=closed_case,
        upload=SimpleUploadedFile("现场.png", png_bytes(), content_type="image/png"),
    )
    assert client.get(f"/open/photos/{photo.pk}/").status_code == 404
    assert _json(client, f"/open/cases/{closed_case.number}/")["object"]["photos"] == []

    # Only the platform centre clears (the manage page is 404 to anyone else).
    world.login(client, "reporter")
    assert client.get(f"/open/manage/cases/{closed_case.number}/photos/").status_code == 404
    with pytest.raises(PermissionDenied):
        open_services.photo_clear(actor=as_(world, "reporter"), attachment=photo)
    world.login(client, "operator")
    page = client.get(f"/open/manage/cases/{closed_case.number}/photos/")
    assert page.status_code == 200
    r = client.post(
        f"/open/manage/cases/{closed_case.number}/photos/",
        {"photo": photo.pk, "action": "clear"},
    )
    assert r.status_code == 302
    assert PhotoClearance.objects.filter(attachment=photo).exists()
    client.logout()
    served = client.get(f"/open/photos/{photo.pk}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert _json(client, f"/open/cases/{closed_case.number}/")["object"]["photos"] == [
        f"/open/photos/{photo.pk}/"
    ]
    # Withdrawn: gone again.
    open_services.photo_withdraw(actor=as_(world, "operator"), attachment=photo)
    assert client.get(f"/open/photos/{photo.pk}/").status_code == 404


def test_a_photo_of_an_open_call_cannot_be_cleared(world, lists, new_call, media):
    call = new_call()
    photo = attachment_save(
        actor=as_(world, "reporter"),
        call=call,
        upload=SimpleUploadedFile("a.png", png_bytes(), content_type="image/png"),
    )
    with pytest.raises(InvalidInput):
        open_services.photo_clear(actor=as_(world, "operator"), attachment=photo)


def test_each_departments_duties(world, lists, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        doc = _json(client, "/open/duties/")
    names = {row["name"] for row in doc["results"]}
    assert world.orgs["dept"].name in names
    dept = next(row for row in doc["results"] if row["name"] == world.orgs["dept"].name)
    assert dept["primary_items"] >= 1
    with django_assert_max_num_queries(10):
        r = client.get(dept["url"])
    assert r.status_code == 200
    one = _json(client, dept["url"])
    primary = [row for row in one["results"] if row["role"] == "primary"]
    assert any(row["code"] == "D1-01" for row in primary)
    d101 = next(row for row in primary if row["code"] == "D1-01")
    assert d101["primary_duties"]
    assert "cooperating_duties" in d101
    towns = _json(client, "/open/duties/townships/")
    assert all(row["primary"] == ["乡镇人民政府"] or row["primary"] for row in towns["results"])
    assert client.get(f"/open/duties/{world.orgs['dept_b'].pk}/").status_code == 404


def _notice(world, status=NoticeStatus.ISSUED):
    notice = Notice.objects.create(
        county=world.county,
        kind=NoticeKind.MONTHLY,
        status=status,
        period_key="2025-03",
        starts_on=date(2025, 3, 1),
        ends_on=date(2025, 3, 31),
        period_label="2025年3月",
        title="关于2025年3月乡呼县应响应情况的通报",
        summary=f"经核查，群众来电{PHONE}反映问题未及时响应。",
        as_of="2025-04-01T00:00:00+08:00",
        year=2025 if status == NoticeStatus.ISSUED else None,
        serial=1 if status == NoticeStatus.ISSUED else None,
        issued_at="2025-04-02T09:00:00+08:00" if status == NoticeStatus.ISSUED else None,
    )
    NoticeEntry.objects.create(
        notice=notice,
        organisation=world.orgs["dept"],
        subject_name=world.orgs["dept"].name,
        subject_kind="department",
        category=NoticeCategory.NO_RESPONSE,
        figures={"response_rate": "0.5000", "satisfaction_rate": None},
        calls=[{"id": 1, "number": "3712212503010001", "title": f"{PLATE}占道"}],
        status=EntryStatus.AWAITING,
    )
    return notice


def test_only_issued_notices_are_public(world, lists, client):
    issued = _notice(world)
    draft = Notice.objects.create(
        county=world.county,
        kind=NoticeKind.MONTHLY,
        period_key="2025-04",
        starts_on=date(2025, 4, 1),
        ends_on=date(2025, 4, 30),
        period_label="2025年4月",
        title="草稿通报",
        as_of="2025-05-01T00:00:00+08:00",
    )
    doc = _json(client, "/open/notices/")
    assert [row["id"] for row in doc["results"]] == [issued.pk]
    assert client.get(f"/open/notices/{draft.pk}/").status_code == 404
    page = client.get(f"/open/notices/{issued.pk}/").content.decode()
    assert world.orgs["dept"].name in page
    assert PHONE not in page
    assert PLATE not in page
    assert not contains_personal_data(page)
    one = _json(client, f"/open/notices/{issued.pk}/")
    assert one["notice"]["number"]
    assert one["results"][0]["category"] == "no_response"
    assert one["results"][0]["calls"] == ["3712212503010001 鲁C·***45占道"]


def test_rankings_are_published_by_the_assessor_once_per_period(world, lists, client):
    period = Period.month(2025, 3)
    with pytest.raises(PermissionDenied):
        open_services.ranking_publish(
            actor=as_(world, "operator"), county=world.county, period=period
        )
    with pytest.raises(InvalidInput) as not_over:
        open_services.ranking_publish(
            actor=as_(world, "assessor"),
            county=world.county,
            period=Period.month(2025, 3),
            now=datetime(2025, 3, 20, tzinfo=CHINA_TZ),
        )
    assert not_over.value.code == "open.period_not_over"
    assert _json(client, "/open/rankings/")["count"] == 0

    world.login(client, "operator")
    assert client.get("/open/manage/rankings/").status_code == 403
    world.login(client, "assessor")
    r = client.post("/open/manage/rankings/", {"period": "2025-03"})
    assert r.status_code == 302
    ranking = PublishedRanking.objects.get()
    assert ranking.period_key == "2025-03"
    assert set(ranking.data) == {"department", "stationed_agency", "township"}
    again = client.post("/open/manage/rankings/", {"period": "2025-03"})
    assert again.status_code == 400
    assert "2025-03" in again.content.decode()
    with pytest.raises(Conflict):
        open_services.ranking_publish(
            actor=as_(world, "assessor"), county=world.county, period=period
        )
    bad = client.post("/open/manage/rankings/", {"period": "2025-13"})
    assert bad.status_code == 400

    client.logout()
    doc = _json(client, "/open/rankings/")
    assert [row["period"] for row in doc["results"]] == ["2025-03"]
    detail = _json(client, doc["results"][0]["url"])
    names = {row["name"] for row in detail["results"]}
    assert world.orgs["dept"].name in names
    assert client.get(doc["results"][0]["url"]).status_code == 200


def test_monthly_statistics_count_the_closed_cases(
    world, lists, client, closed_case, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        r = client.get("/open/statistics/")
    assert r.status_code == 200
    doc = _json(client, "/open/statistics/")
    assert len(doc["results"]) == 12
    this_month = doc["results"][0]
    assert this_month["calls"] == 1
    assert this_month["closed"] == 1
    assert this_month["received"] == 1
    assert this_month["response_rate"] == "1.0000"
    table = _csv(client, "/open/statistics/")
    assert table[0] == [
        "month",
        "calls",
        "closed",
        "received",
        "response_rate",
        "completion_rate",
        "satisfaction_rate",
        "overdue",
    ]
    assert len(table) == 13


def test_lists_paginate_the_same_in_every_form(world, lists, client, act, new_call, monkeypatch):
    from xianghu.participation.open import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    for i in range(3):
        close_call(act, new_call(title=f"第{i}件"))
    first = _json(client, "/open/cases/")
    assert first["count"] == 3
    assert first["pages"] == 2
    assert len(first["results"]) == 2
    assert first["next"].endswith("page=2") or "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert 'data-testid="next-page"' in client.get("/open/cases/").content.decode()


def test_the_demo_open_data_is_built_once(db, settings, tmp_path):
    from django.core.management import call_command

    from xianghu.calls.models import Call
    from xianghu.demo.county import COUNTY_CODE
    from xianghu.demo.open import DEMO_PHONE, build_demo_open
    from xianghu.participation.models_open import Consultation
    from xianghu.regions.models import Region

    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("demo_county", "--quiet", "--no-history")
    county = Region.objects.get(code=COUNTY_CODE)
    first = build_demo_open(county=county)
    counts = (Call.objects.count(), Consultation.objects.count(), PublishedRanking.objects.count())
    again = build_demo_open(county=county)
    assert first == again
    assert counts == (
        Call.objects.count(),
        Consultation.objects.count(),
        PublishedRanking.objects.count(),
    )
    assert first.cases == 2
    assert Call.objects.filter(state=State.CLOSED, description__contains=DEMO_PHONE).count() == 2
    assert PhotoClearance.objects.count() == 1
    assert set(Consultation.objects.values_list("state", flat=True)) == {"closed", "open"}
