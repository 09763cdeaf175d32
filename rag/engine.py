"""The pipeline assembled: settings -> index, model, searcher; what the CLI and the page call.

Building an `Engine` opens the index and loads the model (once per process, cached by
`load_embedder`); it never syncs by itself: building the index is its own command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer import Answer, answer
from rag.config import Settings
from rag.embeddings import Embedder, LangChainEmbeddings, load_embedder
from rag.indexer import Progress, SyncReport, sync
from rag.reader import Reader, load_reader
from rag.retrieval import Hit, HybridRetriever, Searcher
from rag.store import Store, open_store

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass
class Engine:
    settings: Settings
    store: Store
    embedder: Embedder
    searcher: Searcher

    def sync(self, *, rebuild: bool = False, progress: Progress | None = None) -> SyncReport:
        return sync(self.settings, self.store, self.embedder, rebuild=rebuild, progress=progress)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.searcher.search(query, k)

    def as_retriever(self, k: int = 5) -> HybridRetriever:
        """This index's hybrid search as a LangChain retriever, for anyone's LCEL chain."""
        return HybridRetriever(searcher=self.searcher, k=k)

    def as_embeddings(self) -> LangChainEmbeddings:
        """This index's embedding model as a LangChain `Embeddings`."""
        return LangChainEmbeddings(self.embedder)

    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        history: Sequence[Answer] = (),
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Extractive by default; with `settings.llm`, generated, verified, and streamed to
        `on_token`. `history`: the conversation's earlier answers, for follow-ups."""
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
            )
        return answer(question, self.searcher, self.reader, k=k, history=history)

    @functools.cached_property
    def reader(self) -> Reader:
        """The trained reader (rag.reader), loaded on first use."""
        return load_reader(self.settings.cache_dir)

    @functools.cached_property
    def llm(self) -> BaseChatModel:
        """The chat model named by `settings.llm`, built on first use."""
        from rag.errors import ConfigError
        from rag.llm import make_chat_model

        if not self.settings.llm:
            raise ConfigError("No chat model is set: set RAG_LLM (e.g. ollama:llama3.2).")
        return make_chat_model(self.settings.llm, self.settings)


def open_engine(
    settings: Settings, *, must_exist: bool = False, embedder: Embedder | None = None
) -> Engine:
    """`must_exist`: raise IndexMissingError (saying to run `rag index`) if there is no index.
    `embedder`: an already loaded model to share (else the settings' model is loaded)."""
    store = open_store(settings, must_exist=must_exist)
    if embedder is None:
        embedder = load_embedder(
            settings.embedding_model, settings.cache_dir, settings.embedding_backend
        )
    return Engine(settings, store, embedder, Searcher(store, embedder))
