"""Writes of the stakeholder registry and of resource coordination.

Every quantity is checked here (positive, whole for countable units, in a unit of the
resource kind); a commitment is taken under a row lock on its need (and offer) so that two
organisations committing at once can never exceed what is still needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.notify import services as notify_services
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import OrgKind, RegionLevel, Role

from ..models_coord import (
    ACTIVE_COMMITMENT,
    FRACTIONAL_UNITS,
    KIND_UNITS,
    STAFF_KEPT_KINDS,
    Capacity,
    Commitment,
    CommitmentStatus,
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
    ResourceKind,
    Stakeholder,
    StakeholderKind,
    Unit,
    Urgency,
)
from .access import TOWNSHIP_STAFF_ROLES

MAX_QUANTITY = Decimal("9999999999")
_ORG_KIND_TO_STAKEHOLDER = {
    OrgKind.SOCIAL_ORG: StakeholderKind.SOCIAL_ORG,
    OrgKind.ENTERPRISE: StakeholderKind.ENTERPRISE,
    OrgKind.VOLUNTEER_TEAM: StakeholderKind.VOLUNTEER_TEAM,
    OrgKind.VILLAGE: StakeholderKind.VILLAGE_COMMITTEE,
}


# ---- checks -----------------------------------------------------------------------------------


def _invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, detail=[{"field": field, "message": message}])


def _kind(kind: str) -> str:
    if kind not in ResourceKind.values:
        raise _invalid("kind", _("Choose a kind of resource."), "coord.kind_invalid")
    return kind


def _unit(kind: str, unit: str) -> str:
    if unit not in KIND_UNITS.get(kind, ()):
        raise _invalid(
            "unit",
            _("%(kind)s is counted in %(units)s.")
            % {
                "kind": ResourceKind(kind).label,
                "units": "、".join(str(Unit(u).label) for u in KIND_UNITS[kind]),
            },
            "coord.unit_invalid",
        )
    return unit


def quantity_check(value: Any, unit: str, *, field: str = "quantity") -> Decimal:
    """A positive quantity, whole unless the unit may hold fractions."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("Enter a number."), "coord.quantity_invalid") from None
    if not quantity.is_finite() or quantity <= 0:
        raise _invalid(
            field, _("The quantity must be greater than zero."), "coord.quantity_not_positive"
        )
    if quantity > MAX_QUANTITY:
        raise _invalid(field, _("The quantity is too large."), "coord.quantity_too_large")
    if unit not in FRACTIONAL_UNITS and quantity != quantity.to_integral_value():
        raise _invalid(
            field,
            _("%(unit)s are counted in whole numbers.") % {"unit": Unit(unit).label},
            "coord.quantity_not_whole",
        )
    if quantity.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _invalid(field, _("At most two decimal places."), "coord.quantity_too_precise")
    return quantity


def _not_past(value: date, field: str) -> date:
    if value < timezone.localdate():
        raise _invalid(field, _("The date is in the past."), "coord.date_past")
    return value


def _in_county(region: Region, county: Region, field: str) -> Region:
    if not region.path.startswith(county.path):
        raise _invalid(field, _("The place is outside the county."), "coord.place_outside")
    return region


def township_of(region: Region) -> Region | None:
    if region.level == RegionLevel.TOWNSHIP:
        return region
    if region.level == RegionLevel.VILLAGE:
        return region.parent
    return None


def fmt_quantity(value: Decimal | None) -> str:
    """12.50 → 12.5, 3.00 → 3 (for messages and pages)."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityData:
    kind: str
    unit: str
    quantity: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class ProfileData:
    name: str
    description: str = ""
    skills: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    village: Region | None = None


def _clean_profile(data: ProfileData) -> dict[str, Any]:
    name = clean_text(data.name)[:128]
    if not name:
        raise _invalid("name", _("Give a name."), "coord.name_required")
    phone = clean_text(data.contact_phone).replace(" ", "").replace("-", "")
    if phone and not (phone.lstrip("+").isdigit() and 5 <= len(phone) <= 20):
        raise _invalid("contact_phone", _("Enter a valid phone number."), "coord.phone_invalid")
    return {
        "name": name,
        "description": clean_text(data.description)[:2000],
        "skills": clean_text(data.skills)[:500],
        "contact_name": clean_text(data.contact_name)[:64],
        "contact_phone": phone,
    }


def stakeholder_for_organisation(*, actor: Actor, organisation: Organisation) -> Stakeholder:
    """The registry profile of a society organisation or village committee, made on first
    use from the organisation's own data. Only its keepers may ask."""
    existing = Stakeholder.objects.filter(organisation=organisation).first()
    if existing is not None:
        access.require(actor, "change", existing)
        return existing
    if organisation.pk not in actor.organisation_ids() and not actor.is_superuser:
        raise PermissionDenied(
            _("Only the organisation's members keep its profile."), code="coord.not_member"
        )
    kind = _ORG_KIND_TO_STAKEHOLDER.get(OrgKind(organisation.kind))
    county = organisation.county
    if kind is None or county is None:
        raise PermissionDenied(
            _("This organisation has no profile in the stakeholder registry."),
            code="coord.no_profile",
        )
    with transaction.atomic():
        stakeholder = Stakeholder.objects.create(
            county=county,
            township=organisation.township,
            kind=kind,
            organisation=organisation,
            village=organisation.region if kind == StakeholderKind.VILLAGE_COMMITTEE else None,
            name=organisation.name,
            contact_phone=organisation.contact_phone,
            updated_by_id=actor.user_id,
        )
        access.require(actor, "change", stakeholder)  # refused: the profile is not made
    return stakeholder


def stakeholder_create(
    *,
    actor: Actor,
    county: Region,
    kind: str,
    data: ProfileData,
    organisation: Organisation | None = None,
    user: Any = None,
) -> Stakeholder:
    """A profile kept by the staff: a village committee (from its organisation) or a grid
    worker (a person, linked to a user or only named, in a village)."""
    if kind not in STAFF_KEPT_KINDS:
        raise _invalid("kind", _("Choose a village committee or a grid worker."), "coord.kind")
    fields = _clean_profile(data)
    village: Region | None
    if kind == StakeholderKind.VILLAGE_COMMITTEE:
        if organisation is None or organisation.kind != OrgKind.VILLAGE:
            raise _invalid(
                "organisation", _("Choose the village committee."), "coord.village_required"
            )
        if Stakeholder.objects.filter(organisation=organisation).exists():
            raise Conflict(
                _("This village committee already has a profile."), code="coord.profile_exists"
            )
        village = organisation.region
    else:
        organisation = None
        village = data.village
        if village is None or village.level != RegionLevel.VILLAGE:
            raise _invalid("village", _("Choose the village."), "coord.village_required")
    _in_county(village, county, "village")
    with transaction.atomic():
        stakeholder = Stakeholder.objects.create(
            county=county,
            township=village.parent,
            kind=kind,
            organisation=organisation,
            user=user,
            village=village,
            updated_by_id=actor.user_id,
            **fields,
        )
        stakeholder.areas.set([village])
        access.require(actor, "change", stakeholder)  # refused: nothing is kept
    return stakeholder


@transaction.atomic
def stakeholder_update(
    *,
    actor: Actor,
    stakeholder: Stakeholder,
    data: ProfileData,
    areas: Iterable[Region],
    capacities: Sequence[CapacityData],
) -> Stakeholder:
    """Edit a profile: its text, contact, the areas it serves and its capacities."""
    access.require(actor, "change", stakeholder)
    stakeholder = Stakeholder.objects.select_for_update(of=("self",)).get(pk=stakeholder.pk)
    fields = _clean_profile(data)
    if stakeholder.organisation_id is not None:
        fields.pop("name")  # an organisation's name is the directory's
    area_list = [_in_county(area, stakeholder.county, "areas") for area in areas]
    if stakeholder.kind == StakeholderKind.GRID_WORKER and data.village is not None:
        village = _in_county(data.village, stakeholder.county, "village")
        if village.level != RegionLevel.VILLAGE:
            raise _invalid("village", _("Choose the village."), "coord.village_required")
        fields["village"] = village
        fields["township"] = village.parent
    seen: set[str] = set()
    rows: list[Capacity] = []
    for cap in capacities:
        kind = _kind(cap.kind)
        if kind in seen:
            continue
        seen.add(kind)
        unit = _unit(kind, cap.unit)
        quantity = (
            quantity_check(cap.quantity, unit, field=f"cap_{kind}_quantity")
            if cap.quantity is not None
            else None
        )
        rows.append(
            Capacity(
                stakeholder=stakeholder,
                kind=kind,
                unit=unit,
                quantity=quantity,
                note=clean_text(cap.note)[:200],
            )
        )
    for key, value in fields.items():
        setattr(stakeholder, key, value)
    stakeholder.updated_by_id = actor.user_id
    stakeholder.save()
    stakeholder.areas.set(area_list)
    stakeholder.capacities.all().delete()
    Capacity.objects.bulk_create(rows)
    return stakeholder


# ---- needs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedData:
    kind: str
    title: str
    quantity: Any
    unit: str
    place: Region
    needed_by: date
    urgency: str = Urgency.NORMAL
    description: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def poster_check(*, actor: Actor, poster: Organisation) -> None:
    """The township staff post for their township, the platform operators for the county."""
    if poster.kind == OrgKind.TOWNSHIP:
        roles: tuple[str, ...] = TOWNSHIP_STAFF_ROLES
    elif poster.kind == OrgKind.PLATFORM_CENTRE:
        roles = (Role.PLATFORM_OPERATOR,)
    else:
        roles = ()
    if not any(g.organisation_id == poster.pk for g in actor.grants_for(*roles)):
        raise PermissionDenied(
            _("Only a township or the county platform posts needs."), code="coord.not_poster"
        )


def _need_fields(*, poster: Organisation, data: NeedData, creating: bool) -> dict[str, Any]:
    county = poster.county
    if county is None:
        raise PermissionDenied(code="coord.not_poster")
    kind = _kind(data.kind)
    unit = _unit(kind, data.unit)
    title = clean_text(data.title)[:120]
    if not title:
        raise _invalid("title", _("Say what is needed."), "coord.title_required")
    place = _in_county(data.place, county, "place")
    if poster.kind == OrgKind.TOWNSHIP and township_of(place) != poster.township:
        raise _invalid("place", _("The place must be in your township."), "coord.place_outside")
    if place.level not in (RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        raise _invalid("place", _("Choose a township or a village."), "coord.place_invalid")
    if data.urgency not in Urgency.values:
        raise _invalid("urgency", _("Choose an urgency."), "coord.urgency_invalid")
    fields: dict[str, Any] = {
        "county": county,
        "township": township_of(place),
        "place": place,
        "kind": kind,
        "unit": unit,
        "title": title,
        "description": clean_text(data.description)[:2000],
        "quantity": quantity_check(data.quantity, unit),
        "needed_by": data.needed_by,
        "urgency": data.urgency,
        "address": clean_text(data.address)[:200],
        "latitude": data.latitude,
        "longitude": data.longitude,
    }
    if creating:
        _not_past(data.needed_by, "needed_by")
    return fields


def need_create(*, actor: Actor, poster: Organisation, data: NeedData) -> Need:
    poster_check(actor=actor, poster=poster)
    fields = _need_fields(poster=poster, data=data, creating=True)
    return Need.objects.create(poster=poster, created_by_id=actor.user_id, **fields)


def _committed(need: Need) -> Decimal:
    total = Commitment.objects.filter(need=need, status__in=ACTIVE_COMMITMENT).aggregate(
        n=Sum("quantity")
    )["n"]
    return total or Decimal(0)


@transaction.atomic
def need_update(*, actor: Actor, need: Need, data: NeedData) -> Need:
    """Edit a need; the quantity never drops below what is already committed, and a new
    date may not be in the past."""
    access.require(actor, "change", need)
    need = Need.objects.select_for_update(of=("self",)).select_related("poster").get(pk=need.pk)
    if need.status != NeedStatus.OPEN:
        raise Conflict(_("This need is no longer open."), code="coord.need_not_open")
    fields = _need_fields(poster=need.poster, data=data, creating=False)
    if fields["needed_by"] != need.needed_by:
        _not_past(fields["needed_by"], "needed_by")
    committed = _committed(need)
    if (fields["kind"], fields["unit"]) != (need.kind, need.unit) and committed:
        raise _invalid(
            "unit",
            _("Resources are already committed: the kind and unit cannot change."),
            "coord.need_kind_locked",
        )
    if fields["quantity"] < committed:
        raise _invalid(
            "quantity",
            _("%(n)s %(unit)s are already committed: the quantity cannot be lower.")
            % {"n": fmt_quantity(committed), "unit": Unit(need.unit).label},
            "coord.below_committed",
        )
    for key, value in fields.items():
        setattr(need, key, value)
    need.save()
    _settle(need)
    return need


@transaction.atomic
def need_close(*, actor: Actor, need: Need) -> Need:
    """Close a need that is no longer wanted: commitments not yet delivered are cancelled."""
    access.require(actor, "change", need)
    need = Need.objects.select_for_update(of=("self",)).get(pk=need.pk)
    if need.status == NeedStatus.CLOSED:
        return need
    now = timezone.now()
    Commitment.objects.filter(need=need, status=CommitmentStatus.COMMITTED).update(
        status=CommitmentStatus.CANCELLED,
        cancelled_at=now,
        reason=_("The need was closed."),
    )
    need.status = NeedStatus.CLOSED
    need.closed_at = now
    need.save(update_fields=["status", "closed_at"])
    return need


def _settle(need: Need) -> None:
    """A need whose quantity is all confirmed is met (and open again if raised)."""
    confirmed = Commitment.objects.filter(need=need, status=CommitmentStatus.CONFIRMED).aggregate(
        n=Sum("quantity")
    )["n"] or Decimal(0)
    status = NeedStatus.FULFILLED if confirmed >= need.quantity else NeedStatus.OPEN
    if need.status != NeedStatus.CLOSED and status != need.status:
        need.status = status
        need.closed_at = timezone.now() if status == NeedStatus.FULFILLED else None
        need.save(update_fields=["status", "closed_at"])


# ---- offers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferData:
    kind: str
    title: str
    quantity: Any
    unit: str
    area: Region
    available_from: date
    available_to: date | None = None
    description: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _offer_fields(*, stakeholder: Stakeholder, data: OfferData) -> dict[str, Any]:
    kind = _kind(data.kind)
    unit = _unit(kind, data.unit)
    title = clean_text(data.title)[:120]
    if not title:
        raise _invalid("title", _("Say what is offered."), "coord.title_required")
    area = _in_county(data.area, stakeholder.county, "area")
    if data.available_to is not None and data.available_to < data.available_from:
        raise _invalid(
            "available_to",
            _("The end of the window is before its start."),
            "coord.window_reversed",
        )
    return {
        "county": stakeholder.county,
        "area": area,
        "kind": kind,
        "unit": unit,
        "title": title,
        "description": clean_text(data.description)[:2000],
        "quantity": quantity_check(data.quantity, unit),
        "available_from": data.available_from,
        "available_to": data.available_to,
        "latitude": data.latitude,
        "longitude": data.longitude,
    }


def offer_create(*, actor: Actor, stakeholder: Stakeholder, data: OfferData) -> Offer:
    access.require(actor, "act", stakeholder)
    if not stakeholder.is_active:
        raise Conflict(_("This profile is not active."), code="coord.profile_inactive")
    fields = _offer_fields(stakeholder=stakeholder, data=data)
    _not_past(data.available_from, "available_from")
    if data.available_to is not None:
        _not_past(data.available_to, "available_to")
    return Offer.objects.create(stakeholder=stakeholder, created_by_id=actor.user_id, **fields)


def _used(offer: Offer) -> Decimal:
    total = Commitment.objects.filter(offer=offer, status__in=ACTIVE_COMMITMENT).aggregate(
        n=Sum("quantity")
    )["n"]
    return total or Decimal(0)


@transaction.atomic
def offer_update(*, actor: Actor, offer: Offer, data: OfferData) -> Offer:
    access.require(actor, "change", offer)
    offer = (
        Offer.objects.select_for_update(of=("self",)).select_related("stakeholder").get(pk=offer.pk)
    )
    if offer.status != OfferStatus.OPEN:
        raise Conflict(_("This offer was withdrawn."), code="coord.offer_not_open")
    fields = _offer_fields(stakeholder=offer.stakeholder, data=data)
    if fields["available_from"] != offer.available_from:
        _not_past(fields["available_from"], "available_from")
    if fields["available_to"] is not None and fields["available_to"] != offer.available_to:
        _not_past(fields["available_to"], "available_to")
    used = _used(offer)
    if (fields["kind"], fields["unit"]) != (offer.kind, offer.unit) and used:
        raise _invalid(
            "unit",
            _("Resources are already committed: the kind and unit cannot change."),
            "coord.offer_kind_locked",
        )
    if fields["quantity"] < used:
        raise _invalid(
            "quantity",
            _("%(n)s %(unit)s are already committed: the quantity cannot be lower.")
            % {"n": fmt_quantity(used), "unit": Unit(offer.unit).label},
            "coord.below_committed",
        )
    for key, value in fields.items():
        setattr(offer, key, value)
    offer.save()
    return offer


def offer_withdraw(*, actor: Actor, offer: Offer) -> Offer:
    """Withdraw what is left of an offer; commitments already made stand."""
    access.require(actor, "change", offer)
    Offer.objects.filter(pk=offer.pk).update(status=OfferStatus.WITHDRAWN)
    offer.status = OfferStatus.WITHDRAWN
    return offer


# ---- commitments ------------------------------------------------------------------------------


def _members(organisation_ids: Iterable[int | None]) -> list[int]:
    ids = [pk for pk in organisation_ids if pk is not None]
    return list(
        Membership.objects.filter(organisation_id__in=ids, is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def _notify_members(
    *, organisation_ids: Iterable[int | None], title: str, body: str, url: str, key: str
) -> None:
    ids = list(organisation_ids)

    def send() -> None:
        users = _members(ids)
        if users:
            notify_services.notify(
                users=users, title=title, body=body, url=url, kind="coord", source_key=key
            )

    notify_services.notify_with_change(send, what=f"notification {key}")


@transaction.atomic
def commitment_create(
    *,
    actor: Actor,
    need: Need,
    stakeholder: Stakeholder,
    quantity: Any,
    offer: Offer | None = None,
    note: str = "",
) -> Commitment:
    """Commit part of a need, never beyond what is still needed (nor beyond the offer)."""
    access.require(actor, "act", stakeholder)
    need = Need.objects.select_for_update(of=("self",)).get(pk=need.pk)
    if need.status != NeedStatus.OPEN:
        raise Conflict(_("This need is no longer open."), code="coord.need_not_open")
    amount = quantity_check(quantity, need.unit)
    remaining = need.quantity - _committed(need)
    if amount > remaining:
        raise Conflict(
            _("Only %(n)s %(unit)s are still needed; nothing was committed.")
            % {"n": fmt_quantity(max(remaining, Decimal(0))), "unit": Unit(need.unit).label},
            code="coord.beyond_need",
            detail=[
                {
                    "field": "quantity",
                    "message": _("At most %(n)s.")
                    % {"n": fmt_quantity(max(remaining, Decimal(0)))},
                }
            ],
        )
    if offer is not None:
        offer = Offer.objects.select_for_update(of=("self",)).get(pk=offer.pk)
        if offer.stakeholder_id != stakeholder.pk:
            raise PermissionDenied(
                _("The offer belongs to another stakeholder."), code="coord.offer_not_yours"
            )
        if offer.status != OfferStatus.OPEN:
            raise Conflict(_("This offer was withdrawn."), code="coord.offer_not_open")
        if (offer.kind, offer.unit) != (need.kind, need.unit):
            raise _invalid(
                "offer",
                _("The offer is of another kind or unit than the need."),
                "coord.offer_mismatch",
            )
        left = offer.quantity - _used(offer)
        if amount > left:
            raise Conflict(
                _("Only %(n)s %(unit)s are left in the offer; nothing was committed.")
                % {"n": fmt_quantity(max(left, Decimal(0))), "unit": Unit(offer.unit).label},
                code="coord.beyond_offer",
                detail=[
                    {
                        "field": "quantity",
                        "message": _("At most %(n)s.") % {"n": fmt_quantity(max(left, Decimal(0)))},
                    }
                ],
            )
    commitment = Commitment.objects.create(
        need=need,
        offer=offer,
        stakeholder=stakeholder,
        quantity=amount,
        note=clean_text(note)[:500],
        created_by_id=actor.user_id,
    )
    _notify_members(
        organisation_ids=[need.poster_id],
        title=_("%(who)s committed %(n)s %(unit)s to %(need)s")
        % {
            "who": stakeholder.name,
            "n": fmt_quantity(amount),
            "unit": Unit(need.unit).label,
            "need": need.title,
        },
        body=commitment.note,
        url=reverse("participation:need_detail", args=[need.pk]),
        key=f"coord-commitment-{commitment.pk}-committed",
    )
    return commitment


def _locked(commitment: Commitment) -> Commitment:
    return (
        Commitment.objects.select_for_update(of=("self",))
        .select_related("need", "stakeholder")
        .get(pk=commitment.pk)
    )


@transaction.atomic
def commitment_deliver(*, actor: Actor, commitment: Commitment) -> Commitment:
    """The giver reports the delivery; the receiver then confirms it."""
    access.require(actor, "deliver", commitment)
    commitment = _locked(commitment)
    if commitment.status != CommitmentStatus.COMMITTED:
        raise Conflict(
            _("Only a committed contribution can be delivered."), code="coord.not_committed"
        )
    commitment.status = CommitmentStatus.DELIVERED
    commitment.delivered_at = timezone.now()
    commitment.save(update_fields=["status", "delivered_at"])
    need = commitment.need
    _notify_members(
        organisation_ids=[need.poster_id],
        title=_("%(who)s delivered %(n)s %(unit)s for %(need)s: please confirm")
        % {
            "who": commitment.stakeholder.name,
            "n": fmt_quantity(commitment.quantity),
            "unit": Unit(need.unit).label,
            "need": need.title,
        },
        body="",
        url=reverse("participation:need_detail", args=[need.pk]),
        key=f"coord-commitment-{commitment.pk}-delivered",
    )
    return commitment


@transaction.atomic
def commitment_confirm(*, actor: Actor, commitment: Commitment) -> Commitment:
    """The receiver (the need's township or the county platform) confirms a delivery."""
    access.require(actor, "confirm", commitment)
    commitment = _locked(commitment)
    if commitment.status != CommitmentStatus.DELIVERED:
        raise Conflict(
            _("Only a delivered contribution can be confirmed."), code="coord.not_delivered"
        )
    commitment.status = CommitmentStatus.CONFIRMED
    commitment.confirmed_at = timezone.now()
    commitment.confirmed_by_id = actor.user_id
    commitment.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    need = Need.objects.select_for_update(of=("self",)).get(pk=commitment.need_id)
    _settle(need)
    _notify_members(
        organisation_ids=[commitment.stakeholder.organisation_id],
        title=_("Your delivery for %(need)s was confirmed") % {"need": need.title},
        body="",
        url=reverse("participation:need_detail", args=[need.pk]),
        key=f"coord-commitment-{commitment.pk}-confirmed",
    )
    return commitment


@transaction.atomic
def commitment_cancel(*, actor: Actor, commitment: Commitment, reason: str = "") -> Commitment:
    """Cancel a commitment before delivery (by the giver or the receiver): the quantity is
    needed again."""
    access.require(actor, "cancel", commitment)
    commitment = _locked(commitment)
    if commitment.status != CommitmentStatus.COMMITTED:
        raise Conflict(
            _("A delivered contribution cannot be cancelled."), code="coord.not_cancellable"
        )
    commitment.status = CommitmentStatus.CANCELLED
    commitment.cancelled_at = timezone.now()
    commitment.reason = clean_text(reason)[:500]
    commitment.save(update_fields=["status", "cancelled_at", "reason"])
    return commitment
