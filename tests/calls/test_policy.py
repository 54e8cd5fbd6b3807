"""A county's own time policy (时限规则): office hours and limits per urgency, used by
the clocks, the extension caps and the sweep; changed only by the county's system
administrator, all or nothing."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.calls.conftest import as_
from xianghu.calls import deadlines, policy, services
from xianghu.calls.models import Dispatch, TimePolicy, UrgencyLimit
from xianghu.calls.supervision import run_sweep
from xianghu.catalog.limits import Limit, parse_limit
from xianghu.core.errors import InvalidInput, PermissionDenied
from xianghu.core.workdays import seed_from_chinesecalendar

CST = ZoneInfo("Asia/Shanghai")


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


HOURS = {
    "morning_start": time(9, 0),
    "morning_end": time(12, 0),
    "afternoon_start": time(14, 0),
    "afternoon_end": time(18, 0),
}


def limits(**changes: dict) -> dict:
    table = {u: policy.limits_as_form(lim) for u, lim in deadlines.DEFAULTS.items()}
    for urgency, values in changes.items():
        table[urgency] = {**table[urgency], **values}
    return table


@pytest.fixture
def calendar_2024(db):
    seed_from_chinesecalendar(years=[2024])


def dispatch(world, call, when):
    for key, action in (("reporter", "submit"), ("tleader", "approve"), ("operator", "accept")):
        services.call_transition(actor=as_(world, key), call=call, action=action, at=when)
    services.call_transition(
        actor=as_(world, "operator"),
        call=call,
        action="dispatch",
        data={"lead": world.orgs["dept"].pk},
        at=when,
    )
    return Dispatch.objects.get(call=call, role="lead", active=True)


def test_working_hours_are_a_unit_of_the_lists():
    assert parse_limit("2wh") == Limit(2, "wh")
    assert parse_limit("3个工作小时") == Limit(3, "wh")
    assert parse_limit("2wh").label == "2个工作小时"
    assert parse_limit("2h") == Limit(2, "h")


def test_without_a_policy_the_defaults_apply(world):
    assert deadlines.clock_policy(world.county.pk) is deadlines.DEFAULT_POLICY
    table = policy.time_policy_table(county=world.county)
    assert not table.customised


def test_county_hours_and_limits_set_the_clocks(world, new_call, calendar_2024):
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours=HOURS,
        limits=limits(normal={"sign": "1wh", "use_item_limits": False, "complete": "2wd"}),
    )
    # Monday 2024-09-23 11:30: one working hour runs 11:30–12:00, then 14:00–14:30.
    lead = dispatch(world, new_call(), t(2024, 9, 23, 11, 30))
    assert lead.sign_due == t(2024, 9, 23, 14, 30)
    # Not the item's 24 h / 5 wd any more: the county's 24 h and 2 wd ending at 18:00.
    assert lead.complete_due == t(2024, 9, 25, 18, 0)


def test_another_county_keeps_the_defaults(world, calendar_2024):
    policy.time_policy_update(
        actor=as_(world, "admin"), county=world.county, hours=HOURS, limits=limits()
    )
    assert deadlines.clock_policy(world.other_county.pk) is deadlines.DEFAULT_POLICY
    policies = deadlines.clock_policies([world.county.pk, world.other_county.pk])
    assert set(policies) == {world.county.pk}
    assert policies[world.county.pk].hours.morning == (time(9, 0), time(12, 0))


def test_the_extension_caps_of_the_policy(world, new_call, calendar_2024):
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours=HOURS,
        limits=limits(normal={"max_extensions": 1, "max_extension_days": 3}),
    )
    call = new_call()
    when = t(2024, 9, 23, 9, 30)
    dispatch(world, call, when)
    for key, action in (("handler", "sign"), ("handler", "respond")):
        services.call_transition(
            actor=as_(world, key), call=call, action=action, data={"mode": "on_site"}, at=when
        )
    with pytest.raises(InvalidInput) as exc:
        services.call_transition(
            actor=as_(world, "handler"),
            call=call,
            action="request_extension",
            data={"days": 4, "reason": "需要检测"},
            at=when,
        )
    assert exc.value.code == "call.extension_cap"
    services.call_transition(
        actor=as_(world, "handler"),
        call=call,
        action="request_extension",
        data={"days": 3, "reason": "需要检测"},
        at=when,
    )
    services.call_transition(
        actor=as_(world, "operator"),
        call=call,
        action="decide_extension",
        data={"approve": True, "reason": "同意"},
        at=when,
    )
    with pytest.raises(InvalidInput) as exc:
        services.call_transition(
            actor=as_(world, "handler"),
            call=call,
            action="request_extension",
            data={"days": 1, "reason": "再延"},
            at=when,
        )
    assert exc.value.code == "call.extension_cap"


def test_the_sweep_closes_after_the_county_evaluation_window(world, new_call, calendar_2024):
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours=HOURS,
        limits=limits(normal={"evaluation": "1wd"}),
    )
    call = new_call()
    when = t(2024, 9, 23, 9, 30)
    dispatch(world, call, when)
    for action, data in (
        ("sign", {}),
        ("respond", {"mode": "on_site"}),
        ("complete", {"result": "已清理"}),
    ):
        services.call_transition(
            actor=as_(world, "handler"), call=call, action=action, data=data, at=when
        )
    # One working day from Monday 09:30 ends Tuesday 18:00 (the county's afternoon end).
    run_sweep(now=t(2024, 9, 24, 17, 59))
    call.refresh_from_db()
    assert call.state == "awaiting_evaluation"
    run_sweep(now=t(2024, 9, 24, 18, 1))
    call.refresh_from_db()
    assert call.state == "closed"


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ({**HOURS, "morning_end": time(8, 0)}, "morning_start"),
        ({k: v for k, v in HOURS.items() if k != "afternoon_end"}, "afternoon_end"),
    ],
)
def test_bad_office_hours_are_refused(world, hours, field):
    with pytest.raises(InvalidInput) as exc:
        policy.time_policy_update(
            actor=as_(world, "admin"), county=world.county, hours=hours, limits=limits()
        )
    assert exc.value.code == "policy.invalid"
    assert field in {p["field"] for p in exc.value.detail}
    assert not TimePolicy.objects.exists()


def test_bad_limits_are_refused_and_nothing_is_written(world):
    policy.time_policy_update(
        actor=as_(world, "admin"), county=world.county, hours=HOURS, limits=limits()
    )
    before = list(UrgencyLimit.objects.values_list("urgency", "sign").order_by("urgency"))
    with pytest.raises(InvalidInput) as exc:
        policy.time_policy_update(
            actor=as_(world, "admin"),
            county=world.county,
            hours={**HOURS, "morning_start": time(7, 0)},
            limits=limits(
                urgent={"sign": "半小时"}, complex={"max_extensions": 99}, normal={"respond": "0h"}
            ),
        )
    fields = {p["field"] for p in exc.value.detail}
    assert fields == {"urgent-sign", "complex-max_extensions", "normal-respond"}
    assert list(UrgencyLimit.objects.values_list("urgency", "sign").order_by("urgency")) == before
    assert TimePolicy.objects.get().morning_start == time(9, 0)


@pytest.mark.parametrize("key", ["operator", "assessor", "handler", "operator_b"])
def test_only_the_county_system_admin_changes_the_policy(world, key):
    with pytest.raises(PermissionDenied):
        policy.time_policy_update(
            actor=as_(world, key), county=world.county, hours=HOURS, limits=limits()
        )
    assert not TimePolicy.objects.exists()


def test_the_page_reads_for_members_and_saves_for_the_admin(world, client):
    world.login(client, "operator")
    page = client.get("/calls/time-limits/")
    assert page.status_code == 200
    assert b'data-testid="save-policy"' not in page.content
    assert client.post("/calls/time-limits/", {}).status_code == 403

    world.login(client, "admin")
    page = client.get("/calls/time-limits/")
    assert b'data-testid="save-policy"' in page.content
    form = {
        "morning_start": "09:00",
        "morning_end": "12:00",
        "afternoon_start": "14:00",
        "afternoon_end": "18:00",
    }
    for urgency, values in limits(urgent={"respond": "1h"}).items():
        for name, value in values.items():
            if name == "use_item_limits":
                if value:
                    form[f"{urgency}-{name}"] = "on"
            else:
                form[f"{urgency}-{name}"] = "" if value is None else str(value)
    saved = client.post("/calls/time-limits/", form)
    assert saved.status_code == 302
    assert deadlines.clock_policy(world.county.pk).limits["urgent"].respond == Limit(1, "h")
    assert deadlines.clock_policy(world.county.pk).limits["complex"].max_extensions is None

    bad = client.post("/calls/time-limits/", {**form, "normal-complete": "五天"})
    assert bad.status_code == 400
    assert b'data-testid="error-normal-complete"' in bad.content
    assert deadlines.clock_policy(world.county.pk).limits["normal"].complete == Limit(5, "wd")


@pytest.mark.parametrize("key", ["citizen", "volunteer"])
def test_the_page_is_not_for_the_public(world, client, key):
    world.login(client, key)
    assert client.get("/calls/time-limits/").status_code == 403


def test_the_api_reads_and_sets_the_policy(world, client):
    world.login(client, "operator")
    got = client.get("/api/v1/time-limits/371221")
    assert got.status_code == 200, got.content
    body = got.json()
    assert body["customised"] is False
    assert body["limits"]["normal"]["sign"] == "2wh"
    body.pop("county")
    body.pop("customised")
    body["limits"]["urgent"]["respond"] = "1h"
    denied = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert denied.status_code == 403
    assert denied.json()["code"] == "policy.forbidden"

    world.login(client, "admin")
    saved = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["limits"]["urgent"]["respond"] == "1h"
    body["limits"]["normal"]["complete"] = "five days"
    bad = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "policy.invalid"
    assert bad.json()["detail"][0]["field"] == "normal-complete"


def test_the_api_hides_other_counties(world, client):
    world.login(client, "operator_b")
    assert client.get("/api/v1/time-limits/371221").status_code == 404


# ---- the platform's limit and the reminder share


def test_the_platform_limit_and_the_reminder_share_are_saved(world):
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours=HOURS,
        limits=limits(normal={"accept": "2wh"}, complex={"accept": "半个工作日"}),
        remind_share=30,
    )
    saved = deadlines.clock_policy(world.county.pk)
    assert saved.remind_share == 30
    assert saved.limits["normal"].accept == Limit(2, "wh")
    assert saved.limits["complex"].accept == Limit(1, deadlines.HALF_DAYS)
    assert saved.limits["urgent"].accept == Limit(30, "m")
    assert UrgencyLimit.objects.get(urgency="complex").accept == "0.5wd"
    # Left out (an older client): the defaults.
    policy.time_policy_update(
        actor=as_(world, "admin"),
        county=world.county,
        hours=HOURS,
        limits={u: {k: v for k, v in row.items() if k != "accept"} for u, row in limits().items()},
    )
    saved = deadlines.clock_policy(world.county.pk)
    assert saved.remind_share == deadlines.DEFAULT_REMIND_SHARE == 50
    assert saved.limits["normal"].accept == deadlines.DEFAULTS["normal"].accept


@pytest.mark.parametrize("share", [0, 100, "half", -5])
def test_a_bad_reminder_share_is_refused(world, share):
    with pytest.raises(InvalidInput) as exc:
        policy.time_policy_update(
            actor=as_(world, "admin"),
            county=world.county,
            hours=HOURS,
            limits=limits(normal={"accept": "五分钟"}),
            remind_share=share,
        )
    assert exc.value.code == "policy.invalid"
    assert {p["field"] for p in exc.value.detail} == {"remind_share", "normal-accept"}
    assert not TimePolicy.objects.exists()


def test_the_page_shows_and_saves_the_new_fields(world, client):
    world.login(client, "admin")
    page = client.get("/calls/time-limits/")
    html = page.content.decode()
    assert 'name="remind_share" value="50"' in html
    assert 'name="normal-accept" value="0.5wd"' in html
    assert "0.5个工作日" in html
    form = {**{k: v.strftime("%H:%M") for k, v in HOURS.items()}, "remind_share": "40"}
    for urgency, values in limits(normal={"accept": "1wd"}).items():
        for name, value in values.items():
            if name == "use_item_limits":
                if value:
                    form[f"{urgency}-{name}"] = "on"
            else:
                form[f"{urgency}-{name}"] = "" if value is None else str(value)
    assert client.post("/calls/time-limits/", form).status_code == 302
    saved = deadlines.clock_policy(world.county.pk)
    assert (saved.remind_share, saved.limits["normal"].accept) == (40, Limit(1, "wd"))
    bad = client.post("/calls/time-limits/", {**form, "remind_share": "120"})
    assert bad.status_code == 400
    assert b'data-testid="error-remind_share"' in bad.content
    assert b'name="remind_share" value="120"' in bad.content
    assert deadlines.clock_policy(world.county.pk).remind_share == 40


def test_the_api_reads_and_sets_the_new_fields(world, client):
    world.login(client, "admin")
    body = client.get("/api/v1/time-limits/371221").json()
    assert body["remind_share"] == 50
    assert body["limits"]["normal"]["accept"] == "0.5wd"
    body.pop("county")
    body.pop("customised")
    body["remind_share"] = 60
    body["limits"]["urgent"]["accept"] = "15m"
    saved = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert (saved.json()["remind_share"], saved.json()["limits"]["urgent"]["accept"]) == (
        60,
        "15m",
    )
    # An older client sends neither: the defaults.
    body.pop("remind_share")
    for row in body["limits"].values():
        row.pop("accept")
    saved = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["remind_share"] == 50
    assert saved.json()["limits"]["urgent"]["accept"] == "30m"
    body["remind_share"] = 0
    bad = client.put("/api/v1/time-limits/371221", body, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["detail"][0]["field"] == "remind_share"
