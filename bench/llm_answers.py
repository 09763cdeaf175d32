"""LLM mode with the local chat model (RAG_LLM=local), scored on the reader's test split.

The same held-out question sets as the extractive answers (`bench.calibrate_reader --check`:
English and French questions, on French and English articles, and questions the articles do
not answer), asked through `Engine.ask` with the in-process model; then the time to the first
token and to the whole answer on the 1,000-article OrangeSum index. Writes the "LLM mode"
section of docs/benchmarks.md.

    python -m bench.llm_answers --data ../shared/data [--n 30] [--latency-questions 40]

Needs the `local` extra. An answer is right when it is verified, a citation quotes a gold
answer, and the reply itself states it: the gold's numbers when it has any, else its words
when question and article share a language (across languages only the citation is checked:
an English rendering of a French name or phrase cannot be string-matched).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import report
from bench.calibrate_reader import POSITIVE, SEED, Engines, K, _orangesum, question_sets
from rag.answer import Answer
from rag.engine import Engine
from rag.evaluate import QAItem, holds, judge, percentile
from rag.text import numbers, question_language

DOC = Path("docs/benchmarks.md")
#: The sets asked, in the order of the table; the SQuAD and PIAF ones are sampled to `--n`.
SETS = (
    "seed_ans",
    "seed_unans",
    "xling_ans",
    "xling_fr_ans",
    "squad_ans",
    "piaf_ans",
    "absent",
    "xling_unans",
    "squad_unans",
)
CAUGHT = "appears in no cited passage"


def _local(engine: Engine) -> Engine:
    return replace(engine, settings=replace(engine.settings, llm="local"))


def timed(engine: Engine, question: str) -> tuple[Answer, float | None, float]:
    """The answer, the seconds to its first token (None if the model was not asked or said
    nothing) and to the whole answer."""
    first: list[float] = []
    started = time.perf_counter()

    def on_token(_: str) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    ans = engine.ask(question, k=K, on_token=on_token)
    return ans, (first[0] if first else None), time.perf_counter() - started


def right(ans: Answer, item: QAItem) -> bool:
    if ans.abstained or not ans.verified or not judge(ans, item).get("sentence"):
        return False
    said = numbers(ans.text)
    for gold in item.answers:
        if wanted := numbers(gold):
            if wanted & said:
                return True
        elif question_language(ans.text) != question_language(ans.citations[0].quote):
            return True  # across languages: the cited sentence holds it, the words cannot match
        elif holds(ans.text, gold):
            return True
    return False


def score(name: str, engine: Engine, items: list[QAItem], log: Callable[[str], None]) -> dict:
    rows = []
    for item in items:
        ans, first, total = timed(engine, item.question)
        rows.append(
            {
                "abstained": ans.abstained,
                "right": right(ans, item) if name in POSITIVE else None,
                "verified": ans.verified,
                "caught": sum(CAUGHT in p for p in ans.problems),
                "first": first,
                "total": total,
            }
        )
        log(f"{name}: {item.question} -> {ans.text[:160]!r} {rows[-1]}")
    return {"name": name, "rows": rows}


def _share(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r[key]) for r in rows) / max(1, len(rows)):.3f}"


def _ms(values: list[float], q: int) -> str:
    return f"{1000 * (percentile(values, q) or 0):.0f}" if values else "–"


def table(results: list[dict[str, Any]]) -> str:
    out = []
    for res in results:
        rows, positive = res["rows"], res["name"] in POSITIVE
        answered = [r for r in rows if not r["abstained"]]
        firsts = [r["first"] for r in rows if r["first"] is not None]
        out.append(
            [
                res["name"],
                str(len(rows)),
                _share(rows, "right") if positive else "–",
                f"{1 - float(_share(rows, 'abstained')):.3f}" if positive else "–",
                _share(rows, "abstained") if not positive else "–",
                f"{1 - float(_share(answered, 'verified')):.3f}" if answered else "–",
                str(sum(r["caught"] for r in rows)),
                _ms(firsts, 50),
                _ms([r["total"] for r in rows], 50),
            ]
        )
    return report.table(
        [
            "set (test split)",
            "questions",
            "answer right",
            "answered",
            "abstained",
            "answers failing verification",
            "invented numbers caught",
            "first token p50 ms",
            "whole answer p50 ms",
        ],
        out,
    )


def latency(data_dir: Path, engine: Engine, n: int) -> str:
    """Time to first token and to the whole answer on OrangeSum headings (questions people
    wrote about these articles' subjects) over the 1,000-article index, warm."""
    pool = [r["heading"].strip() for r in _orangesum(data_dir) if r["heading"].strip()]
    pool = random.Random(SEED).sample(pool, n)
    timed(engine, "Qui dirige Xiaomi ?")  # warm: the models, BM25, the prompt's fixed prefix
    runs = [timed(engine, question)[1:] for question in pool]
    firsts = [f for f, _ in runs if f is not None]
    asked = [t for f, t in runs if f is not None]
    totals = [t for _, t in runs]
    return (
        f"Time on the OrangeSum index ({engine.store.count()} chunks from 1,000 articles), "
        f"warm, {n} OrangeSum headings as questions, {len(asked)} of which reached the model "
        f"(the reader ruled the others out): first token p50 {_ms(firsts, 50)} ms, p95 "
        f"{_ms(firsts, 95)} ms; whole answer, when the model wrote one, p50 {_ms(asked, 50)} "
        f"ms, p95 {_ms(asked, 95)} ms; every question, p50 {_ms(totals, 50)} ms, p95 "
        f"{_ms(totals, 95)} ms."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=30, help="questions per SQuAD/PIAF set")
    parser.add_argument("--latency-questions", type=int, default=40)
    parser.add_argument("--log", type=Path, default=Path("bench/out/llm-answers.log"))
    args = parser.parse_args()
    engs = Engines(args.data)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("w", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            print(line, file=log_file, flush=True)

        sets = question_sets(args.data, "test", args.n)
        results = []
        for name in SETS:
            index, items = sets[name]
            results.append(score(name, _local(engs[index]), items, log))
            print(name, table(results[-1:]).splitlines()[-1], flush=True)
        timing = latency(args.data, _local(engs["orangesum"]), args.latency_questions)
    body = "\n".join(
        [
            "## LLM mode: the local chat model (`bench.llm_answers`)",
            "",
            "`RAG_LLM=local` (Qwen2.5-Coder-1.5B-Instruct Q4_K_M in llama.cpp, in process, 2 "
            "cores), k = 5, on the reader's test split (the same sets as the extractive "
            "answers above). Answer right: verified, a citation quotes a gold answer, and the "
            "reply states it (its numbers; its words when question and article share a "
            "language). Failing verification: answers shown flagged (an invented number or "
            "date, a passage that was not given). Invented numbers caught: numbers and dates "
            "in replies that no cited passage holds.",
            "",
            table(results),
            "",
            timing,
        ]
    )
    report.write_section(DOC, body, "LLM mode")
    print(body)


if __name__ == "__main__":
    main()
