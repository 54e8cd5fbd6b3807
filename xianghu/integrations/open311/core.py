"""What the Open311 server says: jurisdictions, services from the list in force, and the
county's calls as service requests. Views (views.py) only parse and render."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from xianghu.calls.models import Call, Dispatch, DispatchRole, Urgency
from xianghu.calls.workflow import OPEN, TERMINAL, State
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.limits import limit_label
from xianghu.catalog.models import Catalogue, Item, ItemParty, PartyRole, ScopeLevel
from xianghu.core.masking import mask_personal_text
from xianghu.core.sandbox import outside_sandbox
from xianghu.regions.models import Region

from .formats import w3c

WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
OUT_OF_LIST_CODE = "out_of_list"


class Open311Error(Exception):
    """One or more errors of one HTTP status, rendered as the spec's `errors` array.

    `code` in the body is the HTTP status (as in the spec's examples); `reason` adds our
    stable, more specific code."""

    def __init__(self, status: int, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors[0][1] if errors else "")
        self.status = status
        self.errors = errors

    @classmethod
    def one(cls, status: int, reason: str, description: str) -> Open311Error:
        return cls(status, [(reason, description)])

    def body(self) -> list[dict[str, Any]]:
        return [
            {"code": self.status, "description": description, "reason": reason}
            for reason, description in self.errors
        ]


# ---- jurisdictions -----------------------------------------------------------------


def jurisdictions() -> QuerySet[Region]:
    """Counties with a county list: each is one jurisdiction, its id the region code
    (practice counties of the training sandbox are none)."""
    region_ids = Catalogue.objects.filter(level=ScopeLevel.COUNTY).values("region_id")
    return Region.objects.filter(outside_sandbox(), pk__in=region_ids).order_by("code")


def jurisdiction_resolve(jurisdiction_id: str | None) -> Region:
    """The county meant by `jurisdiction_id`; optional while the server has one county."""
    counties = list(jurisdictions())
    if jurisdiction_id:
        for county in counties:
            if county.code == jurisdiction_id:
                return county
        raise Open311Error.one(
            404, "jurisdiction_not_found", _("Unknown jurisdiction_id: %s") % jurisdiction_id
        )
    if len(counties) == 1:
        return counties[0]
    if not counties:
        raise Open311Error.one(404, "jurisdiction_not_found", _("No jurisdiction is served."))
    raise Open311Error.one(
        400,
        "jurisdiction_required",
        _("jurisdiction_id is required (the county's region code, one of: %s).")
        % ", ".join(c.code for c in counties),
    )


# ---- services ----------------------------------------------------------------------


def service_items(county: Region) -> QuerySet[Item]:
    """The callable items of the county's list in force (none without a list in force)."""
    version = catalog_selectors.county_version_in_force(county=county)
    if version is None:
        return Item.objects.none()
    return catalog_selectors.version_items(version=version).filter(callable=True)


def service_item(county: Region, code: str) -> Item:
    item = service_items(county).filter(code=code).first()
    if item is None:
        raise Open311Error.one(404, "service_not_found", _("Unknown service_code: %s") % code)
    return item


def _primary_parties(item: Item) -> list[ItemParty]:
    return [p for p in item.parties.all() if p.role == PartyRole.PRIMARY]


def agency_of(item: Item) -> str:
    """The primary party of the item: a county department, or the township (乡镇)."""
    names = [p.name for p in sorted(_primary_parties(item), key=lambda p: p.order)]
    if names:
        return "、".join(names)
    return _("The township") if item.primary_level == "township" else ""


def service_notice(item: Item) -> str:
    """What the primary party will do and within what time, from the list."""
    return _(
        "%(agency)s is responsible: %(duties)s Response within %(respond)s, "
        "completion within %(complete)s."
    ) % {
        "agency": agency_of(item) or _("The responsible department"),
        "duties": item.primary_duties.strip(),
        "respond": limit_label(item.respond_limit),
        "complete": limit_label(item.complete_limit),
    }


def service_row(item: Item) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "service_name": item.name,
        "description": item.primary_duties,
        # Every service has the urgency attribute (service definition).
        "metadata": True,
        # Reports from public apps are queued for the township's triage: a token comes back.
        "type": "batch",
        "keywords": ",".join(k.strip() for k in item.keyword_list()),
        "group": item.domain.name,
    }


URGENCY_ATTRIBUTE = "urgency"


def service_definition(item: Item) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "attributes": [
            {
                "variable": True,
                "code": URGENCY_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": _("One of the listed keys; default: normal."),
                "order": 1,
                "description": _("How urgent is the matter?"),
                "values": [{"key": str(k), "name": str(v)} for k, v in Urgency.choices],
            },
            {
                "variable": False,
                "code": "duties",
                "datatype": "text",
                "required": False,
                "datatype_description": None,
                "order": 2,
                "description": service_notice(item),
            },
        ],
    }


# ---- parameters ---------------------------------------------------------------------

_SPACE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def parse_w3c(name: str, value: str, *, end: bool = False) -> datetime:
    """A W3C datetime (or a date: its start, or for an end date its end); no offset
    means the county's time. A `+` sent unencoded in a query string arrives as a space."""
    text = _SPACE_OFFSET.sub(r"+\1", value.strip())
    parsed: datetime | None = None
    day = None
    try:
        # A bare date first: `fromisoformat` would read it as midnight, even for an end date.
        day = parse_date(text) if len(text) == 10 else None
        parsed = None if day else parse_datetime(text)
    except ValueError:
        parsed = day = None
    if parsed is None and day is not None:
        parsed = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if parsed is None:
        raise Open311Error.one(
            400,
            "bad_datetime",
            _("%(name)s is not a W3C datetime (like 2026-01-05T09:30:00+08:00): %(value)s")
            % {"name": name, "value": value},
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def parse_coordinates(lat: str | None, lon: str | None) -> tuple[Decimal, Decimal] | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise Open311Error.one(400, "bad_location", _("Give both lat and long."))
    try:
        la, lo = Decimal(lat), Decimal(lon)
    except InvalidOperation:
        raise Open311Error.one(400, "bad_location", _("lat and long must be numbers.")) from None
    if not (la.is_finite() and lo.is_finite() and -90 <= la <= 90 and -180 <= lo <= 180):
        raise Open311Error.one(400, "bad_location", _("lat or long is out of range."))
    return la.quantize(Decimal("0.000001")), lo.quantize(Decimal("0.000001"))


def parse_positive(name: str, value: str | None, *, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise Open311Error.one(
            400,
            "bad_parameter",
            _("%(name)s must be a whole number from 1 to %(max)s.")
            % {"name": name, "max": maximum},
        )
    return int(value)


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# ---- service requests ---------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    ids: list[str]
    codes: list[str]
    statuses: list[str]
    start: datetime | None
    end: datetime | None
    page: int = 1
    page_size: int = MAX_REQUESTS


def request_query(params: dict[str, str | None], *, now: datetime | None = None) -> RequestQuery:
    """Validate the filters of GET requests, applying the default window (the last 90
    days; a range longer than 90 days is refused)."""
    now = now or timezone.now()
    errors: list[tuple[str, str]] = []
    statuses = split_list(params.get("status"))
    for status in statuses:
        if status not in ("open", "closed"):
            errors.append(("bad_status", _("status must be open or closed: %s") % status))
    start = end = None
    try:
        if params.get("start_date"):
            start = parse_w3c("start_date", params["start_date"] or "")
        if params.get("end_date"):
            end = parse_w3c("end_date", params["end_date"] or "", end=True)
    except Open311Error as error:
        errors.extend(error.errors)
    page = page_size = 0
    for name, default in (("page", 1), ("page_size", MAX_REQUESTS)):
        try:
            value = parse_positive(
                name,
                params.get(name),
                default=default,
                maximum=MAX_REQUESTS if name == "page_size" else 10**6,
            )
        except Open311Error as error:
            errors.extend(error.errors)
            value = default
        if name == "page":
            page = value
        else:
            page_size = value
    if not errors:
        if start is None and end is None:
            end, start = now, now - WINDOW
        elif start is None:
            assert end is not None
            start = end - WINDOW
        elif end is None:
            end = min(start + WINDOW, max(now, start))
        if end < start:
            errors.append(("bad_range", _("end_date is before start_date.")))
        elif end - start > WINDOW:
            errors.append(("range_too_long", _("The date range may be at most 90 days.")))
    if errors:
        raise Open311Error(400, errors)
    return RequestQuery(
        ids=split_list(params.get("service_request_id")),
        codes=split_list(params.get("service_code")),
        statuses=statuses,
        start=start,
        end=end,
        page=page,
        page_size=page_size,
    )


def _calls(county: Region) -> QuerySet[Call]:
    """The county's calls as service requests: drafts are the township's own business."""
    return (
        Call.objects.filter(county=county)
        .exclude(state=State.DRAFT)
        .select_related("item", "item__domain")
        .prefetch_related(
            Prefetch(
                "dispatches",
                queryset=Dispatch.objects.filter(role=DispatchRole.LEAD).select_related(
                    "organisation"
                ),
                to_attr="open311_leads",
            ),
            Prefetch("item__parties", queryset=ItemParty.objects.order_by("order")),
        )
    )


def requests_find(county: Region, query: RequestQuery) -> list[Call]:
    qs = _calls(county)
    if query.ids:
        # The id list overrides every other argument (spec 2.7).
        qs = qs.filter(number__in=query.ids)
    else:
        if query.codes:
            qs = qs.filter(item__code__in=query.codes)
        if query.statuses and set(query.statuses) != {"open", "closed"}:
            qs = qs.filter(state__in=OPEN if "open" in query.statuses else TERMINAL)
        qs = qs.filter(created_at__gte=query.start, created_at__lt=query.end)
    offset = (query.page - 1) * query.page_size
    return list(qs.order_by("-created_at", "-pk")[offset : offset + query.page_size])


def request_get(county: Region, number: str) -> Call:
    call = _calls(county).filter(number=number).first()
    if call is None:
        raise Open311Error.one(
            404, "request_not_found", _("Unknown service_request_id: %s") % number
        )
    return call


def _lead(call: Call) -> Dispatch | None:
    leads: list[Dispatch] = getattr(call, "open311_leads", [])
    active = [d for d in leads if d.active]
    chosen = active or sorted(leads, key=lambda d: d.dispatched_at)[-1:]
    return chosen[0] if chosen else None


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def request_row(call: Call) -> dict[str, Any]:
    """A call as an Open311 request. Never the reporter: no names, no phone numbers."""
    lead = _lead(call)
    item = call.item
    agency = lead.organisation.name if lead else (agency_of(item) if item else "")
    expected = lead.complete_due if lead and lead.complete_due else call.next_deadline
    return {
        "service_request_id": call.number,
        "status": "closed" if call.state in TERMINAL else "open",
        "status_notes": str(call.get_state_display()),
        "service_name": item.name if item else _("Outside the list"),
        "service_code": item.code if item else OUT_OF_LIST_CODE,
        "description": mask_personal_text(f"{call.title}\n{call.description}")[:4000],
        "agency_responsible": agency or None,
        "service_notice": service_notice(item) if item else None,
        "requested_datetime": w3c(call.created_at),
        "updated_datetime": w3c(call.state_changed_at),
        "expected_datetime": w3c(expected),
        "address": mask_personal_text(call.address) or None,
        "address_id": None,
        "zipcode": None,
        "lat": _float(call.latitude),
        "long": _float(call.longitude),
        "media_url": None,
    }


def changeset(county: Region | None = None) -> str:
    """A sortable timestamp of what the service list depends on (the lists' publications)."""
    stamps = [
        v.published_at
        for c in ([county] if county else list(jurisdictions()))
        if (v := catalog_selectors.county_version_in_force(county=c)) and v.published_at
    ]
    latest = max(stamps) if stamps else datetime(2026, 1, 1, tzinfo=timezone.get_current_timezone())
    return w3c(latest) or ""
