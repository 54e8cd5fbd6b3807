"""Pages of the call loop (乡呼县应), mounted at /calls/.

The call list with role-aware tabs, a new call (a township's call up, or a department's
two-way call down), the call page with its dispatches, clocks, timeline and one form per
action the user may take now, and the overdue board of the platform and department
leaders.

Views are thin: they read through `selectors` (and `xianghu.core.access` for the two
reads the selectors lack: the organisations a dispatch may name, the supervision events
of the overdue board), write through `services`, and put a service's `DomainError` back
on the form.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xianghu.catalog import selectors as catalog_selectors
from xianghu.catalog.models import Item
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import DomainError, NotFound, PermissionDenied
from xianghu.core.http import XhRequest
from xianghu.core.masking import mask_phone
from xianghu.core.workdays import coverage_warnings
from xianghu.regions.current import current_membership
from xianghu.regions.models import Membership, Organisation, Region
from xianghu.regions.roles import GOVERNMENT_KINDS, OrgKind, Role
from xianghu.regions.selectors import townships_of_county

from . import selectors, services, supervision
from .access import may_see_overdue_board
from .attachments import PHOTO_ACTIONS, attachment_save, attachments_check
from .forms import CHOICE_LABELS, ActionForm, CallForm
from .models import Attachment, Call, CallEvent, Direction, Dispatch, DispatchRole, Urgency
from .panels import call_panels, form_panels
from .parties import acts_for
from .supervision import open_clock
from .workflow import BY_ACTION, CREATE, OPEN, Party, State

PAGE_SIZE = 20

# ---- who the user works as ---------------------------------------------------------------

TOWNSHIP_ROLES = {Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER}
DEPARTMENT_ROLES = {Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_LEADER}


def _membership(request: XhRequest) -> Membership | None:
    return current_membership(request)


def _side(membership: Membership | None) -> str:
    """Which tabs the list shows: township, platform, department, or all."""
    if membership is None:
        return "all"
    if membership.role in TOWNSHIP_ROLES:
        return "township"
    if membership.role == Role.PLATFORM_OPERATOR:
        return "platform"
    if membership.role in DEPARTMENT_ROLES:
        return "department"
    return "all"


# ---- the list --------------------------------------------------------------------------------

S = State
WORKING = (S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.REOPENED)
DONE = (S.CLOSED, S.MERGED, S.CANCELLED)


@dataclass(frozen=True)
class Tab:
    key: str
    label: Any
    filters: selectors.CallFilters


def _f(**kw: Any) -> selectors.CallFilters:
    return selectors.CallFilters(**kw)


TABS: dict[str, tuple[Tab, ...]] = {
    "township": (
        Tab("mine", gettext_lazy("Our calls"), _f(mine=True)),
        Tab(
            "drafts",
            gettext_lazy("Drafts and returned"),
            _f(mine=True, states=(S.DRAFT, S.RETURNED)),
        ),
        Tab("to_approve", gettext_lazy("Awaiting approval"), _f(mine=True, states=(S.SUBMITTED,))),
        Tab(
            "in_progress",
            gettext_lazy("With the county"),
            _f(
                mine=True,
                states=(
                    S.APPROVED,
                    S.ACCEPTED,
                    S.RETURN_REQUESTED,
                    S.DISPUTED,
                    *WORKING,
                ),
            ),
        ),
        Tab(
            "to_evaluate",
            gettext_lazy("Awaiting our evaluation"),
            _f(mine=True, states=(S.AWAITING_EVALUATION,)),
        ),
        Tab("done", gettext_lazy("Finished"), _f(mine=True, states=DONE)),
    ),
    "platform": (
        Tab("to_accept", gettext_lazy("Waiting for acceptance"), _f(states=(S.APPROVED,))),
        Tab("to_dispatch", gettext_lazy("To dispatch"), _f(states=(S.ACCEPTED,))),
        Tab(
            "disputes",
            gettext_lazy("Returns and disputes"),
            _f(states=(S.RETURN_REQUESTED, S.DISPUTED)),
        ),
        Tab("in_progress", gettext_lazy("In progress"), _f(states=WORKING)),
        Tab("overdue", gettext_lazy("Overdue"), _f(states=WORKING, overdue=True)),
        Tab("all", gettext_lazy("All calls"), _f()),
    ),
    "department": (
        Tab("mine", gettext_lazy("Dispatched to us"), _f(mine=True)),
        Tab("to_sign", gettext_lazy("To sign for"), _f(mine=True, states=(S.DISPATCHED,))),
        Tab(
            "in_progress",
            gettext_lazy("In progress"),
            _f(mine=True, states=(S.SIGNED, S.IN_PROGRESS, S.REOPENED)),
        ),
        Tab("overdue", gettext_lazy("Overdue"), _f(mine=True, states=WORKING, overdue=True)),
        Tab("all", gettext_lazy("All we can see"), _f()),
    ),
    "all": (Tab("all", gettext_lazy("All calls"), _f()),),
}


@dataclass
class CallRow:
    call: Call
    lead: str
    overdue: bool


def _rows(calls: list[Call], now: datetime) -> list[CallRow]:
    rows = []
    for call in calls:
        rows.append(
            CallRow(
                call=call,
                lead=getattr(call, "lead_name", ""),
                overdue=call.next_deadline is not None and call.next_deadline < now,
            )
        )
    return rows


@login_required
def call_list(request: XhRequest) -> HttpResponse:
    """The calls the user may see, in the tabs of their role, 20 a page."""
    membership = _membership(request)
    tabs = TABS[_side(membership)]
    tab = next((t for t in tabs if t.key == request.GET.get("tab")), tabs[0])
    q = (request.GET.get("q") or "").strip()[:50]
    filters = tab.filters
    if q:
        filters = replace(filters, search=q)
    choices = _list_choices(membership)
    township = next(
        (t for t in choices.townships if t.region.code == request.GET.get("township")), None
    )
    item = next((i for i in choices.items if i.code == request.GET.get("item")), None)
    if township is not None:
        filters = replace(filters, township_region_id=township.region_id)
    if item is not None:
        filters = replace(filters, item_id=item.pk)
    qs = selectors.call_list(actor=request.actor, filters=filters)
    page = selectors.call_page(
        calls=qs,
        size=PAGE_SIZE,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    here = {"tab": tab.key, "q": q}
    if township is not None:
        here["township"] = township.region.code
    if item is not None:
        here["item"] = item.code
    context = {
        "tabs": tabs,
        "tab": tab,
        "q": q,
        "page": page,
        "choices": choices,
        "township": township,
        "item": item,
        "query": urlencode(here),
        "rows": _rows(page.calls, timezone.now()),
        "can_call": _may_call(membership),
        "show_overdue": membership is not None
        and membership.role in (Role.PLATFORM_OPERATOR, Role.DEPARTMENT_LEADER),
        "show_time_limits": membership is not None
        and membership.organisation.kind in GOVERNMENT_KINDS,
    }
    partial = request.htmx and request.htmx.target == "call-rows"
    return render(request, "calls/_rows.html" if partial else "calls/list.html", context)


@dataclass(frozen=True)
class ListChoices:
    """The township and item filters of the list: offered to the county's government
    members who see more than one township's calls (platform, departments, assessors)."""

    townships: list[Organisation]
    items: list[Item]


def _list_choices(membership: Membership | None) -> ListChoices:
    if membership is None or membership.role in TOWNSHIP_ROLES:
        return ListChoices([], [])
    org = membership.organisation
    if org.kind not in GOVERNMENT_KINDS or org.county is None:
        return ListChoices([], [])
    townships = list(
        townships_of_county(county=org.county).select_related("region").order_by("region__code")
    )
    return ListChoices(townships, _callable_items(org))


# ---- a new call -----------------------------------------------------------------------------


def _may_call(membership: Membership | None) -> bool:
    if membership is None or membership.role not in TOWNSHIP_ROLES | DEPARTMENT_ROLES:
        return False
    return membership.organisation.kind in (
        OrgKind.TOWNSHIP,
        OrgKind.VILLAGE,
        OrgKind.DEPARTMENT,
        OrgKind.STATIONED_AGENCY,
    )


def _callable_items(org: Organisation) -> list[Item]:
    county = org.county
    version = catalog_selectors.county_version_in_force(county=county) if county else None
    if version is None:
        return []
    return [i for i in catalog_selectors.version_items(version=version) if i.callable]


def _places(org: Organisation) -> tuple[list[Region], list[Organisation] | None]:
    """The places a caller may name and, for a department, the townships it may call."""
    if org.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE):
        township = org.township
        if township is None:
            return [], None
        villages = Region.objects.filter(parent=township).order_by("code")
        return [township, *villages], None
    if org.county is None:
        return [], []
    townships = list(
        townships_of_county(county=org.county).select_related("region").order_by("region__code")
    )
    return [t.region for t in townships], townships


@login_required
def call_new(request: XhRequest) -> HttpResponse:
    """A new call (saved as a draft) for the organisation the user works for."""
    membership = _membership(request)
    if not _may_call(membership):
        raise PermissionDenied()
    assert membership is not None
    org = membership.organisation
    places, callees = _places(org)
    initial: dict[str, Any] = {}
    if callees is not None:
        wanted = request.GET.get("callee", "")
        callee = next((c for c in callees if str(c.pk) == wanted), None)
        if callee is not None:
            initial.update(callee=str(callee.pk), location=str(callee.region_id))
    elif places:
        initial["location"] = str(places[0].pk)
    form = CallForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        places=places,
        items=_callable_items(org),
        callees=callees,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            draft = services.CallDraft(
                title=data["title"],
                description=data["description"],
                location=form.location_region,
                urgency=Urgency(data["urgency"]).value,
                item=form.item_obj,
                address=data.get("address") or "",
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                callee=form.callee_obj,
            )
            photos = request.FILES.getlist("photos")
            try:
                attachments_check(photos)
                with transaction.atomic():
                    call, created = services.call_create(
                        actor=request.actor,
                        caller=org,
                        draft=draft,
                        idempotency_key=data["idempotency_key"],
                    )
                    if created and photos:
                        event = CallEvent.objects.get(call=call, action=CREATE)
                        for photo in photos:
                            attachment_save(
                                actor=request.actor, call=call, upload=photo, event=event
                            )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                if created:
                    messages.success(
                        request,
                        _("Call %(number)s saved as a draft. Submit it when it is complete.")
                        % {"number": call.number},
                    )
                return redirect("calls:detail", pk=call.pk)
    return render(
        request,
        "calls/new.html",
        {
            "form": form,
            "organisation": org,
            "two_way": callees is not None,
            "panels": form_panels(request, org),
        },
        status=status,
    )


# ---- the call page ---------------------------------------------------------------------------

CLOCK_LABELS = {
    "sign": gettext_lazy("Sign for"),
    "respond": gettext_lazy("Respond"),
    "complete": gettext_lazy("Complete"),
}


@dataclass
class Clock:
    key: str
    label: Any
    due: datetime | None
    done: datetime | None
    overdue: bool
    running: bool


@dataclass
class DispatchRow:
    dispatch: Dispatch
    clocks: list[Clock]


def _dispatch_rows(call: Call, now: datetime) -> list[DispatchRow]:
    rows = []
    for d in call.dispatches.all():
        running = open_clock(d) if d.active else None
        clocks = []
        for key, due, done in (
            ("sign", d.sign_due, d.signed_at),
            ("respond", d.respond_due, d.responded_at),
            ("complete", d.complete_due, d.completed_at),
        ):
            late = due is not None and (done > due if done else d.active and now > due)
            clocks.append(
                Clock(
                    key=key,
                    label=CLOCK_LABELS[key],
                    due=due,
                    done=done,
                    overdue=bool(late),
                    running=running is not None and running[0] == key,
                )
            )
        rows.append(DispatchRow(dispatch=d, clocks=clocks))
    return rows


_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _text(value: Any) -> str:
    """Free text as the timeline shows it: mobile numbers masked."""
    return _PHONE.sub(lambda m: mask_phone(m.group()), str(value))


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, datetime):
        moment = value
    else:
        return str(value)
    if timezone.is_naive(moment):
        return moment.strftime("%Y-%m-%d %H:%M")
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


SUPERVISE_REASONS = {
    "overdue": gettext_lazy("a deadline has passed"),
    "reopened": gettext_lazy("reopened twice or more"),
}
EVENT_CLOCKS = {
    "accept": gettext_lazy("acceptance and dispatch"),
    "sign": gettext_lazy("signing"),
    "respond": gettext_lazy("response"),
    "complete": gettext_lazy("completion"),
}


def _details(event: CallEvent) -> list[tuple[str, str]]:
    """The event's data as label/value pairs people can read (ids and internals left
    out)."""
    data = event.data or {}
    out: list[tuple[str, str]] = []

    def add(label: Any, value: Any) -> None:
        out.append((str(label), str(value)))

    if event.action == CREATE:
        if data.get("item"):
            add(_("List item"), data["item"])
        if data.get("urgency") in Urgency.values:
            add(_("Urgency"), Urgency(data["urgency"]).label)
    if data.get("item_changed"):
        add(
            _("List item"),
            _("%(before)s → %(after)s")
            % {
                "before": data.get("item_from") or _("outside the list"),
                "after": data.get("item") or _("outside the list"),
            },
        )
    if data.get("as_assistance") is True:
        add(_("Accepted as"), _("a request for assistance (the item is the township's own duty)"))
    if data.get("lead_name"):
        add(_("Lead"), data["lead_name"])
    if data.get("assisting_names"):
        add(_("Assisting"), "、".join(str(n) for n in data["assisting_names"]))
    if data.get("changed_from_suggestion"):
        add(_("Dispatch"), _("changed from the list's suggestion"))
    for key, label in (
        ("mode", _("Response")),
        ("evaluation", _("Evaluation")),
        ("resolved", _("Solved")),
    ):
        if key in data:
            add(label, CHOICE_LABELS[key].get(data[key], data[key]))
    if "approve" in data:
        add(_("Decision"), _("Approved") if data["approve"] is True else _("Refused"))
    if "days" in data:
        add(_("Working days"), data["days"])
    if event.action == "supervise" and data.get("reason") in SUPERVISE_REASONS:
        add(_("Reason"), SUPERVISE_REASONS[data["reason"]])
    elif data.get("reason"):
        add(_("Reason"), _text(data["reason"]))
    for key, label in (("text", _("Progress")), ("result", _("Result")), ("comment", _("Comment"))):
        if data.get(key):
            add(label, _text(data[key]))
    if data.get("clock") in EVENT_CLOCKS:
        add(_("Clock"), EVENT_CLOCKS[data["clock"]])
    if data.get("deadline"):
        add(_("Deadline"), _when(data["deadline"]))
    for key, label in (
        ("sign_due", _("Sign by")),
        ("respond_due", _("Respond by")),
        ("complete_due", _("Complete by")),
    ):
        if data.get(key):
            add(label, _when(data[key]))
    if data.get("into_number"):
        add(_("Merged into"), data["into_number"])
    if event.action == "evaluate" and data.get("evaluation") == "unsatisfied":
        add(_("Times reopened"), data["reopen_count"])
    if data.get("default_evaluation"):
        add(_("Evaluation"), _("satisfied by default (not evaluated in time)"))
    if data.get("evaluation_due"):
        add(_("Evaluation window ended"), _when(data["evaluation_due"]))
    return out


@dataclass
class EventRow:
    event: CallEvent
    label: str
    who: str
    organisation: str
    from_label: str
    to_label: str
    changed: bool
    details: list[tuple[str, str]] = field(default_factory=list)
    photos: list[Attachment] = field(default_factory=list)


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _timeline(actor: Actor, call: Call) -> list[EventRow]:
    photos: dict[int, list[Attachment]] = defaultdict(list)
    for photo in access.visible(actor, Attachment.objects.filter(call=call)).order_by("pk"):
        if photo.event_id is not None:
            photos[photo.event_id].append(photo)
    rows = []
    for e in selectors.call_timeline(actor=actor, call=call):
        if e.action == CREATE:
            label = _("Created")
        elif e.action in BY_ACTION:
            label = str(BY_ACTION[e.action].label)
        else:
            label = e.action
        if e.actor is not None:
            who = _text(e.actor.name or e.actor.username)
        elif e.party == Party.SYSTEM:
            who = _("System")
        else:
            who = _("API client")
        rows.append(
            EventRow(
                event=e,
                label=label,
                who=who,
                organisation=e.actor_org.name if e.actor_org else "",
                from_label=_state_label(e.from_state) if e.from_state else "",
                to_label=_state_label(e.to_state),
                changed=e.from_state != e.to_state,
                details=_details(e),
                photos=photos.get(e.pk, []),
            )
        )
    return rows


def _dispatch_choices(actor: Actor, call: Call) -> tuple[list[Organisation], list[Organisation]]:
    """The organisations a dispatch may name: for a township's call the county's
    departments (lead and assisting), for a department's call the township it calls."""
    if call.direction == Direction.DOWN:
        return ([call.callee] if call.callee else []), []
    departments = list(
        access.visible(
            actor,
            Organisation.objects.filter(
                county_id=call.county_id, kind=OrgKind.DEPARTMENT, is_active=True
            ),
        ).order_by("name")
    )
    return departments, departments


def _merge_choices(actor: Actor, call: Call) -> list[Call]:
    states = tuple(BY_ACTION["merge"].sources)
    qs = selectors.call_list(actor=actor, filters=selectors.CallFilters(states=states))
    return list(
        qs.filter(county_id=call.county_id).exclude(pk=call.pk).prefetch_related(None)[:100]
    )


def _action_forms(
    request: XhRequest, call: Call, *, bound: ActionForm | None = None
) -> list[ActionForm]:
    actor = request.actor
    parties = selectors.call_parties(actor=actor, call=call)
    transitions = selectors.call_actions(parties=parties, state=call.state)
    result = []
    for t in transitions:
        if bound is not None and bound.transition.action == t.action:
            result.append(bound)
            continue
        if t.action == "assist_sign" and not _unsigned_assisting(actor, call):
            continue
        result.append(_action_form(actor, call, t.action, parties=parties))
    return result


def _unsigned_assisting(actor: Actor, call: Call) -> bool:
    """Whether the actor works for an assisting organisation that has not signed yet
    (from the dispatches `selectors.call_get` loaded)."""
    return any(
        d.active
        and d.role == DispatchRole.ASSISTING
        and d.signed_at is None
        and acts_for(actor, d.organisation_id)
        for d in call.dispatches.all()
    )


def _action_form(
    actor: Actor,
    call: Call,
    action: str,
    *,
    parties: set[str],
    data: Any = None,
) -> ActionForm:
    transition = BY_ACTION[action]
    kw: dict[str, Any] = {}
    if action in ("dispatch", "rule"):
        leads, assisting = _dispatch_choices(actor, call)
        suggested: tuple[int | None, list[int]] = (None, [])
        if Party.PLATFORM in parties and call.direction == Direction.UP:
            found = selectors.call_suggestion(call=call)
            suggested = (found.lead.pk if found.lead else None, [o.pk for o in found.assisting])
        if suggested[0] is None:
            current = [d for d in call.dispatches.all() if d.active and d.role == DispatchRole.LEAD]
            if current:
                suggested = (current[0].organisation_id, suggested[1])
            elif call.direction == Direction.DOWN and call.callee_id:
                suggested = (call.callee_id, [])
        kw.update(organisations=leads, assisting_choices=assisting, suggested=suggested)
    if action == "merge":
        kw["calls"] = _merge_choices(actor, call)
    initial: dict[str, Any] = {"expected_state": call.state}
    if action == "accept":
        kw["assist_only"] = call.assist_only
    if action == "accept" and Party.PLATFORM in parties and call.direction == Direction.UP:
        kw["items"] = _callable_items(call.caller)
        initial["item"] = str(call.item_id or "")
    return ActionForm(data, transition=transition, initial=initial, **kw)


def _render_call(
    request: XhRequest,
    call: Call,
    *,
    bound: ActionForm | None = None,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    forms = _action_forms(request, call, bound=bound)
    if bound is not None and bound not in forms and not conflict:
        conflict = " ".join(str(e) for e in bound.non_field_errors()) or _(
            "This action is not possible now."
        )
    return render(
        request,
        "calls/detail.html",
        {
            "call": call,
            "dispatches": _dispatch_rows(call, now),
            "timeline": _timeline(request.actor, call),
            "forms": forms,
            "conflict": conflict,
            "overdue": call.next_deadline is not None and call.next_deadline < now,
            "is_open": call.state in OPEN,
            "panels": call_panels(
                request, call, selectors.call_parties(actor=request.actor, call=call)
            ),
        },
        status=status,
    )


@login_required
def call_detail(request: XhRequest, pk: int) -> HttpResponse:
    """One call: facts, dispatches and clocks, timeline, and the forms of the user's
    actions."""
    call = selectors.call_get(actor=request.actor, pk=pk)
    return _render_call(request, call)


@login_required
@require_POST
def call_act(request: XhRequest, pk: int, action: str) -> HttpResponse:
    """Take one action on the call; back to the call page with a message, or the page
    with the form's errors, or (409) the fresh state when the call changed meanwhile."""
    actor = request.actor
    call = selectors.call_get(actor=actor, pk=pk)
    transition = BY_ACTION.get(action)
    if transition is None or transition.parties == {Party.SYSTEM}:
        raise NotFound()
    parties = selectors.call_parties(actor=actor, call=call)
    form = _action_form(actor, call, action, parties=parties, data=request.POST)
    if not form.is_valid():
        return _render_call(request, call, bound=form, status=400)
    photos = request.FILES.getlist("photos") if action in PHOTO_ACTIONS else []
    try:
        # The service checks the photos (and whether the step needs one) before it
        # writes anything, and saves them with the event in its transaction.
        services.call_transition(
            actor=actor,
            call=call,
            action=action,
            data=form.data_for_service(),
            expected_state=form.cleaned_data["expected_state"],
            photos=photos,
            idempotency_key=form.cleaned_data.get("submission_key") or None,
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        fresh = selectors.call_get(actor=actor, pk=pk)
        if exc.code in ("call.state_changed", "call.action_not_allowed", "call.not_a_party"):
            return _render_call(request, fresh, conflict=str(exc.message), status=409)
        form.add_domain_error(exc)
        return _render_call(request, fresh, bound=form, status=exc.status)
    messages.success(request, _("Done: %(action)s.") % {"action": transition.label})
    return redirect("calls:detail", pk=call.pk)


@login_required
def attachment_download(request: XhRequest, pk: int) -> FileResponse:
    """A photo of a call, to whoever may see the call (404 to anyone else)."""
    attachment = Attachment.objects.select_related("call").filter(pk=pk).first()
    if attachment is None or not access.can(request.actor, "view", attachment.call):
        raise NotFound()
    name = attachment.file.name.rsplit("/", 1)[-1]
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---- the overdue board ----------------------------------------------------------------------


@login_required
def overdue_board(request: XhRequest) -> HttpResponse:
    """Open calls whose running clock (the platform's, or the lead department's) has
    passed or ends within the next working day, by deadline, 50 a page; filtered by
    township, department, clock and card; with their reminders, cards and orders."""
    membership = _membership(request)
    if not may_see_overdue_board(membership):
        raise PermissionDenied()
    assert membership is not None  # may_see_overdue_board
    filters = supervision.BoardFilters.from_query(request.GET)
    found = supervision.board(actor=request.actor, filters=filters, page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "calls/overdue.html",
        {
            "board": found,
            "rows": found.rows,
            "page": found.page,
            "horizon": found.horizon,
            "query": query.urlencode(),
            "choices": supervision.board_choices(county_id=membership.organisation.county_id),
            "clocks": [
                ("accept", _("Accept and dispatch (platform)")),
                ("sign", CLOCK_LABELS["sign"]),
                ("respond", CLOCK_LABELS["respond"]),
                ("complete", CLOCK_LABELS["complete"]),
            ],
            "cards": [("red", _("Overdue")), ("yellow", _("Due within the next working day"))],
            "calendar_warnings": coverage_warnings(),
        },
    )
