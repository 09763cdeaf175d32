"""Cross-lingual questions for training the reader: train-split PIAF questions put into
English and SQuAD questions put into French by the local chat model (`RAG_LLM=local`), so the
reader learns English questions over French sentences and the reverse (issue 14).

    python -m bench.translate_questions --data ../shared/data [--piaf 2000] [--squad 500]

Only the train split (bench.splits: by article title) is translated: calib and test questions
stay untouched, so held-out scores never see a translated training question. A seeded sample
of `--piaf` and `--squad` questions, answerable and unanswerable alike, as the reader trains on
both. More PIAF than SQuAD: English questions over French news are the product's case, and the
small model translates French into good English, English into weaker French.
The output is JSON Lines, one question per line (set, qa id, title, original, translation,
languages), appended and resumable: a rerun skips the ids already there. About 1 s a question
on 2 cores. Licences of the result: bench/data/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from bench.splits import assign, squad_articles
from rag.config import Settings
from rag.llm import make_chat_model
from rag.text import fold, question_language

log = logging.getLogger(__name__)

SEED = 2026
OUT = Path(__file__).parent / "data" / "translated-questions.jsonl"
#: set -> (file under the data dir, the questions' language, the language they are put into)
SETS = {
    "piaf": ("piaf/piaf-v1.0.json", "fr", "en"),
    "squad": ("squad2/squad2-dev-half.json", "en", "fr"),
}
LANGUAGES = {"en": "English", "fr": "French"}
#: One worked example per direction: the small model copies a demonstrated exchange better
#: than it follows "translate into French" (told only that, it often answered in English).
EXAMPLES = {
    "en": ("Où se trouve la nouvelle usine de Renault ?", "Where is Renault's new factory?"),
    "fr": ("Where is Renault's new factory?", "Où se trouve la nouvelle usine de Renault ?"),
}


def prompt(target: str) -> ChatPromptTemplate:
    example, answer = EXAMPLES[target]
    return ChatPromptTemplate.from_messages(
        [
            (
                "system",
                f"You translate questions into {LANGUAGES[target]}. Reply with the translation "
                "only: no quotes, no notes. Keep names, numbers and dates as written.",
            ),
            ("human", example),
            ("ai", answer),
            ("human", "{question}"),
        ]
    )


def train_questions(path: Path) -> list[dict[str, str]]:
    """Every question of the train split's articles: qa id, title, question."""
    articles = squad_articles(path)
    split = assign(a["title"] for a in articles)
    return [
        {"id": qa["id"], "title": a["title"], "question": qa["question"].strip()}
        for a in articles
        if split[a["title"]] == "train"
        for p in a["paragraphs"]
        for qa in p["qas"]
    ]


def done_ids(path: Path) -> set[str]:
    """The ids already in a JSON Lines output, so that a rerun resumes where it stopped."""
    if not path.exists():
        return set()
    return {json.loads(line)["id"] for line in path.read_text().splitlines() if line}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    for name, default in (("piaf", 2000), ("squad", 500)):
        parser.add_argument(f"--{name}", type=int, default=default, help=f"{name} questions")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    done = done_ids(args.out)
    model = make_chat_model("local", Settings.from_env())
    rng = random.Random(SEED)
    with args.out.open("a", encoding="utf-8") as out:
        for name, (rel, source, target) in SETS.items():
            items = train_questions(args.data / rel)
            sample = rng.sample(items, min(getattr(args, name), len(items)))
            todo = [q for q in sample if q["id"] not in done]
            chain = prompt(target) | model | StrOutputParser()
            started, dropped = time.monotonic(), 0
            for i, q in enumerate(todo, 1):
                reply = chain.invoke({"question": q["question"]})
                translated = " ".join(reply.strip().splitlines()[0].split()) if reply else ""
                # Not a translation: empty, unchanged, or still in the question's language.
                if question_language(translated) != target or fold(translated) == fold(
                    q["question"]
                ):
                    dropped += 1
                    continue
                row = {"set": name, **q, "translated": translated, "from": source, "to": target}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                if i % 50 == 0:
                    rate = (time.monotonic() - started) / i
                    log.info(
                        "%s: %d/%d, %.2f s a question, %d dropped",
                        name,
                        i,
                        len(todo),
                        rate,
                        dropped,
                    )


if __name__ == "__main__":
    main()
