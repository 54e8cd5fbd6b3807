"""The benchmark suite's runner (bench/run_all.py): every benchmark it knows exists and
has its place in docs/benchmarks.md, and its figures replace only that place."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run_all

ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_has_its_script_and_its_place_in_the_document():
    document = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for bench in run_all.BENCHES:
        assert (ROOT / bench.script).is_file(), bench.script
        assert f"<!-- results:{bench.name} -->" in document, bench.name
        assert f"<!-- /results:{bench.name} -->" in document, bench.name
        # Splicing the document's own block back changes nothing.
        start = document.index(f"<!-- results:{bench.name} -->")
        end = document.index(f"<!-- /results:{bench.name} -->")
        block = document[start:end].split("\n", 1)[1]
        assert run_all.splice(document, bench.name, block) == document


def test_the_figures_replace_only_their_block():
    document = "intro\n<!-- results:a -->\nold a\n<!-- /results:a -->\nmiddle\n" + (
        "<!-- results:b -->\nold b\n<!-- /results:b -->\nend\n"
    )
    out = run_all.splice(document, "a", "new a\n| 1 |\n")
    assert out == document.replace("old a", "new a\n| 1 |")
    assert "old b" in out
    with pytest.raises(KeyError, match="c"):
        run_all.splice(document, "c", "x")


def test_the_commands_write_their_markdown_where_the_runner_reads_it():
    for bench in run_all.BENCHES:
        line = run_all.command(bench, quick=True)
        assert line[1] == bench.script
        if bench.writes_markdown:
            assert line[-2] == "--markdown"
            assert line[-1].endswith(f"{bench.name}.md")
