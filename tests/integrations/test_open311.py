"""Open311 GeoReport v2 conformance: every point of the checklist in
../shared/open311/README.md §11, in XML and JSON, JSON validated against the schemas."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.calls.conftest import as_
from tests.integrations.conftest import validate
from xianghu.calls.models import Call, Dispatch, Urgency
from xianghu.calls.workflow import State
from xianghu.catalog import services as catalog_services
from xianghu.catalog.models import ScopeLevel
from xianghu.participation.models import PublicReport, ReportStatus
from xianghu.participation.services import publicreport_accept

FORMATS = ["json", "xml"]
OFFSET = "+08:00"


def submitted(new_call, act, **kw):
    call = new_call(**kw)
    act("reporter", call, "submit")
    return call


def dispatched(world, new_call, act, **kw):
    call = submitted(new_call, act, **kw)
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    return call


def closed(world, new_call, act):
    call = dispatched(world, new_call, act)
    act("handler", call, "sign")
    act("handler", call, "respond", mode="on_site")
    act("handler", call, "complete", result="已督促企业清理")
    act("reporter", call, "evaluate", evaluation="satisfied", resolved="yes")
    assert call.state == State.CLOSED
    return call


def ids(answer) -> list[str]:
    return [r["service_request_id"] for r in answer.data]


def assert_w3c(value: str) -> None:
    assert value.endswith(OFFSET), value
    assert datetime.fromisoformat(value).utcoffset() == timedelta(hours=8)


# ---- 1 discovery --------------------------------------------------------------------------


def test_discovery_in_both_formats(o311, lists):
    j, _x = o311.both("discovery")
    assert j.status == 200
    d = j.data
    assert set(d) == {"changeset", "contact", "key_service", "endpoints"}
    assert d["contact"]
    assert d["key_service"]
    assert_w3c(d["changeset"])
    (endpoint,) = d["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] in ("production", "test")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


# ---- services (2.3, 2.4), checklist 9, 10 -------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_callable_items_of_the_list_in_force(o311, lists, fmt):
    j, _x = o311.both("services")
    validate("services.json", j.data)
    codes = [s["service_code"] for s in j.data]
    assert codes == [
        i.code
        for i in lists.version.items.filter(callable=True).order_by(
            "domain__order", "order", "code"
        )
    ]
    assert "D7-04" not in codes  # removed from the county's list
    d101 = next(s for s in j.data if s["service_code"] == "D1-01")
    assert d101["service_name"] == "工矿商贸企业安全生产监管"
    assert d101["keywords"] == "安全生产,隐患"
    assert d101["group"] == lists.version.items.get(code="D1-01").domain.name
    assert d101["metadata"] is True
    assert d101["type"] == "batch"
    answer = o311.get("services", fmt)
    assert answer.status == 200
    assert len(answer.data) == len(codes)


def test_an_uncallable_item_is_not_a_service(o311, lists):
    lists.version.items.filter(code="D1-01").update(callable=False)
    codes = [s["service_code"] for s in o311.get("services").data]
    assert "D1-01" not in codes
    assert o311.get("services/D1-01").status == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(o311, lists, fmt):
    j, _x = o311.both("services/D1-01")
    validate("service-definition.json", j.data)
    assert j.data["service_code"] == "D1-01"
    urgency, duties = j.data["attributes"]
    assert urgency["code"] == "urgency"
    assert urgency["datatype"] == "singlevaluelist"
    assert [v["key"] for v in urgency["values"]] == list(Urgency.values)
    assert duties["variable"] is False
    assert "应急管理局" in duties["description"]
    orders = [a["order"] for a in j.data["attributes"]]
    assert len(set(orders)) == len(orders)
    assert min(orders) >= 1
    missing = o311.get("services/NOPE-1", fmt)
    assert missing.status == 404


# ---- 3 jurisdiction_id ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["services", "services/D1-01", "requests"])
def test_jurisdiction_id(o311, world, lists, fmt, path):
    assert o311.get(path, fmt, jurisdiction_id=world.county.code).status == 200
    assert o311.get(path, fmt, jurisdiction_id="").status == 200  # empty = absent
    assert o311.get(path, fmt).status == 200  # one county served: optional
    assert o311.get(path, fmt, jurisdiction_id="999999").status == 404
    # A second county with a list makes the server multi-jurisdiction: now it is required.
    catalog_services.catalogue_get_or_create(
        level=ScopeLevel.COUNTY, region=world.other_county, name="柳河县清单"
    )
    assert o311.get(path, fmt).status == 400
    assert o311.get(path, fmt, jurisdiction_id=world.county.code).status == 200


# ---- requests (2.7, 2.8), checklist 4–9, 13, 14 -------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_list_the_county_calls_but_not_drafts(o311, world, lists, new_call, act, fmt):
    draft = new_call()
    call = dispatched(
        world,
        new_call,
        act,
        latitude=Decimal("36.8"),
        longitude=Decimal("115.7"),
        address="王庄镇1村",
    )
    j, _x = o311.both("requests")
    validate("requests.json", j.data)
    assert ids(j) == [call.number]
    assert draft.number not in o311.get("requests", fmt).raw.decode()
    (row,) = j.data
    assert row["status"] == "open"
    assert row["status_notes"] == str(State(call.state).label)
    assert row["service_code"] == "D1-01"
    assert row["service_name"] == "工矿商贸企业安全生产监管"
    # 9: the lead department; 8: its deadline; 10: the list's text.
    assert row["agency_responsible"] == world.orgs["dept"].name == "清河县应急管理局"
    lead = Dispatch.objects.get(call=call, role="lead", active=True)
    assert row["expected_datetime"] == timezone.localtime(lead.complete_due).isoformat(
        timespec="seconds"
    )
    item = lists.version.items.get(code="D1-01")
    assert item.primary_duties.strip() in row["service_notice"]
    assert row["lat"] == 36.8
    assert row["long"] == 115.7
    assert row["address"] == "王庄镇1村"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert_w3c(row[field])
    assert isinstance(row["service_request_id"], str)


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_request(o311, world, lists, new_call, act, fmt):
    call = dispatched(world, new_call, act)
    j, _x = o311.both(f"requests/{call.number}")
    validate("requests.json", j.data)
    assert ids(j) == [call.number]
    assert o311.get("requests/37122199999999", fmt).status == 404
    draft = new_call()
    assert o311.get(f"requests/{draft.number}", fmt).status == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_status_is_open_or_closed_with_the_state_in_notes(o311, world, lists, new_call, act, fmt):
    open_call = submitted(new_call, act)
    done = closed(world, new_call, act)
    rows = {r["service_request_id"]: r for r in o311.get("requests", fmt).data}
    assert rows[open_call.number]["status"] == "open"
    assert rows[done.number]["status"] == "closed"
    assert rows[done.number]["status_notes"] == str(State.CLOSED.label)
    done.refresh_from_db()
    assert rows[done.number]["updated_datetime"] == timezone.localtime(
        done.state_changed_at
    ).isoformat(timespec="seconds")
    assert ids(o311.get("requests", fmt, status="closed")) == [done.number]
    assert ids(o311.get("requests", fmt, status="open")) == [open_call.number]
    assert set(ids(o311.get("requests", fmt, status="open,closed"))) == {
        open_call.number,
        done.number,
    }
    assert o311.get("requests", fmt, status="pending").status == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_parameters_are_absent_ones(o311, world, lists, new_call, act, fmt):
    call = submitted(new_call, act)
    empty = o311.get(
        "requests",
        fmt,
        status="",
        service_code="",
        start_date="",
        end_date="",
        service_request_id="",
        page="",
        page_size="",
        jurisdiction_id="",
    )
    assert empty.status == 200
    assert ids(empty) == [call.number]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_default_window_is_the_last_90_days(o311, world, lists, new_call, act, fmt):
    recent = submitted(new_call, act)
    old = submitted(new_call, act)
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=100))
    assert ids(o311.get("requests", fmt)) == [recent.number]
    start = (timezone.now() - timedelta(days=110)).isoformat(timespec="seconds")
    end = (timezone.now() - timedelta(days=30)).isoformat(timespec="seconds")
    assert ids(o311.get("requests", fmt, start_date=start, end_date=end)) == [old.number]
    # only a start: 90 days from it; only an end: the 90 days before it
    assert ids(o311.get("requests", fmt, start_date=start)) == [old.number]
    assert ids(o311.get("requests", fmt, end_date=end)) == [old.number]
    # a date without a time is the county's day (an end date: to its end)
    today = timezone.localdate().isoformat()
    assert ids(o311.get("requests", fmt, start_date=today, end_date=today)) == [recent.number]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-02T00:00:00+08:00"},
        {"start_date": "2026-02-01", "end_date": "2026-01-01"},
        {"start_date": "yesterday"},
        {"end_date": "2026-13-45T00:00:00Z"},
        {"page_size": "1001"},
        {"page": "0"},
        {"page_size": "ten"},
    ],
)
def test_bad_filters_are_400(o311, lists, fmt, params):
    answer = o311.get("requests", fmt, **params)
    assert answer.status == 400


def test_several_errors_come_back_together(o311, lists):
    answer = o311.get("requests", status="pending", start_date="soon")
    assert answer.status == 400
    assert len(answer.data) == 2


def test_at_most_1000_requests_by_default(o311, world, lists, new_call, act):
    template = submitted(new_call, act)
    now = timezone.now()
    rows = []
    for n in range(1000):
        template.pk = None
        template.number = f"T{n:08d}"
        template.idempotency_key = None
        template.created_at = now - timedelta(minutes=n + 1)
        rows.append(Call(**{f.attname: getattr(template, f.attname) for f in Call._meta.fields}))
    Call.objects.bulk_create(rows)
    answer = o311.get("requests")
    assert len(answer.data) == 1000
    assert answer.data[-1]["service_request_id"] == "T00000998"  # newest first; 1 001 exist
    page2 = o311.get("requests", page="2")
    assert ids(page2) == ["T00000999"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_pages(o311, world, lists, new_call, act, fmt):
    calls = [submitted(new_call, act) for _ in range(3)]
    newest_first = [c.number for c in reversed(calls)]
    assert ids(o311.get("requests", fmt, page_size="2")) == newest_first[:2]
    assert ids(o311.get("requests", fmt, page_size="2", page="2")) == newest_first[2:]
    assert ids(o311.get("requests", fmt, page_size="2", page="3")) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_id_list_overrides_the_other_filters(
    o311, world, lists, new_call, act, fmt
):
    a = submitted(new_call, act)
    b = submitted(new_call, act, code="D1-04-1")
    Call.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=200))
    answer = o311.get(
        "requests",
        fmt,
        service_request_id=f"{a.number}, {b.number}",
        status="closed",
        service_code="QH-01",
        start_date="2020-01-01",
    )
    assert answer.status == 200
    assert set(ids(answer)) == {a.number, b.number}
    assert ids(o311.get("requests", fmt, service_code="D1-04-1")) == [b.number]
    assert set(ids(o311.get("requests", fmt, service_code="D1-01,D1-04-1"))) == {b.number}


def test_no_personal_data_in_requests(o311, world, lists, new_call, act, keys):
    world.users["reporter"].name = "张三丰"
    world.users["reporter"].phone = "13812345678"
    world.users["reporter"].save()
    submitted(new_call, act)
    posted = o311.post(
        api_key=keys.township,
        service_code="D1-01",
        address_string="王庄镇",
        first_name="李",
        last_name="四",
        phone="13987654321",
        email="li@example.com",
        description="路灯不亮",
    )
    call = Call.objects.get(number=posted.data[0]["service_request_id"])
    act("reporter", call, "submit")
    for fmt in FORMATS:
        raw = o311.get("requests", fmt).raw.decode()
        for secret in ("张三丰", "13812345678", "13987654321", "li@example.com", "李"):
            assert secret not in raw


# ---- POST requests (2.5), checklist 11, 15 ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_township_system_posts_a_draft_call(o311, world, lists, keys, fmt):
    answer = o311.post(
        fmt,
        api_key=keys.township,
        service_code="D1-01",
        lat="36.81",
        long="115.72",
        address_string="王庄镇1村东头",
        description="<b>厂房</b>内堆放易燃物品\n存在隐患",
        **{"attribute[urgency]": "urgent"},
    )
    assert answer.status == 200, answer.data
    (row,) = answer.data
    assert set(row) == {"service_request_id", "service_notice"}
    call = Call.objects.get(number=row["service_request_id"])
    assert call.state == State.DRAFT
    assert call.caller == world.orgs["t1"]
    assert call.item.code == "D1-01"
    assert call.urgency == "urgent"
    assert call.latitude == Decimal("36.810000")
    assert call.longitude == Decimal("115.720000")
    assert call.description.startswith("厂房内堆放易燃物品")
    assert call.location.parent == world.t1
    assert call.location.name == "王庄镇1村"
    assert "应急管理局" in row["service_notice"]
    # the township submits it; then it is a public service request
    assert o311.get(f"requests/{call.number}", fmt).status == 404
    act_actor = as_(world, "reporter")
    from xianghu.calls import services as call_services

    call_services.call_transition(actor=act_actor, call=call, action="submit", data={})
    assert ids(o311.get(f"requests/{call.number}", fmt)) == [call.number]


def test_a_village_key_calls_for_its_township(o311, world, lists, keys):
    answer = o311.post(api_key=keys.village, service_code="D1-01", address_string="村口")
    call = Call.objects.get(number=answer.data[0]["service_request_id"])
    assert call.caller == world.orgs["t1"]


def test_posting_is_idempotent_with_a_key(o311, world, lists, keys):
    form = {"api_key": keys.township, "service_code": "D1-01", "address_string": "王庄镇"}
    first = o311.post(headers={"Idempotency-Key": "abc-1"}, **form)
    again = o311.post(headers={"Idempotency-Key": "abc-1"}, **form)
    assert first.data == again.data
    assert Call.objects.count() == 1
    by_field = o311.post(idempotency_key="abc-1", **form)
    assert by_field.data == first.data


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "which", [None, "", "garbage", "xh_dead_beef", "revoked", "department", "other_county"]
)
def test_a_bad_api_key_is_403(o311, world, lists, keys, fmt, which):
    form = {"service_code": "D1-01", "address_string": "王庄镇"}
    if which is not None:
        form["api_key"] = getattr(keys, which, which)
    answer = o311.post(fmt, **form)
    assert answer.status == 403
    assert Call.objects.count() == 0
    assert PublicReport.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_gets_need_no_key_and_ignore_one(o311, lists, fmt):
    assert o311.get("services", fmt, api_key="garbage").status == 200
    assert o311.get("requests", fmt, api_key="garbage").status == 200


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"service_code": "NOPE-9", "address_string": "王庄镇"}, 404),
        ({"address_string": "王庄镇"}, 400),
        ({"service_code": "", "address_string": "王庄镇"}, 400),
        ({"service_code": "D1-01"}, 400),  # no location
        ({"service_code": "D1-01", "address_string": ""}, 400),  # empty = absent
        ({"service_code": "D1-01", "lat": "36.8"}, 400),  # only one coordinate
        ({"service_code": "D1-01", "lat": "north", "long": "115"}, 400),
        ({"service_code": "D1-01", "lat": "96", "long": "115"}, 400),
        ({"service_code": "D1-01", "address_string": "x", "attribute[urgency]": "asap"}, 400),
        ({"service_code": "D1-01", "address_string": "x", "attribute[colour]": "red"}, 400),
        (
            {
                "service_code": "D1-01",
                "address_string": "x",
                "attribute[urgency][]": ["urgent", "normal"],
            },
            400,
        ),
        ({"service_code": "D1-01", "address_string": "x", "description": "长" * 4001}, 400),
        ({"service_code": "D1-01", "address_string": "x", "media_url": "javascript:alert(1)"}, 400),
        ({"service_code": "D1-01", "address_string": "柳林镇"}, 400),  # not this township's
    ],
)
def test_bad_posts(o311, world, lists, keys, fmt, form, status):
    answer = o311.post(fmt, api_key=keys.township, **form)
    assert answer.status == status, answer.data
    assert Call.objects.count() == 0


def test_a_multivaluelist_style_attribute_is_read(o311, lists, keys):
    answer = o311.post(
        api_key=keys.township,
        service_code="D1-01",
        address_string="王庄镇",
        **{"attribute[urgency][]": "complex"},
    )
    assert answer.status == 200
    assert Call.objects.get().urgency == "complex"


def test_get_only_resources_refuse_post(o311, lists, keys):
    response = o311.client.post("/open311/v2/services.json", {"api_key": keys.township})
    assert response.status_code == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_resources_are_404_in_the_error_format(o311, lists, fmt):
    response = o311.client.get(f"/open311/v2/nothing/here.{fmt}")
    assert response.status_code == 404
    answer = o311._answer(response, fmt)
    assert answer.data[0]["code"] in (404, "404")


# ---- public clients, tokens (2.6) ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_public_app_gets_a_token_and_the_township_triages(o311, world, lists, keys, fmt):
    answer = o311.post(
        fmt,
        api_key=keys.public,
        service_code="D1-01",
        address_string="王庄镇1村路口",
        email="a@example.com",
        phone="13800001111",
        description="路边堆放烟花",
    )
    assert answer.status == 200, answer.data
    (row,) = answer.data
    assert set(row) == {"token", "service_notice"}
    report = PublicReport.objects.get(token=row["token"])
    assert report.township == world.t1
    assert report.status == ReportStatus.NEW
    assert report.phone == "13800001111"
    assert Call.objects.count() == 0
    pending = o311.get(f"tokens/{row['token']}", fmt)
    assert pending.status == 200
    assert pending.data == [{"service_request_id": None, "token": row["token"]}]
    call = publicreport_accept(actor=as_(world, "tleader"), report=report)
    done, _x = o311.both(f"tokens/{row['token']}")
    assert done.data == [{"service_request_id": call.number, "token": row["token"]}]
    assert o311.get("tokens/unknown", fmt).status == 404


def test_a_public_report_without_a_known_place_goes_to_the_platform(o311, world, lists, keys):
    answer = o311.post(api_key=keys.public, service_code="D1-01", address_string="某地")
    report = PublicReport.objects.get(token=answer.data[0]["token"])
    assert report.township is None


def test_an_unencoded_plus_in_the_offset_is_read(o311, world, lists, new_call, act):
    call = submitted(new_call, act)
    start = timezone.localtime() - timedelta(days=1)
    raw = start.isoformat(timespec="seconds")
    assert raw.endswith("+08:00")
    response = o311.client.get(f"/open311/v2/requests.json?start_date={raw}")  # + → space
    assert response.status_code == 200
    assert [r["service_request_id"] for r in response.json()] == [call.number]
