"""The forms of the stationed-agency page. They only carry the input and show the
services' errors: every field is optional here, `regions.agencies` checks everything."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xianghu.core.errors import DomainError

from .models import ConsultationDecision, ConsultationKind, TownshipOpinion


class _ServiceErrors:
    """Put a service's error back on the form: field problems next to their fields,
    the rest above the form."""

    def add_domain_error(self, exc: DomainError) -> None:
        form = cast(forms.Form, self)
        placed = False
        if isinstance(exc.detail, list):
            for problem in exc.detail:
                if not isinstance(problem, dict):
                    continue
                name = str(problem.get("field", ""))
                if name in form.fields:
                    form.add_error(name, str(problem.get("message", "")))
                    placed = True
        if not placed:
            form.add_error(None, str(exc.message))


class ProposalForm(_ServiceErrors, forms.Form):
    kind = forms.ChoiceField(
        label=_("Proposal"),
        choices=ConsultationKind.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    person_name = forms.CharField(
        label=_("Person"), required=False, widget=forms.TextInput(attrs={"maxlength": 64})
    )
    position = forms.CharField(
        label=_("Position"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 64}),
        help_text=_("For example 所长 or 中队长."),
    )
    proposal = forms.CharField(
        label=_("Reasons for the proposal"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "proposal")
        super().__init__(*args, **kwargs)


class OpinionForm(_ServiceErrors, forms.Form):
    opinion = forms.ChoiceField(
        label=_("The township's opinion"),
        choices=TownshipOpinion.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    opinion_text = forms.CharField(
        label=_("Remarks"),
        required=False,
        help_text=_("Required with reservations or disagreement."),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )

    def __init__(self, *args: Any, consultation_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"opinion-{consultation_id}")
        super().__init__(*args, **kwargs)


class DecisionForm(_ServiceErrors, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=ConsultationDecision.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    decision_text = forms.CharField(
        label=_("Reasons"),
        required=False,
        help_text=_(
            "Required for a rejection, a withdrawal, and an approval over the township's "
            "reservations or disagreement."
        ),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )

    def __init__(self, *args: Any, consultation_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"decision-{consultation_id}")
        super().__init__(*args, **kwargs)


class FundsForm(_ServiceErrors, forms.Form):
    managed_by_township = forms.BooleanField(
        label=_("The host township manages the agency's daily funds"), required=False
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "funds")
        super().__init__(*args, **kwargs)
