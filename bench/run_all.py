"""The benchmark suite in one command (issue #9): run every benchmark at its full size and
write each one's figures into docs/benchmarks.md.

    bench/all.sh                          # everything (1–2 hours on the first run)
    bench/all.sh --only console,sweep     # some of them
    bench/all.sh --quick                  # small sizes: a smoke run of the whole chain
    bench/all.sh --dry-run                # print the commands only

Each benchmark keeps its own command (`bench/<name>.sh`, documented in
docs/benchmarks.md next to its figures) and its own database; the data sets are cached,
so a second run only times. They run one after another, never together: each needs the
machine to itself. The figures of a benchmark replace the text between its markers in
docs/benchmarks.md (`<!-- results:<name> -->` … `<!-- /results:<name> -->`); the prose
around them stays as written. A benchmark that fails leaves its old figures and the run
goes on; the exit status says whether all passed. `--quick` writes nothing into the
document unless `--write` is given too (its small figures are not the ones to keep).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    writes_markdown: bool  # takes --markdown FILE (else its standard output is the block)


BENCHES: tuple[Bench, ...] = (
    Bench(
        "intake",
        "bench/intake.py",
        (),
        ("--calls", "100", "--rounds", "1", "--warmup", "10"),
        True,
    ),
    Bench("console", "bench/console.py", (), ("--calls", "20000", "--repeat", "5"), True),
    Bench(
        "sweep",
        "bench/sweep.py",
        (),
        ("--open", "2000,20000", "--due", "100", "--repeat", "2"),
        True,
    ),
    Bench(
        "assessment_ranking",
        "bench/assessment_ranking.py",
        (),
        ("--calls", "20000", "--repeat", "2", "--sample", "200"),
        False,
    ),
    Bench("hotline_import", "bench/hotline_import.py", (), ("--rows", "20000"), False),
)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the benchmark suite.")
    parser.add_argument(
        "--only", help="comma-separated names: " + ", ".join(b.name for b in BENCHES)
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--write", action="store_true", help="with --quick: write the document")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    known = {b.name for b in BENCHES}
    args.names = (
        [n.strip() for n in args.only.split(",")] if args.only else [b.name for b in BENCHES]
    )
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    return args


def splice(document: str, name: str, block: str) -> str:
    """`document` with the text between the markers of `name` replaced by `block`."""
    begin, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(document):
        raise KeyError(f"docs/benchmarks.md has no markers for {name!r}")
    return pattern.sub(lambda _m: f"{begin}\n{block.strip()}\n{end}", document, count=1)


def command(bench: Bench, *, quick: bool) -> list[str]:
    line = [str(ROOT / ".venv" / "bin" / "python"), bench.script]
    line += list(bench.quick if quick else bench.full)
    if bench.writes_markdown:
        line += ["--markdown", str(OUT / f"{bench.name}.md")]
    return line


def run(bench: Bench, *, quick: bool) -> str | None:
    """Run one benchmark; its Markdown block, or None if it failed."""
    OUT.mkdir(parents=True, exist_ok=True)
    line = command(bench, quick=quick)
    began = time.monotonic()
    print(f"[{datetime.now(UTC):%H:%M:%S}] {bench.name}: {' '.join(line[1:])}", flush=True)
    done = subprocess.run(line, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603
    seconds = time.monotonic() - began
    if done.returncode != 0:
        print(f"  failed (exit {done.returncode}) after {seconds:,.0f} s", flush=True)
        return None
    print(f"  done in {seconds:,.0f} s", flush=True)
    if bench.writes_markdown:
        return (OUT / f"{bench.name}.md").read_text(encoding="utf-8")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    chosen = [b for b in BENCHES if b.name in args.names]
    if args.dry_run:
        for bench in chosen:
            print(" ".join(command(bench, quick=args.quick)))
        return 0
    failed = []
    for bench in chosen:
        block = run(bench, quick=args.quick)
        if block is None:
            failed.append(bench.name)
            continue
        if args.quick and not args.write:
            print(block)
            continue
        DOC.write_text(splice(DOC.read_text(encoding="utf-8"), bench.name, block), encoding="utf-8")
        print(f"  figures written into {DOC.relative_to(ROOT)}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
