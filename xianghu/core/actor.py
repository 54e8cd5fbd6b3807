"""Who is acting: a user (through memberships) or a system holding an API key.

The actor is plain data so that every app can reason about it without importing the
`regions` models; `xianghu.regions.selectors.actor_for_user` and the API-key
authentication build it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Grant:
    """One role held in one organisation (a membership, or an API key's role)."""

    organisation_id: int
    organisation_kind: str
    role: str
    county_id: int | None
    township_id: int | None
    parent_organisation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    grants: tuple[Grant, ...] = ()
    is_public: bool = False
    is_superuser: bool = False
    api_key_id: int | None = None
    display_name: str = ""
    _roles: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def build(
        cls,
        *,
        user_id: int | None,
        grants: Iterable[Grant],
        is_public: bool = False,
        is_superuser: bool = False,
        api_key_id: int | None = None,
        display_name: str = "",
    ) -> Actor:
        grants = tuple(grants)
        return cls(
            user_id=user_id,
            grants=grants,
            is_public=is_public,
            is_superuser=is_superuser,
            api_key_id=api_key_id,
            display_name=display_name,
            _roles=frozenset(g.role for g in grants),
        )

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and self.api_key_id is None

    @property
    def roles(self) -> frozenset[str]:
        return self._roles

    def has_role(self, *roles: str) -> bool:
        return not self._roles.isdisjoint(roles)

    def grants_for(self, *roles: str) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.role in roles)

    def organisation_ids(self, *roles: str) -> frozenset[int]:
        grants = self.grants_for(*roles) if roles else self.grants
        return frozenset(g.organisation_id for g in grants)

    def county_ids(self, *roles: str) -> frozenset[int]:
        grants = self.grants_for(*roles) if roles else self.grants
        return frozenset(g.county_id for g in grants if g.county_id is not None)


ANONYMOUS = Actor.build(user_id=None, grants=())
