"""Models of the assessment app (none yet: see docs/architecture.md for its scope)."""
