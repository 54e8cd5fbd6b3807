"""A county's assessment rules as plain values (`Policy`), read from `AssessmentPolicy`
or, where a county has none, the defaults below (docs/scoring.md, "Policy").

Shares and weights are exact fractions (`fractions.Fraction`) so that a township share of
1/3 is one third, not 0.3333: scores are computed exactly and rounded once, at the end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .models import AssessmentPolicy, Grade


@dataclass(frozen=True)
class Policy:
    """The rules one county assesses by. Weights are percentages (each group sums to 100);
    `w_basic` and the shares are fractions between 0 and 1; penalties are points."""

    county_id: int | None
    weight_response: Fraction
    weight_completion: Fraction
    weight_satisfaction: Fraction
    w_basic: Fraction
    count_default_evaluations: bool
    penalty_red_card: Fraction
    penalty_refused_return: Fraction
    penalty_redo: Fraction
    township_share_department: Fraction
    township_share_agency: Fraction
    form_share: Fraction
    weight_valid_calls: Fraction
    weight_cooperation: Fraction
    weight_township_satisfaction: Fraction
    min_volume: int
    is_default: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The values as JSON-friendly text and numbers (fractions as `1/3`)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = fraction_text(value) if isinstance(value, Fraction) else value
        return out


def fraction_text(value: Fraction) -> str:
    """`1/3` for a third, `0.6` for three fifths, `35` for 35: the shortest exact text."""
    if value.denominator == 1:
        return str(value.numerator)
    as_decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(as_decimal) == value:
        return format(as_decimal.normalize(), "f")
    return f"{value.numerator}/{value.denominator}"


#: The defaults of the domain brief (§6) and of docs/scoring.md: weights 30/35/35,
#: “basically satisfied” worth 1.0, the townships' evaluation 1/3 of a department's score
#: and 3/5 (60 %) of a stationed agency's.
DEFAULTS = Policy(
    county_id=None,
    weight_response=Fraction(30),
    weight_completion=Fraction(35),
    weight_satisfaction=Fraction(35),
    w_basic=Fraction(1),
    count_default_evaluations=True,
    penalty_red_card=Fraction(2),
    penalty_refused_return=Fraction(1),
    penalty_redo=Fraction(1),
    township_share_department=Fraction(1, 3),
    township_share_agency=Fraction(3, 5),
    form_share=Fraction(1, 2),
    weight_valid_calls=Fraction(40),
    weight_cooperation=Fraction(30),
    weight_township_satisfaction=Fraction(30),
    min_volume=5,
)

#: The lowest share of the host township's evaluation in a stationed agency's score [seed].
MIN_AGENCY_SHARE = Fraction(3, 5)

#: The score each grade of a periodic evaluation form stands for.
GRADE_SCORES: dict[str, Decimal] = {
    Grade.EXCELLENT: Decimal(95),
    Grade.GOOD: Decimal(85),
    Grade.FAIR: Decimal(70),
    Grade.POOR: Decimal(50),
}

#: The fields of `AssessmentPolicy` stored as fraction text ("1/3", "0.6").
FRACTION_FIELDS = ("township_share_department", "township_share_agency", "form_share")
#: The fields stored as decimals.
DECIMAL_FIELDS = (
    "weight_response",
    "weight_completion",
    "weight_satisfaction",
    "w_basic",
    "penalty_red_card",
    "penalty_refused_return",
    "penalty_redo",
    "weight_valid_calls",
    "weight_cooperation",
    "weight_township_satisfaction",
)


def parse_fraction(value: Any) -> Fraction:
    """A fraction from `1/3`, `0.6`, `60%`, a number or a Decimal; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, Fraction | int | Decimal):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value))
    text = str(value).strip()
    if text.endswith("%"):
        return Fraction(text[:-1].strip()) / 100
    return Fraction(text)


def policy_of(row: AssessmentPolicy | None) -> Policy:
    """The rules of a stored row, or the defaults."""
    if row is None:
        return DEFAULTS
    values: dict[str, Any] = {name: Fraction(getattr(row, name)) for name in DECIMAL_FIELDS}
    for name in FRACTION_FIELDS:
        values[name] = parse_fraction(getattr(row, name))
    return Policy(
        county_id=row.county_id,
        count_default_evaluations=row.count_default_evaluations,
        min_volume=row.min_volume,
        is_default=False,
        **values,
    )


def policy_for(county_id: int) -> Policy:
    """The rules of a county (one query); the defaults where it has none."""
    row = AssessmentPolicy.objects.filter(county_id=county_id).first()
    if row is None:
        return Policy(**{**asdict(DEFAULTS), "county_id": county_id})
    return policy_of(row)
