"""Bad input on the call loop: missing evidence, text over the limit and keys the table
does not list, coordinates outside the county, township-primary items accepted only as
requests for assistance, and evaluations by anyone but the calling township."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import translation

from tests.calls.conftest import as_
from tests.calls.test_attachments import png
from xianghu.calls import services
from xianghu.calls.models import Attachment, Call, CallEvent, Dispatch
from xianghu.calls.services import CallDraft
from xianghu.calls.workflow import TEXT_MAX, State, replay
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.regions.models import Region

pytestmark = pytest.mark.django_db

DEFAULT_RULE = ["respond:on_site", "complete"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def evidence_rule(settings):
    """The production default of the evidence rule (the test settings turn it off)."""
    settings.XH_EVIDENCE_REQUIRED = DEFAULT_RULE
    return settings


def dispatched(world, act, call, **dispatch):
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk, **dispatch)
    return call


def untouched(call: Call, state: str, events: int) -> None:
    """The call is as it was: same state, no new event."""
    call.refresh_from_db()
    assert call.state == state
    assert call.events.count() == events


def transition(world, key, call, action, photos=(), **data):
    return services.call_transition(
        actor=as_(world, key), call=call, action=action, data=data, photos=list(photos)
    )


# ---- 1. evidence ------------------------------------------------------------------------------


def test_the_production_default_asks_for_photos_on_site_and_on_completion():
    from config.settings import base

    if "XH_EVIDENCE_REQUIRED" in os.environ:
        pytest.skip("the environment sets the rule")
    assert base.XH_EVIDENCE_REQUIRED == DEFAULT_RULE
    assert tuple(DEFAULT_RULE) == services.DEFAULT_EVIDENCE_REQUIRED


def test_an_on_site_response_needs_a_photo(world, act, new_call, evidence_rule):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    count = call.events.count()
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        transition(world, "handler", call, "respond", mode="on_site")
    assert exc.value.code == "call.evidence_required"
    assert exc.value.detail[0]["field"] == "photos"
    assert "photo" in str(exc.value.message)
    untouched(call, State.SIGNED, count)
    assert Dispatch.objects.get(call=call).responded_at is None
    # With a photo it goes through, and the photo is the event's.
    event = transition(world, "handler", call, "respond", photos=[png()], mode="on_site")
    assert call.state == State.IN_PROGRESS
    assert list(Attachment.objects.filter(call=call).values_list("event", flat=True)) == [event.pk]


def test_a_response_by_contact_needs_no_photo(world, act, new_call, evidence_rule):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    transition(world, "handler", call, "respond", mode="contact")
    assert call.state == State.IN_PROGRESS
    assert not Attachment.objects.exists()


def test_a_completion_needs_a_photo_of_its_own(world, act, new_call, evidence_rule):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    transition(world, "handler", call, "respond", photos=[png()], mode="on_site")
    count = call.events.count()
    # The on-site photo does not stand for the result.
    with pytest.raises(InvalidInput) as exc:
        transition(world, "handler", call, "complete", result="已清理")
    assert exc.value.code == "call.evidence_required"
    untouched(call, State.IN_PROGRESS, count)
    assert Dispatch.objects.get(call=call).completed_at is None
    transition(world, "handler", call, "complete", photos=[png("结果.png")], result="已清理")
    assert call.state == State.AWAITING_EVALUATION
    assert Attachment.objects.filter(event__action="complete").count() == 1


def test_a_refused_photo_writes_nothing(world, act, new_call, evidence_rule, media):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    count = call.events.count()
    with pytest.raises(InvalidInput) as exc:
        transition(
            world,
            "handler",
            call,
            "respond",
            photos=[png(), SimpleUploadedFile("x.png", b"not an image", content_type="image/png")],
            mode="on_site",
        )
    assert exc.value.code == "call.attachment_not_image"
    untouched(call, State.SIGNED, count)
    assert not Attachment.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_photos_on_an_action_that_takes_none_are_refused(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    with pytest.raises(InvalidInput) as exc:
        transition(world, "tleader", call, "approve", photos=[png()])
    assert exc.value.code == "call.attachment_not_allowed"
    untouched(call, State.SUBMITTED, 2)


def test_the_rule_is_configurable(world, act, new_call, settings):
    settings.XH_EVIDENCE_REQUIRED = []
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="on_site")
    act("handler", call, "complete", result="已清理")
    assert call.state == State.AWAITING_EVALUATION
    # A submission may need a photo; the call's own photos count.
    settings.XH_EVIDENCE_REQUIRED = ["submit"]
    bare = new_call(title="无照片")
    with pytest.raises(InvalidInput) as exc:
        act("reporter", bare, "submit")
    assert exc.value.code == "call.evidence_required"
    event = CallEvent.objects.get(call=bare, action="create")
    Attachment.objects.create(
        call=bare, event=event, content_type="image/png", size=1, sha256="0" * 64, file="x.png"
    )
    act("reporter", bare, "submit")
    assert bare.state == State.SUBMITTED
    # Only actions that take photos may be listed.
    settings.XH_EVIDENCE_REQUIRED = ["approve"]
    with pytest.raises(ImproperlyConfigured):
        services.evidence_required("approve", {})


def respond_page(world, client, call, mode, photos=()):
    world.login(client, "handler")
    data = {"respond-expected_state": call.state, "respond-mode": mode}
    if photos:
        data["photos"] = list(photos)
    return client.post(f"/calls/{call.pk}/act/respond/", data)


def test_the_call_page_refuses_a_response_on_site_without_a_photo(
    world, client, act, new_call, evidence_rule
):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    world.login(client, "handler")
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-testid="photos-required"' in page  # the form says when a photo is needed
    count = call.events.count()
    r = respond_page(world, client, call, "on_site")
    assert r.status_code == 400
    html = r.content.decode()
    assert 'data-testid="action-error"' in html
    assert "照片" in html
    untouched(call, State.SIGNED, count)
    r = respond_page(world, client, call, "on_site", photos=[png()])
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.state == State.IN_PROGRESS
    assert Attachment.objects.get().event.action == "respond"


def test_without_the_rule_the_form_calls_photos_optional(world, client, act, new_call):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    world.login(client, "handler")
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-testid="photos-required"' not in page


# ---- 2. text limits and the fields of an action ----------------------------------------------


def test_text_over_the_limit_is_refused_with_its_own_code(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    with pytest.raises(InvalidInput) as exc:
        act("tleader", call, "send_back", reason="长" * (TEXT_MAX + 1))
    assert exc.value.code == "call.text_too_long"
    assert exc.value.detail[0]["field"] == "reason"
    with translation.override("en"):
        with pytest.raises(InvalidInput) as exc:
            act("tleader", call, "send_back", reason="x" * (TEXT_MAX + 5))
        assert str(TEXT_MAX) in str(exc.value.message)
    untouched(call, State.SUBMITTED, 2)
    act("tleader", call, "send_back", reason="长" * TEXT_MAX)
    assert call.state == State.RETURNED


@pytest.mark.parametrize(
    ("action", "field"),
    [("note", "text"), ("complete", "result"), ("evaluate", "comment")],
)
def test_every_free_text_field_is_capped(world, act, new_call, action, field):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    if action == "evaluate":
        act("handler", call, "complete", result="已处理")
    data = {"text": "进展", "result": "已处理", "evaluation": "satisfied", "resolved": "yes"}
    data[field] = "字" * (TEXT_MAX + 1)
    key = "reporter" if action == "evaluate" else "handler"
    count, state = call.events.count(), call.state
    with pytest.raises(InvalidInput) as exc:
        act(key, call, action, **data)
    assert exc.value.code == "call.text_too_long"
    untouched(call, state, count)


def test_text_that_is_not_text_is_refused(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    with pytest.raises(InvalidInput) as exc:
        act("tleader", call, "send_back", reason={"html": "<b>x</b>"})
    assert exc.value.code == "call.invalid"
    assert exc.value.detail[0]["field"] == "reason"
    untouched(call, State.SUBMITTED, 2)


def test_fields_the_table_does_not_list_are_dropped(world, act, new_call):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact", default_evaluation=True)
    act("handler", call, "complete", result="已处理", item_changed=True, reopen_count=9)
    event = act(
        "reporter",
        call,
        "evaluate",
        evaluation="satisfied",
        resolved="yes",
        comment="好",
        default_evaluation=True,
        evaluation_due="2020-01-01T00:00:00+08:00",
    )
    assert event.data == {
        "evaluation": "satisfied",
        "resolved": "yes",
        "comment": "好",
        "reopen_count": 0,
    }
    planted = {"default_evaluation", "item_changed", "evaluation_due"}
    for e in call.events.all():
        assert not planted & set(e.data), (e.action, e.data)
    assert call.events.get(action="complete").data == {"result": "已处理"}


def test_the_system_keeps_its_own_data(world, act, new_call):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已处理")
    event = act(None, call, "auto_close", evaluation_due="2024-10-10T17:30:00+08:00")
    assert event.data["default_evaluation"] is True
    assert event.data["evaluation_due"] == "2024-10-10T17:30:00+08:00"


def test_a_dispatch_names_at_most_twenty_assisting_departments(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    with pytest.raises(InvalidInput) as exc:
        act("operator", call, "dispatch", lead=world.orgs["dept"].pk, assisting=list(range(21)))
    assert exc.value.code == "call.invalid"
    assert exc.value.detail[0]["field"] == "assisting"
    with pytest.raises(InvalidInput):
        act("operator", call, "dispatch", lead=world.orgs["dept"].pk, assisting="1,2")
    untouched(call, State.ACCEPTED, 4)


def test_the_api_drops_planted_keys_and_refuses_long_text(world, lists, new_call, act):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    client = Client()
    world.login(client, "handler")
    url = f"/api/v1/calls/{call.pk}/actions/complete"
    r = client.post(
        url, {"data": {"result": "字" * (TEXT_MAX + 1)}}, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "call.text_too_long"
    assert r.json()["detail"][0]["field"] == "result"
    r = client.post(
        url,
        {"data": {"result": "已处理", "default_evaluation": True, "lead_name": "假单位"}},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert call.events.get(action="complete").data == {"result": "已处理"}


# ---- 3. coordinates outside the county --------------------------------------------------------


def bound(region: Region) -> Region:
    region.min_latitude, region.max_latitude = Decimal("36.5"), Decimal("36.9")
    region.min_longitude, region.max_longitude = Decimal("116.7"), Decimal("117.1")
    region.full_clean()
    region.save()
    return region


def draft(world, **kw) -> CallDraft:
    kw.setdefault("title", "道路塌陷")
    return CallDraft(description="王庄镇1村村口道路塌陷。", location=world.t1, **kw)


def create(world, **kw):
    return services.call_create(
        actor=as_(world, "reporter"), caller=world.orgs["t1"], draft=draft(world, **kw)
    )


def test_coordinates_outside_the_countys_box_are_refused(world, lists):
    bound(world.county)
    with pytest.raises(InvalidInput) as exc:
        create(world, latitude=Decimal("39.9"), longitude=Decimal("116.4"))
    assert exc.value.code == "call.outside_county"
    assert exc.value.detail == [
        {"field": "latitude", "code": "call.outside_county", "message": exc.value.message}
    ]
    assert "清河县" in str(exc.value.message)
    assert not Call.objects.exists()
    call, created = create(world, latitude=Decimal("36.7"), longitude=Decimal("116.9"))
    assert created
    assert call.latitude == Decimal("36.7")
    # The edges belong to the box.
    create(world, title="边界", latitude=Decimal("36.5"), longitude=Decimal("117.1"))


def test_outside_the_county_with_other_problems_is_call_invalid(world, lists):
    bound(world.county)
    with pytest.raises(InvalidInput) as exc:
        create(world, title=" ", latitude=Decimal("30"), longitude=Decimal("120"))
    assert exc.value.code == "call.invalid"
    fields = {(p["field"], p.get("code")) for p in exc.value.detail}
    assert fields == {("title", None), ("latitude", "call.outside_county")}


def test_a_county_without_a_box_takes_any_valid_coordinates(world, lists):
    call, _ = create(world, latitude=Decimal("39.9"), longitude=Decimal("116.4"))
    assert call.pk


def test_the_box_is_all_or_nothing_and_in_order(world):
    county = world.county
    county.min_latitude = Decimal("36.5")
    with pytest.raises(ValidationError):
        county.full_clean()
    county.max_latitude, county.min_longitude, county.max_longitude = (
        Decimal("36.0"),
        Decimal("116.7"),
        Decimal("117.1"),
    )
    with pytest.raises(ValidationError):
        county.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        county.save()
    partial = Region.objects.get(pk=county.pk)
    partial.min_latitude = Decimal("36.5")
    with pytest.raises(IntegrityError), transaction.atomic():
        partial.save()


def test_the_new_call_page_shows_the_county_refusal_on_the_field(world, client, lists):
    bound(world.county)
    world.login(client, "reporter")
    form = client.get("/calls/new/").context["form"]
    r = client.post(
        "/calls/new/",
        {
            "title": "河道垃圾堆积",
            "description": "王庄镇1村河道垃圾堆积。",
            "location": str(world.t1.pk),
            "urgency": "normal",
            "item": "",
            "latitude": "31.2",
            "longitude": "121.5",
            "idempotency_key": form.initial["idempotency_key"],
        },
    )
    assert r.status_code == 400
    assert "清河县" in str(r.context["form"].errors["latitude"])
    assert not Call.objects.exists()


# ---- 4. township-primary items: requests for assistance --------------------------------------


def assistance_call(world, act, new_call):
    call = new_call("D2-09")
    assert call.assist_only
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    return call


def test_a_township_primary_call_is_accepted_as_a_request_for_assistance(world, act, new_call):
    call = assistance_call(world, act, new_call)
    with pytest.raises(InvalidInput) as exc:
        act("operator", call, "accept", as_assistance=False)
    assert exc.value.code == "call.assistance_only"
    untouched(call, State.APPROVED, 3)
    event = act("operator", call, "accept")
    assert event.data == {"as_assistance": True}
    assert replay([(e.action, e.data) for e in call.events.order_by("seq")]) == call.state


def test_a_county_duty_is_not_accepted_as_assistance(world, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    with pytest.raises(InvalidInput) as exc:
        act("operator", call, "accept", as_assistance=True)
    assert exc.value.code == "call.invalid"
    assert exc.value.detail[0]["field"] == "as_assistance"
    with pytest.raises(InvalidInput):
        act("operator", call, "accept", as_assistance="maybe")
    untouched(call, State.APPROVED, 3)
    assert "as_assistance" not in act("operator", call, "accept").data


def test_correcting_the_item_to_a_township_duty_makes_it_assistance(world, lists, act, new_call):
    call = new_call()
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    item = lists.version.items.get(code="D2-09")
    event = act("operator", call, "accept", item=item.pk)
    assert event.data["item_changed"] is True
    assert event.data["as_assistance"] is True
    assert call.assist_only


def test_the_accept_form_and_the_timeline_say_so(world, client, act, new_call):
    call = assistance_call(world, act, new_call)
    world.login(client, "operator")
    html = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'data-testid="action-notice"' in html
    r = client.post(f"/calls/{call.pk}/act/accept/", {"accept-expected_state": "approved"})
    assert r.status_code == 302
    assert CallEvent.objects.get(call=call, action="accept").data["as_assistance"] is True
    html = client.get(f"/calls/{call.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "a request for assistance" in html


# ---- 6. evaluation by anyone but the calling township -----------------------------------------


@pytest.mark.parametrize(
    "key", ["handler", "dleader", "operator", "reporter_t2", "police_leader", "assessor"]
)
def test_only_the_calling_township_evaluates(world, act, new_call, key):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已处理")
    count = call.events.count()
    with pytest.raises(PermissionDenied) as exc:
        act(key, call, "evaluate", evaluation="satisfied", resolved="yes")
    assert exc.value.code == "call.not_a_party"
    untouched(call, State.AWAITING_EVALUATION, count)
    # The calling township can.
    act("reporter", call, "evaluate", evaluation="satisfied", resolved="yes")
    assert call.state == State.CLOSED


def test_a_foreign_evaluation_through_the_page_is_refused(world, client, act, new_call):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已处理")
    world.login(client, "operator")
    r = client.post(
        f"/calls/{call.pk}/act/evaluate/",
        {
            "evaluate-expected_state": "awaiting_evaluation",
            "evaluate-evaluation": "unsatisfied",
            "evaluate-resolved": "no",
        },
    )
    assert r.status_code == 409
    call.refresh_from_db()
    assert call.state == State.AWAITING_EVALUATION
    assert not call.events.filter(action="evaluate").exists()


def test_a_second_evaluation_is_not_possible(world, act, new_call):
    call = dispatched(world, act, new_call())
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    act("handler", call, "complete", result="已处理")
    act("reporter", call, "evaluate", evaluation="satisfied", resolved="yes")
    with pytest.raises(Conflict) as exc:
        act("reporter", call, "evaluate", evaluation="unsatisfied", resolved="no")
    assert exc.value.code == "call.action_not_allowed"


# ---- the demo under the production rules ------------------------------------------------------


def test_the_demo_builds_under_the_evidence_rule_and_inside_its_county(evidence_rule):
    from datetime import datetime

    from xianghu.core.workdays import CHINA_TZ
    from xianghu.demo.catalog import build_demo_lists
    from xianghu.demo.county import COUNTY_BOUNDS, COUNTY_CODE, PROVINCE_CODE, build_demo_county
    from xianghu.demo.history import build_demo_history, history_calls

    build_demo_county()
    county = Region.objects.get(code=COUNTY_CODE)
    assert county.bounds == COUNTY_BOUNDS
    build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
    summary = build_demo_history(
        county=county, months=1, until=datetime(2026, 6, 30, 18, 0, tzinfo=CHINA_TZ)
    )
    assert summary.problems == ()
    calls = history_calls(county)
    located = calls.filter(latitude__isnull=False)
    assert located.exists()
    for call in located:
        assert county.contains_point(call.latitude, call.longitude), call.number
    needing = CallEvent.objects.filter(
        call__in=calls, action="complete"
    ) | CallEvent.objects.filter(call__in=calls, action="respond", data__mode="on_site")
    assert needing.exists()
    assert not needing.filter(attachments__isnull=True).exists()
    assert not CallEvent.objects.filter(
        call__in=calls, action="respond", data__mode="contact", attachments__isnull=False
    ).exists()
