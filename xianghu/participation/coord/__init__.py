"""Stakeholder registry and resource coordination (issue #8 items 4 and 5)."""
