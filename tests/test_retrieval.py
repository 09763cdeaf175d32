"""Hybrid fusion: BM25's say is damped by how much of the query a passage actually contains,
and a passage gains a share of its article's next best passage."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from conftest import make_engine

from rag import lexical, retrieval
from rag.bm25 import BM25, Match
from rag.engine import Engine
from rag.retrieval import ARTICLE_WEIGHT, DENSE_WEIGHT, fuse

DOCS = [
    "Xiaomi livrera la SU7 Ultra en Europe au premier trimestre, annonce Lei Jun.",
    "Xiaomi opens a flagship store in Paris; Lei Jun attends the opening.",
    "La grève des cheminots perturbe les trains régionaux en Bretagne.",
]


def test_coverage_is_the_idf_weighted_share_of_the_query_a_document_holds() -> None:
    bm25 = BM25(DOCS)
    full = {m.doc: m for m in bm25.top("livraison SU7 Ultra Europe trimestre", 3)}
    assert full[0].coverage < 1  # "livraison" is not in the corpus ("livrera" is)
    assert bm25.top("SU7 Ultra Europe trimestre", 3)[0].coverage == pytest.approx(1.0)
    # An English question over the corpus matches names only: coverage stays low.
    english = bm25.top("When will the Xiaomi SU7 Ultra ship to European buyers?", 3)
    assert english[0].doc == 0
    assert all(m.coverage < 0.6 for m in english)


def test_lexical_votes_are_damped_by_coverage_so_a_name_match_cannot_outvote_dense() -> None:
    dense = [("fr-article", 0.86), ("other", 0.80)]
    # The best BM25 match elsewhere, resting on a name or two (coverage 0.2): dense keeps its top.
    name_only = [("en-article", Match(0, 9.0, 0.2)), ("fr-article", Match(1, 3.0, 0.2))]
    articles = {"fr-article": "fr", "other": "other", "en-article": "en"}
    fused = fuse(dense, name_only, articles)
    assert max(fused, key=fused.__getitem__) == "fr-article"
    # The same BM25 scores with the whole query matched: the lexical top wins.
    whole = [("en-article", Match(0, 9.0, 1.0)), ("fr-article", Match(1, 3.0, 0.2))]
    fused = fuse(dense, whole, articles)
    assert max(fused, key=fused.__getitem__) == "en-article"
    assert fused["en-article"] == pytest.approx((1 - DENSE_WEIGHT) / (1 + ARTICLE_WEIGHT))


def test_fuse_scores_lie_in_zero_one_and_follow_each_side_alone() -> None:
    bm25 = BM25(DOCS)
    articles = {str(i): f"article-{i}" for i in range(3)}
    lexical = [(str(m.doc), m) for m in bm25.top("grève cheminots Bretagne", 3)]
    assert fuse([], lexical, articles, article_weight=0) == {"2": pytest.approx(1 - DENSE_WEIGHT)}
    dense = [("0", 0.9), ("1", 0.8), ("2", 0.7)]
    only_dense = fuse(dense, [], articles, article_weight=0)
    assert only_dense == {
        "0": pytest.approx(DENSE_WEIGHT),
        "1": pytest.approx(DENSE_WEIGHT / 2),
        "2": 0.0,
    }
    both = fuse(dense, lexical, articles)
    assert all(0.0 <= s <= 1.0 for s in both.values())
    assert max(both, key=both.__getitem__) == "2"


def test_a_passage_gains_a_share_of_its_articles_next_best_passage() -> None:
    # "b1" and "c1" tie; b's article matches again elsewhere ("b2"), c's does not.
    dense = [("a1", 0.9), ("b1", 0.8), ("c1", 0.8), ("b2", 0.6), ("z", 0.5)]
    articles = {"a1": "a", "b1": "b", "c1": "c", "b2": "b", "z": "z"}
    fused = fuse(dense, [], articles, article_weight=0.4)
    assert fused["b1"] > fused["c1"]
    alone = fuse(dense, [], articles, article_weight=0)
    assert fused["b1"] == pytest.approx((alone["b1"] + 0.4 * alone["b2"]) / 1.4)
    # Only the next best counts: the best passage is not credited with itself.
    assert fused["a1"] == pytest.approx(alone["a1"] / 1.4)
    assert max(fused, key=fused.__getitem__) == "a1"


def test_warm_builds_bm25_once_in_the_background_and_search_reuses_it(
    synced: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    class Counting(BM25):
        def __init__(self, docs: Iterable[str]) -> None:
            super().__init__(docs)
            built.append(len(self))

    monkeypatch.setattr(lexical, "BM25", Counting)
    searcher = retrieval.Searcher(synced.store, synced.embedder)
    built.clear()  # the empty one it starts with
    searcher.warm().join()
    assert built == [synced.store.count()]
    assert searcher.search("Quand commencent les livraisons de la SU7 Ultra ?")
    assert built == [synced.store.count()]


QUESTION = "Quand commencent les livraisons de la SU7 Ultra ?"


def _saved(engine: Engine) -> list[str]:
    return sorted(p.name for p in engine.settings.index_dir.glob(f"{lexical.PREFIX}*"))


@pytest.mark.parametrize("backend", ["local"])  # a Chroma server's index has no dir of ours
def test_bm25_is_kept_with_the_index_per_generation_and_rebuilt_after_a_sync(
    synced: Engine, articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = synced.search(QUESTION)
    saved = _saved(synced)
    assert len(saved) == 1

    def unread() -> None:
        raise AssertionError("BM25 was rebuilt from the chunks instead of loaded")

    # Another process on the same index loads it, and ranks the same.
    other = make_engine(synced.settings, synced.embedder)
    monkeypatch.setattr(other.store.vectors, "each_chunk", unread)
    assert [h.chunk_id for h in other.search(QUESTION)] == [h.chunk_id for h in first]
    monkeypatch.undo()

    # A sync moves the generation: the next search builds it again, with the new words.
    (articles_dir / "zorglub.md").write_text(
        "# Le zorglubium\n\nLe zorglubium est un métal imaginaire.\n", encoding="utf-8"
    )
    synced.sync()
    assert other.search("zorglubium", k=1)[0].article_id == "zorglub.md"
    assert len(_saved(other)) == 1 and _saved(other) != saved


@pytest.mark.parametrize("backend", ["local"])
def test_a_damaged_bm25_file_is_rebuilt_and_none_is_saved_during_a_sync(synced: Engine) -> None:
    synced.searcher.warm().join()
    [name] = _saved(synced)
    path = synced.settings.index_dir / name
    path.write_bytes(path.read_bytes()[:1000])
    _, chunks, _ = lexical.load_or_build(synced.store, synced.settings.index_dir)
    assert len(chunks) == synced.store.count()
    assert path.stat().st_size > 1000  # saved again, whole

    synced.store.begin_sync(synced.store.fingerprint or "")  # a sync is writing
    path.unlink()
    lexical.load_or_build(synced.store, synced.settings.index_dir)
    assert _saved(synced) == []
