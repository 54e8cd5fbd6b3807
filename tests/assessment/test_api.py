"""The assessment API (/api/v1/assessment/): what each role sees, the figures, the rules,
the forms, and the coded refusals."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.assessment.conftest import t
from tests.calls.test_api import session
from xianghu.assessment.models import AssessmentPolicy, PeriodicEvaluation

API = "/api/v1/assessment"
MARCH = "2025-03"

VISIBLE = {
    "assessor": {"dept", "police", "agency", "t1", "t2"},
    "operator": {"dept", "police", "agency", "t1", "t2"},
    "admin": {"dept", "police", "agency", "t1", "t2"},
    "handler": {"dept"},
    "dleader": {"dept"},
    "police_leader": {"police", "agency"},
    "agency_handler": {"agency"},
    "tleader": {"t1"},
}


@pytest.fixture
def march(world, sent, step):
    """One call of 王庄镇 handled by 应急管理局 in March 2025, on time, satisfied."""
    call = sent(t(2025, 3, 3, 9, 0))
    step("handler", call, "sign", t(2025, 3, 3, 9, 30))
    step("handler", call, "respond", t(2025, 3, 3, 10, 0), mode="contact")
    step("handler", call, "complete", t(2025, 3, 4, 10, 0), result="已处置")
    step("reporter", call, "evaluate", t(2025, 3, 5, 10, 0), evaluation="satisfied", resolved="yes")
    return call


def get(world, user: str | None, path: str, **params):
    client = Client()
    if user:
        world.login(client, user)
    return client.get(f"{API}{path}", params)


def ids(world, keys) -> set[int]:
    return {world.orgs[k].pk for k in keys}


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_each_role_sees_its_subjects(world, march, user):
    r = get(world, user, "/metrics", period=MARCH)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["county_id"] == world.county.pk
    assert body["period"] == {
        "key": "2025-03",
        "kind": "month",
        "start": "2025-03-01",
        "end": "2025-03-31",
    }
    assert {s["subject"]["id"] for s in body["subjects"]} == ids(world, VISIBLE[user])
    r = get(world, user, "/scores", period=MARCH)
    assert {s["subject"]["id"] for s in r.json()["subjects"]} == ids(world, VISIBLE[user])


@pytest.mark.parametrize(
    "user", ["reporter", "village_reporter", "bianban", "volunteer", "citizen", "nomember"]
)
def test_others_are_refused(world, march, user):
    for path in ("/metrics", "/scores", "/ranking", "/policy", "/periodic-evaluations"):
        r = get(world, user, path, period=MARCH, kind="department")
        assert r.status_code == 403, (path, r.json())
        assert r.json()["code"] == "assessment.forbidden"


def test_anonymous_callers_must_log_in(world):
    r = get(world, None, "/metrics", period=MARCH)
    assert r.status_code == 401


def test_another_county_is_refused(world, march):
    r = get(world, "operator_b", "/metrics", period=MARCH, county=world.county.pk)
    assert r.status_code == 403
    r = get(world, "operator_b", "/metrics", period=MARCH)
    assert {s["subject"]["id"] for s in r.json()["subjects"]} == ids(world, {"dept_b", "tb"})
    r = get(world, "assessor", "/metrics", period=MARCH, county=999999)
    assert r.status_code == 404


def test_the_figures(world, march):
    r = get(world, "assessor", "/metrics", period=MARCH, kind="department")
    dept = next(s for s in r.json()["subjects"] if s["subject"]["id"] == world.orgs["dept"].pk)
    assert (dept["received"], dept["response_rate"], dept["completion_rate"]) == (
        1,
        "1.0000",
        "1.0000",
    )
    assert dept["satisfaction"]["rate"] == "1.0000"
    assert dept["sign_time"] == {"count": 1, "average_seconds": 1800, "p90_seconds": 1800}
    police = next(s for s in r.json()["subjects"] if s["subject"]["id"] == world.orgs["police"].pk)
    assert (police["received"], police["response_rate"], police["satisfaction"]["rate"]) == (
        0,
        None,
        None,
    )
    r = get(world, "assessor", "/scores", period=MARCH, kind="department")
    dept = next(s for s in r.json()["subjects"] if s["subject"]["id"] == world.orgs["dept"].pk)
    assert (dept["score"], dept["composite"], dept["township_evaluation"]) == (
        "100.00",
        "100.00",
        "100.00",
    )
    assert [c["key"] for c in dept["components"]] == ["response", "completion", "satisfaction"]


def test_the_ranking_shows_each_role_its_rows_with_their_true_ranks(world, march):
    AssessmentPolicy.objects.create(
        county=world.county,
        weight_response=30,
        weight_completion=35,
        weight_satisfaction=35,
        w_basic=1,
        penalty_red_card=2,
        penalty_refused_return=1,
        penalty_redo=1,
        township_share_department="1/3",
        township_share_agency="3/5",
        form_share="1/2",
        weight_valid_calls=40,
        weight_cooperation=30,
        weight_township_satisfaction=30,
        min_volume=1,
    )
    r = get(world, "assessor", "/ranking", period=MARCH, kind="department")
    body = r.json()
    assert (body["min_volume"], body["ranked_count"]) == (1, 1)
    assert [(e["rank"], e["status"], e["score"]["subject"]["id"]) for e in body["entries"]] == [
        (1, "ranked", world.orgs["dept"].pk),
        (None, "no_data", world.orgs["police"].pk),
    ]
    assert body["red_list"] == [world.orgs["dept"].pk]
    r = get(world, "police_leader", "/ranking", period=MARCH, kind="department")
    assert [(e["rank"], e["status"]) for e in r.json()["entries"]] == [(None, "no_data")]
    assert r.json()["red_list"] == []
    r = get(world, "tleader", "/ranking", period=MARCH, kind="township")
    assert [e["score"]["subject"]["id"] for e in r.json()["entries"]] == [world.orgs["t1"].pk]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"period": ""}, 400, "assessment.period_required"),
        ({"period": "2025-13"}, 400, "assessment.period_invalid"),
        ({"period": "2025-03-10..2025-03-01"}, 400, "assessment.period_reversed"),
        ({"period": "2999"}, 400, "assessment.period_future"),
        ({"period": MARCH, "kind": "village"}, 400, "assessment.kind_invalid"),
        ({}, 422, "invalid_input"),
    ],
)
def test_bad_queries(world, march, params, status, code):
    r = get(world, "assessor", "/metrics", **params)
    assert r.status_code == status
    assert r.json()["code"] == code


def test_the_ranking_needs_a_kind(world):
    assert get(world, "assessor", "/ranking", period=MARCH).status_code == 422
    r = get(world, "assessor", "/ranking", period=MARCH, kind="county_office")
    assert r.json()["code"] == "assessment.kind_invalid"
    r = get(world, "assessor", "/ranking", period=MARCH, kind="township", size=0)
    assert r.json()["code"] == "assessment.invalid"


def test_history_and_losses_of_a_visible_subject(world, march):
    dept = world.orgs["dept"].pk
    r = get(world, "dleader", f"/subjects/{dept}/history", period="2025-Q1", by="month")
    assert r.status_code == 200, r.json()
    points = r.json()
    assert [p["period"]["key"] for p in points] == ["2025-01", "2025-02", "2025-03"]
    assert [p["score"]["score"] for p in points] == [None, None, "100.00"]
    assert [p["status"] for p in points] == ["no_data", "no_data", "too_few_calls"]
    r = get(world, "dleader", f"/subjects/{dept}/history", periods="2025-02,2025-03")
    assert len(r.json()) == 2
    r = get(world, "dleader", f"/subjects/{dept}/losses", period=MARCH)
    assert r.json()["items"] == []
    assert r.json()["total"] == "0"
    # Another department's figures do not exist for this caller.
    police = world.orgs["police"].pk
    assert get(world, "dleader", f"/subjects/{police}/history", period=MARCH).status_code == 404
    assert get(world, "dleader", f"/subjects/{police}/losses", period=MARCH).status_code == 404
    platform = world.orgs["platform"].pk
    assert get(world, "assessor", f"/subjects/{platform}/losses", period=MARCH).status_code == 404
    r = get(
        world, "assessor", f"/subjects/{dept}/history", period="2020-01-01..2025-03-31", by="month"
    )
    assert r.json()["code"] == "assessment.too_many_periods"
    r = get(world, "assessor", f"/subjects/{dept}/history", period=MARCH, by="week")
    assert r.json()["code"] == "assessment.invalid"
    r = get(world, "assessor", f"/subjects/{dept}/history")
    assert r.json()["code"] == "assessment.period_required"


def test_the_policy_is_read_by_the_county_and_changed_by_assessors(world):
    r = get(world, "tleader", "/policy")
    assert r.status_code == 200
    assert (r.json()["township_share_department"], r.json()["is_default"]) == ("1/3", True)
    client = session(world, "dleader")
    r = client.put(
        f"{API}/policy", data=json.dumps({"min_volume": 1}), content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (403, "assessment.forbidden")
    client = session(world, "assessor")
    r = client.put(
        f"{API}/policy", data=json.dumps({"weight_response": 40}), content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (400, "assessment.weights_sum")
    assert not AssessmentPolicy.objects.exists()
    r = client.put(
        f"{API}/policy",
        data=json.dumps(
            {
                "weight_response": 40,
                "weight_completion": "30",
                "weight_satisfaction": 30,
                "township_share_agency": "2/3",
            }
        ),
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert (
        r.json()["weight_response"],
        r.json()["township_share_agency"],
        r.json()["is_default"],
    ) == ("40", "2/3", False)


def test_forms_through_the_api(world):
    client = session(world, "tleader")
    payload = {
        "township_id": world.orgs["t1"].pk,
        "subject_id": world.orgs["dept"].pk,
        "period": MARCH,
        "score": 91,
    }
    r = client.post(
        f"{API}/periodic-evaluations", data=json.dumps(payload), content_type="application/json"
    )
    assert r.status_code == 201, r.json()
    assert (r.json()["score"], r.json()["period"]) == ("91.00", "2025-03")
    payload.pop("score")
    payload["grade"] = "good"
    r = client.post(
        f"{API}/periodic-evaluations", data=json.dumps(payload), content_type="application/json"
    )
    assert (r.status_code, r.json()["score"]) == (200, "85.00")
    payload["subject_id"] = 999999
    r = client.post(
        f"{API}/periodic-evaluations", data=json.dumps(payload), content_type="application/json"
    )
    assert r.json()["code"] == "assessment.not_a_subject"
    reporter = session(world, "reporter")
    payload["subject_id"] = world.orgs["dept"].pk
    r = reporter.post(
        f"{API}/periodic-evaluations", data=json.dumps(payload), content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (403, "assessment.forbidden")
    assert PeriodicEvaluation.objects.count() == 1
    # Read back: the township that filled it, the department evaluated, the county.
    for user, count in (("tleader", 1), ("dleader", 1), ("assessor", 1), ("police_leader", 0)):
        r = get(world, user, "/periodic-evaluations", period="2025")
        assert len(r.json()) == count, user


def test_the_openapi_schema_lists_the_assessment_paths(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/assessment/metrics",
        "/api/v1/assessment/scores",
        "/api/v1/assessment/ranking",
        "/api/v1/assessment/subjects/{subject_id}/history",
        "/api/v1/assessment/subjects/{subject_id}/losses",
        "/api/v1/assessment/policy",
        "/api/v1/assessment/periodic-evaluations",
    ):
        assert path in paths, path
