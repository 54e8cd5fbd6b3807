"""Crash safety under load (docs/reliability.md, "Crash safety"): calls created and walked
through the workflow over HTTP by several client processes that retry lost answers, while
gunicorn workers and task workers are SIGKILLed and PostgreSQL is crash-restarted; then no
acknowledged call or action is lost or duplicated, every state equals the replay of its
events, the queue is worked off and the supervision sweep has caught up
(tests/reliability/harness.py).

It runs its own PostgreSQL cluster whatever database the suite uses, so it runs once: in
the PostgreSQL run of the suite (DATABASE_URL is PostgreSQL), where CI guarantees the
server binaries (`XH_REQUIRE_POSTGRES=1` turns a missing `initdb` into a failure). A file
lock keeps two runs on one machine from overlapping.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.reliability import harness

pytestmark = [pytest.mark.postgres, pytest.mark.serial]

SMALL = harness.Load(
    calls=100, clients=4, web_workers=3, task_workers=2, chaos_interval=2.0, pg_restarts=1
)


def _required() -> bool:
    return os.environ.get("XH_REQUIRE_POSTGRES") == "1"


def test_no_acknowledged_call_or_action_is_lost_or_duplicated_under_crashes(capsys):
    if connection.vendor != "postgresql":
        pytest.skip("runs once, in the PostgreSQL run of the suite (it uses its own cluster)")
    if harness.postgres_binaries() is None:
        if _required():
            pytest.fail("initdb is required (XH_REQUIRE_POSTGRES=1): install postgresql")
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    with harness.exclusive():
        # In a folder of its own under the system temporary folder (the postgres user must
        # reach it), removed afterwards.
        figures = harness.run(SMALL)
    with capsys.disabled():
        print("\n" + "\n".join(figures.lines()))
    # The chaos happened, and the clients got through it.
    assert figures.web_kills >= 2
    assert figures.worker_kills >= 1
    assert figures.pg_restarts == 1
    assert figures.calls_acknowledged == SMALL.calls, figures.errors
    assert figures.client_errors == 0, figures.errors
    assert figures.retried_requests > 0  # some answers were lost and retried
    # Nothing the clients were told is lost or doubled.
    assert (figures.lost_calls, figures.duplicated_calls, figures.wrong_call_ids) == (0, 0, 0)
    assert (figures.lost_actions, figures.duplicated_events) == (0, 0), figures.errors
    assert (figures.state_mismatches, figures.sequence_gaps) == (0, 0), figures.errors
    assert figures.calls_in_database == SMALL.calls + SMALL.overdue_calls
    # The queue was worked off and the sweep caught up without issuing anything twice.
    assert (figures.tasks_unfinished, figures.tasks_failed) == (0, 0), figures.errors
    # Every notification was made, those of events whose process was killed right after
    # the commit too (the event outbox and its relay), and nothing is left in the outbox.
    assert (figures.notifications_missing, figures.outbox_left) == (0, 0), figures.errors
    assert figures.sweep_runs > 0
    assert figures.overdue_calls == SMALL.overdue_calls
    assert (figures.sweep_left, figures.sweep_duplicates) == (0, 0), figures.errors
    assert figures.problems == 0
