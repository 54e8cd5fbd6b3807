"""Background tasks of routing (django-tasks; run by `manage.py worker`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def routing_retrain(*, county_code: str) -> dict[str, Any]:
    """Train the county's model now (e.g. after a new list version was published)."""
    from xianghu.regions.models import Region

    from .services import routing_train

    county = Region.objects.get(code=county_code, level="county")
    row = routing_train(county=county)
    return {"county": county_code, "version": row.version, "metrics": row.metrics}


@task()
def routing_retrain_due() -> list[str]:
    """Retrain the counties whose model is missing, outdated, trained on an older list
    version or behind by enough new decisions (`services.counties_to_retrain`); meant for
    `XH_PERIODIC_TASKS`, e.g. nightly."""
    from .services import counties_to_retrain, routing_train

    done = []
    for county in counties_to_retrain():
        routing_train(county=county)
        done.append(county.code)
    return done
