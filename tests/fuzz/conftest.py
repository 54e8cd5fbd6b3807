"""Fixtures of the fuzz tests: the authorization matrix's populated world (both counties,
every kind of object) built once per module, and API keys for a few roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections, transaction

from tests.catalog.conftest import lists as lists_fixture
from tests.conftest import world as world_fixture
from tests.security.scene import Scene, build
from xianghu.accounts.services import apikey_create
from xianghu.regions.roles import Role
from xianghu.routing import selectors as routing_selectors

#: The principals the API fuzzer sends requests as: principal → (organisation key of the
#: world, role). They cover the county centre, a township, a department and the
#: system administrator.
FUZZ_KEYS: dict[str, tuple[str, str]] = {
    "operator": ("platform", Role.PLATFORM_OPERATOR),
    "township": ("t1", Role.TOWNSHIP_REPORTER),
    "tleader": ("t1", Role.TOWNSHIP_LEADER),
    "handler": ("dept", Role.DEPARTMENT_HANDLER),
    "bianban": ("bianban", Role.BIANBAN_REVIEWER),
    "assessor": ("office", Role.ASSESSOR),
    "admin": ("platform", Role.SYSTEM_ADMIN),
}


@dataclass
class FuzzWorld:
    scene: Scene
    #: principal → plain API key (every scope).
    keys: dict[str, str] = field(default_factory=dict)
    #: URL parameter name → the values of real objects (both counties), so that a share of
    #: the generated requests reach existing objects instead of only 404s.
    path_values: dict[str, list[Any]] = field(default_factory=dict)


def _path_values(scene: Scene) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for sides in scene.params.values():
        for params in sides.values():
            for name, value in params.items():
                if isinstance(value, (int, str)) and value not in out.setdefault(name, []):
                    out[name].append(value)
    return out


@pytest.fixture(scope="module")
def fuzz_world(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[FuzzWorld]:
    """The matrix scene, made once for the module in a transaction rolled back at its end
    (the same arrangement as tests/security/test_authz_matrix.py's `scene`)."""
    from django.conf import settings

    media = tmp_path_factory.mktemp("media")
    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = str(media)
    # Requests go through the real WSGI handler, whose request signals would close the
    # database connection in the middle of the module's transaction (Django's test client
    # disconnects them the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock():
        # Mirrors (the test replica) share their primary's database and transaction.
        aliases = [a for a in connections if not connections.settings[a]["TEST"].get("MIRROR")]
        atomics = [transaction.atomic(using=alias) for alias in aliases]
        for a in atomics:
            a.__enter__()
        try:
            world = world_fixture.__wrapped__(None)
            lists = lists_fixture.__wrapped__(world)
            routing_selectors.CACHE.clear()
            scene = build(world, lists)
            fw = FuzzWorld(scene=scene, path_values=_path_values(scene))
            for principal, (org, role) in FUZZ_KEYS.items():
                _key, plain = apikey_create(
                    actor=None, organisation=world.orgs[org], role=role, name=f"fuzz {principal}"
                )
                fw.keys[principal] = plain
            yield fw
        finally:
            for alias in aliases:
                transaction.set_rollback(True, using=alias)
            for a in reversed(atomics):
                a.__exit__(None, None, None)
            settings.MEDIA_ROOT = old_media
            routing_selectors.CACHE.clear()
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
