"""Writes of the open government pages: publishing a period's rankings (the county's
assessor) and clearing photos of closed cases for publication (the platform centre)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.assessment.access import SUBJECT_KINDS
from xianghu.assessment.notices import period_label
from xianghu.assessment.periods import Period
from xianghu.assessment.policy import policy_for
from xianghu.assessment.scores import RankingEntry, rankings_for_period
from xianghu.calls.models import Attachment
from xianghu.calls.workflow import State
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, PermissionDenied
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Region
from xianghu.regions.roles import Role

from ..models_open import PhotoClearance, PublishedRanking

#: Who publishes a county's rankings: its assessors and system administrators.
PUBLISH_ROLES = (Role.ASSESSOR, Role.SYSTEM_ADMIN)
#: Who clears photos of closed cases: the platform centre (and system administrators).
CLEAR_ROLES = (Role.PLATFORM_OPERATOR, Role.SYSTEM_ADMIN)


def may_publish(actor: Actor, county_id: int | None) -> bool:
    if actor.is_superuser:
        return True
    return county_id is not None and county_id in actor.county_ids(*PUBLISH_ROLES)


def may_clear(actor: Actor, county_id: int | None) -> bool:
    if actor.is_superuser:
        return True
    return county_id is not None and county_id in actor.county_ids(*CLEAR_ROLES)


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _entry(entry: RankingEntry) -> dict[str, Any]:
    score = entry.score
    m = score.metrics
    return {
        "rank": entry.rank,
        "status": entry.status,
        "name": score.subject_name,
        "score": _text(score.score),
        "volume": score.volume,
        "response_rate": _text(m.response_rate),
        "completion_rate": _text(m.completion_rate),
        "satisfaction_rate": _text(m.satisfaction.rate),
    }


@transaction.atomic
def ranking_publish(
    *, actor: Actor, county: Region, period: Period, now: Any = None
) -> PublishedRanking:
    """Publish the rankings of every kind of subject for a period that is over, as they
    stand now (a snapshot; a period is published once)."""
    if not may_publish(actor, county.pk):
        raise PermissionDenied(
            _("Only the county's assessors publish its rankings."), code="open.publish_not_allowed"
        )
    now = now or timezone.now()
    if not period.is_over(today=timezone.localdate(now, CHINA_TZ)):
        raise InvalidInput(
            _("The period %(period)s is not over yet: publish its rankings once it has ended.")
            % {"period": period.key},
            code="open.period_not_over",
            detail=[{"field": "period", "message": _("The period is not over.")}],
        )
    if PublishedRanking.objects.filter(county=county, period_key=period.key).exists():
        raise Conflict(
            _("The rankings of %(period)s are already published.") % {"period": period.key},
            code="open.ranking_published",
        )
    policy = policy_for(county.pk)
    rankings = rankings_for_period(
        county=county.pk, period=period, kinds=SUBJECT_KINDS, policy=policy, now=now
    )
    data = {kind: [_entry(e) for e in ranking.entries] for kind, ranking in rankings.items()}
    try:
        with transaction.atomic():
            return PublishedRanking.objects.create(
                county=county,
                period_key=period.key,
                period_label=period_label(period),
                starts_on=period.start,
                ends_on=period.end,
                min_volume=policy.min_volume,
                data=data,
                published_by_id=actor.user_id,
                published_at=now,
            )
    except IntegrityError:
        raise Conflict(
            _("The rankings of %(period)s are already published.") % {"period": period.key},
            code="open.ranking_published",
        ) from None


def _require_clear(actor: Actor, attachment: Attachment) -> None:
    if not may_clear(actor, attachment.call.county_id):
        raise PermissionDenied(
            _("Only the platform centre clears photos for publication."),
            code="open.clear_not_allowed",
        )


@transaction.atomic
def photo_clear(*, actor: Actor, attachment: Attachment) -> PhotoClearance:
    """Clear a photo of a closed call for the open pages (idempotent)."""
    _require_clear(actor, attachment)
    if attachment.call.state != State.CLOSED:
        raise InvalidInput(
            _("Only photos of closed calls are published."), code="open.call_not_closed"
        )
    clearance, _created = PhotoClearance.objects.get_or_create(
        attachment=attachment, defaults={"cleared_by_id": actor.user_id}
    )
    return clearance


@transaction.atomic
def photo_withdraw(*, actor: Actor, attachment: Attachment) -> None:
    """Take a photo off the open pages again."""
    _require_clear(actor, attachment)
    PhotoClearance.objects.filter(attachment=attachment).delete()
