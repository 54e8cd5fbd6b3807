"""Purging expired personal data and exporting what is held about one person (PIPL arts.
19 and 45), over the kinds the apps registered (`registry.py`, docs/privacy.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from xianghu.core.masking import ANONYMISED, mask_email, mask_phone

from .registry import PersonalDataKind, Subject, kinds, retention_days

security_log = logging.getLogger("xianghu.security")

DEFAULT_BATCH = 500


@dataclass
class PurgeCount:
    key: str
    days: int | None
    cutoff: datetime | None
    due: int = 0
    purged: int = 0


@dataclass
class PurgeReport:
    dry_run: bool
    counts: list[PurgeCount] = field(default_factory=list)

    @property
    def purged(self) -> int:
        return sum(c.purged for c in self.counts)

    @property
    def due(self) -> int:
        return sum(c.due for c in self.counts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "kinds": {
                c.key: {"days": c.days, "due": c.due, "purged": c.purged} for c in self.counts
            },
        }


def _not_anonymised(kind: PersonalDataKind) -> Q:
    """Rows still holding at least one personal value (neither empty nor anonymised):
    what makes the purge idempotent and lets it resume after an interruption."""
    q = Q(pk__in=[])
    for name in kind.fields:
        q |= ~Q(**{name: ""}) & ~Q(**{name: ANONYMISED})
    return q


def personal_data_due(*, kind: PersonalDataKind, now: datetime | None = None) -> QuerySet[Any]:
    """The kind's rows whose retention ran out and that still hold personal values
    (empty when the kind is kept)."""
    days = retention_days(kind)
    manager = kind.model._default_manager
    if days is None or kind.expired is None:
        return manager.none()
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return manager.filter(kind.expired(cutoff)).filter(_not_anonymised(kind))


def _anonymise(kind: PersonalDataKind, pks: list[Any]) -> int:
    # An empty value stays empty (nothing was held); any other becomes the marker.
    values = {
        name: Case(When(**{name: ""}, then=Value("")), default=Value(ANONYMISED))
        for name in kind.fields
    }
    return kind.model._default_manager.filter(pk__in=pks).update(**values)


def personal_data_purge(
    *,
    dry_run: bool = False,
    only: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    now: datetime | None = None,
) -> PurgeReport:
    """Replace the expired personal values of every registered kind (or of `only`) with
    `ANONYMISED`, `batch_size` rows per transaction, in primary-key order; the rows,
    their events and everything else about them stay. A dry run only counts."""
    now = now or timezone.now()
    report = PurgeReport(dry_run=dry_run)
    for kind in kinds():
        if only is not None and kind.key != only:
            continue
        days = retention_days(kind)
        count = PurgeCount(
            key=kind.key, days=days, cutoff=None if days is None else now - timedelta(days=days)
        )
        report.counts.append(count)
        due = personal_data_due(kind=kind, now=now)
        count.due = due.count()
        if dry_run or not count.due:
            continue
        last: Any = None
        while True:
            page = due.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            pks = list(page.values_list("pk", flat=True)[:batch_size])
            if not pks:
                break
            with transaction.atomic():
                count.purged += _anonymise(kind, pks)
            last = pks[-1]
    if not dry_run and report.purged:
        security_log.info(
            "personal data purged",
            extra={
                "event": "privacy.purge",
                "rows": report.purged,
                "kinds": {c.key: c.purged for c in report.counts if c.purged},
            },
        )
    return report


# ---- export on request ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON value of a model field's value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _row(kind: PersonalDataKind, obj: models.Model) -> dict[str, Any]:
    row: dict[str, Any] = {"id": _plain(obj.pk)}
    for name in kind.export_fields:
        model_field = obj._meta.get_field(name)
        value = (
            getattr(obj, model_field.attname)
            if isinstance(model_field, models.Field)
            else getattr(obj, name)
        )
        row[name] = _plain(value)
    return row


def subject_widen(subject: Subject) -> Subject:
    """The subject with the identifiers its accounts hold (the account found by a phone
    also has an e-mail, and the reports it made carry its id)."""
    widened = subject
    for kind in kinds():
        if kind.identifies is None or not widened:
            continue
        rows = kind.model._default_manager.filter(kind.owner(widened))
        widened = widened | kind.identifies(rows)
    return widened


def _subject_masked(subject: Subject) -> dict[str, list[Any]]:
    return {
        "phones": sorted(mask_phone(p) for p in subject.phones),
        "emails": sorted(mask_email(e) for e in subject.emails),
        "user_ids": sorted(subject.user_ids),
    }


def personal_data_export(
    *, subject: Subject, reason: str, requested_by: str = ""
) -> dict[str, Any]:
    """Everything the registered kinds hold about the person (PIPL art. 45: access and
    copy), unmasked — it is for the person themself. Logged on "xianghu.security"."""
    if not subject:
        raise ValueError("an export needs a phone number, an e-mail address or a user")
    widened = subject_widen(subject)
    sections: dict[str, Any] = {}
    total = 0
    for kind in kinds():
        rows = [
            _row(kind, obj)
            for obj in kind.model._default_manager.filter(kind.owner(widened)).order_by("pk")
        ]
        total += len(rows)
        sections[kind.key] = {
            "model": kind.label,
            "purpose": kind.purpose,
            "retention_days": retention_days(kind),
            "rows": rows,
        }
    security_log.info(
        "personal data exported",
        extra={
            "event": "privacy.export",
            "subject": _subject_masked(widened),
            "rows": total,
            "reason": reason,
            "requested_by": requested_by,
        },
    )
    return {
        "generated_at": timezone.now().isoformat(),
        "subject": {
            "phones": sorted(widened.phones),
            "emails": sorted(widened.emails),
            "user_ids": sorted(widened.user_ids),
        },
        "reason": reason,
        "kinds": sections,
    }


def export_sheets(export: dict[str, Any]) -> list[Any]:
    """The export as Excel sheets: a summary of every kind, then one per kind that holds
    rows."""
    from xianghu.core.xlsx import Sheet

    sheets = [
        Sheet(
            title="summary",
            header=["kind", "model", "purpose", "retention_days", "rows"],
            rows=[
                [key, s["model"], s["purpose"], s["retention_days"], len(s["rows"])]
                for key, s in export["kinds"].items()
            ],
            heading=f"{export['generated_at']} {export['reason']}",
        )
    ]
    for key, section in export["kinds"].items():
        rows = section["rows"]
        if not rows:
            continue
        header = list(rows[0])
        sheets.append(
            Sheet(
                title=key,
                header=header,
                rows=[[row.get(h) for h in header] for row in rows],
                heading=f"{section['model']}: {section['purpose']}",
            )
        )
    return sheets
