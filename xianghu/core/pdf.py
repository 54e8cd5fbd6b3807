"""Printable PDFs with Chinese text (reportlab): reports, notices (通报).

A document is a list of plain blocks (`Heading`, `Para`, `Facts`, `Table`, `Bullets`,
`Spacer`) rendered on A4 with a running footer; callers never touch reportlab. Text is
escaped here, so anything users typed is printed as it is, never read as markup.

The font: WenQuanYi Micro Hei (`fonts-wqy-microhei`, the font the browser tests use) is
embedded as a subset when the file is there (setting `XH_PDF_FONT` names another TrueType
file or collection); otherwise reportlab's built-in CID font STSong-Light is used, which
PDF readers supply themselves (not embedded, but always readable).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
TTF_NAME = "XhCJK"
CID_NAME = "STSong-Light"

_lock = threading.Lock()
_registered: str | None = None


def cjk_font() -> str:
    """The name of the registered CJK font (registered on first use)."""
    global _registered
    if _registered is not None:
        return _registered
    with _lock:
        if _registered is None:
            _registered = _register()
    return _registered


def _register() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path = Path(getattr(settings, "XH_PDF_FONT", "") or DEFAULT_FONT_PATH)
    if path.is_file():
        try:
            pdfmetrics.registerFont(TTFont(TTF_NAME, str(path), subfontIndex=0))
        except (OSError, ValueError, TTFError):
            pass  # an unreadable font file: the CID font below still prints Chinese
        else:
            return TTF_NAME
    pdfmetrics.registerFont(UnicodeCIDFont(CID_NAME))
    return CID_NAME


def font_is_embedded() -> bool:
    return cjk_font() == TTF_NAME


# ---- blocks ----------------------------------------------------------------------------


@dataclass
class Heading:
    text: str
    level: int = 1  # 1 title, 2 section, 3 sub-section


@dataclass
class Para:
    text: str
    style: str = "body"  # body | muted | small | strong


@dataclass
class Facts:
    """Label/value rows, two columns."""

    rows: Sequence[tuple[str, str]]


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float] | None = None  # fractions of the text width
    # Row indexes (in `rows`) to shade, e.g. the failed checks.
    marked: Sequence[int] = field(default_factory=tuple)


@dataclass
class Bullets:
    items: Sequence[str]


@dataclass
class Spacer:
    height_mm: float = 4


Block = Heading | Para | Facts | Table | Bullets | Spacer


def _styles(font: str) -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle(
        "xh-body", fontName=font, fontSize=10, leading=15, wordWrap="CJK", spaceAfter=4
    )
    return {
        "body": base,
        "muted": ParagraphStyle("xh-muted", parent=base, textColor=colors.HexColor("#5f6b7a")),
        "small": ParagraphStyle("xh-small", parent=base, fontSize=8.5, leading=12),
        "strong": ParagraphStyle("xh-strong", parent=base, fontSize=11, leading=16),
        "cell": ParagraphStyle("xh-cell", parent=base, fontSize=8.5, leading=12, spaceAfter=0),
        "head": ParagraphStyle(
            "xh-head", parent=base, fontSize=8.5, leading=12, spaceAfter=0, textColor=colors.white
        ),
        "h1": ParagraphStyle(
            "xh-h1", parent=base, fontSize=18, leading=26, spaceAfter=10, alignment=1
        ),
        "h2": ParagraphStyle(
            "xh-h2",
            parent=base,
            fontSize=13,
            leading=19,
            spaceBefore=10,
            spaceAfter=6,
            textColor=colors.HexColor("#8f1a24"),
        ),
        "h3": ParagraphStyle("xh-h3", parent=base, fontSize=11, leading=16, spaceBefore=6),
    }


def _text(value: Any) -> str:
    """Escaped for reportlab's paragraph markup, line breaks kept."""
    return escape(str(value if value is not None else "")).replace("\n", "<br/>")


def _flowables(blocks: Sequence[Block], styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, TableStyle
    from reportlab.platypus import Spacer as RlSpacer
    from reportlab.platypus import Table as RlTable

    grid = colors.HexColor("#d9dee5")
    out: list[Any] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(Paragraph(_text(block.text), styles[f"h{min(max(block.level, 1), 3)}"]))
        elif isinstance(block, Para):
            out.append(Paragraph(_text(block.text), styles.get(block.style, styles["body"])))
        elif isinstance(block, Spacer):
            out.append(RlSpacer(1, block.height_mm * mm))
        elif isinstance(block, Bullets):
            out.append(
                ListFlowable(
                    [ListItem(Paragraph(_text(i), styles["body"])) for i in block.items],
                    bulletType="bullet",
                    start="•",
                    leftIndent=12,
                    bulletFontName=styles["body"].fontName,
                )
            )
        elif isinstance(block, Facts):
            data = [
                [Paragraph(_text(k), styles["muted"]), Paragraph(_text(v), styles["body"])]
                for k, v in block.rows
            ]
            if data:
                table = RlTable(data, colWidths=[width * 0.24, width * 0.76])
                table.setStyle(
                    TableStyle(
                        [
                            ("VALIGN", (0, 0), (-1, -1), "TOP"),
                            ("LINEBELOW", (0, 0), (-1, -1), 0.4, grid),
                            ("TOPPADDING", (0, 0), (-1, -1), 2),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                        ]
                    )
                )
                out.append(table)
        elif isinstance(block, Table):
            columns = len(block.header)
            fractions = list(block.widths or [1 / columns] * columns)
            data = [[Paragraph(_text(h), styles["head"]) for h in block.header]]
            data += [[Paragraph(_text(c), styles["cell"]) for c in row] for row in block.rows]
            table = RlTable(data, colWidths=[width * f for f in fractions], repeatRows=1)
            commands: list[tuple[Any, ...]] = [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#8f1a24")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.4, grid),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
            for index in block.marked:
                commands.append(
                    ("BACKGROUND", (0, index + 1), (-1, index + 1), colors.HexColor("#fdecea"))
                )
            table.setStyle(TableStyle(commands))
            out.append(table)
    return out


def render_pdf(
    *,
    title: str,
    blocks: Sequence[Block],
    subject: str = "",
    author: str = "",
    footer: str = "",
) -> bytes:
    """An A4 PDF of `blocks`; the footer (and the page number) on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    font = cjk_font()
    styles = _styles(font)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        subject=subject,
        author=author,
        creator="xianghu",
    )
    stamp = footer

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillGray(0.4)
        canvas.drawString(18 * mm, 10 * mm, stamp)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"{document.page}")
        canvas.restoreState()

    story = _flowables(blocks, styles, doc.width)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
