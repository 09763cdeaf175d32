"""Evidence: how well each sentence of the retrieved passages answers a question.

A question is analysed once (`analyse`: its terms, its names and numbers, the kind of answer it
expects, its language, and for a follow-up the earlier question it continues). Every sentence
of the hits then gets a few features:
- `cos`: cosine between the question (query prompt) and the sentence (passage prompt);
- `chunk_cos`: the same for the whole passage, and `rank`: the passage's place in the fusion;
- `lex`, `lex_ctx`, `lex_prev`: how much of the question's words (IDF-weighted) the sentence,
  its passage with its title, and the sentence before it contain (answers often follow the
  sentence that names the subject); `ent`, `ent_ctx`: the same for names and numbers alone;
- `novel`: the share of the sentence's words that are not the question's (a sentence that
  only restates the question does not answer it);
- `type_hit`, `type_miss`: the question wants a date, number, amount, duration or name and the
  sentence has one / has none (spans already in the question do not count);
- `cross`: the question and the passage are in different languages, where word overlap is
  weak, and `x_type_hit`, `x_type_miss`: the answer type in that case, where it counts more.
Two models calibrated on SQuAD 2.0, PIAF, English questions on French news and out-of-corpus
questions (`bench/calibrate_abstention.py`, docs/abstention.md) use them: `SELECT` (a
conditional logit) ranks the sentences of one question; `ABSTAIN` (a logistic regression
over the best sentence's features, its selection score and its margin over the runner-up)
gives `support`, the estimated chance that the chosen sentence answers the question. Two
rules come first (`gated`): a sentence whose passage shares none of the question's names and
numbers, or that lacks the kind of answer asked for, has no support. Only the `PREFILTER`
sentences that rank best without their own vector get one (`rag.answer` reads it from the
index, or embeds it when the index was built without sentence vectors). It does not cite or
word the answer (`rag.answer` does).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer_types import ACCEPTS, Kind, Span, expected_kind, find_spans
from rag.articles import detect_language
from rag.bm25 import STOPWORDS, fold, terms
from rag.chunking import split_sentences
from rag.embeddings import Embedder
from rag.retrieval import Hit

FEATURES = (
    "cos",
    "chunk_cos",
    "rank",
    "lex",
    "lex_ctx",
    "lex_prev",
    "ent",
    "ent_ctx",
    "novel",
    "type_hit",
    "type_miss",
    "cross",
    "x_type_hit",
    "x_type_miss",
)
ABSTAIN_FEATURES = (
    "cos",
    "chunk_cos",
    "lex_ctx",
    "ent_ctx",
    "type_hit",
    "type_miss",
    "cross",
    "x_type_hit",
    "x_type_miss",
    "select",
    "margin",
)
# Fitted by bench/calibrate_abstention.py; the data, the fit and the table are in
# docs/abstention.md. SELECT weighs FEATURES; ABSTAIN weighs ABSTAIN_FEATURES.
SELECT = np.array(
    [23.44, 8.806, 1.135, 3.407, 2.321, 0.716, -0.9546, 0.6548, 0.5092, 0.8888, -0.8888, 0, 0, 0]
)
ABSTAIN = np.array([1.6, 1.737, -2.286, 0.9991, -0.5009, 0, -1.15, 2.726, 0, 0.6463, 0.2019])
ABSTAIN_INTERCEPT = -24.16
MARGIN_CAP = 5.0  # the distance to the runner-up, capped: a lone candidate has a margin of 5
#: Sentences scored per question, chosen by SELECT with `chunk_cos` standing for `cos`.
PREFILTER = 4
PREFIX = 5  # terms sharing their first 5 letters match ("model"/"modèle", "livraison(s)")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_WH = re.compile(
    r"(?i)\b(when|where|who|whom|whose|what|which|why|how(?: many| much| long| old)?|quand|où"
    r"|qui|quel(?:le)?s?|combien|comment|pourquoi)\b"
)
_EN_HINTS = _words(
    "the a an is are was were do does did of to in what when where who which how why will "
    "would has have"
)
_FR_HINTS = _words(
    "le la les des du de est sont un une que qui quoi quand quel quelle quels quelles "
    "combien comment pourquoi ou a au aux dans pour"
)
_FOLLOWUP_LEAD = re.compile(
    r"(?i)^\s*(and|et|what about|how about|and what about|et pour|et concernant|et quant|also"
    r"|aussi|same for|pareil pour|idem)\b"
)
# Capitalised in questions, but roles rather than names: they are not matched as entities.
_ROLES = _words("ceo coo cfo cto pdg dg drh president ministre minister")
_PRONOUNS = _words(
    "it its they them their he she him his her this that these those there il elle ils "
    "elles lui leur leurs celui celle ceux celles cela ça y"
)


@dataclass(frozen=True)
class Question:
    text: str  # as asked
    search: str  # what is embedded and searched: the follow-up resolved against the history
    kind: Kind | None
    weights: dict[str, float]  # folded term -> weight (a follow-up's own words weigh more)
    entities: frozenset[str]  # folded names and numbers from the question
    lang: str | None


@dataclass(frozen=True)
class Candidate:
    """One sentence of one hit, with its features and, once scored, its support."""

    hit: Hit
    rank: int
    start: int  # offsets in the article
    end: int
    text: str
    spans: tuple[Span, ...]
    features: dict[str, float] = field(default_factory=dict)
    support: float = 0.0


def question_language(text: str) -> str | None:
    words = re.findall(r"[^\W\d_]+", text.lower())
    en, fr = sum(w in _EN_HINTS for w in words), sum(w in _FR_HINTS for w in words)
    if en == fr:
        return detect_language(text)
    return "en" if en > fr else "fr"


def analyse(question: str, previous: Sequence[str] = ()) -> Question:
    """`previous`: the earlier questions of the conversation (as searched), oldest first.
    A follow-up ("and the second model?", "et en Europe ?") is resolved without an LLM by
    adding the previous question's interrogative and content words it does not repeat."""
    own = terms(question)
    search, inherited, kind = question, [], expected_kind(question)
    if previous and _is_followup(question, own):
        before = previous[-1]
        wh = _WH.search(before)
        words = [
            w
            for w in re.findall(r"[\w’'-]+", before)
            if fold(w) not in STOPWORDS and not _WH.fullmatch(w) and fold(w) not in own
        ]
        context = " ".join(([wh.group(0)] if wh and not kind else []) + words)
        search = f"{question} ({context})" if context else question
        inherited = terms(context)
        kind = kind or expected_kind(context)
    weights = {t: 0.5 for t in inherited} | {t: 1.0 for t in own}
    return Question(question, search, kind, weights, _entities(search), question_language(search))


def _is_followup(question: str, own: list[str]) -> bool:
    words = {w.lower() for w in re.findall(r"\w+", question)}
    return (
        bool(_FOLLOWUP_LEAD.match(question))
        or len(own) <= 1
        or (len(own) <= 3 and bool(words & _PRONOUNS))
    )


def _entities(text: str) -> frozenset[str]:
    """Capitalised words past the first, acronyms and numbers: what a sentence must share."""
    found = set()
    for i, m in enumerate(re.finditer(r"[\w’'-]+", text)):
        word = m.group()
        capitalised = i > 0 and word[0].isupper() and not _WH.fullmatch(word)
        if capitalised or any(c.isdigit() for c in word):
            found.update(terms(word))
    return frozenset(found - _ROLES)


def candidates(question: Question, hits: Sequence[Hit]) -> list[Candidate]:
    """Every sentence of every hit, with the features that do not need its vector."""
    sentences = [(i, h, s, e) for i, h in enumerate(hits) for s, e in split_sentences(h.text)]
    sent_terms = [set(terms(h.text[s:e])) for _, h, s, e in sentences]
    idf = _idf(question.weights, sent_terms)
    entities = dict.fromkeys(question.entities, 1.0)
    wanted = ACCEPTS[question.kind] if question.kind else frozenset()
    per_hit: dict[int, tuple[set[str], float]] = {}
    out = []
    previous: set[str] = set()
    for (rank, hit, s, e), words in zip(sentences, sent_terms, strict=True):
        if rank not in per_hit:
            lang = detect_language(hit.text)
            per_hit[rank] = (
                set(terms(f"{hit.title}\n{hit.text}")),
                float(bool(question.lang and lang and question.lang != lang)),
            )
            previous = set()
        context, cross = per_hit[rank]
        text = hit.text[s:e]
        spans = tuple(sp for sp in find_spans(text) if not _in_question(sp, question))
        has_type = float(bool(wanted) and any(sp.kind in wanted for sp in spans))
        miss = float(bool(wanted)) - has_type
        asked = sum(any(has_term(t, {w}) for t in question.weights) for w in words)
        features = {
            "chunk_cos": hit.similarity,
            "rank": 1.0 / (1 + rank),
            "lex": _coverage(question.weights, idf, words),
            "lex_ctx": _coverage(question.weights, idf, context),
            "lex_prev": _coverage(question.weights, idf, previous),
            "ent": _coverage(entities, idf, words, empty=1.0),
            "ent_ctx": _coverage(entities, idf, context, empty=1.0),
            "novel": 1.0 - asked / len(words) if words else 0.0,
            "type_hit": has_type,
            "type_miss": miss,
            "cross": cross,
            "x_type_hit": cross * has_type,
            "x_type_miss": cross * miss,
        }
        out.append(Candidate(hit, rank, hit.start + s, hit.start + e, text, spans, features))
        previous = words
    return out


def score(
    cands: list[Candidate],
    qvec: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
    *,
    prefilter: int | None = PREFILTER,
    select: np.ndarray = SELECT,
    abstain: np.ndarray = ABSTAIN,
    intercept: float = ABSTAIN_INTERCEPT,
) -> list[Candidate]:
    """Embed the most promising candidates (all if `prefilter` is None; those the rules of
    `gated` exclude come last) and return them best first (by SELECT), with `cos`, `select`,
    `margin` and `support` filled in."""
    first = sorted(
        cands, key=lambda c: (gated(c.features), -selection(c.features, select, cos="chunk_cos"))
    )
    chosen = first if prefilter is None else first[:prefilter]
    if not chosen:
        return []
    vectors = embed([c.text for c in chosen])
    feats = [{**c.features, "cos": float(v @ qvec)} for c, v in zip(chosen, vectors, strict=True)]
    supported = supports(feats, select, abstain, intercept)
    scored = [
        Candidate(c.hit, c.rank, c.start, c.end, c.text, c.spans, f, sup)
        for c, (f, sup) in zip(chosen, supported, strict=True)
    ]
    return sorted(scored, key=lambda c: (gated(c.features), -c.features["select"], c.rank, c.start))


def selection(
    features: dict[str, float], weights: np.ndarray = SELECT, *, cos: str = "cos"
) -> float:
    """The selection score: only its order among one question's sentences matters."""
    return float(weights @ np.array([features[cos if f == "cos" else f] for f in FEATURES]))


def supports(
    feats: list[dict[str, float]],
    select: np.ndarray = SELECT,
    abstain: np.ndarray = ABSTAIN,
    intercept: float = ABSTAIN_INTERCEPT,
) -> list[tuple[dict[str, float], float]]:
    """Each sentence's features with `select` and `margin` added, and its support."""
    zs = [selection(f, select) for f in feats]
    out = []
    for i, f in enumerate(feats):
        # The runner-up among the sentences that could be answers at all.
        others = [
            z for j, (z, g) in enumerate(zip(zs, feats, strict=True)) if j != i and not gated(g)
        ]
        margin = zs[i] - max(others) if others else MARGIN_CAP
        full = {**f, "select": zs[i], "margin": max(-MARGIN_CAP, min(MARGIN_CAP, margin))}
        z = intercept + float(abstain @ np.array([full[k] for k in ABSTAIN_FEATURES]))
        out.append((full, 0.0 if gated(f) else 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))))
    return out


def gated(features: dict[str, float]) -> bool:
    """Never an answer, whatever the models say: a sentence whose passage shares none of the
    question's names and numbers, or that lacks the kind of answer the question asks for
    ("how much" and no amount). docs/abstention.md counts what each rule costs and catches."""
    return features["ent_ctx"] == 0.0 or features["type_miss"] == 1.0


def _idf(weights: dict[str, float], sentences: list[set[str]]) -> dict[str, float]:
    """IDF over the candidate sentences: a word every sentence has tells them apart least; a
    word none has weighs most, so a question about something absent loses coverage."""
    n = len(sentences)
    return {
        t: math.log(1 + (n + 1) / (0.5 + sum(has_term(t, s) for s in sentences))) for t in weights
    }


def has_term(term: str, words: set[str]) -> bool:
    if term in words:
        return True
    return len(term) >= PREFIX and any(
        len(w) >= PREFIX and w[:PREFIX] == term[:PREFIX] for w in words
    )


def _coverage(
    weights: dict[str, float], idf: dict[str, float], words: set[str], *, empty: float = 0.0
) -> float:
    total = sum(w * idf.get(t, 1.0) for t, w in weights.items())
    if not total:
        return empty
    return sum(w * idf.get(t, 1.0) for t, w in weights.items() if has_term(t, words)) / total


def _in_question(span: Span, question: Question) -> bool:
    """A span made of the question's words restates it and cannot answer it; so does a name
    that contains one of the question's names ("PDG de Xiaomi" for "Qui dirige Xiaomi ?")."""
    words = terms(span.text)
    asked = [w in question.weights or w in question.entities for w in words]
    return bool(words) and (all(asked) or (span.kind is Kind.NAME and any(asked)))


class VectorCache:
    """Sentence vectors by text, bounded, shared by threads: follow-ups and repeated questions
    re-read the same sentences."""

    def __init__(self, embedder: Embedder, size: int = 20_000) -> None:
        self.embedder, self.size = embedder, size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            # One at a time: the int8 backend scales activations per batch, so a batched
            # vector would depend on its batch-mates, and the cache would keep whichever came
            # first (answers near the threshold flipped with the order questions were asked).
            computed = self.embedder.embed_documents(missing, batch_size=1)
            with self._lock:
                for text, vec in zip(missing, computed, strict=True):
                    self._vectors[text] = vec
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                self._vectors.move_to_end(t)
                out.append(self._vectors[t])
        return np.stack(out) if out else np.empty((0, self.embedder.dim), dtype=np.float32)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
