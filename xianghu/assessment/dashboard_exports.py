"""Excel workbooks of the assessment dashboards: every table of a page, one sheet each,
with the same rows as the page (`xianghu.core.xlsx`). Rates are percentages with one
decimal; a rate or score without data is the words "no data", never 0 or 100."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from xianghu.core.xlsx import Sheet, render_xlsx

from .dashboards import (
    COMPONENT_LABELS,
    KIND_LABELS,
    LOSS_LABELS,
    STATUS_LABELS,
    DashboardScope,
    Departments,
    GroupRow,
    Groups,
    Overview,
    RankingBlock,
    Steps,
    SubjectPage,
    SubjectRow,
    Townships,
    hours,
    reasons_text,
)
from .models import PeriodicEvaluation
from .periods import Period
from .policy import Policy, fraction_text

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _no_data() -> str:
    return _("no data")


def pct(value: Decimal | None) -> Any:
    if value is None:
        return _no_data()
    return round(float(value) * 100, 1)


def pts(value: Decimal | None) -> Any:
    return _no_data() if value is None else float(value)


def hrs(seconds: int | None) -> Any:
    value = hours(seconds)
    return _no_data() if value is None else value


def rank_text(rank: int | None, status: str) -> Any:
    return rank if rank is not None else str(STATUS_LABELS.get(status, status))


def _heading(ds: DashboardScope, title: str, period: Period | None) -> str:
    parts = [ds.name, title]
    if period is not None:
        parts.append(period.key)
    return " · ".join(parts)


def workbook(sheets: Sequence[Sheet]) -> bytes:
    return render_xlsx(sheets)


# ---- pages -------------------------------------------------------------------------------


def overview_sheets(ds: DashboardScope, period: Period, data: Overview) -> list[Sheet]:
    t = data.totals
    figures = [
        (_("Calls received"), t.received),
        (_("Calls sent by townships"), t.calls_sent),
        (_("Open now"), data.open_now),
        (_("Overdue now"), data.overdue_now),
        (_("Overdue in the period"), t.overdue),
        (_("Response rate (%)"), pct(t.response_rate)),
        (_("Completion rate (%)"), pct(t.completion_rate)),
        (_("Satisfaction rate (%)"), pct(t.satisfaction_rate)),
        (_("Red cards"), t.red_cards),
        (_("Yellow cards"), t.yellow_cards),
        (_("Supervision orders"), t.supervision_orders),
    ]
    trend = [
        [
            p.period.key,
            p.received,
            p.calls_sent,
            pct(p.response_rate),
            pct(p.completion_rate),
            pct(p.satisfaction_rate),
            p.overdue,
        ]
        for p in data.trend
    ]
    return [
        Sheet(
            title=_("Figures"),
            heading=_heading(ds, _("Overview"), period),
            header=[_("Figure"), _("Value")],
            rows=[[str(label), value] for label, value in figures],
            widths=[28, 14],
        ),
        Sheet(
            title=_("Trend"),
            heading=_heading(ds, _("Trend by month"), None),
            header=[
                _("Month"),
                _("Calls received"),
                _("Calls sent by townships"),
                _("Response rate (%)"),
                _("Completion rate (%)"),
                _("Satisfaction rate (%)"),
                _("Overdue"),
            ],
            rows=trend,
            widths=[12, 14, 16, 16, 16, 16, 12],
        ),
    ]


def _group_rows(rows: Sequence[GroupRow], *, items: bool) -> list[list[Any]]:
    out = []
    for g in rows:
        row: list[Any] = [g.code, g.name]
        if items:
            row.append(g.domain)
        row += [
            g.received,
            pct(g.response_rate),
            pct(g.completion_rate),
            pct(g.satisfaction_rate),
            g.overdue,
        ]
        out.append(row)
    return out


def groups_sheets(ds: DashboardScope, period: Period, data: Groups) -> list[Sheet]:
    common = [
        _("Calls received"),
        _("Response rate (%)"),
        _("Completion rate (%)"),
        _("Satisfaction rate (%)"),
        _("Overdue"),
    ]
    return [
        Sheet(
            title=_("By domain"),
            heading=_heading(ds, _("By domain"), period),
            header=[_("Code"), _("Domain"), *common],
            rows=_group_rows(data.domains, items=False),
            widths=[10, 24, 12, 14, 14, 14, 10],
        ),
        Sheet(
            title=_("By list item"),
            heading=_heading(ds, _("By list item"), period),
            header=[_("Code"), _("List item"), _("Domain"), *common],
            rows=_group_rows(data.items, items=True),
            widths=[10, 36, 20, 12, 14, 14, 14, 10],
        ),
    ]


def _subject_header() -> list[str]:
    return [
        _("Rank"),
        _("Organisation"),
        _("Calls received"),
        _("Sign rate (%)"),
        _("Response rate (%)"),
        _("Completion rate (%)"),
        _("Satisfaction rate (%)"),
        _("Overdue"),
        _("Return rate (%)"),
        _("Return refusal rate (%)"),
        _("Red cards"),
        _("Yellow cards"),
        _("Supervision orders"),
        _("Composite"),
        _("Townships' evaluation"),
        _("Score"),
    ]


def _subject_row(r: SubjectRow) -> list[Any]:
    m, s = r.metrics, r.score
    return [
        rank_text(r.entry.rank, r.entry.status),
        s.subject_name,
        m.received,
        pct(m.sign_rate),
        pct(m.response_rate),
        pct(m.completion_rate),
        pct(m.satisfaction.rate),
        m.overdue,
        pct(m.return_rate),
        pct(m.return_refusal_rate),
        m.red_cards,
        m.yellow_cards,
        m.supervision_orders,
        pts(s.composite),
        pts(s.township_evaluation),
        pts(s.score),
    ]


def departments_sheets(ds: DashboardScope, period: Period, data: Departments) -> list[Sheet]:
    widths = [10, 24, *([12] * 14)]
    return [
        Sheet(
            title=str(KIND_LABELS["department"]),
            heading=_heading(ds, str(KIND_LABELS["department"]), period),
            header=_subject_header(),
            rows=[_subject_row(r) for r in data.departments],
            widths=widths,
        ),
        Sheet(
            title=str(KIND_LABELS["stationed_agency"]),
            heading=_heading(ds, str(KIND_LABELS["stationed_agency"]), period),
            header=_subject_header(),
            rows=[_subject_row(r) for r in data.agencies],
            widths=widths,
        ),
    ]


def townships_sheets(ds: DashboardScope, period: Period, data: Townships) -> list[Sheet]:
    rows = []
    for r in data.rows:
        m, s = r.metrics, r.score
        rows.append(
            [
                rank_text(r.entry.rank, r.entry.status),
                s.subject_name,
                m.calls_sent or 0,
                m.calls_valid or 0,
                m.calls_invalid or 0,
                pct(m.valid_call_rate),
                m.received,
                pct(m.cooperation_rate),
                pct(m.satisfaction.rate),
                pts(s.score),
            ]
        )
    return [
        Sheet(
            title=str(KIND_LABELS["township"]),
            heading=_heading(ds, str(KIND_LABELS["township"]), period),
            header=[
                _("Rank"),
                _("Township"),
                _("Calls sent"),
                _("Valid calls"),
                _("Invalid calls"),
                _("Valid-call rate (%)"),
                _("Two-way calls received"),
                _("Cooperation rate (%)"),
                _("Departments' satisfaction (%)"),
                _("Score"),
            ],
            rows=rows,
            widths=[10, 20, 10, 10, 10, 14, 14, 14, 16, 10],
        )
    ]


def steps_sheets(ds: DashboardScope, period: Period, data: Steps) -> list[Sheet]:
    histogram = [
        [label, *[s.bins[i] for s in data.summaries]] for i, label in enumerate(data.bin_labels)
    ]
    histogram.append([_("Episodes"), *[s.count for s in data.summaries]])
    histogram.append([_("Average (hours)"), *[hrs(s.average_seconds) for s in data.summaries]])
    subjects = []
    for m in data.subjects:
        row: list[Any] = [m.subject_name]
        for times in (m.sign_time, m.response_time, m.completion_time):
            if times is None:
                row += [0, _no_data(), _no_data()]
            else:
                row += [times.count, hrs(times.average_seconds), hrs(times.p90_seconds)]
        subjects.append(row)
    step_header = []
    for s in data.summaries:
        step_header += [
            _("%(step)s: episodes") % {"step": s.label},
            _("%(step)s: average (hours)") % {"step": s.label},
            _("%(step)s: 90th percentile (hours)") % {"step": s.label},
        ]
    return [
        Sheet(
            title=_("Distribution"),
            heading=_heading(ds, _("Step times"), period),
            header=[_("Time taken"), *[s.label for s in data.summaries]],
            rows=histogram,
            widths=[18, 14, 14, 14],
        ),
        Sheet(
            title=_("By organisation"),
            heading=_heading(ds, _("Step times by organisation"), period),
            header=[_("Organisation"), *step_header],
            rows=subjects,
            widths=[24, *([12] * 9)],
        ),
    ]


def rankings_sheets(ds: DashboardScope, period: Period, blocks: list[RankingBlock]) -> list[Sheet]:
    sheets = []
    for block in blocks:
        rows = []
        for r in block.rows:
            e = r.entry
            previous = (
                rank_text(r.previous.rank, r.previous.status)
                if r.previous is not None
                else _no_data()
            )
            lists = [_("red list")] if r.red else []
            if r.black:
                lists.append(_("black list"))
            rows.append(
                [
                    rank_text(e.rank, e.status),
                    e.score.subject_name,
                    pts(e.score.score),
                    e.score.volume,
                    previous,
                    r.movement if r.movement is not None else "",
                    "、".join(lists),
                ]
            )
        sheets.append(
            Sheet(
                title=block.label,
                heading=_heading(
                    ds,
                    _("Ranking: %(kind)s (%(ranked)s ranked, at least %(min)s calls)")
                    % {
                        "kind": block.label,
                        "ranked": block.ranking.ranked_count,
                        "min": block.ranking.min_volume,
                    },
                    period,
                ),
                header=[
                    _("Rank"),
                    _("Organisation"),
                    _("Score"),
                    _("Calls"),
                    _("Rank in %(period)s") % {"period": block.previous.period.key},
                    _("Places gained"),
                    _("List"),
                ],
                rows=rows,
                widths=[12, 24, 10, 10, 16, 12, 12],
            )
        )
    return sheets


def subject_sheets(ds: DashboardScope, period: Period, data: SubjectPage) -> list[Sheet]:
    score = data.score
    history = [
        [
            p.period.key,
            pts(p.score.score),
            rank_text(p.rank, p.status),
            p.ranked_count,
            p.score.volume,
        ]
        for p in data.history
    ]
    components: list[list[Any]] = [
        [
            str(COMPONENT_LABELS.get(c.key, c.key)),
            float(c.weight),
            pct(c.rate),
            float(c.numerator),
            c.denominator,
        ]
        for c in score.components
    ]
    components += [
        [_("Base"), "", pts(score.base), "", ""],
        [_("Penalties"), "", float(score.penalties.points), "", ""],
        [_("Composite"), "", pts(score.composite), "", ""],
        [_("Townships' evaluation"), "", pts(score.township_evaluation), "", ""],
        [_("Score"), "", pts(score.score), "", ""],
    ]
    losses = [
        [
            float(loss.points),
            str(LOSS_LABELS.get(loss.kind, loss.kind)),
            reasons_text(loss.kind, loss.reasons),
            loss.call_number,
            loss.at,
        ]
        for loss in data.losses.items
    ]
    name = data.organisation.name
    return [
        Sheet(
            title=_("Trend"),
            heading=f"{name} · {_('Trend')}",
            header=[
                pgettext("assessment", "Period"),
                _("Score"),
                _("Rank"),
                _("Ranked"),
                _("Calls"),
            ],
            rows=history,
            widths=[22, 10, 24, 10, 10],
        ),
        Sheet(
            title=_("Score"),
            heading=f"{name} · {_('Score')} · {period.key}",
            header=[_("Component"), _("Weight"), _("Value"), _("Numerator"), _("Denominator")],
            rows=components,
            widths=[30, 10, 10, 12, 12],
        ),
        Sheet(
            title=_("Points lost"),
            heading=f"{name} · {_('Where points were lost')} · {period.key}",
            header=[_("Points"), _("What"), _("Why"), _("Call"), _("When")],
            rows=losses,
            widths=[10, 18, 24, 20, 18],
        ),
    ]


def evaluations_sheets(
    township_name: str, period: Period, forms: Sequence[PeriodicEvaluation]
) -> list[Sheet]:
    rows = [
        [
            f.subject.name,
            f.period_key,
            float(f.score),
            f.get_grade_display() if f.grade else "",
            f.comment,
            f.updated_at,
        ]
        for f in forms
    ]
    return [
        Sheet(
            title=_("Evaluation forms"),
            heading=f"{township_name} · {_('Periodic evaluation forms')} · {period.key}",
            header=[
                _("Organisation evaluated"),
                pgettext("assessment", "Period"),
                _("Score"),
                _("Grade"),
                _("Comment"),
                _("Last changed"),
            ],
            rows=rows,
            widths=[24, 12, 10, 10, 40, 18],
        )
    ]


def policy_sheets(ds: DashboardScope, rows: Sequence[tuple[str, str, str]]) -> list[Sheet]:
    return [
        Sheet(
            title=_("Assessment rules"),
            heading=f"{ds.county.name} · {_('Assessment rules')}",
            header=[_("Setting"), _("Value"), _("Default")],
            rows=[list(r) for r in rows],
            widths=[48, 14, 14],
        )
    ]


def policy_value(policy: Policy, name: str) -> str:
    value = getattr(policy, name)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return str(value)
    return fraction_text(value)
