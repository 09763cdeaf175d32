"""Okapi BM25 over an inverted index, for the lexical half of hybrid search.

Scoring touches only the documents that contain a query term, so a query costs
O(matching postings), not O(corpus) as in `rank_bm25` (which loops over every document for
every query term). The postings are numpy arrays (a document id and its precomputed BM25
term weight, 8 bytes each: 31,349 news chunks make 1.46 million postings, 12 MB), and a query
term's postings are scored in one vectorised step. Terms are lower-cased, accent-folded words minus
French and English stopwords. `rag.lexical` keeps it on disk with the index, per generation.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from rag.text import terms


class Match(NamedTuple):
    doc: int  # the document's index
    score: float
    coverage: float  # the IDF-weighted share of the query's terms the document contains


class BM25:
    def __init__(self, docs: Iterable[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocabulary: dict[str, int] = {}
        # Flat (term, document, tf) triples as C ints while reading: no Python object each.
        term_ids, doc_ids, tfs, lengths = array("i"), array("i"), array("i"), array("i")
        for i, doc in enumerate(docs):
            counts = Counter(terms(doc))
            lengths.append(sum(counts.values()))
            for term, count in counts.items():
                term_ids.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                doc_ids.append(i)
                tfs.append(count)
        by_term = np.argsort(np.frombuffer(term_ids, dtype=np.intc), kind="stable")
        sorted_terms = np.frombuffer(term_ids, dtype=np.intc)[by_term]
        #: postings of term t: self.docs[starts[t]:starts[t + 1]] (and the same of weights)
        self.starts = np.searchsorted(sorted_terms, np.arange(len(self.vocabulary) + 1))
        self.docs = np.frombuffer(doc_ids, dtype=np.intc)[by_term].astype(np.int32)
        self.lengths = np.frombuffer(lengths, dtype=np.intc).astype(np.float32)
        avg_len = float(self.lengths.mean()) if self.lengths.any() else 1.0  # no terms at all
        tf = np.frombuffer(tfs, dtype=np.intc)[by_term].astype(np.float32)
        norm = k1 * (1 - b + b * self.lengths[self.docs] / avg_len)
        self.weights = tf * (k1 + 1) / (tf + norm)

    @classmethod
    def from_arrays(
        cls,
        vocabulary: dict[str, int],
        starts: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        lengths: np.ndarray,
    ) -> BM25:
        """The index a `BM25(...)` built, from its attributes (`rag.lexical` saves them)."""
        if len(starts) != len(vocabulary) + 1 or len(docs) != len(weights):
            raise ValueError("BM25 arrays of inconsistent sizes")
        bm25 = cls.__new__(cls)
        bm25.vocabulary, bm25.starts, bm25.docs = vocabulary, starts, docs
        bm25.weights, bm25.lengths = weights, lengths
        return bm25

    def __len__(self) -> int:
        return len(self.lengths)

    def df(self, term: str) -> int:
        t = self.vocabulary.get(term)
        return 0 if t is None else int(self.starts[t + 1] - self.starts[t])

    def idf(self, term: str) -> float:
        df = self.df(term)
        return math.log(1 + (len(self.lengths) - df + 0.5) / (df + 0.5))

    def top(self, query: str, k: int, keep: Callable[[int], bool] | None = None) -> list[Match]:
        """The k best matches, best first; documents sharing no term are out.

        `coverage` says how much of the query a document matches at all: a query whose rare
        words are missing from every document (another language, a topic not in the corpus)
        gets low coverage everywhere, even where its BM25 scores rank some documents first.
        Terms absent from the corpus count with the highest IDF. `keep`: which documents may
        match (a date window)."""
        idfs = {term: self.idf(term) for term in set(terms(query))}
        total = sum(idfs.values())
        scores = np.zeros(len(self.lengths))
        covered = np.zeros(len(self.lengths))
        for term, idf in idfs.items():
            t = self.vocabulary.get(term)
            if t is None:
                continue
            lo, hi = self.starts[t], self.starts[t + 1]
            docs = self.docs[lo:hi]  # each document once per term
            scores[docs] += idf * self.weights[lo:hi]
            covered[docs] += idf
        matched = np.flatnonzero(covered)
        ranked = matched[np.lexsort((matched, -scores[matched]))]
        best = (int(d) for d in ranked if keep is None or keep(int(d)))
        return [
            Match(d, float(scores[d]), float(covered[d] / total)) for d in itertools.islice(best, k)
        ]
