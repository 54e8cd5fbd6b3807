"""The client's address behind trusted proxies (core/client_address.py), and that every
user of it — the lockout, the audit log, the rate limits — sees the same address."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from tests.factories import PASSWORD
from xianghu.core.audit import client_ip
from xianghu.core.client_address import client_address
from xianghu.core.models import AuditEvent, AuditKind
from xianghu.participation.public_limits import client_address as public_client_address

LOGIN = "/accounts/login/"


def request(xff: str | None, remote: str = "10.0.0.2"):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "xff", "expected"),
    [
        (0, None, "10.0.0.2"),
        (0, "203.0.113.7", "10.0.0.2"),  # no proxy: the header is the client's, ignored
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # a forged entry on the left
        (1, " 1.2.3.4 ,203.0.113.7 ", "203.0.113.7"),
        (2, "1.2.3.4, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.2"),  # fewer entries than proxies: REMOTE_ADDR
        (1, "", "10.0.0.2"),
        (1, None, "10.0.0.2"),
    ],
)
def test_the_client_is_the_entry_the_outermost_proxy_appended(settings, proxies, xff, expected):
    settings.XH_PROXY_COUNT = proxies
    assert client_address(request(xff)) == expected
    assert public_client_address(request(xff)) == expected


def test_no_address_at_all(settings):
    settings.XH_PROXY_COUNT = 1
    bare = RequestFactory().get("/")
    bare.META.pop("REMOTE_ADDR", None)
    assert client_address(bare) == ""
    assert public_client_address(bare) == "unknown"
    assert client_ip(bare) is None


def test_the_audit_log_keeps_only_a_valid_address(settings):
    settings.XH_PROXY_COUNT = 1
    assert client_ip(request("203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("not-an-address")) is None


@override_settings(XH_PROXY_COUNT=1, AXES_FAILURE_LIMIT=2)
def test_behind_a_proxy_the_lockout_and_the_audit_log_see_the_client(world):
    """Two clients behind the same proxy: the one who failed twice is locked out, the
    other logs in with the same account; the audit log names each client."""
    behind = {"REMOTE_ADDR": "127.0.0.1"}
    bad, good = Client(), Client()
    for _ in range(2):
        bad.post(LOGIN, {"username": "reporter", "password": "wrong"},
                 HTTP_X_FORWARDED_FOR="198.51.100.1", **behind)  # fmt: skip
    locked = bad.post(LOGIN, {"username": "reporter", "password": PASSWORD},
                      HTTP_X_FORWARDED_FOR="198.51.100.1", **behind)  # fmt: skip
    assert locked.status_code == 429
    ok = good.post(LOGIN, {"username": "reporter", "password": PASSWORD},
                   HTTP_X_FORWARDED_FOR="198.51.100.2", **behind)  # fmt: skip
    assert ok.status_code == 302
    failed = AuditEvent.objects.filter(kind=AuditKind.LOGIN_FAILED)
    assert set(failed.values_list("ip", flat=True)) == {"198.51.100.1"}
    [login] = AuditEvent.objects.filter(kind=AuditKind.LOGIN)
    assert login.ip == "198.51.100.2"
