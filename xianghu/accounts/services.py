"""Writes of users and API keys, and API-key authentication."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.core import access
from xianghu.core.actor import Actor
from xianghu.core.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from xianghu.regions.models import Organisation
from xianghu.regions.roles import ROLE_ORG_KINDS, Role
from xianghu.regions.selectors import grant_for

from .models import ApiKey, ApiKeyStatus, User
from .scopes import ALL_SCOPES, SCOPES, scopes_normalise

security_log = logging.getLogger("xianghu.security")

KEY_PREFIX = "xh"

#: The longest grace period of a rotation (the page offers now, 24 hours and 7 days).
MAX_GRACE_HOURS = 30 * 24


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


def _invalid(message: str, *, code: str, field: str) -> InvalidInput:
    """A refusal the pages show next to `field` (`detail`)."""
    return InvalidInput(message, code=code, detail=[{"field": field, "message": message}])


def _check_scopes(scopes: Iterable[str] | None) -> list[str]:
    if scopes is None:
        return list(ALL_SCOPES)
    scopes = list(scopes)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        message = _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}
        raise _invalid(message, code="apikey.unknown_scope", field="scopes")
    if not scopes:
        raise _invalid(_("Choose at least one scope."), code="apikey.no_scopes", field="scopes")
    return scopes_normalise(scopes)


def _new_key(
    *,
    actor: Actor | None,
    organisation: Organisation,
    role: str,
    name: str,
    scopes: list[str],
) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plain = f"{KEY_PREFIX}_{prefix}_{secret}"
    key = ApiKey.objects.create(
        organisation=organisation,
        role=role,
        name=name,
        prefix=prefix,
        key_hash=_hash(plain),
        scopes=scopes,
        created_by_id=actor.user_id if actor else None,
    )
    return key, plain


@transaction.atomic
def apikey_create(
    *,
    actor: Actor | None,
    organisation: Organisation,
    role: str,
    name: str,
    scopes: Iterable[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key with the given scopes (None: every scope); the plain key is returned
    once and never stored. `actor=None` is for trusted callers (commands, the demo)."""
    if role not in Role.values or organisation.kind not in ROLE_ORG_KINDS[role]:
        raise _invalid(
            _("An API key cannot hold this role in this organisation."),
            code="apikey.role_not_allowed",
            field="role",
        )
    if actor is not None:
        access.require(actor, "manage_members", organisation)
        if role == Role.SYSTEM_ADMIN and not actor.has_role(Role.SYSTEM_ADMIN):
            raise _invalid(
                _("Only a system administrator can create a key with this role."),
                code="apikey.role_not_allowed",
                field="role",
            )
    name = name.strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:  # type: ignore[operator]
        raise _invalid(
            _("Give the key a name of at most 100 characters."),
            code="apikey.bad_name",
            field="name",
        )
    checked = _check_scopes(scopes)
    return _new_key(actor=actor, organisation=organisation, role=role, name=name, scopes=checked)


@transaction.atomic
def apikey_revoke(*, actor: Actor | None, key: ApiKey) -> ApiKey:
    """Stop a key now (also one in its grace period after a rotation); idempotent."""
    if actor is not None:
        access.require(actor, "manage_members", key.organisation)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        key.refresh_from_db(fields=["revoked_at"])
    return key


@transaction.atomic
def apikey_rotate(*, actor: Actor | None, key: ApiKey, grace_hours: int) -> tuple[ApiKey, str]:
    """Replace a key: a new key with the same organisation, role, name and scopes; the
    old one keeps working for `grace_hours` (0: it is revoked now), so that the other
    system can switch without a gap. Returns the new key and its plain text (once)."""
    if actor is not None:
        access.require(actor, "manage_members", key.organisation)
    if not isinstance(grace_hours, int) or not 0 <= grace_hours <= MAX_GRACE_HOURS:
        raise InvalidInput(
            _("The grace period must be between 0 and %(max)s hours.") % {"max": MAX_GRACE_HOURS},
            code="apikey.bad_grace",
        )
    old = ApiKey.objects.select_for_update().select_related("organisation").get(pk=key.pk)
    if old.status != ApiKeyStatus.ACTIVE:
        raise Conflict(
            _("Only an active key can be replaced; this one is %(status)s.")
            % {"status": old.get_status_display()},
            code="apikey.not_active",
        )
    new, plain = _new_key(
        actor=actor,
        organisation=old.organisation,
        role=old.role,
        name=old.name,
        scopes=list(old.scopes),
    )
    now = timezone.now()
    if grace_hours == 0:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
    else:
        old.expires_at = now + timedelta(hours=grace_hours)
        old.save(update_fields=["expires_at"])
    key.revoked_at, key.expires_at = old.revoked_at, old.expires_at
    security_log.info(
        "api key rotated",
        extra={"key_prefix": old.prefix, "new_prefix": new.prefix, "grace_hours": grace_hours},
    )
    return new, plain


def apikey_require_scope(*, key: ApiKey, scope: str | None) -> None:
    """Raise 403 `auth.scope_missing` unless the key holds `scope` (None: any key)."""
    if scope is None or scope in (key.scopes or ()):
        return
    security_log.warning(
        "api key refused: scope missing", extra={"key_prefix": key.prefix, "scope": scope}
    )
    raise PermissionDenied(
        _("The API key lacks the scope %(scope)s needed for this request.") % {"scope": scope},
        code="auth.scope_missing",
        detail={"scope": scope},
    )


def apikey_authenticate(*, plain: str, scope: str | None = None) -> Actor:
    """Return the actor of a presented key or raise a coded `NotAuthenticated` (unknown,
    revoked, expired); with `scope`, a valid key without it is refused with 403
    `auth.scope_missing` (`ApiKeyAuth` passes the scope the request needs)."""
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
    if key.is_expired(now):
        security_log.warning("api key rejected: expired", extra={"key_prefix": key.prefix})
        raise NotAuthenticated(
            _("The API key has expired: it was replaced by a new key."),
            code="auth.api_key_expired",
        )
    apikey_require_scope(key=key, scope=scope)
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Actor.build(
        user_id=None,
        grants=[grant_for(organisation=key.organisation, role=key.role)],
        api_key_id=key.pk,
        display_name=key.name,
    )
