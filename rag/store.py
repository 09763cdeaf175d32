"""The Chroma index: chunk and sentence vectors plus a manifest of the articles.

Three collections live side by side, in a local directory or on a Chroma server:
- `<name>`: one record per chunk (its vector, its text, and the metadata citations need:
  article id, title, date, url, start, end). Its collection metadata holds the index
  `fingerprint` (model + chunking) and a `generation` counter bumped by every sync, which
  lets readers (BM25) notice that the index changed.
- `<name>-sentences`: one vector per sentence of each chunk (`rag.chunking.chunk_sentences`),
  with its chunk id and its offsets in the chunk, no text. Search matches a question to its
  best sentence as well as to the whole passage, and the evidence step reads these vectors
  instead of embedding the sentences again.
- `<name>-articles`: the manifest, one record per article: sha256, title, date, url, source,
  lang, chunk count, with the article's full text as its document (the page shows it, and
  a Chroma server has no access to our disk). Its vector is a placeholder: it is never queried.
An article's sentences and chunks are written before its manifest record, so a sync killed
in between leaves an article the next sync sees as new and re-writes; never a manifest that
lies.

Vectors are computed by `rag.embeddings`, never by Chroma (its default embedding function
would download a model). We use Chroma directly rather than `langchain_chroma.Chroma` because
the sync needs exact ids, batched upserts and metadata filters; `retrieval.HybridRetriever`
gives LangChain users the usual interface.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Metadata, Where
from chromadb.config import Settings as ChromaSettings

from rag.articles import Article
from rag.chunking import Chunk
from rag.config import Settings
from rag.errors import ConfigError, IndexMissingError, RagError

log = logging.getLogger(__name__)

_PAGE = 2000  # records per Chroma get/upsert call: keeps requests under server limits


@dataclass(frozen=True)
class ArticleRecord:
    """What the index knows about one article (the manifest entry)."""

    id: str
    sha256: str
    title: str
    chunks: int
    date: str | None = None
    url: str | None = None
    source: str | None = None
    lang: str | None = None
    duplicate_of: str | None = None  # same content as this (indexed) article: no chunks of its own


@dataclass(frozen=True)
class ArticleVectors:
    """The vectors of one group of articles, as `put_articles` writes them: one row per chunk;
    one per sentence span (offsets in the chunk's text) of `spans`, chunk after chunk."""

    chunks: np.ndarray
    sentences: np.ndarray
    spans: Mapping[str, Sequence[tuple[int, int]]]  # chunk id -> its sentences (may be none)


@dataclass(frozen=True)
class SentenceVector:
    start: int  # offsets in the chunk's text
    end: int
    vector: np.ndarray


def day_number(date: str | None) -> int | None:
    """`2026-03-14` -> 20260314: Chroma filters compare numbers, not strings. None unless
    `date` is an ISO date (or starts with one)."""
    try:
        return int(dt.date.fromisoformat((date or "")[:10]).strftime("%Y%m%d"))
    except ValueError:
        return None


def _day(date: str) -> int:
    return day_number(date) or 0


@dataclass(frozen=True)
class Published:
    """A window of publication dates, both ends included, either end open: what `--since`
    and `--until` ask for. Articles without a date are outside every window."""

    since: str | None = None
    until: str | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Published | None:
        """The window, or None when both ends are open; a ConfigError for a date that is not
        YYYY-MM-DD or a window that ends before it starts."""
        for name, value in (("since", since), ("until", until)):
            if value is not None and day_number(value) is None:
                raise ConfigError(f"--{name} must be a date as YYYY-MM-DD, got {value!r}.")
        if since and until and day_number(since) > day_number(until):  # type: ignore[operator]
            raise ConfigError(f"--since {since} is after --until {until}: no date is in between.")
        return cls(since, until) if since or until else None

    def where(self) -> Where:
        bounds: list[dict[str, Any]] = [{"day": {"$gte": day_number(self.since) or 0}}]
        if self.until:
            bounds.append({"day": {"$lte": day_number(self.until)}})
        return cast(Where, bounds[0] if len(bounds) == 1 else {"$and": bounds})

    def narrowed(self, other: Published | None) -> Published:
        """The window both windows hold (it may hold no day at all)."""
        if other is None:
            return self
        since = max((d for d in (self.since, other.since) if d), key=_day, default=None)
        until = min((d for d in (self.until, other.until) if d), key=_day, default=None)
        return Published(since, until)

    def __str__(self) -> str:
        if self.since and self.until:
            return f"published from {self.since} to {self.until}"
        return f"published since {self.since}" if self.since else f"published until {self.until}"

    def holds(self, day: int | None) -> bool:
        low, high = day_number(self.since) or 0, day_number(self.until) or 99999999
        return day is not None and low <= day <= high


@dataclass(frozen=True)
class StoredChunk:
    id: str
    article_id: str
    title: str
    start: int
    end: int
    text: str
    date: str | None = None
    lang: str | None = None
    url: str | None = None
    day: int | None = None  # the date as a number, when it is one (`day_number`)


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
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            headers=headers,
            settings=chroma_settings,
        )
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


def _clean(meta: dict[str, Any]) -> Metadata:
    """Chroma metadata cannot hold None."""
    return {k: v for k, v in meta.items() if v is not None}


class Store:
    """Typed access to the three collections. Chroma dicts stop here."""

    def __init__(self, client: ClientAPI, name: str = "articles") -> None:
        self.client = client
        self.name = name
        self._open()

    def _open(self) -> None:
        """(Re)open the three collections, creating any that is missing."""
        self.chunks = self._collection(self.name, cosine=True)
        self.sentences = self._collection(f"{self.name}-sentences", cosine=True)
        self.articles = self._collection(f"{self.name}-articles", cosine=False)

    def _collection(self, name: str, *, cosine: bool) -> Collection:
        config: Any = {"hnsw": {"space": "cosine"}} if cosine else None
        return self.client.get_or_create_collection(
            name, embedding_function=None, configuration=config
        )

    # -- index state ------------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """Fresh collection metadata: fingerprint, generation, synced_at. When another process
        has rebuilt the index (`reset` makes new collections), the handles are re-opened, so
        an open page keeps answering instead of failing on collections that are gone."""
        current = self._collection(self.name, cosine=True)
        if current.id != self.chunks.id:
            log.info("The index was rebuilt by another process: re-opening its collections")
            self._open()
        return dict(current.metadata or {})

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
        self.chunks.modify(metadata={**self.info, "fingerprint": fingerprint, "dirty": True})

    def mark_synced(self, fingerprint: str) -> None:
        info = self.info
        self.chunks.modify(
            metadata={
                "fingerprint": fingerprint,
                "generation": int(info.get("generation", 0)) + 1,
                "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def count(self) -> int:
        return self.chunks.count()

    def reset(self) -> None:
        """Drop everything (a planned rebuild)."""
        generation = self.generation
        for name in (self.name, f"{self.name}-sentences", f"{self.name}-articles"):
            self.client.delete_collection(name)
        self._open()
        # Keep the counter monotonic so readers still see that something changed.
        self.chunks.modify(metadata={"generation": generation + 1})

    # -- manifest ---------------------------------------------------------------------------
    def manifest(self) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for ids, metas, _ in self._pages(self.articles, include=["metadatas"]):
            for id_, meta in zip(ids, metas, strict=True):
                records[id_] = ArticleRecord(id=id_, **meta)
        return records

    def article_text(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        canonical = (got["metadatas"] or [{}])[0].get("duplicate_of")
        if isinstance(canonical, str):
            return self.article_text(canonical)
        return (got["documents"] or [""])[0]

    def duplicates(self) -> dict[str, list[str]]:
        """Indexed article id -> the other names its content is filed under."""
        out: dict[str, list[str]] = {}
        for record in self.manifest().values():
            if record.duplicate_of:
                out.setdefault(record.duplicate_of, []).append(record.id)
        return out

    # -- writes -----------------------------------------------------------------------------
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
        if replacing:
            self._delete_vectors(cast(Where, {"article": {"$in": list(replacing)}}))
        sentence_ids: list[str] = []
        sentence_metas: list[Metadata] = []
        for article, chunks in batch:
            for c in chunks:
                for n, (start, end) in enumerate(vectors.spans.get(c.id, ())):
                    sentence_ids.append(f"{c.id}:{n}")
                    sentence_metas.append(
                        _clean(
                            {
                                "article": article.id,
                                "chunk": c.id,
                                "start": start,
                                "end": end,
                                "day": day_number(article.date),
                            }
                        )
                    )
        self._upsert(self.sentences, sentence_ids, vectors.sentences, sentence_metas)
        chunk_ids: list[str] = []
        docs: list[str] = []
        metas: list[Metadata] = []
        for article, chunks in batch:
            meta = {
                "article": article.id,
                "title": article.title,
                "date": article.date,
                "day": day_number(article.date),
                "url": article.url,
                "source": article.source,
                "lang": article.lang,
            }
            for c in chunks:
                chunk_ids.append(c.id)
                docs.append(c.text)
                metas.append(_clean({**meta, "start": c.start, "end": c.end}))
        self._upsert(self.chunks, chunk_ids, vectors.chunks, metas, docs)
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
        self._put_records(records, [a.text for a, _ in batch])

    @staticmethod
    def _upsert(
        col: Collection,
        ids: list[str],
        vectors: np.ndarray,
        metas: list[Metadata],
        docs: list[str] | None = None,
    ) -> None:
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} records but {len(vectors)} vectors for {col.name}")
        for i in range(0, len(ids), _PAGE):
            col.upsert(
                ids=ids[i : i + _PAGE],
                embeddings=vectors[i : i + _PAGE],
                metadatas=metas[i : i + _PAGE],
                documents=docs[i : i + _PAGE] if docs is not None else None,
            )

    def _delete_vectors(self, where: Where) -> None:
        """Drop the chunks and sentences matching `where` (sentences first: a chunk is never
        left without them by a killed sync, only sentences without their chunk, swept later)."""
        self.sentences.delete(where=where)
        self.chunks.delete(where=where)

    def _put_record(self, record: ArticleRecord, text: str) -> None:
        self._put_records([record], [text])

    def _put_records(self, records: Sequence[ArticleRecord], texts: Sequence[str]) -> None:
        if not records:
            return
        ids = [r.id for r in records]
        metas = [_clean({k: v for k, v in asdict(r).items() if k != "id"}) for r in records]
        # Chroma merges metadata on upsert; delete first so no stale key (duplicate_of) survives.
        self.articles.delete(ids=ids)
        self.articles.upsert(
            ids=ids,
            embeddings=np.ones((len(ids), 1), dtype=np.float32),
            documents=list(texts),
            metadatas=metas,
        )

    def put_duplicate(self, article_id: str, sha256: str, of: ArticleRecord) -> None:
        """Record `article_id` as another name for the already indexed article `of`."""
        self._delete_vectors({"article": article_id})
        self._put_record(
            replace(of, id=article_id, sha256=sha256, chunks=0, duplicate_of=of.id), ""
        )

    def remove_article(self, article_id: str) -> None:
        # Vectors first: a sync killed in between still has the manifest record, so the next
        # sync removes the article again instead of leaving chunks no record points to.
        self._delete_vectors({"article": article_id})
        self.articles.delete(ids=[article_id])

    def sweep_orphans(self) -> int:
        """Delete the vectors of articles not in the manifest (left by a killed sync)."""
        known = {r.id for r in self.manifest().values() if not r.duplicate_of}
        orphans = {
            m["article"]
            for col in (self.chunks, self.sentences)
            for _, metas, _ in self._pages(col, include=["metadatas"])
            for m in metas
        } - known
        for article_id in orphans:
            self._delete_vectors({"article": article_id})
        return len(orphans)

    # -- reads ------------------------------------------------------------------------------
    def all_chunks(self) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        for ids, metas, docs in self._pages(self.chunks, include=["metadatas", "documents"]):
            out.extend(_stored(i, m, d) for i, m, d in zip(ids, metas, docs, strict=True))
        return out

    def query(
        self, vector: np.ndarray, k: int, published: Published | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks (published in the window) with their cosine, best first."""
        n = min(k, self.count())
        if n == 0:
            return []
        res = self.chunks.query(
            query_embeddings=[vector],
            n_results=n,
            where=published.where() if published else None,
            include=["metadatas", "documents", "distances"],
        )
        ids, metas = res["ids"][0], (res["metadatas"] or [[]])[0]
        docs, dists = (res["documents"] or [[]])[0], (res["distances"] or [[]])[0]
        return [
            (_stored(i, dict(m), d), 1.0 - float(dist))
            for i, m, d, dist in zip(ids, metas, docs, dists, strict=True)
        ]

    def query_sentences(
        self, vector: np.ndarray, k: int, published: Published | None = None
    ) -> dict[str, float]:
        """Chunk id -> the cosine of its best sentence, for the chunks of the k nearest
        sentences (published in the window)."""
        n = min(k, self.sentences.count())
        if n == 0:
            return {}
        res = self.sentences.query(
            query_embeddings=[vector],
            n_results=n,
            where=published.where() if published else None,
            include=["metadatas", "distances"],
        )
        best: dict[str, float] = {}
        metas, dists = (res["metadatas"] or [[]])[0], (res["distances"] or [[]])[0]
        for meta, dist in zip(metas, dists, strict=True):
            chunk = str(meta["chunk"])
            best[chunk] = max(best.get(chunk, -1.0), 1.0 - float(dist))
        return best

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[SentenceVector]]:
        """Chunk id -> its sentences' offsets (in the chunk's text) and vectors, in order."""
        if not chunk_ids:
            return {}
        out: dict[str, list[SentenceVector]] = {c: [] for c in chunk_ids}
        for i in range(0, len(chunk_ids), _PAGE):
            where = cast(Where, {"chunk": {"$in": list(chunk_ids[i : i + _PAGE])}})
            got = self.sentences.get(where=where, include=["metadatas", "embeddings"])
            embs = got["embeddings"] if got["embeddings"] is not None else []
            for meta, emb in zip(got["metadatas"] or [], embs, strict=True):
                start, end = cast(int, meta["start"]), cast(int, meta["end"])
                vector = np.asarray(emb, dtype=np.float32)
                out[str(meta["chunk"])].append(SentenceVector(start, end, vector))
        for sentences in out.values():
            sentences.sort(key=lambda s: s.start)
        return out

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        got = self.chunks.get(ids=list(chunk_ids), include=["embeddings"])
        embs = got["embeddings"] if got["embeddings"] is not None else []
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], embs, strict=True)}

    def _pages(
        self, col: Collection, include: list[Any]
    ) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            got = col.get(include=include, limit=_PAGE, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            metas = [dict(m) for m in (got["metadatas"] or [{}] * len(ids))]
            docs = list(got["documents"] or [""] * len(ids))
            yield ids, metas, docs
            offset += len(ids)


def _stored(id_: str, meta: dict[str, Any], text: str | None) -> StoredChunk:
    return StoredChunk(
        id=id_,
        article_id=meta["article"],
        title=meta.get("title", meta["article"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text or "",
        date=meta.get("date"),
        lang=meta.get("lang"),
        url=meta.get("url"),
        day=meta.get("day"),
    )


def open_store(settings: Settings, *, must_exist: bool = False) -> Store:
    """Open (creating if needed) the index described by `settings`."""
    if (
        must_exist
        and not settings.chroma_url
        and not any(settings.index_dir.glob("chroma.sqlite3"))
    ):
        raise IndexMissingError(
            f"No index in {settings.index_dir}/. Run `rag index` to build it from "
            f"{settings.articles_dir}/."
        )
    return Store(make_client(settings), settings.collection)
