"""`manage.py routing_eval --train TRAIN.csv --test TEST.csv --text-col text --label-col label`

Trains a fresh model of the routing engine on TRAIN only (nothing is read from or written
to the database), routes every TEST text one at a time and prints accuracy, macro-F1,
per-label F1 and the mean latency of one prediction. The last line is always

    macro_f1=<value> accuracy=<value> ms_per_msg=<value>

Bad files stop it before training: a missing column, rows with an empty text or label,
and test labels the training file does not have are listed by row.
"""

from __future__ import annotations

import json
import time
import unicodedata
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.routing import engine
from xianghu.routing.csvio import CsvProblem, Table, read_table

SHOW_ROWS = 20


def _labelled(table: Table, text_col: str, label_col: str, name: str) -> list[str]:
    """Problems of a labelled table, one line per row (row 1 is the header)."""
    problems = []
    for n, row in enumerate(table.rows, start=2):
        if not row.get(text_col, "").strip():
            problems.append(f"{name} row {n}: " + _("the text is empty"))
        if not row.get(label_col, "").strip():
            problems.append(f"{name} row {n}: " + _("the label is empty"))
    if not table.rows:
        problems.append(f"{name}: " + _("no rows"))
    return problems


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - used)


class Command(BaseCommand):
    help = (
        "Train a fresh routing model on TRAIN only and report accuracy, macro-F1, per-label "
        "F1 and the mean per-message latency on TEST."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", required=True, type=Path, help="training CSV")
        parser.add_argument("--test", required=True, type=Path, help="test CSV")
        parser.add_argument("--text-col", default="text", help="column of the text")
        parser.add_argument("--label-col", default="label", help="column of the label")
        parser.add_argument(
            "--json", type=Path, default=None, help="also write the figures to this file"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from sklearn.metrics import accuracy_score, f1_score

        text_col, label_col = opts["text_col"], opts["label_col"]
        try:
            train_t = read_table(opts["train"], required=(text_col, label_col))
            test_t = read_table(opts["test"], required=(text_col, label_col))
        except CsvProblem as exc:
            raise CommandError(str(exc)) from exc
        problems = _labelled(train_t, text_col, label_col, "train") + _labelled(
            test_t, text_col, label_col, "test"
        )
        train_labels = {r[label_col].strip() for r in train_t.rows}
        for n, row in enumerate(test_t.rows, start=2):
            label = row.get(label_col, "").strip()
            if label and label not in train_labels:
                problems.append(
                    f"test row {n}: "
                    + _("label “%(label)s” does not occur in the training file") % {"label": label}
                )
        if len(train_labels) < 2:
            problems.append("train: " + _("at least two labels are needed"))
        if problems:
            for line in problems[:SHOW_ROWS]:
                self.stderr.write(line)
            if len(problems) > SHOW_ROWS:
                self.stderr.write(_("… and %(n)s more") % {"n": len(problems) - SHOW_ROWS})
            raise CommandError(
                _("%(n)s problems in the input; nothing was trained.") % {"n": len(problems)}
            )

        examples = [engine.Example(r[text_col], r[label_col].strip()) for r in train_t.rows]
        started = time.perf_counter()
        model = engine.train(examples, calibrate=False)
        train_seconds = time.perf_counter() - started
        self.stdout.write(
            _("trained on %(n)s texts, %(labels)s labels, %(features)s features in %(s).1f s")
            % {
                "n": len(examples),
                "labels": len(model.classes),
                "features": len(model.vocabulary),
                "s": train_seconds,
            }
        )

        truth, predicted, truncated = [], [], 0
        elapsed = 0.0
        for row in test_t.rows:
            tick = time.perf_counter()
            prediction = model.predict(row[text_col])
            elapsed += time.perf_counter() - tick
            truncated += prediction.truncated
            truth.append(row[label_col].strip())
            predicted.append(prediction.labels[0])
        ms_per_msg = 1000 * elapsed / len(test_t.rows)
        accuracy = accuracy_score(truth, predicted)
        # the labels of the test file and the predictions (as the usual macro-F1 counts)
        labels = sorted(set(truth) | set(predicted))
        macro_f1 = f1_score(truth, predicted, average="macro", labels=labels, zero_division=0)
        per_label = f1_score(truth, predicted, average=None, labels=labels, zero_division=0)
        support = {label: truth.count(label) for label in labels}

        self.stdout.write(_("test: %(n)s texts") % {"n": len(truth)})
        if truncated:
            self.stdout.write(
                _("%(n)s test texts were longer than %(max)s characters and were cut.")
                % {"n": truncated, "max": model.config.max_chars}
            )
        self.stdout.write(_pad("label", 24) + f" {'f1':>7} {'support':>8}")
        for label, value in zip(labels, per_label, strict=True):
            self.stdout.write(_pad(label, 24) + f" {value:>7.4f} {support[label]:>8}")
        self.stdout.write(f"accuracy {accuracy:.4f}  macro-F1 {macro_f1:.4f}")
        figures = {
            "macro_f1": round(float(macro_f1), 4),
            "accuracy": round(float(accuracy), 4),
            "ms_per_msg": round(ms_per_msg, 3),
            "per_label_f1": {
                label: round(float(v), 4) for label, v in zip(labels, per_label, strict=True)
            },
            "train_texts": len(examples),
            "test_texts": len(truth),
            "train_seconds": round(train_seconds, 1),
            "truncated": truncated,
        }
        if opts["json"]:
            opts["json"].write_text(json.dumps(figures, ensure_ascii=False, indent=2))
        self.stdout.write(
            f"macro_f1={macro_f1:.4f} accuracy={accuracy:.4f} ms_per_msg={ms_per_msg:.3f}"
        )
