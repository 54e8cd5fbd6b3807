"""Request and response schemas of the calls API (/api/v1/calls/).

Output schemas read model instances directly (`resolve_*` for related values), so that
the paginated list hands ninja a queryset and only the requested page is loaded; the
related rows come from the selectors' joins and prefetches, never one query per row.
Personal data: people are shown by name, never with a phone number.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import field_validator

from xianghu.core.api import ErrorOut
from xianghu.core.masking import mask_phone

from .models import Attachment, Call, CallEvent, Direction, Dispatch, DispatchRole, Urgency
from .services import BATCH_MAX
from .workflow import BY_ACTION, CREATE, Party, State, Transition

# ---- requests ---------------------------------------------------------------------------


class CallIn(Schema):
    caller_id: int = Field(
        description=(
            "The calling organisation: the caller's own township (village staff: their "
            "village, the call is the township's) or, for a two-way call, its department."
        )
    )
    title: str = Field(description="At most 120 characters.")
    description: str = Field(description="At most 4000 characters.")
    location_code: str = Field(
        description="Region code of the township or village where the problem is."
    )
    urgency: Urgency = Urgency.NORMAL
    item_id: int | None = Field(
        None, description="The item of the county's list in force; omitted: outside the list."
    )
    address: str = Field(
        "",
        description=(
            "At most 200 characters; a longer address is refused (400 `call.invalid`, "
            "field `address`), never cut."
        ),
    )
    latitude: Decimal | None = Field(None, description="WGS-84; give both coordinates or none.")
    longitude: Decimal | None = None
    callee_id: int | None = Field(
        None, description="For a county department's call (two-way calling): the township."
    )
    idempotency_key: str | None = Field(
        None,
        max_length=64,
        description="As the `Idempotency-Key` header (either may be used; both must agree).",
    )


class CallFilterIn(Schema):
    state: list[State] = Field(
        default_factory=list,
        description="Repeat the parameter or give a comma-separated list (`state=a,b`).",
    )
    urgency: Urgency | None = None
    caller: int | None = Field(None, description="The calling organisation's id.")
    item: str | None = Field(None, description="A list item's code, such as D1-01.")
    overdue: bool | None = Field(
        None, description="true: a deadline has passed (`next_deadline` < now); false: none."
    )
    q: str | None = Field(None, description="Search in the title, or a (part of a) call number.")
    mine: bool = Field(
        False,
        description=("Only calls the caller's organisations made or are (actively) dispatched to."),
    )

    @field_validator("state", mode="before")
    @classmethod
    def _split_states(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        out: list[str] = []
        for v in values:
            out.extend(p.strip() for p in str(v).split(",") if p.strip())
        unknown = [v for v in out if v not in State.values]
        if unknown:
            raise ValueError(_("Unknown state.") + " " + ", ".join(unknown))
        return out


class ActionIn(Schema):
    data: dict[str, Any] = Field(
        default_factory=dict, description="The action's fields (see the table above)."
    )
    expected_state: State | None = Field(
        None,
        description=(
            "The state the client saw; if the call has changed meanwhile the action is "
            "refused with 409 `call.state_changed`."
        ),
    )
    idempotency_key: str | None = Field(
        None,
        max_length=64,
        description=(
            "The same as the `Idempotency-Key` header: a retry of this step with the same "
            "key returns the event the first attempt made instead of taking it again."
        ),
    )


# ---- small pieces -----------------------------------------------------------------------


class OrganisationRef(Schema):
    id: int
    name: str


class ActionOut(Schema):
    action: str
    label: str
    requires: list[str] = Field(description="Fields `data` must carry.")
    choices: dict[str, list[str]] = Field(description="Allowed values of some fields.")

    @staticmethod
    def of(transition: Transition) -> "ActionOut":
        return ActionOut(
            action=transition.action,
            label=str(transition.label),
            requires=list(transition.requires),
            choices={k: list(v) for k, v in transition.choices.items()},
        )


class SuggestionOut(Schema):
    lead: OrganisationRef | None = Field(description="The item's primary department.")
    assisting: list[OrganisationRef] = Field(description="The item's assisting departments.")


def _ref(org: Any) -> OrganisationRef | None:
    return OrganisationRef(id=org.pk, name=org.name) if org is not None else None


def person_name(user: Any) -> str | None:
    """A person as the timeline shows them: the name, never a phone number (a username
    made of digits is masked like one)."""
    if user is None:
        return None
    if user.name:
        return str(user.name)
    username = str(user.username)
    return mask_phone(username) if username.isdigit() else username


# ---- calls ------------------------------------------------------------------------------


def _lead(obj: Call) -> Dispatch | None:
    leads = getattr(obj, "active_leads", None)
    if leads is None:  # the detail prefetches every dispatch instead
        leads = [d for d in obj.dispatches.all() if d.active and d.role == DispatchRole.LEAD]
    return leads[0] if leads else None


class CallOut(Schema):
    id: int
    number: str
    title: str
    state: State
    state_label: str
    urgency: Urgency
    urgency_label: str
    direction: Direction
    caller: OrganisationRef
    callee: OrganisationRef | None = Field(description="The township a department calls.")
    location_code: str
    location_name: str
    item_id: int | None
    item_code: str | None
    item_name: str | None
    out_of_list: bool
    assist_only: bool = Field(description="A township-primary item: the county only assists.")
    lead: OrganisationRef | None = Field(description="The active lead handling organisation.")
    created_at: datetime
    state_changed_at: datetime
    next_deadline: datetime | None = Field(description="The earliest open deadline.")
    overdue: bool = Field(description="`next_deadline` has passed.")
    reopen_count: int
    merged_into_id: int | None

    @staticmethod
    def resolve_state_label(obj: Call) -> str:
        return str(State(obj.state).label)

    @staticmethod
    def resolve_urgency_label(obj: Call) -> str:
        return str(Urgency(obj.urgency).label)

    @staticmethod
    def resolve_caller(obj: Call) -> OrganisationRef | None:
        return _ref(obj.caller)

    @staticmethod
    def resolve_callee(obj: Call) -> OrganisationRef | None:
        return _ref(obj.callee) if obj.callee_id else None

    @staticmethod
    def resolve_location_code(obj: Call) -> str:
        return obj.location.code

    @staticmethod
    def resolve_location_name(obj: Call) -> str:
        return obj.location.name

    @staticmethod
    def resolve_item_code(obj: Call) -> str | None:
        return obj.item.code if obj.item_id and obj.item else None

    @staticmethod
    def resolve_item_name(obj: Call) -> str | None:
        return obj.item.name if obj.item_id and obj.item else None

    @staticmethod
    def resolve_lead(obj: Call) -> OrganisationRef | None:
        lead = _lead(obj)
        return _ref(lead.organisation) if lead else None

    @staticmethod
    def resolve_overdue(obj: Call) -> bool:
        return obj.next_deadline is not None and obj.next_deadline < timezone.now()


class CallBatchIn(Schema):
    calls: list[CallIn] = Field(
        min_length=1,
        max_length=BATCH_MAX,
        description="1 to 100 calls, each as `POST /calls/` takes it, with its `idempotency_key`.",
    )


class CallBatchResultOut(Schema):
    index: int = Field(description="The entry's place in `calls`, from 0.")
    status: int = Field(
        description="201 made now; 200 made before with the same key; else the refusal's status."
    )
    call: CallOut | None = None
    error: ErrorOut | None = Field(default=None, description="Why the entry was refused.")


class CallBatchOut(Schema):
    created: int
    existing: int = Field(description="Entries answered with a call made before (status 200).")
    refused: int
    results: list[CallBatchResultOut]


class DispatchOut(Schema):
    id: int
    organisation: OrganisationRef
    role: DispatchRole
    role_label: str
    active: bool
    dispatched_at: datetime
    sign_due: datetime | None
    respond_due: datetime | None
    complete_due: datetime | None
    signed_at: datetime | None
    responded_at: datetime | None
    completed_at: datetime | None
    extension_count: int
    extension_days: int = Field(description="Working days of extension granted.")

    @staticmethod
    def resolve_organisation(obj: Dispatch) -> OrganisationRef | None:
        return _ref(obj.organisation)

    @staticmethod
    def resolve_role_label(obj: Dispatch) -> str:
        return str(DispatchRole(obj.role).label)


class CallDetailOut(CallOut):
    description: str
    address: str
    latitude: float | None
    longitude: float | None
    dispatches: list[DispatchOut] = Field(description="Active first, the lead first.")
    actions: list[ActionOut] = Field(
        default_factory=list, description="What the caller may do now."
    )
    suggested_dispatch: SuggestionOut | None = Field(
        None, description="The list's suggestion, for the county's platform operators only."
    )

    @staticmethod
    def resolve_dispatches(obj: Call) -> list[Any]:
        return list(obj.dispatches.all())


# ---- the timeline -----------------------------------------------------------------------


class AttachmentOut(Schema):
    """An evidence photo, as the timeline lists it (the file itself: `url`)."""

    id: int
    name: str = Field(description="The file name the uploader gave (only shown, never stored).")
    content_type: str = Field(
        description="Sniffed from the bytes: image/jpeg, image/png, image/webp or image/gif."
    )
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the file, hex.")
    created_at: datetime
    url: str = Field(description="`GET` it to download the photo (same access as the call).")

    @staticmethod
    def resolve_name(obj: Attachment) -> str:
        return obj.original_name

    @staticmethod
    def resolve_url(obj: Attachment) -> str:
        return reverse(
            "api:calls_attachment", kwargs={"call_id": obj.call_id, "attachment_id": obj.pk}
        )


def _state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else ""


class EventOut(Schema):
    seq: int
    action: str
    label: str
    from_state: str = Field(description="Empty for the creation.")
    from_state_label: str
    to_state: State
    to_state_label: str
    actor_name: str | None = Field(description="The person (null: an API key or the system).")
    actor_organisation: OrganisationRef | None
    party: Party
    party_label: str
    at: datetime
    data: dict[str, Any]
    photos: list[AttachmentOut] = Field(
        default_factory=list, description="Evidence photos attached with this event."
    )

    @staticmethod
    def resolve_label(obj: CallEvent) -> str:
        if obj.action == CREATE:
            return _("Call created")
        transition = BY_ACTION.get(obj.action)
        return str(transition.label) if transition else obj.action

    @staticmethod
    def resolve_from_state_label(obj: CallEvent) -> str:
        return _state_label(obj.from_state)

    @staticmethod
    def resolve_to_state_label(obj: CallEvent) -> str:
        return _state_label(obj.to_state)

    @staticmethod
    def resolve_actor_name(obj: CallEvent) -> str | None:
        return person_name(obj.actor) if obj.actor_id else None

    @staticmethod
    def resolve_actor_organisation(obj: CallEvent) -> OrganisationRef | None:
        return _ref(obj.actor_org) if obj.actor_org_id else None

    @staticmethod
    def resolve_party_label(obj: CallEvent) -> str:
        return str(Party(obj.party).label) if obj.party in Party.values else obj.party

    @staticmethod
    def resolve_photos(obj: CallEvent) -> list[Any]:
        # Prefetched by the endpoints (`api._with_photos`): no query per event.
        return list(obj.attachments.all())


class TransitionOut(Schema):
    event: EventOut
    call: CallOut = Field(description="The call in its new state.")
