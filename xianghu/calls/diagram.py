"""docs/workflow.md's generated part: the state diagram and the table, from `workflow`."""

from __future__ import annotations

from django.utils import translation

from .workflow import TRANSITIONS, State

BEGIN = "<!-- BEGIN GENERATED: manage.py workflow_doc -->"
END = "<!-- END GENERATED -->"


def mermaid() -> str:
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> draft: create"]
    for t in TRANSITIONS:
        targets = [t.target] if t.target else list(t.targets)
        for source in sorted(t.sources):
            for target in targets:
                lines.append(f"    {source} --> {target}: {t.action}")
    for state in (State.CLOSED, State.MERGED, State.CANCELLED):
        lines.append(f"    {state} --> [*]")
    lines.append("```")
    return "\n".join(lines)


def table() -> str:
    with translation.override("zh-hans"):
        rows = [
            "| action | 中文 | from | to | who | requires |",
            "|---|---|---|---|---|---|",
        ]
        for t in TRANSITIONS:
            to = t.target or (" / ".join(t.targets) if t.targets else "(unchanged)")
            rows.append(
                f"| `{t.action}` | {t.label} | {', '.join(sorted(t.sources))} | {to} | "
                f"{', '.join(sorted(t.parties))} | {', '.join(t.requires) or '—'} |"
            )
        states = ["", "| state | 中文 |", "|---|---|"] + [
            f"| `{s.value}` | {s.label} |" for s in State
        ]
    return "\n".join(rows + states)


def generated_block() -> str:
    return f"{BEGIN}\n\n{mermaid()}\n\n{table()}\n\n{END}"


def splice(document: str) -> str:
    """`document` with its generated block replaced by the current one."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + generated_block() + document[end:]
