"""The hotline file import: encodings, mapping, bad rows, idempotency, batches."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from tests.conftest import World
from xianghu.core.masking import ANONYMISED
from xianghu.core.privacy.services import personal_data_purge
from xianghu.integrations.hotline import importer, services
from xianghu.integrations.hotline.importer import run_import
from xianghu.integrations.hotline.models import (
    ImportRun,
    ImportSource,
    RunStatus,
    Ticket,
    TicketType,
)
from xianghu.integrations.hotline.rows import parse_datetime_cell

YEARS = timedelta(days=3 * 365)

HEAD = [
    "工单编号",
    "来电时间",
    "来电人",
    "来电号码",
    "诉求类型",
    "诉求内容",
    "事发地址",
    "区划代码",
    "紧急程度",
]


def row(number: str, **kw: str) -> list[str]:
    values = {
        "工单编号": number,
        "来电时间": "2025-03-01 08:30:00",
        "来电人": "张三丰",
        "来电号码": "13812345678",
        "诉求类型": "投诉",
        "诉求内容": f"王庄镇路灯不亮 {number}",
        "事发地址": "清河县王庄镇兴隆街5号",
        "区划代码": "",
        "紧急程度": "一般",
    }
    values.update(kw)
    return [values[h] for h in HEAD]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", head: list[str] = HEAD) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


@pytest.fixture
def source(world: World) -> ImportSource:
    return services.source_ensure(actor=None, county=world.county, name="12345")


def run_file(
    source: ImportSource, tmp: Path, data: bytes, name: str = "t.csv", **kw: Any
) -> ImportRun:
    path = tmp / name
    path.write_bytes(data)
    run = services.run_for_file(source=source, path=path)
    return run_import(run=run, **kw)


def errors_of(run: ImportRun) -> list[tuple[int, str]]:
    return [(e["row"], e["code"]) for e in run.errors]


def test_gbk_file_imports_and_masks_nothing_in_storage(source: ImportSource, media: Path) -> None:
    run = run_file(source, media, csv_bytes([row("A1"), row("A2", 诉求类型="咨询")], "gbk"))
    assert run.status == RunStatus.DONE, run.message
    assert (run.total, run.inserted, run.updated, run.failed) == (2, 2, 0, 0)
    ticket = Ticket.objects.get(number="A1")
    assert ticket.caller_phone == "13812345678"  # raw kept, masked when shown
    assert ticket.type == TicketType.COMPLAINT
    assert Ticket.objects.get(number="A2").type == TicketType.ENQUIRY
    assert ticket.township is not None
    assert ticket.township.name == "王庄镇"
    assert ticket.received_at is not None
    assert timezone.localtime(ticket.received_at).strftime("%H:%M") == "08:30"  # Beijing time


def test_utf8_bom_and_gb18030_and_xlsx(source: ImportSource, media: Path) -> None:
    run = run_file(source, media, b"\xef\xbb\xbf" + csv_bytes([row("B1")]))
    assert (run.status, run.inserted) == (RunStatus.DONE, 1)
    run = run_file(source, media, csv_bytes([row("B2", 来电人="𠀋𠀌")], "gb18030"))
    assert (run.status, run.inserted) == (RunStatus.DONE, 1)
    assert Ticket.objects.get(number="B2").caller_name == "𠀋𠀌"
    book = Workbook()
    sheet = book.active
    sheet.append(HEAD)
    sheet.append(row("B3"))
    buffer = io.BytesIO()
    book.save(buffer)
    run = run_file(source, media, buffer.getvalue(), "t.xlsx")
    assert (run.status, run.inserted) == (RunStatus.DONE, 1), run.message


def test_missing_required_column_fails_the_file(source: ImportSource, media: Path) -> None:
    head = [h for h in HEAD if h != "诉求内容"]
    data = csv_bytes(
        [[c for h, c in zip(HEAD, row("C1"), strict=True) if h != "诉求内容"]], head=head
    )
    run = run_file(source, media, data)
    assert run.status == RunStatus.FAILED
    assert "Content" in run.message or "内容" in run.message
    assert not Ticket.objects.exists()


def test_saved_mapping_reads_other_headings(source: ImportSource, media: Path) -> None:
    services.source_ensure(
        actor=None,
        county=source.county,
        name="12345",
        mapping={"number": "单号", "content": "说明"},
    )
    source.refresh_from_db()
    run = run_file(source, media, csv_bytes([["X9", "有人占道"]], head=["单号", "说明"]))
    assert (run.status, run.inserted) == (RunStatus.DONE, 1)
    assert Ticket.objects.get(number="X9").content == "有人占道"


def test_bad_rows_are_reported_and_the_rest_go_in(source: ImportSource, media: Path) -> None:
    rows = [
        row("D1"),
        row("D2", 来电时间="2025-13-45"),  # unparseable date
        row("D3", 区划代码="371222101"),  # another county's township
        row("D1", 诉求内容="second D1"),  # duplicate inside the file
        row("", 诉求内容="no number"),
        row("D4", 诉求类型="吐槽"),
        row("D5", 紧急程度="火急"),
        row("D6", 事发地址="柳河县北关镇"),  # an address in another county
        row("D7", 区划代码="371221999"),  # unknown code of the county
        row("D8", 来电时间="2025年3月2日 9时5分", 诉求类型="举报类"),
        row("D9", 来电时间="昨天", 来电号码="打不通"),  # two problems, one failed row
    ]
    run = run_file(source, media, csv_bytes(rows))
    assert run.status == RunStatus.DONE
    assert sorted(Ticket.objects.values_list("number", flat=True)) == ["D1", "D8"]
    assert errors_of(run) == [
        (3, "hotline.bad_date"),
        (4, "hotline.outside_county"),
        (5, "hotline.duplicate_in_file"),
        (6, "hotline.number_missing"),
        (7, "hotline.bad_type"),
        (8, "hotline.bad_urgency"),
        (9, "hotline.outside_county"),
        (10, "hotline.bad_region_code"),
        (12, "hotline.bad_date"),
        (12, "hotline.bad_phone"),
    ]
    assert (run.total, run.inserted, run.failed) == (11, 2, 9)
    assert Ticket.objects.get(number="D1").content.startswith("王庄镇")  # the first row wins
    report = (Path(source_media(run))).read_text(encoding="utf-8-sig").splitlines()
    assert len(report) == 11  # the heading and every problem
    assert report[0].startswith("row,")


def source_media(run: ImportRun) -> Path:
    return importer.media_path(run.error_file)


def test_duplicates_across_batches_and_reimport_updates(source: ImportSource, media: Path) -> None:
    rows = [row(f"E{i}") for i in range(7)] + [row("E1", 诉求内容="later E1")]
    run = run_file(source, media, csv_bytes(rows), batch_size=3)
    assert (run.inserted, run.updated, run.failed) == (7, 0, 1)
    assert errors_of(run) == [(9, "hotline.duplicate_in_file")]
    # The same tickets again, changed: updated, never duplicated.
    rows = [row(f"E{i}", 诉求内容=f"changed {i}") for i in range(7)]
    run = run_file(source, media, csv_bytes(rows), batch_size=3)
    assert (run.inserted, run.updated, run.failed) == (0, 7, 0)
    assert Ticket.objects.count() == 7
    assert Ticket.objects.get(number="E3").content == "changed 3"


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEAD)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def callers() -> dict[str, tuple[str, str]]:
    rows = Ticket.objects.values_list("number", "caller_name", "caller_phone")
    return {number: (name, phone) for number, name, phone in rows}


def test_a_purged_caller_is_not_brought_back_by_a_resent_ticket(
    source: ImportSource, media: Path
) -> None:
    """Retention purged the callers of P1 (name and phone) and P2 (phone only: it had no
    name); the hotline sends both again, with their callers, by file (CSV and Excel:
    each database's writers) and by webhook push. The tickets are updated, the callers
    stay purged; P3, never purged, takes the new caller."""
    rows = [row("P1"), row("P2", 来电人=""), row("P3")]
    run = run_file(source, media, csv_bytes(rows))
    assert (run.inserted, run.failed) == (3, 0)
    report = personal_data_purge(only="integrations.hotline_caller", now=timezone.now() + YEARS)
    assert report.purged == 3
    Ticket.objects.filter(number="P3").update(caller_name="李四", caller_phone="13900000000")
    expected = {
        "P1": (ANONYMISED, ANONYMISED),
        "P2": ("", ANONYMISED),
        "P3": ("王五", "13700000000"),
    }
    resent = [
        row(n, 来电人="王五", 来电号码="13700000000", 诉求内容=f"again {n}") for n in expected
    ]
    for name, data in (("t.csv", csv_bytes(resent)), ("t.xlsx", xlsx_bytes(resent))):
        Ticket.objects.filter(number="P3").update(caller_name="李四")
        run = run_file(source, media, data, name)
        assert (run.status, run.inserted, run.updated) == (RunStatus.DONE, 0, 3), run.message
        assert callers() == expected, name
        assert Ticket.objects.get(number="P1").content == "again P1"
    Ticket.objects.filter(number="P3").update(caller_name="李四")
    pushed = services.tickets_push(
        source=source,
        tickets=[
            {"number": n, "caller_name": "王五", "caller_phone": "13700000000",
             "content": f"pushed {n}", "address": "清河县王庄镇兴隆街5号"}
            for n in expected
        ],
    )  # fmt: skip
    assert (pushed.errors, pushed.updated) == ([], 3)
    assert callers() == expected
    assert Ticket.objects.get(number="P2").content == "pushed P2"


def test_batches_bound_what_is_held(source: ImportSource, media: Path, monkeypatch: Any) -> None:
    sizes: list[int] = []
    for writer in (importer.OrmWriter, importer.PgWriter, importer.SqlCheckWriter):

        def spy(self: Any, rows: list[Any], now: Any, original: Any = writer.write) -> Any:
            sizes.append(len(rows))
            return original(self, rows, now)

        monkeypatch.setattr(writer, "write", spy)
    progress: list[int] = []
    run = run_file(
        source,
        media,
        csv_bytes([row(f"F{i}") for i in range(25)]),
        batch_size=10,
        progress=lambda r: progress.append(r.total),
    )
    assert sizes == [10, 10, 5]
    assert progress == [10, 20, 25]
    assert ImportRun.objects.get(pk=run.pk).percent == 100


def test_region_code_places_the_ticket(world: World, source: ImportSource, media: Path) -> None:
    run = run_file(source, media, csv_bytes([row("G1", 区划代码=world.t2.code, 事发地址="")]))
    assert run.inserted == 1
    assert Ticket.objects.get(number="G1").township_id == world.t2.pk


def test_a_utf8_file_with_a_gbk_row_reports_that_row(source: ImportSource, media: Path) -> None:
    data = csv_bytes([row("H1")]) + "H2,2025-03-01,李四,138,投诉,内容,地址,,一般\r\n".encode("gbk")
    run = run_file(source, media, data)
    assert run.inserted == 1
    assert errors_of(run) == [(3, "hotline.bad_encoding")]


def test_not_a_csv_is_refused(source: ImportSource, media: Path) -> None:
    run = run_file(source, media, b"PK\x03\x04garbage", "t.csv")
    assert run.status == RunStatus.FAILED
    run = run_file(source, media, b"whatever", "t.xls")
    assert run.status == RunStatus.FAILED


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-01 08:30",
        "2025/3/1 8:30",
        "2025年3月1日 8时30分",
        "20250301083000",
        "2025-03-01T08:30:00+08:00",
    ],
)
def test_date_forms(text: str) -> None:
    from zoneinfo import ZoneInfo

    value = parse_datetime_cell(text, ZoneInfo("Asia/Shanghai"))
    assert value is not None
    assert (value.year, value.month, value.day, value.hour, value.minute) == (
        2025,
        3,
        1,
        8,
        30,
    )


def test_command_imports_with_progress(world: World, media: Path, capsys: Any) -> None:
    path = media / "cmd.csv"
    path.write_bytes(csv_bytes([row(f"K{i}") for i in range(12)], "gbk"))
    call_command("hotline_import", str(path), "--county", "371221", "--batch-size", "5")
    out, err = capsys.readouterr()
    assert "12 new" in out
    assert "rows/s" in err
    assert "100.0%" in err
    assert path.exists()  # the user's file stays
    call_command("hotline_import", str(path), "--county", "371221", "--quiet")
    assert "12 updated" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("hotline_import", str(path), "--county", "999999")
