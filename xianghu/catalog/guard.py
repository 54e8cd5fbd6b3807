"""The guard (docs/catalog.md): may organisation A hand a task on item I (or on no item)
to organisation B?

Every dispatch and every county-to-township call asks `handoff_check` first. It answers
with a decision carrying a stable code and a Chinese reason, and never raises for a
refusal (callers decide whether to show it or raise it with `decision.raise_if_refused`).

The rules, in order:
1. Township → county (乡呼县应, a call): always allowed; on a township-primary item only as
   a request for assistance (`assist_only`), outside the list it is flagged (`out_of_list`).
2. Platform centre → department (dispatch): allowed to the item's primary departments
   (`lead`) and assisting departments (`assist`); to any other department refused
   (`not_on_item`); without an item (an out-of-list call) allowed.
3. County department or stationed agency → township (双向呼叫 or any assignment):
   - on an item whose primary party is the department itself, only the township's
     cooperating duties may be asked (`duty="cooperating"`); handing down the primary
     duty is refused (`primary_duty_push_down`, 严禁擅自将已明确由自身承担的职责任务交由乡镇办理);
   - on an item the department is not named in: refused (`not_on_item`);
   - on a township-primary item the department assists with: allowed (it is the
     township's own duty);
   - without an item: allowed only under an approved admission (准入) that names the
     township and whose period covers the date, else `out_of_list_without_admission`.
4. Anything else: refused (`not_a_handoff`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core.errors import PermissionDenied
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from . import selectors
from .models import Admission, DecisionStatus, Item, PrimaryLevel

COUNTY_SIDE = (OrgKind.DEPARTMENT, OrgKind.STATIONED_AGENCY)
TOWNSHIP_SIDE = (OrgKind.TOWNSHIP, OrgKind.VILLAGE)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str
    message: str
    admission: Admission | None = None

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise PermissionDenied(self.message, code=f"guard.{self.code}")


def _ok(code: str, message: str, admission: Admission | None = None) -> Decision:
    return Decision(True, code, message, admission)


def _no(code: str, message: str) -> Decision:
    return Decision(False, code, message)


def _department_of(org: Organisation) -> int:
    return org.parent_id if org.kind == OrgKind.STATIONED_AGENCY and org.parent_id else org.pk


def admission_for(
    *, department: Organisation, township: Organisation, on: date | None = None
) -> Admission | None:
    """The approved admission under which `department` may hand `township` an
    out-of-list task on day `on` (default today), if any."""
    on = on or timezone.localdate()
    return (
        Admission.objects.filter(
            department_id=_department_of(department),
            townships=township,
            status=DecisionStatus.APPROVED,
            starts_on__lte=on,
            ends_on__gte=on,
        )
        .order_by("-decided_at")
        .first()
    )


def handoff_check(
    *,
    giver: Organisation,
    receiver: Organisation,
    item: Item | None = None,
    duty: str = "primary",
    at: datetime | None = None,
) -> Decision:
    """May `giver` hand `receiver` a task on `item` (None: outside the list)?"""
    if item is not None:
        item = _item_with_parties(item)
    if giver.kind in TOWNSHIP_SIDE and receiver.kind in (OrgKind.PLATFORM_CENTRE, *COUNTY_SIDE):
        return _township_calls(item)
    if giver.kind == OrgKind.PLATFORM_CENTRE and receiver.kind in COUNTY_SIDE:
        return _platform_dispatches(receiver, item)
    if giver.kind in COUNTY_SIDE and receiver.kind in TOWNSHIP_SIDE:
        return _county_hands_down(giver, receiver, item, duty, at)
    return _no(
        "not_a_handoff",
        _("%(giver)s cannot hand tasks to %(receiver)s.")
        % {"giver": giver.name, "receiver": receiver.name},
    )


def _item_with_parties(item: Item) -> Item:
    if "parties" in getattr(item, "_prefetched_objects_cache", {}):
        return item
    return Item.objects.prefetch_related("parties").select_related("version").get(pk=item.pk)


def _township_calls(item: Item | None) -> Decision:
    if item is None:
        return _ok(
            "out_of_list",
            _("The call is outside the list; the platform decides who handles it."),
        )
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        return _ok(
            "assist_only",
            _(
                "“%(item)s” is the township's own duty on the list: the county can accept "
                "the call only as a request for assistance, not as a transfer of the duty."
            )
            % {"item": item.name},
        )
    return _ok("on_list", _("“%(item)s” is a county duty on the list.") % {"item": item.name})


def _platform_dispatches(receiver: Organisation, item: Item | None) -> Decision:
    if item is None:
        return _ok("out_of_list", _("An out-of-list call may go to any department."))
    department = _department_of(receiver)
    if department in selectors.primary_organisation_ids(item):
        return _ok("lead", _("The list makes %(org)s primary.") % {"org": receiver.name})
    if department in selectors.assisting_organisation_ids(item):
        return _ok(
            "assist", _("The list makes %(org)s an assisting department.") % {"org": receiver.name}
        )
    return _no(
        "not_on_item",
        _("The list does not name %(org)s for “%(item)s”.")
        % {"org": receiver.name, "item": item.name},
    )


def _county_hands_down(
    giver: Organisation,
    receiver: Organisation,
    item: Item | None,
    duty: str,
    at: datetime | None,
) -> Decision:
    department = _department_of(giver)
    if item is None:
        on = timezone.localdate(at) if at else None
        township = receiver if receiver.kind == OrgKind.TOWNSHIP else _township_org(receiver)
        admission = admission_for(department=giver, township=township, on=on) if township else None
        if admission is None:
            return _no(
                "out_of_list_without_admission",
                _(
                    "This task is not on the list and has no approved admission (准入) for "
                    "%(township)s: the establishment office must approve it before it can "
                    "be handed to a township."
                )
                % {"township": receiver.name},
            )
        return _ok(
            "admitted",
            _("Admitted out-of-list task “%(title)s”, valid until %(end)s.")
            % {"title": admission.title, "end": admission.ends_on.isoformat()},
            admission,
        )
    primary = selectors.primary_organisation_ids(item)
    assisting = selectors.assisting_organisation_ids(item)
    if item.primary_level == PrimaryLevel.TOWNSHIP:
        if department in primary | assisting:
            return _ok(
                "township_primary",
                _("“%(item)s” is the township's own duty on the list.") % {"item": item.name},
            )
        return _no(
            "not_on_item",
            _("The list does not name %(org)s for “%(item)s”.")
            % {"org": giver.name, "item": item.name},
        )
    if department in primary:
        if duty == "cooperating" and item.cooperating_duties.strip():
            return _ok(
                "cooperating",
                _("The township's cooperating duties on “%(item)s”: %(duties)s")
                % {"item": item.name, "duties": item.cooperating_duties},
            )
        return _no(
            "primary_duty_push_down",
            _(
                "The list gives “%(item)s” to %(org)s as its primary responsibility; it may "
                "not be handed to a township (only the township's cooperating duties may be "
                "asked for)."
            )
            % {"item": item.name, "org": giver.name},
        )
    if department in assisting:
        return _no(
            "primary_duty_push_down",
            _(
                "“%(item)s” is a county duty on the list; %(org)s assists the primary "
                "department and cannot hand it to a township."
            )
            % {"item": item.name, "org": giver.name},
        )
    return _no(
        "not_on_item",
        _("The list does not name %(org)s for “%(item)s”.")
        % {"org": giver.name, "item": item.name},
    )


def _township_org(org: Organisation) -> Organisation | None:
    return Organisation.objects.filter(kind=OrgKind.TOWNSHIP, township_id=org.township_id).first()
