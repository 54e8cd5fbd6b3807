"""Files for bench/routing_zhzw.sh: a stratified 80/20 split of zhzw's train.csv (seed 1)
and the raw test texts of raw.csv (title and detail joined) as a text,label CSV."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with (args.data / "train.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    part, dev = train_test_split(
        rows, test_size=0.2, stratify=[r["label"] for r in rows], random_state=1
    )
    for name, chunk in (("train_part", part), ("dev", dev)):
        with (args.out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "text", "label"])
            writer.writeheader()
            writer.writerows({k: r[k] for k in ("id", "text", "label")} for r in chunk)
    with (args.data / "raw.csv").open(encoding="utf-8", newline="") as fh:
        raw = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    with (args.out / "raw_test.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "label"])
        writer.writeheader()
        for r in raw:
            writer.writerow(
                {"id": r["msg_id"], "text": f"{r['title']}\n{r['detail']}", "label": r["label"]}
            )
    print(f"{len(part)} training, {len(dev)} dev, {len(raw)} raw test rows in {args.out}")


if __name__ == "__main__":
    main()
