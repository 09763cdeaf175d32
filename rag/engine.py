"""The pipeline assembled: settings -> index, model, searcher; what the CLI and the page call.

Building an `Engine` opens the index and loads the model (once per process, cached by
`load_embedder`); it never syncs by itself: building the index is its own command.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer import Answer, answer
from rag.config import Settings
from rag.embeddings import Embedder, load_embedder
from rag.indexer import Progress, SyncReport, sync
from rag.retrieval import Hit, Searcher
from rag.store import Store, open_store


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

    def ask(self, question: str, k: int = 5) -> Answer:
        return answer(question, self.searcher, k=k)


def open_engine(settings: Settings, *, must_exist: bool = False) -> Engine:
    """`must_exist`: raise IndexMissingError (saying to run `rag index`) if there is no index."""
    store = open_store(settings, must_exist=must_exist)
    embedder = load_embedder(settings.embedding_model, settings.cache_dir)
    return Engine(settings, store, embedder, Searcher(store, embedder))
