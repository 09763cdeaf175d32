"""Hybrid search: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank.

The lexical side is weighed by what it can know: BM25 matches words, so an English question
against a French article gets nothing from it and only drags a fusion down (measured: equal
weights cost 11 points of recall@1 on English->French news), so across languages (guessed
from the question and each article) it does not vote. Near-duplicate passages (the
same wire story filed twice) are collapsed to the best one. BM25 lives in memory and is
rebuilt when the index's generation counter moves, so it stays in step with every sync,
including syncs made by other processes. This module ranks passages; it does not answer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.articles import guess_language
from rag.bm25 import BM25, terms
from rag.embeddings import Embedder
from rag.store import Store, StoredChunk

log = logging.getLogger(__name__)

RRF_K = 60
CANDIDATES = 40  # per ranking, before fusion
# BM25 across languages only adds noise: measured on NTREX en->fr titles (docs/benchmarks.md,
# fusion what-if), R@1 .805 at weight 0.2 with undetected short queries, .886 at 0.
CROSS_LINGUAL_LEXICAL_WEIGHT = 0.0
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
    score: float  # fused rank score, what the order follows
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
        lexical = [(chunks[i], s) for i, s in bm25.top(query, CANDIDATES)]
        qlang = guess_language(query)

        fused: dict[str, float] = {}
        by_id: dict[str, StoredChunk] = {}
        similarity: dict[str, float] = {}
        for rank, (chunk, sim) in enumerate(dense):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            by_id[chunk.id], similarity[chunk.id] = chunk, sim
        for rank, (chunk, _) in enumerate(lexical):
            weight = 1.0
            if qlang and chunk.lang and qlang != chunk.lang:
                weight = CROSS_LINGUAL_LEXICAL_WEIGHT
            fused[chunk.id] = fused.get(chunk.id, 0.0) + weight / (RRF_K + rank + 1)
            by_id.setdefault(chunk.id, chunk)

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
