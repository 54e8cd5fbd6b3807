"""REST endpoints of the calls app, mounted at /api/v1/calls/.

Every endpoint needs a session (with the CSRF token for writes) or an organisation's API
key. Calls the caller may not see answer 404, as if they did not exist. Writes go
through `services.call_create` and `services.call_transition`, which commit before they
return. Actions hand their photos to the service, which saves them with the event in its
own transaction; no endpoint opens a transaction around a service, except the creation
of a call with photos, whose one transaction holds the call and its photos together (a
refused photo writes nothing) and is committed before the response. Either way a
response is sent only for a call or an event that is already committed.

Evidence photos: creating a call and the actions that take photos (`PHOTO_ACTIONS`)
accept `multipart/form-data` as well as JSON: the JSON body goes in the part `payload`
and the photos in the parts `photos`, checked as on the web pages (`attachments`).
"""

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model, Prefetch, QuerySet
from django.http import FileResponse, HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import P, Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from ninja.params import HeaderEx
from ninja.params.models import Body, BodyModel

from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES, Pagination
from xianghu.core.errors import DomainError, InvalidInput, NotFound, error_body, error_status
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import RegionLevel

from . import selectors, services
from .attachments import MAX_PER_EVENT, PHOTO_ACTIONS, attachment_save, attachments_check
from .models import Attachment, Call, CallEvent, Urgency
from .schemas import (
    ActionIn,
    ActionOut,
    CallBatchIn,
    CallBatchOut,
    CallDetailOut,
    CallFilterIn,
    CallIn,
    CallOut,
    EventOut,
    OrganisationRef,
    SuggestionOut,
    TransitionOut,
)
from .workflow import BY_ACTION, CREATE, TRANSITIONS, Party

logger = logging.getLogger(__name__)

router = Router(tags=["calls"])

# ---- JSON or multipart bodies -----------------------------------------------------------

PAYLOAD_PART = "payload"
PHOTOS_PART = "photos"
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
ADDRESS_MAX = 200


class _JsonOrMultipartModel(BodyModel):
    """The body as JSON, or, for `multipart/form-data`, the JSON of the part `payload`
    (a field, or a part with a file name); validated by ninja the same way, after the
    authentication (so nothing is parsed for an unauthenticated request)."""

    @classmethod
    def get_request_data(
        cls, request: HttpRequest, api: Any, path_params: dict[str, Any]
    ) -> dict[str, Any] | None:
        if request.content_type != "multipart/form-data":
            return super().get_request_data(request, api, path_params)
        inner = HttpRequest()
        # What ninja's parser reads as `request.body`; without a part, an empty object
        # (an action without fields; a call then lacks every required field).
        inner._body = _payload_part(request) or b"{}"
        return super().get_request_data(inner, api, path_params)


class _JsonOrMultipart(Body):  # type: ignore[misc]  # as ninja's own params
    _model = _JsonOrMultipartModel

    @classmethod
    def _param_source(cls) -> str:
        return "body"


def _payload_part(request: HttpRequest) -> bytes | None:
    try:
        fields = request.POST
    except TooManyFilesSent:
        raise InvalidInput(
            _("At most %(n)s photos can be attached at a time.") % {"n": MAX_PER_EVENT},
            code="call.attachment_too_many",
        ) from None
    except RequestDataTooBig:
        raise HttpError(413, _("The request body is too large.")) from None
    except (MultiPartParserError, SuspiciousOperation):
        raise HttpError(400, _("The request is invalid.")) from None
    if PAYLOAD_PART in fields:
        return fields[PAYLOAD_PART].encode()
    upload = request.FILES.get(PAYLOAD_PART)
    if upload is None:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
    if (upload.size or 0) > limit:
        raise HttpError(413, _("The request body is too large."))
    upload.seek(0)
    return upload.read()


def _photos(request: HttpRequest) -> list[UploadedFile]:
    """The photos of a multipart request; a file in another part is refused rather than
    silently dropped."""
    others = sorted(name for name in request.FILES if name not in (PHOTOS_PART, PAYLOAD_PART))
    if others:
        raise InvalidInput(
            _("Send the photos in the part “photos”."),
            code="call.invalid",
            detail=[_problem(name, _("Send the photos in the part “photos”.")) for name in others],
        )
    return list(request.FILES.getlist(PHOTOS_PART))


def _multipart_doc(schema: str, *, payload_required: bool, what: str) -> dict[str, Any]:
    """The `multipart/form-data` alternative of a JSON body, for the OpenAPI schema."""
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            PAYLOAD_PART: {
                                "$ref": f"#/components/schemas/{schema}",
                                "description": f"The JSON body ({what}), as a part.",
                            },
                            PHOTOS_PART: {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "maxItems": MAX_PER_EVENT,
                                "description": (
                                    f"Evidence photos, at most {MAX_PER_EVENT}, each at most "
                                    f"{settings.XH_ATTACHMENT_MAX_BYTES} bytes; JPEG, PNG, "
                                    "WebP or GIF, checked from the bytes."
                                ),
                            },
                        },
                        "required": [PAYLOAD_PART] if payload_required else [],
                    },
                    "encoding": {
                        PAYLOAD_PART: {"contentType": "application/json"},
                        PHOTOS_PART: {"contentType": ", ".join(PHOTO_TYPES)},
                    },
                }
            }
        }
    }


PHOTO_ERRORS = (
    "Photos (multipart only): 400 `call.attachment_too_large`, `call.attachment_not_image` "
    "(the bytes are not a JPEG, PNG, WebP or GIF), `call.attachment_type_mismatch` (the "
    "declared type or the file name's extension says otherwise), "
    "`call.attachment_too_many` (more than "
    f"{MAX_PER_EVENT}), `call.invalid` (a file in another part than `photos`); nothing "
    "is written when one photo is refused."
)


def _with_photos(events: QuerySet[CallEvent]) -> QuerySet[CallEvent]:
    """The events (of a call the caller sees) with their photos, in one query; a photo is
    seen by whoever sees its call (`access.AttachmentPolicy`)."""
    return events.prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _idempotency_key(
    header: str | None, field: str | None
) -> tuple[str | None, dict[str, str] | None]:
    """The request's idempotency key, from the `Idempotency-Key` header or the body's
    `idempotency_key` (the same key if both are sent), or the problem when they differ."""
    keys = {k.strip() for k in (header, field) if k and k.strip()}
    if len(keys) > 1:
        return None, _problem(
            "idempotency_key",
            _("The Idempotency-Key header and the idempotency_key field differ."),
        )
    return (keys.pop() if keys else None), None


def _invalid(problems: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(_("The call is not complete."), code="call.invalid", detail=problems)


def _detail(actor: Actor, call: Call) -> CallDetailOut:
    """The call with what this caller may do now (and, for the county's platform, the
    list's suggestion for the dispatch)."""
    parties = selectors.call_parties(actor=actor, call=call)
    actions = [ActionOut.of(t) for t in selectors.call_actions(parties=parties, state=call.state)]
    suggestion = None
    if Party.PLATFORM in parties:
        found = selectors.call_suggestion(call=call)
        suggestion = SuggestionOut(
            lead=OrganisationRef(id=found.lead.pk, name=found.lead.name) if found.lead else None,
            assisting=[OrganisationRef(id=o.pk, name=o.name) for o in found.assisting],
        )
    out = CallDetailOut.from_orm(call)
    return out.model_copy(update={"actions": actions, "suggested_dispatch": suggestion})


# ---- creating a call --------------------------------------------------------------------

_MICRODEGREE = Decimal("0.000001")


def _coordinate(value: Decimal | None) -> Decimal | None:
    """Rounded to the six decimals stored; values out of range are left for the
    service to refuse."""
    if value is None or not Decimal(-180) <= value <= Decimal(180):
        return value
    return value.quantize(_MICRODEGREE)


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Refs:
    """The organisations, places and items a request's calls name, among those the
    caller may see: a look-up each for one call or a batch."""

    organisations: dict[int, Organisation]
    places: dict[str, Region]
    items: dict[int, Item]


_ID_RANGE = range(-(2**63), 2**63)  # no row has an id beyond a 64-bit integer


def _refs(actor: Actor, payloads: list[CallIn]) -> _Refs:
    callees = [p.callee_id for p in payloads if p.callee_id is not None]
    org_ids = {i for i in [*(p.caller_id for p in payloads), *callees] if i in _ID_RANGE}
    codes = {p.location_code for p in payloads}
    item_ids = {p.item_id for p in payloads if p.item_id is not None and p.item_id in _ID_RANGE}
    organisations = access.visible(actor, Organisation.objects.select_related("county", "township"))
    places = access.visible(actor, Region.objects.all())
    items = access.visible(actor, Item.objects.select_related("version"))
    return _Refs(
        organisations={o.pk: o for o in _all(organisations.filter(pk__in=org_ids))},
        places={r.code: r for r in _all(places.filter(code__in=codes))},
        items={i.pk: i for i in _all(items.filter(pk__in=item_ids))} if item_ids else {},
    )


def _all(qs: QuerySet[M]) -> list[M]:
    """A look-up by unique keys, unordered (an ORDER BY of the model's default ordering
    costs joins and compiling for nothing here)."""
    return list(qs.order_by())


def _draft(
    payload: CallIn, refs: _Refs, header_key: str | None, *, key_required: bool = False
) -> tuple[Organisation, services.CallDraft, str | None]:
    """Resolve the body's references among what the caller may see; every unknown or
    invisible one is a problem of `call.invalid` (400), named by the call's field."""
    problems = []
    caller = refs.organisations.get(payload.caller_id)
    if caller is None:
        problems.append(_problem("caller", _("Unknown organisation.")))
    location = refs.places.get(payload.location_code)
    if location is None:
        problems.append(_problem("location", _("Unknown place.")))
    elif location.level not in (RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        problems.append(_problem("location", _("Choose a township or village.")))
    item = None
    if payload.item_id is not None:
        item = refs.items.get(payload.item_id)
        if item is None:
            problems.append(_problem("item", _("Choose an item of the list in force.")))
    callee = None
    if payload.callee_id is not None:
        callee = refs.organisations.get(payload.callee_id)
        if callee is None:
            problems.append(_problem("callee", _("Unknown organisation.")))
    if len(clean_text(payload.address)) > ADDRESS_MAX:
        problems.append(_problem("address", _("At most 200 characters.")))
    key, key_problem = _idempotency_key(header_key, payload.idempotency_key)
    if key_problem:
        problems.append(key_problem)
    elif key_required and not (key and clean_text(key)):
        problems.append(
            _problem("idempotency_key", _("Every call of a batch needs its idempotency key."))
        )
    if problems:
        raise _invalid(problems)
    assert caller is not None
    assert location is not None
    draft = services.CallDraft(
        title=payload.title,
        description=payload.description,
        location=location,
        urgency=Urgency(payload.urgency).value,
        item=item,
        address=payload.address,
        latitude=_coordinate(payload.latitude),
        longitude=_coordinate(payload.longitude),
        callee=callee,
    )
    return caller, draft, key


@router.post(
    "/",
    response={201: CallDetailOut, 200: CallDetailOut, **ERROR_RESPONSES},
    summary="Create a call (draft)",
    openapi_extra=_multipart_doc("CallIn", payload_required=True, what="the call"),
)
def call_create(
    request: HttpRequest,
    payload: Annotated[CallIn, _JsonOrMultipart(...)],
    idempotency_key: HeaderEx[
        str | None,
        P(
            alias="Idempotency-Key",
            max_length=64,
            description=(
                "Any string of at most 64 characters, unique per request the client means; "
                "a retry with the same key returns the same call (200) instead of a new one."
            ),
        ),
    ] = None,
) -> Status[CallDetailOut]:
    """Create a call as a draft on behalf of `caller_id` (one of the caller's own
    organisations; 403 `call.not_a_caller` otherwise). 201 with the call; a retry with
    the same idempotency key (header `Idempotency-Key` or field `idempotency_key`, scoped
    to the calling organisation) answers 200 with the call the first request created;
    the same key with another title or description is 409 `call.idempotency_conflict`.
    Unknown or invisible `caller_id`, `location_code`, `item_id`, `callee_id`, and
    every rule of the call (title, description, the place in the caller's county or
    township, the item of the list in force, both coordinates or none, the address at
    most 200 characters) are 400 `call.invalid` with `detail` = `[{field, message}]`.

    With photos: send `multipart/form-data`, this body as JSON in the part `payload` and
    the photos in parts `photos`; they are attached to the call's first event (see the
    timeline) in the same transaction as the call. A retry that finds the call already
    made attaches nothing more."""
    actor = _actor(request)
    caller, draft, key = _draft(payload, _refs(actor, [payload]), idempotency_key)
    photos = _photos(request)
    if not photos:
        call, created = services.call_create(
            actor=actor, caller=caller, draft=draft, idempotency_key=key
        )
    else:
        attachments_check(photos)
        with transaction.atomic():
            call, created = services.call_create(
                actor=actor, caller=caller, draft=draft, idempotency_key=key
            )
            if created:
                event = CallEvent.objects.get(call=call, action=CREATE)
                for photo in photos:
                    attachment_save(actor=actor, call=call, upload=photo, event=event)
    # A new call is answered as it was made; a retry's call is read again (it may have
    # moved on since the first request).
    shown = selectors.call_created(call=call) if created else None
    out = _detail(actor, shown or selectors.call_get(actor=actor, pk=call.pk))
    return Status(201 if created else 200, out)


@router.post(
    "/batch/",
    response={200: CallBatchOut, **ERROR_RESPONSES},
    summary="Create calls in a batch (drafts)",
)
def call_create_batch(request: HttpRequest, payload: CallBatchIn) -> dict[str, Any]:
    """Create up to 100 calls at once (a township's grid system or a field app that kept
    its calls while offline): each entry of `calls` is the body of `POST /calls/` and
    must carry its own `idempotency_key`. 200 with a result per entry, in order: `status`
    201 with the call made, 200 with the call an earlier request (or an earlier entry of
    this batch) made with the same key, or the status and `error` (`{code, message,
    detail}`) that `POST /calls/` would answer for that entry alone (400 `call.invalid`,
    403 `call.not_a_caller`, 409 `call.idempotency_conflict`, …). A refused entry never
    stops the others, and the batch sent again makes nothing twice. More than 100 entries,
    or none: 422. A caller who can make no call at all (no membership or key of a
    township, village, county department or stationed agency): 403 `call.not_a_caller`."""
    actor = _actor(request)
    services.calls_caller_check(actor=actor)
    refs = _refs(actor, payload.calls)
    resolved: list[services.BatchEntry | DomainError] = []
    for entry in payload.calls:
        try:
            caller, draft, key = _draft(entry, refs, None, key_required=True)
        except DomainError as refusal:
            resolved.append(refusal)
            continue
        assert key is not None
        resolved.append(services.BatchEntry(caller=caller, draft=draft, idempotency_key=key))
    entries = [r for r in resolved if isinstance(r, services.BatchEntry)]
    made = iter(services.call_create_many(actor=actor, entries=entries))
    outcomes = [r if isinstance(r, DomainError) else next(made) for r in resolved]
    shown = selectors.calls_made(
        actor=actor, calls=[o for o in outcomes if not isinstance(o, DomainError)]
    )
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, DomainError) and outcome[0].pk not in shown:
            outcome = NotFound()  # as `POST /calls/` answers a retry whose call is hidden
        if isinstance(outcome, DomainError):
            status, call, error = error_status(outcome), None, error_body(outcome)
        else:
            status, call, error = 201 if outcome[1] else 200, shown[outcome[0].pk], None
        results.append({"index": index, "status": status, "call": call, "error": error})
    return {
        "created": sum(r["status"] == 201 for r in results),
        "existing": sum(r["status"] == 200 for r in results),
        "refused": sum(r["error"] is not None for r in results),
        "results": results,
    }


# ---- reading calls ----------------------------------------------------------------------


@router.get("/", response={200: list[CallOut], **ERROR_RESPONSES}, summary="List calls")
@paginate(Pagination, page_size=50)
def call_list(request: HttpRequest, filters: Query[CallFilterIn]) -> QuerySet[Call]:
    """The calls the caller may see, newest first, 50 a page (`page`). Filters: `state`
    (repeated or comma-separated), `urgency`, `caller` (organisation id), `item` (item
    code), `overdue`, `q` (title or number), `mine`."""
    filters_ = selectors.CallFilters(
        states=tuple(str(s) for s in filters.state),
        urgency=filters.urgency,
        caller_id=filters.caller,
        item_code=(filters.item or "").strip() or None,
        overdue=filters.overdue,
        search=(filters.q or "").strip() or None,
        mine=filters.mine,
    )
    return selectors.call_list(actor=_actor(request), filters=filters_)


@router.get("/{call_id}", response={200: CallDetailOut, **ERROR_RESPONSES}, summary="One call")
def call_detail(request: HttpRequest, call_id: int) -> CallDetailOut:
    """One call with its dispatches (organisation, role, active, clocks), the actions the
    caller may take now, and for the county's platform operators the list's suggestion
    for the dispatch. 404 unless the caller may see the call."""
    actor = _actor(request)
    return _detail(actor, selectors.call_get(actor=actor, pk=call_id))


@router.get(
    "/{call_id}/events", response={200: list[EventOut], **ERROR_RESPONSES}, summary="Timeline"
)
def call_events(request: HttpRequest, call_id: int) -> list[CallEvent]:
    """The call's timeline in order: each event's action, the states before and after,
    who (the person's name, never a phone number; null for an API key or the system)
    for which organisation as which party, when, and the action's data. 404 unless the
    caller may see the call."""
    actor = _actor(request)
    call = selectors.call_get(actor=actor, pk=call_id, related=False)
    return list(_with_photos(selectors.call_timeline(actor=actor, call=call)))


@router.get(
    "/{call_id}/attachments/{attachment_id}",
    response={k: v for k, v in ERROR_RESPONSES.items() if k in (401, 403, 404, 422)},
    url_name="calls_attachment",
    summary="Download a photo",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The photo's bytes, with its sniffed content type.",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES
                },
            }
        }
    },
)
def attachment_download(request: HttpRequest, call_id: int, attachment_id: int) -> FileResponse:
    """One evidence photo of the call (its `url` in the timeline), to whoever may see the
    call, as on the call page; 404 `not_found` for everyone else, and for a photo of
    another call."""
    actor = _actor(request)
    call = selectors.call_get(actor=actor, pk=call_id, related=False)
    attachment = (
        access.visible(actor, Attachment.objects.filter(call=call)).filter(pk=attachment_id).first()
    )
    if attachment is None:
        raise NotFound()
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        logger.error("calls: the file of attachment %s is missing", attachment.pk)
        raise NotFound() from None
    name = attachment.file.name.rsplit("/", 1)[-1]
    response = FileResponse(handle, content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---- acting on a call -------------------------------------------------------------------


def _actions_table() -> str:
    rows = [
        f"| `{t.action}` | {', '.join(sorted(t.sources))} | {', '.join(sorted(t.parties))} "
        f"| {', '.join(t.requires) or '—'} |"
        for t in TRANSITIONS
        if t.parties != {Party.SYSTEM}
    ]
    return "\n".join(
        ["| action | from states | parties | requires in `data` |", "|---|---|---|---|", *rows]
    )


# Fields of `data` that name an organisation or a call by id (a list for `assisting`).
_ID_FIELDS = {"lead": "organisation", "into": "call"}
_ID_LIST_FIELDS = {"assisting": "organisation"}


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _checked_data(data: dict[str, Any]) -> dict[str, Any]:
    """Ids in `data` as whole numbers (the service looks them up as such)."""
    clean = dict(data)
    problems = []
    messages = {
        "organisation": _("Give the id of an organisation."),
        "call": _("Give the id of a call."),
    }
    for key, kind in _ID_FIELDS.items():
        if clean.get(key) in (None, ""):
            continue
        number = _as_id(clean[key])
        if number is None:
            problems.append(_problem(key, messages[kind]))
        clean[key] = number
    for key, kind in _ID_LIST_FIELDS.items():
        if clean.get(key) in (None, ""):
            continue
        values = clean[key] if isinstance(clean[key], list) else [clean[key]]
        numbers = [_as_id(v) for v in values]
        if any(n is None for n in numbers):
            problems.append(_problem(key, messages[kind]))
        clean[key] = numbers
    if problems:
        raise InvalidInput(
            _("Some information is missing or wrong."), code="call.invalid", detail=problems
        )
    return clean


@router.post(
    "/{call_id}/actions/{action}",
    response={200: TransitionOut, **ERROR_RESPONSES},
    summary="Take an action on a call",
    description=(
        "Take `action` on the call, with the action's fields in `data`. 200 with the new "
        "event and the call in its new state. 404 unless the caller may see the call; "
        "400 `call.unknown_action`; 403 `call.not_a_party` (not the party the action "
        "belongs to); 409 `call.action_not_allowed` (not possible in the current state; "
        "`detail.allowed` lists the actions that are); 409 `call.state_changed` "
        "(`expected_state` differs from the call's state); 400 `call.invalid` (missing or "
        "wrong fields, `detail` = `[{field, message}]`); 403 `guard.dispatch_refused` (the "
        "list does not name the department for the item). Choices: `respond.mode` = "
        "contact | on_site; `evaluate.evaluation` = satisfied | basically | unsatisfied, "
        "`evaluate.resolved` = yes | partly | no. `dispatch` takes `lead` (an organisation "
        "id) and `assisting` (a list of ids); `decide_extension.approve` is a boolean.\n\n"
        "Photos: "
        + ", ".join(f"`{a}`" for a in PHOTO_ACTIONS)
        + " also take `multipart/form-data`: this body as JSON in the part `payload` "
        "(optional) and the photos in parts `photos`, attached to the new event in the "
        "same transaction (see `photos` of the event). Photos sent with another action: "
        "400 `call.attachment_not_allowed`. A step that needs evidence without a photo "
        "(by default `respond` with `mode` = on_site, and `complete`; setting "
        "`XH_EVIDENCE_REQUIRED`): 400 `call.evidence_required`. "
        + PHOTO_ERRORS
        + "\n\n"
        + _actions_table()
    ),
    openapi_extra=_multipart_doc("ActionIn", payload_required=False, what="the action"),
)
def call_act(
    request: HttpRequest,
    call_id: int,
    action: str,
    payload: Annotated[ActionIn, _JsonOrMultipart(...)],
    idempotency_key: HeaderEx[
        str | None,
        P(
            alias="Idempotency-Key",
            max_length=64,
            description=(
                "Any string of at most 64 characters, unique per step the client means; a "
                "retry with the same key returns the event the first attempt made (200) "
                "instead of taking the step again — for steps that do not change the "
                "state, such as `note`, too. The key used for another step of the call: "
                "409 `call.idempotency_conflict`."
            ),
        ),
    ] = None,
) -> dict[str, Any]:
    actor = _actor(request)
    call = selectors.call_get(actor=actor, pk=call_id, related=False)
    photos = _photos(request)
    data = _checked_data(payload.data) if action in BY_ACTION else payload.data
    expected = payload.expected_state.value if payload.expected_state else None
    key, key_problem = _idempotency_key(idempotency_key, payload.idempotency_key)
    if key_problem:
        raise _invalid([key_problem])
    # The service checks the photos (and the evidence a step needs) before it writes
    # anything, and saves them with the event in its transaction.
    event = services.call_transition(
        actor=actor,
        call=call,
        action=action,
        data=data,
        expected_state=expected,
        photos=photos,
        idempotency_key=key,
    )
    fresh = selectors.call_get(actor=actor, pk=call_id)
    # Model instances: ninja validates them through the schema's resolvers.
    return {
        "event": _with_photos(selectors.call_timeline(actor=actor, call=fresh)).get(pk=event.pk),
        "call": fresh,
    }
