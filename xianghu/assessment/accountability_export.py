"""The accountability report of a case, as people read it: one `Report` built from the
case's stored evidence and proposal, rendered as the case page, the printable page, the
PDF (`core.pdf`) and the Excel workbook (`core.xlsx`) alike, so all four say the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from xianghu.calls.models import Direction
from xianghu.core import pdf, xlsx

from .accountability import (
    Outcome,
    finding_label,
    outcome_label,
    role_label,
    verdict_label,
    when,
)
from .models import AccountabilityCase, CaseStatus


@dataclass
class CheckRow:
    label: str
    organisation: str
    role: str
    due: str
    done: str
    outcome: str
    outcome_label: str
    text: str
    basis: str
    cite: str
    failed: bool
    decisive: bool
    plain: bool


@dataclass
class ReasonRow:
    verdict: str
    verdict_label: str
    text: str
    basis: str
    cite: str


@dataclass
class Report:
    case: AccountabilityCase | None
    heading: str
    facts: list[tuple[str, str]]
    list_facts: list[tuple[str, str]]
    steps: list[list[str]]
    checks: list[CheckRow]
    proposed: str
    proposed_label: str
    reasons: list[ReasonRow]
    final: list[tuple[str, str]]
    timeline: list[list[str]]
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def decided(self) -> bool:
        return self.case is not None and self.case.status == CaseStatus.DECIDED


def case_number(case: AccountabilityCase) -> str:
    return f"ZZ{case.pk:06d}"


def _cite(row: dict[str, Any]) -> str:
    """Where a fact comes from: the list item and step (unless the basis names them
    already) and the call's event."""
    parts = []
    if row.get("item") and not row.get("basis"):
        step = row.get("step") or row.get("step_order")
        parts.append(
            _("item %(code)s step %(step)s") % {"code": row["item"], "step": step}
            if step
            else _("item %(code)s") % {"code": row["item"]}
        )
    call = row.get("call") or row.get("call_number")
    if call:
        event = row.get("event") or row.get("event_seq")
        parts.append(
            _("call %(call)s event #%(seq)s") % {"call": call, "seq": event}
            if event
            else _("call %(call)s") % {"call": call}
        )
    return " · ".join(str(p) for p in parts)


def _township_duty_label(kind: str) -> str:
    return {
        "primary": _("primary: the item is the township's own duty"),
        "cooperating": _("cooperating duties only: the item is a county duty"),
        "admitted": _("an admitted task off the list (准入)"),
        "not_admitted": _("none: off the list without an approved admission"),
        "none": _("none: the matter is not on the list"),
    }.get(kind, kind)


def report_of(case: AccountabilityCase) -> Report:
    """The report of a case, from what the case stored."""
    return build_report(
        evidence=case.evidence or {},
        reasons=case.proposed_reasons or [],
        proposed=case.proposed_finding,
        case=case,
    )


def build_report(
    *,
    evidence: dict[str, Any],
    reasons: list[dict[str, Any]],
    proposed: str,
    case: AccountabilityCase | None = None,
) -> Report:
    """The report of evidence and a proposal (as JSON): a case's, or a preview's."""
    ev = evidence
    info: dict[str, Any] | None = ev.get("list_info")
    township = (ev.get("township") or {}).get("name", "")
    departments = "、".join(d.get("name", "") for d in ev.get("departments") or [])
    subject = _("Call") if ev.get("subject") == "call" else _("Incident")
    facts: list[tuple[str, str]] = []
    if case is not None:
        facts.append((_("Case"), case_number(case)))
    facts += [
        (_("Subject"), f"{subject}: {ev.get('title', '')}"),
        (_("County"), (ev.get("county") or {}).get("name", "")),
        (_("Township"), township or "—"),
        (_("Departments concerned"), departments or "—"),
    ]
    if ev.get("direction"):
        facts.append(
            (
                _("Direction"),
                str(Direction(ev["direction"]).label)
                if ev["direction"] in Direction.values
                else ev["direction"],
            )
        )
    incident = ev.get("incident")
    if incident:
        facts += [
            (_("Discovered at"), when(incident.get("discovered_at"))),
            (_("Discovered by"), incident.get("discovered_by", "")),
            (_("What happened"), incident.get("description", "")),
        ]
    facts.append((_("The township's duty"), _township_duty_label(ev.get("township_duty", ""))))
    if case is not None:
        facts.append((_("Opened"), f"{when(case.opened_at)} · {_person(case.opened_by)}"))
    facts.append((_("Evidence as of"), when(ev.get("as_of"))))
    if case is not None:
        facts.append((_("Status"), str(CaseStatus(case.status).label)))
    admission = ev.get("admission")
    if admission:
        facts.append(
            (
                _("Admission"),
                f"{admission.get('title', '')} ({admission.get('starts_on', '')} – "
                f"{admission.get('ends_on', '')})",
            )
        )
    list_facts: list[tuple[str, str]] = []
    steps: list[list[str]] = []
    if info:
        valid = f"{when(info.get('valid_from'))} – {when(info.get('valid_to')) if info.get('valid_to') else _('in force')}"
        list_facts.append(
            (_("List version in force"), f"{info.get('version_label', '')} ({valid})")
        )
        if info.get("item_code"):
            township_item = info.get("primary_level") == "township"
            list_facts += [
                (_("Item"), f"{info['item_code']} {info.get('item_name', '')}"),
                (
                    _("Primary responsibility"),
                    _("the township")
                    if township_item
                    else "、".join(info.get("primary_departments") or []) or "—",
                ),
                (
                    _("Assisting"),
                    "、".join(info.get("assisting_departments") or [])
                    or ("—" if township_item else _("the township (cooperating duties)")),
                ),
                (_("Primary duties"), info.get("primary_duties") or "—"),
                (_("Cooperating duties"), info.get("cooperating_duties") or "—"),
                (_("Legal basis"), info.get("legal_basis") or "—"),
                (
                    _("Time limits"),
                    _("respond within %(respond)s, complete within %(complete)s")
                    % {
                        "respond": info.get("respond_limit") or "—",
                        "complete": info.get("complete_limit") or "—",
                    },
                ),
            ]
        else:
            list_facts.append((_("Item"), _("Outside the list")))
        steps = [
            [
                str(s.get("order", "")),
                s.get("name", ""),
                s.get("party_label", ""),
                s.get("limit_label") or "—",
                s.get("handoff") or "—",
            ]
            for s in info.get("steps") or []
        ]
    else:
        list_facts.append((_("List version in force"), _("none")))
    checks = []
    for c in ev.get("checks") or []:
        outcome = c.get("outcome", "")
        checks.append(
            CheckRow(
                label=c.get("label", ""),
                organisation=(c.get("organisation") or {}).get("name", "") or "—",
                role=role_label(c.get("role", "")),
                due=when(c.get("due")) if c.get("due") else _("no limit"),
                done=when(c.get("done")) if c.get("done") else "—",
                outcome=outcome,
                outcome_label=outcome_label(outcome),
                text=c.get("text", ""),
                basis=c.get("basis", ""),
                cite=_cite({**c, "item": (info or {}).get("item_code", "")}),
                failed=bool(c.get("decisive")) and outcome in Outcome.FAILED,
                decisive=bool(c.get("decisive")),
                plain=bool(c.get("plain")),
            )
        )
    reason_rows = [
        ReasonRow(
            verdict=r.get("verdict", ""),
            verdict_label=verdict_label(r.get("verdict", "")),
            text=r.get("text", ""),
            basis=r.get("basis", ""),
            cite=_cite(r),
        )
        for r in reasons
    ]
    final: list[tuple[str, str]] = []
    if case is not None and case.status == CaseStatus.DECIDED:
        final = [
            (_("Finding"), finding_label(case.final_finding)),
            (_("Reasons"), case.final_reasons),
            (_("Recorded by"), _person(case.decided_by)),
            (_("Recorded at"), when(case.decided_at)),
        ]
        if case.overrides_proposal:
            final.append((_("Proposal"), _("the finding differs from the proposal")))
    timeline = [
        [
            when(t.get("at")),
            t.get("call_number") or "—",
            t.get("label", ""),
            " · ".join(v for v in (t.get("organisation"), t.get("who")) if v),
            t.get("summary", ""),
        ]
        for t in ev.get("timeline") or []
    ]
    return Report(
        case=case,
        heading=_("Accountability report (依单追责)"),
        facts=facts,
        list_facts=list_facts,
        steps=steps,
        checks=checks,
        proposed=proposed,
        proposed_label=finding_label(proposed),
        reasons=reason_rows,
        final=final,
        timeline=timeline,
        calls=list(ev.get("calls") or []),
    )


def _person(user: Any) -> str:
    if user is None:
        return "—"
    return str(user.name or user.username) if hasattr(user, "name") else str(user)


# ---- PDF -------------------------------------------------------------------------------------


def case_pdf(case: AccountabilityCase) -> bytes:
    report = report_of(case)
    blocks: list[pdf.Block] = [
        pdf.Heading(report.heading, 1),
        pdf.Facts(report.facts),
        pdf.Heading(_("The list in force"), 2),
        pdf.Facts(report.list_facts),
    ]
    if report.steps:
        blocks += [
            pdf.Heading(_("Procedure"), 3),
            pdf.Table(
                [_("No."), _("Step"), _("Responsible"), _("Time limit"), _("Hand-off point")],
                report.steps,
                widths=[0.07, 0.33, 0.18, 0.14, 0.28],
            ),
        ]
    blocks += [pdf.Heading(_("Clocks measured against the limits"), 2)]
    if report.checks:
        blocks.append(
            pdf.Table(
                [_("Step"), _("Party"), _("Due"), _("Done"), _("Outcome"), _("Basis")],
                [
                    [
                        c.label,
                        f"{c.organisation}\n{c.role}",
                        c.due,
                        c.done,
                        c.outcome_label,
                        c.basis or c.cite,
                    ]
                    for c in report.checks
                ],
                widths=[0.14, 0.18, 0.165, 0.165, 0.12, 0.23],
                marked=[i for i, c in enumerate(report.checks) if c.failed],
            )
        )
    else:
        blocks.append(pdf.Para(_("The log holds no clock to measure."), "muted"))
    blocks += [
        pdf.Heading(_("Proposed finding"), 2),
        pdf.Para(report.proposed_label, "strong"),
        pdf.Bullets(
            [
                f"[{r.verdict_label}] {r.text}" + (f" ({r.cite})" if r.cite else "")
                for r in report.reasons
            ]
        ),
        pdf.Heading(_("Final finding"), 2),
    ]
    if report.final:
        blocks.append(pdf.Facts(report.final))
    else:
        blocks.append(pdf.Para(_("Not recorded yet."), "muted"))
    if report.timeline:
        blocks += [
            pdf.Heading(_("Timeline"), 2),
            pdf.Table(
                [_("Time"), _("Call"), _("Step"), _("Who"), _("Details")],
                report.timeline,
                widths=[0.165, 0.17, 0.15, 0.2, 0.315],
            ),
        ]
    footer = _("%(number)s · printed %(at)s") % {
        "number": case_number(case),
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    return pdf.render_pdf(
        title=f"{report.heading} {case_number(case)}",
        subject=case.title,
        author="xianghu",
        blocks=blocks,
        footer=footer,
    )


# ---- Excel ---------------------------------------------------------------------------------


def case_xlsx(case: AccountabilityCase) -> bytes:
    report = report_of(case)
    summary_rows: list[list[Any]] = [[k, v] for k, v in report.facts + report.list_facts]
    summary_rows.append([_("Proposed finding"), report.proposed_label])
    summary_rows += [[k, v] for k, v in report.final] or [
        [_("Final finding"), _("Not recorded yet.")]
    ]
    sheets = [
        xlsx.Sheet(
            title=_("Summary"),
            heading=f"{report.heading} {case_number(case)}",
            header=[_("Field"), _("Value")],
            rows=summary_rows,
            widths=[22, 90],
        ),
        xlsx.Sheet(
            title=_("Clocks"),
            header=[
                _("Step"),
                _("Party"),
                _("Responsibility"),
                _("Due"),
                _("Done"),
                _("Outcome"),
                _("Decisive"),
                _("Basis"),
                _("Source"),
                _("Fact"),
            ],
            rows=[
                [
                    c.label,
                    c.organisation,
                    c.role,
                    c.due,
                    c.done,
                    c.outcome_label,
                    _("yes") if c.decisive else _("no"),
                    c.basis,
                    c.cite,
                    c.text,
                ]
                for c in report.checks
            ],
            widths=[18, 22, 14, 17, 17, 16, 8, 40, 28, 60],
        ),
        xlsx.Sheet(
            title=_("Reasons"),
            header=[_("Verdict"), _("Reason"), _("Basis"), _("Source")],
            rows=[[r.verdict_label, r.text, r.basis, r.cite] for r in report.reasons],
            widths=[16, 80, 40, 28],
        ),
        xlsx.Sheet(
            title=_("Procedure"),
            header=[_("No."), _("Step"), _("Responsible"), _("Time limit"), _("Hand-off point")],
            rows=report.steps,
            widths=[6, 30, 16, 12, 40],
        ),
        xlsx.Sheet(
            title=_("Timeline"),
            header=[_("Time"), _("Call"), _("Step"), _("Who"), _("Details")],
            rows=report.timeline,
            widths=[17, 20, 18, 28, 60],
        ),
    ]
    return xlsx.render_xlsx(sheets)
