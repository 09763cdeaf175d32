"""Local question answering over news articles, with citations that are exact slices of the text.

    from pathlib import Path

    from rag import Settings, open_engine

    engine = open_engine(Settings(articles_dir=Path("seeds"), index_dir=Path("index")))
    engine.sync()
    answer = engine.ask("When do SU7 Ultra deliveries start?")
    print(answer.text, [c.quote for c in answer.citations])

The public names are imported on first use, so `import rag.bm25` does not load Chroma.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "Settings": "rag.config",
    "open_engine": "rag.engine",
    "Engine": "rag.engine",
    "Answer": "rag.answer",
    "Citation": "rag.answer",
    "Hit": "rag.retrieval",
    "HybridRetriever": "rag.retrieval",
    "SyncReport": "rag.indexer",
    "RagError": "rag.errors",
}
__all__ = [
    "Answer",
    "Citation",
    "Engine",
    "Hit",
    "HybridRetriever",
    "RagError",
    "Settings",
    "SyncReport",
    "__version__",
    "open_engine",
]

if TYPE_CHECKING:
    from rag.answer import Answer, Citation
    from rag.config import Settings
    from rag.engine import Engine, open_engine
    from rag.errors import RagError
    from rag.indexer import SyncReport
    from rag.retrieval import Hit, HybridRetriever


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
