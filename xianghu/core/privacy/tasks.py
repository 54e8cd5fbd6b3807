"""The periodic purge of expired personal data (`XH_PERIODIC_TASKS`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def privacy_purge() -> dict[str, Any]:
    """Anonymise the personal values whose retention ran out (`services.personal_data_purge`);
    the worker enqueues it daily (`XH_PRIVACY_PURGE_SECONDS`)."""
    from .services import personal_data_purge

    return personal_data_purge().as_dict()
