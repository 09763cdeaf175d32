"""Shared fixtures: real components kept tiny. The model loads once per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import MINILM, Embedder, load_embedder
from rag.engine import Engine, open_engine

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
TEST_ARTICLES = ROOT / "tests" / "data" / "articles"
SEED_ID = "000_f32d863d3c202223.txt"
#: Two dated articles giving a delivery target, then the same target raised (name -> text).
REVISED_TARGET = {
    "xiaomi-mars.md": "---\ntitle: Xiaomi fixe son objectif\ndate: 2024-03-28\n---\n"
    "Xiaomi a présenté jeudi sa première voiture électrique, la SU7. Le groupe vise 100 000 "
    "livraisons de SU7 en 2024, a indiqué son PDG Lei Jun lors du lancement à Pékin.\n",
    "xiaomi-juillet.md": "---\ntitle: Xiaomi relève son objectif\ndate: 2024-07-19\n---\n"
    "Porté par une demande record, Xiaomi relève son objectif : le constructeur vise désormais "
    "120 000 livraisons de SU7 en 2024. L'usine de Pékin tourne en deux équipes.\n",
}


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`, shipped with chromadb) on a free loopback port."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the Chroma server did not start within 20 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["local", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    """Tests using `settings` run against a local index dir and against a Chroma server."""
    return str(request.param)


@pytest.fixture
def settings(
    tmp_path: Path, articles_dir: Path, backend: str, request: pytest.FixtureRequest
) -> Settings:
    if backend == "server":
        url = request.getfixturevalue("chroma_url")
        # One collection per test: tests share the server, never each other's index.
        return Settings(
            articles_dir=articles_dir,
            index_dir=tmp_path / "index",
            chroma_url=url,
            collection=f"t{uuid.uuid4().hex[:12]}",
        )
    return Settings(articles_dir=articles_dir, index_dir=tmp_path / "index")


def damage_index(index_dir: Path) -> bytes:
    """Overwrite the local index's Chroma database in place with bytes that are none (a disk
    gone bad, a copy cut short), as an open client would then find it; returns them."""
    db = index_dir / "chroma.sqlite3"
    junk = (b"no database here " * db.stat().st_size)[: db.stat().st_size]
    with db.open("r+b") as f:
        f.write(junk)
    return junk


def make_engine(settings: Settings, embedder: Embedder) -> Engine:
    return open_engine(settings, embedder=embedder)


@pytest.fixture
def engine(settings: Settings, embedder: Embedder) -> Engine:
    return make_engine(settings, embedder)


@pytest.fixture
def synced(engine: Engine) -> Engine:
    engine.sync()
    return engine
