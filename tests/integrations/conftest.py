"""Helpers of the Open311 conformance suite: API keys, both formats, schema validation."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource

from xianghu.accounts.services import apikey_create
from xianghu.regions.roles import Role

SCHEMA_DIR = Path(__file__).parent / "schema"
# Our copies of open311/schema-validation (commit 47e06a4); see ../shared/open311/.
_SCHEMAS = {p.name: json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")}
_REGISTRY = Registry().with_resources(
    (name, Resource.opaque(schema)) for name, schema in _SCHEMAS.items()
)
# In XML each list is a wrapper whose children have the singular name.
_SINGULAR = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def validate(schema: str, data: Any) -> None:
    """Raise unless `data` is valid against the named Open311 schema."""
    Draft4Validator(_SCHEMAS[schema], registry=_REGISTRY, format_checker=FormatChecker()).validate(
        data
    )


def from_xml(element: ET.Element) -> Any:
    """The JSON shape of an XML element (values as the strings XML carries)."""
    if element.tag in _SINGULAR:
        return [from_xml(child) for child in element]
    if len(element):
        return {child.tag: from_xml(child) for child in element}
    return element.text


def as_strings(value: Any) -> Any:
    """JSON values as XML shows them: booleans true/false, numbers as text, null as empty."""
    if isinstance(value, dict):
        return {k: as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None  # an empty element
    return str(value)


@dataclass
class Answer:
    status: int
    content_type: str
    data: Any  # JSON, or XML turned into the same shape (strings)
    raw: bytes


class Open311:
    """A client for /open311/v2/ that checks the envelope of every answer."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _answer(self, response: Any, fmt: str) -> Answer:
        body = response.content
        if fmt == "json":
            assert response["Content-Type"] == "application/json; charset=utf-8"
            data = json.loads(body.decode("utf-8"))
        else:
            assert response["Content-Type"] == "text/xml; charset=utf-8"
            assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
            data = from_xml(ET.fromstring(body))  # noqa: S314  (our own server's output)
        if response.status_code >= 400:
            check_errors(data, response.status_code)
        return Answer(response.status_code, response["Content-Type"], data, body)

    def get(self, path: str, fmt: str = "json", **params: Any) -> Answer:
        return self._answer(self.client.get(f"/open311/v2/{path}.{fmt}", params), fmt)

    def post(self, fmt: str = "json", headers: dict[str, str] | None = None, **form: Any) -> Answer:
        response = self.client.post(f"/open311/v2/requests.{fmt}", form, headers=headers or {})
        return self._answer(response, fmt)

    def both(self, path: str, **params: Any) -> tuple[Answer, Answer]:
        """The JSON and XML answers, after checking they say the same thing."""
        j, x = self.get(path, "json", **params), self.get(path, "xml", **params)
        assert j.status == x.status
        assert as_strings(j.data) == x.data
        return j, x


def check_errors(data: Any, status: int) -> None:
    """Errors are an array of {code, description} (spec 9), code = the HTTP status."""
    assert isinstance(data, list)
    assert data
    for error in data:
        assert str(error["code"]) == str(status)
        assert error["description"]


@pytest.fixture
def o311(client: Client) -> Open311:
    return Open311(Client(enforce_csrf_checks=True))


@dataclass
class Keys:
    township: str
    village: str
    public: str
    department: str
    other_county: str
    revoked: str


@pytest.fixture
def keys(world: Any) -> Keys:
    from xianghu.accounts.services import apikey_revoke

    def make(org: str, role: str) -> str:
        return apikey_create(
            actor=None, organisation=world.orgs[org], role=role, name=f"{org} system"
        )[1]

    revoked_key, revoked = apikey_create(
        actor=None, organisation=world.orgs["t1"], role=Role.TOWNSHIP_REPORTER, name="old"
    )
    apikey_revoke(actor=None, key=revoked_key)
    return Keys(
        township=make("t1", Role.TOWNSHIP_REPORTER),
        village=make("v1", Role.TOWNSHIP_REPORTER),
        public=make("enterprise", Role.PUBLIC_USER),
        department=make("dept", Role.DEPARTMENT_HANDLER),
        other_county=make("tb", Role.TOWNSHIP_REPORTER),
        revoked=revoked,
    )


from tests.calls.conftest import act, new_call  # noqa: E402, F401  (the calls fixtures)
