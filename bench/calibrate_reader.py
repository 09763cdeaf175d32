"""Calibrate the reader on the calib split, then score the shipped answerer on the test split.

    .venv/bin/python -m bench.calibrate_reader --data ../shared/data           # fit (calib)
    .venv/bin/python -m bench.calibrate_reader --data ../shared/data --check   # score (test)

With RAG_SENTENCE_VECTORS=pooled, the same on indexes whose sentence vectors are pooled from
their chunk's pass (bench/out/answer-pooled/): the fit goes to reader.json's "pooled" key and
the reports to their own sections.

Indexes are built with the project's own pipeline (`rag.indexer.sync`, one .txt per paragraph
or article) under bench/out/answer/ and reused: SQuAD 2.0 (646 paragraphs), PIAF (761) and
1,000 OrangeSum articles. Question sets, each taken from one split (`bench.splits`, by article
title; the reader never saw a question of the calib or test articles):
- squad_ans / squad_unans: SQuAD 2.0 answerable / unanswerable (`is_impossible`) questions;
- piaf_ans: PIAF questions (French);
- xling_ans / xling_unans: English questions written for French OrangeSum articles
  (bench/questions/), answerable, or on the article's topic but not answered by it; their
  articles split into calib and test (the reader never trains on them), and each split also
  asks a file written for it alone on articles of its own (en-on-orangesum-calib.jsonl, 12
  articles; en-on-orangesum-test.jsonl, 10);
- ooc_en / ooc_fr: SQuAD and PIAF questions asked of the OrangeSum index (out of corpus);
- xling_fr_ans / xling_fr_unans (test only): French questions written for English NTREX news;
- seed_ans / seed_unans (test only): tests/data/seed-qa.jsonl on the seed article alone;
- absent (test only): questions about things no indexed article mentions, on topics that are
  there (prices, deliveries, leaders), in English and French, written for this script.
The fit reads every question with the real reading stage (`rag.answer.read`) and an
uncalibrated reader, then fits the support model (logistic regression on the best sentence's
SUPPORT_FEATURES: does it hold a gold answer), the abstention threshold (best balanced
accuracy, the middle of the near-best ones: answerable questions answered with a sentence
holding a gold answer, unanswerable and out-of-corpus ones abstained on) and the span
confidence above which the short answer is shown (the lowest whose shown short answers hold
a gold answer with word F1 >= 0.5 at least SHORT_PRECISION of the time), and writes them to
rag/models/reader.json. `--check` runs `answer()` as shipped on the test split and writes its
section of docs/benchmarks.md and docs/reader.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench import report
from bench.data import ntrex, orangesum
from bench.splits import assign, squad_articles
from bench.train_reader import IDENTITY, TRANSLATIONS, translations
from rag import reader as reader_module
from rag.answer import answer, read
from rag.config import Settings
from rag.embeddings import Embedder, load_embedder
from rag.engine import Engine, open_engine
from rag.evaluate import QAItem, holds, judge, load_qa, percentile, span_scores
from rag.evidence import SUPPORT_FEATURES, calibrated, features, read_clauses, support
from rag.reader import Reader

OUT = Path("bench/out/answer")  # answer-pooled/ for RAG_SENTENCE_VECTORS=pooled
DOC = Path("docs/reader.md")
BENCH_DOC = Path("docs/benchmarks.md")
K = 5
SEED = 4
SHORT_PRECISION = 0.8
ASK_KEEP = 0.95  # `ask_floor`
#: Balanced accuracies this close to the best are a tie (`plateau`): on the calib split, 0.005
#: is 7 of the 709 answerable questions, or 6 of the 622 others.
PLATEAU = 0.005
POSITIVE = ("squad_ans", "piaf_ans", "xling_ans", "xling_fr_ans", "seed_ans")

QUESTIONS = Path(__file__).parent / "questions"  # written for this project: its README
ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_QA = ROOT / "tests" / "data" / "seed-qa.jsonl"  # 11 English, 4 French, 4 not answered


# -- indexes -----------------------------------------------------------------------------------
def _out(settings: Settings) -> Path:
    """Where the indexes are: one set per way of making sentence vectors."""
    mode = settings.sentence_vectors
    return OUT if mode == "alone" else OUT.with_name(f"{OUT.name}-{mode}")


def _engine(
    name: str, docs: Iterable[tuple[str, str]], embedder: Embedder, settings: Settings
) -> Engine:
    root = _out(settings) / name / "articles"
    root.mkdir(parents=True, exist_ok=True)
    for fname, text in docs:
        path = root / fname
        if not path.exists():
            path.write_text(text, encoding="utf-8")
    settings = replace(settings, articles_dir=root, index_dir=root.parent / "index")
    engine = open_engine(settings, embedder=embedder)
    synced = engine.sync()
    if synced.embedded:
        print(f"{name}: embedded {synced.embedded} chunks in {synced.seconds:.0f} s", flush=True)
    return engine


def _paragraph_docs(data: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (f"{a:03d}_{p:03d}.txt", para["context"])
        for a, art in enumerate(data)
        for p, para in enumerate(art["paragraphs"])
    ]


def _orangesum(data_dir: Path) -> list[dict[str, str]]:
    """The first 1,000 OrangeSum articles: the index the OrangeSum question sets ask."""
    return orangesum(data_dir / "orangesum" / "orangesum.jsonl.gz", 0, 1000)


class Engines(dict[str, Engine]):
    """The three indexes, each built (or synced) when first used, sharing one model."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.settings = settings = Settings.from_env(os.environ)
        self.embedder = load_embedder(
            settings.embedding_model, settings.cache_dir, settings.embedding_backend
        )

    def __missing__(self, name: str) -> Engine:
        if name == "seed":
            docs = [(f.name, f.read_text(encoding="utf-8")) for f in SEEDS.glob("*.txt")]
        elif name == "ntrex_en":
            rows = ntrex(self.data_dir / "ntrex" / "ntrex_en_fr_docs.jsonl")
            docs = [(f"{r['doc_id']}.txt", r["en_text"]) for r in rows]
        elif name == "orangesum":
            docs = [
                (f"{r['id']}.txt", f"{r['title']}\n{r['article']}")
                for r in _orangesum(self.data_dir)
            ]
        else:
            rel = {"squad2": "squad2/squad2-dev-half.json", "piaf": "piaf/piaf-v1.0.json"}[name]
            docs = _paragraph_docs(squad_articles(self.data_dir / rel))
        self[name] = engine = _engine(name, docs, self.embedder, self.settings)
        return engine


# -- question sets -----------------------------------------------------------------------------
def _questions(data: list[dict[str, Any]], split: str, impossible: bool | None) -> list[QAItem]:
    where = assign(a["title"] for a in data)
    return [
        QAItem(
            qa["question"].strip(),
            tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []))),
            unanswerable=bool(qa.get("is_impossible")),
        )
        for art in data
        if where[art["title"]] == split
        for para in art["paragraphs"]
        for qa in para["qas"]
        if impossible is None or bool(qa.get("is_impossible")) == impossible
    ]


def question_sets(data_dir: Path, split: str, n: int) -> dict[str, tuple[str, list[QAItem]]]:
    """name -> (index name, questions) for one split, `n` at most per set (seeded sample)."""
    rng = random.Random(SEED)
    squad = squad_articles(data_dir / "squad2" / "squad2-dev-half.json")
    piaf = squad_articles(data_dir / "piaf" / "piaf-v1.0.json")

    def sample(items: list[QAItem], m: int = n) -> list[QAItem]:
        return rng.sample(items, min(m, len(items)))

    # The reader never trains on these: an article not in the test split is a calib one.
    written = load_qa(QUESTIONS / "en-on-orangesum.jsonl")
    where = assign(i.article or "" for i in written)
    xling = [i for i in written if (where[i.article or ""] == "test") == (split == "test")]
    own = "test" if split == "test" else "calib"  # written for one split, on articles of its own
    xling += load_qa(QUESTIONS / f"en-on-orangesum-{own}.jsonl")
    squad_ans = _questions(squad, split, False)
    piaf_ans = _questions(piaf, split, None)
    ooc = [QAItem(i.question, unanswerable=True) for i in sample(squad_ans, n // 2)]
    ooc_fr = [QAItem(i.question, unanswerable=True) for i in sample(piaf_ans, n // 2)]
    sets = {
        "squad_ans": ("squad2", sample(squad_ans)),
        "squad_unans": ("squad2", sample(_questions(squad, split, True))),
        "piaf_ans": ("piaf", sample(piaf_ans)),
        "xling_ans": ("orangesum", [i for i in xling if not i.unanswerable]),
        "xling_unans": ("orangesum", [i for i in xling if i.unanswerable]),
        "ooc_en": ("orangesum", ooc),
        "ooc_fr": ("orangesum", ooc_fr),
    }
    if split == "test":  # every NTREX document is one the reader never saw: test only
        fr_en = load_qa(QUESTIONS / "fr-on-ntrex-en.jsonl")
        sets["xling_fr_ans"] = ("ntrex_en", [i for i in fr_en if not i.unanswerable])
        sets["xling_fr_unans"] = ("ntrex_en", [i for i in fr_en if i.unanswerable])
        sets["absent"] = ("orangesum", load_qa(QUESTIONS / "absent-on-orangesum.jsonl"))
        seed = load_qa(SEED_QA)
        sets["seed_ans"] = ("seed", [i for i in seed if not i.unanswerable])
        sets["seed_unans"] = ("seed", [i for i in seed if i.unanswerable])
    return sets


# -- fit ---------------------------------------------------------------------------------------
def raw_reader(shipped: Reader) -> Reader:
    """The shipped reader with no calibration: support = sigmoid(logit), every span shown."""
    card = {**shipped.card, "calibration": IDENTITY, "span_confidence": 0.0}
    return Reader(shipped.model, shipped.tokenizer, card, shipped.bf16)


def dump(sets: dict[str, tuple[str, list[QAItem]]], engs: Engines, rd: Reader) -> list[dict]:
    """For every question, every read sentence: its support features, its rule, whether it
    holds a gold answer, its short answer (and whether that is right); and whether any read
    sentence or any hit holds a gold answer."""
    rows = []
    for name, (index, items) in sets.items():
        eng = engs[index]
        started = time.perf_counter()
        for item in items:
            reading = read(item.question, eng.searcher, rd, k=K)
            open_logits = [c.logit for c in reading.ranked if not c.gate]
            golds = list(item.answers)
            cands = []
            for c in reading.ranked:
                if not c.gate:  # whichever sentence the fitted model picks, read as shipped
                    c = read_clauses(reading.question, c, rd)
                short = c.text[c.short[0] - c.start : c.short[1] - c.start] if c.short else ""
                f1 = span_scores(short, golds)[1]
                cands.append(
                    {
                        "features": features(reading.question, c, c.logit, open_logits),
                        "gate": c.gate,
                        "gold": any(holds(c.text, g) for g in golds),
                        "short": short,
                        "short_confidence": c.short_confidence,
                        # Right and not padded: holds a gold answer, with word F1 >= 0.5.
                        "short_ok": bool(short)
                        and any(holds(short, g) for g in golds)
                        and f1 >= 0.5,
                    }
                )
            rows.append(
                {
                    "set": name,
                    "question": item.question,
                    "positive": name in POSITIVE,
                    "cands": cands,
                    "gold_read": any(c["gold"] for c in cands),
                    "gold_hits": any(holds(h.text, g) for h in reading.hits for g in golds),
                }
            )
        print(f"{name}: {len(items)} questions, {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def language_shift(data_dir: Path, engs: Engines, rd: Reader, n: int) -> dict[str, float]:
    """How much lower a sentence's cosines are when its question is asked in the other
    language: `n` train-split PIAF questions (seeded) read in French and in their English
    translation (bench/data/translated-questions.jsonl: train split only, so nothing held out
    is used), over the PIAF index. For each whose gold sentence is read or ruled out both
    ways, the French reading's prefilter score and passage cosine minus the English one's;
    the mean of each."""
    english = translations(TRANSLATIONS)
    asked = {
        qa["id"]: (qa["question"].strip(), [a["text"] for a in qa["answers"]])
        for art in squad_articles(data_dir / "piaf" / "piaf-v1.0.json")
        for para in art["paragraphs"]
        for qa in para["qas"]
        if qa["id"] in english
    }
    deltas = []
    for qid in random.Random(SEED).sample(sorted(asked), min(n, len(asked))):
        question, golds = asked[qid]
        fr, en = (
            next((c for c in read(q, engs["piaf"].searcher, rd, k=K).ranked
                  if any(holds(c.text, g) for g in golds)), None)
            for q in (question, english[qid])
        )  # fmt: skip
        if fr and en and fr.text == en.text:
            deltas.append((fr.prefilter - en.prefilter, fr.hit.similarity - en.hit.similarity))
    prefilter, similarity = (round(statistics.mean(d), 4) for d in zip(*deltas, strict=True))
    print(f"language shift: {len(deltas)} of {n} questions, {prefilter} {similarity}", flush=True)
    return {"prefilter": prefilter, "similarity": similarity}


def pick(row: dict[str, Any], cal: dict[str, Any]) -> tuple[dict[str, Any] | None, float]:
    """The sentence `rag.evidence` would answer with under `cal`, and its support."""
    open_ = [c for c in row["cands"] if not c["gate"]]
    if not open_:
        return (row["cands"][0] if row["cands"] else None), 0.0
    scored = [(support(c["features"], cal), c) for c in open_]
    value, best = max(scored, key=lambda x: x[0])
    return best, value


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> tuple[float, np.ndarray]:
    """Logistic regression (Newton's method, a small L2 on the weights): intercept, weights."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    ridge = np.diag([0.0] + [l2] * x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -50, 50)))
        grad = design.T @ (p - y) + ridge @ w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), w[1:]


def sweep(rows: list[dict[str, Any]], cal: dict[str, Any], grid: list[float]) -> list[dict]:
    """Per threshold: answerable answered right, negatives abstained on, their mean."""
    pos = [r for r in rows if r["positive"]]
    neg = [r for r in rows if not r["positive"]]
    out = []
    for t in grid:
        picked = [pick(r, cal) for r in pos]
        right = sum(v >= t and bool(c and c["gold"]) for c, v in picked) / max(1, len(pos))
        kept = sum(pick(r, cal)[1] < t for r in neg) / max(1, len(neg))
        out.append({"threshold": t, "answered_right": right, "abstained": kept,
                    "balanced": (right + kept) / 2})  # fmt: skip
    return out


def plateau(table: list[dict[str, Any]]) -> dict[str, Any]:
    """The middle threshold of those within PLATEAU of the best balanced accuracy: the curve
    is flat near its top, and a near tie flipped the pooled threshold 0.30 -> 0.35 -> 0.30
    from one fit to the next when the single best was taken."""
    top = max(r["balanced"] for r in table)
    near = [r for r in table if r["balanced"] >= top - PLATEAU]
    return near[len(near) // 2]


def ask_floor(rows: list[dict[str, Any]], cal: dict[str, Any]) -> float:
    """The support under which LLM mode does not ask its model (`rag.llm`): the highest that
    still asks ASK_KEEP of every answerable set's questions whose chosen sentence holds a gold
    answer (what the model could answer from). Below it a small model answers with a figure
    about something else."""
    picked = {
        name: [v for r in rows if r["set"] == name for c, v in [pick(r, cal)] if c and c["gold"]]
        for name in POSITIVE
    }
    floor = 0.0
    for t in [i / 100 for i in range(1, 51)]:
        if any(vs and sum(v >= t for v in vs) / len(vs) < ASK_KEEP for vs in picked.values()):
            break
        floor = t
    return floor


def span_threshold(rows: list[dict[str, Any]], cal: dict[str, Any], abstain: float) -> float:
    """The lowest span confidence whose shown short answers (on answers that hold a gold
    sentence) hold a gold answer with word F1 >= 0.5 at least SHORT_PRECISION of the time."""
    answered = [
        c
        for r in rows
        if r["positive"]
        for c, v in [pick(r, cal)]
        if c and c["gold"] and v >= abstain
    ]
    for t in [i / 100 for i in range(0, 100, 2)]:
        shown = [c for c in answered if c["short"] and c["short_confidence"] >= t]
        if shown and sum(r["short_ok"] for r in shown) / len(shown) >= SHORT_PRECISION:
            return t
    return 1.0


def run_fit(data_dir: Path, n: int) -> str:
    engs = Engines(data_dir)
    settings = Settings.from_env(os.environ)
    shipped = reader_module.load_reader(settings.cache_dir)
    raw = raw_reader(shipped)
    shift = language_shift(data_dir, engs, raw, n)
    rows = dump(question_sets(data_dir, "calib", n), engs, raw)
    (_out(settings) / "calib-rows.json").write_text(json.dumps(rows, ensure_ascii=False))
    # Every read sentence no rule ruled out: does it hold a gold answer (never, for a question
    # the articles do not answer)? The model both ranks a question's sentences and gives the
    # best one's support.
    fit_rows = [(r, c) for r in rows for c in r["cands"] if not c["gate"]]
    shifted = {"language_shift": shift}
    x = np.array([calibrated(c["features"], shifted) for _, c in fit_rows])
    y = np.array([float(r["positive"] and c["gold"]) for r, c in fit_rows])
    intercept, weights = fit_logistic(x, y)
    cal = {
        "intercept": round(intercept, 4),
        "weights": {f: round(float(w), 4) for f, w in zip(SUPPORT_FEATURES, weights, strict=True)},
        "language_shift": shift,
    }
    a, b = fit_logistic(x[:, :1], y)
    logit_only = {
        "intercept": a,
        "weights": {**dict.fromkeys(SUPPORT_FEATURES, 0.0), "logit": float(b[0])},
    }
    grid = [round(i / 20, 2) for i in range(1, 20)]
    table = sweep(rows, cal, grid)
    best = plateau(table)
    alone = max(sweep(rows, logit_only, grid), key=lambda r: r["balanced"])
    short = span_threshold(rows, cal, best["threshold"])
    ask = ask_floor(rows, cal)
    card = reader_module.load_card()
    fitted = {
        "calibration": cal,
        "abstain_below": best["threshold"],
        "span_confidence": short,
        "ask_above": ask,
    }
    if settings.sentence_vectors == "alone":
        card.update(fitted)
    else:  # the override `Reader.for_sentences` applies on such indexes
        card[settings.sentence_vectors] = fitted
    reader_module.CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    counts = {s: sum(r["set"] == s for r in rows) for s in dict.fromkeys(r["set"] for r in rows)}
    prefilter = [r for r in rows if r["positive"] and r["gold_hits"]]
    gated = [
        g
        for r in prefilter
        if not any(c["gold"] and not c["gate"] for c in r["cands"])
        for g in [next((c["gate"] for c in r["cands"] if c["gold"] and c["gate"]), None)]
        if g
    ]
    chosen_right = {
        name: sum(
            bool(c and c["gold"]) for r in rows if r["set"] == name for c in [pick(r, cal)[0]]
        )
        / counts[name]
        for name in counts
        if name in POSITIVE
    }
    lines = [
        "## Calibration (calib split)",
        "",
        f"Questions: {counts}. Support model (logistic over every read sentence's "
        f"{', '.join(SUPPORT_FEATURES)}; it ranks the sentences too): "
        f"intercept {cal['intercept']}, weights {cal['weights']}. A passage in another "
        f"language than the question has its prefilter and similarity raised by "
        f"{cal['language_shift']} (`language_shift`: the mean drop when train-split PIAF "
        "questions are asked in English). With the reader's logit "
        "alone the best balanced accuracy would be "
        f"{alone['balanced']:.3f} (at {alone['threshold']:.2f}).",
        f"The gold answer is in a read sentence, or one a rule ruled out, for "
        f"{sum(r['gold_read'] for r in prefilter) / max(1, len(prefilter)):.3f} of answerable "
        f"questions whose {K} hits hold it (the PREFILTER best-looking of all the hits' "
        "sentences, at most READ of them read: those near the best, READ_WITHIN); "
        f"the rules (`evidence._gate`) rule out every gold sentence of "
        f"{len(gated)} of those {len(prefilter)} ("
        + ", ".join(f"{g}: {gated.count(g)}" for g in ("type", "absent"))
        + "). The sentence chosen (before abstention) holds a gold answer for: "
        + ", ".join(f"{k} {v:.3f}" for k, v in chosen_right.items())
        + ".",
        "",
        report.table(
            ["support >=", "answerable answered right", "negatives abstained", "balanced"],
            [
                [
                    f"{r['threshold']:.2f}" + (" (chosen)" if r is best else ""),
                    f"{r['answered_right']:.3f}",
                    f"{r['abstained']:.3f}",
                    f"{r['balanced']:.3f}",
                ]
                for r in table
            ],
        ),
        "",
        f"Short answer shown from span confidence {short:.2f} (the lowest at which shown short "
        f"answers hold a gold answer at least {SHORT_PRECISION:.0%} of the time on the calib "
        "split).",
        "",
        f"LLM mode asks its model from support {ask:.2f} (`ask_above`: the highest that asks "
        f"{ASK_KEEP:.0%} of each answerable set's questions whose chosen sentence holds a gold "
        "answer); of the questions the articles do not answer, it asks: "
        + ", ".join(
            f"{name} {sum(pick(r, cal)[1] >= ask for r in rs) / len(rs):.2f}"
            for name in counts
            if name not in POSITIVE
            for rs in [[r for r in rows if r["set"] == name]]
        )
        + ".",
    ]
    return "\n".join(lines)


# -- check: the shipped answer() ---------------------------------------------------------------
def run_check(data_dir: Path, n: int, latency_questions: int) -> str:
    engs = Engines(data_dir)
    settings = Settings.from_env(os.environ)
    rd = reader_module.load_reader(settings.cache_dir).for_sentences(settings.sentence_vectors)
    rows = []
    for name, (index, items) in question_sets(data_dir, "test", n).items():
        judged = []
        times = []
        for item in items:
            started = time.perf_counter()
            ans = answer(item.question, engs[index].searcher, rd, k=K)
            times.append(time.perf_counter() - started)
            judged.append(judge(ans, item))
        positive = name in POSITIVE

        def share(key: str, rows: list[dict[str, Any]] = judged) -> str:
            return f"{sum(bool(j.get(key)) for j in rows) / max(1, len(rows)):.3f}"

        shown = [j for j in judged if j.get("short")]
        rows.append(
            [
                name,
                str(len(items)),
                share("sentence") if positive else "–",
                share("short_right") if positive else "–",
                f"{statistics.mean(j['short_f1'] for j in shown):.3f}"
                if positive and shown
                else "–",
                share("correct") if positive else "–",
                f"{1 - float(share('abstained')):.3f}" if positive else "–",
                share("abstained") if not positive else "–",
                f"{1000 * (percentile(times, 50) or 0):.0f}",
            ]
        )
        print(name, rows[-1], flush=True)
    table = report.table(
        [
            "set (test split)",
            "questions",
            "sentence right",
            "short answer right",
            "short answer F1 (shown)",
            "answer right, strict",
            "answered",
            "abstained",
            "p50 ms",
        ],
        rows,
    )
    return "\n".join(
        [
            "## Answers on the test split (`--check`)",
            "",
            "`answer()` as shipped (k = 5), on articles no reader training or calibration saw. "
            "Sentence right: a cited quote holds a gold answer. Short answer right: the short "
            "answer shown holds a gold answer (not shown counts as not right). Strict: the "
            "sentence is right and no wrong short answer is shown.",
            "",
            table,
            "",
            latency(data_dir, engs["orangesum"], rd, latency_questions),
        ]
    )


def latency(data_dir: Path, eng: Engine, rd: Reader, n: int) -> str:
    """answer() timed on OrangeSum headings (one-sentence summaries written by people: natural
    questions' length and vocabulary), warm models."""
    pool = [r["heading"].strip() for r in _orangesum(data_dir) if r["heading"].strip()]
    pool = random.Random(SEED).sample(pool, n)
    answer("Qui dirige Xiaomi ?", eng.searcher, rd)  # warm up: models, BM25, Chroma
    times, loads = [], []
    for question in pool:
        started = time.perf_counter()
        answer(question, eng.searcher, rd, k=K)
        times.append(time.perf_counter() - started)
        loads.append(os.getloadavg()[0])
    p50, p95 = (1000 * (percentile(times, q) or 0.0) for q in (50, 95))
    return (
        f"Latency of `answer()` (k = {K}) on the OrangeSum index ({eng.store.count()} chunks "
        f"from 1,000 articles), warm, {len(times)} OrangeSum headings as questions: p50 "
        f"{p50:.0f} ms, p95 {p95:.0f} ms; load average {statistics.mean(loads):.1f} on "
        f"{os.cpu_count()} cores."
    )


def _retime(doc: Path, name: str, line: str) -> None:
    """Replace the latency line of the section `name` of `doc` (the other sections are other
    modes' measurements)."""
    text = doc.read_text(encoding="utf-8")
    lo, hi = text.index(f"<!-- bench:{name} -->"), text.index(f"<!-- /bench:{name} -->")
    inside = re.sub(r"^Latency of `answer\(\)`.*$", lambda _: line, text[lo:hi], flags=re.M)
    doc.write_text(text[:lo] + inside + text[hi:], encoding="utf-8")


def _write(doc: Path, name: str, body: str) -> None:
    report.write_section(doc, body, name)


def _named(body: str, mode: str) -> str:
    """The section's heading names a mode other than the default: both sit in one file."""
    if mode == "alone":
        return body
    heading, rest = body.split("\n", 1)
    return (
        f"{heading}, {mode} sentence vectors\n\n_Fitted on indexes whose sentence vectors are "
        f"{mode} (`RAG_SENTENCE_VECTORS={mode} python -m bench.calibrate_reader`; reader.json's "
        f"`{mode}` key)._\n{rest}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=300, help="questions per SQuAD/PIAF set")
    parser.add_argument("--check", action="store_true", help="score answer() on the test split")
    parser.add_argument("--latency-questions", type=int, default=200)
    parser.add_argument("--build", action="store_true", help="only build the indexes")
    parser.add_argument(
        "--latency", action="store_true", help="only re-time answer() (an idle machine)"
    )
    args = parser.parse_args()
    settings = Settings.from_env(os.environ)
    _out(settings).mkdir(parents=True, exist_ok=True)
    if args.build:
        engs = Engines(args.data)
        for name in ("squad2", "piaf", "orangesum", "ntrex_en", "seed"):
            print(name, engs[name].store.count(), "chunks", flush=True)
        return
    mode = settings.sentence_vectors
    suffix = "" if mode == "alone" else f" ({mode} sentence vectors)"
    if args.latency:
        rd = reader_module.load_reader(settings.cache_dir).for_sentences(mode)
        line = latency(args.data, Engines(args.data)["orangesum"], rd, args.latency_questions)
        _retime(DOC, "check" + suffix, line)
        _retime(BENCH_DOC, "answers" + suffix, line)
        print(line)
        return
    if args.check:
        body = _named(run_check(args.data, args.n, args.latency_questions), mode)
        _write(DOC, "check" + suffix, body)
        _write(BENCH_DOC, "answers" + suffix, body)
    else:
        body = _named(run_fit(args.data, args.n), mode)
        _write(DOC, "fit" + suffix, body)
    print(body)


if __name__ == "__main__":
    main()
