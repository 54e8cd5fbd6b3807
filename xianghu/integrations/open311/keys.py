"""Open311 `api_key`: which kind of client is posting.

A key of a township (or village) government of the county, holding a township role,
belongs to a township system: its requests become draft calls of that township. A key of
a society organisation (社会组织/企业/志愿队) holding the public-user role belongs to a public
app: its requests queue for the township's triage. Every other key is refused (403), and
so is a key without the `open311:post` scope (reason `scope_missing`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.accounts.models import ApiKey
from xianghu.accounts.services import KEY_PREFIX, apikey_authenticate
from xianghu.core.actor import Actor
from xianghu.core.errors import NotAuthenticated
from xianghu.regions.models import Region
from xianghu.regions.roles import SOCIETY_KINDS, OrgKind, Role
from xianghu.regions.selectors import grant_for

from .core import Open311Error

TOWNSHIP = "township"
PUBLIC = "public"

#: The key scope a POST needs (`xianghu/accounts/scopes.py`).
OPEN311_SCOPE = "open311:post"


@dataclass(frozen=True)
class Client:
    kind: str  # TOWNSHIP or PUBLIC
    key: ApiKey
    actor: Actor


def _forbidden(description: str) -> Open311Error:
    return Open311Error.one(403, "bad_api_key", description)


def _by_hash(plain: str) -> ApiKey | None:
    """Keys not in the `xh_<prefix>_<secret>` form (such as the documented demo key) are
    found by their digest; the digest of a guess finds nothing."""
    digest = hashlib.sha256(plain.encode()).hexdigest()
    key = ApiKey.objects.select_related("organisation").filter(key_hash=digest).first()
    if key is None or not secrets.compare_digest(key.key_hash, digest):
        return None
    return key


def client_for(plain: str | None, county: Region) -> Client:
    if not plain:
        raise _forbidden(_("api_key is required to post a service request."))
    key: ApiKey | None
    try:
        if not plain.startswith(f"{KEY_PREFIX}_"):
            raise NotAuthenticated()
        actor = apikey_authenticate(plain=plain)
        assert actor.api_key_id is not None
        key = ApiKey.objects.select_related("organisation").get(pk=actor.api_key_id)
    except NotAuthenticated:
        key = _by_hash(plain)
        if (
            key is None
            or key.revoked_at is not None
            or key.is_expired()
            or not key.organisation.is_active
        ):
            raise _forbidden(_("The api_key is not valid.")) from None
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        actor = Actor.build(
            user_id=None,
            grants=[grant_for(organisation=key.organisation, role=key.role)],
            api_key_id=key.pk,
            display_name=key.name,
        )
    if OPEN311_SCOPE not in (key.scopes or ()):
        raise Open311Error.one(
            403,
            "scope_missing",
            _("The api_key lacks the scope %(scope)s needed to post service requests.")
            % {"scope": OPEN311_SCOPE},
        )
    org = key.organisation
    if org.county_id != county.pk:
        raise _forbidden(_("The api_key belongs to another jurisdiction."))
    if org.kind in (OrgKind.TOWNSHIP, OrgKind.VILLAGE) and key.role in (
        Role.TOWNSHIP_REPORTER,
        Role.TOWNSHIP_LEADER,
    ):
        return Client(kind=TOWNSHIP, key=key, actor=actor)
    if org.kind in SOCIETY_KINDS and key.role == Role.PUBLIC_USER:
        return Client(kind=PUBLIC, key=key, actor=actor)
    raise _forbidden(_("This api_key cannot post service requests."))
