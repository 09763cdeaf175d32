"""A whole news archive: every OrangeSum article (36,152) indexed by `rag index`, then timed.

    python -m bench.archive --data ../shared/data [--n 36152] [--sentence-vectors pooled]
    python -m bench.archive --serve-only   # step 4 again, on the index built already

About 85 minutes on 2 cores with pooled sentence vectors (about 7 articles/s), twice that with
sentences embedded alone.

1. Writes each article once as a Markdown file, its title and date in the front matter.
2. Runs `rag index --json` in a child process, as a user would: wall time, chunks/s, its RSS
   sampled every 2 s (peak, and at each quarter of the run: memory must not grow with the
   corpus beyond Chroma's own index), the index's size on disk.
3. Adds one article and runs `rag index` again (the +1 sync at that size), then removes it.
4. In this process, on the built index: BM25's build (what a sync costs the next question:
   it is rebuilt when the index generation moves), its time and the memory it adds, and its
   load by the next process from the file the build saved (`rag.lexical`); search
   and answer latency (warm, p50/p95) and quality on the hand-written English questions about
   OrangeSum articles (bench/questions/en-on-orangesum.jsonl) asked of the whole archive.
Writes its section of docs/benchmarks.md. The page at this size: `python -m bench.page_latency
--articles OUT/articles --index OUT/index`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench import report
from rag import lexical
from rag.config import SENTENCE_VECTORS, Settings
from rag.engine import open_engine
from rag.evaluate import evaluate, load_qa, percentile
from rag.retrieval import Searcher

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "bench" / "questions" / "en-on-orangesum.jsonl"
PLUS_ONE = "zz-plus-one.md"
RSS_EVERY = 2.0  # seconds between samples of the child's memory


def write_articles(data: Path, out: Path, n: int) -> int:
    """The first `n` OrangeSum articles as `<id>.md` under `out` (existing files are kept)."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with gzip.open(data / "orangesum" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as f:
        for line, _ in zip(f, range(n), strict=False):
            article = json.loads(line)
            path = out / f"{article['id']}.md"
            if not path.exists():
                # A JSON string is a valid YAML double-quoted scalar; \u escapes keep control
                # characters (one title holds U+009C) out of the YAML.
                front = f"title: {json.dumps(article['title'])}\n"
                path.write_text(
                    f"---\n{front}date: {article['date']}\n---\n{article['article']}\n",
                    encoding="utf-8",
                )
            written += 1
    return written


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return kb / 1024


def rag_index(articles: Path, index: Path, sentence_vectors: str) -> dict[str, Any]:
    """`rag index --json` in a child process: its report, wall seconds and RSS samples."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag",
            "index",
            "--json",
            "--articles",
            str(articles),
            "--index",
            str(index),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "RAG_SENTENCE_VECTORS": sentence_vectors},
    )
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while child.poll() is None:
            if (mb := _rss_mb(child.pid)) is not None:
                samples.append((time.perf_counter() - started, mb))
            time.sleep(RSS_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"rag index failed with code {child.returncode}")
    return {
        "report": json.loads(out.strip().splitlines()[-1]),
        "wall": time.perf_counter() - started,
        "rss": samples,
    }


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _quarters(samples: list[tuple[float, float]]) -> str:
    """The highest RSS seen in each quarter of the run, in MB."""
    end = samples[-1][0] if samples else 0.0
    parts = []
    for q in range(1, 5):
        seen = [mb for t, mb in samples if (q - 1) * end / 4 <= t <= q * end / 4]
        parts.append(f"{max(seen):,.0f}" if seen else "-")
    return " / ".join(parts)


def serving(settings: Settings) -> list[list[str]]:
    """BM25 build, search and answer latency and quality on the built index, in this process."""
    for saved in settings.index_dir.glob(f"{lexical.PREFIX}*"):
        saved.unlink()  # the build after a sync, not a load
    engine = open_engine(settings, must_exist=True)
    before = _rss_mb(os.getpid()) or 0.0
    started = time.perf_counter()
    chunks, _ = engine.searcher._lexical()
    bm25_s = time.perf_counter() - started
    bm25_mb = (_rss_mb(os.getpid()) or 0.0) - before
    started = time.perf_counter()  # what the next process (a `rag ask`, the page) pays
    Searcher(engine.store, engine.embedder, settings.index_dir)._lexical()
    load_s = time.perf_counter() - started
    file_mb = sum(p.stat().st_size for p in settings.index_dir.glob(f"{lexical.PREFIX}*")) / 1e6
    items = [  # asked of .md copies of the articles they were written for
        replace(item, article=f"{Path(item.article).stem}.md") if item.article else item
        for item in load_qa(QUESTIONS)
    ]
    engine.ask(items[0].question)  # warm: the reader's first call
    searches = []
    for item in items:
        started = time.perf_counter()
        engine.search(item.question)
        searches.append(time.perf_counter() - started)
    result = evaluate(engine, items)
    asks = [r.seconds for r in result.items]
    m = result.metrics
    return [
        ["BM25 build over every chunk (after a sync)", f"{bm25_s:.1f} s, +{bm25_mb:,.0f} MB RSS"],
        ["BM25 loaded by the next process", f"{load_s:.1f} s, {file_mb:,.0f} MB file"],
        ["chunks in BM25", f"{len(chunks):,}"],
        ["search, p50 / p95", f"{_ms(searches, 50)} / {_ms(searches, 95)}"],
        ["answer (`Engine.ask`), p50 / p95", f"{_ms(asks, 50)} / {_ms(asks, 95)}"],
        [
            f"{len(items)} English questions on French articles: R@5, sentence right",
            f"{_f(m.get('recall@5'))}, {_f(m.get('sentence_accuracy'))}",
        ],
    ]


def _ms(values: list[float], q: float) -> str:
    return f"{(percentile(values, q) or 0.0) * 1000:.0f} ms"


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=36_152, help="OrangeSum articles (all: 36,152)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "archive")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--sentence-vectors",
        choices=SENTENCE_VECTORS,
        default="pooled",
        help="RAG_SENTENCE_VECTORS for the build (pooled: one encoder pass, what an archive "
        "this size would use)",
    )
    parser.add_argument(
        "--serve-only",
        action="store_true",
        help="only step 4 on the index built already (after a change to search or answers): "
        "prints its rows, leaves the doc alone",
    )
    args = parser.parse_args(argv)
    articles, index = args.out / "articles", args.out / "index"
    settings = Settings.from_env(
        articles_dir=articles, index_dir=index, sentence_vectors=args.sentence_vectors
    )
    if args.serve_only:
        print(report.table(["", "measured"], serving(settings)))
        return
    (articles / PLUS_ONE).unlink(missing_ok=True)
    n = write_articles(args.data, articles, args.n)
    build = rag_index(articles, index, args.sentence_vectors)
    first = next(articles.glob("*.md")).read_text(encoding="utf-8")
    (articles / PLUS_ONE).write_text(first + "Mise à jour : une nouvelle version.\n", "utf-8")
    plus = rag_index(articles, index, args.sentence_vectors)
    (articles / PLUS_ONE).unlink()
    minus = rag_index(articles, index, args.sentence_vectors)
    rows = _build_rows(n, build, plus, minus, index)
    rows += serving(settings)
    body = (
        f"## A whole archive: {n:,} OrangeSum articles "
        f"(RAG_SENTENCE_VECTORS={args.sentence_vectors})\n\n"
        "`python -m bench.archive` (the build as `rag index` in a child process, "
        f"{os.cpu_count()} cores; the model's load is in the wall time, not in the sync's)\n\n"
        + report.table(["", "measured"], rows)
    )
    report.write_section(args.doc, body, "archive")
    print(body)


def _build_rows(
    n: int, build: dict[str, Any], plus: dict[str, Any], minus: dict[str, Any], index: Path
) -> list[list[str]]:
    done = build["report"]
    peak = max((mb for _, mb in build["rss"]), default=0.0)
    chunks_s = done["embedded"] / done["seconds"] if done["seconds"] else 0.0
    return [
        ["articles / chunks", f"{n:,} / {done['chunks']:,}"],
        [
            "build: sync time (wall, with the model's load)",
            f"{done['seconds'] / 60:.1f} min ({build['wall'] / 60:.1f} min)",
        ],
        ["build: chunks/s (each with its sentences' vectors)", f"{chunks_s:.1f}"],
        [
            "build: peak RSS; highest in each quarter of the run",
            f"{peak:,.0f} MB; {_quarters(build['rss'])} MB",
        ],
        ["index on disk", f"{_disk_mb(index):,.0f} MB"],
        ["+1 article: sync (wall)", f"{plus['report']['seconds']:.1f} s ({plus['wall']:.1f} s)"],
        ["-1 article: sync (wall)", f"{minus['report']['seconds']:.1f} s ({minus['wall']:.1f} s)"],
    ]


if __name__ == "__main__":
    main()
