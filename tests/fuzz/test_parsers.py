"""Property tests of the parsers that read outside input (issue #10, item 3; docs/reliability.md
"Fuzzing"): the catalogue import (CSV), the 12345 hotline's rows, file import and signed
webhook, and Open311 POST form bodies.

For arbitrary input each must answer with the domain's own errors, each with a stable code
(`catalog.*`, `hotline.*`, Open311's `reason`), never with another exception or a server
error, and never write part of what it refused. The inputs start from valid ones and
mutate, drop or replace their fields, so that examples reach the deep checks instead of
stopping at the first missing header. Every example runs in a savepoint rolled back at
its end. `tests/catalog/test_io.py` already feeds arbitrary bytes and grids to the list
reader alone; these add the writes.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalog.conftest import Lists
from tests.conftest import World
from xianghu.accounts.services import apikey_create
from xianghu.calls.models import Call
from xianghu.catalog import services as catalog_services
from xianghu.catalog.io import CSV_HEADERS, read_upload
from xianghu.catalog.models import Item, ListVersion
from xianghu.core.errors import DomainError
from xianghu.integrations.hotline import services as hotline_services
from xianghu.integrations.hotline.importer import run_import
from xianghu.integrations.hotline.models import (
    ImportRun,
    RunStatus,
    Ticket,
    WebhookReceipt,
)
from xianghu.integrations.hotline.rows import FIELDS, RowError, RowParser, TicketRow
from xianghu.integrations.hotline.webhook import sign
from xianghu.participation.models import PublicReport
from xianghu.regions.roles import Role

EXAMPLES = 30
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The world is made once per test, not per example: every example rolls back.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a form, a file or a JSON body can carry (no lone surrogates: they cannot be encoded).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
LONG_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=200, max_size=12_000)


def _mutated(base: dict[str, str], extra: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    """`base` with some fields replaced by `extra`'s values and some dropped."""
    keys = sorted(base)
    return st.builds(
        lambda replaced, dropped: {
            k: v for k, v in {**base, **replaced}.items() if k not in dropped
        },
        st.dictionaries(st.sampled_from(keys), extra, max_size=4),
        st.sets(st.sampled_from(keys), max_size=2),
    )


class Rollback(Exception):
    """Ends an example's savepoint."""


def _isolated(check: Any) -> None:
    """Run `check` in a savepoint that is always rolled back."""
    cache.clear()  # rate limits count per address
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


# ---- the catalogue import (CSV) -----------------------------------------------------------

_ROW = {
    "code": "D1-01",
    "domain_code": "D1",
    "domain_name": "安全生产与应急管理",
    "item_name": "工矿商贸企业安全生产监管",
    "item_name_en": "safety oversight",
    "primary_level": "county",
    "primary_departments": "应急管理局",
    "assisting_departments": "公安局",
    "primary_duties": "执法检查、行政处罚",
    "cooperating_duties": "日常巡查、发现隐患及时报告",
    "respond_limit": "24h",
    "complete_limit": "5wd",
    "callable": "true",
    "source": "S",
}
_CATALOG_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "D1-02",
            "D1-04-1",
            "L-1",
            "township",
            "county",
            "乡镇",
            "应急管理局;公安局",
            "不存在的局",
            "30m",
            "0m",
            "3wd",
            "5天",
            "maybe",
            "false",
            "x" * 300,
        ]
    ),
    TEXT,
)
_CATALOG_ROWS = st.lists(
    st.builds(
        lambda row, n: {**row, "code": row.get("code", "") and f"{row['code']}{n}"},
        _mutated(_ROW, _CATALOG_VALUES),
        st.sampled_from(["", "", "-9", "-1"]),
    ),
    min_size=1,
    max_size=5,
)


def _catalog_csv(rows: list[dict[str, str]], headers: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=headers, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


_CATALOG_HEADERS = st.one_of(
    st.just(list(CSV_HEADERS)),
    st.lists(st.sampled_from(list(CSV_HEADERS)), min_size=1, max_size=16, unique=True),
)


@PROPERTY
@given(rows=_CATALOG_ROWS, headers=_CATALOG_HEADERS)
def test_a_catalogue_import_saves_all_or_nothing(
    world: World, lists: Lists, rows: list[dict[str, str]], headers: list[str]
) -> None:
    data = _catalog_csv(rows, headers)

    def check() -> None:
        before = (ListVersion.objects.count(), Item.objects.count())
        refused: DomainError | None = None
        try:
            specs = read_upload(filename="清单.csv", data=data, county=world.county)
            version = catalog_services.version_import(
                catalogue=lists.catalogue, specs=specs, title="导入", actor=None
            )
        except DomainError as error:
            refused = error
        if refused is not None:
            assert refused.code.startswith(("catalog.", "invalid_input")), refused.code
            assert (ListVersion.objects.count(), Item.objects.count()) == before
        else:
            assert ListVersion.objects.count() == before[0] + 1
            assert set(Item.objects.filter(version=version).values_list("code", flat=True)) >= {
                s.code for s in specs
            }

    _isolated(check)


def test_the_catalogue_rows_reach_a_saved_version(world: World, lists: Lists) -> None:
    """The unmutated row imports (so the property above also sees successes)."""
    specs = read_upload(
        filename="清单.csv", data=_catalog_csv([_ROW], list(CSV_HEADERS)), county=world.county
    )
    version = catalog_services.version_import(
        catalogue=lists.catalogue, specs=specs, title="导入", actor=None
    )
    assert list(Item.objects.filter(version=version).values_list("code", flat=True)) == ["D1-01"]


# ---- 12345 hotline: rows, files, the webhook ------------------------------------------------

_TICKET = {
    "number": "WH-1",
    "content": "王庄镇兴隆街路灯不亮",
    "type": "投诉",
    "received_at": "2025-03-01 08:30",
    "caller_phone": "13812345678",
    "address": "清河县王庄镇兴隆街",
    "urgency": "一般",
}
_HOTLINE_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "咨询",
            "其他",
            "紧急",
            "2025-02-30 08:00",
            "45000",
            "9999-12-31 23:59",
            "371221",
            "371221001",
            "371222",
            "999999",
            "柳河县北关镇",
            "0531-1234567",
            "not a phone",
            "a\x00b",
        ]
    ),
    TEXT,
    LONG_TEXT,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)
_TICKETS = _mutated(_TICKET, _HOTLINE_VALUES)


@PROPERTY
@given(ticket=st.dictionaries(st.sampled_from(list(FIELDS)), _HOTLINE_VALUES) | _TICKETS)
def test_a_hotline_row_is_a_ticket_or_coded_errors(world: World, ticket: dict[str, Any]) -> None:
    parsed = RowParser(world.county).parse(7, ticket)
    if isinstance(parsed, TicketRow):
        assert parsed.number
        assert parsed.content
    else:
        assert parsed
        for error in parsed:
            assert isinstance(error, RowError)
            assert error.code.startswith("hotline."), error.code
            assert error.row == 7


_HEAD = ["工单编号", "来电时间", "来电号码", "诉求类型", "诉求内容", "事发地址", "紧急程度"]
_FILE_ROW = dict(
    zip(
        _HEAD,
        [
            "A1",
            "2025-03-01 08:30:00",
            "13812345678",
            "投诉",
            "王庄镇路灯不亮",
            "清河县王庄镇",
            "一般",
        ],
        strict=True,
    )
)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def _hotline_csv(rows: list[dict[str, Any]], head: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=head, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="replace")


@PROPERTY
@given(
    rows=st.lists(_mutated(_FILE_ROW, _HOTLINE_VALUES), max_size=5),
    head=st.one_of(st.just(_HEAD), st.permutations(_HEAD).map(lambda h: h[:5]), st.lists(TEXT)),
    raw=st.none() | st.binary(max_size=300),
)
def test_a_hotline_file_import_writes_exactly_its_good_rows(
    world: World, media: Path, rows: list[dict[str, Any]], head: list[str], raw: bytes | None
) -> None:
    data = raw if raw is not None else _hotline_csv(rows, head)

    def check() -> None:
        source = hotline_services.source_ensure(actor=None, county=world.county, name="12345")
        path = media / "工单.csv"
        path.write_bytes(data)
        run = hotline_services.run_for_file(source=source, path=path)
        before = Ticket.objects.count()
        with translation.override("en"):
            run = run_import(run=run)
        run = ImportRun.objects.get(pk=run.pk)
        assert run.status in (RunStatus.DONE, RunStatus.FAILED)
        assert "internal error" not in run.message
        written = Ticket.objects.count() - before
        if run.status == RunStatus.FAILED:
            assert written == 0
        else:
            assert written == run.inserted
            assert run.inserted + run.updated <= run.total
            # (`failed` counts problems, not rows: a row with two is counted twice.)
            assert (run.failed == 0) == (not run.errors)
            assert all(str(e["code"]).startswith("hotline.") for e in run.errors)

    _isolated(check)


SECRET = "s3cret-of-the-hotline"
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
_PAYLOADS = st.one_of(
    _TICKETS,
    st.lists(_TICKETS | _JSON, max_size=4).map(lambda ts: {"tickets": ts}),
    _JSON,
)


@PROPERTY
@given(payload=_PAYLOADS, raw=st.none() | st.binary(max_size=200))
def test_a_signed_webhook_push_answers_with_codes_and_writes_only_good_tickets(
    world: World, payload: Any, raw: bytes | None
) -> None:
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()

    def check() -> None:
        source = hotline_services.source_ensure(
            actor=None, county=world.county, name="12345", secret=SECRET
        )
        WebhookReceipt.objects.all().delete()
        before = Ticket.objects.count()
        stamp = str(int(time.time()))
        response = Client().post(
            reverse("integrations:hotline_webhook", args=[source.pk]),
            data=body,
            content_type="application/json",
            headers={
                "X-Xianghu-Timestamp": stamp,
                "X-Xianghu-Signature": sign(SECRET, stamp, body),
            },
        )
        assert response.status_code in (200, 400), response.content
        answer = response.json()
        written = Ticket.objects.count() - before
        if "code" in answer:  # refused as a whole
            assert answer["code"].startswith("hotline.webhook."), answer
            assert written == 0
        else:
            assert written == answer["inserted"]
            assert all(e["code"].startswith("hotline.") for e in answer["errors"])
            assert answer["failed"] <= answer["received"]

    _isolated(check)


# ---- Open311 POST form bodies ------------------------------------------------------------------

_FORM_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "D1-01",
            "D1-04-1",
            "nope",
            "371221",
            "371222",
            "36.81",
            "115.72",
            "91",
            "-181",
            "nan",
            "inf",
            "1e400",
            "urgent",
            "normal",
            "王庄镇1村东头",
            "https://example.org/a.jpg",
            "javascript:alert(1)",
            "<b>x</b>",
            "a@example.org",
        ]
    ),
    TEXT,
    LONG_TEXT,
)
_FORM = {
    "jurisdiction_id": "371221",
    "service_code": "D1-01",
    "lat": "36.81",
    "long": "115.72",
    "address_string": "王庄镇1村东头",
    "description": "厂房内堆放易燃物品",
    "attribute[urgency]": "urgent",
}
_EXTRA_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "address_id",
            "media_url",
            "email",
            "phone",
            "idempotency_key",
            "attribute[other]",
            "attribute[urgency][]",
            "account_id",
        ]
    )
    | TEXT.filter(bool),
    _FORM_VALUES,
    max_size=3,
)


@PROPERTY
@given(
    form=st.builds(lambda f, extra: {**f, **extra}, _mutated(_FORM, _FORM_VALUES), _EXTRA_FIELDS),
    key=st.sampled_from(["township", "public", "department", "other", "bad", None]),
    fmt=st.sampled_from(["json", "xml"]),
)
def test_an_open311_post_answers_with_coded_errors_and_writes_nothing_when_refused(
    world: World, lists: Lists, form: dict[str, str], key: str | None, fmt: str
) -> None:
    def check() -> None:
        keys = {
            name: apikey_create(actor=None, organisation=world.orgs[org], role=role, name=name)[1]
            for name, org, role in (
                ("township", "t1", Role.TOWNSHIP_REPORTER),
                ("public", "enterprise", Role.PUBLIC_USER),
                ("department", "dept", Role.DEPARTMENT_HANDLER),
                ("other", "tb", Role.TOWNSHIP_REPORTER),
            )
        }
        body = dict(form)
        if key is not None:
            body["api_key"] = keys.get(key, "not-a-key")
        before = (Call.objects.count(), PublicReport.objects.count())
        response = Client().post(f"/open311/v2/requests.{fmt}", body)
        status = response.status_code
        assert status in (200, 400, 403, 404), (status, response.content[:300])
        after = (Call.objects.count(), PublicReport.objects.count())
        if status == 200:
            assert sum(after) - sum(before) <= 1
            return
        assert after == before
        if fmt == "json":
            errors = response.json()
            assert errors
            for error in errors:
                assert error["code"] == status
                assert error["reason"]
                assert error["description"]
        else:
            assert b"<errors>" in response.content

    _isolated(check)
