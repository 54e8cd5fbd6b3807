"""Open311 GeoReport v2 endpoints. Paths and formats are Open311's, so these are plain
Django views; every failure is answered in the spec's `errors` format."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DataError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from xianghu.calls import services as call_services
from xianghu.calls.models import Urgency
from xianghu.calls.services import CallDraft
from xianghu.core.errors import DomainError
from xianghu.participation import selectors as participation_selectors
from xianghu.participation import services as participation_services

from . import core
from .core import Open311Error
from .formats import JSON_TYPE, XML_TYPE, render
from .keys import PUBLIC, client_for

SPEC = "http://wiki.open311.org/GeoReport_v2"
View = Callable[..., HttpResponse]


def _params(data: QueryDict) -> dict[str, str | None]:
    """Single-valued parameters; an empty one is the same as an absent one (spec 1)."""
    return {key: (data.get(key) or "").strip() or None for key in data}


def open311(*methods: str) -> Callable[[View], View]:
    """Allowed methods, and any `Open311Error` / `DomainError` rendered as `errors`."""

    def decorate(view: View) -> View:
        @csrf_exempt  # keyless GETs and api_key POSTs: no cookies, so no CSRF
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, fmt: str = "xml", **kwargs: Any
        ) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise Open311Error.one(
                        400,  # the spec knows 400, 403 and 404 only
                        "method_not_allowed",
                        _("Use %s on this resource.") % " or ".join(methods),
                    )
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as error:
                return render(fmt, "errors", error.body(), status=error.status)
            except DataError:
                # PostgreSQL refuses text SQLite stores (a NUL character): bad input.
                refused = Open311Error.one(
                    400,
                    "invalid_input",
                    _("The request holds characters that cannot be stored, such as NUL."),
                )
                return render(fmt, "errors", refused.body(), status=refused.status)

        return wrapper

    return decorate


@open311("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    stamp = core.changeset()
    body = {
        "changeset": stamp,
        "contact": getattr(
            settings,
            "OPEN311_CONTACT",
            _("The county's platform centre (乡呼县应指挥中心), through its public telephone."),
        ),
        "key_service": _(
            "API keys are issued by the county's system administrators to township systems "
            "and to public apps of registered social organisations."
        ),
        "endpoints": [
            {
                "specification": SPEC,
                "url": request.build_absolute_uri("/open311/v2"),
                "changeset": stamp,
                "type": "test" if settings.DEBUG else "production",
                "formats": [XML_TYPE.split(";")[0], JSON_TYPE.split(";")[0]],
            }
        ],
    }
    return render(fmt, "discovery", body)


@open311("GET")
def services(request: HttpRequest, *, fmt: str) -> HttpResponse:
    county = core.jurisdiction_resolve(_params(request.GET).get("jurisdiction_id"))
    rows = [core.service_row(item) for item in core.service_items(county)]
    return render(fmt, "services", rows)


@open311("GET")
def service_definition(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    county = core.jurisdiction_resolve(_params(request.GET).get("jurisdiction_id"))
    item = core.service_item(county, code)
    return render(fmt, "service_definition", core.service_definition(item))


@open311("GET", "POST")
def requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    params = _params(request.GET)
    county = core.jurisdiction_resolve(params.get("jurisdiction_id"))
    query = core.request_query(params)
    rows = [core.request_row(call) for call in core.requests_find(county, query)]
    return render(fmt, "service_requests", rows)


@open311("GET")
def request_detail(request: HttpRequest, number: str, *, fmt: str) -> HttpResponse:
    county = core.jurisdiction_resolve(_params(request.GET).get("jurisdiction_id"))
    return render(fmt, "service_requests", [core.request_row(core.request_get(county, number))])


@open311("GET")
def token(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    county = core.jurisdiction_resolve(_params(request.GET).get("jurisdiction_id"))
    report = participation_selectors.publicreport_by_token(token=token)
    if report is None or report.county_id != county.pk:
        raise Open311Error.one(404, "token_not_found", _("Unknown token: %s") % token)
    number = report.call.number if report.call else None
    return render(fmt, "service_requests", [{"service_request_id": number, "token": token}])


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    fmt = "json" if path.endswith(".json") else "xml"
    error = Open311Error.one(404, "not_found", _("No such Open311 resource: %s") % path)
    return render(fmt, "errors", error.body(), status=404)


# ---- POST requests ---------------------------------------------------------------

_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _attributes(data: QueryDict) -> dict[str, list[str]]:
    """`attribute[code]=v` and, for multi-value lists, `attribute[code][]=v1&…`."""
    found: dict[str, list[str]] = {}
    for key in data:
        match = _ATTRIBUTE.match(key)
        if match:
            values = [v.strip() for v in data.getlist(key) if v.strip()]
            if values:
                found.setdefault(match.group(1), []).extend(values)
    return found


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    data = request.POST
    params = _params(data)
    county = core.jurisdiction_resolve(params.get("jurisdiction_id"))
    client = client_for(params.get("api_key"), county)
    errors: list[tuple[str, str]] = []
    code = params.get("service_code")
    if not code:
        raise Open311Error.one(400, "service_code_required", _("service_code is required."))
    item = core.service_item(county, code)
    coordinates = None
    try:
        coordinates = core.parse_coordinates(params.get("lat"), params.get("long"))
    except Open311Error as error:
        errors.extend(error.errors)
    address = params.get("address_string") or ""
    address_id = params.get("address_id") or ""
    if coordinates is None and not address and not address_id and not errors:
        errors.append(
            ("location_required", _("Give a location: lat and long, address_string or address_id."))
        )
    urgency = Urgency.NORMAL.value
    for attr, values in _attributes(data).items():
        if attr != core.URGENCY_ATTRIBUTE:
            errors.append(("bad_attribute", _("Unknown attribute: %s") % attr))
        elif len(values) != 1 or values[0] not in Urgency.values:
            errors.append(
                (
                    "bad_attribute_value",
                    _("attribute[urgency] must be one of: %s") % ", ".join(Urgency.values),
                )
            )
        else:
            urgency = values[0]
    description = strip_tags(params.get("description") or "")
    if len(description) > 4000:
        errors.append(("description_too_long", _("description has at most 4000 characters.")))
    media_url = params.get("media_url") or ""
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors.append(("bad_media_url", _("media_url is not an http(s) URL.")))
    if errors:
        raise Open311Error(400, errors)
    latitude, longitude = coordinates if coordinates else (None, None)
    idempotency_key = request.headers.get("Idempotency-Key") or params.get("idempotency_key")
    notice = core.service_notice(item)
    try:
        if client.kind == PUBLIC:
            report, _created = participation_services.publicreport_create(
                api_key=client.key,
                county=county,
                item=item,
                description=description,
                address=address,
                address_id=address_id,
                latitude=latitude,
                longitude=longitude,
                urgency=urgency,
                media_url=media_url,
                email=params.get("email") or "",
                phone=params.get("phone") or "",
                idempotency_key=idempotency_key,
            )
            return render(
                fmt, "service_requests", [{"token": report.token, "service_notice": notice}]
            )
        org = client.key.organisation
        place = participation_services.place_resolve(
            county=county,
            address=address,
            address_id=address_id,
            latitude=latitude,
            longitude=longitude,
        )
        # Unlocated by the address, the call is about the key's own township or village.
        location = place.location or org.region
        text = description or item.name
        if media_url:
            text = f"{text}\n{media_url}"
        draft = CallDraft(
            title=(description.splitlines()[0][:60] if description else item.name)[:120],
            description=text,
            location=location,
            urgency=urgency,
            item=item,
            address=address,
            latitude=latitude,
            longitude=longitude,
        )
        call, _created = call_services.call_create(
            actor=client.actor, caller=org, draft=draft, idempotency_key=idempotency_key
        )
    except DomainError as error:
        status = 403 if error.status == 403 else 400
        raise Open311Error(status, _domain_errors(error)) from error
    return render(
        fmt, "service_requests", [{"service_request_id": call.number, "service_notice": notice}]
    )


def _domain_errors(error: DomainError) -> list[tuple[str, str]]:
    detail = error.detail if isinstance(error.detail, list) else []
    found = [
        (error.code, f"{d.get('field', '')}: {d.get('message', '')}")
        for d in detail
        if isinstance(d, dict)
    ]
    return found or [(error.code, str(error.message))]
