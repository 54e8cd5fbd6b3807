"""The demo county's routing model: trained from its list (and the shipped keywords and
examples) before the history is played, so that the history's calls are routed and their
decisions kept, as they would be in a county using the platform."""

from __future__ import annotations

from xianghu.catalog import selectors as catalog_selectors
from xianghu.regions.models import Region
from xianghu.routing import engine
from xianghu.routing.models import RoutingModel
from xianghu.routing.services import routing_train


def build_demo_routing(*, county: Region) -> RoutingModel:
    """The county's model for its list in force, trained unless it exists (a rerun is quick)."""
    version = catalog_selectors.county_version_in_force(county=county)
    existing = (
        RoutingModel.objects.filter(
            county=county, list_version=version, schema=engine.SCHEMA_VERSION
        )
        .order_by("-version")
        .first()
    )
    if existing is not None:
        return existing
    return routing_train(county=county, evaluate=False)
