"""Scale-out: app processes sharing one Chroma server see each other's syncs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SEED_ID, make_engine

from rag.config import Settings
from rag.embeddings import Embedder


def rag(*args: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "rag", *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.splitlines()[-1])


def test_index_in_one_process_ask_from_another(
    chroma_url: str, articles_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    env = {
        **os.environ,
        "RAG_CHROMA_URL": chroma_url,
        "RAG_ARTICLES_DIR": str(articles_dir),
        # No local index dir is used: point it somewhere empty to prove it.
        "RAG_INDEX_DIR": str(tmp_path / "unused"),
    }
    report = rag("index", env=env)
    assert report["embedded"] == report["chunks"] > 0

    answer = rag("ask", "When do SU7 Ultra deliveries start?", env=env)
    assert answer["citations"][0]["article"] == SEED_ID
    assert "premier trimestre 2025" in answer["citations"][0]["quote"]
    assert not (tmp_path / "unused").exists()

    # A third process, reading the same server, sees the sync: nothing left to embed.
    assert rag("index", env=env)["embedded"] == 0


def test_lexical_search_follows_another_processs_sync(
    chroma_url: str, articles_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(articles_dir=articles_dir, chroma_url=chroma_url, collection="shared-bm25")
    reader = make_engine(settings, embedder)
    reader.sync()
    assert all("Quimper" not in h.text for h in reader.search("Quimper tramway", k=5))

    (articles_dir / "tram.txt").write_text(
        "Le tramway de Quimper\nLe tramway de Quimper transportera 20 000 voyageurs par jour.\n",
        encoding="utf-8",
    )
    # Another app process syncs the new article into the shared collection.
    writer = make_engine(settings, embedder)
    assert writer.sync().added == 1
    hits = reader.search("Quimper tramway", k=3)
    assert hits[0].article_id == "tram.txt"
