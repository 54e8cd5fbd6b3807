"""Writes and reads of accountability cases (依单追责): recording an incident, opening a
case (the evidence snapshot and the proposal), refreshing it while open, and recording
the final finding, once (docs/accountability.md).

Errors are coded `accountability.*`: `not_allowed` (403, the actor may see the subject
but not open or decide cases), `case_open` (409, an open case already exists; its id in
`detail.case`), `already_decided` (409), `reasons_required` (400), `invalid` (400, every
problem by field in `detail`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls.models import Call
from xianghu.catalog import selectors as catalog_selectors
from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation
from xianghu.regions.roles import OrgKind

from . import accountability_access  # noqa: F401  (registers the access policies)
from .accountability import (
    Evidence,
    Proposal,
    evidence_for_call,
    evidence_for_incident,
    propose_finding,
)
from .accountability_access import may_manage
from .models import AccountabilityCase, CaseStatus, Finding, Incident

MAX_REASONS = 4000
# How far in the future a discovery time may lie (clock skew between devices).
FUTURE_TOLERANCE = timedelta(minutes=5)


def _not_allowed() -> PermissionDenied:
    return PermissionDenied(
        _(
            "Only assessors, platform operators and system administrators of the county "
            "can open accountability cases and record findings."
        ),
        code="accountability.not_allowed",
    )


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


# ---- the evidence, for a look before a case is opened -------------------------------------


@dataclass
class Assessment:
    evidence: Evidence
    proposal: Proposal


def call_assessment(*, actor: Actor, call: Call, as_of: datetime | None = None) -> Assessment:
    """The evidence and the proposal for a call the actor may see and open cases on."""
    access.require(actor, "view", call)
    if not may_manage(actor, call.county_id):
        raise _not_allowed()
    evidence = evidence_for_call(call=call, as_of=as_of)
    return Assessment(evidence, propose_finding(evidence))


def incident_assessment(
    *, actor: Actor, incident: Incident, as_of: datetime | None = None
) -> Assessment:
    access.require(actor, "view", incident)
    evidence = evidence_for_incident(incident=incident, as_of=as_of)
    return Assessment(evidence, propose_finding(evidence))


# ---- incidents ------------------------------------------------------------------------------


@transaction.atomic
def incident_create(
    *,
    actor: Actor,
    township: Organisation,
    title: str,
    description: str,
    discovered_at: datetime,
    discovered_by: str = "",
    discovered_by_org: Organisation | None = None,
    item_code: str | None = None,
    department: Organisation | None = None,
    calls: Sequence[Call] = (),
) -> Incident:
    """Record an incident on a list item (by its code in the list in force when it was
    discovered) in a township; related calls are those of the same county."""
    if not may_manage(actor, township.county_id):
        raise _not_allowed()
    problems: list[dict[str, str]] = []
    title, description = clean_text(title), clean_text(description)
    discovered_by = clean_text(discovered_by)
    if township.kind != OrgKind.TOWNSHIP or township.county is None:
        problems.append(_problem("township", _("Choose a township.")))
    if not title:
        problems.append(_problem("title", _("This field is required.")))
    elif len(title) > 120:
        problems.append(_problem("title", _("At most 120 characters.")))
    if not description:
        problems.append(_problem("description", _("This field is required.")))
    elif len(description) > 4000:
        problems.append(_problem("description", _("At most 4000 characters.")))
    if timezone.is_naive(discovered_at):
        problems.append(_problem("discovered_at", _("Give the time with its time zone.")))
    elif discovered_at > timezone.now() + FUTURE_TOLERANCE:
        problems.append(_problem("discovered_at", _("The time lies in the future.")))
    if discovered_by_org is not None and discovered_by_org.county_id != township.county_id:
        problems.append(_problem("discovered_by_org", _("Only organisations of the county.")))
    if not discovered_by and discovered_by_org is not None:
        discovered_by = discovered_by_org.name
    if not discovered_by:
        problems.append(_problem("discovered_by", _("Say who discovered it.")))
    elif len(discovered_by) > 200:
        problems.append(_problem("discovered_by", _("At most 200 characters.")))
    if department is not None and (
        department.kind != OrgKind.DEPARTMENT or department.county_id != township.county_id
    ):
        problems.append(_problem("department", _("Choose a department of the county.")))
    item = None
    code = clean_text(item_code)
    if code and township.county is not None and not timezone.is_naive(discovered_at):
        version = catalog_selectors.county_version_in_force(
            county=township.county, at=discovered_at
        )
        if version is None:
            problems.append(_problem("item", _("No list of the county was in force at that time.")))
        else:
            item = catalog_selectors.item_get(version=version, code=code)
            if item is None:
                problems.append(
                    _problem(
                        "item",
                        _("Item %(code)s is not in the list in force at that time (%(v)s).")
                        % {"code": code, "v": version},
                    )
                )
    if any(c.county_id != township.county_id for c in calls):
        problems.append(_problem("calls", _("Only calls of the same county.")))
    if problems:
        raise InvalidInput(
            _("The incident is not complete."), code="accountability.invalid", detail=problems
        )
    assert township.county_id is not None
    incident = Incident.objects.create(
        county_id=township.county_id,
        township=township,
        item=item,
        department=department,
        title=title,
        description=description,
        discovered_at=discovered_at,
        discovered_by=discovered_by,
        discovered_by_org=discovered_by_org,
        created_by_id=actor.user_id,
    )
    if calls:
        incident.calls.set(calls)
    return incident


# ---- cases ------------------------------------------------------------------------------------


def _existing_open(call: Call | None, incident: Incident | None) -> AccountabilityCase | None:
    qs = AccountabilityCase.objects.filter(status=CaseStatus.OPEN)
    if call is not None:
        return qs.filter(call=call).first()
    return qs.filter(incident=incident).first()


def _case_exists(case: AccountabilityCase) -> Conflict:
    return Conflict(
        _("An accountability case is already open on this: case %(id)s.") % {"id": case.pk},
        code="accountability.case_open",
        detail={"case": case.pk},
    )


def _apply(case: AccountabilityCase, evidence: Evidence, at: datetime) -> None:
    proposal = propose_finding(evidence)
    case.evidence = evidence.as_dict()
    case.proposed_finding = proposal.finding
    case.proposed_reasons = proposal.as_dict()["reasons"]
    case.evidence_at = at


def case_open(
    *,
    actor: Actor,
    call: Call | None = None,
    incident: Incident | None = None,
    at: datetime | None = None,
) -> AccountabilityCase:
    """Open the case of a call or of an incident: assemble the evidence now, store it with
    the proposal, and name the parties (who may then read it)."""
    if (call is None) == (incident is None):
        raise InvalidInput(
            _("A case is about one call or one incident."), code="accountability.invalid"
        )
    subject: Call | Incident = call if call is not None else incident  # type: ignore[assignment]
    access.require(actor, "view", subject)
    if not may_manage(actor, subject.county_id):
        raise _not_allowed()
    existing = _existing_open(call, incident)
    if existing is not None:
        raise _case_exists(existing)
    at = at or timezone.now()
    if call is not None:
        evidence = evidence_for_call(call=call, as_of=at)
    else:
        assert incident is not None
        evidence = evidence_for_incident(incident=incident, as_of=at)
    case = AccountabilityCase(
        county_id=subject.county_id,
        call=call,
        incident=incident,
        title=evidence.title[:200],
        opened_by_id=actor.user_id,
        opened_at=at,
    )
    _apply(case, evidence, at)
    try:
        with transaction.atomic():
            case.save()
            case.parties.set(
                Organisation.objects.filter(pk__in=evidence.party_ids()).values_list(
                    "pk", flat=True
                )
            )
    except IntegrityError:
        # Opened by someone else meanwhile (the one-open-case constraint decided).
        existing = _existing_open(call, incident)
        if existing is None:
            raise
        raise _case_exists(existing) from None
    return case


def _locked(actor: Actor, case: AccountabilityCase, action: str) -> AccountabilityCase:
    access.require(actor, "view", case)
    if not access.can(actor, action, case):
        raise _not_allowed()
    locked = AccountabilityCase.objects.select_for_update().get(pk=case.pk)
    if locked.status != CaseStatus.OPEN:
        raise Conflict(
            _("The finding of this case was already recorded on %(at)s.")
            % {"at": timezone.localtime(locked.decided_at).strftime("%Y-%m-%d %H:%M")}
            if locked.decided_at
            else _("The finding of this case was already recorded."),
            code="accountability.already_decided",
        )
    return locked


@transaction.atomic
def case_refresh(
    *, actor: Actor, case: AccountabilityCase, at: datetime | None = None
) -> AccountabilityCase:
    """Assemble the evidence again (the call went on) and propose again; only while open."""
    locked = _locked(actor, case, "refresh")
    at = at or timezone.now()
    if locked.call_id:
        evidence = evidence_for_call(call=locked.call, as_of=at)  # type: ignore[arg-type]
    else:
        evidence = evidence_for_incident(incident=locked.incident, as_of=at)  # type: ignore[arg-type]
    _apply(locked, evidence, at)
    locked.save(update_fields=["evidence", "proposed_finding", "proposed_reasons", "evidence_at"])
    locked.parties.add(*Organisation.objects.filter(pk__in=evidence.party_ids()))
    return locked


@transaction.atomic
def case_decide(
    *,
    actor: Actor,
    case: AccountabilityCase,
    finding: str,
    reasons: str,
    at: datetime | None = None,
) -> AccountabilityCase:
    """Record the final finding, with its reasons, once. The person may follow the
    proposal or not; the record keeps both."""
    problems = []
    if finding not in Finding.values:
        problems.append(
            _problem(
                "finding",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(Finding.values)},
            )
        )
    reasons = clean_text(reasons)
    if len(reasons) > MAX_REASONS:
        problems.append(
            _problem("reasons", _("At most %(max)s characters.") % {"max": MAX_REASONS})
        )
    locked = _locked(actor, case, "decide")
    if not reasons:
        raise InvalidInput(
            _("Give the reasons of the finding."),
            code="accountability.reasons_required",
            detail=[_problem("reasons", _("Give the reasons of the finding."))],
        )
    if problems:
        raise InvalidInput(
            _("The finding is not complete."), code="accountability.invalid", detail=problems
        )
    locked.final_finding = finding
    locked.final_reasons = reasons
    locked.decided_by_id = actor.user_id
    locked.decided_at = at or timezone.now()
    locked.status = CaseStatus.DECIDED
    locked.save(
        update_fields=["final_finding", "final_reasons", "decided_by", "decided_at", "status"]
    )
    return locked


# ---- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    finding: str | None = None  # the final finding, or the proposal while open
    search: str | None = None  # in the title


def case_list(*, actor: Actor, filters: CaseFilters | None = None) -> QuerySet[AccountabilityCase]:
    filters = filters or CaseFilters()
    qs = access.visible(
        actor,
        AccountabilityCase.objects.select_related("call", "incident", "county", "decided_by"),
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.finding:
        qs = qs.filter(
            Q(final_finding=filters.finding)
            | Q(status=CaseStatus.OPEN, proposed_finding=filters.finding)
        )
    if filters.search:
        qs = qs.filter(title__icontains=filters.search)
    return qs.order_by("-opened_at", "-pk")


def case_get(*, actor: Actor, pk: Any) -> AccountabilityCase:
    qs = AccountabilityCase.objects.select_related(
        "call", "incident", "county", "decided_by", "opened_by"
    )
    return access.get_visible(actor, qs, pk=pk)


def cases_of_call(*, actor: Actor, call: Call) -> QuerySet[AccountabilityCase]:
    return access.visible(actor, AccountabilityCase.objects.filter(call=call)).order_by(
        "-opened_at"
    )


def incident_get(*, actor: Actor, pk: Any) -> Incident:
    qs = Incident.objects.select_related("county", "township", "item", "department")
    return access.get_visible(actor, qs, pk=pk)


def may_decide(*, actor: Actor, case: AccountabilityCase) -> bool:
    return case.status == CaseStatus.OPEN and access.can(actor, "decide", case)
