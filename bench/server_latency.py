"""Query latency with a local index dir vs a Chroma server (`chroma run` on loopback).

    python -m bench.server_latency [--queries 50]

Indexes seeds/ and tests/data/articles once per backend, then times `Searcher.search_vector`
(the store round trip and fusion, given the query vector) and a full `answer()` per question.
Prints a markdown table; the numbers are pasted into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import load_embedder
from rag.engine import Engine
from rag.retrieval import Searcher
from rag.store import open_store

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "When do SU7 Ultra deliveries start?",
    "Où Xiaomi veut-elle s'étendre ?",
    "How many Eurostar trains were cancelled?",
    "Quelle température à Carpentras ?",
    "How much will the Pont Lafayette renovation cost?",
]


def _ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"{statistics.median(samples) * 1000:.1f} / {q[18] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rag-latency-"))
    articles = tmp / "articles"
    shutil.copytree(ROOT / "seeds", articles)
    shutil.copytree(ROOT / "tests" / "data" / "articles", articles, dirs_exist_ok=True)
    port = 8765
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("chroma")),
            "run",
            "--path",
            str(tmp / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat").close()
                break
            except OSError:
                time.sleep(0.2)
        embedder = load_embedder(DEFAULT_MODEL, Settings().cache_dir)
        rows = []
        for name, settings in (
            ("local dir", Settings(articles_dir=articles, index_dir=tmp / "ix")),
            (
                "Chroma server",
                Settings(articles_dir=articles, chroma_url=f"http://127.0.0.1:{port}"),
            ),
        ):
            store = open_store(settings)
            engine = Engine(settings, store, embedder, Searcher(store, embedder))
            engine.sync()
            vectors = embedder.embed_queries(QUESTIONS)
            engine.ask(QUESTIONS[0])  # warm caches (BM25, sentence vectors)
            search, ask = [], []
            for i in range(args.queries):
                q, v = QUESTIONS[i % len(QUESTIONS)], vectors[i % len(QUESTIONS)]
                t = time.perf_counter()
                engine.searcher.search_vector(q, v, 5)
                search.append(time.perf_counter() - t)
                t = time.perf_counter()
                engine.ask(q)
                ask.append(time.perf_counter() - t)
            rows.append(f"| {name} | {engine.store.count()} | {_ms(search)} | {_ms(ask)} |")
        print("| store | chunks | search p50 / p95 ms | ask p50 / p95 ms |")
        print("|---|---|---|---|")
        print("\n".join(rows))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
