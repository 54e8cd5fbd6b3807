"""A notice (通报) as people read it: one `NoticeDocument` built from the notice's stored
snapshot, rendered as the notice page, the printable page, the PDF (`core.pdf`) and the
Excel workbook (`core.xlsx`) alike, so all four say the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from xianghu.core import pdf, xlsx

from .models import (
    EntryStatus,
    Notice,
    NoticeCategory,
    NoticeEntry,
    NoticeStatus,
    RectificationReply,
    ReplyStatus,
)
from .notices import CATEGORY_ORDER, notice_number
from .notices_access import may_see_replies

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def percent(value: Any) -> str:
    """A rate (text or Decimal, 0–1) as a percentage with one decimal; "—" for no data."""
    if value is None or value == "":
        return "—"
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def when(value: Any) -> str:
    """A moment (a datetime or ISO text) as local "YYYY-MM-DD HH:MM"; "—" without one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        return "—"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def day(value: datetime | None) -> str:
    """A date as the active language writes it (2025年4月15日)."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value).date(), "DATE_FORMAT")


def category_label(category: str) -> str:
    return str(NoticeCategory(category).label) if category in NoticeCategory.values else category


def reason_label(reason: str) -> str:
    return {
        "not_signed": _("not signed for"),
        "late_sign": _("signed late"),
        "not_responded": _("not responded to"),
        "late_response": _("responded late"),
        "unsatisfied": _("unsatisfied"),
        "basically": _("basically satisfied"),
    }.get(reason, reason)


def figure_rows(category: str, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures that matter for the category, as label and value."""
    f = figures
    if category == NoticeCategory.NO_RESPONSE:
        return [
            (_("Lead dispatches received"), str(f.get("received", 0))),
            (_("Not signed or not responded to past the deadline"), str(f.get("no_response", 0))),
            (_("Response rate"), percent(f.get("response_rate"))),
            (_("Red cards"), str(f.get("red_cards", 0))),
        ]
    if category == NoticeCategory.LATE_RESPONSE:
        return [
            (_("Lead dispatches received"), str(f.get("received", 0))),
            (_("Signed or responded to late"), str(f.get("late_response", 0))),
            (_("Response rate"), percent(f.get("response_rate"))),
            (_("Sign rate"), percent(f.get("sign_rate"))),
        ]
    return [
        (_("Evaluations counted"), str(f.get("evaluations", 0))),
        (_("Unsatisfied (reopened)"), str(f.get("unsatisfied", 0))),
        (_("Basically satisfied"), str(f.get("basically", 0))),
        (_("Satisfaction rate"), percent(f.get("satisfaction_rate"))),
    ]


@dataclass
class CallRow:
    id: int
    number: str
    title: str
    reasons: str
    due: str
    done: str
    at: str
    url: str


@dataclass
class EntryView:
    entry: NoticeEntry
    category_label: str
    figures: list[tuple[str, str]]
    calls: list[CallRow]
    line: str  # the entry's sentence in the body of the notice
    status_label: str
    overdue: bool

    @property
    def figures_text(self) -> str:
        return "；".join(f"{label} {value}" for label, value in self.figures)

    @property
    def calls_text(self) -> str:
        return "、".join(c.number for c in self.calls) or "—"


@dataclass
class Section:
    category: str
    heading: str
    intro: str
    entries: list[EntryView]


@dataclass
class NoticeDocument:
    notice: Notice
    number: str
    title: str
    period_label: str
    issuer: str
    issued_on: str
    summary: str
    sections: list[Section]
    closing: str
    criteria: list[str]
    as_of: str
    entries: list[EntryView] = field(default_factory=list)

    @property
    def issued(self) -> bool:
        return self.notice.status == NoticeStatus.ISSUED


def _calls(entry: NoticeEntry) -> list[CallRow]:
    rows = []
    for c in entry.calls or []:
        rows.append(
            CallRow(
                id=int(c.get("id") or 0),
                number=str(c.get("number", "")),
                title=str(c.get("title", "")),
                reasons="、".join(reason_label(r) for r in c.get("reasons") or []),
                due=when(c.get("due")),
                done=when(c.get("done")),
                at=when(c.get("at")),
                url=reverse("calls:detail", args=[c["id"]]) if c.get("id") else "",
            )
        )
    return rows


def _line(entry: NoticeEntry, calls: Sequence[CallRow]) -> str:
    f = entry.figures or {}
    numbers = "、".join(c.number for c in calls)
    if entry.category == NoticeCategory.NO_RESPONSE:
        return _("%(org)s: %(n)s calls not signed for or not responded to in time (%(calls)s).") % {
            "org": entry.subject_name,
            "n": f.get("no_response", len(calls)),
            "calls": numbers,
        }
    if entry.category == NoticeCategory.LATE_RESPONSE:
        return _(
            "%(org)s: %(n)s calls signed for or responded to late (%(calls)s); response "
            "rate %(rate)s."
        ) % {
            "org": entry.subject_name,
            "n": f.get("late_response", len(calls)),
            "calls": numbers,
            "rate": percent(f.get("response_rate")),
        }
    return _("%(org)s: satisfaction rate %(rate)s, %(n)s unsatisfied evaluations of %(total)s.") % {
        "org": entry.subject_name,
        "rate": percent(f.get("satisfaction_rate")),
        "n": f.get("unsatisfied", 0),
        "total": f.get("evaluations", 0),
    }


_INTROS = {
    NoticeCategory.NO_RESPONSE: lambda: _(
        "These organisations left calls dispatched to them unsigned or unanswered past the "
        "deadline:"
    ),
    NoticeCategory.LATE_RESPONSE: lambda: _(
        "These organisations signed for or responded to calls after the deadline:"
    ),
    NoticeCategory.POOR_RESPONSE: lambda: _(
        "The callers were not satisfied with the handling of these organisations:"
    ),
}


def entry_view(entry: NoticeEntry) -> EntryView:
    calls = _calls(entry)
    return EntryView(
        entry=entry,
        category_label=category_label(entry.category),
        figures=figure_rows(entry.category, entry.figures or {}),
        calls=calls,
        line=_line(entry, calls),
        status_label=str(EntryStatus(entry.status).label),
        overdue=entry.notice.status == NoticeStatus.ISSUED and entry.is_overdue,
    )


def _criteria_lines(criteria: dict[str, Any]) -> list[str]:
    c = criteria
    return [
        _(
            "No response: at least %(n)s dispatches not signed for or not responded to by "
            "the deadline."
        )
        % {"n": c.get("no_response_min", "—")},
        _(
            "Late response: at least %(n)s dispatches signed for or responded to late, or "
            "any and a response rate below %(rate)s."
        )
        % {"n": c.get("late_min", "—"), "rate": percent(c.get("response_rate_below"))},
        _(
            "Poor response: a satisfaction rate below %(rate)s, or at least %(n)s "
            "unsatisfied evaluations."
        )
        % {"n": c.get("unsatisfied_min", "—"), "rate": percent(c.get("satisfaction_below"))},
    ]


def notice_document(notice: Notice, entries: Sequence[NoticeEntry] | None = None) -> NoticeDocument:
    """The document of a notice, from what the notice stored."""
    if entries is None:
        entries = list(notice.entries.select_related("organisation", "notice"))
    views = [entry_view(e) for e in entries]
    sections = []
    for category in CATEGORY_ORDER:
        in_category = [v for v in views if v.entry.category == category]
        if in_category:
            sections.append(
                Section(
                    category=category,
                    heading=_("%(label)s: %(n)s organisations")
                    % {"label": category_label(category), "n": len(in_category)},
                    intro=_INTROS[category](),
                    entries=in_category,
                )
            )
    issued = notice.status == NoticeStatus.ISSUED
    # The deadline of the issue (entries returned for revision have later ones).
    due = min((e.reply_due for e in entries if e.reply_due), default=None)
    closing = _(
        "The organisations named shall find the causes, rectify them and file a "
        "rectification reply on the platform within %(days)s working days of the issue"
        "%(due)s, stating the causes found and the measures taken. The issuer follows each "
        "reply until the rectification is accepted."
    ) % {
        "days": notice.reply_days,
        "due": (_(" (by %(due)s)") % {"due": when(due)}) if issued and due else "",
    }
    issuer = notice.issuer_org.name if notice.issuer_org_id and notice.issuer_org else ""
    return NoticeDocument(
        notice=notice,
        number=notice_number(notice),
        title=notice.title,
        period_label=notice.period_label,
        issuer=issuer or notice.county.name,
        issued_on=day(notice.issued_at) if issued else _("not issued yet"),
        summary=notice.summary,
        sections=sections,
        closing=closing,
        criteria=_criteria_lines(notice.criteria or {}),
        as_of=when(notice.as_of),
        entries=views,
    )


# ---- PDF --------------------------------------------------------------------------------------


def notice_pdf(notice: Notice) -> bytes:
    doc = notice_document(notice)
    blocks: list[pdf.Block] = [
        pdf.Heading(doc.title, 1),
        pdf.Para(doc.number, "muted"),
        pdf.Facts(
            [
                (_("Period"), doc.period_label),
                (_("Issued by"), doc.issuer),
                (_("Issued on"), doc.issued_on),
                (_("Figures as of"), doc.as_of),
            ]
        ),
        pdf.Spacer(3),
    ]
    if doc.summary:
        blocks.append(pdf.Para(doc.summary))
    if not doc.sections:
        blocks.append(pdf.Para(_("Nobody meets the criteria of this notice."), "muted"))
    for section in doc.sections:
        blocks += [
            pdf.Heading(section.heading, 2),
            pdf.Para(section.intro),
            pdf.Bullets([v.line for v in section.entries]),
        ]
    if doc.entries:
        blocks += [
            pdf.Heading(_("Figures and calls"), 2),
            pdf.Table(
                [_("No."), _("Organisation"), _("Category"), _("Figures"), _("Calls")],
                [
                    [
                        str(i),
                        v.entry.subject_name,
                        v.category_label,
                        v.figures_text,
                        "\n".join(f"{c.number} {c.title}（{c.reasons}）" for c in v.calls) or "—",
                    ]
                    for i, v in enumerate(doc.entries, 1)
                ],
                widths=[0.06, 0.18, 0.1, 0.3, 0.36],
            ),
        ]
    blocks += [pdf.Heading(_("Requirements"), 2), pdf.Para(doc.closing)]
    if doc.issued and doc.entries:
        blocks += [
            pdf.Heading(_("Rectification"), 2),
            pdf.Table(
                [_("Organisation"), _("Category"), _("Reply due"), _("Status")],
                [
                    [
                        v.entry.subject_name,
                        v.category_label,
                        when(v.entry.reply_due),
                        v.status_label + (f" · {_('overdue')}" if v.overdue else ""),
                    ]
                    for v in doc.entries
                ],
                widths=[0.3, 0.16, 0.22, 0.32],
                marked=[i for i, v in enumerate(doc.entries) if v.overdue],
            ),
        ]
    blocks += [
        pdf.Heading(_("Criteria"), 3),
        pdf.Bullets(doc.criteria),
        pdf.Spacer(6),
        pdf.Para(f"{doc.issuer}\n{doc.issued_on}", "strong"),
    ]
    footer = _("%(number)s · printed %(at)s") % {
        "number": doc.number,
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    return pdf.render_pdf(
        title=doc.title, subject=doc.number, author=doc.issuer, blocks=blocks, footer=footer
    )


# ---- Excel ------------------------------------------------------------------------------------


def notice_xlsx(notice: Notice, *, replies: bool = False, actor: Any = None) -> bytes:
    """The workbook of a notice: the notice, the entries with their figures, the calls,
    and (for those who may read them) the rectification replies."""
    doc = notice_document(notice)
    summary_rows: list[list[Any]] = [
        [_("Number"), doc.number],
        [_("Title"), doc.title],
        [_("Period"), doc.period_label],
        [_("Status"), str(NoticeStatus(notice.status).label)],
        [_("Issued by"), doc.issuer],
        [_("Issued on"), doc.issued_on],
        [_("Figures as of"), doc.as_of],
        [_("Summary"), doc.summary],
        [_("Requirements"), doc.closing],
        *[[_("Criteria"), line] for line in doc.criteria],
    ]
    entry_rows = []
    call_rows = []
    reply_rows = []
    for i, v in enumerate(doc.entries, 1):
        e = v.entry
        f = e.figures or {}
        entry_rows.append(
            [
                i,
                e.subject_name,
                v.category_label,
                f.get("received", 0),
                f.get("no_response", 0),
                f.get("late_response", 0),
                percent(f.get("response_rate")),
                f.get("evaluations", 0),
                f.get("unsatisfied", 0),
                percent(f.get("satisfaction_rate")),
                len(v.calls),
                when(e.reply_due),
                v.status_label,
                _("yes") if v.overdue else _("no"),
            ]
        )
        for c in v.calls:
            call_rows.append(
                [
                    i,
                    e.subject_name,
                    v.category_label,
                    c.number,
                    c.title,
                    c.reasons,
                    c.at,
                    c.due,
                    c.done,
                ]
            )
        if replies and (actor is None or may_see_replies(actor, e)):
            for r in e.replies.select_related("organisation").order_by("submitted_at", "pk"):
                reply_rows.append(_reply_row(i, e, v, r))
    sheets = [
        xlsx.Sheet(
            title=_("Notice"),
            heading=f"{doc.title} {doc.number}",
            header=[_("Field"), _("Value")],
            rows=summary_rows,
            widths=[18, 100],
        ),
        xlsx.Sheet(
            title=_("Named"),
            header=[
                _("No."),
                _("Organisation"),
                _("Category"),
                _("Lead dispatches received"),
                _("No response"),
                _("Late response"),
                _("Response rate"),
                _("Evaluations counted"),
                _("Unsatisfied"),
                _("Satisfaction rate"),
                _("Calls"),
                _("Reply due"),
                _("Status"),
                _("Overdue"),
            ],
            rows=entry_rows,
            widths=[6, 26, 12, 10, 10, 10, 10, 10, 10, 10, 8, 17, 16, 8],
        ),
        xlsx.Sheet(
            title=_("Calls"),
            header=[
                _("No."),
                _("Organisation"),
                _("Category"),
                _("Call"),
                _("Title"),
                _("Why"),
                _("Received or evaluated"),
                _("Due"),
                _("Done"),
            ],
            rows=call_rows,
            widths=[6, 24, 12, 22, 36, 22, 17, 17, 17],
        ),
    ]
    if replies:
        sheets.append(
            xlsx.Sheet(
                title=_("Replies"),
                header=[
                    _("No."),
                    _("Organisation"),
                    _("Category"),
                    _("Submitted at"),
                    _("Late"),
                    _("Causes and rectification"),
                    _("Measures"),
                    _("Decision"),
                    _("Reason"),
                    _("Decided at"),
                ],
                rows=reply_rows,
                widths=[6, 24, 12, 17, 8, 50, 50, 14, 30, 17],
            )
        )
    return xlsx.render_xlsx(sheets)


def _reply_row(i: int, e: NoticeEntry, v: EntryView, r: RectificationReply) -> list[Any]:
    return [
        i,
        r.organisation.name,
        v.category_label,
        when(r.submitted_at),
        _("yes") if r.late else _("no"),
        r.text,
        r.measures,
        str(ReplyStatus(r.status).label),
        r.decision_reason,
        when(r.decided_at),
    ]


def file_name(notice: Notice, extension: str) -> str:
    """An ASCII file name: notice-<county code>-<period>[-<serial>].<ext>."""
    serial = f"-{notice.year}-{notice.serial}" if notice.serial else "-draft"
    period = notice.period_key.replace("..", "_")
    return f"notice-{notice.county.code}-{period}{serial}.{extension}"
