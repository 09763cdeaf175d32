"""What-if: embed each chunk with its article's title in front ("title\\ntext"), on the
corpora the last `bench.run` cached, and compare retrieval with the vectors the index holds.

    python -m bench.whatif_titles --data ../shared/data   # same sample flags as that run

Only the title/headline tasks (NTREX both ways, OrangeSum headings): their queries are titles
or summaries, which a chunk from the middle of an article does not mention. Dense search is
exact (numpy over all chunk vectors) for both variants; the hybrid rows fuse it with the
Searcher's own BM25 as `bench.analysis` does. Re-embeds every chunk of those corpora (about
2,300 chunks at the default sizes: minutes). It changes nothing in the index; it prints a
markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.analysis import SHIPPED, VARIANTS, _fuse
from bench.data import load_tasks
from bench.pipelines import Ours
from bench.run import DEFAULTS, _corpus_dir
from rag.articles import detect_language, guess_language
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import load_embedder
from rag.evaluate import article_rank, retrieval_metrics

TASKS = ("ntrex en title -> fr doc", "ntrex fr title -> en doc", "orangesum heading -> article")
FUSIONS = ("w=0 (dense)", SHIPPED)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.whatif_titles")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "run")
    p.add_argument("--orangesum", type=int, default=DEFAULTS["orangesum"])
    p.add_argument("--queries", type=int, default=DEFAULTS["queries"])
    args = p.parse_args(argv)
    embedder = load_embedder(DEFAULT_MODEL, Settings().cache_dir)
    corpora, tasks, _ = load_tasks(
        args.data, paragraphs=DEFAULTS["paragraphs"], orangesum_n=args.orangesum,
        max_queries=args.queries or None,
    )  # fmt: skip
    print("| task | chunk vectors | " + " | ".join(FUSIONS) + " |")
    print("|---|---|" + "---|" * len(FUSIONS))
    for name in ("ntrex-en", "news-fr"):
        root = _corpus_dir(args.out, corpora[name])
        if not (root / "index").exists():
            print(f"No cached index for {name} in {root}: run `python -m bench.run` first.")
            return 2
        engine = Ours(root, embedder).open()
        chunks = engine.store.all_chunks()
        stored = engine.store.vectors([c.id for c in chunks])
        plain = np.stack([stored[c.id] for c in chunks])
        titled = embedder.embed_documents(
            [c.text if c.text.startswith(c.title) else f"{c.title}\n{c.text}" for c in chunks]
        )
        lexical_chunks, bm25 = engine.searcher._lexical()
        for task in (t for t in tasks if t.corpus == name and t.name in TASKS):
            qvecs = embedder.embed_queries([q.text for q in task.queries])
            for label, matrix in (("as indexed", plain), ("title + text", titled)):
                cells = []
                for fusion in FUSIONS:
                    guess, weight = VARIANTS[fusion]
                    ranks = []
                    for q, qvec in zip(task.queries, qvecs, strict=True):
                        order = np.argsort(-(matrix @ qvec))[:40]
                        dense = [
                            (chunks[i].id, chunks[i].article_id, chunks[i].lang) for i in order
                        ]
                        lexical = [
                            (
                                lexical_chunks[i].id,
                                lexical_chunks[i].article_id,
                                lexical_chunks[i].lang,
                            )
                            for i, _ in bm25.top(q.text, 40)
                        ]
                        lang = (
                            detect_language(q.text) if guess == "detect" else guess_language(q.text)
                        )
                        fused = _fuse(dense, lexical, lang, weight)
                        ranks.append(article_rank(fused, {q.article}.__contains__))
                    m = retrieval_metrics(ranks)
                    cells.append(f"{m['recall@1']:.3f} / {m['recall@5']:.3f}")
                print(
                    f"| {task.name} ({len(task.queries)}) | {label} | " + " | ".join(cells) + " |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
