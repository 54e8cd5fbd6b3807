"""Models of the integrations app (none yet: see docs/architecture.md for its scope)."""
