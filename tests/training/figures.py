"""The real figures a practice must never move, computed the same way before and after
(tests/training/test_isolation.py, tests/browser/test_training.py)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client, override_settings

from xianghu.assessment.dashboards import today_in_china
from xianghu.assessment.models import DispatchFact, EventFact
from xianghu.assessment.periods import Period
from xianghu.assessment.scores import rankings_for_period, scores_for_period
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core import access
from xianghu.integrations.open311.core import jurisdictions
from xianghu.oversight import selectors as oversight
from xianghu.oversight.access import home_regions
from xianghu.participation.open.selectors import open_counties
from xianghu.participation.public_reports import served_counties
from xianghu.regions.models import Organisation, Region
from xianghu.regions.selectors import actor_for_user

OPEN_JSON = ("/open/statistics/", "/open/rankings/", "/open/duties/", "/open/cases/")


def real_loop(world: Any, lists: Any) -> Call:
    """One real call through the loop, so the real figures are not all empty."""

    def act(key: str, call: Call, action: str, **data: Any) -> None:
        call_services.call_transition(
            actor=actor_for_user(user=world.users[key]), call=call, action=action, data=data
        )

    call, _ = call_services.call_create(
        actor=actor_for_user(user=world.users["reporter"]),
        caller=world.orgs["t1"],
        draft=CallDraft(
            title="河道旁企业堆放易燃物",
            description="需要县应急局处置。",
            location=world.t1,
            item=catalog_selectors.item_get(version=lists.version, code="D1-01"),
        ),
    )
    act("reporter", call, "submit")
    act("tleader", call, "approve")
    act("operator", call, "accept")
    act("operator", call, "dispatch", lead=world.orgs["dept"].pk)
    act("handler", call, "sign")
    act("handler", call, "respond", mode="contact")
    with override_settings(XH_EVIDENCE_REQUIRED=[]):  # a photo is not the point here
        act("handler", call, "complete", result="已处置。")
    act("reporter", call, "evaluate", evaluation="satisfied", resolved="yes")
    return call


def real_figures(world: Any) -> dict[str, Any]:
    today = today_in_china()
    period = Period.month(today.year, today.month)
    province = Region.objects.get(code="370000")
    rows = oversight.county_rows(oversight.counties_under(province), period=period)
    anon = Client()
    figures: dict[str, Any] = {
        "scores": scores_for_period(county=world.county, period=period),
        "rankings": rankings_for_period(
            county=world.county, period=period, kinds=("department", "township")
        ),
        "oversight": [
            (r.region.code, r.rates, r.overdue, r.rank, r.mechanism.recent_calls) for r in rows
        ],
        "townships": [
            (t.region.code, t.rates) for t in oversight.township_rows(world.county, period=period)
        ],
        "facts": (
            DispatchFact.objects.filter(county=world.county).count(),
            EventFact.objects.filter(county=world.county).count(),
        ),
        "provinces": [
            r.code for r in home_regions(actor=actor_for_user(user=world.users["admin"]))
        ],
        "open_counties": [c.code for c in open_counties()],
        "served_counties": [c.code for c in served_counties()],
        "jurisdictions": [c.code for c in jurisdictions()],
        "public_directory": sorted(
            access.visible(
                actor_for_user(user=world.users["citizen"]), Organisation.objects.all()
            ).values_list("pk", flat=True)
        ),
    }
    for url in OPEN_JSON:
        response = anon.get(url, {"format": "json"})
        assert response.status_code == 200, url
        figures[url] = json.loads(response.content)
    services_json = anon.get("/open311/v2/services.json")
    figures["open311"] = (services_json.status_code, services_json.content)
    return figures
