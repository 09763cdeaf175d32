"""Bad input, interrupted and concurrent syncs: the index is never corrupted, no article lost.

Syncs here use the small MiniLM model: what is tested is the bookkeeping, not the vectors.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEED_ID, make_engine
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import rag.indexer
from rag.config import Settings
from rag.embeddings import MINILM, Embedder
from rag.engine import Engine


def state(engine: Engine) -> tuple[list[str], list[str], dict[str, tuple[str, str | None]]]:
    """What a sync must converge to: the chunk and sentence ids and each article's sha /
    duplicate link."""
    ids = sorted(c.id for c in engine.store.vectors.each_chunk())
    sentences = sorted(engine.store.vectors.sentences.get(include=[])["ids"])
    manifest = {a: (r.sha256, r.duplicate_of) for a, r in engine.store.manifest.records().items()}
    return ids, sentences, manifest


def clean_build(articles: Path, tmp: Path, embedder: Embedder) -> Engine:
    engine = make_engine(Settings(articles_dir=articles, index_dir=tmp), embedder)
    engine.sync()
    return engine


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(
    tmp_path: Path, articles_dir: Path, minilm: Embedder
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("Un secret hors du dossier des articles.", encoding="utf-8")
    bad = {
        "empty.txt": b"",
        "blank.md": b"   \n\n",
        "binary.txt": bytes(range(256)) * 4,
        "huge.txt": b"Des mots. " * 120_000,  # 1.2 MB, over the 1 MB limit set below
        "nav-only.html": b"<html><body><nav><a href='/'>Home</a></nav><script>x()</script>",
        "corrupt.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
        "bad-yaml.md": b"---\ntitle: [unclosed\n---\nTexte.\n",
    }
    for name, data in bad.items():
        (articles_dir / name).write_bytes(data)
    (articles_dir / "link.txt").symlink_to(outside)
    (articles_dir / "copy-of-seed.txt").write_bytes((articles_dir / SEED_ID).read_bytes())

    settings = Settings(
        articles_dir=articles_dir, index_dir=tmp_path / "ix", max_article_bytes=2**20
    )
    engine = make_engine(settings, minilm)
    report = engine.sync()

    assert set(report.skipped) == {*bad, "link.txt"}
    assert "RAG_MAX_ARTICLE_BYTES" in report.skipped["huge.txt"]
    assert "outside" in report.skipped["link.txt"]
    manifest = engine.store.manifest.records()
    assert SEED_ID in manifest and not set(bad) & set(manifest)
    # Same content under two names: embedded once, both names known.
    assert manifest["copy-of-seed.txt"].duplicate_of == SEED_ID
    assert [a for a, r in manifest.items() if r.duplicate_of] == ["copy-of-seed.txt"]
    assert {c.article_id for c in engine.store.vectors.each_chunk()} == {
        a for a, r in manifest.items() if not r.duplicate_of
    }
    assert engine.store.manifest.text("copy-of-seed.txt") == engine.store.manifest.text(SEED_ID)
    assert engine.sync().embedded == 0


def test_duplicate_takes_over_when_the_original_is_deleted(
    tmp_path: Path, articles_dir: Path, minilm: Embedder
) -> None:
    (articles_dir / "zz-copy.txt").write_bytes((articles_dir / SEED_ID).read_bytes())
    engine = make_engine(Settings(articles_dir=articles_dir, index_dir=tmp_path / "ix"), minilm)
    engine.sync()
    (articles_dir / SEED_ID).unlink()
    report = engine.sync()
    assert report.removed == 1 and report.updated == 1 and report.embedded > 0
    assert state(engine) == state(clean_build(articles_dir, tmp_path / "clean", minilm))


def test_file_vanishing_during_the_sync_is_skipped(
    tmp_path: Path, articles_dir: Path, minilm: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = articles_dir / "world" / "battery-plant.md"
    real_load = rag.indexer.load_article

    def load_after_delete(path: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if path == victim:
            victim.unlink()
        return real_load(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rag.indexer, "load_article", load_after_delete)
    engine = make_engine(Settings(articles_dir=articles_dir, index_dir=tmp_path / "ix"), minilm)
    report = engine.sync()
    assert "world/battery-plant.md" in report.skipped
    assert SEED_ID in engine.store.manifest.records()


def _many_articles(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"note-{i:03d}.txt").write_text(
            f"Note {i}\n"
            + " ".join(f"La phrase {j} de la note {i} parle du sujet {i * j}." for j in range(12)),
            encoding="utf-8",
        )


def _cli(articles: Path, index: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rag",
        "index",
        "-v",
        "--articles",
        str(articles),
        "--index",
        str(index),
        "--model",
        MINILM,
    ]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sync_in_child(articles: Path, index: Path, until: str) -> subprocess.Popen[str]:
    """`rag index` in a child process, returned once its log has said `until`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        _cli(articles, index),
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a test run started as a background job (`cmd &` without job
        # control) passes SIGINT down ignored, and the child would never see it.
        preexec_fn=_default_sigint,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if until in line:
            return proc
    raise AssertionError(f"`rag index` never said {until!r}")


def _signalled_sync(
    tmp_path: Path, sig: int, after: float, until: str = "Loading embedding model"
) -> subprocess.Popen[str]:
    """`rag index` over 60 articles in tmp_path/articles, in a child process sent `sig`
    `after` seconds after its log says `until` (by default: into loading its model, so it
    lands inside the sync, at some depth)."""
    _many_articles(tmp_path / "articles", 60)
    proc = _sync_in_child(tmp_path / "articles", tmp_path / "ix", until=until)
    time.sleep(after)
    proc.send_signal(sig)
    return proc


def _next_sync_gives_the_clean_build(tmp_path: Path, minilm: Embedder) -> Engine:
    engine = make_engine(
        Settings(articles_dir=tmp_path / "articles", index_dir=tmp_path / "ix"), minilm
    )
    engine.sync()
    assert state(engine) == state(clean_build(tmp_path / "articles", tmp_path / "clean", minilm))
    return engine


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0.5, 1.5, 3.0])
def test_sigkill_at_any_point_is_repaired_by_the_next_sync(
    tmp_path: Path, minilm: Embedder, kill_after: float
) -> None:
    _signalled_sync(tmp_path, signal.SIGKILL, after=kill_after).wait()
    repaired = _next_sync_gives_the_clean_build(tmp_path, minilm)
    assert repaired.search("la note 17", k=1)


@pytest.mark.slow
def test_ctrl_c_ends_the_sync_with_one_line_and_the_next_sync_finishes(
    tmp_path: Path, minilm: Embedder
) -> None:
    proc = _signalled_sync(tmp_path, signal.SIGINT, after=0.5, until="Embedding 60 new")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == (
        "rag: interrupted. The articles indexed so far are kept: run `rag index` again to finish."
    )
    _next_sync_gives_the_clean_build(tmp_path, minilm)


@pytest.mark.slow
def test_second_sync_waits_for_the_first_and_both_finish(tmp_path: Path, minilm: Embedder) -> None:
    articles = tmp_path / "articles"
    _many_articles(articles, 30)
    index = tmp_path / "ix"
    with rag.indexer.write_lock(index):  # this test is the first writer
        # The second writer must say it waits.
        waiting = _sync_in_child(articles, index, until="waiting for it to finish")
        time.sleep(0.5)
        assert waiting.poll() is None, "it must wait, not write or exit"
    waiting.wait(timeout=300)
    assert waiting.returncode == 0
    engine = make_engine(Settings(articles_dir=articles, index_dir=index), minilm)
    assert state(engine) == state(clean_build(articles, tmp_path / "clean", minilm))


def _open_engines_then_index_elsewhere(
    tmp_path: Path,
    minilm: Embedder,
    *flags: str,
    add: dict[str, str] | None = None,
    engines: int = 1,
) -> list[Engine]:
    """`engines` engines over 5 notes that have searched their index (so they hold it open),
    after `rag index FLAGS` ran in another process over the notes plus the articles `add`."""
    articles = tmp_path / "articles"
    _many_articles(articles, 5)
    index = tmp_path / "ix"
    opened = [
        make_engine(Settings(articles_dir=articles, index_dir=index), minilm)
        for _ in range(engines)
    ]
    opened[0].sync()
    for engine in opened:
        assert engine.search("la note 3", k=1)
    for name, text in (add or {}).items():
        (articles / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [*_cli(articles, index), *flags], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return opened


@pytest.mark.slow
def test_an_open_engine_keeps_answering_after_another_process_rebuilds(
    tmp_path: Path, minilm: Embedder
) -> None:
    [engine] = _open_engines_then_index_elsewhere(tmp_path, minilm, "--rebuild")
    hits = engine.search("la note 3", k=1)  # the collections it opened are gone
    assert hits and hits[0].article_id == "note-003.txt"
    assert engine.ask("De quoi parle la phrase 4 de la note 3 ?").citations


@pytest.mark.slow
def test_an_open_engine_answers_from_what_another_process_adds(
    tmp_path: Path, minilm: Embedder
) -> None:
    """The page stays open while `rag index` adds articles from a terminal: Chroma's local
    client holds the vectors it loaded, so the new chunks, found by the refreshed BM25, were
    missing from its vector side ("Error finding id", a traceback on the page) until the page
    was restarted."""
    port = "Le port de Brest\nLe port de Brest accueille 3 000 bateaux de plaisance chaque été."
    engine, other = _open_engines_then_index_elsewhere(
        tmp_path, minilm, add={"port.txt": port}, engines=2
    )
    hits = engine.search("Combien de bateaux accueille le port de Brest ?", k=3)
    assert hits[0].article_id == "port.txt"
    assert hits[0].sentences, "its sentence vectors are read too"
    assert engine.ask("Combien de bateaux accueille le port de Brest ?").citations
    # The first then syncs itself before the second has looked: the second still moves to
    # the state read anew (the last writer being this process does not make it fresh), and
    # sees both syncs.
    articles = engine.settings.articles_dir
    (articles / "gare.txt").write_text("La gare\nLa gare de Rennes ouvre un quai.", "utf-8")
    engine.sync()
    for reader in (engine, other):
        assert reader.search("Quelle gare ouvre un quai ?", k=1)[0].article_id == "gare.txt"
    assert other.search("Combien de bateaux accueille le port de Brest ?", k=1)[0].sentences


def test_queries_during_a_sync_keep_answering(synced: Engine) -> None:
    errors: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answers.append(len(synced.search("Xiaomi Europe", k=3)))
            except BaseException as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=ask)
    reader.start()
    try:
        _many_articles(synced.settings.articles_dir / "more", 40)
        synced.sync()
    finally:
        stop.set()
        reader.join()
    assert not errors and answers and min(answers) == 3


_TEXTS = st.sampled_from(
    [
        "Le port de Brest accueille 3 000 bateaux.",
        "La grève du rail touche 40 % des trains en juin.",
        "A new battery plant opens in Dunkirk in 2026.",
        "Le port de Brest accueille 3 000 bateaux.",  # same content twice on purpose: duplicates
    ]
)
_OPS = st.lists(
    st.tuples(st.sampled_from(["a.txt", "b.txt", "sub/c.txt"]), st.one_of(st.none(), _TEXTS)),
    min_size=1,
    max_size=6,
)


@pytest.mark.slow
@hsettings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_OPS, min_size=1, max_size=3))
def test_any_sequence_of_changes_then_sync_equals_a_clean_build(
    tmp_path_factory: pytest.TempPathFactory,
    minilm: Embedder,
    steps: list[list[tuple[str, str | None]]],
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    articles = tmp / "articles"
    articles.mkdir()
    engine = make_engine(Settings(articles_dir=articles, index_dir=tmp / "ix"), minilm)
    for ops in steps:
        for name, text in ops:
            path = articles / name
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text, encoding="utf-8")
        engine.sync()
    assert state(engine) == state(clean_build(articles, tmp / "clean", minilm))
    shutil.rmtree(tmp)
