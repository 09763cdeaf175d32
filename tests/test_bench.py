"""The bench's scoring path on a tiny corpus: every system and fusion variant ranks, and ours
finds the seed article (the full runs need ../shared/data and take minutes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import SEED_ID, SEEDS, TEST_ARTICLES

from bench import analysis, report
from bench.data import Query, Task
from bench.pipelines import Ours, Tutorial, tutorial_embeddings
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import Embedder, resolve_model


def test_run_task_scores_every_system_and_variant(tmp_path: Path, embedder: Embedder) -> None:
    articles = tmp_path / "bench" / "articles"  # UTF-8 text only: the tutorial reads no other
    shutil.copytree(SEEDS, articles)
    shutil.copy(TEST_ARTICLES / "tech" / "voltaire-gt-record.txt", articles)
    ours = Ours(tmp_path / "bench", embedder)
    assert ours.sync()[0].embedded > 0
    embeddings, _ = tutorial_embeddings(resolve_model(DEFAULT_MODEL, Settings().cache_dir))
    tut = Tutorial(tmp_path / "bench", embeddings)
    tut.ensure(sorted(p.name for p in articles.iterdir()))
    task = Task(
        "seed",
        "test",
        [
            Query("When do SU7 Ultra deliveries start?", SEED_ID),
            Query("Xiaomi SU7 Europe", SEED_ID),
        ],
    )
    result = analysis.run_task(task, ours, tut, embedder)
    assert set(result["systems"]) == {"ours", "bm25", "dense", "tutorial"}
    assert set(result["fusion"]) == set(analysis.VARIANTS)
    assert result["systems"]["ours"]["recall@1"] == 1.0
    assert result["fusion"][analysis.SHIPPED]["recall@1"] == 1.0
    assert "seed" in report.fusion_table([result])
