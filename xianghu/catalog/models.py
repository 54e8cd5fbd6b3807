"""Models of the catalog app (none yet: see docs/architecture.md for its scope)."""
