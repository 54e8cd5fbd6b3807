"""The distributed task engine (issue #9): 2 web processes and 2 RQ workers on
PostgreSQL and Redis serve a load of calls walked through the workflow by 4 client
processes; afterwards every call and every step exists exactly once, every notification
was made and handled by each external channel's task once, nothing is left in the queue
or the outbox, and the sweeps ran (tests/reliability/harness.py with `tasks_backend="rq"`,
no kills). Runs in the PostgreSQL run of the suite, with its own PostgreSQL cluster and a
Redis database of its own (`XH_TEST_REDIS_URL`, default database 11 of the local server).
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.reliability import harness

pytestmark = [pytest.mark.postgres, pytest.mark.serial]

REDIS_URL = os.environ.get("XH_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
LOAD = harness.Load(
    calls=60,
    clients=4,
    web_workers=2,
    task_workers=2,
    chaos=False,
    pg_restarts=0,
    tasks_backend="rq",
    redis_url=REDIS_URL,
)


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def test_two_web_processes_and_two_rq_workers_handle_everything_exactly_once(capsys):
    if connection.vendor != "postgresql":
        pytest.skip("runs once, in the PostgreSQL run of the suite (it uses its own cluster)")
    required = os.environ.get("XH_REQUIRE_POSTGRES") == "1"
    if harness.postgres_binaries() is None:
        if required:
            pytest.fail("initdb is required (XH_REQUIRE_POSTGRES=1): install postgresql")
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    if not _redis_up():
        if required:
            pytest.fail(f"Redis is required at {REDIS_URL} (scripts/ensure-services)")
        pytest.skip(f"no Redis at {REDIS_URL}")
    with harness.exclusive():
        figures = harness.run(LOAD)
    with capsys.disabled():
        print("\n" + "\n".join(figures.lines()))
    assert (figures.web_kills, figures.worker_kills, figures.pg_restarts) == (0, 0, 0)
    assert figures.calls_acknowledged == LOAD.calls, figures.errors
    assert figures.client_errors == 0, figures.errors
    assert (figures.lost_calls, figures.duplicated_calls, figures.wrong_call_ids) == (0, 0, 0)
    assert (figures.lost_actions, figures.duplicated_events) == (0, 0), figures.errors
    assert (figures.state_mismatches, figures.sequence_gaps) == (0, 0), figures.errors
    assert figures.actions_acknowledged > LOAD.calls  # most calls walked on
    # Every notification made once and handled by each channel's task once, on RQ.
    assert figures.notifications_missing == 0, figures.errors
    assert figures.channel_deliveries_missing == 0, figures.errors
    assert figures.outbox_left == 0, figures.errors
    assert (figures.tasks_unfinished, figures.tasks_failed) == (0, 0), figures.errors
    assert figures.tasks_total > figures.calls_acknowledged  # the tasks ran on RQ
    assert figures.sweep_runs >= 2
    assert (figures.sweep_left, figures.sweep_duplicates) == (0, 0), figures.errors
    assert figures.overdue_calls == LOAD.overdue_calls
    assert figures.problems == 0
