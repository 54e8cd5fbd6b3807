"""Where practice (training) data lives, so that every app can leave it out.

The training app (`xianghu.training`) builds each trainee's practice county under one
root region that is no real province: GB/T 2260 assigns no province code 99, so no real
region's path starts with `990000/`. Pages that list "every county on the platform" to
the public (open pages, public reporting, Open311 jurisdictions, the public directory,
oversight's list of provinces) exclude this subtree with `outside_sandbox`. The kernel
holds the rule because the apps that must apply it sit below the training app.
"""

from __future__ import annotations

from django.db.models import Q

SANDBOX_ROOT_CODE = "990000"
SANDBOX_PATH = f"{SANDBOX_ROOT_CODE}/"


def outside_sandbox(prefix: str = "") -> Q:
    """A filter keeping regions (or, with `prefix` such as "region__", rows about
    regions) that are not practice data."""
    return ~Q(**{f"{prefix}path__startswith": SANDBOX_PATH})


def is_sandbox_path(path: str) -> bool:
    return path.startswith(SANDBOX_PATH)
