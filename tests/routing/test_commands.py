"""The command-line contract of issue #6: routing_eval, routing_predict, routing_train,
routing_import (the benchmarks call the first two exactly like this)."""

from __future__ import annotations

import csv
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from xianghu.routing.models import RoutingExample, RoutingModel

from .test_engine import SYNTHETIC


@pytest.fixture(autouse=True)
def _english():
    # the messages are matched in English, whatever the translations say
    with translation.override("en"):
        yield


LAST_LINE = re.compile(r"^macro_f1=\d\.\d{4} accuracy=\d\.\d{4} ms_per_msg=\d+\.\d{3}$")


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def eval_files(tmp_path):
    train = [[t, label] for label, texts in SYNTHETIC.items() for t in texts]
    test = [
        ["有人在地里烧秸秆", "fire"],
        ["我们村停水了", "water"],
        ["工人的工资被拖欠", "wage"],
        ["停水" + "水" * 2500, "water"],
    ]
    return (
        write(tmp_path / "train.csv", ["text", "label"], train),
        write(tmp_path / "test.csv", ["text", "label"], test),
    )


def test_routing_eval_prints_the_figures_and_ends_with_the_contract_line(eval_files, tmp_path):
    train, test = eval_files
    out, _err = run(
        "routing_eval",
        "--train", str(train), "--test", str(test),
        "--text-col", "text", "--label-col", "label",
        "--json", str(tmp_path / "figures.json"),
    )  # fmt: skip
    lines = out.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert lines[-1].startswith("macro_f1=1.0000 accuracy=1.0000")
    assert any(line.startswith("fire") for line in lines)  # per-label F1
    assert any("1 test texts were longer than 2000 characters" in line for line in lines)
    assert '"per_label_f1"' in (tmp_path / "figures.json").read_text()


def test_routing_eval_reads_gb18030_and_a_bom(tmp_path):
    rows = [[t, label] for label, texts in SYNTHETIC.items() for t in texts]
    train = write(tmp_path / "train.csv", ["text", "label"], rows, encoding="gb18030")
    test = write(tmp_path / "test.csv", ["text", "label"], rows[:3], encoding="utf-8-sig")
    out, _ = run("routing_eval", "--train", str(train), "--test", str(test))
    assert LAST_LINE.match(out.strip().splitlines()[-1])


def test_routing_eval_reports_a_missing_column(eval_files, tmp_path):
    train, _test = eval_files
    bad = write(tmp_path / "bad.csv", ["body", "label"], [["停水", "water"]])
    with pytest.raises(CommandError, match="no column text"):
        run("routing_eval", "--train", str(train), "--test", str(bad))


def test_routing_eval_lists_bad_rows_and_trains_nothing(eval_files, tmp_path):
    train, _test = eval_files
    bad = write(
        tmp_path / "bad.csv",
        ["text", "label"],
        [["停水了", "water"], ["", "fire"], ["学校乱收费", "education"], ["烧秸秆", ""]],
    )
    err = StringIO()
    with pytest.raises(CommandError, match="3 problems"):
        call_command(
            "routing_eval", "--train", str(train), "--test", str(bad), stdout=StringIO(), stderr=err
        )
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("test row 3:")
    assert lines[1].startswith("test row 5:")
    assert lines[2].startswith("test row 4:")
    assert "education" in lines[2]


def test_routing_eval_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("routing_eval", "--train", str(tmp_path / "nope.csv"), "--test", str(tmp_path / "x"))


@pytest.mark.django_db
def test_routing_predict_writes_the_input_columns_and_three_more(world, lists, tmp_path):
    calls = write(
        tmp_path / "calls.csv",
        ["id", "text", "note"],
        [
            ["1", "麦地里有人焚烧秸秆，浓烟很大", "a"],
            ["2", "村民想咨询医保缴费", "b"],
            ["3", "", "c"],
            ["4", "hello", "d"],
        ],
    )
    output = tmp_path / "out.csv"
    # no model yet: the command trains one (zero-shot + seeds + history)
    out, err = run(
        "routing_predict", "--input", str(calls), "--text-col", "text", "--output", str(output)
    )
    assert "training one now" in err
    assert RoutingModel.objects.filter(county=world.county).count() == 1
    with output.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["id", "text", "note", "item_code", "top3", "confidence"]
        rows = list(reader)
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["item_code"] == "D2-09"
    assert rows[0]["top3"].split("|")[0] == "D2-09"
    assert len(rows[0]["top3"].split("|")) == 3
    assert 0 < float(rows[0]["confidence"]) <= 1
    assert rows[1]["item_code"] == ""
    assert rows[1]["top3"]
    assert rows[2]["item_code"] == rows[2]["top3"] == rows[2]["confidence"] == ""
    assert rows[3]["item_code"] == ""
    assert "4 rows routed" in out
    assert "2 without a suggestion" in out


@pytest.mark.django_db
def test_routing_predict_refuses_bad_input(world, lists, tmp_path):
    calls = write(tmp_path / "calls.csv", ["id", "body"], [["1", "烧秸秆"]])
    with pytest.raises(CommandError, match="no column text"):
        run("routing_predict", "--input", str(calls), "--output", str(tmp_path / "o.csv"))
    clash = write(tmp_path / "c2.csv", ["text", "top3"], [["烧秸秆", "x"]])
    with pytest.raises(CommandError, match="top3"):
        run("routing_predict", "--input", str(clash), "--output", str(tmp_path / "o.csv"))
    good = write(tmp_path / "c3.csv", ["text"], [["烧秸秆"]])
    with pytest.raises(CommandError, match="does not exist"):
        run("routing_predict", "--input", str(good), "--output", str(tmp_path / "no" / "o.csv"))
    with pytest.raises(CommandError, match="no responsibility list"):
        run("routing_predict", "--input", str(good), "--output", str(tmp_path / "o.csv"),
            "--county", world.other_county.code)  # fmt: skip


@pytest.mark.django_db
def test_routing_predict_without_any_list(world, tmp_path):
    calls = write(tmp_path / "calls.csv", ["text"], [["烧秸秆"]])
    with pytest.raises(CommandError, match="demo_county"):
        run("routing_predict", "--input", str(calls), "--output", str(tmp_path / "o.csv"))


@pytest.mark.django_db
def test_routing_train_command(world, lists):
    out, _ = run("routing_train", "--county", world.county.code, "--no-eval")
    assert "model v1" in out
    out, _ = run("routing_train")  # every county with a list
    assert "model v2" in out
    with pytest.raises(CommandError, match="no county"):
        run("routing_train", "--county", "999999")


@pytest.mark.django_db
def test_routing_import_command(world, lists, tmp_path):
    bad = write(
        tmp_path / "t.csv", ["text", "label"], [["水库钓鱼", "QH-01"], ["有人卖假药", "D5-03"]]
    )
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "routing_import", "--county", world.county.code, "--input", str(bad),
            stdout=StringIO(), stderr=err,
        )  # fmt: skip
    assert "row 3, label" in err.getvalue()
    assert not RoutingExample.objects.exists()
    good = write(tmp_path / "g.csv", ["text", "label"], [["水库钓鱼", "QH-01"], ["问医保", ""]])
    out, _ = run("routing_import", "--county", world.county.code, "--input", str(good))
    assert "2 examples imported" in out
    assert RoutingExample.objects.filter(batch="g.csv").count() == 2
