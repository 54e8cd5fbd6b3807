"""Cross-validation of the routing engine on the TRAINING part of zhzw only.

The engine's defaults (xianghu/routing/engine.py EngineConfig) were chosen with this
script; test.csv is never read. Usage:

    .venv/bin/python bench/routing_tune.py [--folds 3] [--set c=0.5 --set classifier=crammer_singer ...]

Each --set overrides one EngineConfig field; several --grid runs compare settings.
Prints the macro-F1 and accuracy of every fold and their mean.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from xianghu.routing.engine import EngineConfig, Example, train  # noqa: E402

DATA = Path("/work/shared/data/zhzw/train.csv")


def parse_value(field_type: object, value: str) -> Any:
    if value in ("True", "False"):
        return value == "True"
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value  # a string field, e.g. classifier=crammer_singer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    config = EngineConfig()
    names = {f.name: f for f in fields(EngineConfig)}
    for item in args.set:
        key, _sep, value = item.partition("=")
        if key not in names:
            parser.error(f"unknown EngineConfig field {key!r}")
        config = replace(config, **{key: parse_value(names[key].type, value)})
    with args.train.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    labels = np.array([r["label"] for r in rows])
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    f1s, accs = [], []
    for n, (tr, te) in enumerate(folds.split(texts, labels)):
        started = time.perf_counter()
        model = train([Example(texts[i], labels[i]) for i in tr], config=config, calibrate=False)
        predicted = [model.predict(texts[i]).labels[0] for i in te]
        f1s.append(f1_score(labels[te], predicted, average="macro"))
        accs.append(accuracy_score(labels[te], predicted))
        print(
            f"fold {n}: macro_f1={f1s[-1]:.4f} accuracy={accs[-1]:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print(f"config: {config.to_json()}")
    print(f"mean macro_f1={np.mean(f1s):.4f} accuracy={np.mean(accs):.4f}")


if __name__ == "__main__":
    main()
