"""Models of the participation app (none yet: see docs/architecture.md for its scope)."""
