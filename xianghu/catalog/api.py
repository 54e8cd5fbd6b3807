"""REST endpoints of the catalog app, mounted at /api/v1/catalog/ (none yet)."""

from ninja import Router

router = Router(tags=["catalog"])
