"""The systems under test, built over the same article files with the same embedding model.

- ours: `rag.indexer.sync` into a Chroma dir, searched with `Searcher.search_vector` (what
  `Searcher.search` and `rag search` run); "dense" and "BM25" are its two rankings alone,
  over the same chunks (Chroma's nearest chunks; the Searcher's own BM25).
- tutorial: the LangChain RAG tutorial: read the files, `RecursiveCharacterTextSplitter`
  1000/200, `HuggingFaceEmbeddings` (or, when `langchain-huggingface` is not installed, an
  `Embeddings` doing exactly what its 1.x release does: newlines to spaces, then
  `SentenceTransformer.encode`), `Chroma.from_documents`, similarity search (k=4 in the
  tutorial). It gets the e5 `passage: `/`query: ` prompts, so it loses no quality to a
  forgotten prefix: the comparison is of pipelines, not of a configuration slip.
Timings exclude loading the model (both are loaded before). This module prints nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.bm25 import Match
from rag.config import Settings
from rag.embeddings import Embedder
from rag.engine import Engine, open_engine
from rag.indexer import SyncReport

DEPTH = 40  # candidates per ranking, as the Searcher takes
TUTORIAL_K = 4


def write_docs(root: Path, docs: dict[str, str]) -> None:
    """Make `root` hold exactly `docs` (unchanged files are left alone: sync skips them)."""
    root.mkdir(parents=True, exist_ok=True)
    for old in [p for p in root.rglob("*.txt") if p.relative_to(root).as_posix() not in docs]:
        old.unlink()
    for name, text in docs.items():
        path = root / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def encode_timer(model: Any) -> contextlib.AbstractContextManager[list[float]]:
    """Seconds spent inside `model.encode` (a SentenceTransformer) while the block runs."""
    return _timer(model, "encode")


@contextlib.contextmanager
def _timer(obj: Any, method: str) -> Iterator[list[float]]:
    """Seconds spent inside `obj.<method>` while the block runs (an instance-level wrapper)."""
    spent = [0.0]
    original = getattr(obj, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(obj, method, timed)
    try:
        yield spent
    finally:
        delattr(obj, method)


class Ours:
    def __init__(self, root: Path, embedder: Embedder) -> None:
        self.root = root
        # RAG_* variables apply (RAG_SENTENCE_VECTORS=pooled times the one-pass build).
        self.settings = Settings.from_env(articles_dir=root / "articles", index_dir=root / "index")
        self.embedder = embedder
        self.engine: Engine | None = None

    def open(self) -> Engine:
        if self.engine is None:
            self.engine = open_engine(self.settings, embedder=self.embedder)
        return self.engine

    def sync(self) -> tuple[SyncReport, float, float]:
        """Sync (opening the index is timed too); returns the report, wall and encode seconds
        (in `Embedder.embed_passages`: tokenising, the model and pooling sentences).
        `self.write_seconds`: time spent writing articles into Chroma (`Store.put_articles`)."""
        with _timer(self.embedder, "embed_passages") as encode:
            started = time.perf_counter()
            engine = self.open()
            with _timer(engine.store, "put_articles") as writes:
                report = engine.sync()
            seconds = time.perf_counter() - started
        self.write_seconds = writes[0]
        return report, seconds, encode[0]

    def rankings(self, query: str, qvec: np.ndarray) -> dict[str, tuple[list[str], float]]:
        """Article ids, best first, and seconds (without embedding the query) per system."""
        engine = self.open()
        searcher = engine.searcher
        out = {}
        started = time.perf_counter()
        hits = searcher.search_vector(query, qvec, 30)
        out["ours"] = ([h.article_id for h in hits], time.perf_counter() - started)
        started = time.perf_counter()
        passages = engine.store.vectors.query(qvec, DEPTH)
        out["dense"] = ([c.article_id for c, _ in passages], time.perf_counter() - started)
        started = time.perf_counter()
        chunks, bm25 = searcher._lexical()  # the Searcher's own BM25, same chunks
        lexical = bm25.top(query, DEPTH)
        articles = [chunks.at(m.doc).article_id for m in lexical]
        out["bm25"] = (articles, time.perf_counter() - started)
        # For the fusion what-if: the chunk-level candidates with their scores.
        dense, _, _ = searcher.dense(qvec, chunks)
        ranked = [(c.id, sim) for c, sim in passages]
        matches = [(chunks.ids[m.doc], m) for m in lexical]
        self.last = FusionInput(
            dense=dense,
            passages=ranked,
            lexical=matches,
            articles={cid: chunks.get(cid).article_id for cid, _ in dense + ranked + matches},
        )
        return out


@dataclass(frozen=True)
class FusionInput:
    """One query's candidates, as `rag.retrieval.fuse` takes them, for the fusion what-if.
    `passages`: the dense candidates by passage vectors alone (no sentence vectors)."""

    dense: list[tuple[str, float]]
    passages: list[tuple[str, float]]
    lexical: list[tuple[str, Match]]
    articles: dict[str, str]


class SentenceTransformerEmbeddings(Embeddings):
    """What `langchain_huggingface.HuggingFaceEmbeddings` 1.x does, for when it is missing."""

    def __init__(
        self,
        model_name: str,
        model_kwargs: dict[str, Any],
        encode_kwargs: dict[str, Any],
        query_encode_kwargs: dict[str, Any],
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self._client = SentenceTransformer(model_name, **model_kwargs)
        self.encode_kwargs, self.query_encode_kwargs = encode_kwargs, query_encode_kwargs

    def _embed(self, texts: list[str], kwargs: dict[str, Any]) -> list[list[float]]:
        texts = [t.replace("\n", " ") for t in texts]
        return self._client.encode(texts, show_progress_bar=False, **kwargs).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts, self.encode_kwargs)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], self.query_encode_kwargs or self.encode_kwargs)[0]


def tutorial_embeddings(model_path: str) -> tuple[Embeddings, str]:
    kwargs: dict[str, Any] = {
        "model_kwargs": {"device": "cpu"},
        "encode_kwargs": {"prompt_name": "passage"},
        "query_encode_kwargs": {"prompt_name": "query"},
    }
    try:
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError:
        return (
            SentenceTransformerEmbeddings(model_path, **kwargs),
            "an `Embeddings` doing what `HuggingFaceEmbeddings` (langchain-huggingface 1.2.3) "
            "does, as that package is not installed (not a project dependency; it pins "
            "huggingface-hub<2); checked once to give identical vectors",
        )
    return HuggingFaceEmbeddings(model_name=model_path, **kwargs), "HuggingFaceEmbeddings"


class Tutorial:
    def __init__(self, root: Path, embeddings: Embeddings) -> None:
        self.root = root
        self.embeddings = embeddings
        self.model = embeddings._client  # type: ignore[attr-defined]
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True
        )
        self.store: Chroma | None = None
        self.chunks = 0

    def _documents(self, names: list[str]) -> list[Document]:
        docs = [
            Document(
                page_content=(self.root / "articles" / n).read_text(encoding="utf-8"),
                metadata={"source": n},
            )
            for n in names
        ]
        return self.splitter.split_documents(docs)

    def build(self, names: list[str]) -> tuple[float, float, int]:
        """`Chroma.from_documents` over the files: wall and encode seconds, chunks."""
        if (self.root / "chroma").exists():  # a build interrupted before its marker
            shutil.rmtree(self.root / "chroma")
        with encode_timer(self.model) as encode:
            started = time.perf_counter()
            splits = self._documents(sorted(names))
            self.store = Chroma.from_documents(
                splits,
                self.embeddings,
                collection_name="tutorial",
                persist_directory=str(self.root / "chroma"),
            )
            seconds = time.perf_counter() - started
        self.chunks = len(splits)
        self._mark(names)
        return seconds, encode[0], len(splits)

    def add(self, names: list[str]) -> float:
        """`add_documents` for new files (what a careful user would write; the tutorial
        itself re-runs `from_documents`, re-embedding and duplicating everything)."""
        assert self.store is not None
        started = time.perf_counter()
        splits = self._documents(sorted(names))
        self.store.add_documents(splits)
        self.chunks += len(splits)
        self._mark(self.indexed() + names)
        return time.perf_counter() - started

    def ensure(self, names: list[str]) -> str:
        """Reuse a cached collection holding `names` (adding missing files), or build it."""
        done = self.indexed()
        if done and set(done) <= set(names) and self.store is None:
            self.store = Chroma(
                collection_name="tutorial",
                embedding_function=self.embeddings,
                persist_directory=str(self.root / "chroma"),
            )
            self.chunks = self.store._collection.count()
        if self.store is None or not set(done) <= set(names):
            seconds, _, chunks = self.build(names)
            return f"built ({chunks} chunks, {seconds:.0f} s)"
        missing = sorted(set(names) - set(done))
        if missing:
            seconds = self.add(missing)
            return f"reused, {len(missing)} files added ({seconds:.0f} s)"
        return "reused"

    def indexed(self) -> list[str]:
        marker = self.root / "tutorial.json"
        return json.loads(marker.read_text())["files"] if marker.exists() else []

    def _mark(self, names: list[str]) -> None:
        (self.root / "tutorial.json").write_text(json.dumps({"files": sorted(set(names))}))

    def ranking(self, qvec: np.ndarray, k: int = 20) -> tuple[list[str], float]:
        assert self.store is not None
        started = time.perf_counter()
        docs = self.store.similarity_search_by_vector(qvec.tolist(), k=k)
        return [d.metadata["source"] for d in docs], time.perf_counter() - started
