"""Incremental sync: make the index match the articles dir, embedding only what changed.

Compares each file's sha256 with the manifest in the index. New and changed articles are
loaded, chunked, embedded (in batches across articles, so short articles still fill a batch)
and written article by article; articles whose files are gone are removed; unchanged ones are
not even parsed. If the model or the chunking changed (the fingerprint differs), the whole
index is rebuilt on purpose, with a log message saying why; `rebuild=True` forces that. If
only the sentence splitting changed (sentence vectors embedded alone), nothing is rebuilt:
every stored chunk is split anew and only the sentences of those that split differently are
embedded again (`_resplit`: about 1% of news articles at each change of the rules, where a
rebuild of a 36,000-article archive took 92 minutes).
Bad files are skipped with a reason and never stop the sync. It does not answer questions.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.articles import Article, article_id, file_sha256, load_article, scan_article_files
from rag.chunking import (
    CHUNKING_FINGERPRINT,
    SENTENCES_FINGERPRINTS,
    Chunk,
    chunk_article,
    chunk_sentences,
    embedding_text,
)
from rag.config import SENTENCE_VECTORS, Settings
from rag.embeddings import Embedder
from rag.errors import ArticleError, RagError
from rag.store import Store
from rag.vectors import ArticleVectors, StoredChunk

log = logging.getLogger(__name__)

#: Articles embedded together: enough chunks for full batches, little lost if interrupted.
GROUP = 64

Progress = Callable[[int, int], None]  # (articles done, articles to embed)


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    rebuilt: str | None = None  # why the index was rebuilt, if it was
    resplit: int = 0  # chunks whose sentences were split and embedded anew (`_resplit`)
    skipped: dict[str, str] = field(default_factory=dict)  # article id -> reason

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: What the index's metadata holds; bump it when that changes (the index is rebuilt).
#: day-v1: chunks and sentences carry the publication date as a number, for date filters.
METADATA_FINGERPRINT = "+day-v1"


def index_fingerprint(embedder: Embedder, sentence_vectors: str = SENTENCE_VECTORS[0]) -> str:
    sentences = SENTENCES_FINGERPRINTS[sentence_vectors]
    return f"{embedder.fingerprint}|{CHUNKING_FINGERPRINT}{sentences}{METADATA_FINGERPRINT}"


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index dir: a second sync waits, saying so. Readers never lock."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("Another sync is writing %s/; waiting for it to finish.", index_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def sync(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    started = time.perf_counter()
    root = settings.articles_dir
    if not root.is_dir():
        raise RagError(f"Articles dir {root}/ does not exist. Create it or set RAG_ARTICLES_DIR.")
    lock = write_lock(settings.index_dir) if not settings.chroma_url else contextlib.nullcontext()
    with lock:
        fingerprint = index_fingerprint(embedder, settings.sentence_vectors)
        splitting = not rebuild and _only_splitting_changed(store.fingerprint, fingerprint)
        resplit = _resplit(store, embedder) if splitting else 0
        if splitting:
            log.warning("Sentence splitting changed: %d chunks split anew.", resplit)
        reason = None if splitting else _rebuild_reason(store, fingerprint, rebuild)
        if reason:
            log.warning("Rebuilding the index: %s", reason)
            store.reset()
        interrupted = store.interrupted
        store.begin_sync(fingerprint)
        manifest = store.manifest.records()
        paths, skipped = scan_article_files(root)
        files = {article_id(p, root): p for p in paths}
        shas = _hashes(files, skipped)
        canonical = _canonical_names(shas)

        gone = sorted(set(manifest) - set(shas))
        for aid in gone:
            store.remove_article(aid)
        todo: list[tuple[str, Path]] = []
        duplicates: list[str] = []
        unchanged = 0
        for aid, sha in shas.items():
            record = manifest.get(aid)
            of = canonical[aid] if canonical[aid] != aid else None
            if record and record.sha256 == sha and record.duplicate_of == of:
                unchanged += 1
            elif of:
                duplicates.append(aid)
            else:
                todo.append((aid, files[aid]))

        # Articles that cannot have chunks yet skip the delete (unless a killed sync left some).
        replacing = set(manifest) if not interrupted else {aid for aid, _ in todo}
        log.info("Embedding %d new or changed articles (%d unchanged)", len(todo), unchanged)
        embedded = _embed_all(settings, store, embedder, todo, skipped, progress, replacing)
        if duplicates:
            written = store.manifest.records()
            for aid in duplicates:
                of = canonical[aid]
                if of in written:
                    store.put_duplicate(aid, shas[aid], written[of])
                else:
                    skipped[aid] = f"same content as {of}, which could not be indexed"
        if interrupted and (n := store.sweep_orphans()):
            log.warning("Removed the chunks of %d articles left by an interrupted sync.", n)
        store.mark_synced(fingerprint)
        done = [aid for aid, _ in todo if aid not in skipped] + [
            aid for aid in duplicates if aid not in skipped
        ]
        report = SyncReport(
            added=sum(1 for aid in done if aid not in manifest),
            updated=sum(1 for aid in done if aid in manifest),
            removed=len(gone),
            unchanged=unchanged,
            chunks=store.count(),
            embedded=embedded,
            seconds=round(time.perf_counter() - started, 3),
            rebuilt=reason,
            resplit=resplit,
            skipped=skipped,
        )
    log.info("Sync done: %s", report)
    return report


def _hashes(files: dict[str, Path], skipped: dict[str, str]) -> dict[str, str]:
    shas: dict[str, str] = {}
    for aid, path in files.items():
        try:
            shas[aid] = file_sha256(path)
        except OSError as exc:  # vanished or unreadable since it was listed
            skipped[aid] = f"cannot read: {exc.strerror or exc}"
    return shas


def _canonical_names(shas: dict[str, str]) -> dict[str, str]:
    """Each id -> the id its content is indexed under: the first name (in id order) that
    carries that content. Duplicates are indexed once and listed as other names."""
    first: dict[str, str] = {}
    for aid in sorted(shas):
        first.setdefault(shas[aid], aid)
    return {aid: first[sha] for aid, sha in shas.items()}


#: The part of the fingerprint that names the sentence splitting rules, sentences embedded alone.
_SPLITTING = re.compile(r"\+sentences-v\d+(?=\+|$)")


def _only_splitting_changed(old: str | None, new: str) -> bool:
    """Whether the index differs from what would be built now only by its sentence splitting
    rules, its sentences embedded alone (a pooled sentence's vector depends on its chunk's
    other words: those rebuild)."""
    return (
        old is not None
        and old != new
        and bool(_SPLITTING.search(old) and _SPLITTING.search(new))
        and _SPLITTING.sub("", old) == _SPLITTING.sub("", new)
    )


def _resplit(store: Store, embedder: Embedder) -> int:
    """Split every stored chunk into sentences by today's rules (`chunk_sentences`) and embed
    again the sentences of those that split differently; chunks, their vectors and the
    manifest stay. Returns how many chunks changed."""
    stored = store.vectors.sentence_spans()
    changed: list[tuple[StoredChunk, list[tuple[int, int]], int]] = []
    for c in store.vectors.each_chunk():
        spans = chunk_sentences(Chunk(c.id, c.article_id, c.start, c.end, c.text))
        if spans != stored.get(c.id, []):
            changed.append((c, spans, len(stored.get(c.id, []))))
    for i in range(0, len(changed), GROUP):
        group = changed[i : i + GROUP]
        texts = [c.text[s:e] for c, spans, _ in group for s, e in spans]
        store.vectors.replace_sentences(group, embedder.embed_documents(texts))
    return len(changed)


def _rebuild_reason(store: Store, fingerprint: str, forced: bool) -> str | None:
    if forced:
        return "--rebuild was asked for"
    old = store.fingerprint
    if old is not None and old != fingerprint:
        return (
            "the embedding model, chunking, sentence splitting or index format changed "
            f"({old} -> {fingerprint})"
        )
    if old is None and store.count():
        return "the index has no fingerprint (built by another version)"
    return None


def _embed_all(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    todo: list[tuple[str, Path]],
    skipped: dict[str, str],
    progress: Progress | None,
    replacing: set[str],
) -> int:
    """Load, chunk, embed and write the articles of `todo` a group at a time, so memory holds
    one group whatever the corpus size. Returns the number of chunks embedded."""
    embedded = 0
    for i in range(0, len(todo), GROUP):
        group = _load_group(settings, todo[i : i + GROUP], skipped)
        if group:
            embedded += _embed_group(settings, store, embedder, group, replacing)
        if progress:
            progress(min(i + GROUP, len(todo)), len(todo))
    return embedded


def _embed_group(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    group: list[tuple[Article, list[Chunk]]],
    replacing: set[str],
) -> int:
    """Embed one group of articles' chunks and sentences, and write them. Returns the number
    of chunks."""
    chunks = [(a, c) for a, cs in group for c in cs]
    off = settings.sentence_vectors == "off"
    spans = {c.id: [] if off else chunk_sentences(c) for _, c in chunks}
    texts = [embedding_text(a, c) for a, c in chunks]
    # A chunk's sentences, as offsets in the text embedded for it (the title comes first).
    inside = [
        [(len(t) - len(c.text) + s, len(t) - len(c.text) + e) for s, e in spans[c.id]]
        for t, (_, c) in zip(texts, chunks, strict=True)
    ]
    pooled = settings.sentence_vectors == "pooled"
    passages, sentences = embedder.embed_passages(texts, inside, pooled=pooled)
    store.put_articles(
        group,
        ArticleVectors(passages, _flat(sentences, embedder.dim), spans),
        replacing=[a.id for a, _ in group if a.id in replacing],
    )
    return len(texts)


def _load_group(
    settings: Settings, todo: list[tuple[str, Path]], skipped: dict[str, str]
) -> list[tuple[Article, list[Chunk]]]:
    loaded = []
    for aid, path in todo:
        try:
            article = load_article(
                path, settings.articles_dir, max_bytes=settings.max_article_bytes
            )
        except ArticleError as exc:
            log.warning("Skipping %s: %s", aid, exc)
            skipped[aid] = str(exc)
            continue
        loaded.append((article, chunk_article(article)))
    return loaded


def _flat(vectors: list[np.ndarray], dim: int) -> np.ndarray:
    return np.concatenate(vectors) if vectors else np.empty((0, dim), np.float32)
