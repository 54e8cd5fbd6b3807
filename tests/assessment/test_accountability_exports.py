"""The accountability report as PDF (a real PDF, the CJK font embedded, the text in it)
and as Excel (it opens, with the rows), and the shared helpers `core.pdf`, `core.xlsx`."""

# ruff: noqa: F811  (the fixture `acc_list` is imported from test_accountability)
from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.assessment.test_accountability import acc_list, loop, t, up_call  # noqa: F401
from tests.calls.conftest import as_
from xianghu.assessment import accountability_services as services
from xianghu.assessment.accountability_export import case_number, case_pdf, case_xlsx
from xianghu.assessment.models import Finding
from xianghu.core import pdf, xlsx

# ---- reading a PDF back (no PDF library is installed: enough of the format for ours) ----


def _stream(body: bytes) -> bytes:
    m = re.search(rb"/Length (\d+).*?stream\r?\n", body, re.S)
    if not m:
        return b""
    raw = body[m.end() : m.end() + int(m.group(1))]
    if b"ASCII85Decode" in body:
        raw = base64.a85decode(raw.strip().removesuffix(b"~>"))
    if b"FlateDecode" in body:
        raw = zlib.decompress(raw)
    return raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            start = int(dst, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + i)
    return out


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(s: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(s):
        if s[i : i + 1] == b"\\":
            octal = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            nxt = s[i + 1 : i + 2]
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += s[i : i + 1]
        i += 1
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """The text shown on the pages, through each font's ToUnicode map."""
    objects = {int(n): b for n, b in re.findall(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}
    fonts = {}
    for body in objects.values():
        name = re.search(rb"/Name /(\S+)", body)
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if name and to_unicode:
            fonts[name.group(1)] = _cmap(_stream(objects[int(to_unicode.group(1))]))
    pages = [int(n) for b in objects.values() for n in re.findall(rb"/Contents (\d+) 0 R", b)]
    shown = []
    for n in pages:
        cmap = None
        for m in re.finditer(rb"/(\S+) [\d.]+ Tf|\((?:\\.|[^\\)])*\)", _stream(objects[n]), re.S):
            if m.group(1):
                cmap = fonts.get(m.group(1))
                continue
            raw = _literal(m.group()[1:-1])
            shown.append("".join(cmap.get(b, "") for b in raw) if cmap else raw.decode("latin-1"))
    return "".join(shown)


# ---- the shared helpers ---------------------------------------------------------------------


def test_a_pdf_with_chinese_text_and_markup_printed_as_is():
    data = pdf.render_pdf(
        title="测试",
        blocks=[
            pdf.Heading("依单追责报告"),
            pdf.Para("王庄镇 <b>not bold</b> & 1 < 2"),
            pdf.Facts([("乡镇", "王庄镇人民政府")]),
            pdf.Table(["步骤", "时限"], [["签收", "2个工作小时"]], marked=[0]),
            pdf.Bullets(["第一条理由"]),
            pdf.Spacer(2),
        ],
        footer="ZZ000001",
    )
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        "依单追责报告",
        "王庄镇 <b>not bold</b> & 1 < 2",
        "王庄镇人民政府",
        "2个工作小时",
        "第一条理由",
        "ZZ000001",
    ):
        assert expected in text
    if pdf.font_is_embedded():
        assert b"/FontFile2" in data  # the font program travels with the file
        assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYi", data)
    else:  # without the font file: reportlab's CID font, which readers supply
        assert b"STSong-Light" in data


def test_the_font_falls_back_to_the_cid_font(settings, monkeypatch):
    monkeypatch.setattr(pdf, "_registered", None)
    settings.XH_PDF_FONT = "/nonexistent/font.ttc"
    monkeypatch.setattr(pdf, "DEFAULT_FONT_PATH", "/nonexistent/font.ttc")
    try:
        assert pdf.cjk_font() == pdf.CID_NAME
        data = pdf.render_pdf(title="t", blocks=[pdf.Para("王庄镇")])
        assert data.startswith(b"%PDF-")
        assert b"STSong-Light" in data
    finally:
        monkeypatch.setattr(pdf, "_registered", None)


def test_a_workbook_keeps_text_as_text():
    data = xlsx.render_xlsx(
        [
            xlsx.Sheet(
                title="理由/清单?",
                heading="标题",
                header=["A", "B"],
                rows=[["=1+1", "控制\x07字符"], [datetime(2024, 3, 12, 9, 0), 3]],
            ),
            xlsx.Sheet(title="理由/清单?", header=["A"], rows=[]),
        ]
    )
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["理由清单", "理由清单 (2)"]
    sheet = book["理由清单"]
    assert sheet["A1"].value == "标题"
    assert sheet["A2"].value == "A"
    assert sheet["A3"].value == "=1+1"
    assert sheet["A3"].data_type == "s"
    assert sheet["B3"].value == "控制字符"
    assert sheet["A4"].value == datetime(2024, 3, 12, 9, 0)


# ---- the case report -------------------------------------------------------------------------


@pytest.fixture
def decided_case(world, acc_list):
    call = loop(world, up_call(world), sign=t(2024, 3, 12, 14, 0))
    case = services.case_open(actor=as_(world, "assessor"), call=call)
    return services.case_decide(
        actor=as_(world, "assessor"),
        case=case,
        finding=Finding.PRIMARY_FAILURE,
        reasons="应急管理局签收超时，认定主体责任未落实。",
    )


def test_the_case_pdf_holds_the_report(decided_case):
    data = case_pdf(decided_case)
    assert data.startswith(b"%PDF-")
    # Table cells wrap: compare without the white space the lines break at.
    text = re.sub(r"\s+", "", pdf_text(data))
    for expected in (
        case_number(decided_case),
        "工矿商贸企业安全生产监管",
        "王庄镇人民政府",
        "清河县应急管理局",
        "主体责任部门签收响应",  # the procedure
        "2024-03-12 11:30",  # the signing deadline
        "2024-03-12 14:00",  # when it was signed
        "应急管理局签收超时，认定主体责任未落实。",  # the final finding's reasons
    ):
        assert re.sub(r"\s+", "", expected) in text, expected
    assert "13812345678" not in text
    if pdf.font_is_embedded():
        assert b"/FontFile2" in data


def test_the_case_workbook_has_the_rows(decided_case):
    book = load_workbook(io.BytesIO(case_xlsx(decided_case)))
    assert len(book.sheetnames) == 5
    summary, clocks, reasons, procedure, timeline = (book[n] for n in book.sheetnames)
    values = {row[0]: row[1] for row in summary.iter_rows(min_row=3, values_only=True)}
    assert case_number(decided_case) in summary["A1"].value
    assert "应急管理局签收超时，认定主体责任未落实。" in values.values()
    clock_rows = list(clocks.iter_rows(min_row=2, values_only=True))
    assert len(clock_rows) == len(decided_case.evidence["checks"]) == 6
    sign = next(r for r in clock_rows if "签收" in r[0] or "Sign" in r[0])
    assert sign[1] == "清河县应急管理局"
    assert (sign[3], sign[4]) == ("2024-03-12 11:30", "2024-03-12 14:00")
    reason_rows = list(reasons.iter_rows(min_row=2, values_only=True))
    assert len(reason_rows) == len(decided_case.proposed_reasons)
    number = decided_case.call.number
    assert any("AC-01" in (r[2] or "") and number in (r[3] or "") for r in reason_rows)
    first_step = next(procedure.iter_rows(min_row=2, values_only=True))
    assert first_step[1] == "乡镇巡查发现并报告"
    timeline_rows = list(timeline.iter_rows(min_row=2, values_only=True))
    assert len(timeline_rows) == decided_case.call.events.count()
    assert not any("13812345678" in str(c) for r in timeline_rows for c in r)
