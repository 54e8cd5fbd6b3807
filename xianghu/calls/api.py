"""REST endpoints of the calls app, mounted at /api/v1/calls/ (none yet)."""

from ninja import Router

router = Router(tags=["calls"])
