"""REST endpoints of the calls app, mounted at /api/v1/calls/.

Every endpoint needs a session (with the CSRF token for writes) or an organisation's API
key. Calls the caller may not see answer 404, as if they did not exist. Writes go
through `services.call_create` and `services.call_transition`, which commit before they
return: no endpoint here opens a transaction around them, so a response is sent only
for a call or an event that is already committed.
"""

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import P, Query, Router, Status
from ninja.pagination import PageNumberPagination, paginate
from ninja.params import HeaderEx

from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.api import ERROR_RESPONSES
from xianghu.core.errors import InvalidInput
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import RegionLevel

from . import selectors, services
from .models import Call, CallEvent, Urgency
from .schemas import (
    ActionIn,
    ActionOut,
    CallDetailOut,
    CallFilterIn,
    CallIn,
    CallOut,
    EventOut,
    OrganisationRef,
    SuggestionOut,
    TransitionOut,
)
from .workflow import BY_ACTION, TRANSITIONS, Party

router = Router(tags=["calls"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined]


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


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


def _draft(
    actor: Actor, payload: CallIn, header_key: str | None
) -> tuple[Organisation, services.CallDraft, str | None]:
    """Resolve the body's references among what the caller may see; every unknown or
    invisible one is a problem of `call.invalid` (400), named by the call's field."""
    problems = []
    organisations = access.visible(actor, Organisation.objects.select_related("county", "township"))
    caller = organisations.filter(pk=payload.caller_id).first()
    if caller is None:
        problems.append(_problem("caller", _("Unknown organisation.")))
    location = (
        access.visible(actor, Region.objects.all()).filter(code=payload.location_code).first()
    )
    if location is None:
        problems.append(_problem("location", _("Unknown place.")))
    elif location.level not in (RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        problems.append(_problem("location", _("Choose a township or village.")))
    item = None
    if payload.item_id is not None:
        items = access.visible(actor, Item.objects.select_related("version"))
        item = items.filter(pk=payload.item_id).first()
        if item is None:
            problems.append(_problem("item", _("Choose an item of the list in force.")))
    callee = None
    if payload.callee_id is not None:
        callee = organisations.filter(pk=payload.callee_id).first()
        if callee is None:
            problems.append(_problem("callee", _("Unknown organisation.")))
    keys = {k.strip() for k in (header_key, payload.idempotency_key) if k and k.strip()}
    if len(keys) > 1:
        problems.append(
            _problem(
                "idempotency_key",
                _("The Idempotency-Key header and the idempotency_key field differ."),
            )
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
    return caller, draft, (keys.pop() if keys else None)


@router.post(
    "/",
    response={201: CallDetailOut, 200: CallDetailOut, **ERROR_RESPONSES},
    summary="Create a call (draft)",
)
def call_create(
    request: HttpRequest,
    payload: CallIn,
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
    township, the item of the list in force, both coordinates or none) are 400
    `call.invalid` with `detail` = `[{field, message}]`."""
    actor = _actor(request)
    caller, draft, key = _draft(actor, payload, idempotency_key)
    call, created = services.call_create(
        actor=actor, caller=caller, draft=draft, idempotency_key=key
    )
    out = _detail(actor, selectors.call_get(actor=actor, pk=call.pk))
    return Status(201 if created else 200, out)


# ---- reading calls ----------------------------------------------------------------------


@router.get("/", response={200: list[CallOut], **ERROR_RESPONSES}, summary="List calls")
@paginate(PageNumberPagination, page_size=50)
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
    return list(selectors.call_timeline(actor=actor, call=call))


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
        + _actions_table()
    ),
)
def call_act(request: HttpRequest, call_id: int, action: str, payload: ActionIn) -> dict[str, Any]:
    actor = _actor(request)
    call = selectors.call_get(actor=actor, pk=call_id, related=False)
    data = _checked_data(payload.data) if action in BY_ACTION else payload.data
    expected = payload.expected_state.value if payload.expected_state else None
    event = services.call_transition(
        actor=actor, call=call, action=action, data=data, expected_state=expected
    )
    fresh = selectors.call_get(actor=actor, pk=call_id)
    # Model instances: ninja validates them through the schema's resolvers.
    return {
        "event": selectors.call_timeline(actor=actor, call=fresh).get(pk=event.pk),
        "call": fresh,
    }
