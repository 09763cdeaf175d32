"""Metrics over QA files: retrieval recall@1/@5 and MRR@10, answers judged strictly (the
sentence, the short answer on its own, a wrong short answer counting as a wrong answer),
citation accuracy, abstention precision/recall, latency.

A QA file is JSON lines (`question`; optional `answer_any` list, `evidence`, `unanswerable`,
`article` = the relevant article id, `context`/`title` = the paragraph it was written from) or
a SQuAD-format file (each question's evidence is the sentence holding its first answer span).
Retrieval is scored per article: hits are deduplicated by article in rank order, so recall@5
means "the relevant article is among the first five distinct articles". The relevant article
is the item's `article`; without one, any article whose retrieved passage holds the
`evidence`. Text matches ignore case, accents, punctuation and spacing, on word boundaries.

It does not print (the CLI and `bench/` format reports) and does not build indexes:
`write_corpus` only writes a file's own paragraphs as article files for a caller to index.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.engine import Engine
from rag.errors import RagError
from rag.text import fold, split_sentences

log = logging.getLogger(__name__)

#: Ranks deeper than this count as misses (MRR@10).
DEPTH = 10
#: Passages fetched to rank articles: enough for DEPTH distinct articles in practice.
SEARCH_K = 30
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class QAItem:
    question: str
    answers: tuple[str, ...] = ()
    evidence: str | None = None
    unanswerable: bool = False
    article: str | None = None
    context: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class ItemResult:
    question: str
    unanswerable: bool
    rank: int | None = None  # 1-based rank of the relevant article; None: missed or unjudged
    judged: bool = False  # retrieval could be scored (an article or evidence is known)
    abstained: bool | None = None
    correct: bool | None = None  # strict: right sentence, no wrong short answer (None: unscored)
    cited: bool | None = None  # a cited quote holds the evidence or an answer
    sentence: bool | None = None  # answered, and a cited quote holds a gold answer
    short: str | None = None  # the short answer shown, if any
    short_right: bool | None = None  # a short answer was shown and it holds a gold answer
    short_em: float | None = None  # exact match and F1 of the short answer against the golds
    short_f1: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class EvalReport:
    metrics: dict[str, float | None]
    counts: dict[str, int]
    items: list[ItemResult] = field(default_factory=list)

    def to_json(self, *, with_items: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"metrics": self.metrics, "counts": self.counts}
        if with_items:
            out["items"] = [asdict(i) for i in self.items]
        return out


# -- loading ---------------------------------------------------------------------------------
def load_qa(path: Path) -> list[QAItem]:
    """Read a QA file: SQuAD format (a JSON object with `data`) or JSON lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RagError(f"Cannot read the QA file {path}: {exc.strerror or exc}.") from None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    items = _squad_items(whole) if isinstance(whole, dict) and "data" in whole else None
    if items is None:
        items = [
            _jsonl_item(line, path, n)
            for n, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    if not items:
        raise RagError(
            f"{path} holds no questions. Write one JSON object per line with a "
            "`question`, or give a SQuAD-format file."
        )
    return items


def _jsonl_item(line: str, path: Path, n: int) -> QAItem:
    where = f"{path.name} line {n}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RagError(f"{where} is not valid JSON ({exc.msg}).") from None
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("question"), str)
        or not obj["question"].strip()
    ):
        raise RagError(f"{where}: each line must be an object with a non-empty `question`.")
    answers = obj.get("answer_any") or []
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise RagError(f"{where}: `answer_any` must be a list of strings.")
    for key in ("evidence", "article", "context", "title"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise RagError(f"{where}: `{key}` must be a string.")
    return QAItem(
        question=obj["question"].strip(),
        answers=tuple(a for a in answers if a.strip()),
        evidence=obj.get("evidence") or None,
        unanswerable=bool(obj.get("unanswerable")),
        article=obj.get("article") or None,
        context=obj.get("context") or None,
        title=obj.get("title") or None,
    )


def _squad_items(data: dict[str, Any]) -> list[QAItem]:
    items = []
    for article in data["data"]:
        for para in article.get("paragraphs", []):
            context = para["context"]
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible"))
                spans = [] if impossible else qa.get("answers", [])
                answers = tuple(dict.fromkeys(a["text"] for a in spans if a["text"].strip()))
                evidence = _sentence_at(context, spans[0]["answer_start"]) if spans else None
                items.append(
                    QAItem(
                        question=qa["question"].strip(),
                        answers=answers,
                        evidence=evidence,
                        unanswerable=impossible,
                        context=context,
                        title=article.get("title"),
                    )
                )
    return items


def _sentence_at(text: str, offset: int) -> str | None:
    for start, end in split_sentences(text):
        if start <= offset < end:
            return text[start:end]
    return None


def write_corpus(items: Sequence[QAItem], root: Path) -> list[QAItem]:
    """Write each distinct paragraph (`context`) as an article file under `root` (title on
    the first line) and return the items with `article` set to that file's id."""
    if not any(i.context for i in items):
        raise RagError(
            "Building a corpus from the QA file needs its paragraphs: give a "
            "SQuAD-format file, or JSON lines with a `context` field."
        )
    root.mkdir(parents=True, exist_ok=True)
    ids: dict[tuple[str | None, str], str] = {}
    out = []
    for item in items:
        if not item.context:
            out.append(item)
            continue
        key = (item.title, item.context)
        if key not in ids:
            ids[key] = f"p{len(ids):05d}.txt"
            head = f"{item.title.strip()}\n" if item.title and item.title.strip() else ""
            (root / ids[key]).write_text(head + item.context, encoding="utf-8")
        out.append(replace(item, article=ids[key]))
    return out


# -- metrics ---------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    return " ".join(_NON_WORD.sub(" ", fold(text)).split())


def holds(haystack: str, needle: str) -> bool:
    """Does `haystack` contain `needle` as whole words, ignoring case, accents, punctuation?"""
    n = normalize(needle)
    return bool(n) and f" {n} " in f" {normalize(haystack)} "


_ARTICLES = frozenset(
    {"a", "an", "the", "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux"}
)


def _answer_words(text: str) -> list[str]:
    """SQuAD's answer normalisation, for French too: no articles, case, accents, punctuation."""
    return [w for w in normalize(text).split() if w not in _ARTICLES]


def span_scores(predicted: str, golds: Sequence[str]) -> tuple[float, float]:
    """Exact match and word F1 of a short answer against the best of the gold answers (the
    SQuAD measures); (0, 0) for no answer or no gold."""
    pred = _answer_words(predicted)
    best_em, best_f1 = 0.0, 0.0
    for gold in golds:
        ref = _answer_words(gold)
        if not pred or not ref:
            continue
        common = sum(min(pred.count(w), ref.count(w)) for w in set(pred) & set(ref))
        f1 = 2 * common / (len(pred) + len(ref))
        best_em, best_f1 = max(best_em, float(pred == ref)), max(best_f1, f1)
    return best_em, best_f1


def article_rank(articles: Iterable[str], relevant: Callable[[str], bool]) -> int | None:
    """1-based rank of the first relevant article among distinct articles, within DEPTH."""
    seen: list[str] = []
    for aid in articles:
        if aid in seen:
            continue
        seen.append(aid)
        if relevant(aid):
            return len(seen)
        if len(seen) == DEPTH:
            break
    return None


def retrieval_metrics(ranks: Sequence[int | None]) -> dict[str, float | None]:
    n = len(ranks)
    if not n:
        return {"recall@1": None, "recall@5": None, "mrr@10": None}
    return {
        "recall@1": sum(r == 1 for r in ranks if r) / n,
        "recall@5": sum(r <= 5 for r in ranks if r) / n,
        "mrr@10": sum(1 / r for r in ranks if r and r <= DEPTH) / n,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def summarize(results: Sequence[ItemResult]) -> EvalReport:
    judged = [r for r in results if r.judged]
    asked = [r for r in results if r.abstained is not None]
    scored = [r for r in results if r.correct is not None]
    cited = [r for r in results if r.cited is not None]
    unanswerable = [r for r in asked if r.unanswerable]
    abstained = [r for r in asked if r.abstained]
    true_abstentions = sum(r.unanswerable for r in abstained)
    metrics: dict[str, float | None] = {
        **retrieval_metrics([r.rank for r in judged]),
        "answer_accuracy": _ratio(sum(bool(r.correct) for r in scored), len(scored)),
        "sentence_accuracy": _ratio(sum(bool(r.sentence) for r in scored), len(scored)),
        "short_answer_accuracy": _ratio(sum(bool(r.short_right) for r in scored), len(scored)),
        "short_answer_shown": _ratio(sum(r.short is not None for r in scored), len(scored)),
        "short_answer_em": _mean([r.short_em for r in scored if r.short is not None]),
        "short_answer_f1": _mean([r.short_f1 for r in scored if r.short is not None]),
        "citation_accuracy": _ratio(sum(bool(r.cited) for r in cited), len(cited)),
        "abstention_precision": _ratio(true_abstentions, len(abstained)),
        "abstention_recall": _ratio(true_abstentions, len(unanswerable)),
        "latency_p50": percentile([r.seconds for r in results], 50),
        "latency_p95": percentile([r.seconds for r in results], 95),
    }
    counts = {
        "questions": len(results),
        "retrieval_judged": len(judged),
        "answer_scored": len(scored),
        "short_answers": sum(r.short is not None for r in scored),
        "citations_scored": len(cited),
        "unanswerable": sum(r.unanswerable for r in results),
        "abstained": len(abstained),
    }
    return EvalReport(metrics, counts, list(results))


# -- running ---------------------------------------------------------------------------------
def evaluate_item(engine: Engine, item: QAItem, *, k: int = 5, answers: bool = True) -> ItemResult:
    """Ask (timed: the latency a user sees) then rank articles with a deeper search."""
    started = time.perf_counter()
    ans = engine.ask(item.question, k=k) if answers else None
    hits = engine.search(item.question, SEARCH_K) if ans is None else None
    seconds = time.perf_counter() - started
    result = ItemResult(item.question, item.unanswerable, seconds=round(seconds, 4))
    if not item.unanswerable and (item.article or item.evidence):
        if hits is None:
            hits = engine.search(item.question, SEARCH_K)
        if item.article:
            rank = article_rank((h.article_id for h in hits), lambda a: a == item.article)
        else:
            evidence = item.evidence or ""
            found = {h.article_id for h in hits if holds(h.text, evidence)}
            rank = article_rank((h.article_id for h in hits), found.__contains__)
        result = replace(result, rank=rank, judged=True)
    if ans is None:
        return result
    result = replace(result, **judge(ans, item))
    golds = [*item.answers, *([item.evidence] if item.evidence else [])]
    if not item.unanswerable and not ans.abstained and golds:
        cited = any(holds(c.quote, g) for c in ans.citations for g in golds)
        result = replace(result, cited=cited)
    return result


def judge(ans: Answer, item: QAItem) -> dict[str, Any]:
    """How `ans` fares against `item`'s gold answers, strictly: the sentence is right when a
    quote holds a gold answer; the short answer is scored on its own (holds a gold answer;
    exact match, F1); the answer is correct when the sentence is right and no short answer,
    or a right one, is shown: a wrong short answer above a right quote counts as wrong."""
    out: dict[str, Any] = {"abstained": ans.abstained, "short": ans.span}
    if item.unanswerable or not item.answers:
        return out
    sentence = not ans.abstained and any(
        holds(c.quote, a) for c in ans.citations for a in item.answers
    )
    short_right = bool(ans.span) and any(holds(ans.span or "", a) for a in item.answers)
    em, f1 = span_scores(ans.span or "", item.answers)
    return out | {
        "sentence": sentence,
        "short_right": short_right,
        "short_em": em,
        "short_f1": f1,
        "correct": sentence and (ans.span is None or short_right),
    }


def evaluate(
    engine: Engine,
    items: Sequence[QAItem],
    *,
    k: int = 5,
    answers: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Run every item through `engine` and aggregate. `answers=False` scores retrieval only."""
    results = []
    for n, item in enumerate(items, 1):
        results.append(evaluate_item(engine, item, k=k, answers=answers))
        if progress:
            progress(n, len(items))
    report = summarize(results)
    log.info("Evaluated %d questions: %s", len(items), report.metrics)
    return report
