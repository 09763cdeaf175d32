"""The benchmark tasks, read from the shared data dir: corpora (article files to write) and
queries (each with its one relevant article).

Every document becomes a `.txt` article whose first line is its title, so our pipeline and
the baselines read the same files. PIAF and SQuAD: one article per paragraph (its Wikipedia
title, then the paragraph); NTREX: each language's document as published (title first);
OrangeSum: title, then the article. Samples are seeded and taken in a fixed order, so the same
flags give the same corpus (and the cached index). This module only reads data.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.splits import of_squad_file
from rag.evaluate import QAItem, load_qa

SEED = 13
MIN_HEADING_WORDS = 4


@dataclass(frozen=True)
class Query:
    text: str
    article: str | None  # the relevant article file; None for unanswerable questions
    answers: tuple[str, ...] = ()
    evidence: str | None = None
    unanswerable: bool = False
    title: str | None = None  # the source article's title (QA sets), for the splits

    def qa_item(self) -> QAItem:
        return QAItem(self.text, self.answers, self.evidence, self.unanswerable, self.article)


@dataclass
class Task:
    name: str
    corpus: str  # which corpus the queries run against
    queries: list[Query]
    note: str = ""
    lang: str = ""  # the queries' language


@dataclass
class Corpus:
    name: str
    docs: dict[str, str] = field(default_factory=dict)  # article file name -> content


def squad_like(path: Path, prefix: str, paragraphs: int | None) -> tuple[Corpus, list[Query]]:
    """A seeded sample of `paragraphs` paragraphs (all when None), one article each, with
    every question asked about them (unanswerable ones included, article None)."""
    items = load_qa(path)
    contexts = list(dict.fromkeys((i.title, i.context) for i in items))
    if paragraphs is not None and paragraphs < len(contexts):
        keep = set(random.Random(SEED).sample(contexts, paragraphs))
        contexts = [c for c in contexts if c in keep]
    names = {c: f"{prefix}/{n:04d}.txt" for n, c in enumerate(contexts)}
    corpus = Corpus(prefix, {names[c]: f"{c[0]}\n{c[1]}" for c in contexts})
    queries = [
        Query(
            i.question,
            None if i.unanswerable else names[(i.title, i.context)],
            i.answers,
            i.evidence,
            i.unanswerable,
            i.title,
        )
        for i in items
        if (i.title, i.context) in names
    ]
    return corpus, queries


def ntrex(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def orangesum(path: Path, start: int, count: int) -> list[dict[str, str]]:
    """Articles number `start` to `start + count - 1` of the file, in file order."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n >= start + count:
                break
            if n >= start:
                out.append(json.loads(line))
    return out


def orangesum_doc(article: dict[str, str]) -> tuple[str, str]:
    return f"orangesum/{article['id']}.txt", f"{article['title']}\n{article['article']}"


def sample(queries: list[Query], limit: int | None) -> list[Query]:
    if limit is None or len(queries) <= limit:
        return queries
    keep = set(random.Random(SEED).sample(range(len(queries)), limit))
    return [q for n, q in enumerate(queries) if n in keep]


def load_tasks(
    data: Path,
    *,
    paragraphs: int | None,
    orangesum_n: int,
    max_queries: int | None,
    answer_questions: int = 0,
) -> tuple[dict[str, Corpus], list[Task], dict[str, list[QAItem]]]:
    """The retrieval tasks, the corpora they run against, and small question sets for the
    answer metrics (PIAF answerable; SQuAD half answerable, half unanswerable), from the
    test split's articles (`bench.splits`)."""
    corpora: dict[str, Corpus] = {}
    tasks: list[Task] = []
    answer_sets: dict[str, list[QAItem]] = {}
    for prefix, rel, lang in (
        ("piaf", "piaf/piaf-v1.0.json", "fr"),
        ("squad2", "squad2/squad2-dev-half.json", "en"),
    ):
        corpus, queries = squad_like(data / rel, prefix, paragraphs)
        corpora[prefix] = corpus
        answerable = [q for q in queries if not q.unanswerable]
        tasks.append(
            Task(
                f"{prefix} ({lang}) question -> paragraph",
                prefix,
                sample(answerable, max_queries),
                f"{len(corpus.docs)} paragraphs",
                lang,
            )
        )
        if answer_questions:
            # The reader learned from the other splits' articles: answers are scored on test.
            split = of_squad_file(data / rel)
            held_out = [q for q in queries if split.get(q.title or "") == "test"]
            answerable = [q for q in held_out if not q.unanswerable]
            unanswerable = [q for q in held_out if q.unanswerable]
            half = answer_questions // 2 if unanswerable else answer_questions
            chosen = sample(answerable, half) + sample(unanswerable, answer_questions - half)
            answer_sets[prefix] = [q.qa_item() for q in chosen]

    docs = list(ntrex(data / "ntrex" / "ntrex_en_fr_docs.jsonl"))
    source = data / "orangesum" / "orangesum.jsonl.gz"
    articles = orangesum(source, 0, orangesum_n + 1)  # one more: the incremental update's
    news = Corpus("news-fr", dict(orangesum_doc(a) for a in articles))
    for d in docs:
        news.docs[f"ntrex-fr/{d['doc_id']}.txt"] = d["fr_text"]
    # About a quarter of OrangeSum headings are empty or a bare date ("7 août"): no query.
    heads = [
        Query(a["heading"], orangesum_doc(a)[0])
        for a in articles[:orangesum_n]
        if len(a["heading"].split()) >= MIN_HEADING_WORDS
    ]
    en = Corpus("ntrex-en", {f"ntrex-en/{d['doc_id']}.txt": d["en_text"] for d in docs})
    corpora.update({news.name: news, en.name: en})
    tasks += [
        Task(
            "ntrex en title -> fr doc",
            news.name,
            [Query(d["en_title"], f"ntrex-fr/{d['doc_id']}.txt") for d in docs],
            f"{len(docs)} fr docs + {len(articles)} OrangeSum",
            "en",
        ),
        Task(
            "ntrex fr title -> en doc",
            en.name,
            [Query(d["fr_title"], f"ntrex-en/{d['doc_id']}.txt") for d in docs],
            f"{len(docs)} en docs",
            "fr",
        ),
        Task(
            "orangesum heading -> article",
            news.name,
            sample(heads, max_queries),
            f"{len(articles)} OrangeSum + {len(docs)} NTREX fr docs; {orangesum_n - len(heads)}"
            f" of {orangesum_n} headings skipped (empty or a date)",
            "fr",
        ),
    ]
    return corpora, tasks, answer_sets
