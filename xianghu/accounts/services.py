"""Writes of users and API keys, and API-key authentication."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import InvalidInput, NotAuthenticated
from xianghu.regions.models import Organisation
from xianghu.regions.roles import ROLE_ORG_KINDS, Role
from xianghu.regions.selectors import grant_for

from .models import ApiKey, User

security_log = logging.getLogger("xianghu.security")

KEY_PREFIX = "xh"


def _hash(secret: str) -> str:
    # The secret has 256 bits of entropy, so a plain digest is enough (no slow hash).
    return hashlib.sha256(secret.encode()).hexdigest()


def user_create(
    *,
    username: str,
    password: str | None,
    name: str = "",
    phone: str = "",
    email: str = "",
    is_public: bool = False,
    validate_password: bool = True,
    **extra: Any,
) -> User:
    from django.contrib.auth.password_validation import validate_password as validate

    user = User(
        username=username, name=name, phone=phone, email=email, is_public=is_public, **extra
    )
    if password is None:
        user.set_unusable_password()
    else:
        if validate_password:
            validate(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def apikey_create(
    *, actor: Actor | None, organisation: Organisation, role: str, name: str
) -> tuple[ApiKey, str]:
    """Create a key; the plain key is returned once and never stored."""
    if role not in Role.values or organisation.kind not in ROLE_ORG_KINDS[role]:
        raise InvalidInput(
            _("An API key cannot hold this role in this organisation."),
            code="apikey.role_not_allowed",
        )
    if actor is not None:
        access.require(actor, "manage_members", organisation)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plain = f"{KEY_PREFIX}_{prefix}_{secret}"
    key = ApiKey.objects.create(
        organisation=organisation,
        role=role,
        name=name,
        prefix=prefix,
        key_hash=_hash(plain),
        created_by_id=actor.user_id if actor else None,
    )
    return key, plain


def apikey_revoke(*, actor: Actor | None, key: ApiKey) -> ApiKey:
    if actor is not None:
        access.require(actor, "manage_members", key.organisation)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def apikey_authenticate(*, plain: str) -> Actor:
    """Return the actor of a presented key or raise a coded `NotAuthenticated`."""
    parts = plain.split("_", 2)
    key = None
    if len(parts) == 3 and parts[0] == KEY_PREFIX:
        key = ApiKey.objects.select_related("organisation").filter(prefix=parts[1]).first()
    if key is None or not secrets.compare_digest(key.key_hash, _hash(plain)):
        security_log.warning("api key rejected: unknown", extra={"key_prefix": parts[1:2]})
        raise NotAuthenticated(_("The API key is not valid."), code="auth.api_key_invalid")
    if key.revoked_at is not None or not key.organisation.is_active:
        security_log.warning("api key rejected: revoked", extra={"key_prefix": key.prefix})
        raise NotAuthenticated(_("The API key has been revoked."), code="auth.api_key_revoked")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Actor.build(
        user_id=None,
        grants=[grant_for(organisation=key.organisation, role=key.role)],
        api_key_id=key.pk,
        display_name=key.name,
    )
