"""The bench's scoring path on a tiny corpus: every system and fusion variant ranks, and ours
finds the seed article (the full runs need ../shared/data and take minutes)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from conftest import SEED_ID, SEEDS, TEST_ARTICLES

from bench import analysis, calibrate_reader, news_questions, report, train_reader
from bench.data import Query, Task
from bench.pipelines import Ours, Tutorial, tutorial_embeddings
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import Embedder, resolve_model


def test_run_task_scores_every_system_and_variant(tmp_path: Path, embedder: Embedder) -> None:
    articles = tmp_path / "bench" / "articles"  # UTF-8 text only: the tutorial reads no other
    shutil.copytree(SEEDS, articles)
    shutil.copy(TEST_ARTICLES / "tech" / "voltaire-gt-record.txt", articles)
    ours = Ours(tmp_path / "bench", embedder)
    assert ours.sync()[0].embedded > 0
    embeddings, _ = tutorial_embeddings(resolve_model(DEFAULT_MODEL, Settings().cache_dir))
    tut = Tutorial(tmp_path / "bench", embeddings)
    tut.ensure(sorted(p.name for p in articles.iterdir()))
    task = Task(
        "seed",
        "test",
        [
            Query("When do SU7 Ultra deliveries start?", SEED_ID),
            Query("Xiaomi SU7 Europe", SEED_ID),
        ],
    )
    result = analysis.run_task(task, ours, tut, embedder)
    assert set(result["systems"]) == {"ours", "bm25", "dense", "tutorial"}
    assert set(result["fusion"]) == set(analysis.VARIANTS)
    assert result["systems"]["ours"]["recall@1"] == 1.0
    assert result["fusion"][analysis.SHIPPED]["recall@1"] == 1.0
    assert "seed" in report.fusion_table([result])


SENTENCE = "Le constructeur Renault a vendu 52 000 Zoé en 2019, selon Le Monde."


def test_a_news_question_is_kept_only_if_it_is_english_and_its_answer_is_copied() -> None:
    keep = news_questions.parse(
        "Question: How many Zoé did Renault sell in 2019?\nAnswer: 52 000 Zoé", SENTENCE
    )
    assert keep == ("How many Zoé did Renault sell in 2019?", "52 000 Zoé")
    for reply in (
        "Question: How many Zoé did Renault sell in 2019?\nAnswer: 52,000 Zoés",  # not copied
        "Question: Combien de Zoé Renault a-t-il vendu en 2019 ?\nAnswer: 52 000 Zoé",  # French
        "Question: Did Renault sell 52 000 Zoé in 2019?\nAnswer: 52 000 Zoé",  # answer asked
        "Question: How many Zoé did Renault sell in 2019?",  # no answer
        "How many Zoé did Renault sell in 2019? 52 000",  # not the format
    ):
        assert news_questions.parse(reply, SENTENCE) is None, reply


def test_a_news_question_trains_like_an_answerable_one() -> None:
    text = f"Les ventes de voitures électriques progressent. {SENTENCE} La Tesla suit."
    start = text.index("52 000 Zoé")
    qa = {"id": "n1", "question": "How many Zoé did Renault sell in 2019?",
          "answers": [{"text": "52 000 Zoé", "answer_start": start}]}  # fmt: skip
    article = {"title": "Zoé", "paragraphs": [{"context": text, "qas": [qa]}]}
    pairs = train_reader.examples([article], random.Random(0))
    [positive] = [p for p in pairs if p.label == 1.0]
    assert positive.sentence == SENTENCE
    assert positive.span and positive.sentence[slice(*positive.span)] == "52 000 Zoé"
    assert {p.sentence for p in pairs if p.label == 0.0} == {
        "Les ventes de voitures électriques progressent.",
        "La Tesla suit.",
    }


def test_only_a_figure_or_a_name_trains_the_span() -> None:
    assert all(map(news_questions.factoid, ["52 000 Zoé", "Sophie Cluzel", "le 7 février"]))
    assert not any(map(news_questions.factoid, ["très perturbé", "Elle", "longue maladie"]))
    qa = {"id": "n2", "question": "What is the state of the traffic?", "span": False,
          "answers": [{"text": "très perturbé", "answer_start": 13}]}  # fmt: skip
    article = {
        "title": "SNCF",
        "paragraphs": [{"context": "Le trafic est très perturbé.", "qas": [qa]}],
    }
    [positive] = train_reader.examples([article], random.Random(0))
    assert positive.label == 1.0 and positive.span is None


def test_an_english_question_is_trained_against_the_french_sentences_closest_in_meaning(
    embedder: Embedder,
) -> None:
    text = (
        "Le musée ouvre à neuf heures. La ville compte 20 000 habitants. "
        "Le maire, Jean Dupont, a inauguré le nouveau pont en 2019. "
        "Le pont a coûté 12 millions d'euros. Les travaux du pont ont duré trois ans. "
        "Il pleut souvent en novembre."
    )
    question = "Who inaugurated the new bridge?"
    answer = {"text": "Jean Dupont", "answer_start": text.index("Jean Dupont")}
    qa = {"id": "b1", "question": question, "answers": [answer]}
    article = {"title": "Pont", "paragraphs": [{"context": text, "qas": [qa]}]}
    closest = train_reader.closest_vectors(embedder, [article], [question])
    sentences = [text[s:e] for s, e in train_reader.split_sentences(text)]
    # Shared words would pick the paragraph's first sentences: the question shares none.
    assert train_reader.closest_words(question, sentences, {2}, 2) == [0, 1]
    assert set(closest(question, sentences, {2}, 2)) == {3, 4}
    pairs = train_reader.examples([article], random.Random(0), closest=closest)
    negatives = {p.sentence for p in pairs if p.label == 0.0}
    assert {sentences[3], sentences[4]} <= negatives


def test_the_abstention_threshold_is_the_middle_of_the_plateau() -> None:
    """Of the thresholds tied with the best (within PLATEAU), the middle one: a near tie must
    not flip the threshold from one fit to the next."""
    balanced = {0.2: 0.60, 0.25: 0.666, 0.3: 0.669, 0.35: 0.671, 0.4: 0.662, 0.45: 0.5}
    table = [{"threshold": t, "balanced": b} for t, b in balanced.items()]
    assert calibrate_reader.plateau(table)["threshold"] == 0.3
    table[3]["balanced"] = 0.68  # a clear best stands alone
    assert calibrate_reader.plateau(table)["threshold"] == 0.35
