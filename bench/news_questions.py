"""English questions on French news, for training the reader on the product's own case: a
reader asking in English about articles written in French (issue 14).

    python -m bench.news_questions --data ../shared/data [--count 1000]

The local chat model (`RAG_LLM=local`) is shown one sentence of an OrangeSum article and
writes an English question that the sentence answers, with the answering words copied from
the French. A reply is kept only if those words are in the sentence as written (at most
MAX_ANSWER_WORDS of them), the question is English, ends with "?" and does not already hold
its answer. One question per article, from
a seeded sample of articles past the first FIRST_USED (the benchmarks and the reader's
calibration and test sets use the first 1,000: no question here is about an article they
score on). The sentence is one that holds a figure or a name, cut as the reader cuts them.

The output is JSON Lines, one question per line (id, the OrangeSum article id, question,
answer, its character offset in the article), appended and resumable; the text itself stays in
../shared/data and `bench.train_reader` reads it from there. About 2 s a question on 2 cores.
Licences of the result: bench/data/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from pathlib import Path

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from bench.data import orangesum
from bench.translate_questions import done_ids
from rag.config import Settings
from rag.llm import make_chat_model
from rag.text import fold, question_language, split_sentences

log = logging.getLogger(__name__)

SEED = 2026
OUT = Path(__file__).parent / "data" / "news-questions.jsonl"
SOURCE = "orangesum/orangesum.jsonl.gz"
FIRST_USED = 2000  # articles 0..1,000 are the benchmarks' and calibration's index
TOTAL = 36152
MIN_SENTENCE, MAX_SENTENCE = 60, 300  # characters
MAX_ANSWER = 80  # characters
MAX_ANSWER_WORDS = 6  # a longer "answer" is mostly the sentence retold
PRONOUNS = {"il", "elle", "ils", "elles", "on", "ce", "cela", "celui-ci", "celle-ci"}
_FACT = re.compile(r"\d|(?<=\w )[A-ZÀ-Ý]\w")  # a figure, or a capitalised word past the first
#: Worked examples: the small model copies a demonstrated exchange better than it follows
#: instructions alone, and three kinds of answer keep it from asking only "how many".
EXAMPLES = [
    (
        "Le constructeur a livré 12 000 voitures électriques en mars, selon Les Echos.",
        "How many electric cars did the manufacturer deliver in March?",
        "12 000 voitures électriques",
    ),
    (
        "La ministre de la Santé, Agnès Buzyn, a annoncé mardi la fermeture de trois "
        "maternités en Bretagne.",
        "Who announced the closure of three maternity wards in Brittany?",
        "Agnès Buzyn",
    ),
    (
        "Le festival, qui se tiendra à Arles du 3 au 9 juillet, attend 20 000 visiteurs.",
        "Where will the festival take place?",
        "à Arles",
    ),
]


def prompt() -> ChatPromptTemplate:
    shots: list[tuple[str, str]] = []
    for sentence, question, answer in EXAMPLES:
        shots += [("human", sentence), ("ai", f"Question: {question}\nAnswer: {answer}")]
    return ChatPromptTemplate.from_messages(
        [
            (
                "system",
                "You write quiz questions in English about French news. Given one French "
                "sentence, write one short question in English that the sentence answers, then "
                "copy from the sentence, word for word in French, the few words that answer "
                "it. Reply in two lines: 'Question: ...' and 'Answer: ...'.",
            ),
            *shots,
            ("human", "{sentence}"),
        ]
    )


def parse(reply: str, sentence: str) -> tuple[str, str] | None:
    """(question, answer) if the reply is a usable question on `sentence`, else None."""
    fields = dict(
        (key.strip().lower(), value.strip())
        for line in reply.splitlines()
        for key, sep, value in [line.partition(":")]
        if sep and key.strip().lower() in ("question", "answer")
    )
    question = " ".join(fields.get("question", "").split())
    answer = fields.get("answer", "").strip().strip("\"'«» ").rstrip(".").strip()
    if not question.endswith("?") or question_language(question) != "en":
        return None
    if not answer or len(answer) > MAX_ANSWER or len(answer.split()) > MAX_ANSWER_WORDS:
        return None
    if answer not in sentence:
        return None
    if len(answer) > 0.6 * len(sentence) or fold(answer) in fold(question):
        return None
    return question, answer


def factoid(answer: str) -> bool:
    """Whether the answer is a figure or a name, the kind the small model copies well ("5 200
    emplois", "Sophie Cluzel"); its other answers are often loose ("très perturbé" for "What
    is the current state of the railway traffic?"), so `bench.train_reader` trains the reader's
    span on factoid answers only, and the sentence on all."""
    words = answer.split()
    return bool(re.search(r"\d", answer)) or any(
        w[0].isupper() and fold(w) not in PRONOUNS for w in words
    )


def pick_sentence(text: str, rng: random.Random) -> tuple[int, str] | None:
    """A sentence of the article (its offset and text) that holds a figure or a name."""
    spans = [
        (s, text[s:e])
        for s, e in split_sentences(text)
        if MIN_SENTENCE <= e - s <= MAX_SENTENCE
        and not text[s:e].endswith("?")
        and _FACT.search(text[s:e])
    ]
    return rng.choice(spans) if spans else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--count", type=int, default=1000, help="articles asked about")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    done = done_ids(args.out)
    rng = random.Random(SEED)
    articles = orangesum(args.data / SOURCE, FIRST_USED, TOTAL - FIRST_USED)
    sample = rng.sample(articles, min(args.count, len(articles)))
    chain = prompt() | make_chat_model("local", Settings.from_env()) | StrOutputParser()
    started, asked, dropped = time.monotonic(), 0, 0
    with args.out.open("a", encoding="utf-8") as out:
        for article in sample:
            qid = f"orangesum-{article['id']}"
            picked = pick_sentence(article["article"], random.Random(f"{SEED}-{qid}"))
            if qid in done or picked is None:
                continue
            offset, sentence = picked
            asked += 1
            if asked % 50 == 0:
                rate = (time.monotonic() - started) / asked
                log.info("%d asked, %.2f s a question, %d dropped", asked, rate, dropped)
            parsed = parse(chain.invoke({"sentence": sentence}), sentence)
            if parsed is None:
                dropped += 1
                continue
            question, answer = parsed
            row = {
                "id": qid,
                "article": article["id"],
                "question": question,
                "answer": answer,
                "answer_start": offset + sentence.index(answer),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
