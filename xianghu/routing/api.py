"""REST endpoints of the routing app, mounted at /api/v1/routing/ (none yet)."""

from ninja import Router

router = Router(tags=["routing"])
