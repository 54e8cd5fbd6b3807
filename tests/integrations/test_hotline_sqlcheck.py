"""The PostgreSQL fast path (checks in SQL, `hotline/sqlcheck.py`) against the Python checks:
the same awkward file imported both ways gives the same tickets, the same counts and the
same failed rows (row, code, column and message)."""

from __future__ import annotations

import csv
import io
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from bench.hotline_import_lib import HEADINGS
from tests.conftest import World
from xianghu.integrations.hotline import importer, services
from xianghu.integrations.hotline.models import ImportRun, ImportSource, RunStatus, Ticket
from xianghu.integrations.hotline.sqlcheck import day_midnight, offset_change_days

HEAD = [*HEADINGS, "备注"]  # every field, and a column no field reads


def cells(number: str, **kw: str) -> list[str]:
    values = dict.fromkeys(HEAD, "")
    values.update(
        {
            "工单编号": number,
            "来源渠道": "电话",
            "来电时间": "2025-03-01 08:30:00",
            "来电人": "张三",
            "来电号码": "13812345678",
            "诉求类型": "投诉",
            "诉求内容": f"路灯不亮 {number}",
            "事发地址": "清河县王庄镇兴隆街5号",
            "紧急程度": "一般",
            "办理时限": "2025-03-06 08:30:00",
            "备注": "—",
        }
    )
    values.update(kw)
    return [values[h] for h in HEAD]


LONG = "长" * 201
ROWS: list[list[str]] = [
    cells("A1"),
    cells("\u3000A2\u3000", 诉求内容="\t内容\xa0", 来电人=" 李四 "),
    cells("A3", 来电时间="2025-03-01"),
    cells("A4", 来电时间="2025-03-01T08:30"),
    cells("A5", 来电时间="2025-02-29 08:00"),  # no such day
    cells("A6", 来电时间="2024-02-29 23:59:59"),
    cells("A7", 来电时间="1989-12-31 10:00"),  # before 1990
    cells("A8", 来电时间="2101-01-01 00:00"),
    cells("A9", 来电时间="2025/3/1 8:30"),
    cells("A10", 来电时间="2025年3月1日 8时30分"),
    cells("A11", 来电时间="20250301083000"),
    cells("A12", 来电时间="2025-03-01 24:00"),
    cells("A13", 来电时间="2025-03-01 08:60"),
    cells("A14", 来电时间="2025-03-01 08:30:60"),
    cells("A15", 来电时间="1991-09-15 01:30"),  # an hour twice: summer time ended
    cells("A16", 来电时间="2025-03-01T08:30:00+08:00"),
    cells("A17", 来电时间=" 2025-03-01 08:30 ", 办理时限=""),
    cells("A18", 来电时间="2025-03-01 08:30:00.5"),
    cells("A19", 办理时限="2025-13-45 25:61"),
    cells("A20", 诉求类型="投诉类"),
    cells("A21", 诉求类型="Complaint"),
    cells("A22", 诉求类型="complaint"),
    cells("A23", 诉求类型="吐槽"),
    cells("A24", 诉求类型=""),
    cells("A25", 诉求类型=" 咨询 "),
    cells("A26", 诉求类型="其他意见"),
    cells("A27", 紧急程度="紧急"),
    cells("A28", 紧急程度="URGENT"),
    cells("A29", 紧急程度=""),
    cells("A30", 紧急程度="火急"),
    cells("A31", 紧急程度="急"),
    cells("A32", 来电号码="0531-1234567"),
    cells("A33", 来电号码="+86(531)1234567转8"),
    cells("A34", 来电号码="abc"),
    cells("A35", 来电号码="1" * 33),
    cells("A36", 区划代码="371221"),  # the county itself: the address decides
    cells("A37", 区划代码="371221102", 事发地址=""),
    cells("A38", 区划代码="371221101201"),
    cells("A39", 区划代码="371222101"),  # another county
    cells("A40", 区划代码="371221999"),  # no such place
    cells("A41", 事发地址="柳河县北关镇"),  # an address in another county
    cells("A42", 事发地址="清河县柳河县交界"),  # names its own county too
    cells("A43", 事发地址="王庄镇1村东头"),
    cells("A44", 事发地址="柳林路"),  # a township's stem
    cells("A45", 事发地址="某地"),
    cells("A46", 事发地址=""),
    cells("", 诉求内容="no number"),
    cells("A47", 诉求内容=""),
    cells("A48", 标题=LONG),
    cells("N" * 65),
    cells("A49", 诉求内容="含\x00空字符"),
    cells("A50", 诉求内容="tab\there, new\nline, back\\slash"),
    cells("A51", 诉求内容="unit\x1fseparator"),
    cells("A1", 诉求内容="second A1 (fast first)"),
    cells("A52", 来电时间="2025年3月2日 9时5分"),
    cells("A52", 诉求内容="A52 again (Python first)"),
    cells("A53"),
    cells("A53", 来电时间="2025/3/3 10:00", 诉求内容="A53 again (fast first)"),
    cells("A54", 来电时间="bad"),
    cells("A54", 诉求内容="A54 after a failed row: the first valid one"),
    [""] * len(HEAD),  # an empty line: no ticket
    cells("A55")[:9],  # fewer cells than headings
    [*cells("A56"), "extra", "cells"],
    cells("A2", 诉求内容="A2 again, later batch"),
    cells("A58", 诉求内容="NUL\x00 first"),  # checked by Python, then the same number
    cells("A58", 诉求内容="A58 later"),
    cells("A59", 诉求内容="A59 first"),
    cells("A59", 诉求内容="NUL\x00 later"),
]


def file_bytes() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEAD)
    writer.writerows(ROWS)
    # A row that is not UTF-8 in a UTF-8 file: reported, not imported.
    return buffer.getvalue().encode() + "A57,电话,2025-03-01,李四\r\n".encode("gbk")


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def snapshot(run: ImportRun) -> tuple[Any, ...]:
    tickets = sorted(
        Ticket.objects.values_list(
            "number",
            "channel",
            "received_at",
            "caller_name",
            "caller_phone",
            "type",
            "category",
            "title",
            "content",
            "address",
            "region_code",
            "township_id",
            "location_id",
            "urgency",
            "handling_unit",
            "deadline",
            "result",
            "followup_result",
            "satisfaction",
            "source_status",
            "disposition",
        )
    )
    report = importer.media_path(run.error_file).read_text(encoding="utf-8-sig").splitlines()
    return (
        (run.status, run.total, run.inserted, run.updated, run.failed),
        tickets,
        sorted(report),
        sorted(tuple(sorted(e.items())) for e in run.errors),
    )


def import_both_ways(world: World, tmp: Path, batch_size: int) -> list[list[tuple[Any, ...]]]:
    source: ImportSource = services.source_ensure(actor=None, county=world.county, name="12345")
    path = tmp / "awkward.csv"
    path.write_bytes(file_bytes())
    results = []
    for sql_checks in (False, True):
        Ticket.objects.all().delete()
        runs = []
        for _again in range(2):  # new, then updated
            run = importer.run_import(
                run=services.run_for_file(source=source, path=path),
                batch_size=batch_size,
                sql_checks=sql_checks,
            )
            assert run.status == RunStatus.DONE, run.message
            runs.append(snapshot(run))
        results.append(runs)
    return results


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the checks in SQL run on PostgreSQL only")


@pytest.mark.parametrize("batch_size", [5000, 7])
def test_sql_checks_equal_the_python_checks(
    postgresql: None, world: World, media: Path, batch_size: int
) -> None:
    python, sql = import_both_ways(world, media, batch_size)
    for (counts, tickets, report, kept), (s_counts, s_tickets, s_report, s_kept) in zip(
        python, sql, strict=True
    ):
        assert s_counts == counts
        assert s_tickets == tickets
        assert s_report == report
        assert s_kept == kept
    first = python[0]
    assert first[0][2] > 30  # many tickets went in
    assert first[0][4] > 20  # and many rows failed, with every kind of reason
    codes = {line.split(",")[3] for line in first[2][1:]}
    assert codes >= {
        "hotline.bad_date",
        "hotline.bad_type",
        "hotline.bad_urgency",
        "hotline.bad_phone",
        "hotline.outside_county",
        "hotline.bad_region_code",
        "hotline.number_missing",
        "hotline.content_missing",
        "hotline.too_long",
        "hotline.duplicate_in_file",
        "hotline.bad_encoding",
    }


@pytest.mark.django_db(transaction=True)
def test_two_writers_equal_the_python_checks(
    postgresql: None, world: World, media: Path, monkeypatch: Any
) -> None:
    """Outside a transaction the fast path writes two batches at once; batches that
    share numbers (the awkward file has many, batches of 7 rows) wait for each other."""
    writers: list[int] = []
    original = importer.Pipeline.__init__

    def spy(self: Any, *args: Any) -> None:
        original(self, *args)
        writers.append(self.writers)

    monkeypatch.setattr(importer.Pipeline, "__init__", spy)
    python, sql = import_both_ways(world, media, 7)
    assert writers == [1, 1, 2, 2]
    assert sql == python


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_an_earlier_batch_with_the_same_number(
    postgresql: None, world: World, media: Path, monkeypatch: Any
) -> None:
    """The first batch is slow to write; the second, which repeats one of its numbers,
    must not overtake it (the first row of a number wins)."""
    original = importer.SqlCheckWriter.write

    def slow(self: Any, batch: Any, now: Any) -> Any:
        if any("first X1" in cell for row in batch.rows for cell in row):
            time.sleep(1)
        return original(self, batch, now)

    monkeypatch.setattr(importer.SqlCheckWriter, "write", slow)
    rows = [
        cells("X1", 诉求内容="first X1"),
        cells("Y1"),
        cells("X1", 诉求内容="second X1"),
        cells("Y2"),
        cells("Y3"),
        cells("Y4"),
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEAD, *rows])
    path = media / "x.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    source = services.source_ensure(actor=None, county=world.county, name="12345")
    run = importer.run_import(run=services.run_for_file(source=source, path=path), batch_size=2)
    assert Ticket.objects.get(number="X1").content == "first X1"
    assert [(e["row"], e["code"]) for e in run.errors] == [(4, "hotline.duplicate_in_file")]
    assert (run.inserted, run.failed) == (5, 1)


def test_sql_checks_report_in_row_order(postgresql: None, world: World, media: Path) -> None:
    source = services.source_ensure(actor=None, county=world.county, name="12345")
    path = media / "awkward.csv"
    path.write_bytes(file_bytes())
    run = importer.run_import(run=services.run_for_file(source=source, path=path))
    rows = [e["row"] for e in run.errors]
    assert rows == sorted(rows)
    assert Ticket.objects.get(number="A1").content == "路灯不亮 A1"  # the first row wins
    assert Ticket.objects.get(number="A52").content == "路灯不亮 A52"
    assert Ticket.objects.get(number="A54").content.startswith("A54 after")
    assert Ticket.objects.get(number="A50").content == "tab\there, new\nline, back\\slash"
    assert Ticket.objects.get(number="A58").content == "NUL first"
    assert Ticket.objects.get(number="A59").content == "A59 first"


def test_offset_change_days_of_beijing() -> None:
    days = offset_change_days(ZoneInfo("Asia/Shanghai"))
    assert days  # summer time until 1991
    assert max(days) < date(1992, 1, 1)
    assert date(1991, 9, 15) in days
    assert offset_change_days(ZoneInfo("UTC")) == []


def test_day_midnight_only_of_days_sql_may_read() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    skip = frozenset(offset_change_days(tz))
    midnight = day_midnight("2025-03-01", tz, skip)
    assert midnight is not None
    assert midnight.isoformat() == "2025-03-01T00:00:00+08:00"
    assert day_midnight("2024-02-29", tz, skip) is not None
    assert day_midnight("1990-01-01", tz, skip) is not None
    assert day_midnight("2100-12-31", tz, skip) is not None
    for text in ("2025-02-29", "1989-12-31", "2101-01-01", "2025-3-01", "２０２５-03-01"):
        assert day_midnight(text, tz, skip) is None, text
    assert day_midnight("1991-09-15", tz, skip) is None  # left to Python
