"""`core.memo`: look-ups remembered within a scope only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from xianghu.core.memo import insert_later, memo_scope, memoized
from xianghu.core.models import WorkerHeartbeat


def test_answers_are_remembered_within_a_scope_only():
    calls: list[str] = []

    def look_up(key: str) -> str:
        return memoized(("k", key), lambda: calls.append(key) or key.upper())

    assert [look_up("a"), look_up("a")] == ["A", "A"]
    assert calls == ["a", "a"]  # outside a scope every call looks up
    calls.clear()
    with memo_scope():
        assert [look_up("a"), look_up("b"), look_up("a")] == ["A", "B", "A"]
        with memo_scope():  # an inner scope shares the outer one's answers
            assert look_up("b") == "B"
        assert look_up("b") == "B"
    assert calls == ["a", "b"]
    assert look_up("a") == "A"
    assert calls == ["a", "b", "a"]  # the scope's answers are gone with it


def test_a_failed_look_up_is_not_remembered():
    attempts = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("down")
        return 7

    with memo_scope():
        with pytest.raises(RuntimeError):
            memoized("x", flaky)
        assert memoized("x", flaky) == 7
        assert memoized("x", flaky) == 7
    assert len(attempts) == 2


def _beat(worker_id: str) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat(worker_id=worker_id, hostname="h", pid=1, started_at=now, seen_at=now)


@pytest.mark.django_db
def test_rows_held_in_a_scope_go_in_together_when_it_ends(django_assert_num_queries):
    assert insert_later(_beat("outside")) is False  # outside a scope: the caller saves
    first, second = _beat("w-1"), _beat("w-2")
    with django_assert_num_queries(2), memo_scope():  # the check below; one INSERT of both
        assert insert_later(first) is True
        with memo_scope():
            assert insert_later(second) is True
        assert not WorkerHeartbeat.objects.exists()  # nothing written yet
    assert sorted(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w-1", "w-2"]


@pytest.mark.django_db
def test_rows_held_in_a_scope_that_fails_are_never_written():
    def failing_batch() -> None:
        with memo_scope():
            insert_later(_beat("w-1"))
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert not WorkerHeartbeat.objects.exists()
    with memo_scope():  # a later scope starts empty
        pass
    assert not WorkerHeartbeat.objects.exists()
