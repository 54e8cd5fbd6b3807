"""Answers remembered for the length of one unit of work (a batch of calls, the
after-commit work of a batch), so that the same look-up made for each of its rows runs
once: `with memo_scope(): …` and, in the look-up, `memoized(key, compute)`. Outside a
scope nothing is remembered: every other caller sees the database as it is now.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_scope: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "xh_memo_scope", default=None
)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Remember `memoized` answers until the block ends (a scope inside a scope shares
    the outer one's answers)."""
    if _scope.get() is not None:
        yield
        return
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or within a scope the answer it gave for `key` before."""
    answers = _scope.get()
    if answers is None:
        return compute()
    if key not in answers:
        answers[key] = compute()
    return answers[key]
