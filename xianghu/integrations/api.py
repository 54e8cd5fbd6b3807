"""REST endpoints of the integrations app, mounted at /api/v1/integrations/ (none yet)."""

from ninja import Router

router = Router(tags=["integrations"])
