"""The routing data files: curated keywords, seed examples and the benchmark's evaluation
set name real items, and the evaluation set is not the seed set."""

from __future__ import annotations

import csv
from pathlib import Path

from xianghu.demo import catalog as demo_catalog
from xianghu.demo.county import COUNTY_CODE
from xianghu.routing import training
from xianghu.routing.commands import DEMO_COUNTY_CODE

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "bench" / "data" / "demo_calls.csv"


def demo_codes() -> set[str]:
    with demo_catalog.DEFAULT_CATALOGUE.open(encoding="utf-8") as fh:
        guidance = {row["code"] for row in csv.DictReader(fh)}
    split = {spec.code for specs in demo_catalog.SPLITS.values() for spec in specs}
    local = {spec.code for spec in demo_catalog.LOCAL_ITEMS}
    return (guidance - set(demo_catalog.SPLITS) - set(demo_catalog.REMOVALS)) | split | local


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def test_the_demo_county_code_matches():
    assert DEMO_COUNTY_CODE == COUNTY_CODE


def test_keywords_name_catalogue_items():
    with demo_catalog.DEFAULT_CATALOGUE.open(encoding="utf-8") as fh:
        guidance = {row["code"] for row in csv.DictReader(fh)}
    curated = training.curated_keywords()
    assert set(curated) <= guidance | demo_codes()
    assert demo_codes() <= set(curated) | {
        c for c in demo_codes() if c.rsplit("-", 1)[0] in curated
    }
    assert all(len(words) >= 5 for words in curated.values())


def test_seed_examples_cover_the_demo_list_and_outside_texts():
    seeds = training.seed_examples()
    codes = {code for code, _text in seeds}
    assert demo_codes() <= codes
    assert sum(1 for code, _ in seeds if not code) >= 30
    assert len({text for _c, text in seeds}) == len(seeds)


def test_the_evaluation_set_is_not_the_seed_set():
    with EVAL.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    labels = {r["label"] for r in rows}
    assert labels - {""} == demo_codes()  # every item of the demo list, nothing else
    assert sum(1 for r in rows if not r["label"]) >= 30
    seeds = [bigrams(text) for _c, text in training.seed_examples()]
    for row in rows:
        mine = bigrams(row["text"])
        closest = max(len(mine & s) / len(mine | s) for s in seeds)
        assert closest < 0.5, row["text"]
