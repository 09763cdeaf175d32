"""The `rag` command's JSON contracts, run in-process (the model is loaded once per session)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from chromadb.errors import InternalError
from conftest import REVISED_TARGET, ROOT, SEED_ID, damage_index, free_port

from rag.cli import main
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import IndexDamagedError
from rag.store import index_error, open_store

QUESTION = "When do SU7 Ultra deliveries start?"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def dirs(tmp_path: Path, articles_dir: Path, embedder: Embedder) -> list[str]:
    return ["--articles", str(articles_dir), "--index", str(tmp_path / "index")]


def test_index_json_twice_then_one_new_article(
    capsys: pytest.CaptureFixture[str], dirs: list[str], articles_dir: Path
) -> None:
    code, [first] = run(capsys, "index", "--json", *dirs)
    assert code == 0
    assert set(first) >= {
        "added",
        "updated",
        "removed",
        "unchanged",
        "chunks",
        "embedded",
        "seconds",
    }
    assert first["embedded"] == first["chunks"] > 0

    _, [second] = run(capsys, "index", "--json", *dirs)
    assert second["embedded"] == 0 and second["unchanged"] == first["added"]

    (articles_dir / "short.txt").write_text("Une phrase courte sur Douai.\n", encoding="utf-8")
    _, [third] = run(capsys, "index", "--json", *dirs)
    assert (third["added"], third["embedded"]) == (1, 1)
    assert third["chunks"] == first["chunks"] + 1


def test_ask_json_cites_the_seed_sentence_exactly(
    capsys: pytest.CaptureFixture[str], dirs: list[str], articles_dir: Path
) -> None:
    run(capsys, "index", *dirs)
    code, [ans] = run(capsys, "ask", "--json", QUESTION, *dirs)
    assert code == 0
    assert set(ans) == {"question", "answer", "abstained", "mode", "citations"}
    assert not ans["abstained"]
    first = ans["citations"][0]
    assert first["article"] == SEED_ID
    assert "premier trimestre 2025" in first["quote"]
    text = (articles_dir / SEED_ID).read_text(encoding="utf-8")
    assert text[first["start"] : first["end"]] == first["quote"]


def test_search_json_and_stdin_questions(
    capsys: pytest.CaptureFixture[str], dirs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "index", *dirs)
    _, [res] = run(capsys, "search", "--json", "--k", "2", "Xiaomi Europe", *dirs)
    assert res["query"] == "Xiaomi Europe" and len(res["hits"]) == 2
    fields = {"article", "title", "start", "end", "text", "score", "date", "url"}
    assert set(res["hits"][0]) == fields

    monkeypatch.setattr(
        sys, "stdin", __import__("io").StringIO(f"{QUESTION}\n\nQui dirige Xiaomi ?\n")
    )
    _, answers = run(capsys, "ask", "--json", "-", *dirs)
    assert [a["question"] for a in answers] == [QUESTION, "Qui dirige Xiaomi ?"]


def test_ask_without_index_says_to_build_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["ask", QUESTION, "--index", str(tmp_path / "none")])
    assert code == 2
    assert "rag index" in capsys.readouterr().err


def test_a_damaged_index_says_to_rebuild_and_the_rebuild_sets_it_aside(
    capsys: pytest.CaptureFixture[str], dirs: list[str], tmp_path: Path
) -> None:
    """Chroma failing on the index is one line saying what to do, never a traceback; `rag
    index --rebuild` moves the index aside untouched (a wrong RAG_INDEX_DIR is never
    deleted) and builds a new one from the articles."""
    for _ in range(3):  # generation 3
        run(capsys, "index", *dirs)
    junk = damage_index(tmp_path / "index")
    for command in (["ask", QUESTION], ["index"]):
        assert main([*command, *dirs]) == 2
        err = capsys.readouterr().err
        assert "cannot be read" in err and "`rag index --rebuild`" in err, err
    code, [report] = run(capsys, "index", "--rebuild", "--json", *dirs)
    assert code == 0 and report["added"] > 0 and report["embedded"] == report["chunks"]
    [aside] = tmp_path.glob("index.damaged-*")
    assert (aside / "chroma.sqlite3").read_bytes() == junk
    # The new index's generation passes the lost one's: an open page's caches keyed by it
    # (in another process, which could still be at generation 3) see an index they never read.
    settings = Settings(articles_dir=Path(dirs[1]), index_dir=tmp_path / "index")
    assert open_store(settings, must_exist=True).generation > 3
    code, [ans] = run(capsys, "ask", "--json", QUESTION, *dirs)
    assert code == 0 and "premier trimestre 2025" in ans["citations"][0]["quote"]


def test_a_chroma_servers_error_is_never_told_as_a_damaged_index(tmp_path: Path) -> None:
    """An index on a server may be shared: its errors (a token, a limit) say to check the
    server, never to rebuild (the page offers a rebuild only for a damaged index)."""
    settings = Settings(articles_dir=tmp_path, chroma_url="http://127.0.0.1:8000")
    error = index_error(settings, InternalError("Unauthorized"))
    assert not isinstance(error, IndexDamagedError)
    assert "RAG_CHROMA_TOKEN" in str(error) and "--rebuild" not in str(error)
    assert isinstance(
        index_error(replace(settings, chroma_url=None), InternalError("x")), IndexDamagedError
    )


def test_an_unreachable_chroma_server_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, articles_dir: Path
) -> None:
    monkeypatch.setenv("RAG_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["ask", QUESTION, "--articles", str(articles_dir)]) == 2
    err = capsys.readouterr().err
    assert "Cannot reach the Chroma server" in err and "RAG_CHROMA_URL" in err


def test_add_copies_and_syncs(
    capsys: pytest.CaptureFixture[str], dirs: list[str], articles_dir: Path, tmp_path: Path
) -> None:
    run(capsys, "index", *dirs)
    source = tmp_path / "note.md"
    source.write_text("---\ntitle: Douai\n---\nUne usine ouvrira à Douai en 2026.\n", "utf-8")
    code, [report] = run(capsys, "add", "--json", str(source), *dirs)
    assert code == 0 and report["added"] == 1
    assert (articles_dir / "note.md").read_bytes() == source.read_bytes()

    code = main(["add", str(tmp_path / "nope.docx"), *dirs])
    assert code == 2


@pytest.mark.slow
def test_console_script_runs_as_a_new_process(tmp_path: Path, articles_dir: Path) -> None:
    env = {
        **os.environ,
        "RAG_ARTICLES_DIR": str(articles_dir),
        "RAG_INDEX_DIR": str(tmp_path / "ix"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["embedded"] > 0


DATED = {  # name -> (date line, text): electric cars, over five months of 2020
    "dec.md": ("---\ndate: 15 décembre 2019\n---\n", "La voiture électrique de Renault"),
    "jan.md": ("---\ndate: 2020-01-10\n---\n", "La voiture électrique de Peugeot"),
    "mar.txt": ("Publié le 31/03/2020 à 08h30\n", "La voiture électrique de Tesla"),
    "may.md": ("---\ndate: 2020-05-02T09:00:00+02:00\n---\n", "La voiture électrique de Citroën"),
    "none.txt": ("", "La voiture électrique de Dacia"),
}


@pytest.fixture
def dated(tmp_path: Path, embedder: Embedder) -> list[str]:
    root = tmp_path / "dated"
    root.mkdir()
    for name, (head, lead) in DATED.items():
        (root / name).write_text(
            f"{head}{lead} se vend bien. Le constructeur a livré plus de voitures électriques "
            "que prévu ce trimestre, selon ses chiffres.\n",
            encoding="utf-8",
        )
    return ["--articles", str(root), "--index", str(tmp_path / "dated-index")]


def test_search_and_ask_within_a_date_window(
    capsys: pytest.CaptureFixture[str], dated: list[str]
) -> None:
    run(capsys, "index", *dated)
    window = ["--since", "2020-01-01", "--until", "2020-03-31"]
    _, [res] = run(capsys, "search", "voiture électrique", "--json", "--k", "5", *window, *dated)
    assert {h["article"] for h in res["hits"]} == {"jan.md", "mar.txt"}
    assert {h["date"] for h in res["hits"]} == {"2020-01-10", "2020-03-31"}
    _, [everything] = run(capsys, "search", "voiture électrique", "--json", *dated)
    assert len({h["article"] for h in everything["hits"]}) == 5
    dates = {h["article"]: h["date"] for h in everything["hits"]}
    assert dates["dec.md"] == "2019-12-15" and dates["none.txt"] is None
    _, [later] = run(capsys, "search", "voiture", "--json", "--since", "2020-04-01", *dated)
    assert [h["article"] for h in later["hits"]] == ["may.md"]

    _, [ans] = run(capsys, "ask", "Qui vend une voiture électrique ?", "--json", *window, *dated)
    assert {c["article"] for c in ans["citations"]} <= {"jan.md", "mar.txt"}
    assert all(c["date"] in ("2020-01-10", "2020-03-31") for c in ans["citations"])


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (["--since", "2020-13-01"], "--since must be a date as YYYY-MM-DD"),
        (["--until", "last week"], "--until must be a date as YYYY-MM-DD"),
        (["--since", "2020-03-01", "--until", "2020-01-01"], "is after --until"),
    ],
)
def test_a_bad_date_window_is_refused(
    capsys: pytest.CaptureFixture[str], dated: list[str], window: list[str], message: str
) -> None:
    assert main(["search", "voiture", *window, *dated]) == 2
    assert message in capsys.readouterr().err


TESLA = {  # name -> (date, text)
    "tesla-jan.md": (
        "2020-01-10",
        "Tesla a livré 367 500 voitures en 2019, un record pour le constructeur.",
    ),
    "tesla-may.md": (
        "2020-05-20",
        "Tesla rouvre son usine de Fremont malgré l'interdiction des autorités.",
    ),
    "tesla-mar.md": (
        "2020-03-15",
        "Tesla ferme temporairement son usine californienne à cause du virus.",
    ),
    "renault-jun.md": (
        "2020-06-01",
        "Renault annonce la suppression de 15 000 postes dans le monde.",
    ),
}


def test_the_latest_news_comes_from_the_newest_article_about_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, embedder: Embedder
) -> None:
    root = tmp_path / "news"
    root.mkdir()
    for name, (date, text) in TESLA.items():
        (root / name).write_text(f"---\ndate: {date}\n---\n{text} Les détails suivent.\n")
    # Newer, but about something else: it only mentions Tesla.
    (root / "aides-jul.md").write_text(
        "---\ntitle: Les aides à la conduite\ndate: 2020-07-01\n---\nLes aides à la conduite "
        "se multiplient chez tous les constructeurs, de Tesla à Renault. Les détails suivent.\n"
    )
    dirs = ["--articles", str(root), "--index", str(tmp_path / "news-index"), "--json"]
    run(capsys, "index", *dirs)
    for question in (
        "What are the latest news about Tesla?",
        "Quoi de neuf récemment chez Tesla ?",
    ):
        _, [ans] = run(capsys, "ask", question, *dirs)
        assert not ans["abstained"], ans
        assert ans["citations"][0]["article"] == "tesla-may.md"
        assert "2020-05-20" in ans["answer"] and "Fremont" in ans["citations"][0]["quote"]
    _, [ans] = run(capsys, "ask", "What are the latest news about Rivian?", *dirs)
    assert ans["abstained"]  # no article names Rivian: no "latest news" from another maker

    # A period the question names is a window: the newest article about it within the period.
    for question, article in (
        ("Quoi de neuf chez Tesla en mars 2020 ?", "tesla-mar.md"),
        ("News about Tesla in January 2020", "tesla-jan.md"),
        ("What's new at Tesla since April 2020?", "tesla-may.md"),
    ):
        _, [ans] = run(capsys, "ask", question, *dirs)
        assert not ans["abstained"], (question, ans)
        assert [c["article"] for c in ans["citations"]] == [article], question
    _, [ans] = run(capsys, "ask", "Quoi de neuf chez Tesla depuis août 2020 ?", *dirs)
    assert ans["abstained"] and not ans["citations"]
    assert ans["answer"].startswith("The articles published since 2020-08-01 don't say")
    # Within the window asked for on the command line too: both must hold.
    _, [ans] = run(capsys, "ask", "News about Tesla in 2020", "--until", "2020-03-31", *dirs)
    assert [c["article"] for c in ans["citations"]] == ["tesla-mar.md"]


def indexed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, articles: dict[str, str]
) -> list[str]:
    """`rag index` over `articles` (file name -> text) alone: the dirs flags to ask them."""
    root = tmp_path / "articles"
    root.mkdir()
    for name, text in articles.items():
        (root / name).write_text(text, encoding="utf-8")
    dirs = ["--articles", str(root), "--index", str(tmp_path / "index")]
    run(capsys, "index", *dirs)
    return dirs


def test_a_figure_that_changed_is_shown_with_each_date_newest_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, embedder: Embedder
) -> None:
    dirs = indexed(capsys, tmp_path, REVISED_TARGET)
    for question, now, before in (
        # An English reader gets the figures in English, the quotes as written.
        ("How many SU7 deliveries does Xiaomi target for 2024?", "120,000", "100,000"),
        # The short answer may take the counted noun with it ("120 000 livraisons").
        (
            "Combien de livraisons de SU7 Xiaomi vise-t-il en 2024 ?",
            "120 000( livraisons)?",
            "100 000( livraisons)?",
        ),
    ):
        _, [ans] = run(capsys, "ask", question, "--json", *dirs)
        assert not ans["abstained"], ans
        newest, earlier = ans["answer"].splitlines()
        assert re.match(rf"{now} \(2024-07-19\) — «", newest), newest
        assert newest.endswith("[1]")
        assert re.match(rf"Earlier: {before} \(2024-03-28\) — «", earlier), earlier
        assert [(c["article"], c["date"]) for c in ans["citations"]] == [
            ("xiaomi-juillet.md", "2024-07-19"),
            ("xiaomi-mars.md", "2024-03-28"),
        ]
    assert main(["ask", "How many SU7 deliveries does Xiaomi target for 2024?", *dirs]) == 0
    assert "[2] Xiaomi fixe son objectif (xiaomi-mars.md, 2024-03-28, " in capsys.readouterr().out


TWO_NAMES = {
    "tesla-million.md": "---\ntitle: Tesla fête son millionième véhicule\ndate: 2020-03-10\n---\n"
    "Elon Musk a publié sur Twitter l'image du millionième véhicule produit par Tesla, une Model "
    "Y. L'entreprise fondée en 2003 par Martin Eberhard et Marc Tarpenning a intégré Elon Musk "
    "à partir de 2004. La Model S est produite depuis 2012.\n",
    "tesla-croate.md": "---\ntitle: L'UE présente Tesla comme un Croate\ndate: 2020-05-08\n---\n"
    "Selon Belgrade, l'UE a présenté Tesla comme un « célèbre Croate » sur son site pour enfants. "
    "Nikola Tesla, un Serbe de Croatie né en 1856, a donné son nom au constructeur de voitures "
    "électriques fondé en Californie.\n",
}


def test_two_names_in_two_dated_articles_are_not_a_figure_that_changed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, embedder: Embedder
) -> None:
    """A newer article naming someone else is not a revision: the best answer stays first,
    alone (it was shown under the newer article's "Nikola Tesla", as an "Earlier" answer)."""
    dirs = indexed(capsys, tmp_path, TWO_NAMES)
    _, [ans] = run(capsys, "ask", "Qui a fondé Tesla ?", "--json", *dirs)
    assert ans["answer"].startswith("Martin Eberhard et Marc Tarpenning — «"), ans["answer"]
    assert "Earlier" not in ans["answer"]
    assert [c["article"] for c in ans["citations"]] == ["tesla-million.md"]


WIRE = (
    "Le constructeur chinois BYD ouvrira sa première usine européenne à Szeged, en Hongrie, "
    "en 2025, a annoncé l'entreprise vendredi. L'usine produira 200 000 voitures électriques "
    "par an et emploiera plusieurs milliers de personnes.\n"
)


def test_a_wire_story_republished_is_cited_once_with_its_copies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, embedder: Embedder
) -> None:
    root = tmp_path / "wire"
    root.mkdir()
    for name, title, date in (
        ("ouest.md", "BYD choisit la Hongrie", "2023-12-22"),
        ("sud.md", "Une usine BYD en Hongrie", "2023-12-23"),
    ):
        (root / name).write_text(f"---\ntitle: {title}\ndate: {date}\n---\n{WIRE}")
    (root / "other.md").write_text("---\ndate: 2023-12-01\n---\nRenault vend sa R5 à Paris.\n")
    dirs = ["--articles", str(root), "--index", str(tmp_path / "wire-index"), "--json"]
    run(capsys, "index", *dirs)
    _, [ans] = run(capsys, "ask", "Where will BYD open its first European factory?", *dirs)
    assert not ans["abstained"] and "Szeged" in ans["citations"][0]["quote"]
    cited = {c["article"] for c in ans["citations"]}
    assert len(cited & {"ouest.md", "sud.md"}) == 1
    [copy] = ans["citations"][0]["also_reported_by"]
    assert {copy["article"]} == {"ouest.md", "sud.md"} - cited
    assert copy["title"] in ("BYD choisit la Hongrie", "Une usine BYD en Hongrie")
    assert copy["date"] in ("2023-12-22", "2023-12-23")
