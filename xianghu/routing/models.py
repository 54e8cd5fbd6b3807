"""Models of the routing app (none yet: see docs/architecture.md for its scope)."""
