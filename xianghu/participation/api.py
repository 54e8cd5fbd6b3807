"""REST endpoints of the participation app, mounted at /api/v1/participation/ (none yet)."""

from ninja import Router

router = Router(tags=["participation"])
