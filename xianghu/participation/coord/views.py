"""Pages of the stakeholder registry and of resource coordination, and the public
resource board (no login) with its JSON twin."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianghu.core import access
from xianghu.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_name, mask_personal_text, mask_phone
from xianghu.regions.current import current_membership
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import SOCIETY_KINDS, OrgKind, RegionLevel
from xianghu.regions.selectors import user_by_username

from ..models_coord import (
    KIND_UNITS,
    Commitment,
    CommitmentStatus,
    Need,
    NeedStatus,
    OfferStatus,
    ResourceKind,
    Stakeholder,
    StakeholderKind,
    Unit,
    Urgency,
)
from . import matching, selectors, services
from .access import may_post_needs, staff_county_ids
from .forms import CommitForm, NeedForm, OfferForm, ProfileForm, StakeholderNewForm
from .services import fmt_quantity

PAGE_SIZE = 30


# ---- helpers ----------------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _choice(value: str | None, choices: list[str]) -> str:
    return value if value in choices else ""


def _county_regions(counties: list[Region] | Any) -> list[Region]:
    """The counties, their townships and villages, in code order (for place choices)."""
    counties = list(counties)
    if not counties:
        return []
    paths = [c.path for c in counties]
    qs = Region.objects.filter(path__startswith=paths[0]).select_related("parent")
    for path in paths[1:]:
        qs = qs | Region.objects.filter(path__startswith=path).select_related("parent")
    return sorted(
        (
            r
            for r in qs
            if r.level in (RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)
        ),
        key=lambda r: r.code,
    )


def _poster(request: XhRequest) -> Organisation | None:
    """The township or platform centre the user works for, if it may post needs."""
    membership = current_membership(request)
    if membership is None or not may_post_needs(membership):
        return None
    return membership.organisation


def _places(poster: Organisation) -> list[Region]:
    if poster.kind == OrgKind.TOWNSHIP and poster.township is not None:
        return [poster.township, *Region.objects.filter(parent=poster.township).order_by("code")]
    return _county_regions([poster.county] if poster.county else [])


def _kept(request: XhRequest) -> list[Stakeholder]:
    """The profiles the user acts for; a society organisation's profile is made on first use."""
    membership = current_membership(request)
    if membership is not None and membership.organisation.kind in SOCIETY_KINDS:
        with contextlib.suppress(DomainError):
            services.stakeholder_for_organisation(
                actor=request.actor, organisation=membership.organisation
            )
    return list(selectors.stakeholders_kept(actor=request.actor))


def _unit(value: str) -> str:
    return str(Unit(value).label) if value in Unit.values else value


def _who(stakeholder: Stakeholder) -> str:
    """Organisations are named; people are masked (张*明)."""
    return mask_name(stakeholder.name) if stakeholder.is_person else stakeholder.name


def _progress(need: Need) -> dict[str, Any]:
    quantity = need.quantity
    committed: Decimal = getattr(need, "committed", Decimal(0))
    confirmed: Decimal = getattr(need, "confirmed", Decimal(0))
    delivered: Decimal = getattr(need, "delivered", Decimal(0))
    remaining = max(quantity - committed, Decimal(0))
    return {
        "quantity": fmt_quantity(quantity),
        "committed": fmt_quantity(committed),
        "delivered": fmt_quantity(delivered),
        "confirmed": fmt_quantity(confirmed),
        "remaining": fmt_quantity(remaining),
        "remaining_value": remaining,
        "unit": _unit(need.unit),
        "percent_committed": int(min(Decimal(100), committed * 100 / quantity)) if quantity else 0,
        "percent_delivered": int(min(Decimal(100), delivered * 100 / quantity)) if quantity else 0,
    }


# ---- the registry -----------------------------------------------------------------------------


@login_required
def registry(request: XhRequest) -> HttpResponse:
    """Search the stakeholder registry by township, kind and capacity (county and
    township staff); a society organisation's member is sent to its own profile."""
    actor = request.actor
    counties = list(selectors.registry_counties(actor=actor))
    if not counties:
        membership = current_membership(request)
        if membership is not None and membership.organisation.kind in SOCIETY_KINDS:
            return redirect("participation:stakeholder_mine")
        raise PermissionDenied()
    townships = list(
        Region.objects.filter(parent__in=counties, level=RegionLevel.TOWNSHIP).order_by("code")
    )
    township_id = _int(request.GET.get("township"))
    township = next((t for t in townships if t.pk == township_id), None)
    kind = _choice(request.GET.get("kind"), StakeholderKind.values)
    capacity = _choice(request.GET.get("capacity"), ResourceKind.values)
    q = request.GET.get("q", "").strip()[:50]
    qs = selectors.stakeholder_search(
        actor=actor, township=township, kind=kind, capacity=capacity, search=q
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "s": s,
            "phone": mask_phone(s.contact_phone),
            "capacities": [
                {
                    "label": c.get_kind_display(),
                    "quantity": fmt_quantity(c.quantity),
                    "unit": _unit(c.unit),
                    "note": c.note,
                    "match": c.kind == capacity,
                }
                for c in s.capacities.all()
            ],
            "areas": [a.name for a in s.areas.all()],
        }
        for s in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "participation/coord/registry.html",
        {
            "rows": rows,
            "page": page,
            "townships": townships,
            "township": township,
            "kind": kind,
            "capacity": capacity,
            "q": q,
            "kinds": StakeholderKind.choices,
            "capacities": ResourceKind.choices,
            "query": query.urlencode(),
            "can_add": _poster(request) is not None,
        },
    )


@login_required
def stakeholder_mine(request: XhRequest) -> HttpResponse:
    """The profile of the organisation the user works for (made on first visit)."""
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied()
    stakeholder = services.stakeholder_for_organisation(
        actor=request.actor, organisation=membership.organisation
    )
    return redirect("participation:stakeholder_detail", pk=stakeholder.pk)


@login_required
def stakeholder_new(request: XhRequest) -> HttpResponse:
    """The staff add a grid worker or a village committee to the registry."""
    poster = _poster(request)
    if poster is None or poster.county is None:
        raise PermissionDenied()
    villages = [r for r in _places(poster) if r.level == RegionLevel.VILLAGE]
    committees = list(
        Organisation.objects.filter(
            kind=OrgKind.VILLAGE, region__in=villages, is_active=True, stakeholder__isnull=True
        ).order_by("name")
    )
    form = StakeholderNewForm(
        request.POST if request.method == "POST" else None,
        villages=villages,
        committees=committees,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = (
                    user_by_username(username=data["username"].strip())
                    if data["kind"] == StakeholderKind.GRID_WORKER and data["username"].strip()
                    else None
                )
                committee = form.committees.get(data["organisation"])
                stakeholder = services.stakeholder_create(
                    actor=request.actor,
                    county=poster.county,
                    kind=data["kind"],
                    organisation=committee,
                    user=user,
                    data=services.ProfileData(
                        name=(committee.name if committee else data["name"]),
                        contact_phone=data["contact_phone"],
                        skills=data["skills"],
                        village=form.villages.get(data["village"]),
                    ),
                )
            except NotFound as exc:
                form.add_error("username", str(exc.message))
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The profile was added to the registry."))
                return redirect("participation:stakeholder_edit", pk=stakeholder.pk)
    return render(
        request, "participation/coord/stakeholder_new.html", {"form": form}, status=status
    )


@login_required
def stakeholder_detail(request: XhRequest, pk: int) -> HttpResponse:
    actor = request.actor
    stakeholder = selectors.stakeholder_get(actor=actor, pk=pk)
    offers = list(selectors.offer_list(actor=actor, stakeholder=stakeholder, status=None)[:30])
    commitments = list(
        access.visible(actor, Commitment.objects.filter(stakeholder=stakeholder))
        .select_related("need")
        .order_by("-created_at")[:30]
    )
    return render(
        request,
        "participation/coord/stakeholder_detail.html",
        {
            "s": stakeholder,
            "phone": mask_phone(stakeholder.contact_phone),
            "capacities": [
                {
                    "label": c.get_kind_display(),
                    "quantity": fmt_quantity(c.quantity),
                    "unit": _unit(c.unit),
                    "note": c.note,
                }
                for c in stakeholder.capacities.all()
            ],
            "areas": [a.name for a in stakeholder.areas.all()],
            "offers": [
                {"o": o, "left": fmt_quantity(o.left), "unit": _unit(o.unit)}  # type: ignore[attr-defined]
                for o in offers
            ],
            "commitments": [
                {"c": c, "quantity": fmt_quantity(c.quantity), "unit": _unit(c.need.unit)}
                for c in commitments
            ],
            "can_edit": access.can(actor, "change", stakeholder),
        },
    )


@login_required
def stakeholder_edit(request: XhRequest, pk: int) -> HttpResponse:
    actor = request.actor
    stakeholder = selectors.stakeholder_get(actor=actor, pk=pk)
    access.require(actor, "change", stakeholder)
    regions = _county_regions([stakeholder.county])
    townships = [r for r in regions if r.level == RegionLevel.TOWNSHIP]
    villages = [r for r in regions if r.level == RegionLevel.VILLAGE]
    initial: dict[str, Any] = {
        "name": stakeholder.name,
        "description": stakeholder.description,
        "skills": stakeholder.skills,
        "contact_name": stakeholder.contact_name,
        "contact_phone": stakeholder.contact_phone,
        "village": str(stakeholder.village_id or ""),
        "townships": [str(a.pk) for a in stakeholder.areas.all() if a.level == "township"],
        "villages": [str(a.pk) for a in stakeholder.areas.all() if a.level == "village"],
    }
    for cap in stakeholder.capacities.all():
        initial[f"cap_{cap.kind}"] = True
        initial[f"cap_{cap.kind}_quantity"] = fmt_quantity(cap.quantity)
        initial[f"cap_{cap.kind}_unit"] = cap.unit
        initial[f"cap_{cap.kind}_note"] = cap.note
    form = ProfileForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        townships=townships,
        villages=villages,
        with_name=stakeholder.organisation_id is None,
        with_village=stakeholder.kind == StakeholderKind.GRID_WORKER,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            capacities = [
                services.CapacityData(
                    kind=kind,
                    unit=data[f"cap_{kind}_unit"] or KIND_UNITS[kind][0],
                    quantity=data[f"cap_{kind}_quantity"].strip() or None,
                    note=data[f"cap_{kind}_note"],
                )
                for kind in ResourceKind.values
                if data.get(f"cap_{kind}")
            ]
            village_id = data.get("village") or ""
            try:
                services.stakeholder_update(
                    actor=actor,
                    stakeholder=stakeholder,
                    data=services.ProfileData(
                        name=data.get("name") or stakeholder.name,
                        description=data["description"],
                        skills=data["skills"],
                        contact_name=data["contact_name"],
                        contact_phone=data["contact_phone"],
                        village=form.regions.get(village_id),
                    ),
                    areas=form.chosen_areas(),
                    capacities=capacities,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The profile was saved."))
                return redirect("participation:stakeholder_detail", pk=stakeholder.pk)
    return render(
        request,
        "participation/coord/stakeholder_edit.html",
        {"s": stakeholder, "form": form},
        status=status,
    )


# ---- needs ------------------------------------------------------------------------------------


@login_required
def need_list(request: XhRequest) -> HttpResponse:
    """Needs of the user's county (staff) or every open need (partners)."""
    actor = request.actor
    counties = selectors.registry_counties(actor=actor) if staff_county_ids(actor) else None
    status = request.GET.get("status", NeedStatus.OPEN)
    status = status if status in NeedStatus.values else ""
    kind = _choice(request.GET.get("kind"), ResourceKind.values)
    qs = selectors.need_list(actor=actor, counties=counties, status=status, kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"n": n, "p": _progress(n)} for n in page]
    return render(
        request,
        "participation/coord/need_list.html",
        {
            "rows": rows,
            "page": page,
            "status": status,
            "kind": kind,
            "statuses": NeedStatus.choices,
            "kinds": ResourceKind.choices,
            "can_post": _poster(request) is not None,
        },
    )


def _need_data(form: NeedForm) -> services.NeedData:
    data = form.cleaned_data
    place = form.region(data["place"])
    if place is None:
        raise InvalidInput(
            _("Choose a township or a village."),
            code="coord.place_invalid",
            detail=[{"field": "place", "message": _("Choose a township or a village.")}],
        )
    return services.NeedData(
        kind=data["kind"],
        title=data["title"],
        description=data["description"],
        quantity=data["quantity"],
        unit=data["unit"],
        place=place,
        address=data["address"],
        needed_by=data["needed_by"],
        urgency=data["urgency"],
    )


@login_required
def need_new(request: XhRequest) -> HttpResponse:
    poster = _poster(request)
    if poster is None:
        raise PermissionDenied(
            _("Only a township or the county platform posts needs."), code="coord.not_poster"
        )
    places = _places(poster)
    form = NeedForm(request.POST if request.method == "POST" else None, places=places)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                need = services.need_create(
                    actor=request.actor, poster=poster, data=_need_data(form)
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The need was posted."))
                return redirect("participation:need_detail", pk=need.pk)
    return render(
        request,
        "participation/coord/need_form.html",
        {"form": form, "poster": poster, "need": None},
        status=status,
    )


@login_required
def need_edit(request: XhRequest, pk: int) -> HttpResponse:
    need = selectors.need_get(actor=request.actor, pk=pk)
    access.require(request.actor, "change", need)
    initial = {
        "kind": need.kind,
        "title": need.title,
        "description": need.description,
        "quantity": fmt_quantity(need.quantity),
        "unit": need.unit,
        "place": str(need.place_id),
        "address": need.address,
        "needed_by": need.needed_by,
        "urgency": need.urgency,
    }
    form = NeedForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        places=_places(need.poster),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.need_update(actor=request.actor, need=need, data=_need_data(form))
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The need was saved."))
                return redirect("participation:need_detail", pk=need.pk)
    return render(
        request,
        "participation/coord/need_form.html",
        {"form": form, "poster": need.poster, "need": need},
        status=status,
    )


@login_required
@require_POST
def need_close(request: XhRequest, pk: int) -> HttpResponse:
    need = selectors.need_get(actor=request.actor, pk=pk)
    services.need_close(actor=request.actor, need=need)
    messages.success(request, _("The need was closed."))
    return redirect("participation:need_detail", pk=need.pk)


@login_required
def need_detail(request: XhRequest, pk: int) -> HttpResponse:
    """A need with its contributions, the suggested offers (for the receiver and the
    county's staff) and, for stakeholders, the form to commit part of it (POST)."""
    actor = request.actor
    need = selectors.need_get(actor=actor, pk=pk)
    is_receiver = access.can(actor, "change", need)
    kept = _kept(request)
    kept_ids = {s.pk for s in kept}
    progress = _progress(need)
    may_commit = bool(kept) and need.status == NeedStatus.OPEN and progress["remaining_value"] > 0
    form = None
    status = 200
    if may_commit:
        own_offers = [
            o
            for o in selectors.offer_list(actor=actor, kind=need.kind).filter(
                stakeholder__in=kept, unit=need.unit
            )
            if o.left > 0  # type: ignore[attr-defined]
        ]
        initial = {
            "offer": request.GET.get("offer", ""),
            "quantity": request.GET.get("quantity", ""),
        }
        wanted = next((o for o in own_offers if str(o.pk) == initial["offer"]), None)
        if wanted is not None:
            initial["stakeholder"] = str(wanted.stakeholder_id)
        form = CommitForm(
            request.POST if request.method == "POST" else None,
            initial=initial,
            stakeholders=kept,
            offers=own_offers,
        )
        if request.method == "POST":
            status = 400
            if form.is_valid():
                data = form.cleaned_data
                offer = form.offers.get(data["offer"] or "")
                try:
                    services.commitment_create(
                        actor=actor,
                        need=need,
                        stakeholder=form.stakeholders[data["stakeholder"]],
                        offer=offer,
                        quantity=data["quantity"],
                        note=data["note"],
                    )
                except DomainError as exc:
                    form.add_domain_error(exc)
                    if exc.code in {"coord.beyond_need", "coord.beyond_offer"}:
                        form.add_error(None, str(exc.message))
                    status = exc.status
                else:
                    messages.success(request, _("Thank you: your commitment was recorded."))
                    return redirect("participation:need_detail", pk=need.pk)
    elif request.method == "POST":
        if need.status != NeedStatus.OPEN:
            messages.error(request, _("This need is no longer open."))
        elif kept:
            messages.error(request, _("Nothing more is needed; thank you."))
        else:
            messages.error(request, _("Only registered organisations can commit resources."))
        return redirect("participation:need_detail", pk=need.pk)
    commitments = [
        {
            "c": c,
            "by": _who(c.stakeholder),
            "quantity": fmt_quantity(c.quantity),
            "can_deliver": c.status == CommitmentStatus.COMMITTED and c.stakeholder_id in kept_ids,
            "can_confirm": c.status == CommitmentStatus.DELIVERED and is_receiver,
            "can_cancel": c.status == CommitmentStatus.COMMITTED
            and (is_receiver or c.stakeholder_id in kept_ids),
        }
        for c in selectors.need_commitments(need=need)
    ]
    show_matches = is_receiver or need.county_id in staff_county_ids(actor)
    matches = matching.matches_for_need(need=need) if show_matches else []
    return render(
        request,
        "participation/coord/need_detail.html",
        {
            "n": need,
            "p": progress,
            "commitments": commitments,
            "is_receiver": is_receiver,
            "matches": [
                {"m": m, "quantity": fmt_quantity(m.quantity), "unit": _unit(need.unit)}
                for m in matches
            ],
            "show_matches": show_matches,
            "form": form,
        },
        status=status,
    )


@login_required
@require_POST
def commitment_action(request: XhRequest, pk: int, action: str) -> HttpResponse:
    """deliver (the giver), confirm (the receiver) or cancel (either, before delivery)."""
    actor = request.actor
    commitment = access.get_visible(actor, Commitment.objects.all(), pk=pk)
    try:
        if action == "deliver":
            services.commitment_deliver(actor=actor, commitment=commitment)
            messages.success(request, _("The delivery was reported; the receiver confirms it."))
        elif action == "confirm":
            services.commitment_confirm(actor=actor, commitment=commitment)
            messages.success(request, _("The delivery was confirmed."))
        elif action == "cancel":
            services.commitment_cancel(
                actor=actor, commitment=commitment, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("The commitment was cancelled."))
        else:
            raise NotFound()
    except (InvalidInput, PermissionDenied, DomainError) as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
    return redirect("participation:need_detail", pk=commitment.need_id)


# ---- offers -----------------------------------------------------------------------------------


@login_required
def offer_list(request: XhRequest) -> HttpResponse:
    actor = request.actor
    kept = _kept(request)
    status = request.GET.get("status", OfferStatus.OPEN)
    status = status if status in OfferStatus.values else ""
    kind = _choice(request.GET.get("kind"), ResourceKind.values)
    qs = selectors.offer_list(actor=actor, status=status or None, kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "o": o,
            "left": fmt_quantity(o.left),  # type: ignore[attr-defined]
            "quantity": fmt_quantity(o.quantity),
            "unit": _unit(o.unit),
        }
        for o in page
    ]
    return render(
        request,
        "participation/coord/offer_list.html",
        {
            "rows": rows,
            "page": page,
            "status": status,
            "kind": kind,
            "statuses": OfferStatus.choices,
            "kinds": ResourceKind.choices,
            "can_offer": bool(kept),
        },
    )


def _offer_data(form: OfferForm) -> services.OfferData:
    data = form.cleaned_data
    area = form.region(data["area"])
    if area is None:
        message = _("Choose where the resources can go.")
        raise InvalidInput(
            message, code="coord.area_invalid", detail=[{"field": "area", "message": message}]
        )
    return services.OfferData(
        kind=data["kind"],
        title=data["title"],
        description=data["description"],
        quantity=data["quantity"],
        unit=data["unit"],
        area=area,
        available_from=data["available_from"],
        available_to=data["available_to"],
    )


@login_required
def offer_new(request: XhRequest) -> HttpResponse:
    kept = _kept(request)
    if not kept:
        raise PermissionDenied(
            _("Only registered organisations can offer resources."), code="coord.not_keeper"
        )
    areas = _county_regions({s.county for s in kept})
    form = OfferForm(
        request.POST if request.method == "POST" else None, areas=areas, stakeholders=kept
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                offer = services.offer_create(
                    actor=request.actor,
                    stakeholder=form.stakeholders[form.cleaned_data["stakeholder"]],
                    data=_offer_data(form),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The offer was posted."))
                return redirect("participation:offer_detail", pk=offer.pk)
    return render(
        request,
        "participation/coord/offer_form.html",
        {"form": form, "offer": None},
        status=status,
    )


@login_required
def offer_edit(request: XhRequest, pk: int) -> HttpResponse:
    offer = selectors.offer_get(actor=request.actor, pk=pk)
    access.require(request.actor, "change", offer)
    initial = {
        "stakeholder": str(offer.stakeholder_id),
        "kind": offer.kind,
        "title": offer.title,
        "description": offer.description,
        "quantity": fmt_quantity(offer.quantity),
        "unit": offer.unit,
        "area": str(offer.area_id),
        "available_from": offer.available_from,
        "available_to": offer.available_to,
    }
    form = OfferForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        areas=_county_regions([offer.county]),
        stakeholders=[offer.stakeholder],
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.offer_update(actor=request.actor, offer=offer, data=_offer_data(form))
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The offer was saved."))
                return redirect("participation:offer_detail", pk=offer.pk)
    return render(
        request,
        "participation/coord/offer_form.html",
        {"form": form, "offer": offer},
        status=status,
    )


@login_required
@require_POST
def offer_withdraw(request: XhRequest, pk: int) -> HttpResponse:
    offer = selectors.offer_get(actor=request.actor, pk=pk)
    services.offer_withdraw(actor=request.actor, offer=offer)
    messages.success(request, _("The offer was withdrawn."))
    return redirect("participation:offer_detail", pk=offer.pk)


@login_required
def offer_detail(request: XhRequest, pk: int) -> HttpResponse:
    """An offer with the open needs it could serve, best first."""
    actor = request.actor
    offer = selectors.offer_get(actor=actor, pk=pk)
    can_edit = access.can(actor, "change", offer)
    matches = matching.matches_for_offer(offer=offer)
    commitments = list(
        Commitment.objects.filter(offer=offer).select_related("need").order_by("created_at")
    )
    return render(
        request,
        "participation/coord/offer_detail.html",
        {
            "o": offer,
            "left": fmt_quantity(offer.left),  # type: ignore[attr-defined]
            "quantity": fmt_quantity(offer.quantity),
            "unit": _unit(offer.unit),
            "can_edit": can_edit,
            "matches": [
                {"m": m, "quantity": fmt_quantity(m.quantity), "p": _progress(m.need)}
                for m in matches
            ],
            "commitments": [{"c": c, "quantity": fmt_quantity(c.quantity)} for c in commitments],
        },
    )


# ---- the public board -------------------------------------------------------------------------


def _board_entry(need: Need) -> dict[str, Any]:
    progress = _progress(need)
    return {
        "id": need.pk,
        "kind": need.kind,
        "kind_label": str(ResourceKind(need.kind).label),
        "title": mask_personal_text(need.title),
        "description": mask_personal_text(need.description),
        "unit": need.unit,
        "unit_label": progress["unit"],
        "quantity": progress["quantity"],
        "committed": progress["committed"],
        "delivered": progress["delivered"],
        "confirmed": progress["confirmed"],
        "remaining": progress["remaining"],
        "percent_committed": progress["percent_committed"],
        "percent_delivered": progress["percent_delivered"],
        "county": need.county.name,
        "township": need.township.name if need.township else "",
        "place": need.place.name,
        "needed_by": need.needed_by.isoformat(),
        "urgency": need.urgency,
        "urgency_label": str(Urgency(need.urgency).label),
        "status": need.status,
        "status_label": str(NeedStatus(need.status).label),
        "posted_by": need.poster.name,
        "contributions": [
            {
                "by": _who(c.stakeholder),
                "quantity": fmt_quantity(c.quantity),
                "status": c.status,
                "status_label": str(CommitmentStatus(c.status).label),
            }
            for c in getattr(need, "contributions", [])
        ],
    }


def resource_board(request: XhRequest) -> HttpResponse:
    """The public board (no login): open needs with what is still needed, and what has
    been committed and delivered by whom (organisations named, people masked), so that
    donations go where they are short. `?format=json` is its machine-readable twin."""
    county = None
    county_code = request.GET.get("county", "")
    if county_code:
        county = Region.objects.filter(code=county_code, level=RegionLevel.COUNTY).first()
    township = None
    township_code = request.GET.get("township", "")
    if township_code:
        township = Region.objects.filter(code=township_code, level=RegionLevel.TOWNSHIP).first()
    kind = _choice(request.GET.get("kind"), ResourceKind.values)
    needs = selectors.resource_board(county=county, kind=kind, township=township)[:200]
    entries = [_board_entry(n) for n in needs]
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "generated_at": timezone.now().isoformat(),
                "county": county.code if county else None,
                "township": township.code if township else None,
                "kind": kind or None,
                "needs": entries,
            },
            json_dumps_params={"ensure_ascii": False},
        )
    counties = Region.objects.filter(level=RegionLevel.COUNTY, pk__in=Need.objects.values("county"))
    query = request.GET.copy()
    query["format"] = "json"
    return render(
        request,
        "participation/coord/board.html",
        {
            "entries": entries,
            "open_entries": [e for e in entries if e["status"] == NeedStatus.OPEN],
            "met_entries": [e for e in entries if e["status"] != NeedStatus.OPEN],
            "counties": counties,
            "county": county,
            "kind": kind,
            "kinds": ResourceKind.choices,
            "json_query": query.urlencode(),
        },
    )
