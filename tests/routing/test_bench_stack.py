"""bench/routing_stack_cv.py (the zhzw stacking experiments): its helpers work and the
script starts (its figures are in docs/benchmarks.md; the run itself needs the data set)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "routing_stack_cv.py"


def load():
    spec = importlib.util.spec_from_file_location("routing_stack_cv", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_offsets_fix_a_biased_label_and_leave_a_right_ranking_alone():
    bench = load()
    y = np.array([0, 0, 1, 1, 2, 2])
    right = np.eye(3)[y]
    assert bench.macro(y, right) == 1.0
    assert not bench.tune_offsets(right, y).any()
    biased = right + np.array([0.0, 0.0, 1.2])  # label 2 always wins by 0.2
    assert bench.macro(y, biased) < 1.0
    assert bench.macro(y, biased + bench.tune_offsets(biased, y)) == 1.0


def test_the_script_starts():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "--embeddings" in done.stdout
