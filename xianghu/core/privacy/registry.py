"""The registry of personal data (PIPL): each app declares, in its own `privacy.py`, the
fields of its models that hold personal data, when they may be anonymised and how to
find a person's rows. Core only reads the registry; it never imports an app (the apps'
modules are discovered like the admin's, `autodiscover_modules("privacy")`).

docs/privacy.md lists every registered kind with its purpose and retention."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet

from xianghu.core.masking import ANONYMISED

__all__ = [
    "ANONYMISED",
    "PersonalDataKind",
    "Subject",
    "kinds",
    "register",
    "retention_days",
]


@dataclass(frozen=True)
class Subject:
    """The person whose data is asked for: the identifiers known of them. An export
    widens it with what the identifying kinds (the user account) hold."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    user_ids: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        phones: Iterable[str] = (),
        emails: Iterable[str] = (),
        user_ids: Iterable[int] = (),
    ) -> Subject:
        # An anonymised value or an empty one identifies nobody: never match on it.
        return cls(
            phones=frozenset(p.strip() for p in phones if p and p.strip() != ANONYMISED),
            emails=frozenset(e.strip().lower() for e in emails if e and e.strip() != ANONYMISED),
            user_ids=frozenset(int(u) for u in user_ids if u),
        )

    def __or__(self, other: Subject) -> Subject:
        return Subject(
            phones=self.phones | other.phones,
            emails=self.emails | other.emails,
            user_ids=self.user_ids | other.user_ids,
        )

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails or self.user_ids)

    def email_q(self, field_name: str) -> Q:
        """Rows whose e-mail field is one of the subject's (case-insensitive)."""
        q = Q(pk__in=[])
        for email in sorted(self.emails):
            q |= Q(**{f"{field_name}__iexact": email})
        return q


@dataclass(frozen=True)
class PersonalDataKind:
    """One kind of personal data held by one model.

    `fields` are replaced by `ANONYMISED` once `expired(cutoff)` selects the row (its
    retention ran out before `cutoff`); the row itself is kept (a government record).
    `retention_setting` names the `XH_RETENTION_*_DAYS` setting (None: never purged, e.g.
    the user account, which ends by deletion). `owner(subject)` selects a person's rows
    for an export; `export_fields` are written there; `identifies(rows)` (the user account)
    returns more identifiers of the same person to look for in the other kinds."""

    key: str
    model: type[models.Model]
    fields: tuple[str, ...]
    purpose: str
    owner: Callable[[Subject], Q]
    export_fields: tuple[str, ...]
    retention_setting: str | None = None
    default_days: int | None = None
    expired: Callable[[datetime], Q] | None = None
    identifies: Callable[[QuerySet[models.Model]], Subject] | None = field(
        default=None, compare=False
    )

    def __post_init__(self) -> None:
        if (self.retention_setting is None) != (self.expired is None):
            raise ValueError(f"{self.key}: a retention setting needs an expiry rule")
        names = {f.name for f in self.model._meta.get_fields()}
        unknown = [f for f in (*self.fields, *self.export_fields) if f not in names]
        if unknown:
            raise ValueError(f"{self.key}: unknown fields {unknown}")

    @property
    def label(self) -> str:
        return self.model._meta.label


_KINDS: dict[str, PersonalDataKind] = {}


def register(kind: PersonalDataKind) -> PersonalDataKind:
    """Declare a kind of personal data (once per key; re-importing a module is harmless)."""
    known = _KINDS.get(kind.key)
    if known is not None and known.label != kind.label:
        raise ValueError(f"personal data kind {kind.key} is already registered")
    _KINDS[kind.key] = kind
    return kind


_discovered = False


def kinds() -> list[PersonalDataKind]:
    """Every registered kind, in key order (the apps' `privacy` modules loaded once)."""
    global _discovered
    if not _discovered:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("privacy")
        _discovered = True
    return [_KINDS[key] for key in sorted(_KINDS)]


def retention_days(kind: PersonalDataKind) -> int | None:
    """Days the kind's values are kept after the event that ends their purpose; None:
    kept (no retention, or the setting is 0 or negative: purging switched off)."""
    if kind.retention_setting is None:
        return None
    days = getattr(settings, kind.retention_setting, kind.default_days)
    if days is None or int(days) <= 0:
        return None
    return int(days)
