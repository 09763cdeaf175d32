"""BM25's copy of the index (the chunk table its hits come from, and the words' postings),
kept on disk next to the index, one file per index generation.

Reading every chunk back from Chroma and indexing its words takes 15 s at 96,000 chunks
(24,154 articles): every `rag ask` paid it, and the page on each start. The first process to
build it for a generation saves it in the index directory; the next one loads it instead. A
sync moves the generation, so the next reader builds and saves again, and the older files are
deleted. Nothing is saved while a sync is writing (the index is marked dirty), so a file
always matches a finished sync. The file holds plain arrays, read without pickle: a file in
the index directory cannot run code. Its name carries FORMAT: bump it when `rag.text.terms`,
BM25's parameters or this layout change, and older files are ignored.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import BM25
from rag.store import Store
from rag.vectors import ChunkTable

log = logging.getLogger(__name__)

FORMAT = 2
PREFIX = "bm25-"
NUMBERS = ("start", "end", "day")  # the chunk table's int columns (day may be None: -1)


def load_or_build(store: Store, directory: Path | None) -> tuple[int, ChunkTable, BM25]:
    """The index's generation, its chunks and their BM25: loaded from `directory` when a
    finished sync of this generation saved them there, else built from the index (and saved).
    `directory` None: always built (an index on a Chroma server)."""
    generation = store.generation
    path = directory / f"{PREFIX}g{generation}-v{FORMAT}.npz" if directory else None
    if path is not None and path.is_file():
        try:
            return generation, *_load(path)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # damaged
            log.warning("Rebuilding BM25: %s is unreadable (%s)", path.name, exc)
    chunks = ChunkTable(store.vectors.each_chunk())
    bm25 = BM25(chunks.documents())
    info = store.info
    if path is not None and not info.get("dirty") and info.get("generation", 0) == generation:
        _save(path, chunks, bm25)
    return generation, chunks, bm25


def _save(path: Path, chunks: ChunkTable, bm25: BM25) -> None:
    arrays: dict[str, Any] = {  # np.savez: name -> array
        "bm25.starts": bm25.starts,
        "bm25.docs": bm25.docs,
        "bm25.weights": bm25.weights,
        "bm25.lengths": bm25.lengths,
    }
    arrays |= _pack("vocabulary", list(bm25.vocabulary))  # in term id order
    for name, column in chunks.columns.items():
        if name in NUMBERS:
            arrays[f"chunks.{name}"] = np.array([-1 if v is None else v for v in column])
        else:
            arrays |= _pack(f"chunks.{name}", column)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as f:
            np.savez(f, **arrays)
        os.replace(partial, path)  # readers see the whole file or none
    except OSError as exc:  # a read-only index: the next process builds it again
        partial.unlink(missing_ok=True)
        log.warning("Could not save BM25 to %s: %s", path.parent, exc)
        return
    for old in path.parent.glob(f"{PREFIX}*.npz"):
        if old != path:
            old.unlink(missing_ok=True)


def _load(path: Path) -> tuple[ChunkTable, BM25]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    terms = _unpack(arrays, "vocabulary")
    bm25 = BM25.from_arrays(
        {term: i for i, term in enumerate(terms)},
        arrays["bm25.starts"],
        arrays["bm25.docs"],
        arrays["bm25.weights"],
        arrays["bm25.lengths"],
    )
    columns: dict[str, list[Any]] = {}
    for name in sorted({key.split(".")[1] for key in arrays if key.startswith("chunks.")}):
        if name in NUMBERS:
            columns[name] = [None if v < 0 else v for v in arrays[f"chunks.{name}"].tolist()]
        else:
            columns[name] = _unpack(arrays, f"chunks.{name}")
    chunks = ChunkTable.from_columns(columns)
    if len(chunks) != len(bm25):
        raise ValueError(f"{len(chunks)} chunks for {len(bm25)} BM25 documents")
    return chunks, bm25


def _pack(name: str, values: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Strings (or None) as one UTF-8 byte array, each one's end offset and a None mask."""
    encoded = [b"" if v is None else v.encode() for v in values]
    return {
        f"{name}.bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{name}.ends": np.cumsum([len(e) for e in encoded], dtype=np.int64),
        f"{name}.none": np.array([v is None for v in values], dtype=bool),
    }


def _unpack(arrays: dict[str, np.ndarray], name: str) -> list[Any]:
    data = arrays[f"{name}.bytes"].tobytes()
    ends = arrays[f"{name}.ends"].tolist()
    starts = [0, *ends[:-1]]
    nones = arrays[f"{name}.none"].tolist()
    return [
        None if none else data[start:end].decode()
        for start, end, none in zip(starts, ends, nones, strict=True)
    ]
