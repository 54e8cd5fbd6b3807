"""REST endpoints of the assessment app, mounted at /api/v1/assessment/ (none yet)."""

from ninja import Router

router = Router(tags=["assessment"])
