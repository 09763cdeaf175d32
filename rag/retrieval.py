"""Hybrid search: dense (Chroma) and lexical (BM25) scores, normalised and mixed.

The dense score of a passage is the mean of two cosines with the question: the passage's
own vector (title and text) and its best sentence's vector. A question usually asks about
one sentence, which the passage's vector dilutes with the others: on the benchmark's whole
sets, dense alone goes from R@5 .845 to .889 on PIAF and .945 to .967 on SQuAD.
Each ranking's candidates get a score in [0, 1] (cosine: min-max over the dense candidates;
BM25: divided by the best BM25 score), and a passage's score is a weighted sum of the two.
The lexical side is trusted as far as the query's words are actually in the passage: its
score is damped by the square root of `coverage` (the IDF-weighted share of the query's terms
the passage contains). So an English question over French articles, whose BM25 hits rest on
a name or two, leaves the ranking to the dense side, and no language guess is needed.
Measured on the whole benchmark sets (docs/benchmarks.md, fusion what-if), this beats
reciprocal-rank fusion everywhere. Last, a passage gains a share of its article's next best
passage: an article that matches in two places is more likely the one asked about (news
headings and titles: NTREX and OrangeSum R@1 up 1.6-2.1 points). Near-duplicate passages
(the same wire story filed twice) are collapsed to the best one. BM25 lives in memory and
is rebuilt when the index's generation counter moves, so it stays in step with every sync,
including syncs made by other processes, and kept on disk per generation (`rag.lexical`).
This module ranks passages; it does not answer.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag import lexical
from rag.bm25 import BM25, Match, terms
from rag.embeddings import Embedder
from rag.store import Store
from rag.vectors import ChunkTable, Published, SentenceVector, StoredChunk

log = logging.getLogger(__name__)

CANDIDATES = 40  # per ranking, before fusion
SENTENCE_CANDIDATES = 2 * CANDIDATES  # nearest sentences: several can belong to one passage
# The dense side's share of the score, how strongly lexical coverage damps BM25, and the share
# of an article's next best passage a passage gains. Chosen on the benchmark's whole sets
# (docs/benchmarks.md, fusion what-if, where they are tuned on the sets they are scored on).
DENSE_WEIGHT = 0.45
COVERAGE_POWER = 0.5
ARTICLE_WEIGHT = 0.3
#: Passages sharing this share of their words (Jaccard) are one story told twice (a wire copy
#: republished): cited once, the others listed as also reporting it.
DUPLICATE_JACCARD = 0.9


@dataclass(frozen=True)
class Copy:
    """Another article carrying the same passage (a wire copy, the same story republished)."""

    article_id: str
    title: str
    date: str | None = None
    url: str | None = None


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
    url: str | None = None
    #: Its sentences' stored vectors (offsets in `text`), read once by the search for the
    #: reading stage; empty when the index has none (`RAG_SENTENCE_VECTORS=0`).
    sentences: tuple[SentenceVector, ...] = field(default=(), compare=False, repr=False)
    #: Other articles with a near-copy of this passage among the candidates, best first.
    also: tuple[Copy, ...] = ()


class Searcher:
    """Owns the BM25 copy of the index and runs hybrid queries. Thread-safe."""

    def __init__(self, store: Store, embedder: Embedder, bm25_dir: Path | None = None) -> None:
        """`bm25_dir`: where BM25 is kept per index generation (`rag.lexical`; None: rebuilt
        in memory by each process)."""
        self.store = store
        self.embedder = embedder
        self.bm25_dir = bm25_dir
        self._lock = threading.Lock()
        self._generation = -1
        self._chunks = ChunkTable([])
        self._bm25 = BM25([])

    def _lexical(self) -> tuple[ChunkTable, BM25]:
        """The chunks (BM25's document order) and BM25: one consistent snapshot of the index."""
        generation = self.store.generation
        with self._lock:
            if generation != self._generation:
                self._generation, self._chunks, self._bm25 = lexical.load_or_build(
                    self.store, self.bm25_dir
                )
                log.info("BM25 over %d chunks (generation %d)", len(self._chunks), generation)
            return self._chunks, self._bm25

    def warm(self) -> threading.Thread:
        """Get the index ready for the next question, in a background thread: BM25 loaded or
        built (a build takes 27 s at 141,000 chunks; a question asked meanwhile waits for it
        instead of starting its own), and one query of each vector collection, which Chroma
        loads into memory on its first query (2 s at 141,000 chunks and their sentences)."""

        def warm_up() -> None:
            self._lexical()
            qvec = self.embedder.embed_query("warm-up")
            self.store.vectors.query(qvec, 1)
            self.store.vectors.query_sentences(qvec, 1)

        thread = threading.Thread(target=warm_up, name="index-warm", daemon=True)
        thread.start()
        return thread

    def search(self, query: str, k: int = 5, published: Published | None = None) -> list[Hit]:
        return self.search_vector(query, self.embedder.embed_query(query), k, published)

    def dense(
        self,
        qvec: np.ndarray,
        known: Container[str],
        published: Published | None = None,
    ) -> tuple[list[tuple[str, float]], dict[str, float], dict[str, list[SentenceVector]]]:
        """The dense candidates `(chunk id, score)`, best first (score: the mean of the
        passage's cosine and its best sentence's), every cosine computed on the way, and the
        sentence vectors read on the way. Candidates are the nearest passages and the passages
        of the nearest sentences; the side a candidate was not found by is computed from its
        stored vectors. `known`: the chunks of the snapshot being searched (a chunk synced
        away since is left out). `published`: only passages of articles published then."""
        vectors = self.store.vectors
        cosine = {c.id: sim for c, sim in vectors.query(qvec, CANDIDATES, published)}
        sentence = vectors.query_sentences(qvec, SENTENCE_CANDIDATES, published)
        for cid, vec in vectors.chunk_vectors([c for c in sentence if c not in cosine]).items():
            cosine[cid] = float(vec @ qvec)
        read = vectors.sentence_vectors([c for c in cosine if c not in sentence])
        for cid, sents in read.items():
            if sents:
                sentence[cid] = max(float(s.vector @ qvec) for s in sents)
        scored = [
            (cid, (sim + sentence.get(cid, sim)) / 2) for cid, sim in cosine.items() if cid in known
        ]
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored[:CANDIDATES], cosine, read

    def search_vector(
        self, query: str, qvec: np.ndarray, k: int = 5, published: Published | None = None
    ) -> list[Hit]:
        """The k best passages for `query` (embedded as `qvec`); with `published`, only from
        articles published in that window (dense and BM25 alike)."""
        chunks, bm25 = self._lexical()
        dense, similarity, sentences = self.dense(qvec, chunks, published)
        keep = (lambda doc: published.holds(chunks.days[doc])) if published else None
        lexical = [(chunks.ids[m.doc], m) for m in bm25.top(query, CANDIDATES, keep)]
        candidates = {cid: chunks.get(cid) for cid, _ in dense + lexical}
        fused = fuse(dense, lexical, {cid: c.article_id for cid, c in candidates.items()})
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
        kept, copies = _collapse_duplicates([candidates[c] for c in ranked], k)
        vectors = self.store.vectors
        missing = [c.id for c in kept if c.id not in similarity]
        for cid, vec in vectors.chunk_vectors(missing).items():
            similarity[cid] = float(vec @ qvec)
        sentences |= vectors.sentence_vectors([c.id for c in kept if c.id not in sentences])
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
                url=c.url,
                sentences=tuple(sentences.get(c.id, ())),
                also=tuple(copies.get(c.id, ())),
            )
            for c in kept
        ]


def fuse(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[tuple[str, Match]],
    articles: Mapping[str, str],
    *,
    dense_weight: float = DENSE_WEIGHT,
    coverage_power: float = COVERAGE_POWER,
    article_weight: float = ARTICLE_WEIGHT,
) -> dict[str, float]:
    """Passage id -> fused score in [0, 1], from the dense candidates
    `(id, dense score)` and the lexical ones `(id, BM25 match)`, each best first, and each
    passage's article id (see the module docstring)."""
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
    if article_weight:
        leaders: dict[str, list[tuple[float, str]]] = {}  # article -> its two best passages
        for cid, value in fused.items():
            top = leaders.setdefault(articles[cid], [])
            top.append((value, cid))
            top.sort(reverse=True)
            del top[2:]
        for cid in fused:
            other = next((v for v, c in leaders[articles[cid]] if c != cid), 0.0)
            fused[cid] = (fused[cid] + article_weight * other) / (1 + article_weight)
    return fused


def _collapse_duplicates(
    chunks: list[StoredChunk], k: int
) -> tuple[list[StoredChunk], dict[str, list[Copy]]]:
    """The first k chunks that are not near-copies (word Jaccard >= DUPLICATE_JACCARD) of an
    earlier one, and for each kept chunk the other articles' copies of it among `chunks`: the
    same story republished (wire copy) or reported twice word for word."""
    kept: list[StoredChunk] = []
    seen: list[set[str]] = []
    copies: dict[str, list[Copy]] = {}
    for chunk in chunks:
        words = set(terms(chunk.text))
        twin = next(
            (i for i, other in enumerate(seen) if _jaccard(words, other) >= DUPLICATE_JACCARD),
            None,
        )
        if twin is not None:
            original = kept[twin]
            found = copies.setdefault(original.id, [])
            if chunk.article_id != original.article_id and all(
                c.article_id != chunk.article_id for c in found
            ):
                found.append(Copy(chunk.article_id, chunk.title, chunk.date, chunk.url))
            continue
        if len(kept) < k:
            kept.append(chunk)
            seen.append(words)
    return kept, copies


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
