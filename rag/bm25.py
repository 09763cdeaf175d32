"""Okapi BM25 over an inverted index, for the lexical half of hybrid search.

Scoring touches only the documents that contain a query term, so a query costs
O(matching postings), not O(corpus) as in `rank_bm25` (which loops over every document for
every query term). Terms are lower-cased, accent-folded words minus French and English
stopwords. It keeps no state on disk: `retrieval` rebuilds it when the index changes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import NamedTuple

from rag.text import terms


class Match(NamedTuple):
    doc: int  # the document's index
    score: float
    coverage: float  # the IDF-weighted share of the query's terms the document contains


class BM25:
    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, doc in enumerate(docs):
            counts = Counter(terms(doc))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        self.avg_len = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0

    def __len__(self) -> int:
        return len(self.lengths)

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1 + (len(self.lengths) - df + 0.5) / (df + 0.5))

    def top(self, query: str, k: int, keep: Callable[[int], bool] | None = None) -> list[Match]:
        """The k best matches, best first; documents sharing no term are out.

        `coverage` says how much of the query a document matches at all: a query whose rare
        words are missing from every document (another language, a topic not in the corpus)
        gets low coverage everywhere, even where its BM25 scores rank some documents first.
        Terms absent from the corpus count with the highest IDF. `keep`: which documents may
        match (a date window)."""
        query_terms = set(terms(query))
        idfs = {term: self.idf(term) for term in query_terms}
        total = sum(idfs.values())
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        for term in query_terms:
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = idfs[term]
            for doc, tf in postings:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avg_len)
                scores[doc] += idf * tf * (self.k1 + 1) / (tf + norm)
                covered[doc] += idf
        kept = scores.items() if keep is None else ((d, s) for d, s in scores.items() if keep(d))
        best = sorted(kept, key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Match(doc, score, covered[doc] / total) for doc, score in best]
