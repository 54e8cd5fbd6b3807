"""Forms of the call pages: a new call, and one small form per workflow action.

The forms only shape the input; the rules live in `services` (a `DomainError` raised
there is put back on the form with `add_domain_error`). The action forms are generated
from the workflow table: each field an action `requires` (and its `choices`) becomes a
form field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xianghu.catalog.models import Item
from xianghu.core.errors import DomainError
from xianghu.regions.models import Organisation, Region

from .attachments import PHOTO_ACTIONS
from .models import Call, Urgency
from .services import evidence_required
from .workflow import TEXT_MAX, Evaluation, Transition


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class DomainErrorMixin:
    """Put a service's error back on the form: field problems next to their fields,
    the rest above the form."""

    field_map: dict[str, str] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        form = cast(forms.Form, self)
        placed = False
        if isinstance(exc.detail, list):
            for problem in exc.detail:
                if not isinstance(problem, dict):
                    continue
                field = str(problem.get("field", ""))
                name = self.field_map.get(field, field)
                message = str(problem.get("message", ""))
                if name in form.fields:
                    if name not in form.errors or message not in form.errors[name]:
                        form.add_error(name, message)
                    placed = True
        if not placed:
            form.add_error(None, str(exc.message))


# ---- a new call -----------------------------------------------------------------------------


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class CallForm(DomainErrorMixin, forms.Form):
    """A new call. `places` are the regions the caller may name; `items` the callable
    items of the list in force; `callees` (only for a department) the townships it may
    call."""

    field_map = {"callee": "callee"}

    callee = forms.ChoiceField(label=_("Township called"), required=False)
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=4000, widget=_textarea(5))
    location = forms.ChoiceField(label=_("Place"))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    latitude = forms.DecimalField(
        label=_("Latitude"), required=False, max_digits=9, decimal_places=6
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), required=False, max_digits=9, decimal_places=6
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=Urgency.choices,
        initial=Urgency.NORMAL,
        widget=forms.RadioSelect,
    )
    item = forms.ChoiceField(
        label=_("List item"),
        required=False,
        help_text=_("Leave empty for a task outside the list."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self,
        *args: Any,
        places: Sequence[Region],
        items: Iterable[Item],
        callees: Sequence[Organisation] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.places = {str(r.pk): r for r in places}
        location = cast(forms.ChoiceField, self.fields["location"])
        location.choices = [
            ("", _("— choose the place —")),
            *((k, r.name) for k, r in self.places.items()),
        ]
        self.items = {str(i.pk): i for i in items}
        groups: dict[str, list[tuple[str, str]]] = {}
        for item in self.items.values():
            groups.setdefault(item.domain.name, []).append(
                (str(item.pk), f"{item.code} {item.name}")
            )
        item_field = cast(forms.ChoiceField, self.fields["item"])
        item_field.choices = [("", _("— outside the list —")), *groups.items()]
        self.callees = {str(o.pk): o for o in callees or []}
        if callees is None:
            del self.fields["callee"]
        else:
            callee = cast(forms.ChoiceField, self.fields["callee"])
            callee.required = True
            callee.choices = [
                ("", _("— choose the township —")),
                *((k, o.name) for k, o in self.callees.items()),
            ]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        callee = self.callees.get(str(data.get("callee") or ""))
        place = self.places.get(str(data.get("location") or ""))
        if (
            callee is not None
            and place is not None
            and callee.region_id is not None
            and not place.path.startswith(callee.region.path)
        ):
            self.add_error("location", _("The place must be in the township you call."))
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("latitude", _("Give both coordinates or neither."))
        return data

    @property
    def location_region(self) -> Region:
        return self.places[str(self.cleaned_data["location"])]

    @property
    def item_obj(self) -> Item | None:
        return self.items.get(str(self.cleaned_data.get("item") or ""))

    @property
    def callee_obj(self) -> Organisation | None:
        return self.callees.get(str(self.cleaned_data.get("callee") or ""))


# ---- the actions ----------------------------------------------------------------------------

MODE_LABELS = {"contact": _("Contacted the caller"), "on_site": _("Arrived on site")}
RESOLVED_LABELS = {"yes": _("Resolved"), "partly": _("Partly resolved"), "no": _("Not resolved")}
APPROVE_CHOICES = [("yes", _("Approve")), ("no", _("Refuse"))]
TEXT_LABELS = {
    "reason": _("Reason"),
    "text": _("Progress"),
    "result": _("Result"),
}
CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "mode": MODE_LABELS,
    "evaluation": dict(Evaluation.choices),
    "resolved": RESOLVED_LABELS,
}
CHOICE_FIELD_LABELS = {
    "mode": _("How did you respond"),
    "evaluation": _("Evaluation"),
    "resolved": _("Was the problem solved"),
}


class ActionForm(DomainErrorMixin, forms.Form):
    """The fields one action needs, built from its row of the workflow table.

    `organisations` are the choices of a lead/assisting (dispatch, rule); `suggested`
    the list's suggestion (lead id, assisting ids); `calls` the choices of `into`
    (merge); `assist_only` says the call is on a township-primary item (accepting it
    accepts a request for assistance)."""

    expected_state = forms.CharField(widget=forms.HiddenInput)
    # One key per rendered form: a form sent twice (a double click, a resend after a lost
    # answer) takes its step once (`call_transition`'s idempotency key).
    submission_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(
        self,
        *args: Any,
        transition: Transition,
        organisations: Sequence[Organisation] = (),
        assisting_choices: Sequence[Organisation] = (),
        suggested: tuple[int | None, Sequence[int]] = (None, ()),
        calls: Sequence[Call] = (),
        items: Sequence[Item] = (),
        assist_only: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", transition.action)
        super().__init__(*args, **kwargs)
        self.fields["submission_key"].initial = uuid.uuid4().hex
        self.transition = transition
        self.assist_only = assist_only
        requires = set(transition.requires)
        action = transition.action
        for name in transition.requires:
            if name in TEXT_LABELS:
                self.fields[name] = forms.CharField(
                    label=TEXT_LABELS[name], max_length=TEXT_MAX, widget=_textarea()
                )
            elif name in CHOICE_LABELS:
                labels = CHOICE_LABELS[name]
                allowed = transition.choices.get(name, tuple(labels))
                self.fields[name] = forms.ChoiceField(
                    label=CHOICE_FIELD_LABELS[name],
                    choices=[(v, labels.get(v, v)) for v in allowed],
                    widget=forms.RadioSelect,
                )
            elif name == "days":
                self.fields["days"] = forms.IntegerField(
                    label=_("Working days"), min_value=1, max_value=10
                )
            elif name == "approve":
                self.fields["approve"] = forms.ChoiceField(
                    label=_("Decision"), choices=APPROVE_CHOICES, widget=forms.HiddenInput
                )
            elif name == "into":
                self.fields["into"] = forms.ChoiceField(
                    label=_("Merge into"),
                    choices=[
                        ("", _("— choose the call —")),
                        *((str(c.pk), f"{c.number} {c.title}") for c in calls),
                    ],
                )
        if action in ("dispatch", "rule"):
            lead, assisting = suggested
            self.fields["lead"] = forms.ChoiceField(
                label=_("Lead department"),
                required="lead" in requires,
                choices=[
                    ("", _("— choose —")),
                    *((str(o.pk), o.name) for o in organisations),
                ],
                initial=str(lead) if lead else "",
            )
            if assisting_choices:
                self.fields["assisting"] = forms.MultipleChoiceField(
                    label=_("Assisting departments"),
                    required=False,
                    choices=[(str(o.pk), o.name) for o in assisting_choices],
                    initial=[str(i) for i in assisting],
                    widget=forms.CheckboxSelectMultiple,
                )
        if action == "accept" and items:
            groups: dict[str, list[tuple[str, str]]] = {}
            for item in items:
                groups.setdefault(item.domain.name, []).append(
                    (str(item.pk), f"{item.code} {item.name}")
                )
            self.fields["item"] = forms.ChoiceField(
                label=_("List item"),
                required=False,
                choices=[("", _("— outside the list —")), *groups.items()],
                help_text=_("Confirm the item the caller chose, or correct it."),
            )
        if action == "evaluate":
            self.fields["comment"] = forms.CharField(
                label=_("Comment"), required=False, max_length=TEXT_MAX, widget=_textarea(2)
            )

    @property
    def accepts_photos(self) -> bool:
        return self.transition.action in PHOTO_ACTIONS

    @property
    def photos_hint(self) -> str:
        """When this action needs a photo (`services.evidence_required`); empty: never."""
        action = self.transition.action
        if not self.accepts_photos:
            return ""
        modes = self.transition.choices.get("mode")
        if modes:
            needed = [m for m in modes if evidence_required(action, {"mode": m})]
            if not needed:
                return ""
            if len(needed) < len(modes):
                return str(
                    _("At least one photo is needed for: %(modes)s.")
                    % {"modes": "、".join(str(MODE_LABELS.get(m, m)) for m in needed)}
                )
        elif not evidence_required(action, {}):
            return ""
        return str(_("At least one photo is needed."))

    @property
    def notice(self) -> str:
        """What the user should know before taking the action."""
        if self.transition.action == "accept" and self.assist_only:
            return str(
                _(
                    "The item is the township's own duty (assistance only): accepting the "
                    "call accepts a request for assistance, not a transfer of the duty."
                )
            )
        return ""

    @property
    def has_approve(self) -> bool:
        return "approve" in self.fields

    def visible_fields_but_approve(self) -> list[Any]:
        return [f for f in self.visible_fields() if f.name != "approve"]

    def data_for_service(self) -> dict[str, Any]:
        """The cleaned fields as `call_transition` takes them (ids as numbers)."""
        data: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name in ("expected_state", "submission_key"):
                continue
            if name == "item":
                # Only a posted choice changes the item (an absent field keeps the caller's).
                if self.add_prefix("item") in self.data:
                    data[name] = int(value) if value else None
            elif name in ("lead", "into"):
                if value:
                    data[name] = int(value)
            elif name == "assisting":
                data[name] = [int(v) for v in value]
            elif name == "comment":
                if value:
                    data[name] = value
            else:
                data[name] = value
        return data
