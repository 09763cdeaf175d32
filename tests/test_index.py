"""Sync into a real Chroma in a temp dir: build, reopen, incremental changes, rebuilds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_ID, make_engine

import rag.vectors
from rag import indexer
from rag.articles import list_article_files, load_article
from rag.chunking import chunk_article
from rag.config import Settings
from rag.embeddings import Embedder
from rag.engine import Engine
from rag.errors import ConfigError
from rag.evidence import PREFILTER
from rag.text import split_sentences

QA_FILE = Path(__file__).parent / "data" / "qa.jsonl"

NEW_ARTICLE = """Batteries : une usine de 2 000 emplois ouvrira à Douai en 2026

Le constructeur a confirmé mardi l’ouverture d’une usine de batteries à Douai.
Le site emploiera 2 000 personnes.
"""


def n_chunks(path: Path, root: Path) -> int:
    return len(chunk_article(load_article(path, root)))


def test_first_sync_embeds_every_chunk_and_second_embeds_none(engine: Engine) -> None:
    root = engine.settings.articles_dir
    expected = sum(n_chunks(p, root) for p in list_article_files(root))

    first = engine.sync()
    assert first.added == len(list_article_files(root))
    assert first.embedded == first.chunks == expected

    second = engine.sync()
    assert (second.added, second.updated, second.removed, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == first.added
    assert second.chunks == expected


def test_every_stored_chunk_is_an_exact_slice_of_its_article(synced: Engine) -> None:
    chunks = list(synced.store.vectors.each_chunk())
    assert chunks
    texts = {aid: synced.store.manifest.text(aid) for aid in synced.store.manifest.records()}
    for chunk in chunks:
        assert texts[chunk.article_id][chunk.start : chunk.end] == chunk.text


@pytest.mark.parametrize("ids_at_a_time", [rag.vectors.SENTENCE_IDS, 2])
def test_every_sentence_of_every_chunk_has_its_vector(
    synced: Engine, ids_at_a_time: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sentences are read by id, SENTENCE_IDS per chunk at a time: 2 makes every chunk of
    # more than 2 sentences ask again, as a chunk of more than 16 does.
    monkeypatch.setattr(rag.vectors, "SENTENCE_IDS", ids_at_a_time)
    chunks = list(synced.store.vectors.each_chunk())
    if ids_at_a_time == 2:
        assert max(len(split_sentences(c.text)) for c in chunks) > 4  # 3 reads for some
    stored = synced.store.vectors.sentence_vectors([c.id for c in chunks])
    for chunk in chunks:
        assert [(s.start, s.end) for s in stored[chunk.id]] == split_sentences(chunk.text)


@pytest.mark.parametrize("mode", ["alone", "pooled"])
def test_sentence_vectors_find_the_sentence_that_answers(
    settings: Settings, embedder: Embedder, mode: str
) -> None:
    """Embedded alone or pooled from the chunk's forward pass, the vectors single out the
    sentence that answers among every sentence of the index (what the reader's prefilter
    needs), and each chunk's sentences all have one."""
    engine = make_engine(replace(settings, sentence_vectors=mode), embedder)
    engine.sync()
    chunks = list(engine.store.vectors.each_chunk())
    stored = engine.store.vectors.sentence_vectors([c.id for c in chunks])
    assert all(len(stored[c.id]) == len(split_sentences(c.text)) for c in chunks)
    rows = [(c.text[s.start : s.end], s.vector) for c in chunks for s in stored[c.id]]
    texts, vectors = zip(*rows, strict=True)
    items = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines()]
    items = [i for i in items if i.get("evidence")]
    found = 0
    questions = engine.embedder.embed_queries([i["question"] for i in items])
    for item, qvec in zip(items, questions, strict=True):
        best = np.argsort(-(np.stack(vectors) @ qvec))[:PREFILTER]
        found += any(item["evidence"] in texts[b] for b in best)
    assert len(items) >= 10
    assert found / len(items) >= 0.9, (found, len(items))


def test_sentences_embedded_alone_are_their_bare_text(synced: Engine) -> None:
    chunk = next(c for c in synced.store.vectors.each_chunk() if len(split_sentences(c.text)) > 1)
    stored = synced.store.vectors.sentence_vectors([chunk.id])[chunk.id]
    fresh = synced.embedder.embed_documents([chunk.text[s.start : s.end] for s in stored])
    assert min(float(s.vector @ f) for s, f in zip(stored, fresh, strict=True)) >= 0.99


def test_one_pass_gives_the_passage_vector_and_embeds_a_cut_off_sentence_alone(
    embedder: Embedder,
) -> None:
    text = "Xiaomi vise l'Europe en 2027. " + "La SU7 se vend bien en Chine. " * 150
    last = (len(text) - 30, len(text) - 1)  # past the encoder's 512 tokens
    spans = [(0, 29), (30, 59), last]
    passages, sentences = embedder.embed_passages(
        [text, "Il pleut sur Brest."], [spans, []], pooled=True
    )
    reference = embedder.embed_documents([text, "Il pleut sur Brest."])
    assert np.sum(passages * reference, axis=1).min() >= 0.99
    assert sentences[0].shape == (3, embedder.dim) and sentences[1].shape == (0, embedder.dim)
    alone = embedder.embed_documents([text[slice(*last)]])[0]
    assert float(sentences[0][2] @ alone) >= 0.99
    assert float(sentences[0][0] @ alone) < 0.99
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)


def test_a_tokenizer_without_offsets_embeds_sentences_alone(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "Xiaomi vise l'Europe en 2027. Il pleut sur Brest."
    spans = [(0, 29), (30, 49)]
    monkeypatch.setattr(type(embedder.model.tokenizer), "is_fast", False)
    passages, sentences = embedder.embed_passages([text, "Rien."], [spans, []], pooled=True)
    alone = embedder.embed_documents([text[s:e] for s, e in spans])
    assert float(passages[0] @ embedder.embed_documents([text])[0]) >= 0.99
    assert np.sum(sentences[0] * alone, axis=1).min() >= 0.99
    assert sentences[1].shape == (0, embedder.dim)


def sentence_count(engine: Engine) -> int:
    return engine.store.vectors.sentences.count()


def test_without_sentence_vectors_only_chunks_are_embedded_and_answers_still_work(
    settings: Settings, embedder: Embedder
) -> None:
    modes = {v: Settings.from_env({"RAG_SENTENCE_VECTORS": v}).sentence_vectors for v in "01"}
    assert modes == {"0": "off", "1": "alone"}
    assert Settings.from_env({"RAG_SENTENCE_VECTORS": "Pooled"}).sentence_vectors == "pooled"
    off = replace(settings, sentence_vectors="off")
    engine = make_engine(off, embedder)
    report = engine.sync()
    assert report.embedded == report.chunks > 0 and sentence_count(engine) == 0
    ans = engine.ask("When do SU7 Ultra deliveries start?")
    assert not ans.abstained and "premier trimestre 2025" in ans.citations[0].quote
    # Turning them on is a change of index: rebuilt on purpose, with a reason.
    on = make_engine(settings, embedder)
    rebuilt = on.sync()
    assert rebuilt.rebuilt and "changed" in rebuilt.rebuilt and sentence_count(on) > 0
    with pytest.raises(ConfigError, match="RAG_SENTENCE_VECTORS"):
        Settings.from_env({"RAG_SENTENCE_VECTORS": "yes please"})


def test_new_sentence_splitting_re_embeds_only_the_sentences_it_changes(
    synced: Engine, settings: Settings, embedder: Embedder
) -> None:
    """An index whose sentences older rules split: one chunk lacks its last sentence, another
    has one sentence too many. The next sync sees that only the splitting rules changed: it
    splits every chunk anew in place and embeds the sentences of those two only. Nothing is
    rebuilt, and the sentences are a clean build's, vectors included."""
    vectors = synced.store.vectors
    clean, fingerprint = vectors.sentence_spans(), synced.store.fingerprint
    assert fingerprint is not None
    chunks = {c.id: c for c in vectors.each_chunk()}
    short, long = sorted(clean)[:2]
    [*_, built] = vectors.sentence_vectors([short])[short]
    vectors.sentences.delete(ids=[f"{short}:{len(clean[short]) - 1}"])
    vectors.sentences.upsert(
        ids=[f"{long}:{len(clean[long])}"],
        embeddings=[np.ones(embedder.dim, dtype=np.float32)],
        metadatas=[{"article": chunks[long].article_id, "chunk": long, "start": 0, "end": 9}],
    )
    older = indexer._SPLITTING.sub("+sentences-v0", fingerprint)
    synced.store._set_state({**synced.store.info, "fingerprint": older})

    report = make_engine(settings, embedder).sync()
    assert report.rebuilt is None and report.embedded == 0 and report.resplit == 2
    assert vectors.sentence_spans() == clean and synced.store.fingerprint == fingerprint
    [*_, last] = vectors.sentence_vectors([short])[short]
    # int8 quantises a batch's activations together: a vector varies slightly (cosine >=
    # 0.997) with its batch-mates (`Embedder.embed_documents`): the same, not identical, vector.
    assert float(last.vector @ built.vector) > 0.99
    assert make_engine(settings, embedder).sync().resplit == 0  # done once


@pytest.mark.parametrize(
    ("old", "new", "in_place"),
    [
        ("e5|sent-v1+sentences-v4+day-v1", "e5|sent-v1+sentences-v5+day-v1", True),
        ("e5|sent-v1+sentences-v4-pooled+day-v1", "e5|sent-v1+sentences-v5-pooled+day-v1", False),
        ("e5|sent-v1+sentences-v4+day-v1", "e5|sent-v1+day-v1", False),  # turned off
        ("minilm|sent-v1+sentences-v4+day-v1", "e5|sent-v1+sentences-v5+day-v1", False),
        ("e5|sent-v1+sentences-v5+day-v1", "e5|sent-v1+sentences-v5+day-v1", False),  # same
        (None, "e5|sent-v1+sentences-v5+day-v1", False),
    ],
)
def test_only_a_change_of_splitting_rules_for_sentences_embedded_alone_is_done_in_place(
    old: str | None, new: str, in_place: bool
) -> None:
    assert indexer._only_splitting_changed(old, new) is in_place


def test_reopened_index_answers_without_resyncing(
    synced: Engine, settings: Settings, embedder: Embedder
) -> None:
    before = synced.store.count()
    reopened = make_engine(settings, embedder)
    assert reopened.store.count() == before
    hits = reopened.search("Lei Jun expansion internationale en Europe", k=3)
    assert hits[0].article_id == SEED_ID


def test_add_change_delete_touch_only_that_article(synced: Engine) -> None:
    root = synced.settings.articles_dir
    total, sentences = synced.store.count(), sentence_count(synced)

    new = root / "batteries-douai.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    added = synced.sync()
    assert (added.added, added.updated, added.removed) == (1, 0, 0)
    assert added.embedded == n_chunks(new, root)
    assert added.chunks == total + added.embedded == synced.status().chunks
    new_sentences = sum(
        len(split_sentences(c.text)) for c in chunk_article(load_article(new, root))
    )
    assert sentence_count(synced) == sentences + new_sentences == sentences + 3  # title too

    new.write_text(NEW_ARTICLE.replace("2 000", "3 000"), encoding="utf-8")
    changed = synced.sync()
    assert (changed.added, changed.updated, changed.removed) == (0, 1, 0)
    assert changed.embedded == n_chunks(new, root)
    assert "3 000" in (synced.store.manifest.text("batteries-douai.txt") or "")

    new.unlink()
    removed = synced.sync()
    assert (removed.removed, removed.embedded, removed.chunks) == (1, 0, total)

    def count() -> int:
        raise AssertionError("the page's status must not count the chunks on every rerun")

    synced.store.count = count  # type: ignore[method-assign]
    assert synced.status().chunks == total  # as the last sync left it
    assert sentence_count(synced) == sentences
    assert "batteries-douai.txt" not in synced.store.manifest.records()


def test_model_change_rebuilds_on_purpose(
    settings: Settings, embedder: Embedder, minilm: Embedder
) -> None:
    first = make_engine(settings, minilm).sync()
    assert first.rebuilt is None

    report = make_engine(settings, embedder).sync()
    assert report.rebuilt and "changed" in report.rebuilt
    assert report.embedded == report.chunks == first.chunks
    assert make_engine(settings, embedder).search("Xiaomi", k=1)


def test_rebuild_flag_reembeds_everything(synced: Engine) -> None:
    report = synced.sync(rebuild=True)
    assert report.rebuilt
    assert report.embedded == report.chunks > 0


def test_bad_file_is_skipped_and_the_rest_indexed(engine: Engine) -> None:
    root = engine.settings.articles_dir
    (root / "empty.txt").write_text("", encoding="utf-8")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00")
    report = engine.sync()
    assert set(report.skipped) == {"empty.txt", "binary.txt"}
    assert SEED_ID in engine.store.manifest.records()
    assert report.added == len(list_article_files(root)) - 2


def test_langchain_retriever_returns_the_same_hits_as_documents(synced: Engine) -> None:
    from rag.retrieval import HybridRetriever

    query = "Lei Jun expansion internationale en Europe"
    docs = HybridRetriever(searcher=synced.searcher, k=3).invoke(query)
    hits = synced.search(query, k=3)
    assert [(d.id, d.page_content) for d in docs] == [(h.chunk_id, h.text) for h in hits]
    assert docs[0].metadata["article"] == SEED_ID
    assert {"start", "end", "title", "score"} <= set(docs[0].metadata)


def test_our_retriever_and_embeddings_compose_in_an_lcel_chain(synced: Engine) -> None:
    from langchain_core.documents import Document
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    def cite(docs: list[Document]) -> str:
        return "\n".join(
            f"[{d.metadata['article']}:{d.metadata['start']}] {d.page_content}" for d in docs
        )

    chain = {"context": synced.as_retriever(k=2) | cite, "question": RunnablePassthrough()} | (
        RunnableLambda(lambda x: f"{x['question']}\n{x['context']}")
    )
    out = chain.invoke("Lei Jun expansion internationale en Europe")
    assert out.startswith("Lei Jun expansion") and f"[{SEED_ID}:" in out
    embeddings = synced.as_embeddings()
    doc, other = embeddings.embed_documents(["Xiaomi vise l'Europe.", "Il pleut sur Brest."])
    query = embeddings.embed_query("Xiaomi targets Europe")
    assert len(doc) == len(query) == synced.embedder.dim

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(query, doc) > cos(query, other)  # the query prompt, in the passages' space
