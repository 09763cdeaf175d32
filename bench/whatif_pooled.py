"""What-if for pooled sentence vectors: can retrieval be tuned back to the 0.92 PIAF R@5 target?

    RAG_SENTENCE_VECTORS=pooled python -m bench.run --data ../shared/data --full   # the indexes
    python -m bench.whatif_pooled --data ../shared/data --corpus bench/out/full/corpora/piaf-…

Reads every chunk and pooled sentence vector of a whole-set index built by `bench.run --full`,
embeds the same sentences alone, and re-ranks every question of the tasks run against it with
the search's own candidate rules and fusion (`rag.retrieval`) but exact nearest neighbours.
Prints R@1 / R@5 per variant, on all questions and, for SQuAD-format sets, on the tune (train
and calib titles) and test titles of `bench.splits`. Results: docs/benchmarks.md ("Closing
pooled's PIAF gap").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.data import Query, load_tasks
from bench.pipelines import Ours
from bench.splits import of_squad_file
from rag import retrieval
from rag.bm25 import Match
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import DOCUMENT_PROMPTS, Embedder, load_embedder
from rag.evaluate import article_rank
from rag.retrieval import CANDIDATES, SENTENCE_CANDIDATES

SQUAD_FILES = {"piaf": "piaf/piaf-v1.0.json", "squad2": "squad2/squad2-dev-half.json"}


def read_all(col: Any, documents: bool = False) -> tuple[list[str], np.ndarray, list, list]:
    """Every record of a collection: ids, vectors, metadatas (and documents)."""
    ids: list[str] = []
    vectors: list[np.ndarray] = []
    metas: list[Any] = []
    docs: list[str] = []
    include = ["embeddings", "metadatas"] + (["documents"] if documents else [])
    while True:
        got = col.get(include=include, limit=2000, offset=len(ids))
        if not got["ids"]:
            break
        ids += got["ids"]
        vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
        metas += got["metadatas"]
        docs += got["documents"] or []
    return ids, np.vstack(vectors), metas, docs


def token_sums(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Each text read alone as a passage: the sum of its output token vectors (their mean is
    its vector; their sum over a chunk's sentences, one pass over each token, is the chunk's)."""
    prompt = embedder._prompt(DOCUMENT_PROMPTS)
    sums = np.zeros((len(texts), embedder.dim), np.float32)
    for batch in embedder._batches(texts, 16):
        features = embedder.model.preprocess([texts[i] for i in batch], prompt=prompt)
        mask = features["attention_mask"].numpy()
        sums[batch] = (embedder._forward(features)["token_embeddings"] * mask[..., None]).sum(1)
    return sums


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@dataclass
class Questions:
    """One task's questions with what ranking them needs: vectors, BM25 matches, groups."""

    queries: list[Query]
    vectors: np.ndarray
    lexical: list[list[tuple[str, Match]]]
    groups: dict[str, list[bool]]


@dataclass
class Index:
    chunk_ids: list[str]
    owner: np.ndarray  # sentence -> its chunk's row
    article: dict[str, str]  # chunk id -> article id

    def ranks(
        self, qs: Questions, c: np.ndarray, s: np.ndarray, weight: float = 0.5, **fusion: float
    ) -> list[int | None]:
        """Article ranks of every question: the search's dense candidates and score (the
        passage's cosine and its best sentence's, mixed by `weight`), fused with BM25."""
        out = []
        cc, ss = c @ qs.vectors.T, s @ qs.vectors.T
        for k, q in enumerate(qs.queries):
            best: dict[int, float] = {}
            for si in np.argsort(-ss[:, k])[:SENTENCE_CANDIDATES]:
                best[self.owner[si]] = max(best.get(self.owner[si], -1.0), ss[si, k])
            scored = []
            for ci in set(np.argsort(-cc[:, k])[:CANDIDATES].tolist()) | set(best):
                if ci not in best:
                    mine = ss[self.owner == ci, k]
                    best[ci] = mine.max() if mine.size else cc[ci, k]
                scored.append((self.chunk_ids[ci], (1 - weight) * cc[ci, k] + weight * best[ci]))
            scored.sort(key=lambda kv: (-kv[1], kv[0]))
            fused = retrieval.fuse(scored[:CANDIDATES], qs.lexical[k], self.article, **fusion)
            ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
            found = list(dict.fromkeys(self.article[cid] for cid in ranked))
            out.append(article_rank(found, {q.article}.__contains__))
        return out


def show(name: str, qs: Questions, got: list[int | None]) -> None:
    cells = []
    for group, keep in qs.groups.items():
        mine = [r for r, kept in zip(got, keep, strict=True) if kept]
        at1 = sum(r is not None and r <= 1 for r in mine) / len(mine)
        at5 = sum(r is not None and r <= 5 for r in mine) / len(mine)
        cells.append(f"{group} ({len(mine)}) {at1:.3f} / {at5:.3f}")
    print(f"  {name:58s} " + "   ".join(cells), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True, help="a bench.run corpus dir")
    args = p.parse_args()
    embedder = load_embedder(DEFAULT_MODEL, Settings().cache_dir)
    _, tasks, _ = load_tasks(args.data, paragraphs=None, orangesum_n=2000, max_queries=None)
    engine = Ours(args.corpus, embedder).open()
    chunk_ids, chunks, chunk_metas, chunk_texts = read_all(engine.store.vectors.chunks, True)
    _, pooled, sentence_metas, _ = read_all(engine.store.vectors.sentences)
    row = {c: i for i, c in enumerate(chunk_ids)}
    owner = np.array([row[m["chunk"]] for m in sentence_metas])
    bare = [chunk_texts[row[m["chunk"]]][m["start"] : m["end"]] for m in sentence_metas]
    sums = token_sums(embedder, bare)
    alone = unit(sums.copy())
    # The chunk vector derived from its sentences (and its title) read alone: every token once.
    titles = sorted({m["title"] for m in chunk_metas})
    title_sums = token_sums(embedder, titles)
    at = {t: i for i, t in enumerate(titles)}
    derived = np.zeros_like(chunks)
    np.add.at(derived, owner, sums)
    for i, (meta, text) in enumerate(zip(chunk_metas, chunk_texts, strict=True)):
        if not text.startswith(meta["title"]):  # `embedding_text` puts the title first
            derived[i] += title_sums[at[meta["title"]]]
    derived = unit(derived)
    print(f"{len(chunks)} chunks, {len(pooled)} sentences; mean cosine of a pooled sentence "
          f"with its chunk {float((pooled * chunks[owner]).sum(1).mean()):.3f}")  # fmt: skip

    table, bm25 = engine.searcher._lexical()
    index = Index(chunk_ids, owner, dict(zip(table.ids, table.columns["article_id"], strict=True)))
    corpus = args.corpus.name.rsplit("-", 1)[0]  # bench.run names it <corpus>-<hash>
    for task in (t for t in tasks if t.corpus == corpus):
        groups = {"all": [True] * len(task.queries)}
        prefix = task.name.split(" ")[0]
        if prefix in SQUAD_FILES:
            split = of_squad_file(args.data / SQUAD_FILES[prefix])
            test = [split.get(q.title or "") == "test" for q in task.queries]
            groups |= {"tune": [not t for t in test], "test": test}
        qs = Questions(
            task.queries,
            embedder.embed_queries([q.text for q in task.queries]),
            [[(table.ids[m.doc], m) for m in bm25.top(q.text, CANDIDATES)] for q in task.queries],
            groups,
        )
        print(f"{task.name}: R@1 / R@5")
        show("pooled", qs, index.ranks(qs, chunks, pooled))
        show("alone", qs, index.ranks(qs, chunks, alone))
        show("derived chunk + alone", qs, index.ranks(qs, derived, alone))
        for share in (0.5, 0.7, 0.9):
            minus = unit(pooled - share * chunks[owner])
            show(f"pooled minus {share} of its chunk", qs, index.ranks(qs, chunks, minus))
        for weight in (0.3, 0.7, 1.0):
            show(f"pooled, sentence weight {weight}", qs, index.ranks(qs, chunks, pooled, weight))
        for dense in (0.35, 0.45, 0.55, 0.65):
            for power in (0.5, 1.0):
                for weight in (0.5, 0.7):
                    for name, s in (("pooled", pooled), ("alone", alone)):
                        got = index.ranks(
                            qs, chunks, s, weight, dense_weight=dense, coverage_power=power
                        )
                        show(
                            f"{name}, dense {dense}, coverage power {power}, sentence {weight}",
                            qs,
                            got,
                        )


if __name__ == "__main__":
    main()
