"""Suggested matches between needs and offers, each with a score (0–100) and its reasons.

Only offers of the same kind and unit whose time window can serve the need are candidates
(open, available before the need's date, not expired). The score adds:

- quantity (≤ 40): the share of the remaining need the offer can cover;
- place (≤ 35): same place 35, same township 30, within 5/15/30 km by coordinates 30/20/10,
  the stakeholder serves the township 20, a county-wide offer 15, another township 5;
- time (≤ 25): available now 25, available later but before the need's date 15.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..models_coord import Need, NeedStatus, Offer, OfferStatus, ResourceKind, Unit
from .selectors import with_left, with_progress
from .services import fmt_quantity, township_of

MAX_SUGGESTIONS = 10


@dataclass(frozen=True)
class Match:
    need: Need
    offer: Offer
    score: int
    quantity: Decimal  # what the offer can commit to the need now
    reasons: list[str] = field(default_factory=list)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dx = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2)) * 111.32
    dy = (lat2 - lat1) * 110.57
    return math.hypot(dx, dy)


def _place(need: Need, offer: Offer, served: set[int]) -> tuple[int, str]:
    """The best of the place criteria (points, reason)."""
    options: list[tuple[int, str]] = []
    place, area = need.place, offer.area
    need_township = need.township
    if area.pk == place.pk:
        options.append((35, _("Same place")))
    elif need_township is not None and township_of(area) == need_township:
        options.append((30, _("Same township")))
    elif area.level == "county" and place.path.startswith(area.path):
        options.append((15, _("The offer covers the whole county")))
    if None not in (need.latitude, need.longitude, offer.latitude, offer.longitude):
        km = _km(
            float(need.latitude),  # type: ignore[arg-type]
            float(need.longitude),  # type: ignore[arg-type]
            float(offer.latitude),  # type: ignore[arg-type]
            float(offer.longitude),  # type: ignore[arg-type]
        )
        for limit, points in ((5, 30), (15, 20), (30, 10)):
            if km <= limit:
                options.append((points, _("About %(km)s km away") % {"km": round(km, 1)}))
                break
    if need_township is not None and (need_township.pk in served or place.pk in served):
        options.append((20, _("%(who)s serves this township") % {"who": offer.stakeholder}))
    if not options and need.county_id == offer.county_id:
        options.append((5, _("Another township of the county")))
    return max(options, key=lambda o: o[0]) if options else (0, "")


def match_score(
    need: Need,
    offer: Offer,
    *,
    remaining: Decimal,
    left: Decimal,
    today: date,
    served: set[int] | None = None,
) -> Match | None:
    """The match of one need and one offer, or None when the offer cannot serve it."""
    if (need.kind, need.unit) != (offer.kind, offer.unit) or remaining <= 0 or left <= 0:
        return None
    if offer.available_from > need.needed_by:
        return None
    if offer.available_to is not None and offer.available_to < today:
        return None
    unit = Unit(need.unit).label
    reasons = [_("Same kind: %(kind)s") % {"kind": ResourceKind(need.kind).label}]
    quantity = min(remaining, left)
    share = min(Decimal(1), left / remaining)
    score = round(40 * share)
    if left >= remaining:
        reasons.append(
            _("Can cover all %(n)s %(unit)s still needed")
            % {"n": fmt_quantity(remaining), "unit": unit}
        )
    else:
        reasons.append(
            _("Can cover %(part)s of the %(n)s %(unit)s still needed")
            % {"part": fmt_quantity(left), "n": fmt_quantity(remaining), "unit": unit}
        )
    if served is None:
        served = {r.pk for r in offer.stakeholder.areas.all()}
    points, why = _place(need, offer, served)
    score += points
    if why:
        reasons.append(why)
    if offer.available_from <= today:
        score += 25
        reasons.append(_("Available now"))
    else:
        score += 15
        reasons.append(
            _("Available from %(date)s, before the date needed")
            % {"date": formats.date_format(offer.available_from, "Y-m-d")}
        )
    return Match(need=need, offer=offer, score=score, quantity=quantity, reasons=reasons)


def _best(matches: list[Match | None]) -> list[Match]:
    found = [m for m in matches if m is not None]
    found.sort(key=lambda m: (-m.score, m.offer.pk, m.need.pk))
    return found[:MAX_SUGGESTIONS]


def matches_for_need(*, need: Need) -> list[Match]:
    """Offers that could serve the need, best first. `need` must carry `remaining`
    (`selectors.need_get`)."""
    today = timezone.localdate()
    remaining: Decimal = getattr(need, "remaining", need.quantity)
    if need.status != NeedStatus.OPEN or remaining <= 0:
        return []
    offers = (
        with_left(
            Offer.objects.filter(
                county_id=need.county_id,
                kind=need.kind,
                unit=need.unit,
                status=OfferStatus.OPEN,
                available_from__lte=need.needed_by,
                stakeholder__is_active=True,
            ).filter(Q(available_to__isnull=True) | Q(available_to__gte=today))
        )
        .select_related("area", "stakeholder")
        .prefetch_related("stakeholder__areas")
    )
    return _best(
        [
            match_score(need, o, remaining=remaining, left=o.left, today=today)  # type: ignore[attr-defined]
            for o in offers
        ]
    )


def matches_for_offer(*, offer: Offer) -> list[Match]:
    """Open needs the offer could serve, best first. `offer` must carry `left`."""
    today = timezone.localdate()
    left: Decimal = getattr(offer, "left", offer.quantity)
    if offer.status != OfferStatus.OPEN or left <= 0:
        return []
    needs = with_progress(
        Need.objects.filter(
            county_id=offer.county_id,
            kind=offer.kind,
            unit=offer.unit,
            status=NeedStatus.OPEN,
            needed_by__gte=offer.available_from,
        )
    ).select_related("place", "township", "poster")
    served = {r.pk for r in offer.stakeholder.areas.all()}
    return _best(
        [
            match_score(
                n,
                offer,
                remaining=n.remaining,  # type: ignore[attr-defined]
                left=left,
                today=today,
                served=served,
            )
            for n in needs
        ]
    )
