"""Models of the calls app (none yet: see docs/architecture.md for its scope)."""
