"""Writes of public reports: intake from public clients, and the township's triage."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.accounts.models import ApiKey
from xianghu.calls import services as call_services
from xianghu.calls.models import Call
from xianghu.calls.services import CallDraft
from xianghu.catalog.models import Item
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from xianghu.core.masking import mask_personal_text
from xianghu.core.text import clean_text
from xianghu.regions.models import Organisation, Region
from xianghu.regions.places import PlaceFinder
from xianghu.regions.roles import OrgKind, Role

from .models import PublicReport, ReportStatus
from .models_public import ReportUpdate
from .public_reports import new_token, update_add

TRIAGE_ROLES = (Role.TOWNSHIP_REPORTER, Role.TOWNSHIP_LEADER)
# A point farther than this from every township's known calls is not guessed (≈ 30 km).
_MAX_GUESS_KM = 30.0


@dataclass(frozen=True)
class Place:
    township: Region | None
    location: Region | None


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dx = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2)) * 111.32
    dy = (lat2 - lat1) * 110.57
    return math.hypot(dx, dy)


def _by_coordinates(county: Region, latitude: Decimal, longitude: Decimal) -> Region | None:
    """The township whose located calls lie nearest (their mean position stands in for
    the township's centre, which the region data does not have)."""
    centres = (
        Call.objects.filter(
            county=county,
            latitude__isnull=False,
            longitude__isnull=False,
            caller__kind=OrgKind.TOWNSHIP,
        )
        .values("caller__township_id")
        .annotate(lat=Avg("latitude"), lon=Avg("longitude"))
    )
    best: tuple[float, int] | None = None
    for row in centres:
        distance = _km(float(latitude), float(longitude), float(row["lat"]), float(row["lon"]))
        if distance <= _MAX_GUESS_KM and (best is None or distance < best[0]):
            best = (distance, row["caller__township_id"])
    return Region.objects.filter(pk=best[1]).first() if best else None


def place_resolve(
    *,
    county: Region,
    address: str = "",
    address_id: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Place:
    """Where a report is: by region code (`address_id`), then address text, then coordinates.

    Unresolved reports go to the county platform (township None)."""
    places = PlaceFinder(county)
    region = places.by_code.get(address_id) if address_id else None
    if region is None and address:
        found = places.by_address(address)
        region = found if isinstance(found, Region) else None
    if region is not None:
        return Place(township=places.township(region), location=region)
    if latitude is not None and longitude is not None:
        township = _by_coordinates(county, latitude, longitude)
        return Place(township=township, location=township)
    return Place(township=None, location=None)


def publicreport_create(
    *,
    api_key: ApiKey,
    county: Region,
    item: Item,
    description: str,
    address: str = "",
    address_id: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    urgency: str = "normal",
    media_url: str = "",
    email: str = "",
    phone: str = "",
    idempotency_key: str | None = None,
) -> tuple[PublicReport, bool]:
    """Queue a public report for triage; returns (report, created).

    A retry with the same idempotency key returns the first report."""
    key = clean_text(idempotency_key)[:64] or None
    if key is not None:
        existing = PublicReport.objects.filter(api_key=api_key, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    description = clean_text(description)
    if len(description) > 4000:
        raise InvalidInput(
            _("The description has at most 4000 characters."), code="report.description_too_long"
        )
    place = place_resolve(
        county=county,
        address=address,
        address_id=address_id,
        latitude=latitude,
        longitude=longitude,
    )
    try:
        with transaction.atomic():
            report = PublicReport.objects.create(
                county=county,
                township=place.township,
                location=place.location,
                item=item,
                description=description,
                address=clean_text(address)[:200],
                latitude=latitude,
                longitude=longitude,
                urgency=urgency,
                media_url=media_url[:500],
                email=clean_text(email)[:254],
                phone=clean_text(phone)[:32],
                source=api_key.name[:100],
                api_key=api_key,
                token=new_token(),
                idempotency_key=key,
                public_text=mask_personal_text(description),
            )
            update_add(report=report, kind=ReportUpdate.Kind.RECEIVED, key="received", notify=False)
    except IntegrityError:  # a concurrent retry with the same key won the race
        existing = PublicReport.objects.filter(api_key=api_key, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return report, True


def triage_organisation(actor: Actor, report: PublicReport) -> Organisation:
    """The township organisation through which `actor` may triage `report`, or refuse."""
    if report.township_id is not None:
        for grant in actor.grants_for(*TRIAGE_ROLES):
            if (
                grant.organisation_kind == OrgKind.TOWNSHIP
                and grant.township_id == report.township_id
            ):
                return Organisation.objects.get(pk=grant.organisation_id)
    raise PermissionDenied(
        _("Only the staff of the report's township can triage it."), code="report.not_yours"
    )


def _require_new(report: PublicReport) -> None:
    if report.status != ReportStatus.NEW:
        raise Conflict(_("This report has already been triaged."), code="report.already_triaged")


def _title(report: PublicReport) -> str:
    first_line = report.description.splitlines()[0] if report.description else ""
    title = first_line[:60] or (report.item.name if report.item else "")
    return title[:120] or _("Public report")


@transaction.atomic
def publicreport_accept(*, actor: Actor, report: PublicReport) -> Call:
    """Accept a public report: it becomes a draft call of the township (one call per report)."""
    report = (
        PublicReport.objects.select_for_update(of=("self",))
        .select_related("item")
        .get(pk=report.pk)
    )
    township_org = triage_organisation(actor, report)
    _require_new(report)
    assert report.township is not None  # triage_organisation checked it
    source = _("Reported by the public through %(source)s.") % {"source": report.source}
    # The call goes to departments and the county, who do not need the reporter's
    # personal data: numbers in the text are masked (the report keeps the original, and
    # the township unmasks the contact with an audited reason).
    draft = CallDraft(
        title=mask_personal_text(_title(report))[:120],
        description=mask_personal_text(f"{report.description or _title(report)}\n\n{source}"),
        location=report.location or report.township,
        urgency=report.urgency,
        item=report.item,
        address=report.address,
        latitude=report.latitude,
        longitude=report.longitude,
    )
    call, _created = call_services.call_create(
        actor=actor,
        caller=township_org,
        draft=draft,
        idempotency_key=f"public-report-{report.pk}",
    )
    report.status = ReportStatus.ACCEPTED
    report.call = call
    report.decided_by_id = actor.user_id
    report.decided_at = timezone.now()
    report.save(update_fields=["status", "call", "decided_by", "decided_at"])
    update_add(
        report=report,
        kind=ReportUpdate.Kind.ACCEPTED,
        key="accepted",
        text=_("The township has taken up your report as case %(number)s.")
        % {"number": call.number},
    )
    return call


@transaction.atomic
def publicreport_reject(*, actor: Actor, report: PublicReport, reason: str) -> PublicReport:
    report = PublicReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
    triage_organisation(actor, report)
    _require_new(report)
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(_("Give a reason for the rejection."), code="report.reason_required")
    report.status = ReportStatus.REJECTED
    report.reason = reason[:2000]
    report.decided_by_id = actor.user_id
    report.decided_at = timezone.now()
    report.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    update_add(report=report, kind=ReportUpdate.Kind.DECLINED, key="declined", text=report.reason)
    return report


@transaction.atomic
def publicreport_merge(*, actor: Actor, report: PublicReport, into: PublicReport) -> PublicReport:
    """Merge a new report into another report of the same township (the same problem
    reported twice): the reporter follows the other report's case from now on."""
    report = PublicReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
    triage_organisation(actor, report)
    _require_new(report)
    target = PublicReport.objects.select_for_update(of=("self",)).filter(pk=into.pk).first()
    if target is None or target.township_id != report.township_id:
        raise NotFound()
    if target.pk == report.pk:
        raise InvalidInput(
            _("A report cannot be merged into itself."), code="report.merge_into_itself"
        )
    if target.status not in (ReportStatus.NEW, ReportStatus.ACCEPTED):
        raise Conflict(
            _("Merge into a new or accepted report only."), code="report.merge_target_closed"
        )
    report.status = ReportStatus.MERGED
    report.merged_into = target
    report.decided_by_id = actor.user_id
    report.decided_at = timezone.now()
    report.save(update_fields=["status", "merged_into", "decided_by", "decided_at"])
    update_add(
        report=report,
        kind=ReportUpdate.Kind.MERGED,
        key="merged",
        text=_("The same problem was already reported; it is handled as one case."),
    )
    return report
