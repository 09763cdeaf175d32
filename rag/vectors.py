"""The vectors: one record per chunk (its vector, its text, and what citations need: article
id, title, date, url, offsets) in `<name>`, and one vector per sentence of each chunk
(`rag.chunking.chunk_sentences`: its chunk id and offsets in the chunk, no text) in
`<name>-sentences`. Search matches a question to its best sentence as well as to the whole
passage, and the evidence step reads these vectors instead of embedding the sentences again.
Both carry the article's publication day as a number, for date windows (`Published`).

Vectors are computed by `rag.embeddings`, never by Chroma (its default embedding function
would download a model). We use Chroma directly rather than `langchain_chroma.Chroma` because
the sync needs exact ids, batched upserts and metadata filters; `retrieval.HybridRetriever`
gives LangChain users the usual interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Metadata, Where

from rag.articles import Article
from rag.chunking import Chunk
from rag.collections import PAGE, clean, pages
from rag.errors import ConfigError
from rag.text import day_number

SENTENCE_IDS = 16  # sentence ids asked per chunk at a time (3.1 sentences per chunk on news)


@dataclass(frozen=True)
class Published:
    """A window of publication dates, both ends included, either end open: what `--since`
    and `--until` ask for, or a question names. Articles without a date are outside every
    window."""

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


def _day(date: str) -> int:
    return day_number(date) or 0


@dataclass(frozen=True, slots=True)
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


class ChunkTable:
    """Every chunk of the index in one order (BM25's documents), column by column: a list per
    field, not an object per chunk. Strings and numbers are not scanned by Python's garbage
    collector, so 100,000 chunks cost each full collection a dozen lists instead of 100,000
    objects (the page runs one after every rerun: 0.2 s at 96,000 chunks), and less memory."""

    _COLUMNS = tuple(f.name for f in fields(StoredChunk))

    def __init__(self, chunks: Iterable[StoredChunk]) -> None:
        columns: dict[str, list[Any]] = {name: [] for name in self._COLUMNS}
        for chunk in chunks:
            for name, column in columns.items():
                column.append(getattr(chunk, name))
        self._set(columns)

    @classmethod
    def from_columns(cls, columns: Mapping[str, list[Any]]) -> ChunkTable:
        """The table of `columns` (one list per StoredChunk field, as `columns` gives them)."""
        if set(columns) != set(cls._COLUMNS):
            raise ValueError(f"chunk table columns {sorted(columns)} != {sorted(cls._COLUMNS)}")
        table = cls.__new__(cls)
        table._set(dict(columns))
        return table

    def _set(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns
        self.ids: list[str] = columns["id"]
        self.days: list[int | None] = columns["day"]
        self._rows = {id_: row for row, id_ in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._rows

    def at(self, row: int) -> StoredChunk:
        return StoredChunk(**{name: column[row] for name, column in self.columns.items()})

    def get(self, chunk_id: str) -> StoredChunk:
        return self.at(self._rows[chunk_id])

    def documents(self) -> Iterator[str]:
        """What BM25 indexes of each chunk, in order: its title and its text."""
        titles, texts = self.columns["title"], self.columns["text"]
        return (f"{title}\n{text}" for title, text in zip(titles, texts, strict=True))


@dataclass(frozen=True)
class SentenceVector:
    start: int  # offsets in the chunk's text
    end: int
    vector: np.ndarray


@dataclass(frozen=True)
class ArticleVectors:
    """The vectors of one group of articles, as `Vectors.put` writes them: one row per chunk;
    one per sentence span (offsets in the chunk's text) of `spans`, chunk after chunk."""

    chunks: np.ndarray
    sentences: np.ndarray
    spans: Mapping[str, Sequence[tuple[int, int]]]  # chunk id -> its sentences (may be none)


class Vectors:
    """The chunk and sentence collections, typed. Chroma dicts stop here."""

    def __init__(self, chunks: Collection, sentences: Collection) -> None:
        self.chunks = chunks
        self.sentences = sentences

    def count(self) -> int:
        """How many chunks."""
        return self.chunks.count()

    # -- writes -----------------------------------------------------------------------------
    def put(
        self, batch: Sequence[tuple[Article, Sequence[Chunk]]], vectors: ArticleVectors
    ) -> None:
        """Upsert every sentence, then every chunk, of a group of articles."""
        sentence_ids: list[str] = []
        sentence_metas: list[Metadata] = []
        for article, chunks in batch:
            day = day_number(article.date)
            for c in chunks:
                for n, (start, end) in enumerate(vectors.spans.get(c.id, ())):
                    sentence_ids.append(_sentence_id(c.id, n))
                    sentence_metas.append(_sentence_meta(article.id, c.id, start, end, day))
        _upsert(self.sentences, sentence_ids, vectors.sentences, sentence_metas)
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
                metas.append(clean({**meta, "start": c.start, "end": c.end}))
        _upsert(self.chunks, chunk_ids, vectors.chunks, metas, docs)

    def replace_sentences(
        self, chunks: Sequence[tuple[StoredChunk, list[tuple[int, int]], int]], vectors: np.ndarray
    ) -> None:
        """Give stored chunks new sentences: per chunk, its new spans (offsets in its text)
        and how many sentences it had; `vectors`, the new sentences' in order. The new ones
        are written over the old ids, then the old ones past them dropped: killed in between,
        a chunk keeps sentences it no longer has, which the next re-split finds again."""
        ids, metas, stale = [], [], []
        for chunk, spans, had in chunks:
            for n, (start, end) in enumerate(spans):
                ids.append(_sentence_id(chunk.id, n))
                metas.append(_sentence_meta(chunk.article_id, chunk.id, start, end, chunk.day))
            stale += [_sentence_id(chunk.id, n) for n in range(len(spans), had)]
        _upsert(self.sentences, ids, vectors, metas)
        for i in range(0, len(stale), PAGE):
            self.sentences.delete(ids=stale[i : i + PAGE])

    def delete(self, article_ids: Sequence[str]) -> None:
        """Drop the chunks and sentences of these articles (sentences first: a chunk is never
        left without them by a killed sync, only sentences without their chunk, swept later)."""
        if not article_ids:
            return
        where = cast(Where, {"article": {"$in": list(article_ids)}})
        self.sentences.delete(where=where)
        self.chunks.delete(where=where)

    def articles(self) -> set[str]:
        """The ids of every article that has chunks or sentences."""
        return {
            m["article"]
            for col in (self.chunks, self.sentences)
            for _, metas, _ in pages(col, include=["metadatas"])
            for m in metas
        }

    # -- reads ------------------------------------------------------------------------------
    def sentence_spans(self) -> dict[str, list[tuple[int, int]]]:
        """Chunk id -> its sentences' offsets in its text, in order, for every chunk that has
        any: read PAGE at a time, without the vectors."""
        out: dict[str, list[tuple[int, int]]] = {}
        for _, metas, _ in pages(self.sentences, include=["metadatas"]):
            for m in metas:
                span = (cast(int, m["start"]), cast(int, m["end"]))
                out.setdefault(str(m["chunk"]), []).append(span)
        for spans in out.values():
            spans.sort()
        return out

    def each_chunk(self) -> Iterator[StoredChunk]:
        """Every chunk, read PAGE at a time."""
        for ids, metas, docs in pages(self.chunks, include=["metadatas", "documents"]):
            yield from (_stored(i, m, d) for i, m, d in zip(ids, metas, docs, strict=True))

    def query(
        self, vector: np.ndarray, k: int, published: Published | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks (published in the window) with their cosine, best first
        (fewer when the index holds fewer: Chroma caps k itself, so no count first, which cost
        15 ms at 96,000 chunks)."""
        res = self.chunks.query(
            query_embeddings=[vector],
            n_results=k,
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
        res = self.sentences.query(  # k capped by Chroma, like `query`'s (40 ms to count)
            query_embeddings=[vector],
            n_results=k,
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
        """Chunk id -> its sentences' offsets (in the chunk's text) and vectors, in order.

        Read by id: `put` names a chunk's sentences `<chunk id>:0`, `:1`, ... with no gap
        (`_sentence_id`), so SENTENCE_IDS ids are asked per chunk, and the next SENTENCE_IDS
        only for the chunks that filled them. At 440,000 sentences that is 15 ms for 80
        chunks, against 81 ms for a filter on their `chunk` metadata."""
        out: dict[str, list[SentenceVector]] = {c: [] for c in chunk_ids}
        todo, first = list(out), 0
        while todo:
            ids = [_sentence_id(c, n) for c in todo for n in range(first, first + SENTENCE_IDS)]
            for i in range(0, len(ids), PAGE):
                got = self.sentences.get(ids=ids[i : i + PAGE], include=["metadatas", "embeddings"])
                embs = got["embeddings"] if got["embeddings"] is not None else []
                for meta, emb in zip(got["metadatas"] or [], embs, strict=True):
                    start, end = cast(int, meta["start"]), cast(int, meta["end"])
                    vector = np.asarray(emb, dtype=np.float32)
                    out[str(meta["chunk"])].append(SentenceVector(start, end, vector))
            first += SENTENCE_IDS
            todo = [c for c in todo if len(out[c]) == first]
        for sentences in out.values():
            sentences.sort(key=lambda s: s.start)
        return out

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> its vector."""
        if not chunk_ids:
            return {}
        got = self.chunks.get(ids=list(chunk_ids), include=["embeddings"])
        embs = got["embeddings"] if got["embeddings"] is not None else []
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], embs, strict=True)}


def _upsert(
    col: Collection,
    ids: list[str],
    vectors: np.ndarray,
    metas: list[Metadata],
    docs: list[str] | None = None,
) -> None:
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} records but {len(vectors)} vectors for {col.name}")
    for i in range(0, len(ids), PAGE):
        col.upsert(
            ids=ids[i : i + PAGE],
            embeddings=vectors[i : i + PAGE],
            metadatas=metas[i : i + PAGE],
            documents=docs[i : i + PAGE] if docs is not None else None,
        )


def _sentence_meta(
    article_id: str, chunk_id: str, start: int, end: int, day: int | None
) -> Metadata:
    return clean({"article": article_id, "chunk": chunk_id, "start": start, "end": end, "day": day})


def _sentence_id(chunk_id: str, n: int) -> str:
    """The id of a chunk's `n`th sentence (from 0): `put` writes it, `sentence_vectors` reads
    by it."""
    return f"{chunk_id}:{n}"


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
