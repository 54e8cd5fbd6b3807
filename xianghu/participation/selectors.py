"""Reads of public reports."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from xianghu.core.actor import Actor
from xianghu.regions.roles import OrgKind, Role

from .models import Moderation, PublicReport, ReportStatus
from .models_public import OrganisationApplication, ReportPhoto, UnmaskAudit
from .services import TRIAGE_ROLES


def triage_queue(*, actor: Actor, status: str | None = None) -> QuerySet[PublicReport]:
    """The reports `actor` triages: its township's; for platform operators, the county's
    reports no township could be found for. Nothing for anyone else."""
    rule = Q(pk__in=[])
    for grant in actor.grants_for(*TRIAGE_ROLES):
        if grant.organisation_kind == OrgKind.TOWNSHIP and grant.township_id is not None:
            rule |= Q(township_id=grant.township_id)
    for grant in actor.grants_for(Role.PLATFORM_OPERATOR):
        if grant.county_id is not None:
            rule |= Q(county_id=grant.county_id, township__isnull=True)
    qs = PublicReport.objects.filter(rule).select_related(
        "item", "township", "location", "call", "reporter", "merged_into"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def publicreport_by_token(*, token: str) -> PublicReport | None:
    return PublicReport.objects.select_related("call").filter(token=token).first()


# ---- public reporting (public_reports.py) -------------------------------------------------


def track_report(*, token: str) -> PublicReport | None:
    """The report of a tracking link, with what its page shows."""
    if not token or len(token) > 64:
        return None
    return (
        PublicReport.objects.select_related(
            "call", "item", "township", "location", "county", "merged_into"
        )
        .filter(token=token)
        .first()
    )


def public_reports(*, county_id: int | None = None) -> QuerySet[PublicReport]:
    """Reports whose moderated text appears on the public list, newest first."""
    from .public_reports import publicly_visible

    qs = PublicReport.objects.filter(publicly_visible()).select_related(
        "item", "township", "location", "call"
    )
    if county_id is not None:
        qs = qs.filter(county_id=county_id)
    return qs.order_by("-created_at", "-id")


def reports_of(*, user_id: int) -> QuerySet[PublicReport]:
    """An account's own reports."""
    return (
        PublicReport.objects.filter(reporter_id=user_id)
        .select_related("item", "township", "location", "call", "merged_into")
        .order_by("-created_at", "-id")
    )


def moderation_reports(*, actor: Actor, state: str) -> QuerySet[PublicReport]:
    from .public_reports import moderation_rule

    return (
        PublicReport.objects.filter(moderation_rule(actor), moderation=state)
        .select_related("item", "township", "location")
        .order_by("created_at", "id")
    )


def moderation_photos(*, actor: Actor, state: str) -> QuerySet[ReportPhoto]:
    from .public_reports import moderation_rule

    return (
        ReportPhoto.objects.filter(moderation_rule(actor, "report__"), moderation=state)
        .select_related("report")
        .order_by("created_at", "id")
    )


def applications(*, actor: Actor, status: str) -> QuerySet[OrganisationApplication]:
    from .public_accounts import application_rule

    return (
        OrganisationApplication.objects.filter(application_rule(actor), status=status)
        .select_related("applicant", "county", "township", "organisation")
        .order_by("created_at", "id")
    )


def unmask_audit(*, actor: Actor) -> QuerySet[UnmaskAudit]:
    """The unmasking audit of the counties where `actor` is a system administrator."""
    counties = actor.county_ids(Role.SYSTEM_ADMIN)
    rule = Q(county_id__in=counties) if not actor.is_superuser else Q()
    if not counties and not actor.is_superuser:
        rule = Q(pk__in=[])
    return (
        UnmaskAudit.objects.filter(rule)
        .select_related("user", "organisation", "report")
        .order_by("-at", "-id")
    )


def photo_for(*, actor: Actor, pk: int) -> ReportPhoto | None:
    """A photo the viewer may see: approved photos of public reports or of reports
    being tracked, for everybody; every photo of the reports the actor moderates."""
    from .public_reports import moderation_rule

    photo = ReportPhoto.objects.select_related("report").filter(pk=pk).first()
    if photo is None:
        return None
    if photo.moderation == Moderation.APPROVED and photo.report.status != ReportStatus.REJECTED:
        return photo
    if ReportPhoto.objects.filter(moderation_rule(actor, "report__"), pk=pk).exists():
        return photo
    return None
