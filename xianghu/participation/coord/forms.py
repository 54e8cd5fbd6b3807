"""Forms of the registry and coordination pages. They only shape the input; the rules
(positive quantities, units of the kind, dates not in the past, what is still needed)
live in `services`, whose errors are put back on the form (`add_domain_error`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianghu.calls.forms import DomainErrorMixin
from xianghu.regions.models import Region
from xianghu.regions.roles import RegionLevel

from ..models_coord import (
    KIND_UNITS,
    ResourceKind,
    StakeholderKind,
    Unit,
    Urgency,
)

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _unit_choices() -> list[tuple[Any, Any]]:
    """Units grouped by the kind they count (a unit may appear under several kinds)."""
    return [
        (ResourceKind(kind).label, [(u, Unit(u).label) for u in units])
        for kind, units in KIND_UNITS.items()
    ]


def region_choices(regions: Iterable[Region]) -> list[tuple[str, str]]:
    """Regions as choices, villages indented under their township."""
    out = []
    for region in regions:
        prefix = "\u3000" if region.level == RegionLevel.VILLAGE else ""
        out.append((str(region.pk), f"{prefix}{region.name}"))
    return out


def ordered_places(regions: Iterable[Region]) -> list[Region]:
    """County first, then each township followed by its villages (by code)."""
    return sorted(regions, key=lambda r: r.code)


class RegionChoiceMixin:
    """Turns a chosen region id back into the region (among those offered)."""

    regions: dict[str, Region]

    def region(self, value: str | None) -> Region | None:
        return self.regions.get(value or "")


class NeedForm(DomainErrorMixin, RegionChoiceMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind of resource"), choices=ResourceKind.choices)
    title = forms.CharField(label=_("What is needed"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.CharField(
        label=_("Quantity"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=_unit_choices)
    place = forms.ChoiceField(label=_("Place"))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    needed_by = forms.DateField(label=_("Needed by"), widget=_DATE)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)

    def __init__(self, *args: Any, places: Sequence[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {str(r.pk): r for r in places}
        self.fields["place"].choices = region_choices(places)  # type: ignore[attr-defined]


class OfferForm(DomainErrorMixin, RegionChoiceMixin, forms.Form):
    stakeholder = forms.ChoiceField(label=_("Offered by"))
    kind = forms.ChoiceField(label=_("Kind of resource"), choices=ResourceKind.choices)
    title = forms.CharField(label=_("What is offered"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.CharField(
        label=_("Quantity"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=_unit_choices)
    area = forms.ChoiceField(label=_("Area"), help_text=_("Where the resources can go."))
    available_from = forms.DateField(label=_("Available from"), widget=_DATE)
    available_to = forms.DateField(label=_("Available until"), required=False, widget=_DATE)

    def __init__(
        self,
        *args: Any,
        areas: Sequence[Region],
        stakeholders: Sequence[Any],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {}).setdefault("available_from", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.regions = {str(r.pk): r for r in areas}
        self.fields["area"].choices = region_choices(areas)  # type: ignore[attr-defined]
        self.stakeholders = {str(s.pk): s for s in stakeholders}
        self.fields["stakeholder"].choices = [  # type: ignore[attr-defined]
            (str(s.pk), s.name) for s in stakeholders
        ]


class CommitForm(DomainErrorMixin, forms.Form):
    stakeholder = forms.ChoiceField(label=_("Committed by"))
    offer = forms.ChoiceField(label=_("From the offer"), required=False)
    quantity = forms.CharField(
        label=_("Quantity"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(
        self, *args: Any, stakeholders: Sequence[Any], offers: Sequence[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stakeholders = {str(s.pk): s for s in stakeholders}
        self.offers = {str(o.pk): o for o in offers}
        self.fields["stakeholder"].choices = [  # type: ignore[attr-defined]
            (str(s.pk), s.name) for s in stakeholders
        ]
        self.fields["offer"].choices = [("", _("No offer: a direct contribution"))] + [  # type: ignore[attr-defined]
            (str(o.pk), f"{o.stakeholder.name} · {o.title}") for o in offers
        ]


class ProfileForm(DomainErrorMixin, forms.Form):
    """A registry profile with one row per resource kind for its capacities."""

    name = forms.CharField(label=_("Name"), max_length=128)
    description = forms.CharField(
        label=_("Introduction"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    skills = forms.CharField(
        label=_("Skills"),
        max_length=500,
        required=False,
        help_text=_("For example: first aid, forklift licence, sign language."),
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=64, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    village = forms.ChoiceField(label=_("Village"), required=False)
    townships = forms.MultipleChoiceField(
        label=_("Townships served"), required=False, widget=forms.CheckboxSelectMultiple
    )
    villages = forms.MultipleChoiceField(
        label=_("Villages served"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(
        self,
        *args: Any,
        townships: Sequence[Region],
        villages: Sequence[Region],
        with_name: bool,
        with_village: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {str(r.pk): r for r in [*townships, *villages]}
        self.fields["townships"].choices = [(str(t.pk), t.name) for t in townships]  # type: ignore[attr-defined]
        by_township: dict[str, list[tuple[str, str]]] = {}
        for v in villages:
            by_township.setdefault(v.parent.name if v.parent else "", []).append(
                (str(v.pk), v.name)
            )
        self.fields["villages"].choices = list(by_township.items())  # type: ignore[attr-defined]
        if with_village:
            self.fields["village"].choices = [("", "—")] + [(str(v.pk), v.name) for v in villages]  # type: ignore[attr-defined]
            self.fields["village"].required = True
        else:
            del self.fields["village"]
        if not with_name:
            del self.fields["name"]
        for kind, label in ResourceKind.choices:
            self.fields[f"cap_{kind}"] = forms.BooleanField(label=label, required=False)
            self.fields[f"cap_{kind}_quantity"] = forms.CharField(
                label=_("Quantity"),
                max_length=20,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
            self.fields[f"cap_{kind}_unit"] = forms.ChoiceField(
                label=_("Unit"),
                choices=[(u, Unit(u).label) for u in KIND_UNITS[kind]],
                required=False,
            )
            self.fields[f"cap_{kind}_note"] = forms.CharField(
                label=_("Note"), max_length=200, required=False
            )

    def capacity_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": kind,
                "label": label,
                "on": self[f"cap_{kind}"],
                "quantity": self[f"cap_{kind}_quantity"],
                "unit": self[f"cap_{kind}_unit"],
                "note": self[f"cap_{kind}_note"],
            }
            for kind, label in ResourceKind.choices
        ]

    def chosen_areas(self) -> list[Region]:
        ids = [*self.cleaned_data.get("townships", []), *self.cleaned_data.get("villages", [])]
        return [self.regions[i] for i in ids if i in self.regions]


class StakeholderNewForm(DomainErrorMixin, forms.Form):
    """A profile the staff keep: a village committee or a grid worker."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (StakeholderKind.GRID_WORKER, StakeholderKind.GRID_WORKER.label),
            (StakeholderKind.VILLAGE_COMMITTEE, StakeholderKind.VILLAGE_COMMITTEE.label),
        ],
        widget=forms.RadioSelect,
        initial=StakeholderKind.GRID_WORKER,
    )
    organisation = forms.ChoiceField(label=_("Village committee"), required=False)
    name = forms.CharField(label=_("Name"), max_length=128, required=False)
    village = forms.ChoiceField(label=_("Village"), required=False)
    username = forms.CharField(
        label=_("User account (optional)"),
        max_length=150,
        required=False,
        help_text=_("Link the grid worker's own account, if there is one."),
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    skills = forms.CharField(label=_("Skills"), max_length=500, required=False)

    def __init__(
        self, *args: Any, villages: Sequence[Region], committees: Sequence[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.villages = {str(v.pk): v for v in villages}
        self.committees = {str(c.pk): c for c in committees}
        self.fields["village"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(v.pk), f"{v.parent.name if v.parent else ''} {v.name}") for v in villages
        ]
        self.fields["organisation"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(c.pk), c.name) for c in committees
        ]
