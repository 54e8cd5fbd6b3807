"""Prepared statements where they pay, custom plans where they do not (xianghu/core/
prepared.py, docs/adr/0005-server-side-binding.md): what PostgreSQL's own view of the
session's prepared statements holds after each kind of work."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xianghu.assessment.metrics import metrics_for_period
from xianghu.assessment.periods import Period
from xianghu.core.prepared import (
    binds_on_server,
    custom_plans,
    prepare_threshold,
    prepared_statements,
)

on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="psycopg prepares on PostgreSQL only"
)


def _prepared(fragment: str = "") -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return [r[0] for r in cursor.fetchall()]


def _run(sql: str, times: int) -> None:
    with connection.cursor() as cursor:
        for n in range(times):
            cursor.execute(sql, [n])
            cursor.fetchall()


def test_the_threshold_follows_the_setting(settings):
    settings.XH_DB_PREPARE_THRESHOLD = 3
    assert prepare_threshold() == 3
    settings.XH_DB_PREPARE_THRESHOLD = 0
    assert prepare_threshold() is None


@pytest.mark.django_db
def test_without_server_side_binding_the_blocks_change_nothing(settings):
    if binds_on_server(connection):
        pytest.skip("this database binds on the server")
    with prepared_statements(), custom_plans():
        _run("SELECT %s + 1", 3)


@on_postgres
@pytest.mark.django_db
def test_statements_are_prepared_inside_the_block_only(settings):
    assert binds_on_server(connection), "the settings bind on the server by default"
    settings.XH_DB_PREPARE_THRESHOLD = 2
    _run("SELECT %s + 4101", 5)
    assert _prepared("4101") == [], "outside the block nothing is prepared"
    with prepared_statements():
        _run("SELECT %s + 4102", 3)
        assert _prepared("4102") == ["SELECT $1 + 4102"]
        with custom_plans():
            _run("SELECT %s + 4103", 5)
            assert _prepared("4103") == []
        _run("SELECT %s + 4104", 3)  # back to preparing after the inner block
        assert _prepared("4104") == ["SELECT $1 + 4104"]
    assert connection.connection.prepare_threshold is None
    _run("SELECT %s + 4105", 5)
    assert _prepared("4105") == []


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_opened_inside_the_block_prepares(settings):
    settings.XH_DB_PREPARE_THRESHOLD = 1
    connection.close()
    with prepared_statements():
        _run("SELECT %s + 4201", 3)  # opens the connection
        assert _prepared("4201") == ["SELECT $1 + 4201"]
    connection.close()
    _run("SELECT %s + 4202", 3)
    assert _prepared("4202") == []


@on_postgres
@pytest.mark.django_db
def test_the_assessment_aggregations_keep_custom_plans(world, settings):
    settings.XH_DB_PREPARE_THRESHOLD = 1
    with prepared_statements():
        for _ in range(3):
            metrics_for_period(county=world.county, period=Period.month(2026, 3))
        assert _prepared("assessment_") == []
        _run("SELECT %s + 4301", 3)
        assert _prepared("4301"), "the block around them prepares again"


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_requests_prepare_and_the_aggregation_views_plan_for_their_values(
    world, lists, client, settings
):
    settings.XH_DB_PREPARE_THRESHOLD = 1
    connection.close()  # a new session: nothing prepared yet
    # An anonymous public page (open:*) reads only in its view: nothing is prepared.
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert client.get("/open/").status_code == 200
    assert captured.captured_queries, "the page reads the database"
    assert _prepared() == []
    # The same page, not exempted, prepares what it runs again.
    settings.XH_CUSTOM_PLAN_VIEWS = []
    for _ in range(2):
        assert client.get("/open/").status_code == 200
    assert _prepared() != []
    # The console prepares its list's statements.
    world.login(client, "operator")
    for _ in range(3):
        assert client.get("/calls/").status_code == 200
    assert _prepared("calls_call")
    # Outside the requests the connection prepares nothing.
    assert connection.connection.prepare_threshold is None
