"""Shared fixtures: real components kept tiny. The model loads once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import MINILM, Embedder, load_embedder
from rag.engine import Engine
from rag.retrieval import Searcher
from rag.store import open_store

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
TEST_ARTICLES = ROOT / "tests" / "data" / "articles"
SEED_ID = "000_f32d863d3c202223.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder(DEFAULT_MODEL, Settings().cache_dir)


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    return load_embedder(MINILM, Settings().cache_dir)


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A private copy of the seed and the test articles."""
    root = tmp_path / "articles"
    shutil.copytree(SEEDS, root)
    shutil.copytree(TEST_ARTICLES, root, dirs_exist_ok=True)
    return root


@pytest.fixture
def settings(tmp_path: Path, articles_dir: Path) -> Settings:
    return Settings(articles_dir=articles_dir, index_dir=tmp_path / "index")


def make_engine(settings: Settings, embedder: Embedder) -> Engine:
    store = open_store(settings)
    return Engine(settings, store, embedder, Searcher(store, embedder))


@pytest.fixture
def engine(settings: Settings, embedder: Embedder) -> Engine:
    return make_engine(settings, embedder)


@pytest.fixture
def synced(engine: Engine) -> Engine:
    engine.sync()
    return engine
