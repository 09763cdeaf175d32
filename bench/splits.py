"""Which articles of a QA set the reader may learn from: train, calibration and test splits.

Split by article title, never by question: questions about one article share its sentences
and wording, so a split by question would score the reader on text it learned. The order is
a seeded shuffle of the sorted titles, so every run and every script agrees. `train` fits the
reader (bench/train_reader.py), `calib` fits its calibration and thresholds, `test` is only
ever scored (docs/benchmarks.md, docs/reader.md).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SEED = 2026
#: The share of each set's titles held out. SQuAD's half dev set has 16 titles: 4 test, 2 calib.
SHARES = {"test": 0.25, "calib": 0.15}
SPLITS = ("train", "calib", "test")


def assign(titles: Iterable[str]) -> dict[str, str]:
    """title -> "train" | "calib" | "test"."""
    ordered = sorted(set(titles))
    random.Random(SEED).shuffle(ordered)
    n_test = max(1, round(SHARES["test"] * len(ordered)))
    n_calib = max(1, round(SHARES["calib"] * len(ordered)))
    return {
        title: "test" if i < n_test else "calib" if i < n_test + n_calib else "train"
        for i, title in enumerate(ordered)
    }


def squad_articles(path: Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD-format file (title, paragraphs with context and questions)."""
    articles: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data"]
    return articles


def of_squad_file(path: Path) -> dict[str, str]:
    """title -> split for every article of a SQuAD-format file (all of them: a split made
    from a sample of the titles would not be the one the reader was trained with)."""
    return assign(article["title"] for article in squad_articles(path))
