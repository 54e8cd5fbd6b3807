"""The read-replica router: dashboards and public pages read through the `replica`
alias (in the tests a second connection to the test database), everything else — writes,
locks, reads inside a transaction, other pages, other methods — from `default`."""

from __future__ import annotations

import pytest
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext

from xianghu.calls.models import Call
from xianghu.core.replica import ReplicaRouter, replica_reads

REPLICA_DBS = ["default", "replica"]


def _selects(queries: CaptureQueriesContext) -> int:
    return sum(
        1 for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    )


@pytest.mark.django_db(transaction=True, databases=REPLICA_DBS)
def test_public_pages_and_dashboards_read_from_the_replica(world, lists, client, settings):
    settings.XH_REPLICA_DATABASE = "replica"
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        r = client.get("/open/")
    assert r.status_code == 200
    assert world.county.name in r.content.decode()
    assert _selects(on_replica) > 0

    # A leader's dashboard too.
    world.login(client, "assessor")
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        r = client.get("/assessment/")
    assert r.status_code == 200
    assert _selects(on_replica) > 0

    # A working page (the call list) reads from the primary.
    world.login(client, "operator")
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        r = client.get("/calls/")
    assert r.status_code == 200
    assert _selects(on_replica) == 0


@pytest.mark.django_db(transaction=True, databases=REPLICA_DBS)
def test_without_a_replica_everything_reads_from_the_primary(world, lists, client, settings):
    settings.XH_REPLICA_DATABASE = ""
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        r = client.get("/open/")
    assert r.status_code == 200
    assert _selects(on_replica) == 0


@pytest.mark.django_db(transaction=True, databases=REPLICA_DBS)
def test_writes_locks_and_transactions_stay_on_the_primary(settings):
    settings.XH_REPLICA_DATABASE = "replica"
    assert router.db_for_read(Call) == "default"  # not inside a marked request
    with replica_reads():
        assert router.db_for_read(Call) == "replica"
        assert router.db_for_write(Call) == "default"
        assert Call.objects.select_for_update().db == "default"
        with transaction.atomic():
            # Inside a transaction on the primary a read must see its own writes.
            assert router.db_for_read(Call) == "default"
    r = ReplicaRouter()
    assert r.allow_migrate("replica", "calls") is False
    assert r.allow_migrate("default", "calls") is True
