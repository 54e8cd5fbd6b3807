"""Writes of the assessment app: a county's assessment policy, and the townships'
periodic evaluation forms. Each validates everything first and writes in one
transaction, or raises a coded error and writes nothing (docs/scoring.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.actor import Actor
from xianghu.core.errors import InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind, Role

from .access import can_change_policy
from .models import AssessmentPolicy, Grade, PeriodicEvaluation
from .periods import Period, PeriodKind
from .policy import (
    DECIMAL_FIELDS,
    FRACTION_FIELDS,
    GRADE_SCORES,
    MIN_AGENCY_SHARE,
    Policy,
    fraction_text,
    parse_fraction,
    policy_for,
)

# ---- the policy

_WEIGHT_GROUPS = {
    "weights": ("weight_response", "weight_completion", "weight_satisfaction"),
    "township_weights": (
        "weight_valid_calls",
        "weight_cooperation",
        "weight_township_satisfaction",
    ),
}
_PENALTIES = ("penalty_red_card", "penalty_refused_return", "penalty_redo")
_SHARES = ("township_share_department", "township_share_agency", "form_share")
POLICY_FIELDS = (*DECIMAL_FIELDS, *FRACTION_FIELDS, "count_default_evaluations", "min_volume")


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _fits(value: Fraction, places: int, digits: int) -> bool:
    """Whether the decimal column (max_digits, decimal_places) holds `value` exactly."""
    scaled = value * 10**places
    return scaled.denominator == 1 and abs(scaled.numerator) < 10**digits


def _validate_policy(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    problems: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for name in (*DECIMAL_FIELDS, *FRACTION_FIELDS):
        try:
            clean[name] = parse_fraction(values[name])
        except (ValueError, ZeroDivisionError, InvalidOperation, TypeError):
            problems.append(_problem(name, _("Give a number (or a fraction such as 1/3).")))
    for name in (*_WEIGHT_GROUPS["weights"], *_WEIGHT_GROUPS["township_weights"], *_PENALTIES):
        if name in clean and not (0 <= clean[name] <= 100 and _fits(clean[name], 2, 5)):
            problems.append(
                _problem(name, _("Give a number from 0 to 100 with at most two decimals."))
            )
    if "w_basic" in clean and not (0 <= clean["w_basic"] <= 1 and _fits(clean["w_basic"], 3, 4)):
        problems.append(
            _problem("w_basic", _("Give a number from 0 to 1 with at most three decimals."))
        )
    for name in _SHARES:
        if name in clean and not 0 <= clean[name] <= 1:
            problems.append(_problem(name, _("Give a share from 0 to 1 (e.g. 1/3 or 0.6).")))
        elif name in clean and len(fraction_text(clean[name])) > 16:
            problems.append(_problem(name, _("Give a simpler fraction (e.g. 1/3 or 0.6).")))
    agency = clean.get("township_share_agency")
    if agency is not None and agency < MIN_AGENCY_SHARE and agency >= 0:
        problems.append(
            _problem(
                "township_share_agency",
                _("The host township's evaluation must weigh at least 60 % (3/5)."),
            )
        )
    for group, names in _WEIGHT_GROUPS.items():
        if all(n in clean for n in names) and sum(clean[n] for n in names) != 100:
            total = sum(clean[n] for n in names)
            problems.append(
                _problem(
                    group,
                    _("The weights add up to %(total)s; they must add up to 100.")
                    % {"total": fraction_text(total)},
                )
            )
    volume = values.get("min_volume")
    if isinstance(volume, bool) or not isinstance(volume, int | str):
        problems.append(_problem("min_volume", _("Give a whole number from 0 to 10000.")))
    else:
        try:
            clean["min_volume"] = int(volume)
        except ValueError:
            problems.append(_problem("min_volume", _("Give a whole number from 0 to 10000.")))
        else:
            if not 0 <= clean["min_volume"] <= 10000:
                problems.append(_problem("min_volume", _("Give a whole number from 0 to 10000.")))
    flag = values.get("count_default_evaluations")
    if not isinstance(flag, bool):
        problems.append(_problem("count_default_evaluations", _("Give true or false.")))
    clean["count_default_evaluations"] = flag
    return clean, problems


def _codes(problems: list[dict[str, str]]) -> str:
    fields = {p["field"] for p in problems}
    if fields <= set(_WEIGHT_GROUPS):
        return "assessment.weights_sum"
    if fields == {"township_share_agency"} and any("60" in p["message"] for p in problems):
        return "assessment.agency_share_too_low"
    return "assessment.policy_invalid"


def assessment_policy_set(
    *, actor: Actor, county: Region, values: Mapping[str, Any]
) -> AssessmentPolicy:
    """Set the county's assessment policy. `values` may give any of the fields of
    `Policy` (weights as percentages, `w_basic` 0–1, penalties in points, shares as
    fractions like `1/3` or `0.6`, `min_volume`, `count_default_evaluations`); the others
    keep their current values (the defaults for a county without a policy).

    Refused, writing nothing: 403 `assessment.forbidden` unless the actor is an assessor
    or administrator of the county; 400 `assessment.weights_sum` when a group of weights
    does not add up to 100; `assessment.agency_share_too_low` when the host township's
    share in a stationed agency's score is below 3/5; `assessment.policy_invalid` for
    anything else (unknown field, not a number, out of range); every problem in `detail`.
    """
    if not can_change_policy(actor, county.pk):
        raise PermissionDenied(
            _("Only the county's assessors and administrators can change the assessment rules."),
            code="assessment.forbidden",
        )
    unknown = sorted(set(values) - set(POLICY_FIELDS))
    if unknown:
        raise InvalidInput(
            _("Unknown setting: %(names)s.") % {"names": ", ".join(unknown)},
            code="assessment.policy_invalid",
            detail=[_problem(name, _("Unknown setting.")) for name in unknown],
        )
    current = asdict(policy_for(county.pk))
    merged = {name: current[name] for name in POLICY_FIELDS}
    merged.update(values)
    clean, problems = _validate_policy(merged)
    if problems:
        raise InvalidInput(
            _("The assessment rules are not valid."), code=_codes(problems), detail=problems
        )
    stored: dict[str, Any] = {}
    for name in DECIMAL_FIELDS:
        value = clean[name]
        stored[name] = Decimal(value.numerator) / Decimal(value.denominator)
    for name in FRACTION_FIELDS:
        stored[name] = fraction_text(clean[name])
    stored["min_volume"] = clean["min_volume"]
    stored["count_default_evaluations"] = clean["count_default_evaluations"]
    with transaction.atomic():
        row, _created = AssessmentPolicy.objects.select_for_update().update_or_create(
            county=county,
            defaults={**stored, "updated_by_id": actor.user_id, "updated_at": timezone.now()},
        )
    return row


def assessment_policy_reset(*, actor: Actor, county: Region) -> Policy:
    """Go back to the defaults (the county's row is deleted)."""
    if not can_change_policy(actor, county.pk):
        raise PermissionDenied(
            _("Only the county's assessors and administrators can change the assessment rules."),
            code="assessment.forbidden",
        )
    AssessmentPolicy.objects.filter(county=county).delete()
    return policy_for(county.pk)


# ---- the periodic evaluation form


def periodic_evaluation_submit(
    *,
    actor: Actor,
    township: Organisation,
    subject: Organisation,
    period: Period,
    score: Any = None,
    grade: str = "",
    comment: str = "",
) -> tuple[PeriodicEvaluation, bool]:
    """A township's evaluation of a county department or stationed agency for a month,
    quarter or year; returns (form, created). A second submission for the same township,
    subject and period replaces the first (the township may correct its form).

    Give either a `score` (0–100, at most two decimals) or a `grade` (excellent 95, good
    85, fair 70, poor 50). Refused, writing nothing: 403 `assessment.forbidden` unless
    the actor is a leader of `township`; 400 `assessment.not_a_subject` when the subject
    is not an active department or stationed agency of the township's county;
    `assessment.form_period` for a range of days or a period not yet begun;
    `assessment.form_invalid` for a missing or wrong score or grade, or a comment over
    1000 characters.
    """
    if township.kind != OrgKind.TOWNSHIP or not any(
        g.organisation_id == township.pk and g.role == Role.TOWNSHIP_LEADER for g in actor.grants
    ):
        raise PermissionDenied(
            _("Only a leader of the township can fill in its evaluation forms."),
            code="assessment.forbidden",
        )
    if (
        subject.kind not in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
        or subject.county_id != township.county_id
        or not subject.is_active
    ):
        raise InvalidInput(
            _("Townships evaluate the county departments and stationed agencies of their county."),
            code="assessment.not_a_subject",
            detail=[_problem("subject", _("Choose a department or stationed agency."))],
        )
    today = timezone.localdate()
    if period.kind == PeriodKind.RANGE or period.start > today:
        raise InvalidInput(
            _("Evaluate a month, quarter or year that has begun."),
            code="assessment.form_period",
            detail=[_problem("period", _("Choose a month, quarter or year that has begun."))],
        )
    problems = []
    value: Decimal | None = None
    grade = clean_text(grade)
    if grade:
        if grade not in Grade.values:
            problems.append(_problem("grade", _("Choose one of the grades.")))
        elif score not in (None, ""):
            problems.append(_problem("score", _("Give a score or a grade, not both.")))
        else:
            value = GRADE_SCORES[grade]
    elif score in (None, ""):
        problems.append(_problem("score", _("Give a score from 0 to 100 or a grade.")))
    else:
        try:
            fraction = parse_fraction(score)
        except (ValueError, ZeroDivisionError, TypeError, InvalidOperation):
            fraction = None
        if fraction is None or not (0 <= fraction <= 100 and _fits(fraction, 2, 5)):
            problems.append(
                _problem("score", _("Give a score from 0 to 100 with at most two decimals."))
            )
        else:
            value = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    comment = clean_text(comment)
    if len(comment) > 1000:
        problems.append(_problem("comment", _("At most 1000 characters.")))
    if problems:
        raise InvalidInput(
            _("The evaluation form is not complete."),
            code="assessment.form_invalid",
            detail=problems,
        )
    assert value is not None
    assert township.county_id is not None
    now = timezone.now()
    with transaction.atomic():
        form, created = PeriodicEvaluation.objects.select_for_update().update_or_create(
            township=township,
            subject=subject,
            period_key=period.key,
            defaults={
                "county_id": township.county_id,
                "starts_on": period.start,
                "ends_on": period.end,
                "score": value.quantize(Decimal("0.01")),
                "grade": grade,
                "comment": comment,
                "submitted_by_id": actor.user_id,
                "updated_at": now,
            },
            create_defaults={
                "county_id": township.county_id,
                "starts_on": period.start,
                "ends_on": period.end,
                "score": value.quantize(Decimal("0.01")),
                "grade": grade,
                "comment": comment,
                "submitted_by_id": actor.user_id,
                "submitted_at": now,
                "updated_at": now,
            },
        )
    return form, created
