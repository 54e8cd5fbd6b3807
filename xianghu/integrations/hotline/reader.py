"""Streaming readers of hotline files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030; comma,
semicolon or tab separated) and Excel .xlsx (openpyxl in read-only mode). Rows are
yielded one at a time, so memory does not grow with the file."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from xianghu.core.errors import InvalidInput

from .models import Encoding

SAMPLE = 1 << 20  # bytes looked at to detect the encoding
MAX_UNPACKED = 8 << 30  # an .xlsx that would inflate beyond this is refused
REPLACEMENT = "\ufffd"


class FileRefused(InvalidInput):
    """The file as a whole cannot be read (wrong type, no heading row, …)."""


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for text that is UTF-8 (with or without a BOM), else gb18030 (a superset
    of GBK and GB2312, which Excel writes for “CSV” on Chinese Windows).

    Decided line by line on the sample: a UTF-8 file with a few GBK lines pasted in stays
    UTF-8 (those rows are then reported), instead of all its text read as GBK."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    utf8 = other = 0
    lines = sample.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other += 1
        else:
            utf8 += 1
    return "utf-8-sig" if utf8 >= other else "gb18030"


def _codec(encoding: str, sample: bytes) -> str:
    if encoding == Encoding.UTF8:
        return "utf-8-sig"
    if encoding == Encoding.GB18030:
        return "gb18030"
    return detect_encoding(sample)


class TableReader:
    """Headings and rows of one table file; `progress()` is the share read (0–1)."""

    encoding = ""
    headers: list[str]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        raise NotImplementedError

    def progress(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        pass


class CsvReader(TableReader):
    def __init__(self, path: Path, encoding: str = Encoding.AUTO) -> None:
        self.size = max(path.stat().st_size, 1)
        self.binary: IO[bytes] = open(path, "rb")  # noqa: SIM115  (closed by close())
        sample = self.binary.read(SAMPLE)
        probe = sample
        while probe.isascii() and len(probe) == SAMPLE:
            # All ASCII so far (English headings): the first chunk with Chinese decides.
            probe = self.binary.read(SAMPLE)
        self.binary.seek(0)
        if b"\x00" in sample[:4096] or sample.startswith(b"PK\x03\x04"):
            self.close()
            raise FileRefused(
                _("The file is not a CSV text file (for an Excel workbook use the .xlsx name)."),
                code="hotline.bad_file_type",
            )
        self.encoding = _codec(encoding, probe if sample.isascii() else sample)
        self.text = io.TextIOWrapper(
            self.binary, encoding=self.encoding, errors="replace", newline=""
        )
        first_line = sample.split(b"\n", 1)[0]
        delimiter = ","
        for candidate in (b"\t", b";"):
            if first_line.count(candidate) > first_line.count(b","):
                delimiter = candidate.decode()
        self.reader = csv.reader(self.text, delimiter=delimiter)
        try:
            self.headers = [h.strip() for h in next(self.reader)]
        except StopIteration:
            self.close()
            raise FileRefused(_("The file is empty."), code="hotline.empty_file") from None
        except csv.Error:
            self.close()
            raise FileRefused(
                _("The CSV file cannot be read; check its quotes and separators."),
                code="hotline.unreadable_file",
            ) from None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        number = 1
        for cells in self.reader:
            number += 1
            yield number, cells

    def progress(self) -> float:
        try:
            return min(1.0, self.binary.tell() / self.size)
        except (OSError, ValueError):
            return 0.0

    def close(self) -> None:
        self.binary.close()


class XlsxReader(TableReader):
    encoding = "xlsx"

    def __init__(self, path: Path) -> None:
        import openpyxl

        not_xlsx = _(
            "The file is not an Excel .xlsx workbook (an old .xls cannot be read: save it "
            "as .xlsx or CSV)."
        )
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise FileRefused(not_xlsx, code="hotline.bad_file_type") from None
        if not any(i.filename == "xl/workbook.xml" for i in infos):
            raise FileRefused(not_xlsx, code="hotline.bad_file_type")
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise FileRefused(
                _("The workbook is too large once unpacked."), code="hotline.file_too_large"
            )
        try:
            self.workbook = openpyxl.load_workbook(
                path, read_only=True, data_only=True, keep_links=False
            )
            sheet = self.workbook.worksheets[0]
            self.total = max(int(sheet.max_row or 0), 1)
            self.iterator = sheet.iter_rows(values_only=True)
            first = next(self.iterator, None)
        except Exception:  # a parser fed arbitrary bytes can fail in many ways
            raise FileRefused(
                _("The workbook cannot be read; open it in Excel and save it again."),
                code="hotline.unreadable_file",
            ) from None
        if first is None:
            self.close()
            raise FileRefused(_("The file is empty."), code="hotline.empty_file")
        self.headers = ["" if h is None else str(h).strip() for h in first]
        self.done = 1

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        number = 1
        for cells in self.iterator:
            number += 1
            self.done = number
            yield number, list(cells)

    def progress(self) -> float:
        return min(1.0, self.done / self.total)

    def close(self) -> None:
        self.workbook.close()


def open_table(path: Path, file_name: str, encoding: str = Encoding.AUTO) -> TableReader:
    suffix = Path(file_name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return XlsxReader(path)
    if suffix in (".csv", ".txt", ".tsv", ""):
        return CsvReader(path, encoding)
    raise FileRefused(
        _("Upload a .csv or .xlsx file (an old .xls cannot be read: save it as .xlsx or CSV)."),
        code="hotline.bad_file_type",
    )
