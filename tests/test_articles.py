"""Loading articles: each format's text and metadata, decoding, and every per-file error."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path

import pypdf
import pytest

from rag.articles import (
    SUFFIXES,
    Article,
    article_id,
    file_sha256,
    list_article_files,
    load_article,
)
from rag.errors import ArticleError
from rag.text import detect_language

DATA = Path(__file__).parent / "data" / "articles"
SEEDS = Path(__file__).parents[1] / "seeds"
SEED = SEEDS / "000_f32d863d3c202223.txt"


def load(relative: str) -> Article:
    return load_article(DATA / relative, DATA)


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_lists_the_fixtures_sorted_by_id() -> None:
    ids = [article_id(p, DATA) for p in list_article_files(DATA)]
    assert ids == [
        "canicule-cp1252.txt",
        "reports/bridge-renovation.pdf",
        "tech/voltaire-gt-record.txt",
        "world/battery-plant.md",
        "world/rail-strike.html",
    ]
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"} == SUFFIXES


def test_markdown_front_matter() -> None:
    article = load("world/battery-plant.md")
    assert article.id == "world/battery-plant.md"
    assert article.title == "Voltaris opens its Dunkirk gigafactory with a 16 GWh first phase"
    assert article.date == "2024-06-05"  # stored as ISO text
    assert article.url == "https://example.org/news/2024/06/05/dunkirk-gigafactory"
    assert article.source == "Example Energy Desk"
    assert article.lang == "en"
    # The text is exactly the file's content after the closing `---` line.
    raw = (DATA / "world/battery-plant.md").read_text(encoding="utf-8")
    assert raw.endswith(article.text)
    assert raw[: -len(article.text)].rstrip().endswith("---")
    assert "title:" not in article.text
    assert "# Dunkirk battery plant starts production" in article.text


@pytest.mark.parametrize(
    ("written", "date"),
    [
        ("2024-06-05", "2024-06-05"),
        ("2024-06-05T08:30:00+02:00", "2024-06-05"),
        ('"5 juin 2024"', "2024-06-05"),
        ("2020-13-45", "2020-13-45"),  # no such day: PyYAML failed the whole sync on it
        ("!!timestamp 2024-06-05", "2024-06-05"),
    ],
)
def test_a_front_matter_date_is_read_as_written(tmp_path: Path, written: str, date: str) -> None:
    path = write(tmp_path, "a.md", f"---\ntitle: Le tram\ndate: {written}\n---\nLe tram roule.")
    article = load_article(path, tmp_path)
    assert (article.title, article.date, article.text) == ("Le tram", date, "Le tram roule.")


def test_a_value_its_yaml_tag_refuses_is_a_reason_to_skip(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\ndate: !!timestamp 2020-13-45\n---\nLe tram roule.")
    with pytest.raises(ArticleError, match=r"a\.md: the YAML front matter is not valid"):
        load_article(path, tmp_path)


def test_markdown_title_from_heading_then_file_name(tmp_path: Path) -> None:
    heading = write(tmp_path, "a.md", "Intro line.\n\n# The real title #\n\nBody text here.")
    assert load_article(heading, tmp_path).title == "The real title"
    plain = write(tmp_path, "city_council-vote.md", "---\nlang: fr-FR\n---\nLe conseil a voté.")
    article = load_article(plain, tmp_path)
    assert article.title == "city council vote"
    assert article.lang == "fr"
    assert article.text == "Le conseil a voté."


def test_bad_yaml_names_the_file_and_the_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "news/broken.md", "---\ntitle: [unclosed\ndate: 2024\n---\nBody.")
    with pytest.raises(ArticleError, match=r"news/broken\.md.*YAML"):
        load_article(path, tmp_path)


def test_french_txt_keeps_the_file_content() -> None:
    article = load("tech/voltaire-gt-record.txt")
    assert article.title == "La Voltaire GT bat le record du Nürburgring"
    assert article.lang == "fr"
    assert article.date is None and article.url is None
    with (DATA / "tech/voltaire-gt-record.txt").open(encoding="utf-8") as f:
        assert article.text == f.read()


def test_txt_with_a_long_first_line_is_titled_by_its_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "budget_vote-2024.txt", "Le conseil municipal " * 10 + ".\nSuite.")
    assert load_article(path, tmp_path).title == "budget vote 2024"


def test_seed_article() -> None:
    article = load_article(SEED, SEEDS)
    assert article.id == "000_f32d863d3c202223.txt"
    # Its first line is a whole paragraph and its name an opaque id: the opening words stand in.
    assert article.title == (
        "Lei Jun, PDG de Xiaomi, est généralement très actif sur les médias sociaux, en…"
    )
    assert article.lang == "fr"
    assert article.text == SEED.read_text(encoding="utf-8")
    assert "premier trimestre 2025" in article.text


def test_cp1252_fallback_and_crlf() -> None:
    path = DATA / "canicule-cp1252.txt"
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    article = load("canicule-cp1252.txt")
    assert article.title == "Canicule : Météo-France place 14 départements en vigilance rouge"
    assert "\r" not in article.text
    assert article.text == raw.decode("cp1252").replace("\r\n", "\n")
    assert "«les écoles resteront fermées jusqu’à vendredi»" in article.text
    assert article.lang == "fr"


def test_latin1_last_resort_bom_and_newlines(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only latin-1 can decode this.
    latin = write(tmp_path, "latin.txt", "Un café à Genève, près du lac.\x81".encode("latin-1"))
    assert load_article(latin, tmp_path).text.startswith("Un café à Genève")
    bom = write(tmp_path, "bom.txt", b"\xef\xbb\xbfTitre\r\nLigne deux.\rLigne trois.\n")
    article = load_article(bom, tmp_path)
    assert article.text == "Titre\nLigne deux.\nLigne trois.\n"
    with bom.open(encoding="utf-8-sig") as f:  # what a reader of the file sees
        assert article.text == f.read()


def test_windows_1252_controls_are_read_as_their_characters(tmp_path: Path) -> None:
    # OrangeSum's "CUPRA Formentor : à partir de 44 670 €" was saved with U+0080 for "€":
    # YAML refuses control characters, so the article was skipped, and a price lost its euro.
    body = '---\ntitle: "Formentor : à partir de 44 670 \x80"\n---\nPrix : 44 670 \x80.\x90\n'
    path = write(tmp_path, "formentor.md", body.encode())
    article = load_article(path, tmp_path)
    assert article.title == "Formentor : à partir de 44 670 €"
    assert article.text == "Prix : 44 670 €.\n"  # 0x90 stands for nothing in Windows-1252


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.txt", b"GIF89a\x00\x01\x02 not text", "binary"),
        ("empty.txt", b"", "no text"),
        ("blank.md", b"  \n\t\n  ", "no text"),
        ("only-front-matter.md", b"---\ntitle: Nothing\n---\n\n", "no text"),
        ("corrupt.pdf", b"%PDF-1.4\nthis is not really a PDF\n", "PDF"),
        (
            "nav-only.html",
            b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
            "no article text",
        ),
    ],
)
def test_per_file_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(ArticleError, match=message) as info:
        load_article(path, tmp_path)
    assert name in str(info.value)


def test_oversized_file_points_at_the_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "Un article un peu long. " * 10)
    with pytest.raises(ArticleError, match="RAG_MAX_ARTICLE_BYTES"):
        load_article(path, tmp_path, max_bytes=100)
    assert load_article(path, tmp_path, max_bytes=1000).text.startswith("Un article")


def test_vanished_file(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="vanished"):
        load_article(tmp_path / "gone.txt", tmp_path)


def test_html_main_text_and_metadata() -> None:
    article = load("world/rail-strike.html")
    assert article.title == "Rail strike halts Eurostar trains for two days"
    assert article.date == "2023-03-07"
    assert article.url == "https://channel-courier.example/2023/03/07/rail-strike"
    assert article.source == "The Channel Courier"
    assert article.lang == "en"
    assert "Eurostar cancelled 86 trains" in article.text
    assert "until 30 April 2023" in article.text
    for boilerplate in ("cookies", "Subscribe", "gtag", "Privacy policy", "Advertisement", "{"):
        assert boilerplate not in article.text


def test_pdf_text_and_title() -> None:
    article = load("reports/bridge-renovation.pdf")
    assert article.title == "Lyon approves the Pont Lafayette renovation"
    assert article.lang == "en"
    assert "The works will cost 23.5 million euros" in article.text
    assert "Deputy mayor Hélène Marchetti" in article.text
    # Pages are joined by a blank line.
    assert "40,000 vehicles a day.\n\nTraffic will be limited" in article.text


def test_pdf_without_a_text_layer(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    path = write(tmp_path, "scan.pdf", buffer.getvalue())
    with pytest.raises(ArticleError, match="no text"):
        load_article(path, tmp_path)


def test_sha256_is_of_the_raw_bytes() -> None:
    for path in list_article_files(DATA):
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        assert file_sha256(path) == expected
        assert load_article(path, DATA).sha256 == expected
    # CRLF and cp1252 are normalised in the text, not in the hash.
    article = load("canicule-cp1252.txt")
    assert article.sha256 != hashlib.sha256(article.text.encode("utf-8")).hexdigest()


def test_listing_skips_hidden_unsupported_and_outside_links(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, outside = tmp_path / "articles", tmp_path / "outside"
    write(root, "b/nested/deep.md", "# Deep\n\nText.")
    write(root, "a.TXT", "Upper-case suffix.")
    write(root, ".hidden.txt", "Hidden.")
    write(root, ".git/notes.txt", "Hidden directory.")
    write(root, "image.png", b"\x89PNG")
    write(root, "notes.docx", b"PK")
    secret = write(outside, "secret.txt", "Not for the index.")
    write(outside, "dir/other.txt", "Not for the index either.")
    os.symlink(secret, root / "link-out.txt")
    os.symlink(outside / "dir", root / "dir-out")
    os.symlink(root / "a.TXT", root / "link-in.txt")
    os.symlink(root / "missing.txt", root / "broken.txt")

    with caplog.at_level(logging.WARNING, logger="rag.articles"):
        files = list_article_files(root)
    assert [article_id(p, root) for p in files] == ["a.TXT", "b/nested/deep.md", "link-in.txt"]
    warned = caplog.text
    assert "link-out.txt" in warned and "dir-out" in warned and "outside" in warned
    assert "broken.txt" in warned
    assert load_article(root / "link-in.txt", root).id == "link-in.txt"


def test_ids_are_relative_posix_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "world/europe/story.txt", "A story.")
    assert article_id(path, tmp_path) == "world/europe/story.txt"
    monkeypatch.chdir(tmp_path)
    assert article_id(path, Path(".")) == "world/europe/story.txt"  # relative root, absolute path
    assert load_article(Path("world/europe/story.txt"), Path(".")).id == "world/europe/story.txt"
    with pytest.raises(ArticleError, match="not inside"):
        article_id(Path("/somewhere/else.txt"), tmp_path)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Le conseil municipal a voté le budget de la ville pour les deux ans qui viennent.", "fr"),
        ("The city council voted on the budget for the next two years, which is a record.", "en"),
        ("Xiaomi SU7 Ultra", None),
        ("", None),
        ("1 2 3 4 5 6 7 8 9 10 11 12", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang
