"""The demo's notice (通报): last month's, generated and issued by the demo assessor from
the demo history, so that the notice pages and the rectification replies have something to
show on first start. Built once, with the history."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone, translation

from xianghu.accounts.models import User
from xianghu.assessment import notices
from xianghu.assessment.models import Notice
from xianghu.assessment.periods import Period
from xianghu.core.workdays import CHINA_TZ
from xianghu.regions.models import Region
from xianghu.regions.selectors import actor_for_user


@transaction.atomic
def build_demo_notice(*, county: Region, today: date | None = None) -> Notice | None:
    """Last month's notice (before `today`), issued; None when the county has a notice
    already or has no assessor; a draft when nobody deserves a notice."""
    if Notice.objects.filter(county=county).exists():
        return None
    assessor = User.objects.filter(username="assessor").first()
    if assessor is None:
        return None
    today = today or timezone.localdate(timezone.now(), CHINA_TZ)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    actor = actor_for_user(user=assessor)
    with translation.override("zh-hans"):
        draft = notices.notice_generate(
            actor=actor, county=county, period=Period.month(year, month)
        )
        if not draft.entries.exists():
            return draft
        return notices.notice_issue(actor=actor, notice=draft)
