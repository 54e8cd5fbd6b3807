"""The county's assessment policy and the townships' periodic forms: validation with
coded errors, nothing stored half-way, who may write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from tests import factories as f
from tests.calls.conftest import as_
from xianghu.assessment.models import AssessmentPolicy, PeriodicEvaluation
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import DEFAULTS, fraction_text, parse_fraction, policy_for
from xianghu.assessment.services import (
    assessment_policy_reset,
    assessment_policy_set,
    periodic_evaluation_submit,
)
from xianghu.core.errors import InvalidInput, PermissionDenied


def test_defaults_without_a_row(world):
    policy = policy_for(world.county.pk)
    assert policy.is_default
    assert policy.county_id == world.county.pk
    assert (policy.weight_response, policy.weight_completion, policy.weight_satisfaction) == (
        30,
        35,
        35,
    )
    assert (policy.township_share_department, policy.township_share_agency) == (
        Fraction(1, 3),
        Fraction(3, 5),
    )
    assert policy.as_dict()["township_share_department"] == "1/3"
    assert policy.as_dict()["township_share_agency"] == "0.6"


def test_an_assessor_changes_some_settings(world):
    row = assessment_policy_set(
        actor=as_(world, "assessor"),
        county=world.county,
        values={
            "weight_response": "20",
            "weight_completion": 40,
            "weight_satisfaction": Decimal("40"),
            "township_share_agency": "2/3",
            "w_basic": "0.8",
            "min_volume": 3,
        },
    )
    assert row.updated_by_id == world.users["assessor"].pk
    policy = policy_for(world.county.pk)
    assert not policy.is_default
    assert (policy.weight_response, policy.w_basic, policy.township_share_agency) == (
        20,
        Fraction(4, 5),
        Fraction(2, 3),
    )
    assert policy.township_share_department == Fraction(1, 3)  # kept
    assert policy.min_volume == 3
    # A second change keeps the first one's values.
    assessment_policy_set(
        actor=as_(world, "admin"), county=world.county, values={"penalty_red_card": "3.5"}
    )
    policy = policy_for(world.county.pk)
    assert (policy.penalty_red_card, policy.weight_response) == (Fraction(7, 2), 20)
    assert AssessmentPolicy.objects.count() == 1
    assessment_policy_reset(actor=as_(world, "assessor"), county=world.county)
    assert policy_for(world.county.pk).is_default


@pytest.mark.parametrize(
    ("values", "code", "fields"),
    [
        ({"weight_response": 40}, "assessment.weights_sum", {"weights"}),
        ({"weight_valid_calls": 10}, "assessment.weights_sum", {"township_weights"}),
        (
            {"weight_response": 40, "weight_cooperation": 0},
            "assessment.weights_sum",
            {"weights", "township_weights"},
        ),
        (
            {"township_share_agency": "1/2"},
            "assessment.agency_share_too_low",
            {"township_share_agency"},
        ),
        (
            {"township_share_agency": "59%"},
            "assessment.agency_share_too_low",
            {"township_share_agency"},
        ),
        (
            {"township_share_department": "4/3"},
            "assessment.policy_invalid",
            {"township_share_department"},
        ),
        ({"form_share": "-0.1"}, "assessment.policy_invalid", {"form_share"}),
        ({"w_basic": "1.5"}, "assessment.policy_invalid", {"w_basic"}),
        ({"w_basic": "0.12345"}, "assessment.policy_invalid", {"w_basic"}),
        ({"penalty_redo": "-1"}, "assessment.policy_invalid", {"penalty_redo"}),
        ({"penalty_redo": "abc"}, "assessment.policy_invalid", {"penalty_redo"}),
        ({"penalty_redo": True}, "assessment.policy_invalid", {"penalty_redo"}),
        ({"min_volume": -1}, "assessment.policy_invalid", {"min_volume"}),
        ({"min_volume": "many"}, "assessment.policy_invalid", {"min_volume"}),
        (
            {"count_default_evaluations": "yes"},
            "assessment.policy_invalid",
            {"count_default_evaluations"},
        ),
        (
            {"weight_response": "1/3", "weight_completion": "1/3"},
            "assessment.policy_invalid",
            {"weight_response", "weight_completion", "weights"},
        ),
        ({"nonsense": 1}, "assessment.policy_invalid", {"nonsense"}),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_stored(world, values, code, fields):
    assessment_policy_set(
        actor=as_(world, "assessor"), county=world.county, values={"min_volume": 7}
    )
    before = list(AssessmentPolicy.objects.values())
    with pytest.raises(InvalidInput) as exc:
        assessment_policy_set(actor=as_(world, "assessor"), county=world.county, values=values)
    assert exc.value.code == code
    assert {p["field"] for p in exc.value.detail} == fields
    assert list(AssessmentPolicy.objects.values()) == before


@pytest.mark.parametrize(
    "user", ["operator", "dleader", "tleader", "handler", "operator_b", "citizen"]
)
def test_only_assessors_and_administrators_change_the_policy(world, user):
    with pytest.raises(PermissionDenied) as exc:
        assessment_policy_set(actor=as_(world, user), county=world.county, values={"min_volume": 1})
    assert exc.value.code == "assessment.forbidden"
    assert not AssessmentPolicy.objects.exists()


def test_fractions_in_and_out():
    assert parse_fraction("1/3") == Fraction(1, 3)
    assert parse_fraction("0.6") == Fraction(3, 5)
    assert parse_fraction("60%") == Fraction(3, 5)
    assert parse_fraction(0.6) == Fraction(3, 5)
    assert parse_fraction(Decimal("33.33")) == Fraction(3333, 100)
    for bad in ("x", "1/0", True, ""):
        with pytest.raises((ValueError, ZeroDivisionError)):
            parse_fraction(bad)
    assert [
        fraction_text(v) for v in (Fraction(1, 3), Fraction(3, 5), Fraction(35), Fraction(7, 2))
    ] == [
        "1/3",
        "0.6",
        "35",
        "3.5",
    ]
    assert DEFAULTS.as_dict()["w_basic"] == "1"


# ---- the periodic forms

MARCH = Period.month(2025, 3)


def submit(world, user="tleader", township="t1", subject="dept", period=MARCH, **kw):
    return periodic_evaluation_submit(
        actor=as_(world, user),
        township=world.orgs[township],
        subject=world.orgs[subject],
        period=period,
        **kw,
    )


def test_a_township_leader_fills_in_and_corrects_a_form(world):
    form, created = submit(world, score="88.5", comment="响应及时")
    assert created
    assert (form.score, form.grade, form.period_key, form.starts_on, form.ends_on) == (
        Decimal("88.50"),
        "",
        "2025-03",
        date(2025, 3, 1),
        date(2025, 3, 31),
    )
    again, created = submit(world, grade="fair")
    assert not created
    assert again.pk == form.pk
    assert (again.score, again.grade, again.comment) == (Decimal("70.00"), "fair", "")
    submit(world, subject="agency", period=Period.quarter(2025, 1), score=100)
    assert PeriodicEvaluation.objects.count() == 2


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"user": "reporter"}, "assessment.forbidden"),
        ({"user": "dleader"}, "assessment.forbidden"),
        ({"user": "tleader", "township": "t2"}, "assessment.forbidden"),
        ({"subject": "t2"}, "assessment.not_a_subject"),
        ({"subject": "platform"}, "assessment.not_a_subject"),
        ({"subject": "dept_b"}, "assessment.not_a_subject"),
        ({"period": Period.days(date(2025, 3, 1), date(2025, 3, 15))}, "assessment.form_period"),
        ({"period": Period.year(2099)}, "assessment.form_period"),
        ({}, "assessment.form_invalid"),
        ({"score": 101}, "assessment.form_invalid"),
        ({"score": -1}, "assessment.form_invalid"),
        ({"score": "1.234"}, "assessment.form_invalid"),
        ({"score": "很好"}, "assessment.form_invalid"),
        ({"grade": "superb"}, "assessment.form_invalid"),
        ({"grade": "good", "score": 80}, "assessment.form_invalid"),
        ({"score": 80, "comment": "长" * 1001}, "assessment.form_invalid"),
    ],
)
def test_bad_forms_are_refused_and_nothing_is_stored(world, kw, code):
    with pytest.raises((InvalidInput, PermissionDenied)) as exc:
        submit(world, **kw)
    assert exc.value.code == code
    assert not PeriodicEvaluation.objects.exists()


def test_an_inactive_subject_cannot_be_evaluated(world):
    world.orgs["police"].is_active = False
    world.orgs["police"].save()
    with pytest.raises(InvalidInput) as exc:
        submit(world, subject="police", score=80)
    assert exc.value.code == "assessment.not_a_subject"
    new = f.department(world.county, "市场监管局")
    form, _ = periodic_evaluation_submit(
        actor=as_(world, "tleader"), township=world.orgs["t1"], subject=new, period=MARCH, score=80
    )
    assert form.subject_id == new.pk
