"""What every Chroma collection of ours shares: how they are created, paged and given
metadata. The index (`rag.store`) creates its collections here, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Metadata

#: Records per Chroma get/upsert call: keeps requests under a Chroma server's limits.
PAGE = 2000


def open_collection(client: ClientAPI, name: str, *, cosine: bool) -> Collection:
    """The collection `name`, created if missing; vectors always come from us (no embedding
    function: Chroma's default one would download a model)."""
    config: Any = {"hnsw": {"space": "cosine"}} if cosine else None
    return client.get_or_create_collection(name, embedding_function=None, configuration=config)


def clean(meta: dict[str, Any]) -> Metadata:
    """Chroma metadata cannot hold None."""
    return {k: v for k, v in meta.items() if v is not None}


def pages(col: Collection, include: list[Any]) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
    """Every record of `col`, PAGE at a time: ids, metadatas, documents."""
    offset = 0
    while True:
        got = col.get(include=include, limit=PAGE, offset=offset)
        ids = got["ids"]
        if not ids:
            return
        metas = [dict(m) for m in (got["metadatas"] or [{}] * len(ids))]
        docs = list(got["documents"] or [""] * len(ids))
        yield ids, metas, docs
        offset += len(ids)
