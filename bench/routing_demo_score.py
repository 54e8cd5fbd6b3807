"""Scores of `routing_predict` output against the `label` column of bench/data/demo_calls.csv
(an item code, or empty for a text outside the list)."""

from __future__ import annotations

import csv
import sys
from collections import Counter


def main(path: str) -> None:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    inside = [r for r in rows if r["label"]]
    outside = [r for r in rows if not r["label"]]
    top1 = sum(r["item_code"] == r["label"] for r in inside) / len(inside)
    top3 = sum(r["label"] in r["top3"].split("|") for r in inside) / len(inside)
    ranked1 = sum(r["top3"].split("|")[0] == r["label"] for r in inside) / len(inside)
    flagged = sum(not r["item_code"] for r in inside) / len(inside)
    detected = sum(not r["item_code"] for r in outside) / len(outside)
    misses = Counter(r["label"] for r in inside if r["item_code"] != r["label"])
    print(
        f"texts: {len(inside)} on the list ({len({r['label'] for r in inside})} items), {len(outside)} outside"
    )
    print(f"top-1 (the suggested item, after the out-of-list threshold): {top1:.3f}")
    print(f"top-1 of the ranking alone (threshold ignored): {ranked1:.3f}")
    print(f"top-3: {top3:.3f}")
    print(f"list texts wrongly flagged outside the list: {flagged:.3f}")
    print(f"out-of-list texts detected: {detected:.3f}")
    print("items missed most: " + ", ".join(f"{c} ×{n}" for c, n in misses.most_common(8)))
    print(f"top1={top1:.3f} top3={top3:.3f} outside_detected={detected:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
