"""The Chroma index: three collections side by side, in a local directory or on a Chroma
server, each behind a typed class of its own:
- `<name>` and `<name>-sentences`: chunk and sentence vectors (`rag.vectors.Vectors`). The
  chunks collection's metadata also holds the index state: the `fingerprint` (model +
  chunking), a `generation` counter bumped by every sync, which lets readers (BM25, an open
  page) notice that the index changed, `dirty` while a sync runs, the chunk count the last
  sync left, and the process that wrote it (`writer`: another process's sync makes a local
  index be read from disk again, `LocalState`);
- `<name>-articles`: the manifest, one record per article with its text
  (`rag.manifest.Manifest`).
`Store` opens them (in one place: `rag.collections`) and keeps the order of writes across
them: an article's sentences and chunks are written before its manifest record, so a sync
killed in between leaves an article the next sync sees as new and re-writes; never a manifest
that lies.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError

from rag.articles import Article
from rag.chunking import Chunk
from rag.collections import open_collection
from rag.config import Settings
from rag.errors import IndexDamagedError, IndexMissingError, RagError
from rag.manifest import ArticleRecord, Manifest
from rag.vectors import ArticleVectors, Vectors

log = logging.getLogger(__name__)


def make_client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise RagError(
                f"RAG_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}."
            )
        headers = (
            {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except ValueError as exc:  # Chroma's "Could not connect to a Chroma server"
            raise RagError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({exc}). Start it, "
                "or unset RAG_CHROMA_URL to keep the index in a local directory."
            ) from None
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except ChromaError as exc:
        # Chroma keeps the state that failed to start: the next client would get it, unread.
        SharedSystemClient._identifier_to_system.pop(str(settings.index_dir), None)
        raise index_error(settings, exc) from exc


def index_error(settings: Settings, exc: ChromaError) -> RagError:
    """What to tell the user when Chroma fails on the index: a local one is damaged (a disk
    that filled up, a copy cut short, another Chroma version's format) and is rebuilt from the
    articles; a server's error is the server's (a token, a limit, its own failure), and an
    index others may share is never offered for a rebuild."""
    if settings.chroma_url:
        return RagError(
            f"The Chroma server at {settings.chroma_url} failed ({exc}). Check that it runs "
            "and, if it asks for one, that RAG_CHROMA_TOKEN is its token."
        )
    return IndexDamagedError(
        f"The index in {settings.index_dir}/ cannot be read (Chroma: {exc}). The articles in "
        f"{settings.articles_dir}/ are not touched: build the index anew from them with "
        "`rag index --rebuild`."
    )


class Store:
    """The index: its vectors, its manifest and its state."""

    vectors: Vectors
    manifest: Manifest

    def __init__(
        self,
        client: ClientAPI,
        name: str = "articles",
        *,
        local: LocalState | None = None,
    ) -> None:
        """`local`: this process's Chroma state of a local index (see `info`)."""
        self.client = client
        self.name = name
        self._local = local
        self._drops = local.drops if local else 0  # the state `client` is on
        self._lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        """(Re)open the three collections, creating any that is missing."""
        self.vectors = Vectors(
            open_collection(self.client, self.name, cosine=True),
            open_collection(self.client, f"{self.name}-sentences", cosine=True),
        )
        self.manifest = Manifest(
            open_collection(self.client, f"{self.name}-articles", cosine=False)
        )

    # -- index state ------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """Fresh collection metadata: fingerprint, generation, synced_at, chunks, writer. When
        another process has synced a local index (`rag index` while the page is open), the
        client is made anew on a state read from disk again (`LocalState`): Chroma's keeps
        the vectors it loaded and lacks those the other process wrote, whose chunks BM25
        (rebuilt from the new generation) then finds, and reading their vectors failed ("Error
        finding id"). When the index was rebuilt by another process on a server, or by
        another store (`reset` makes new collections), the handles are re-opened. So an open
        page keeps answering, from the articles just added."""
        with self._lock:
            try:
                current = open_collection(self.client, self.name, cosine=True)
            except ChromaError:
                if self._local is None:
                    raise
                # Read from disk again, once: another process may have rebuilt it since.
                self._reload()
                current = open_collection(self.client, self.name, cosine=True)
            state = dict(current.metadata or {})
            if self._local is not None and self._local.refresh(state) != self._drops:
                self._follow("Another process wrote the index")
            elif current.id != self.vectors.chunks.id:
                log.info("The index was rebuilt elsewhere: re-opening its collections")
                self._open()
            return state

    def reload(self) -> None:
        """Read a local index from disk anew, after Chroma failed on it (another process may
        have been writing it, or have rebuilt it)."""
        with self._lock:
            self._reload()

    def _reload(self) -> None:
        assert self._local is not None
        self._local.drop()
        self._follow("Chroma failed on the index")

    def _follow(self, why: str) -> None:
        """Make the client anew on the process's current Chroma state of the local index."""
        assert self._local is not None
        log.info("%s: reading it from disk again", why)
        self.client = self._local.client()
        self._drops = self._local.drops
        self._open()

    @property
    def fingerprint(self) -> str | None:
        return self.info.get("fingerprint")

    @property
    def generation(self) -> int:
        return int(self.info.get("generation", 0))

    @property
    def interrupted(self) -> bool:
        """True if a sync started and never finished (killed): the next one sweeps orphans."""
        return bool(self.info.get("dirty"))

    def begin_sync(self, fingerprint: str) -> None:
        """Mark the index dirty, the caller holding its write lock. A local index another
        process wrote last (a sync killed half-way leaves its generation as it was) is read
        from disk again first, so this sync writes on what that one left."""
        state = self.info
        if self._local is not None and self._local.refresh(state, writing=True) != self._drops:
            with self._lock:
                self._follow("Another process wrote the index last")
        self._set_state({**state, "fingerprint": fingerprint, "dirty": True})

    def mark_synced(self, fingerprint: str) -> None:
        self._set_state(
            {
                "fingerprint": fingerprint,
                "generation": self.generation + 1,
                "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "chunks": self.count(),  # what the page shows on every rerun, counted once
            }
        )

    def _set_state(self, state: dict[str, Any]) -> None:
        self.vectors.chunks.modify(metadata={**state, "writer": _writer()})

    def count(self) -> int:
        """How many chunks the index holds."""
        return self.vectors.count()

    def reset(self) -> None:
        """Drop everything (a planned rebuild). A local index that Chroma cannot read is set
        aside whole (`LocalState.set_aside`) and a new one made in its place."""
        try:
            generation = self.generation
            for name in (self.name, f"{self.name}-sentences", f"{self.name}-articles"):
                self.client.delete_collection(name)
        except (ChromaError, IndexDamagedError) as exc:
            if self._local is None:
                raise
            generation = self._local.set_aside(exc)
            with self._lock:
                self._follow("A new index replaces the one set aside")
        self._open()
        # Keep the counter monotonic so readers still see that something changed.
        self._set_state({"generation": generation + 1})

    # -- writes, in the order that keeps the manifest honest ---------------------------------
    def put_articles(
        self,
        batch: Sequence[tuple[Article, Sequence[Chunk]]],
        vectors: ArticleVectors,
        *,
        replacing: Sequence[str] = (),
    ) -> None:
        """Write a group of articles: drop the old vectors of `replacing`, upsert every
        sentence and chunk, then the manifest records, in that order (a sync killed in
        between re-does the articles whose records are missing or stale). One call per step,
        not per article: per-article writes were 35-41 s of a 300-article build, grouped 1.5 s."""
        self.vectors.delete(replacing)
        self.vectors.put(batch, vectors)
        records = [
            ArticleRecord(
                id=a.id,
                sha256=a.sha256,
                title=a.title,
                chunks=len(cs),
                date=a.date,
                url=a.url,
                source=a.source,
                lang=a.lang,
            )
            for a, cs in batch
        ]
        self.manifest.put(records, [a.text for a, _ in batch])

    def put_duplicate(self, article_id: str, sha256: str, of: ArticleRecord) -> None:
        """Record `article_id` as another name for the already indexed article `of`."""
        self.vectors.delete([article_id])
        record = replace(of, id=article_id, sha256=sha256, chunks=0, duplicate_of=of.id)
        self.manifest.put([record], [""])

    def remove_article(self, article_id: str) -> None:
        # Vectors first: a sync killed in between still has the manifest record, so the next
        # sync removes the article again instead of leaving chunks no record points to.
        self.vectors.delete([article_id])
        self.manifest.delete(article_id)

    def sweep_orphans(self) -> int:
        """Delete the vectors of articles not in the manifest (left by a killed sync)."""
        known = {r.id for r in self.manifest.records().values() if not r.duplicate_of}
        orphans = sorted(self.vectors.articles() - known)
        self.vectors.delete(orphans)
        return len(orphans)


def open_store(settings: Settings, *, must_exist: bool = False, rebuilding: bool = False) -> Store:
    """Open (creating if needed) the index described by `settings`; with `must_exist`, an
    IndexMissingError unless it has been built. `rebuilding`: a local index that Chroma
    cannot read is set aside and a new one made, instead of an IndexDamagedError."""
    where = f"on {settings.chroma_url}" if settings.chroma_url else f"in {settings.index_dir}/"
    missing = IndexMissingError(
        f"No index {where}. Run `rag index` to build it from {settings.articles_dir}/."
    )
    local = not settings.chroma_url
    if must_exist and local and not settings.index_dir.is_dir():
        raise missing
    state = LocalState.of(settings) if local else None
    generation = None
    try:
        client = make_client(settings)
    except IndexDamagedError as exc:
        if not (rebuilding and state):
            raise
        generation = state.set_aside(exc)
        client = state.client()
    try:
        if must_exist:
            try:
                client.get_collection(settings.collection)
            except (NotFoundError, ValueError):  # ValueError: older Chroma versions
                raise missing from None
        store = Store(client, settings.collection, local=state)
    except ChromaError as exc:
        raise index_error(settings, exc) from exc
    if generation is not None:
        store._set_state({"generation": generation})
    return store


class LocalState:
    """Chroma's state of one local index dir in this process. Chroma shares one state per dir
    among a process's clients, and it keeps the vectors it loaded: another process's writes
    are not seen. It is dropped when another process has written the index since (once, for
    every store of the process: each then makes its client anew on the new one), and the
    one dropped before is stopped."""

    _all: ClassVar[dict[str, LocalState]] = {}
    _all_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = str(settings.index_dir)  # Chroma's key: PersistentClient's path, as given
        self.drops = 0
        self._generation: int | None = None  # of the index when the state was last looked at
        self._fresh: tuple[Any, ...] | None = None  # the index state it was (re)loaded at
        self._dropped: Any = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> LocalState:
        with cls._all_lock:
            return cls._all.setdefault(str(settings.index_dir), cls(settings))

    def client(self) -> ClientAPI:
        return make_client(self.settings)

    def refresh(self, state: dict[str, Any], *, writing: bool = False) -> int:
        """How many times the state was dropped, after dropping it if another process wrote
        the index since it was loaded (its generation moved), or, `writing`, if another
        process wrote it last. `state`: the index's state as just read."""
        with self._lock:
            generation = int(state.get("generation", 0))
            other = state.get("writer", _writer()) != _writer()
            stamp = (generation, state.get("writer"), state.get("dirty"))
            if self._fresh is None and not (other and state.get("dirty")):
                self._fresh = stamp  # first looked at as loaded, unless another is writing
            moved = self._generation is not None and generation != self._generation
            if other and (moved or (writing and stamp != self._fresh)):
                self._drop()
                self._fresh = stamp
            self._generation = generation
            return self.drops

    def drop(self) -> None:
        """Forget Chroma's state of the index, which failed to read it: the next client reads
        it from disk. Not stopped: the store that failed still holds it."""
        with self._lock:
            SharedSystemClient._identifier_to_system.pop(self.key, None)
            self.drops += 1

    def _drop(self) -> None:
        if self._dropped is not None:
            self._dropped.stop()
        self._dropped = SharedSystemClient._identifier_to_system.pop(self.key, None)
        self.drops += 1

    def set_aside(self, exc: Exception) -> int:
        """Move the index dir, which Chroma cannot read, to a new name beside it (never
        deleted: it may hold what a wrong RAG_INDEX_DIR points at) and forget Chroma's state
        of it, so the next client makes a new index. Returns the generation last seen, for the
        new index to count on from."""
        where = self.settings.index_dir
        cause = exc.__cause__ or exc  # Chroma's words, not the IndexDamagedError around them
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = where.with_name(f"{where.name}.damaged-{stamp}")
        with self._lock:
            self._drop()
            try:
                where.rename(aside)
            except OSError as error:  # a mount point, a permission
                raise IndexDamagedError(
                    f"The index in {where}/ cannot be read ({cause}) and could "
                    f"not be moved aside ({error}): move or delete it by hand, then run "
                    "`rag index`."
                ) from error
            # The new index counts on from the time of day: past any count the lost one
            # reached, which this process may not know (readers key their caches by it).
            generation = max(self._generation or 0, int(time.time()))
            self._generation, self._fresh = None, None
        log.warning(
            "The index in %s/ could not be read (%s): moved to %s/ (delete it once the new index "
            "works); building a new one.",
            where,
            cause,
            aside,
        )
        return generation


def _writer() -> str:
    """Who writes the index state: this process (so `info` knows a sync of its own)."""
    return f"{platform.node()}:{os.getpid()}"
