"""Run a sentence-transformers model's transformer as int8 in ONNX Runtime: about 3x less CPU.

`use_int8(model, cache_dir)` exports the model's transformer once to ONNX (torch's TorchScript
exporter), quantises its weights to int8 with one scale per output channel (onnxruntime's
dynamic quantisation), checks the result against the float model, caches it under
`cache_dir/onnx-int8/`, and puts an onnxruntime session where the transformer's torch module
was. Tokenising, prompts, pooling and normalisation stay sentence-transformers' own, so
`encode_query` / `encode_document` work unchanged.

Measured on 2 cores with multilingual-e5-small, 4,013 OrangeSum chunks (bench/embed_speed.py,
docs/benchmarks.md): torch float32 19 chunks/s, this 63; cosine to the float model min 0.9925,
mean 0.997. A model whose int8 copy falls below `MIN_COSINE` on the check sentences, or that
cannot be exported, stays on torch.

Why not sentence-transformers' `backend="onnx"`: it needs `optimum`, whose releases pin
transformers < 4.58, and its int8 presets use one scale per matrix, which loses too much on
this model (cosine min 0.978).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rag.cache import cached_folder
from rag.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the exported file changes
MIN_COSINE = 0.99  # int8 vs float on CHECK_TEXTS, per text
MODEL_FILE = "model_int8.onnx"
CHECK_TEXTS = [
    "Les livraisons de la SU7 Ultra commenceront au premier trimestre 2025.",
    "Xiaomi a vendu 100 000 voitures ; l’accélération de 0 à 100 km/h prend 2,9 secondes.",
    "When do deliveries start in Europe?",
    "The strike shut down rail traffic between Paris and Lyon on Tuesday.",
    "La canicule : « des records battus » dans les Pyrénées.Alors que l'été commence.",
    "Die Batteriefabrik in Dünkirchen soll 2027 eröffnen.",
    " ".join(["Le pont sera rénové pendant deux ans, pour 40 millions d'euros."] * 30),
]


def use_int8(model: SentenceTransformer, cache_dir: Path, threads: int = 0) -> bool:
    """Switch `model` to its int8 ONNX copy (built once); False if it stays on torch.
    `threads`: per forward pass (0: ONNX Runtime's default, one per core)."""
    transformer = model[0]
    encoder = getattr(transformer, "auto_model", None)
    if encoder is None or not hasattr(encoder, "config"):
        log.info("%s has no transformer to export; embedding with torch", type(transformer))
        return False
    dest = cache_dir / "onnx-int8" / _model_key(encoder)
    try:
        folder = cached_folder(
            dest, {"export_version": EXPORT_VERSION}, lambda out: _export(model, out), "int8 model"
        )
    except ModelError:
        raise  # the cache is not writable: say so
    except Exception as exc:  # an architecture the exporter or quantiser cannot handle
        log.warning("Cannot export the model to int8 ONNX (%s); embedding with torch", exc)
        return False
    check = folder / MODEL_FILE
    if not check.exists():  # the export ran but the int8 copy was too far from the float model
        return False
    transformer.model = OnnxEncoder(encoder.config, _session(check, threads))
    return True


class OnnxEncoder(torch.nn.Module):
    """Stands in for a Hugging Face encoder inside sentence-transformers' Transformer module."""

    def __init__(self, config: Any, session: Any) -> None:
        super().__init__()
        self.config = config
        self.session = session

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any
    ) -> dict[str, torch.Tensor]:
        feed = {
            "input_ids": input_ids.numpy().astype(np.int64, copy=False),
            "attention_mask": attention_mask.numpy().astype(np.int64, copy=False),
        }
        (hidden,) = self.session.run(None, feed)
        return {"last_hidden_state": torch.from_numpy(hidden)}


def _session(path: Path, threads: int = 0) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _model_key(encoder: Any) -> str:
    """Names the float weights: a sample of every tensor, so another model gets another file."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}|{type(encoder).__name__}".encode())
    for name, tensor in encoder.state_dict().items():
        flat = tensor.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // 4096)].float().numpy()
        digest.update(f"{name}|{tuple(tensor.shape)}|".encode())
        digest.update(sample.tobytes())
    return digest.hexdigest()[:16]


def _export(model: SentenceTransformer, out: Path) -> None:
    """Write `out/MODEL_FILE` if its int8 embeddings stay within MIN_COSINE of the float ones
    (else write nothing: the cached verdict is "use torch")."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    encoder: torch.nn.Module = model[0].auto_model.eval()  # type: ignore[union-attr]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]

    # Trace with real padding, so the mask is not optimised away for an all-ones example.
    example = model.preprocess(["un", "deux mots de plus"])
    axes = {0: "batch", 1: "tokens"}
    fp32 = out / "model_fp32.onnx"
    with torch.inference_mode(), _quiet():
        torch.onnx.export(
            Hidden(),
            (example["input_ids"], example["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            dynamo=False,
            opset_version=17,
        )
        # One scale per output channel: one per matrix (per_channel=False) costs ~0.015 cosine.
        quantize_dynamic(str(fp32), str(out / MODEL_FILE), per_channel=True,
                         weight_type=QuantType.QInt8)  # fmt: skip
    fp32.unlink()
    reference = model.encode(CHECK_TEXTS, normalize_embeddings=True)
    int8 = _embed_with(model, out / MODEL_FILE, CHECK_TEXTS)
    worst = float(np.min(np.sum(reference * int8, axis=1)))
    if worst < MIN_COSINE:
        log.warning("int8 copy too far from the float model (cosine %.4f); using torch", worst)
        (out / MODEL_FILE).unlink()
    else:
        log.info("int8 copy checked: cosine to the float model >= %.4f", worst)


def _embed_with(model: SentenceTransformer, path: Path, texts: list[str]) -> np.ndarray:
    transformer = model[0]
    float_encoder: Any = transformer.model
    transformer.model = OnnxEncoder(float_encoder.config, _session(path))
    try:
        return np.asarray(model.encode(texts, normalize_embeddings=True))
    finally:
        transformer.model = float_encoder


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracer warnings and the quantiser's advice (root-logger records)."""
    root = logging.getLogger()

    def not_root(record: logging.LogRecord) -> bool:
        return record.name != "root"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.addFilter(not_root)
        try:
            yield
        finally:
            root.removeFilter(not_root)
