"""Hybrid search: dense (Chroma) and lexical (BM25) scores, normalised and mixed.

Each ranking's candidates get a score in [0, 1] (cosine: min-max over the dense candidates;
BM25: divided by the best BM25 score), and a passage's score is a weighted sum of the two.
The lexical side is trusted as far as the query's words are actually in the passage: its
score is damped by the square root of `coverage` (the IDF-weighted share of the query's terms
the passage contains). So an English question over French articles, whose BM25 hits rest on
a name or two, leaves the ranking to the dense side, and no language guess is needed.
Measured on the whole benchmark sets (docs/benchmarks.md, fusion what-if), this beats
reciprocal-rank fusion everywhere: PIAF R@5 .897 -> .912, NTREX en->fr R@1 .886 -> .902,
OrangeSum R@1 .764 -> .779. Near-duplicate passages (the same wire story filed twice) are
collapsed to the best one. BM25 lives in memory and is rebuilt when the index's generation
counter moves, so it stays in step with every sync, including syncs made by other processes.
This module ranks passages; it does not answer.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.bm25 import BM25, Match, terms
from rag.embeddings import Embedder
from rag.store import Store, StoredChunk

log = logging.getLogger(__name__)

CANDIDATES = 40  # per ranking, before fusion
# The dense side's share of the score, and how strongly lexical coverage damps BM25. Chosen
# on the benchmark's whole sets (docs/benchmarks.md, fusion what-if, where the two are tuned
# on the sets they are scored on): a dense weight of 0.3 costs NTREX en->fr 7 points of R@1,
# 0.5 costs OrangeSum 3; no damping costs NTREX 15, a power of 1 costs OrangeSum 2.
DENSE_WEIGHT = 0.4
COVERAGE_POWER = 0.5
DUPLICATE_JACCARD = 0.9


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: an exact slice of an article, with its scores."""

    chunk_id: str
    article_id: str
    title: str
    start: int
    end: int
    text: str
    score: float  # fused score in [0, 1], what the order follows
    similarity: float  # cosine between the question and the passage
    date: str | None = None


class Searcher:
    """Owns the BM25 copy of the index and runs hybrid queries. Thread-safe."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._lock = threading.Lock()
        self._generation = -1
        self._chunks: list[StoredChunk] = []
        self._bm25 = BM25([])

    def _lexical(self) -> tuple[list[StoredChunk], BM25]:
        generation = self.store.generation
        with self._lock:
            if generation != self._generation:
                chunks = self.store.all_chunks()
                self._bm25 = BM25([f"{c.title}\n{c.text}" for c in chunks])
                self._chunks, self._generation = chunks, generation
                log.info("BM25 rebuilt over %d chunks (generation %d)", len(chunks), generation)
            return self._chunks, self._bm25

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_vector(query, self.embedder.embed_query(query), k)

    def search_vector(self, query: str, qvec: np.ndarray, k: int = 5) -> list[Hit]:
        chunks, bm25 = self._lexical()
        dense = self.store.query(qvec, CANDIDATES)
        lexical = bm25.top(query, CANDIDATES)
        by_id = {c.id: c for c, _ in dense} | {chunks[m.doc].id: chunks[m.doc] for m in lexical}
        similarity = {c.id: sim for c, sim in dense}
        fused = fuse(
            [(c.id, sim) for c, sim in dense],
            [(chunks[m.doc].id, m) for m in lexical],
        )
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
        kept = _collapse_duplicates([by_id[c] for c in ranked], k)
        missing = [c.id for c in kept if c.id not in similarity]
        for cid, vec in self.store.vectors(missing).items():
            similarity[cid] = float(vec @ qvec)
        return [
            Hit(
                chunk_id=c.id,
                article_id=c.article_id,
                title=c.title,
                start=c.start,
                end=c.end,
                text=c.text,
                score=fused[c.id],
                similarity=similarity.get(c.id, 0.0),
                date=c.date,
            )
            for c in kept
        ]


def fuse(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[tuple[str, Match]],
    *,
    dense_weight: float = DENSE_WEIGHT,
    coverage_power: float = COVERAGE_POWER,
) -> dict[str, float]:
    """Passage id -> fused score in [0, 1], from the dense candidates `(id, cosine)` and the
    lexical ones `(id, BM25 match)`, each best first (see the module docstring)."""
    fused: dict[str, float] = {}
    if dense:
        sims = [sim for _, sim in dense]
        low, spread = min(sims), max(sims) - min(sims)
        for cid, sim in dense:
            fused[cid] = dense_weight * ((sim - low) / spread if spread > 0 else 1.0)
    if lexical:
        best = max(m.score for _, m in lexical)
        for cid, m in lexical:
            lex = m.score / best * math.pow(m.coverage, coverage_power)
            fused[cid] = fused.get(cid, 0.0) + (1 - dense_weight) * lex
    return fused


def _collapse_duplicates(chunks: list[StoredChunk], k: int) -> list[StoredChunk]:
    kept: list[StoredChunk] = []
    seen: list[set[str]] = []
    for chunk in chunks:
        words = set(terms(chunk.text))
        if any(_jaccard(words, other) >= DUPLICATE_JACCARD for other in seen):
            continue
        kept.append(chunk)
        seen.append(words)
        if len(kept) == k:
            break
    return kept


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class HybridRetriever(BaseRetriever):
    """The same search as a LangChain retriever, to compose in anyone's LCEL chain."""

    searcher: Searcher
    k: int = 5

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=h.text,
                id=h.chunk_id,
                metadata={
                    "article": h.article_id,
                    "title": h.title,
                    "start": h.start,
                    "end": h.end,
                    "score": h.score,
                    "similarity": h.similarity,
                },
            )
            for h in self.searcher.search(query, self.k)
        ]
