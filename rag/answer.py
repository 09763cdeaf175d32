"""Extractive answers: the sentences of the retrieved passages that best answer the question,
quoted verbatim with numbered citations, or an abstention when none is good enough.

Every citation is an exact slice of its article (`quote == text[start:end]`), checked against
the article text held by the index before it is returned, and comes from the hits this
answer retrieved: there is no second search for display. It does not call an LLM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from rag.bm25 import terms
from rag.chunking import split_sentences
from rag.errors import RagError
from rag.retrieval import Hit, Searcher

log = logging.getLogger(__name__)

#: Below this question/sentence cosine, the articles are taken not to answer.
ABSTAIN_BELOW = 0.80
MAX_QUESTION_CHARS = 2000


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


@dataclass(frozen=True)
class _Sentence:
    hit: Hit
    start: int  # absolute offsets in the article
    end: int
    text: str


def check_question(question: str) -> str:
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise RagError("The question is empty. Type a question about the articles.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise RagError(
            f"The question is {len(cleaned)} characters long; keep it under {MAX_QUESTION_CHARS}."
        )
    return cleaned


def answer(question: str, searcher: Searcher, *, k: int = 5) -> Answer:
    question = check_question(question)
    qvec = searcher.embedder.embed_query(question)
    hits = searcher.search_vector(question, qvec, k)
    sentences = [
        _Sentence(h, h.start + s, h.start + e, h.text[s:e])
        for h in hits
        for s, e in split_sentences(h.text)
    ]
    if not sentences:
        return Answer(question, "The articles don't say: the index is empty.", True, hits=hits)
    vectors = searcher.embedder.embed_documents([s.text for s in sentences])
    qterms = set(terms(question))
    scored = []
    for sent, vec in zip(sentences, vectors, strict=True):
        overlap = len(qterms & set(terms(sent.text))) / max(len(qterms), 1)
        scored.append((float(vec @ qvec) + 0.05 * overlap, sent))
    scored.sort(key=lambda pair: -pair[0])
    best_score, best = scored[0]
    abstained = best_score < ABSTAIN_BELOW
    chosen = [best] if not abstained else [s for _, s in scored[:3]]
    citations = _verified_citations(searcher, chosen, [sc for sc, _ in scored])
    if abstained:
        text = "The articles don't say. The closest passages are below (closest, not an answer)."
    else:
        text = f"«{best.text}» [1]"
    return Answer(question, text, abstained, citations, hits)


def _verified_citations(
    searcher: Searcher, sentences: list[_Sentence], scores: list[float]
) -> list[Citation]:
    texts: dict[str, str | None] = {}
    citations: list[Citation] = []
    for sent, score in zip(sentences, scores, strict=False):
        aid = sent.hit.article_id
        if aid not in texts:
            texts[aid] = searcher.store.article_text(aid)
        article_text = texts[aid]
        if article_text is None or article_text[sent.start : sent.end] != sent.text:
            log.error("Dropped a citation that is not an exact slice of %s", aid)
            continue
        citations.append(
            Citation(n=len(citations) + 1, article_id=aid, title=sent.hit.title,
                     start=sent.start, end=sent.end, quote=sent.text, score=round(score, 4),
                     passage_start=sent.hit.start, passage_end=sent.hit.end)
        )
    return citations
