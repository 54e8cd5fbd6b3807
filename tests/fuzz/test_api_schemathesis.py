"""Fuzzing the REST API with schemathesis (issue #10, item 3; docs/reliability.md "Fuzzing").

The OpenAPI schema is loaded from the Django application in-process (WSGI) and every
operation gets generated requests — valid ones (positive) and, where the operation takes
parameters or a body, invalid ones (negative) — sent as API keys of several roles, or with
no credentials, against the authorization matrix's populated world; a share of the requests
name real objects of both counties in their path. Every response must:

- not be a server error (no 5xx),
- have a status code the operation documents,
- have a content type the operation documents,
- conform to the documented schema of its status.

Each request runs in a savepoint that is rolled back, so requests do not see each other's
writes and the world stays the same for every operation.

The CI run makes `XH_FUZZ_EXAMPLES` (default 3, ≈ 500 requests) examples per operation and generation mode;
`bench/fuzz_api.sh` raises it for the full run and collects the figures through
`XH_FUZZ_REPORT` (a JSON-lines file, one line per operation).
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from ninja import Schema
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.api import api
from tests.fuzz.conftest import FuzzWorld
from xianghu.calls.workflow import TRANSITIONS

EXAMPLES = int(os.environ.get("XH_FUZZ_EXAMPLES", "3"))
REPORT = os.environ.get("XH_FUZZ_REPORT")
SCHEMA_URL = "/api/v1/openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: At most this many combinations of real path values per operation.
MAX_PATH_COMBOS = 40


def _operation_labels() -> list[str]:
    """Every operation of the API's schema, read without a request (for parametrizing)."""
    doc = api.get_openapi_schema()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in doc["paths"].items()
        for method in operations
    )


OPERATIONS = _operation_labels()


@dataclass
class Tally:
    label: str
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    #: Modes that could not generate a single case.
    unsatisfiable: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "operation": self.label,
                "cases": self.cases,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "modes": dict(self.modes),
                "unsatisfiable": self.unsatisfiable,
                "failures": self.failures,
            },
            ensure_ascii=False,
        )


@pytest.fixture(scope="module")
def schema(fuzz_world: FuzzWorld) -> Any:
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi(SCHEMA_URL, get_wsgi_application())


def _path_strategy(operation: Any, fw: FuzzWorld) -> st.SearchStrategy[Any] | None:
    """Positive cases whose path names real objects (when the operation has a path)."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    values = dict(fw.path_values)
    values["action"] = sorted({t.action for t in TRANSITIONS})
    if any(name not in values for name in names):
        return None
    combos = list(itertools.islice(itertools.product(*(values[n] for n in names)), MAX_PATH_COMBOS))
    return st.sampled_from(combos).flatmap(
        lambda combo: operation.as_strategy(
            GenerationMode.POSITIVE, path_parameters=dict(zip(names, combo, strict=True))
        )
    )


def _takes_input(operation: Any) -> bool:
    return bool(operation.path_parameters or operation.query or operation.headers or operation.body)


def _strategies(operation: Any, fw: FuzzWorld) -> dict[str, st.SearchStrategy[Any]]:
    out: dict[str, st.SearchStrategy[Any]] = {
        "positive": operation.as_strategy(GenerationMode.POSITIVE)
    }
    real = _path_strategy(operation, fw)
    if real is not None:
        out["real objects"] = real
    if _takes_input(operation):
        out["negative"] = operation.as_strategy(GenerationMode.NEGATIVE)
    return out


def _describe(case: Any, who: str | None, error: BaseException) -> str:
    return (
        f"[{who or 'anonymous'}] {case.method} {case.formatted_path} "
        f"query={case.query!r} body={case.body!r}"[:600]
        + f"\n  {type(error).__name__}: {error}"[:1500]
    )


def _fuzz(schema: Any, fw: FuzzWorld, label: str) -> Tally:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is missing from the loaded schema"
    tally = Tally(label)
    principals = [None, *sorted(fw.keys)]
    for mode, strategy in _strategies(operation, fw).items():
        _run_mode(tally, fw, mode, strategy, principals)
    return tally


def _run_mode(
    tally: Tally,
    fw: FuzzWorld,
    mode: str,
    strategy: st.SearchStrategy[Any],
    principals: list[str | None],
) -> None:
    @given(case=strategy, who=st.sampled_from(principals))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: a CI failure reproduces locally
        phases=[Phase.explicit, Phase.generate],  # every failure is collected, none shrunk
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, who: str | None) -> None:
        headers = {}
        if who:
            headers["X-API-Key"] = fw.keys[who]
            # A generated session cookie would end in 401 auth.session_expired before
            # the key is looked at; the anonymous principal keeps it.
            case.cookies = {}
        cache.clear()  # rate limits count per address: the fuzzer is no flood
        tally.cases += 1
        tally.modes[mode] += 1
        with transaction.atomic():
            try:
                response = case.call(headers=headers)
                tally.statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, FailureGroup) as error:  # collected, reported together
                tally.failures.append(_describe(case, who, error))
            finally:
                transaction.set_rollback(True)

    try:
        run()
    except Unsatisfiable:
        # Negative data cannot be made for every schema (a path parameter that takes any
        # string has no invalid value); the positive modes still have to run.
        if mode != "negative":
            raise
        tally.unsatisfiable.append(mode)


def test_schema_lists_every_operation(schema: Any) -> None:
    """The loaded schema and the parametrized list agree, so no operation goes unfuzzed."""
    loaded = sorted(result.ok().label for result in schema.get_all_operations())
    assert loaded == OPERATIONS
    assert len(OPERATIONS) >= 70


def test_schema_names_are_unambiguous() -> None:
    """Two schemas of the same name share one entry of the OpenAPI components: the
    document would describe one of them wrongly (two `DecideIn`s and two `OrgOut`s once
    did). Same name, same JSON schema, or rename one."""
    api.get_openapi_schema()  # imports every router's schemas
    by_name: dict[str, dict[str, type[Schema]]] = {}

    def walk(cls: type[Schema]) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("xianghu."):
                by_name.setdefault(sub.__name__, {})[f"{sub.__module__}.{sub.__qualname__}"] = sub
            walk(sub)

    walk(Schema)
    clashes = {
        name: sorted(classes)
        for name, classes in by_name.items()
        if len({json.dumps(c.model_json_schema(), sort_keys=True) for c in classes.values()}) > 1
    }
    assert not clashes


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation(schema: Any, fuzz_world: FuzzWorld, db: Any, label: str) -> None:
    tally = _fuzz(schema, fuzz_world, label)
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(tally.as_json() + "\n")
    # Every mode generated requests (an operation without any input has few distinct
    # cases, so hypothesis may stop early; never at zero).
    assert tally.cases >= 1
    for mode in _strategies_names(schema, fuzz_world, label):
        assert tally.modes[mode] >= 1 or mode in tally.unsatisfiable, mode
    assert not tally.failures, f"{len(tally.failures)} failing cases:\n" + "\n".join(
        tally.failures[:10]
    )


def _strategies_names(schema: Any, fw: FuzzWorld, label: str) -> list[str]:
    return list(_strategies(schema.find_operation_by_label(label), fw))
