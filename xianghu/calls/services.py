"""Writes of calls. `call_transition` is the only function that changes a call's state:
it locks the call, checks the workflow table and the actor's party, applies the action's
effect, writes the state and appends the event in one transaction; side effects run
after commit (docs/workflow.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.catalog import guard
from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item, ListVersion
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from xianghu.core.memo import memo_scope
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.roles import OrgKind

from . import deadlines, outbox, signals
from .attachments import PHOTO_ACTIONS, attachment_save, attachments_check
from .models import Call, CallEvent, Direction, Dispatch, DispatchRole, Urgency
from .parties import assisting_dispatches, lead_dispatch, parties_of
from .workflow import (
    ASSISTING_MAX,
    BY_ACTION,
    CREATE,
    MERGE_TARGET_STATES,
    OPEN,
    TEXT_FIELDS,
    TEXT_MAX,
    Party,
    State,
    Transition,
    allowed_actions,
)

# Effects run after commit (notifications, webhooks); registered by other modules and
# made crash-safe by the event outbox (outbox.py).
AFTER_COMMIT: list[Callable[[CallEvent], None]] = []


def _organisation_of(actor: Actor | None, call: Call, party: str) -> int | None:
    """The organisation the actor acts for in this event (for the timeline)."""
    if actor is None:
        return None
    wanted: set[int] = set()
    if party in (Party.CALLER, Party.CALLER_LEADER):
        wanted = {call.caller_id}
    elif party == Party.LEAD:
        lead = lead_dispatch(call)
        wanted = {lead.organisation_id} if lead else set()
    elif party == Party.ASSISTING:
        wanted = {d.organisation_id for d in assisting_dispatches(actor=actor, call=call)}
    for grant in actor.grants:
        if grant.organisation_id in wanted:
            return grant.organisation_id
    if party == Party.PLATFORM:
        for grant in actor.grants:
            if grant.county_id == call.county_id and grant.role == "platform_operator":
                return grant.organisation_id
    return actor.grants[0].organisation_id if actor.grants else None


def _last_seq(call: Call) -> int:
    return call.events.order_by("-seq").values_list("seq", flat=True).first() or 0


def _append(
    *,
    call: Call,
    action: str,
    from_state: str,
    actor: Actor | None,
    party: str,
    at: datetime,
    data: Mapping[str, Any],
    idempotency_key: str = "",
) -> CallEvent:
    # A call's first event needs no look-up: nothing can precede its creation.
    last = 0 if action == CREATE else _last_seq(call)
    event = _new_event(
        call=call,
        seq=last + 1,
        action=action,
        from_state=from_state,
        actor=actor,
        party=party,
        at=at,
        data=data,
        idempotency_key=idempotency_key,
    )
    event.save(force_insert=True)
    signals.event_appended.send(sender=CallEvent, event=event, call=call)
    return event


def _new_event(
    *,
    call: Call,
    seq: int,
    action: str,
    from_state: str,
    actor: Actor | None,
    party: str,
    at: datetime,
    data: Mapping[str, Any],
    idempotency_key: str = "",
) -> CallEvent:
    """The unsaved event of the call's new state (`call.state`)."""
    return CallEvent(
        call=call,
        seq=seq,
        action=action,
        from_state=from_state,
        to_state=call.state,
        actor_id=actor.user_id if actor else None,
        actor_org_id=_organisation_of(actor, call, party),
        party=party,
        at=at,
        data=dict(data),
        idempotency_key=idempotency_key,
    )


# ---- creating a call ----------------------------------------------------------------------


@dataclass(frozen=True)
class CallDraft:
    title: str
    description: str
    location: Region
    urgency: str = Urgency.NORMAL
    item: Item | None = None
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    callee: Organisation | None = None  # a township, for a department's (two-way) call


InForce = Callable[[Region], "ListVersion | None"]


def _in_force(county: Region) -> ListVersion | None:
    return catalog_selectors.county_version_in_force(county=county)


def _validate_draft(
    caller: Organisation, draft: CallDraft, *, in_force: InForce = _in_force
) -> dict[str, Any]:
    problems: list[dict[str, str]] = []
    title, description = clean_text(draft.title), clean_text(draft.description)
    if not title:
        problems.append({"field": "title", "message": _("This field is required.")})
    if len(title) > 120:
        problems.append({"field": "title", "message": _("At most 120 characters.")})
    if not description:
        problems.append({"field": "description", "message": _("This field is required.")})
    if len(description) > 4000:
        problems.append({"field": "description", "message": _("At most 4000 characters.")})
    if draft.urgency not in Urgency.values:
        problems.append({"field": "urgency", "message": _("Unknown urgency.")})
    county = caller.county
    if county is None or not draft.location.path.startswith(county.path):
        problems.append({"field": "location", "message": _("The place must be in your county.")})
    elif caller.kind == OrgKind.TOWNSHIP and not draft.location.path.startswith(
        caller.township.path if caller.township else "~"
    ):
        problems.append({"field": "location", "message": _("The place must be in your township.")})
    if (draft.latitude is None) != (draft.longitude is None):
        problems.append({"field": "latitude", "message": _("Give both coordinates or neither.")})
    elif (
        draft.latitude is not None
        and draft.longitude is not None
        and not (
            Decimal(-90) <= draft.latitude <= Decimal(90)
            and Decimal(-180) <= draft.longitude <= Decimal(180)
        )
    ):
        problems.append({"field": "latitude", "message": _("The coordinates are not valid.")})
    elif (
        draft.latitude is not None
        and draft.longitude is not None
        and county is not None
        and not county.contains_point(draft.latitude, draft.longitude)
    ):
        problems.append(
            {
                "field": "latitude",
                "code": "call.outside_county",
                "message": _("The coordinates lie outside %(county)s.") % {"county": county.name},
            }
        )
    if draft.item is not None and county is not None:
        version = in_force(county)
        if version is None or draft.item.version_id != version.pk:
            problems.append({"field": "item", "message": _("Choose an item of the list in force.")})
        elif not draft.item.callable:
            problems.append({"field": "item", "message": _("This item cannot be called.")})
    if problems:
        raise _invalid(_("The call is not complete."), problems)
    return {"title": title, "description": description}


def _invalid(message: str, problems: list[dict[str, str]]) -> InvalidInput:
    """One refusal for all the problems found: coded by their own code when they all
    have the same one (`call.outside_county`, `call.text_too_long`), else `call.invalid`."""
    codes = {problem.get("code") for problem in problems}
    code = codes.pop() if len(codes) == 1 else None
    if code is not None and len(problems) == 1:
        message = problems[0]["message"]
    return InvalidInput(message, code=code or "call.invalid", detail=problems)


def _direction(caller: Organisation, draft: CallDraft) -> str:
    if caller.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE):
        return Direction.UP
    if caller.kind in (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY):
        if draft.callee is None or draft.callee.kind != OrgKind.TOWNSHIP:
            raise InvalidInput(
                _("A department's call names the township it calls."), code="call.invalid"
            )
        decision = guard.handoff_check(
            giver=caller, receiver=draft.callee, item=draft.item, duty="cooperating"
        )
        decision.raise_if_refused()
        return Direction.DOWN
    raise PermissionDenied(
        _("Only townships and county departments can make calls."), code="call.not_a_caller"
    )


def call_create(
    *,
    actor: Actor,
    caller: Organisation,
    draft: CallDraft,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> tuple[Call, bool]:
    """Create a call as a draft; returns (call, created).

    With an idempotency key, a retried request returns the call the first request made
    (and never makes a second one); the same key with a different call is a conflict.
    """
    _check_caller(actor, caller)
    governments = _township_governments([caller]) if caller.kind == OrgKind.VILLAGE else {}
    caller_org = _calling_organisation(caller, governments)
    key = clean_text(idempotency_key)[:64] or None
    if key is not None:
        existing = Call.objects.filter(caller=caller_org, idempotency_key=key).first()
        if existing is not None:
            return _same_or_conflict(existing, draft), False
    fields = _validate_draft(caller, draft)
    direction = _direction(caller, draft)
    at = at or timezone.now()
    try:
        with transaction.atomic():
            call = _new_call(
                actor=actor,
                caller_org=caller_org,
                draft=draft,
                direction=direction,
                key=key,
                fields=fields,
                at=at,
            )
            _numbered_insert([call])
            event = _append(
                call=call,
                action=CREATE,
                from_state="",
                actor=actor,
                party=Party.CALLER,
                at=at,
                data=_create_data(draft),
            )
            outbox.outbox_add(event=event, effects=list(AFTER_COMMIT))
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its call.
        if key is None:
            raise
        existing = Call.objects.get(caller=caller_org, idempotency_key=key)
        return _same_or_conflict(existing, draft), False
    return call, True


# ---- creating calls in a batch --------------------------------------------------------------

BATCH_MAX = 100


@dataclass(frozen=True)
class BatchEntry:
    """One call of a batch: on behalf of `caller`, with its own idempotency key (a batch
    sent again makes nothing twice)."""

    caller: Organisation
    draft: CallDraft
    idempotency_key: str


# What became of an entry: (the call, made now) or why it was refused.
BatchOutcome = tuple[Call, bool] | DomainError


@dataclass
class _Planned:
    index: int
    entry: BatchEntry
    caller_org: Organisation
    key: str
    call: Call


def call_create_many(
    *, actor: Actor, entries: Sequence[BatchEntry], at: datetime | None = None
) -> list[BatchOutcome]:
    """Create the entries' calls as drafts, as `call_create` would one by one, with one
    answer per entry in their order: (call, True) when made now, (call, False) when a
    call with the entry's key was made before (by an earlier request or an earlier entry
    of this batch, with the same title and description), else the entry's refusal. An
    entry's refusal never stops the others. The new calls, their events and outbox rows
    are written in one transaction with a few statements for the whole batch; should a
    concurrent request make one of the keys' calls meanwhile, the entries are made one by
    one instead, each answering for itself."""
    if len(entries) > BATCH_MAX:
        raise InvalidInput(
            _("At most %(n)s calls at a time.") % {"n": BATCH_MAX}, code="call.batch_too_large"
        )
    at = at or timezone.now()
    outcomes: list[BatchOutcome | None] = [None] * len(entries)
    villages = [e.caller for e in entries if e.caller.kind == OrgKind.VILLAGE]
    governments = _township_governments(villages) if villages else {}
    versions: dict[int, ListVersion | None] = {}

    def in_force(county: Region) -> ListVersion | None:
        if county.pk not in versions:
            versions[county.pk] = _in_force(county)
        return versions[county.pk]

    existing = _calls_with_keys(entries, governments)
    planned: list[_Planned] = []
    made: dict[tuple[int, str], _Planned] = {}
    repeats: list[tuple[int, _Planned]] = []
    for index, entry in enumerate(entries):
        try:
            _check_caller(actor, entry.caller)
            caller_org = _calling_organisation(entry.caller, governments)
            key = clean_text(entry.idempotency_key)[:64]
            if not key:
                raise InvalidInput(
                    _("Every call of a batch needs its idempotency key."),
                    code="call.invalid",
                    detail=[{"field": "idempotency_key", "message": _("This field is required.")}],
                )
            before = existing.get((caller_org.pk, key))
            if before is not None:
                outcomes[index] = (_same_or_conflict(before, entry.draft), False)
                continue
            if (caller_org.pk, key) in made:
                repeats.append((index, made[(caller_org.pk, key)]))
                continue
            fields = _validate_draft(entry.caller, entry.draft, in_force=in_force)
            direction = _direction(entry.caller, entry.draft)
            call = _new_call(
                actor=actor,
                caller_org=caller_org,
                draft=entry.draft,
                direction=direction,
                key=key,
                fields=fields,
                at=at,
            )
        except DomainError as refusal:
            outcomes[index] = refusal
            continue
        plan = _Planned(index=index, entry=entry, caller_org=caller_org, key=key, call=call)
        planned.append(plan)
        made[(caller_org.pk, key)] = plan
    if planned:
        try:
            _insert_many(actor=actor, planned=planned, at=at)
        except IntegrityError:
            _create_one_by_one(actor=actor, planned=planned, at=at, outcomes=outcomes)
            planned = []
    for plan in planned:
        outcomes[plan.index] = (plan.call, True)
    for index, first in repeats:
        first_outcome = outcomes[first.index]
        if isinstance(first_outcome, DomainError) or first_outcome is None:
            outcomes[index] = first_outcome
            continue
        try:
            outcomes[index] = (_same_or_conflict(first_outcome[0], entries[index].draft), False)
        except DomainError as refusal:
            outcomes[index] = refusal
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


def _calls_with_keys(
    entries: Sequence[BatchEntry], governments: Mapping[int | None, Organisation]
) -> dict[tuple[int, str], Call]:
    """The calls already made with the entries' keys, by (calling organisation, key)."""
    keys = {clean_text(e.idempotency_key)[:64] for e in entries} - {""}
    if not keys:
        return {}
    callers = set()
    for entry in entries:
        with suppress(DomainError):
            callers.add(_calling_organisation(entry.caller, governments).pk)
    found = Call.objects.filter(caller_id__in=callers, idempotency_key__in=keys).order_by()
    return {(c.caller_id, str(c.idempotency_key)): c for c in found}


def _insert_many(*, actor: Actor, planned: Sequence[_Planned], at: datetime) -> None:
    """The planned calls, their numbers, their `create` events and outbox rows, in one
    transaction; the receivers of `event_appended` see each event as `_append` sends it
    (and may remember their look-ups and hold their rows for the batch: `core.memo`, whose
    scope ends, and inserts what was held, inside the transaction)."""
    with transaction.atomic(), memo_scope():
        calls = _numbered_insert([plan.call for plan in planned])
        events = CallEvent.objects.bulk_create(
            [
                _new_event(
                    call=plan.call,
                    seq=1,
                    action=CREATE,
                    from_state="",
                    actor=actor,
                    party=Party.CALLER,
                    at=at,
                    data=_create_data(plan.entry.draft),
                )
                for plan in planned
            ]
        )
        for event, call in zip(events, calls, strict=True):
            signals.event_appended.send(sender=CallEvent, event=event, call=call)
        outbox.outbox_add_many(events=events, effects=list(AFTER_COMMIT))


def _create_one_by_one(
    *,
    actor: Actor,
    planned: Sequence[_Planned],
    at: datetime,
    outcomes: list[BatchOutcome | None],
) -> None:
    for plan in planned:
        try:
            outcomes[plan.index] = call_create(
                actor=actor,
                caller=plan.entry.caller,
                draft=plan.entry.draft,
                idempotency_key=plan.key,
                at=at,
            )
        except DomainError as refusal:
            outcomes[plan.index] = refusal


CALLER_KINDS = frozenset(
    {OrgKind.TOWNSHIP, OrgKind.VILLAGE, OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY}
)


def calls_caller_check(*, actor: Actor) -> None:
    """Refuse an actor who can make no call at all (no grant in a township, a village, a
    county department or a stationed agency): 403 `call.not_a_caller`."""
    if not any(grant.organisation_kind in CALLER_KINDS for grant in actor.grants):
        raise PermissionDenied(
            _("Only townships and county departments can make calls."), code="call.not_a_caller"
        )


def _check_caller(actor: Actor, caller: Organisation) -> None:
    if not any(g.organisation_id == caller.pk for g in actor.grants):
        raise PermissionDenied(
            _("You can only call on behalf of your own organisation."), code="call.not_a_caller"
        )


def _calling_organisation(
    caller: Organisation, governments: Mapping[int | None, Organisation]
) -> Organisation:
    if caller.kind != OrgKind.VILLAGE:
        return caller
    government = governments.get(caller.township_id)
    if government is None:
        raise InvalidInput(
            _("The village's township has no government on the platform."), code="call.invalid"
        )
    return government


def _township_governments(villages: Sequence[Organisation]) -> dict[int | None, Organisation]:
    """Village staff call on behalf of their township: the call (and its key) is the
    township government's. By township region id, in one query."""
    townships = {v.township_id for v in villages}
    found = Organisation.objects.select_related("county", "township").filter(
        kind=OrgKind.TOWNSHIP, township_id__in=townships
    )
    return {org.township_id: org for org in found.order_by()}


def _new_call(
    *,
    actor: Actor,
    caller_org: Organisation,
    draft: CallDraft,
    direction: str,
    key: str | None,
    fields: Mapping[str, Any],
    at: datetime,
) -> Call:
    """The unsaved call of a draft (its number is set once its id is known: `_number`)."""
    return Call(
        number=f"~{uuid.uuid4().hex[:30]}",
        county=caller_org.county,
        direction=direction,
        caller=caller_org,
        callee=draft.callee if direction == Direction.DOWN else None,
        location=draft.location,
        address=clean_text(draft.address)[:200],
        latitude=draft.latitude,
        longitude=draft.longitude,
        item=draft.item,
        out_of_list=draft.item is None,
        assist_only=bool(draft.item and draft.item.primary_level == "township"),
        urgency=draft.urgency,
        state=State.DRAFT,
        state_changed_at=at,
        created_by_id=actor.user_id,
        created_at=at,
        idempotency_key=key,
        **fields,
    )


def _number(call: Call) -> str:
    return f"{call.county.code}{timezone.localtime(call.created_at):%y%m%d}{call.pk:06d}"


def _numbered_insert(calls: list[Call]) -> list[Call]:
    """INSERT the new `calls` with their numbers, which are made from their ids.

    On PostgreSQL the ids are drawn from the table's sequence first, so each row goes in
    once, numbered (an UPDATE of the number would write a second version of the row and
    of its every index entry). SQLite has no sequence to draw from: an UPDATE after the
    INSERT writes the numbers there."""
    db = router.db_for_write(Call)
    ids = _reserved_ids(db, len(calls))
    if ids is not None:
        for call, pk in zip(calls, ids, strict=True):
            call.pk = pk
            call.number = _number(call)
        return Call.objects.using(db).bulk_create(calls)
    made = Call.objects.using(db).bulk_create(calls)
    for call in made:
        call.number = _number(call)
    Call.objects.using(db).bulk_update(made, ["number"])
    return made


def _reserved_ids(db: str, count: int) -> list[int] | None:
    """`count` new ids from the calls table's sequence, in order; None where the database
    has none to draw from."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Call._meta.db_table, count],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def _create_data(draft: CallDraft) -> dict[str, Any]:
    return {"item": draft.item.code if draft.item else None, "urgency": draft.urgency}


def _same_or_conflict(existing: Call, draft: CallDraft) -> Call:
    if existing.title != clean_text(draft.title) or existing.description != clean_text(
        draft.description
    ):
        raise Conflict(
            _("This idempotency key was already used for a different call."),
            code="call.idempotency_conflict",
        )
    return existing


# ---- the transition service ----------------------------------------------------------------

Effect = Callable[[Call, Mapping[str, Any], datetime, Actor | None], dict[str, Any]]
_EFFECTS: dict[str, Effect] = {}


def effect(action: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        _EFFECTS[action] = fn
        return fn

    return register


def _check_data(
    transition: Transition, data: Mapping[str, Any], *, system: bool = False
) -> dict[str, Any]:
    """The action's data, cleaned: only the fields the table lists for it (anything else
    a client sends is dropped, so nobody can plant `default_evaluation`, `item_changed` and
    the like into an event; the system's own data is built by code and kept), text
    without control characters and at most `TEXT_MAX` characters."""
    problems: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    allowed_fields = transition.fields
    for key, value in data.items():
        if not system and key not in allowed_fields:
            continue
        clean[key] = clean_text(value) if isinstance(value, str) else value
    for key in TEXT_FIELDS:
        value = clean.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append({"field": key, "message": _("Give text.")})
        elif len(value) > TEXT_MAX:
            problems.append(
                {
                    "field": key,
                    "code": "call.text_too_long",
                    "message": _("At most %(max)s characters (this text has %(n)s).")
                    % {"max": TEXT_MAX, "n": len(value)},
                }
            )
    assisting = clean.get("assisting")
    if assisting is not None and (
        not isinstance(assisting, list | tuple) or len(assisting) > ASSISTING_MAX
    ):
        problems.append(
            {
                "field": "assisting",
                "message": _("Give a list of at most %(max)s organisations.")
                % {"max": ASSISTING_MAX},
            }
        )
    if "as_assistance" in clean:
        flag = _flag(clean["as_assistance"])
        if flag is None:
            problems.append({"field": "as_assistance", "message": _("Give true or false.")})
        clean["as_assistance"] = flag
    for key in transition.requires:
        value = clean.get(key)
        if value is None or value == "":
            problems.append({"field": key, "message": _("This field is required.")})
    for key, allowed in transition.choices.items():
        if key in clean and clean[key] not in allowed:
            problems.append(
                {
                    "field": key,
                    "message": _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)},
                }
            )
    if problems:
        raise _invalid(_("Some information is missing or wrong."), problems)
    return clean


def _flag(value: Any) -> bool | None:
    """A yes/no value from client data (None: not one)."""
    if value in (True, "true", "1", 1, "yes"):
        return True
    if value in (False, "false", "0", 0, "no"):
        return False
    return None


# The steps that need a photo unless `XH_EVIDENCE_REQUIRED` says otherwise.
DEFAULT_EVIDENCE_REQUIRED = ("respond:on_site", "complete")


def evidence_required(action: str, data: Mapping[str, Any]) -> bool:
    """Whether the action, with this data, needs at least one photo with it.

    `XH_EVIDENCE_REQUIRED` lists the actions that do: `"complete"`, or `"respond:on_site"`
    for a response of one mode only (default: both of these). Only actions whose forms
    take photos (`attachments.PHOTO_ACTIONS`) may be listed."""
    for entry in getattr(settings, "XH_EVIDENCE_REQUIRED", DEFAULT_EVIDENCE_REQUIRED):
        name, _sep, mode = str(entry).strip().partition(":")
        if not name:
            continue
        if name not in PHOTO_ACTIONS:
            raise ImproperlyConfigured(
                f"XH_EVIDENCE_REQUIRED: {entry!r} is not an action that takes photos "
                f"({', '.join(PHOTO_ACTIONS)})"
            )
        if name == action and (not mode or data.get("mode") == mode):
            return True
    return False


def _check_evidence(
    call: Call, action: str, data: Mapping[str, Any], photos: Sequence[Any]
) -> None:
    """Refuse photos on an action that takes none, and an action that needs evidence
    (`evidence_required`) without a photo; nothing is written either way."""
    if photos and action not in PHOTO_ACTIONS:
        raise InvalidInput(
            _("This action does not take photos."),
            code="call.attachment_not_allowed",
            detail={"actions": list(PHOTO_ACTIONS)},
        )
    if photos or not evidence_required(action, data):
        return
    # A submission may rest on the photos the call was created with.
    if action == "submit" and call.attachments.exists():
        return
    message = (
        _("Attach at least one photo of the result as evidence.")
        if action == "complete"
        else _("Attach at least one photo as evidence of this step.")
    )
    raise InvalidInput(
        message, code="call.evidence_required", detail=[{"field": "photos", "message": message}]
    )


def _not_allowed(call: Call, action: str) -> Conflict:
    labels = [str(BY_ACTION[a].label) for a in allowed_actions(call.state)]
    return Conflict(
        _("“%(action)s” is not possible while the call is “%(state)s”. Possible now: %(allowed)s.")
        % {
            "action": BY_ACTION[action].label if action in BY_ACTION else action,
            "state": State(call.state).label,
            "allowed": "、".join(labels) or "—",
        },
        code="call.action_not_allowed",
        detail={"state": call.state, "allowed": allowed_actions(call.state)},
    )


@transaction.atomic
def call_transition(
    *,
    actor: Actor | None,
    call: Call,
    action: str,
    data: Mapping[str, Any] | None = None,
    expected_state: str | None = None,
    at: datetime | None = None,
    photos: Sequence[UploadedFile] = (),
    idempotency_key: str | None = None,
) -> CallEvent:
    """Take `action` on `call` as `actor` (None: the system), with `photos` as the
    event's evidence (checked before anything is written, saved with the event).

    With an `idempotency_key`, a step already taken on this call under that key is not
    taken again: its event is returned (a retry after a lost answer, for steps that do
    not change the state too, such as `note`); the key used for another action is 409
    `call.idempotency_conflict`."""
    transition = BY_ACTION.get(action)
    if transition is None:
        raise InvalidInput(_("Unknown action."), code="call.unknown_action")
    locked = Call.objects.select_for_update().select_related("caller", "county").get(pk=call.pk)
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise InvalidInput(_("An idempotency key has at most 64 characters."), code="call.invalid")
    if key:
        earlier = locked.events.filter(idempotency_key=key).first()
        if earlier is not None:
            if earlier.action != action or (
                actor is not None and earlier.actor_id not in (None, actor.user_id)
            ):
                raise Conflict(
                    _("This idempotency key was already used for another step of the call."),
                    code="call.idempotency_conflict",
                    detail={"action": earlier.action, "seq": earlier.seq},
                )
            call.refresh_from_db()
            return earlier
    if expected_state is not None and locked.state != expected_state:
        raise Conflict(
            _("The call has changed meanwhile (it is now “%(state)s”); reload and try again.")
            % {"state": State(locked.state).label},
            code="call.state_changed",
            detail={"state": locked.state, "allowed": allowed_actions(locked.state)},
        )
    if locked.state not in transition.sources:
        raise _not_allowed(locked, action)
    parties = parties_of(actor=actor, call=locked) & transition.parties
    if not parties:
        raise PermissionDenied(
            _("You are not the party of this call who can do this."), code="call.not_a_party"
        )
    clean = _check_data(transition, data or {}, system=actor is None)
    _check_evidence(locked, action, clean, photos)
    attachments_check(photos)
    at = at or timezone.now()
    from_state = locked.state
    extra = _EFFECTS[action](locked, clean, at, actor) if action in _EFFECTS else {}
    locked.state = transition.next_state(from_state, clean)
    if locked.state != from_state:
        locked.state_changed_at = at
    if locked.state in OPEN or from_state in OPEN:  # accept_due, next_deadline, remind_at
        deadlines.refresh_call_clocks(locked, from_state=from_state, at=at)
    locked.save()
    event = _append(
        call=locked,
        action=action,
        from_state=from_state,
        actor=actor,
        party=sorted(parties)[0],
        at=at,
        data={**clean, **extra},
        idempotency_key=key,
    )
    if actor is not None:
        for photo in photos:
            attachment_save(actor=actor, call=locked, upload=photo, event=event)
    outbox.outbox_add(event=event, effects=list(AFTER_COMMIT))
    call.refresh_from_db()
    return event


# ---- effects of the actions ------------------------------------------------------------------


def _id(value: Any) -> int:
    """An id from client data; malformed ones match nothing instead of crashing."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _org(pk: Any, call: Call) -> Organisation:
    org = Organisation.objects.filter(pk=_id(pk), county=call.county, is_active=True).first()
    if org is None:
        raise InvalidInput(
            _("Unknown organisation."),
            code="call.invalid",
            detail=[{"field": "lead", "message": _("Unknown organisation.")}],
        )
    return org


@effect("accept")
def _accept(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    # The platform confirms the list item the caller chose, or corrects it (routing
    # suggests one): "item" is an item id, or empty for "outside the list"; absent, the
    # caller's choice stands.
    extra: dict[str, Any] = {}
    if "item" in data:
        item = _accepted_item(call, data.get("item"))
        if item != call.item:
            if call.direction != Direction.UP:
                raise InvalidInput(
                    _("The item of a department's call is the department's to choose."),
                    code="call.invalid",
                    detail=[{"field": "item", "message": _("The item cannot be changed here.")}],
                )
            before = call.item.code if call.item else None
            call.item = item
            call.out_of_list = item is None
            call.assist_only = bool(item and item.primary_level == "township")
            extra = {"item": item.code if item else None, "item_from": before, "item_changed": True}
    # A call on a township-primary item is accepted only as a request for assistance:
    # the event says so, and a client that says otherwise is refused.
    wanted = data.get("as_assistance")
    if call.assist_only and wanted is False:
        raise InvalidInput(
            _(
                "The item is the township's own duty: the call can only be accepted as a "
                "request for assistance."
            ),
            code="call.assistance_only",
            detail=[
                {
                    "field": "as_assistance",
                    "message": _("Only as a request for assistance."),
                }
            ],
        )
    if not call.assist_only and wanted is True:
        raise InvalidInput(
            _("Only calls on the township's own items are accepted as requests for assistance."),
            code="call.invalid",
            detail=[
                {
                    "field": "as_assistance",
                    "message": _("The item is not the township's own duty."),
                }
            ],
        )
    if call.assist_only or "as_assistance" in data:
        extra["as_assistance"] = call.assist_only
    return extra


def _accepted_item(call: Call, value: Any) -> Item | None:
    if value in (None, "", 0, "0"):
        return None
    version = catalog_selectors.county_version_in_force(county=call.county)
    item = (
        version.items.filter(pk=_id(value)).first() if version is not None and _id(value) else None
    )
    if item is None or not item.callable:
        raise InvalidInput(
            _("Choose a callable item of the list in force."),
            code="call.invalid",
            detail=[
                {"field": "item", "message": _("Choose a callable item of the list in force.")}
            ],
        )
    return item


@effect("dispatch")
def _dispatch(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    return _send(call, data, at)


@effect("rule")
def _rule(call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None) -> dict[str, Any]:
    # The ruling names who must handle the call: the same lead or another one.
    if not data.get("lead"):
        lead = lead_dispatch(call)
        data = {**data, "lead": lead.organisation_id if lead else None}
    return _send(call, data, at)


def _send(call: Call, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    lead = _org(data.get("lead"), call)
    assisting = [_org(pk, call) for pk in (data.get("assisting") or []) if pk != lead.pk]
    platform = Organisation.objects.filter(county=call.county, kind=OrgKind.PLATFORM_CENTRE).first()
    refusals = []
    if call.direction == Direction.UP:
        for org in [lead, *assisting]:
            decision = (
                guard.handoff_check(giver=platform, receiver=org, item=call.item)
                if platform is not None
                else None
            )
            if decision is not None and not decision.allowed:
                refusals.append(
                    {
                        "field": "lead" if org == lead else "assisting",
                        "message": decision.message,
                        "code": decision.code,
                    }
                )
    elif lead.pk != (call.callee_id or 0):
        refusals.append(
            {"field": "lead", "message": _("A department's call goes to the township it names.")}
        )
    if refusals:
        raise PermissionDenied(
            _("The list does not allow this dispatch."),
            code="guard.dispatch_refused",
            detail=refusals,
        )
    call.dispatches.filter(active=True).update(active=False)
    created = [
        Dispatch(call=call, organisation=org, role=role, dispatched_at=at)
        for org, role in [(lead, DispatchRole.LEAD)]
        + [(o, DispatchRole.ASSISTING) for o in assisting]
    ]
    for dispatch in created:
        deadlines.set_dispatch_clocks(dispatch=dispatch, call=call, at=at)
    Dispatch.objects.bulk_create(created)
    suggested = _suggested(call)
    lead_dispatch_ = created[0]
    return {
        **_clocks(lead_dispatch_, "sign_due", "respond_due", "complete_due"),
        "lead": lead.pk,
        "assisting": [o.pk for o in assisting],
        "lead_name": lead.name,
        "assisting_names": [o.name for o in assisting],
        "changed_from_suggestion": suggested is not None
        and (suggested[0] != lead.pk or set(suggested[1]) != {o.pk for o in assisting}),
    }


def _clocks(dispatch: Dispatch, *fields: str) -> dict[str, str | None]:
    """Deadlines as ISO 8601 for the event data: the log alone must tell the clocks."""
    values = {name: getattr(dispatch, name) for name in fields}
    return {name: value.isoformat() if value else None for name, value in values.items()}


def _suggested(call: Call) -> tuple[int | None, list[int]] | None:
    if call.item is None:
        return None
    primary = sorted(catalog_selectors.primary_organisation_ids(call.item))
    assisting = sorted(catalog_selectors.assisting_organisation_ids(call.item))
    return (primary[0] if primary else None, assisting)


def suggested_dispatch(*, call: Call) -> dict[str, Any]:
    """The lead and assisting departments the list in force suggests for the call."""
    suggestion = _suggested(call)
    if suggestion is None:
        return {"lead": None, "assisting": []}
    return {"lead": suggestion[0], "assisting": suggestion[1]}


def _stamp(field: str) -> Effect:
    def stamp(
        call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
    ) -> dict[str, Any]:
        lead = lead_dispatch(call)
        if lead is not None and getattr(lead, field) is None:
            setattr(lead, field, at)
            lead.save(update_fields=[field])
        return {}

    return stamp


effect("sign")(_stamp("signed_at"))
effect("respond")(_stamp("responded_at"))


@effect("assist_sign")
def _assist_sign(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    # An assisting organisation signs for its own dispatch record (its sign clock).
    mine = assisting_dispatches(actor=actor, call=call) if actor is not None else []
    unsigned = [d for d in mine if d.signed_at is None]
    if not unsigned:
        raise Conflict(
            _("Your organisation has already signed for its assisting task."),
            code="call.already_signed",
        )
    for dispatch in unsigned:
        dispatch.signed_at = at
        dispatch.save(update_fields=["signed_at"])
    return {"organisations": [d.organisation_id for d in unsigned]}


@effect("note")
def _note(call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None) -> dict[str, Any]:
    # An assisting organisation's first note after signing is its response (its respond
    # clock); before signing, it signs first. Other parties' notes change no clock.
    mine = assisting_dispatches(actor=actor, call=call) if actor is not None else []
    if not mine or Party.LEAD in parties_of(actor=actor, call=call):
        return {}
    if all(d.signed_at is None for d in mine):
        raise Conflict(
            _("Sign for your assisting task first."),
            code="call.sign_first",
        )
    for dispatch in mine:
        if dispatch.signed_at is not None and dispatch.responded_at is None:
            dispatch.responded_at = at
            dispatch.save(update_fields=["responded_at"])
    return {}


@effect("complete")
def _complete(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    lead = lead_dispatch(call)
    if lead is not None:
        lead.completed_at = at
        lead.save(update_fields=["completed_at"])
    # The call completes when the lead completes: the assisting clocks close with it.
    call.dispatches.filter(
        role=DispatchRole.ASSISTING, active=True, completed_at__isnull=True
    ).update(completed_at=at)
    return {}


@effect("evaluate")
def _evaluate(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    if data.get("evaluation") == "unsatisfied":
        call.reopen_count += 1
        # Re-handling (重办) restarts the assisting organisations' clocks as well.
        for assisting in call.dispatches.filter(role=DispatchRole.ASSISTING, active=True):
            deadlines.restart_for_redo(dispatch=assisting, call=call, at=at)
            assisting.save(
                update_fields=["responded_at", "completed_at", "respond_due", "complete_due"]
            )
        lead = lead_dispatch(call)
        if lead is not None:
            deadlines.restart_for_redo(dispatch=lead, call=call, at=at)
            lead.save(update_fields=["responded_at", "completed_at", "respond_due", "complete_due"])
            return {
                "reopen_count": call.reopen_count,
                **_clocks(lead, "respond_due", "complete_due"),
            }
    return {"reopen_count": call.reopen_count}


@effect("auto_close")
def _auto_close(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    return {"evaluation": "satisfied", "default_evaluation": True}


@effect("request_return")
def _request_return(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    lead = lead_dispatch(call)
    if lead is not None:
        ends = deadlines.return_window_ends(dispatch=lead, call=call)
        if at > ends:
            raise InvalidInput(
                _("The time to ask for a return ended at %(end)s.")
                % {"end": timezone.localtime(ends).strftime("%Y-%m-%d %H:%M")},
                code="call.return_window_passed",
            )
    return {}


@effect("request_extension")
def _request_extension(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    lead = lead_dispatch(call)
    days = _int(data.get("days"))
    if lead is None:
        raise InvalidInput(_("The call has no lead department."), code="call.invalid")
    if _pending_extension(call) is not None:
        raise Conflict(
            _("An extension request is already waiting for a decision."),
            code="call.extension_pending",
        )
    deadlines.check_extension(dispatch=lead, call=call, days=days)
    return {"days": days}


@effect("decide_extension")
def _decide_extension(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    request = _pending_extension(call)
    if request is None:
        raise Conflict(
            _("There is no extension request to decide."), code="call.no_extension_request"
        )
    approve = data.get("approve") in (True, "true", "1", 1, "yes")
    if not approve:
        return {"approve": False, "request": request.seq}
    lead = lead_dispatch(call)
    assert lead is not None
    days = _int(request.data.get("days"))
    deadlines.check_extension(dispatch=lead, call=call, days=days)
    new_due = deadlines.extend(dispatch=lead, call=call, days=days)
    lead.save(update_fields=["complete_due", "extension_count", "extension_days"])
    return {
        "approve": True,
        "request": request.seq,
        "days": days,
        "complete_due": new_due.isoformat(),
    }


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("Give a whole number of working days."),
            code="call.invalid",
            detail=[{"field": "days", "message": _("Give a whole number of working days.")}],
        ) from None


def _pending_extension(call: Call) -> CallEvent | None:
    """The last extension request, if no decision followed it."""
    last = (
        call.events.filter(action__in=["request_extension", "decide_extension"])
        .order_by("-seq")
        .first()
    )
    return last if last is not None and last.action == "request_extension" else None


@effect("agree_return")
def _agree_return(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    # The department is released; the platform dispatches the call again.
    released = list(call.dispatches.filter(active=True).values_list("organisation_id", flat=True))
    call.dispatches.filter(active=True).update(active=False)
    return {"released": released}


@effect("merge")
def _merge(
    call: Call, data: Mapping[str, Any], at: datetime, actor: Actor | None
) -> dict[str, Any]:
    target = Call.objects.filter(pk=_id(data.get("into")), county=call.county).first()
    if target is None or target.pk == call.pk or target.state not in MERGE_TARGET_STATES:
        raise InvalidInput(
            _("A call can only be merged into another open call of the county."),
            code="call.bad_merge",
        )
    call.merged_into = target
    call.dispatches.filter(active=True).update(active=False)
    return {"into_number": target.number}


def calls_for_replay(*, call: Call) -> Sequence[tuple[str, dict[str, Any]]]:
    return [(e.action, e.data) for e in call.events.order_by("seq")]
