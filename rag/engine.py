"""The pipeline assembled: settings -> index, model, searcher; the one thing the CLI and the page
call (status, articles, add, remove, sync, search, ask, summarize).

Building an `Engine` opens the index and loads the model (once per process, cached by
`load_embedder`); it never syncs by itself: building the index is its own command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from chromadb.errors import ChromaError

from rag import library
from rag.answer import Answer, answer
from rag.config import Settings
from rag.embeddings import Embedder, LangChainEmbeddings, load_embedder
from rag.errors import RagError
from rag.indexer import Progress, SyncReport, sync
from rag.manifest import ArticleRecord
from rag.reader import Reader, load_reader
from rag.retrieval import Hit, HybridRetriever, Searcher
from rag.store import Store, index_error, open_store
from rag.text import question_language
from rag.vectors import Published

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass(frozen=True)
class IndexStatus:
    chunks: int
    model: str
    synced_at: str | None
    generation: int  # moves with every sync: what the page's caches are keyed by


P = ParamSpec("P")
R = TypeVar("R")


def _reads_index(
    method: Callable[Concatenate[Engine, P], R],
) -> Callable[Concatenate[Engine, P], R]:
    """Chroma failing on the index, told as what to do (`rag index --rebuild` for a damaged
    local index), not a traceback. A local index is first read from disk anew and the call made
    once more: another process may have been writing it."""

    @functools.wraps(method)
    def checked(self: Engine, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except ChromaError as exc:
            if self.settings.chroma_url:
                raise index_error(self.settings, exc) from exc
        self.store.reload()
        try:
            return method(self, *args, **kwargs)
        except ChromaError as exc:
            raise index_error(self.settings, exc) from exc

    return checked


@dataclass
class Engine:
    settings: Settings
    store: Store
    embedder: Embedder
    searcher: Searcher

    @_reads_index
    def sync(self, *, rebuild: bool = False, progress: Progress | None = None) -> SyncReport:
        return sync(self.settings, self.store, self.embedder, rebuild=rebuild, progress=progress)

    # -- the articles dir and the index, as the page and the CLI see them; the caller syncs --
    @_reads_index
    def status(self) -> IndexStatus:
        """What the index holds now (one read of its metadata)."""
        info = self.store.info
        return IndexStatus(
            chunks=int(info["chunks"]) if "chunks" in info else self.store.count(),
            model=self.embedder.name,
            synced_at=info.get("synced_at"),
            generation=int(info.get("generation", 0)),
        )

    @_reads_index
    def articles(self) -> dict[str, ArticleRecord]:
        """The manifest: every indexed article's record, by id."""
        return self.store.manifest.records()

    @_reads_index
    def article_text(self, article_id: str) -> str | None:
        """The article's text as indexed (what citations' offsets index into)."""
        return self.store.manifest.text(article_id)

    def add_file(self, name: str, data: bytes) -> Path:
        """Save an article file's bytes into the articles dir under a safe `name` (never
        replacing a different article: rag.library)."""
        return library.save_article(
            self.settings.articles_dir, name, data, max_bytes=self.settings.max_article_bytes
        )

    def add_url(self, url: str) -> Path:
        """Fetch the article at `url` into the articles dir (rag.web)."""
        from rag.web import add_url

        return add_url(
            self.settings.articles_dir,
            url,
            allow_private=self.settings.allow_private_urls,
            max_bytes=self.settings.max_article_bytes,
        )

    def remove(self, article_id: str) -> None:
        """Delete an article's file from the articles dir (the next sync drops it)."""
        library.remove_article(self.settings.articles_dir, article_id)

    @_reads_index
    def search(self, query: str, k: int = 5, *, published: Published | None = None) -> list[Hit]:
        """The k best passages; with `published`, of articles published in that window."""
        return self.searcher.search(query, k, published)

    def as_retriever(self, k: int = 5) -> HybridRetriever:
        """This index's hybrid search as a LangChain retriever, for anyone's LCEL chain."""
        return HybridRetriever(searcher=self.searcher, k=k)

    def as_embeddings(self) -> LangChainEmbeddings:
        """This index's embedding model as a LangChain `Embeddings`."""
        return LangChainEmbeddings(self.embedder)

    @_reads_index
    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        history: Sequence[Answer] = (),
        on_token: Callable[[str], None] | None = None,
        on_extractive: Callable[[Answer], None] | None = None,
        published: Published | None = None,
    ) -> Answer:
        """Extractive by default; with `settings.llm`, the extractive answer is handed to
        `on_extractive` as soon as it is known, then the model's answer is streamed to
        `on_token` and verified. `history`: the conversation's earlier answers, for
        follow-ups. `published`: only articles published in that window."""
        if self.settings.llm:
            from rag.llm import llm_answer

            return llm_answer(
                question,
                self.searcher,
                self.reader,
                self.llm,
                k=k,
                history=history,
                on_token=on_token,
                on_extractive=on_extractive,
                published=published,
            )
        return answer(
            question, self.searcher, self.reader, k=k, history=history, published=published
        )

    @_reads_index
    def summarize(
        self,
        record: ArticleRecord,
        *,
        history: Sequence[Answer] = (),
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """A summary of one article by the chat model (`settings.llm`), cited and verified,
        streamed to `on_token`; in the language of the conversation's last question, else
        English."""
        from rag.llm import summarize

        language = (question_language(history[-1].question) if history else None) or "en"
        text = self.store.manifest.text(record.id)
        if text is None:
            raise RagError(f"{record.id} is no longer in the index: sync it, then try again.")
        hit = Hit(
            chunk_id=record.id,
            article_id=record.id,
            title=record.title,
            start=0,
            end=len(text),
            text=text,
            score=0.0,
            similarity=0.0,
            date=record.date,
            url=record.url,
        )
        return summarize(hit, text, self.llm, self.embedder, language=language, on_token=on_token)

    @functools.cached_property
    def reader(self) -> Reader:
        """The trained reader (rag.reader), loaded on first use."""
        return load_reader(self.settings.cache_dir).for_sentences(self.settings.sentence_vectors)

    @functools.cached_property
    def llm(self) -> BaseChatModel:
        """The chat model named by `settings.llm`, built on first use."""
        from rag.errors import ConfigError
        from rag.llm import make_chat_model

        if not self.settings.llm:
            raise ConfigError("No chat model is set: set RAG_LLM (local, or e.g. ollama:llama3.2).")
        return make_chat_model(self.settings.llm, self.settings)


def open_engine(
    settings: Settings,
    *,
    must_exist: bool = False,
    rebuilding: bool = False,
    embedder: Embedder | None = None,
) -> Engine:
    """`must_exist`: raise IndexMissingError (saying to run `rag index`) if there is no index.
    `rebuilding`: a local index Chroma cannot read is set aside, not an error (`open_store`).
    `embedder`: an already loaded model to share (else the settings' model is loaded)."""
    store = open_store(settings, must_exist=must_exist, rebuilding=rebuilding)
    if embedder is None:
        embedder = load_embedder(
            settings.embedding_model, settings.cache_dir, settings.embedding_backend
        )
    bm25_dir = None if settings.chroma_url else settings.index_dir  # a server's: not ours
    return Engine(settings, store, embedder, Searcher(store, embedder, bm25_dir))
