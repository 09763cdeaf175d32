"""The trained reader: pair encoding, span decoding, and the shipped weights on real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import reader
from rag.config import Settings
from rag.errors import ModelError

SENTENCE = (
    "D’ici la fin du mois d’octobre, elle devrait dévoiler son deuxième modèle, un SUV "
    "électrique sportif qui arrivera sur le marché en 2025 ; les livraisons de la SU7 Ultra "
    "commenceront au premier trimestre 2025, tandis qu’à la fin de la même année, elle "
    "dévoilera son troisième véhicule."
)
OTHER = "Lei Jun, PDG de Xiaomi, est généralement très actif sur les médias sociaux."


@pytest.fixture(scope="module")
def shipped() -> reader.Reader:
    return reader.load_reader(Settings().cache_dir)


def test_pairs_keep_each_sentence_token_on_its_characters(shipped: reader.Reader) -> None:
    pairs = reader.encode_pairs(shipped.tokenizer, "When do deliveries start?", [SENTENCE, OTHER])
    for pair, text in zip(pairs, [SENTENCE, OTHER], strict=True):
        assert pair.ids[0] == shipped.tokenizer.token_to_id("<s>")
        assert pair.ids[-1] == shipped.tokenizer.token_to_id("</s>")
        assert pair.sentence_to - pair.sentence_from == len(pair.offsets)
        pieces = "".join(text[s:e] for s, e in pair.offsets)
        assert pieces.replace(" ", "") == text.replace(" ", "")


def test_long_inputs_are_cut_to_the_limits(shipped: reader.Reader) -> None:
    (pair,) = reader.encode_pairs(shipped.tokenizer, "why " * 200, ["mot " * 400])
    assert pair.sentence_to - pair.sentence_from == reader.MAX_SENTENCE_TOKENS
    assert pair.sentence_from <= reader.MAX_QUESTION_TOKENS + 5


def test_best_span_stays_inside_the_sentence_and_short() -> None:
    start, end = np.full(80, -5.0), np.full(80, -5.0)
    start[2], end[3] = 9.0, 9.0  # the best pair overall, but before the sentence (lo = 5)
    start[10], end[12] = 4.0, 4.0
    i, j, p = reader.best_span(start, end, 5, 70)
    assert (i + 5, j + 5) == (10, 12) and 0 < p <= 1
    start[40], end[40 + reader.MAX_SPAN_TOKENS + 3] = 9.0, 9.0  # too long to be proposed
    i, j, _ = reader.best_span(start, end, 5, 70)
    assert (i + 5, j + 5) == (10, 12)


@pytest.mark.parametrize(
    ("text", "start", "end", "expected"),
    [
        ("au premier trimestre 2025, tandis", 2, 25, "premier trimestre 2025"),
        ("la SU7 Ultra", 4, 6, "SU7"),  # a token inside a word widens to the word
        ("«Bloomberg TV»", 0, 14, "Bloomberg TV"),
    ],
)
def test_word_span_snaps_to_words(text: str, start: int, end: int, expected: str) -> None:
    s, e = reader.word_span(text, start, end)
    assert text[s:e] == expected


def test_the_reader_picks_the_answering_sentence_across_languages(
    shipped: reader.Reader,
) -> None:
    answering, other = shipped.read("When do SU7 Ultra deliveries start?", [SENTENCE, OTHER])
    assert answering.logit > other.logit + 3
    assert answering.span is not None
    assert "premier trimestre 2025" in SENTENCE[answering.span[0] : answering.span[1]]


def test_bfloat16_reads_as_float32_does(shipped: reader.Reader) -> None:
    float_reader = reader.load_reader(Settings().cache_dir, bf16=False)
    half = reader.load_reader(Settings().cache_dir, bf16=True)
    question, sentences = "When do SU7 Ultra deliveries start?", [OTHER, SENTENCE]
    got, ref = half.read(question, sentences), float_reader.read(question, sentences)
    for a, b in zip(got, ref, strict=True):
        assert a.logit == pytest.approx(b.logit, abs=0.1)
    assert got[1].span == ref[1].span


def test_a_verdict_does_not_depend_on_the_other_sentences(shipped: reader.Reader) -> None:
    question = "When do SU7 Ultra deliveries start?"
    alone = shipped.read(question, [SENTENCE])[0]
    together = shipped.read(question, [OTHER, "Mais ce n’est pas tout.", SENTENCE])[2]
    assert together.logit == pytest.approx(alone.logit, abs=0.02)
    assert together.span == alone.span


def test_sentences_read_in_several_batches_come_back_in_their_order(
    shipped: reader.Reader,
) -> None:
    question = "When do SU7 Ultra deliveries start?"
    sentences = [OTHER, "Mais ce n’est pas tout.", SENTENCE, "Non.", OTHER + " " + SENTENCE, "Oui."]
    assert (
        len(reader.length_batches(reader.encode_pairs(shipped.tokenizer, question, sentences))) > 1
    )
    together = shipped.read(question, sentences)
    for sentence, verdict in zip(sentences, together, strict=True):
        alone = shipped.read(question, [sentence])[0]  # bf16: padding moves logits a little
        assert verdict.logit == pytest.approx(alone.logit, abs=0.1)
        assert verdict.span == alone.span


def test_the_shipped_weights_change_only_the_top_layers(shipped: reader.Reader) -> None:
    from safetensors.torch import load_file

    trained = load_file(str(reader.WEIGHTS))
    layers = {int(k.split(".")[3]) for k in trained if k.startswith("encoder.encoder.layer.")}
    top = shipped.card["trained_layers"]
    assert layers == set(range(12 - top, 12))
    assert {"answers.weight", "span.weight"} <= set(trained)
    assert reader.WEIGHTS.stat().st_size <= 25 * 2**20


def test_missing_weights_say_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(reader, "WEIGHTS", tmp_path / "gone.safetensors")
    reader._load_reader.cache_clear()
    try:
        with pytest.raises(ModelError, match="train_reader"):
            reader.load_reader(Settings().cache_dir)
    finally:
        reader._load_reader.cache_clear()


def test_an_index_of_pooled_sentence_vectors_gets_the_calibration_fitted_on_such(
    shipped: reader.Reader,
) -> None:
    pooled = shipped.for_sentences("pooled")
    assert pooled.card["calibration"] == shipped.card["pooled"]["calibration"]
    assert pooled.card["calibration"] != shipped.card["calibration"]
    assert pooled.model is shipped.model and pooled._lock is shipped._lock
    assert shipped.for_sentences("alone") is shipped
