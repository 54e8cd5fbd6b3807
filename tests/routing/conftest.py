"""Fixtures of the routing tests: the calls helpers and a trained model of the world
county's list (the small list of tests/catalog/conftest.py)."""

from __future__ import annotations

import pytest

from tests.calls.conftest import act, new_call  # noqa: F401
from xianghu.routing import selectors, services


@pytest.fixture(autouse=True)
def _fresh_cache():
    # loaded models are cached by row id; ids repeat across test databases
    selectors.CACHE.clear()
    yield
    selectors.CACHE.clear()


@pytest.fixture
def trained(world, lists):
    """The world county's model, trained without the cross-validated figures."""
    return services.routing_train(county=world.county, evaluate=False)
