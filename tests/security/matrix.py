"""The machinery of the authorization matrix (tests/security/test_authz_matrix.py).

* `page_routes()` walks the URL configuration (`get_resolver()`, recursively, with
  namespaces) and `api_operations()` the OpenAPI schema of the REST API: together they are
  every page and endpoint the platform serves.
* A `Rule` classifies one of them: who may use it, and which object (if any) it is about.
* `plan()` turns a rule into the requests to make: every principal (each user of the
  `world` fixture, the anonymous visitor and, for the API, two API keys) × the object of the
  world's county (side A) and of the other county (side B), plus the "missing object"
  twin of every refused foreign object, plus the `?format=` twins of the page.
* `judge()` says whether one answer is right, and `run()` makes the requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.sites import AdminSite
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# ---- principals -------------------------------------------------------------------------------

#: The users of the `world` fixture (tests/conftest.py), by their key there.
WORLD_USERS: tuple[str, ...] = (
    "reporter",
    "tleader",
    "reporter_t2",
    "village_reporter",
    "operator",
    "handler",
    "dleader",
    "police_leader",
    "agency_handler",
    "bianban",
    "assessor",
    "admin",
    "volunteer",
    "operator_b",
    "reporter_b",
    "citizen",
    "nomember",
)
ANON = "anon"
PAGE_PRINCIPALS: tuple[str, ...] = (*WORLD_USERS, ANON)
#: API keys (with every scope) that stand for a system acting as the given user would.
API_KEYS: dict[str, str] = {"key:tleader": "tleader", "key:operator_b": "operator_b"}
API_PRINCIPALS: tuple[str, ...] = (*PAGE_PRINCIPALS, *API_KEYS)

#: The county each principal works in: A (清河县, the world's county), B (柳河县), or None
#: (the public, the system administrator who sees every county, the anonymous visitor).
COUNTY_B_USERS = frozenset({"operator_b", "reporter_b"})
NO_COUNTY = frozenset({"citizen", "nomember", ANON})


def side_of(principal: str) -> str | None:
    principal = API_KEYS.get(principal, principal)
    if principal in NO_COUNTY:
        return None
    return "B" if principal in COUNTY_B_USERS else "A"


#: The other county's principal with the same role as a principal of the world's county.
MIRROR = {"operator": "operator_b", "reporter": "reporter_b"}
#: Principals whose answer does not depend on the object's county.
COUNTY_FREE = frozenset({"citizen", "nomember", "volunteer", ANON})

EVERYONE = frozenset(PAGE_PRINCIPALS)
#: Who asks for a page without data: the same for everyone, whoever asks.
STATIC_SAMPLE = frozenset({ANON, "reporter", "citizen", "admin"})
LOGGED_IN = EVERYONE - {ANON}


def group(*keys: str) -> frozenset[str]:
    unknown = set(keys) - EVERYONE
    assert not unknown, unknown
    return frozenset(keys)


# ---- rules ------------------------------------------------------------------------------------

#: Classes of routes (the `cls` of a rule), as docs/security.md lists them.
CLASSES = {
    "public": "anyone, without logging in",
    "login": "any logged-in user",
    "roles": "logged-in users with one of the listed roles",
    "object": "about one object: who sees it (own county) — another county's is 404",
    "admin": "the Django admin: system administrators only",
    "static": "without data (manifest, service worker, the API's schema): asked by a sample",
}

SAME = "same"  # `other=SAME`: the other county's object is as open as the own one


@dataclass(frozen=True)
class Rule:
    """Who may use a page or an endpoint.

    `allow`: the principals that get it (a 2xx or a redirect that is not the login page);
    for an object rule, on the object of the world's county. `other`: the same for the
    other county's object (default: the other county's counterparts of `allow`, and
    those who see every county's). Everyone else must be refused (401/403/404 or, for
    the anonymous visitor, the login page) — and, on an object of a county that is not
    theirs, exactly as if the object did not exist.
    """

    cls: str
    allow: frozenset[str]
    obj: str | None = None
    other: frozenset[str] | str | None = None
    #: Page methods: ("GET",), ("POST",) for an action, ("GET", "POST") for a form.
    methods: tuple[str, ...] = ("GET",)
    #: URL parameters that are no object's (an action's name, a file format).
    extra: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    #: The body of a write (form fields of a page, JSON of the API): a minimal valid one
    #: where an empty one would be turned away as invalid before anyone's rights are
    #: looked at ("{pk}" and the like are filled from the object's parameters).
    body: Any = field(default_factory=dict)
    #: `?format=` twins of a page (JSON, CSV, Excel) that must follow the same rule.
    twins: tuple[str, ...] = ()
    #: Who sees that the object exists (side A, side B): a refusal may say "forbidden"
    #: (403) to them; to anyone else it must look like a missing object. Default: the
    #: viewers of the object's kind (`VIEWERS` of the test module), else `allow`/`other`.
    sees: tuple[frozenset[str], frozenset[str]] | None = None
    #: The login page is the expected answer (logging out).
    login_ok: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        assert self.cls in CLASSES, self.cls
        assert (self.obj is None) == (self.cls != "object"), (self.cls, self.obj)
        assert self.allow <= EVERYONE, self.allow - EVERYONE

    def allowed(self, principal: str, side: str | None) -> bool:
        who = API_KEYS.get(principal, principal)
        if side in (None, "A"):
            return who in self.allow
        return who in self.other_allow()

    def sees_it(self, principal: str, side: str) -> bool:
        """Whether the principal may know that the object of `side` exists."""
        who = API_KEYS.get(principal, principal)
        if self.allowed(principal, side):
            return True
        if self.sees is None:
            return False
        return who in self.sees[0 if side == "A" else 1]

    def other_allow(self) -> frozenset[str]:
        if self.other == SAME:
            return self.allow
        if isinstance(self.other, frozenset):
            return self.other
        return frozenset(
            {MIRROR[p] for p in self.allow if p in MIRROR}
            | (self.allow & (COUNTY_FREE | {"admin"}))
        )


def public(**kw: Any) -> Rule:
    return Rule("public", EVERYONE, **kw)


def static(**kw: Any) -> Rule:
    return Rule("static", EVERYONE, **kw)


def login(**kw: Any) -> Rule:
    return Rule("login", LOGGED_IN, **kw)


def roles(*keys: str, **kw: Any) -> Rule:
    return Rule("roles", group(*keys), **kw)


def obj(kind: str, *keys: str, other: Any = None, **kw: Any) -> Rule:
    allow = EVERYONE if keys == ("*",) else group(*keys)
    if isinstance(other, tuple):
        other = group(*other)
    return Rule("object", allow, obj=kind, other=other, **kw)


def admin_only(**kw: Any) -> Rule:
    return Rule("admin", group("admin"), **kw)


# ---- what exists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the URL name ("calls:detail"), or the pattern of an unnamed one
    pattern: str  # the full pattern, for messages
    params: tuple[str, ...]
    namespace: str


_PARAM = re.compile(r"<(?:[^>:]+:)?([^>]+)>|\(\?P<([^>]+)>")


def _params(pattern: str) -> tuple[str, ...]:
    return tuple(a or b for a, b in _PARAM.findall(pattern))


def _walk(
    resolver: URLResolver, prefix: str = "", namespaces: tuple[str, ...] = ()
) -> Iterator[tuple[str, str | None, tuple[str, ...]]]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = namespaces + ((p.namespace,) if p.namespace else ())
            yield from _walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = ":".join((*namespaces, p.name)) if p.name else None
            yield prefix + str(p.pattern), name, namespaces


def page_routes() -> dict[str, Route]:
    """Every URL pattern of the site except the REST API's operations (which the schema
    lists with their methods), by name (or pattern when unnamed)."""
    routes: dict[str, Route] = {}
    for pattern, name, namespaces in _walk(get_resolver()):
        key = name or pattern
        ns = namespaces[0] if namespaces else ""
        if ns == "api" and name not in API_SITE_PAGES:
            continue
        assert key not in routes, f"two URL patterns share the key {key}"
        routes[key] = Route(key, pattern, _params(pattern), ns)
    return routes


#: The pages of the API's URL namespace that are no operation of its schema.
API_SITE_PAGES = frozenset({"api:openapi-json", "api:openapi-view", "api:api-root"})


def api_url_paths() -> set[str]:
    """The paths of the API's operations in the URL configuration, written as in the
    schema (`/api/v1/calls/{call_id}`)."""
    return {
        "/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", pattern)
        for pattern, name, namespaces in _walk(get_resolver())
        if namespaces[:1] == ("api",) and name not in API_SITE_PAGES
    }


@dataclass(frozen=True)
class Operation:
    key: str  # "GET /api/v1/calls/{call_id}"
    method: str
    path: str
    params: tuple[str, ...]
    secured: bool  # needs a login or a key


def api_operations(schema: dict[str, Any]) -> dict[str, Operation]:
    ops: dict[str, Operation] = {}
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            key = f"{method.upper()} {path}"
            params = tuple(re.findall(r"\{([^}]+)\}", path))
            ops[key] = Operation(key, method.upper(), path, params, bool(op.get("security")))
    return ops


def admin_models(site: AdminSite) -> set[str]:
    return {f"{m._meta.app_label}.{m._meta.model_name}" for m in site._registry}


# ---- requests ---------------------------------------------------------------------------------

MISSING_INT = 987_654_321
MISSING_STR = "ZZ-MISSING-9"


@dataclass(frozen=True)
class Probe:
    """One request of the plan."""

    principal: str
    method: str
    side: str | None  # the object's county, None for a page about no object
    missing: bool = False  # the same request on an object that does not exist
    fmt: str = ""  # a `?format=` twin

    def label(self) -> str:
        where = "missing" if self.missing else (self.side or "-")
        twin = f"?format={self.fmt}" if self.fmt else ""
        return f"{self.principal:<16} {self.method:<6} {where}{twin}"


def plan(rule: Rule, methods: tuple[str, ...], principals: tuple[str, ...]) -> list[Probe]:
    """Every request the matrix makes for one rule, in order: refusals first (so that an
    allowed write does not change what a refused principal then sees)."""
    sides: tuple[str | None, ...] = ("A", "B") if rule.obj else (None,)
    if rule.cls == "static":
        principals = tuple(p for p in principals if p in STATIC_SAMPLE)
    probes: list[Probe] = []
    for method in methods:
        for fmt in ("", *rule.twins):
            if fmt and method != "GET":
                continue
            for side in sides:
                for p in principals:
                    probes.append(Probe(p, method, side, fmt=fmt))
                    # The same request about an object that does not exist (one for both
                    # sides: its URL is the same).
                    twin = Probe(p, method, None, missing=True, fmt=fmt)
                    if side is not None and not rule.sees_it(p, side) and twin not in probes:
                        probes.append(twin)
    # Writes: the refused first.
    return sorted(probes, key=lambda pr: pr.method != "GET" and rule.allowed(pr.principal, pr.side))


@dataclass
class Answer:
    status: int
    location: str = ""
    text: str = ""  # the body of a textual answer (HTML, JSON, CSV, XML)


#: Who works in the world's county or in none: nothing marked with the other county's
#: canary may reach them (the system administrator, who sees every county's calls, and
#: the other county's own staff are left out).
CANARY_BLIND = frozenset({*PAGE_PRINCIPALS, "key:tleader"} - {"admin", "operator_b", "reporter_b"})
_TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript")


def judge(rule: Rule, probe: Probe, answer: Answer, missing: Answer | None, secured: bool) -> str:
    """ "" when the answer is right, else what is wrong. `secured`: an API operation that
    needs a login (the anonymous caller must get 401)."""
    st = answer.status
    if st >= 500:
        return f"server error {st}"
    login_page = st in (301, 302) and "/accounts/login/" in answer.location
    admin_login = st in (301, 302) and "/admin/login/" in answer.location
    if rule.allowed(probe.principal, probe.side):
        if probe.method != "GET":
            # An empty write by who may write: refused as invalid, or done — never an
            # error, and never treated as someone who may not.
            if st == 401 or admin_login or (login_page and not rule.login_ok):
                return f"allowed but got {st} {answer.location}"
            return ""
        if 200 <= st < 300 or (300 <= st < 400 and not login_page and not admin_login):
            return ""
        if login_page and rule.login_ok:
            return ""
        return f"allowed but got {st} {answer.location}"
    if 200 <= st < 300 or (300 <= st < 400 and not login_page and not admin_login):
        return f"LEAK: refused principal got {st} {answer.location}"
    if missing is not None:
        # Who may not know the object exists gets exactly the answer about a missing one.
        if (missing.status, _where(missing)) != (st, _where(answer)):
            return f"LEAK: {st} here but {missing.status} for a missing object (existence shows)"
    else:
        refused = st in (401, 403, 404) or login_page or admin_login
        if probe.side is not None:
            # Who sees the object may be told that the step is not theirs or not now
            # (409), or that the request is not one they could make (400, 422).
            refused = refused or st in (400, 409, 422)
        if not refused:
            return f"not a refusal: {st} {answer.location}"
    if secured and probe.principal == ANON and st != 401:
        return f"anonymous API request got {st}, not 401"
    return ""


def _where(answer: Answer) -> str:
    return answer.location.split("?", 1)[0]


def fill(template: Any, params: dict[str, Any]) -> Any:
    """A body or query template with the parameters filled in: "{name}" alone is the
    parameter itself (a number, a list, a whole body), else `str.format`."""
    if isinstance(template, dict):
        return {k: fill(v, params) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, params) for v in template]
    if isinstance(template, str):
        whole = re.fullmatch(r"\{(\w+)\}", template)
        if whole:
            return params[whole.group(1)]
        return template.format(**params)
    return template


def missing_params(params: dict[str, Any]) -> dict[str, Any]:
    def gone(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | str):
            return v  # a body part, not a name
        return MISSING_INT if isinstance(v, int) else MISSING_STR

    return {k: gone(v) for k, v in params.items()}


@dataclass
class Tally:
    requests: int = 0
    problems: list[str] = field(default_factory=list)


def send(
    client: Client,
    method: str,
    url: str,
    *,
    query: dict[str, str],
    api_key: str | None,
    api: bool,
    body: dict[str, Any],
) -> Answer:
    headers = {"X-API-Key": api_key} if api_key else {}
    if query and method != "GET":
        url = f"{url}?{urlencode(query)}"
    if method == "GET":
        r = client.get(url, query, headers=headers)
    elif api:
        r = client.generic(
            method, url, json.dumps(body), content_type="application/json", headers=headers
        )
    else:
        r = client.post(url, body, headers=headers)
    content = b"".join(r.streaming_content) if r.streaming else r.content
    textual = r.get("Content-Type", "").startswith(_TEXTUAL)
    text = content.decode("utf-8", "replace") if textual else ""
    return Answer(r.status_code, r.get("Location", ""), text)
