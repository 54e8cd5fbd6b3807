"""Forms of the list pages: filing a change request or an admission, deciding one.

The forms only shape the input; the rules live in `services` (a `DomainError` raised
there is put back on the form with `add_domain_error`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xianghu.core.errors import DomainError, InvalidInput
from xianghu.regions.models import Organisation

from .limits import parse_limit
from .models import ChangeKind, Domain, Item, PartyRole, PrimaryLevel
from .specs import PROPOSAL_FIELDS

NEW_DOMAIN = "__new__"

# The item fields a change request proposes through the form (all but the English name).
ITEM_FIELD_NAMES = tuple(f for f in PROPOSAL_FIELDS if f != "name_en")


def item_values(item: Item, short_names: dict[str, str] | None = None) -> dict[str, Any]:
    """An item as a proposal would describe it (departments by the names the list uses,
    or by the county's short names when `short_names` maps them)."""
    short_names = short_names or {}
    parties = list(item.parties.all())

    def names(role: str) -> list[str]:
        return [short_names.get(p.name, p.name) for p in parties if p.role == role]

    return {
        "code": item.code,
        "domain_code": item.domain.code,
        "domain_name": item.domain.name,
        "name": item.name,
        "primary_level": item.primary_level,
        "primary_departments": names(PartyRole.PRIMARY),
        "assisting_departments": names(PartyRole.ASSISTING),
        "primary_duties": item.primary_duties,
        "cooperating_duties": item.cooperating_duties,
        "legal_basis": item.legal_basis,
        "keywords": item.keywords,
        "respond_limit": item.respond_limit,
        "complete_limit": item.complete_limit,
        "callable": item.callable,
    }


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class _DomainErrorMixin:
    """Put a service's error back on the form: field problems next to their fields,
    the rest above the form."""

    # service field name → form field name
    field_map: dict[str, str] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        form = cast(forms.Form, self)
        placed = False
        if isinstance(exc, InvalidInput) and isinstance(exc.detail, list):
            for problem in exc.detail:
                if not isinstance(problem, dict):
                    continue
                name = self.field_map.get(str(problem.get("field", "")), problem.get("field"))
                if name in form.fields:
                    if name not in form.errors or problem["message"] not in form.errors[name]:
                        form.add_error(name, str(problem.get("message", "")))
                    placed = True
        if not placed:
            form.add_error(None, str(exc.message))


class ChangeChoiceForm(forms.Form):
    """Step one of filing a change request: which kind, on which item."""

    kind = forms.ChoiceField(
        label=_("Kind of change"), choices=ChangeKind.choices, widget=forms.RadioSelect
    )
    item = forms.ChoiceField(label=_("Item"), required=False)

    def __init__(self, *args: Any, items: Iterable[Item], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["item"])
        field.choices = [
            ("", _("— choose an item —")),
            *((i.code, f"{i.code} {i.name}") for i in items),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") in (ChangeKind.MODIFY, ChangeKind.REMOVE) and not data.get("item"):
            self.add_error("item", _("Choose the item to change."))
        return data


class ChangeRequestForm(_DomainErrorMixin, forms.Form):
    """Step two: the proposed item (add, modify) and the reason (every kind)."""

    field_map = {
        "legal_basis": "item_legal_basis",
        "domain_code": "domain",
        "domain_name": "domain",
        "code": "code",
    }

    code = forms.CharField(label=_("Item code"), max_length=32)
    domain = forms.ChoiceField(label=_("Domain"))
    new_domain_code = forms.CharField(
        label=_("New domain code"),
        max_length=16,
        required=False,
        help_text=_("Only when the item opens a new domain, e.g. D8."),
    )
    new_domain_name = forms.CharField(label=_("New domain name"), max_length=64, required=False)
    name = forms.CharField(label=_("Item name"), max_length=200)
    primary_level = forms.ChoiceField(
        label=_("Primary level"), choices=PrimaryLevel.choices, widget=forms.RadioSelect
    )
    primary_departments = forms.MultipleChoiceField(
        label=_("Primary departments"), required=False, widget=forms.CheckboxSelectMultiple
    )
    assisting_departments = forms.MultipleChoiceField(
        label=_("Assisting departments"), required=False, widget=forms.CheckboxSelectMultiple
    )
    primary_duties = forms.CharField(label=_("Primary duties"), widget=_textarea())
    cooperating_duties = forms.CharField(
        label=_("Cooperating duties"), required=False, widget=_textarea()
    )
    item_legal_basis = forms.CharField(
        label=_("Legal basis of the item"), required=False, widget=_textarea(2)
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=500,
        required=False,
        help_text=_("Separated by commas."),
    )
    respond_limit = forms.CharField(
        label=_("Respond within"), max_length=16, help_text=_("For example 24小时, 30m or 2h.")
    )
    complete_limit = forms.CharField(
        label=_("Complete within"),
        max_length=16,
        help_text=_("For example 5个工作日 or 5wd (working days)."),
    )
    callable = forms.BooleanField(
        label=_("Townships may call the county on this item"), required=False
    )
    reason = forms.CharField(label=_("Reason for the change"), widget=_textarea())
    legal_basis = forms.CharField(
        label=_("Legal or policy basis of the request"), required=False, widget=_textarea(2)
    )

    ITEM_FIELDS = (
        "code",
        "domain",
        "new_domain_code",
        "new_domain_name",
        "name",
        "primary_level",
        "primary_departments",
        "assisting_departments",
        "primary_duties",
        "cooperating_duties",
        "item_legal_basis",
        "keywords",
        "respond_limit",
        "complete_limit",
        "callable",
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        domains: Sequence[Domain],
        departments: Sequence[Organisation],
        current: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.kind = kind
        self.current = current
        self.domains = {d.code: d.name for d in domains}
        if current is not None and "initial" not in kwargs:
            kwargs["initial"] = self._initial_from(current)
        elif "initial" not in kwargs:
            kwargs["initial"] = {"primary_level": PrimaryLevel.COUNTY, "callable": True}
        super().__init__(*args, **kwargs)
        if kind == ChangeKind.REMOVE:
            for name in self.ITEM_FIELDS:
                del self.fields[name]
            return
        if kind == ChangeKind.MODIFY:
            del self.fields["code"]
        domain_field = cast(forms.ChoiceField, self.fields["domain"])
        domain_field.choices = [
            *((code, f"{code} {name}") for code, name in self.domains.items()),
            (NEW_DOMAIN, _("A new domain…")),
        ]
        names = [(d.short_name or d.name, d.short_name or d.name) for d in departments]
        for key in ("primary_departments", "assisting_departments"):
            cast(forms.MultipleChoiceField, self.fields[key]).choices = names

    @staticmethod
    def _initial_from(current: dict[str, Any]) -> dict[str, Any]:
        initial = {k: v for k, v in current.items() if k not in ("domain_code", "domain_name")}
        initial["domain"] = current["domain_code"]
        initial["item_legal_basis"] = current["legal_basis"]
        for key in ("respond_limit", "complete_limit"):
            try:
                initial[key] = parse_limit(str(current[key])).label
            except InvalidInput:
                initial[key] = current[key]
        initial.pop("legal_basis", None)
        return initial

    def _clean_limit(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "")
        try:
            return str(parse_limit(value))
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def clean_respond_limit(self) -> str:
        return self._clean_limit("respond_limit")

    def clean_complete_limit(self) -> str:
        return self._clean_limit("complete_limit")

    def clean_code(self) -> str:
        return str(self.cleaned_data.get("code") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.kind == ChangeKind.REMOVE:
            return data
        if data.get("domain") == NEW_DOMAIN:
            for key in ("new_domain_code", "new_domain_name"):
                if not str(data.get(key) or "").strip():
                    self.add_error(key, _("Name the new domain."))
            code = str(data.get("new_domain_code") or "").strip()
            if code in self.domains:
                self.add_error("new_domain_code", _("This domain already exists; choose it above."))
        if (
            data.get("primary_level") == PrimaryLevel.COUNTY
            and not data.get("primary_departments")
            and "primary_departments" not in self.errors
        ):
            self.add_error("primary_departments", _("A county item needs a primary department."))
        return data

    def proposal(self) -> dict[str, Any]:
        """The proposed item: every field for an addition, only what changes for a
        modification (empty when nothing changes)."""
        if self.kind == ChangeKind.REMOVE:
            return {}
        data = self.cleaned_data
        if data["domain"] == NEW_DOMAIN:
            domain_code = data["new_domain_code"].strip()
            domain_name = data["new_domain_name"].strip()
        else:
            domain_code, domain_name = data["domain"], self.domains[data["domain"]]
        values: dict[str, Any] = {
            "domain_code": domain_code,
            "domain_name": domain_name,
            "name": data["name"].strip(),
            "primary_level": data["primary_level"],
            "primary_departments": list(data["primary_departments"]),
            "assisting_departments": list(data["assisting_departments"]),
            "primary_duties": data["primary_duties"].strip(),
            "cooperating_duties": data["cooperating_duties"].strip(),
            "legal_basis": data["item_legal_basis"].strip(),
            "keywords": data["keywords"].strip(),
            "respond_limit": data["respond_limit"],
            "complete_limit": data["complete_limit"],
            "callable": bool(data["callable"]),
        }
        if self.kind == ChangeKind.ADD:
            return {"code": data["code"], **values}
        current = self.current or {}
        changed = {k: v for k, v in values.items() if not _same(k, v, current.get(k))}
        if "domain_code" in changed or "domain_name" in changed:
            changed["domain_code"], changed["domain_name"] = domain_code, domain_name
        return changed


def _same(key: str, new: Any, old: Any) -> bool:
    if key in ("primary_departments", "assisting_departments"):
        return sorted(new or []) == sorted(old or [])
    return bool(new == old)


class AdmissionForm(_DomainErrorMixin, forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    content = forms.CharField(label=_("Content of the task"), widget=_textarea(4))
    basis = forms.CharField(label=_("Basis (law, policy or decision)"), widget=_textarea(2))
    resources = forms.CharField(
        label=_("Resources that come with it"),
        required=False,
        widget=_textarea(2),
        help_text=_("费随事转: funds, staff, equipment."),
    )
    townships = forms.ModelMultipleChoiceField(
        label=_("Target townships"),
        queryset=Organisation.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, townships: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["townships"]).queryset = townships

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The period ends before it starts."))
        return data


class DecisionForm(_DomainErrorMixin, forms.Form):
    field_map = {"opinion": "opinion"}

    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.HiddenInput,
    )
    opinion = forms.CharField(label=_("Opinion"), widget=_textarea(3))

    @property
    def approve(self) -> bool:
        return self.cleaned_data.get("decision") == "approve"
