"""One unit of work (a batch of calls, the after-commit work of a batch) done with fewer
statements: within `with memo_scope(): …` the same look-up made for each of its rows
runs once (`memoized(key, compute)`), and rows written one by one go in with one INSERT
a model when the scope ends (`insert_later(obj)`). Outside a scope nothing is remembered
or held back: every other caller sees the database as it is now.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db.models import Model

T = TypeVar("T")

_scope: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "xh_memo_scope", default=None
)
_PENDING = object()  # the scope's key of the rows `insert_later` holds, by model


@contextmanager
def memo_scope() -> Iterator[None]:
    """Remember `memoized` answers until the block ends, and when it ends without an
    error insert the rows `insert_later` held (a scope inside a scope shares the outer
    one's answers and rows). Open it inside the transaction the rows belong to."""
    if _scope.get() is not None:
        yield
        return
    answers: dict[Hashable, Any] = {}
    token = _scope.set(answers)
    try:
        yield
        pending: dict[type[Model], list[Model]] = answers.pop(_PENDING, {})
        for model, rows in pending.items():
            model._default_manager.bulk_create(rows)
    finally:
        _scope.reset(token)


def insert_later(row: Model) -> bool:
    """Within a scope: hold the unsaved `row` for one INSERT of its model's held rows when
    the scope ends (its primary key is known from then on); True. Outside a scope False:
    the caller saves it now."""
    answers = _scope.get()
    if answers is None:
        return False
    answers.setdefault(_PENDING, {}).setdefault(type(row), []).append(row)
    return True


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, or within a scope the answer it gave for `key` before."""
    answers = _scope.get()
    if answers is None:
        return compute()
    if key not in answers:
        answers[key] = compute()
    return answers[key]
