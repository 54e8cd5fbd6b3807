"""Models of the participation app: see the module's owner area (docs/participation.md)."""

from __future__ import annotations
