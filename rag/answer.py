"""Extractive answers: the sentence of the retrieved passages that best answers the question,
quoted verbatim with a numbered citation, its short answer (a date, a number, a name) shown
first; or a plain abstention with the closest passages when the articles do not support one.

`rag.evidence` scores the sentences; this module decides (answer or abstain, against a
threshold calibrated on data: docs/abstention.md), picks the short answer, words the reply and
checks every citation: an exact slice of its article (`quote == text[start:end]`, compared
with the article text the index holds) taken from the hits this answer retrieved, never from
a second search. Follow-ups are resolved against the earlier turns without an LLM. It does not
call an LLM (`rag.llm` does, and falls back on this module).
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag import evidence
from rag.answer_types import ACCEPTS, NOUNS, Kind, Span
from rag.bm25 import terms
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.evidence import Candidate, Question, VectorCache
from rag.retrieval import Hit, Searcher

log = logging.getLogger(__name__)

#: Below this support (the calibrated chance that the best sentence answers the question) the
#: answer is an abstention. Chosen in docs/abstention.md (held-out balanced accuracy over SQuAD
#: 2.0 answerable/unanswerable, PIAF, English questions on French news and out-of-corpus
#: questions; the best is 0.35, and the lowest threshold within one standard error of it is
#: taken).
ABSTAIN_BELOW = 0.2
#: A second sentence is quoted too when it is nearly as well supported as the first.
SECOND_WITHIN = 0.9
CLOSEST = 3  # passages shown with an abstention
MAX_QUESTION_CHARS = 2000
# Where a long sentence splits into clauses: the quote keeps the clause holding the answer.
_CLAUSE = re.compile(
    r"\s*[;:—–]\s+|\s+-\s+|,\s+(?=(?:tandis|alors que|mais|while|whereas"
    r"|but|vs\.?|versus|contre|compared|against)(?!\w))"
)
LONG_SENTENCE = 160


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str
    score: float
    passage_start: int = 0  # the retrieved passage the quote sits in, for display
    passage_end: int = 0


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    mode: str = "extractive"
    span: str | None = None  # the short answer, when one is clear (a date, a number, a name)
    support: float = 0.0  # calibrated support of the best sentence, compared to ABSTAIN_BELOW
    resolved_question: str | None = None  # what was searched, for a follow-up
    verified: bool = True  # LLM mode: every [n] and every number checked against the passages
    problems: list[str] = field(default_factory=list)  # what failed verification
    extractive: Answer | None = None  # LLM mode: the extractive answer, shown beside it


def check_question(question: str) -> str:
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise RagError("The question is empty. Type a question about the articles.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise RagError(
            f"The question is {len(cleaned)} characters long; keep it under {MAX_QUESTION_CHARS}."
        )
    return cleaned


VectorSource = Callable[[list[str]], np.ndarray]

_caches: weakref.WeakKeyDictionary[Embedder, VectorCache] = weakref.WeakKeyDictionary()


def sentence_vectors(embedder: Embedder) -> VectorCache:
    """The process-wide sentence-vector cache for `embedder`."""
    if embedder not in _caches:
        _caches[embedder] = VectorCache(embedder)
    return _caches[embedder]


def hit_sentence_vectors(searcher: Searcher, hits: Sequence[Hit]) -> VectorSource:
    """The vectors of the hits' sentences, as `evidence.score` asks for them by text: read
    from the index, where the sync stored them; embedded (and cached) only for a sentence
    the index lacks."""
    stored: dict[str, np.ndarray] = {}
    by_chunk = searcher.store.sentence_vectors([h.chunk_id for h in hits])
    for hit in hits:
        for sentence in by_chunk.get(hit.chunk_id, []):
            stored[hit.text[sentence.start : sentence.end]] = sentence.vector
    cache = sentence_vectors(searcher.embedder)

    def vectors(texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in stored]
        computed = dict(zip(missing, cache(missing), strict=True)) if missing else {}
        return np.stack([stored[t] if t in stored else computed[t] for t in texts])

    return vectors


def answer(
    question: str, searcher: Searcher, *, k: int = 5, history: Sequence[Answer] = ()
) -> Answer:
    """Answer from the articles. `history`: the conversation's earlier answers, oldest first;
    a follow-up question is resolved against them before retrieval."""
    q = evidence.analyse(
        check_question(question), [h.resolved_question or h.question for h in history]
    )
    qvec = searcher.embedder.embed_query(q.search)
    hits = searcher.search_vector(q.search, qvec, k)
    ranked = evidence.score(
        evidence.candidates(q, hits), qvec, hit_sentence_vectors(searcher, hits)
    )
    return compose(q, hits, ranked, searcher)


def compose(q: Question, hits: list[Hit], ranked: list[Candidate], searcher: Searcher) -> Answer:
    """The answer (or abstention) from scored candidates, with verified citations."""
    resolved = q.search if q.search != q.text else None
    if not ranked:
        return Answer(
            q.text,
            "The articles don't say: no passage matches the question.",
            True,
            hits=hits,
            resolved_question=resolved,
        )
    best = ranked[0]
    if best.support < ABSTAIN_BELOW:
        closest = _distinct_passages(ranked)[:CLOSEST]
        citations = [c for c, _ in _verified(searcher, [(c, c.start, c.end) for c in closest])]
        return Answer(
            q.text,
            _abstention_text(q, closest),
            True,
            citations,
            hits,
            support=best.support,
            resolved_question=resolved,
        )
    span = _short_answer(q, best)
    start, end = _clause(best, span) if span else (best.start, best.end)
    chosen = [(best, start, end)]
    second = ranked[1] if len(ranked) > 1 else None
    if (
        span is None
        and second is not None
        and second.support >= ABSTAIN_BELOW
        and second.support >= SECOND_WITHIN * best.support
    ):
        chosen.append((second, second.start, second.end))
    verified = _verified(searcher, chosen)
    citations = [c for c, _ in verified]
    if not citations:
        return Answer(
            q.text,
            "The articles don't say: no passage could be quoted exactly.",
            True,
            hits=hits,
            support=best.support,
            resolved_question=resolved,
        )
    quotes = " ".join(
        f"«{'…' if c.start > cand.start else ''}{c.quote}{'…' if c.end < cand.end else ''}» [{c.n}]"
        for c, cand in verified
    )
    text = f"{span.text} — {quotes}" if span else quotes
    return Answer(
        q.text,
        text,
        False,
        citations,
        hits,
        span=span.text if span else None,
        support=best.support,
        resolved_question=resolved,
    )


def _abstention_text(q: Question, closest: list[Candidate]) -> str:
    said = "The articles don't say."
    if q.kind and not any(sp.kind in ACCEPTS[q.kind] for c in closest for sp in c.spans):
        said = f"The articles don't say: none of the closest passages gives {NOUNS[q.kind]}."
    return f"{said} The closest passages are below (closest, not an answer)."


def _distinct_passages(ranked: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for c in ranked:
        if c.hit.chunk_id not in seen:
            seen.add(c.hit.chunk_id)
            out.append(c)
    return out


def _short_answer(q: Question, best: Candidate) -> Span | None:
    """The span of the expected kind nearest the question's words in the sentence, those in
    its clause counting double. After a follow-up, its own words ("the second model") lead
    when the sentence has any: the earlier question's words point at the earlier answer."""
    if q.kind is None:
        return None
    spans = [s for s in best.spans if s.kind in ACCEPTS[q.kind]]
    if not spans:
        return None
    anchors = []
    for m in re.finditer(r"\w+", best.text):
        weight = max(
            (
                w
                for t in terms(m.group())
                for qt, w in q.weights.items()
                if evidence.has_term(qt, {t})
            ),
            default=0.0,
        )
        if weight:
            anchors.append((m.start(), weight))
    if any(w == 1.0 for _, w in anchors):
        anchors = [(pos, w) for pos, w in anchors if w == 1.0]
    clauses = _clause_bounds(best.text)

    def clause_of(pos: int) -> int:
        return next((i for i, (s, e) in enumerate(clauses) if pos < e), len(clauses) - 1)

    def closeness(span: Span) -> float:
        near = sum(
            w
            * (2.0 if clause_of(pos) == clause_of(span.start) else 1.0)
            / (1.0 + abs(pos - span.start) / 40)
            for pos, w in anchors
        )
        specific = 0.3 if q.kind is Kind.DATE and not re.fullmatch(r"\d{4}", span.text) else 0.0
        return near + specific

    return max(spans, key=closeness)


def _clause_bounds(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in _CLAUSE.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return bounds


def _clause(best: Candidate, span: Span) -> tuple[int, int]:
    """Article offsets of the clause holding `span`, for a long sentence; else the sentence."""
    if len(best.text) <= LONG_SENTENCE:
        return best.start, best.end
    for s, e in _clause_bounds(best.text):
        if s <= span.start and span.end <= e and e - s >= 20:
            return best.start + s, best.start + e
    return best.start, best.end


def _verified(
    searcher: Searcher, chosen: list[tuple[Candidate, int, int]]
) -> list[tuple[Citation, Candidate]]:
    out: list[tuple[Citation, Candidate]] = []
    for cand, start, end in chosen:
        citation = verified_slice(
            searcher, cand.hit, start, end, n=len(out) + 1, score=cand.support
        )
        if citation is not None:
            out.append((citation, cand))
    return out


def verified_slice(
    searcher: Searcher, hit: Hit, start: int, end: int, *, n: int, score: float
) -> Citation | None:
    """A citation of `article[start:end]` inside `hit`, or None (logged) unless that slice of
    the article text the index holds is exactly the hit's text there."""
    quote = hit.text[start - hit.start : end - hit.start]
    article_text = searcher.store.article_text(hit.article_id)
    if (
        not quote
        or not hit.start <= start < end <= hit.end
        or article_text is None
        or article_text[start:end] != quote
    ):
        log.error("Dropped a citation that is not an exact slice of %s", hit.article_id)
        return None
    return Citation(
        n=n,
        article_id=hit.article_id,
        title=hit.title,
        start=start,
        end=end,
        quote=quote,
        score=round(score, 4),
        passage_start=hit.start,
        passage_end=hit.end,
    )
