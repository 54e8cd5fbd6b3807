"""Personal data held by accounts (docs/privacy.md): the user account itself. Kept while
the account exists (no retention); it identifies the person for an export. Registered
with `core.privacy` (discovered by name)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from xianghu.core.privacy.registry import PersonalDataKind, Subject, register

from .models import User


def _identifiers(rows: QuerySet[Any]) -> Subject:
    found = list(rows.values_list("pk", "phone", "email"))
    return Subject.of(
        user_ids=[pk for pk, _phone, _email in found],
        phones=[phone for _pk, phone, _email in found],
        emails=[email for _pk, _phone, email in found],
    )


register(
    PersonalDataKind(
        key="accounts.user",
        model=User,
        fields=("name", "phone", "email"),
        purpose="Signing in, being told of one's reports and calls, being called back.",
        owner=lambda s: Q(pk__in=s.user_ids) | Q(phone__in=s.phones) | s.email_q("email"),
        export_fields=(
            "username",
            "name",
            "phone",
            "email",
            "is_public",
            "is_active",
            "date_joined",
            "last_login",
        ),
        identifies=_identifiers,
    )
)
