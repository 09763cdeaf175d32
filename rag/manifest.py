"""The manifest: one record per article (sha256, title, date, url, source, language, chunk
count), with the article's full text as its document (the page shows it, citations are checked
against it, and a Chroma server has no access to our disk). Its vector is a placeholder: it is
never queried."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from chromadb.api.models.Collection import Collection

from rag.collections import clean, pages


@dataclass(frozen=True, slots=True)
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


class Manifest:
    """The `<name>-articles` collection, typed."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def records(self) -> dict[str, ArticleRecord]:
        """Every article's record, by id."""
        out: dict[str, ArticleRecord] = {}
        for ids, metas, _ in pages(self.collection, include=["metadatas"]):
            for id_, meta in zip(ids, metas, strict=True):
                out[id_] = ArticleRecord(id=id_, **meta)
        return out

    def text(self, article_id: str) -> str | None:
        """The article's text as indexed (a duplicate's is its original's), or None."""
        got = self.collection.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        canonical = (got["metadatas"] or [{}])[0].get("duplicate_of")
        if isinstance(canonical, str):
            return self.text(canonical)
        return (got["documents"] or [""])[0]

    def put(self, records: Sequence[ArticleRecord], texts: Sequence[str]) -> None:
        if not records:
            return
        ids = [r.id for r in records]
        metas = [clean({k: v for k, v in asdict(r).items() if k != "id"}) for r in records]
        # Chroma merges metadata on upsert; delete first so no stale key (duplicate_of) survives.
        self.collection.delete(ids=ids)
        self.collection.upsert(
            ids=ids,
            embeddings=np.ones((len(ids), 1), dtype=np.float32),
            documents=list(texts),
            metadatas=metas,
        )

    def delete(self, article_id: str) -> None:
        self.collection.delete(ids=[article_id])
