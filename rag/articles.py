"""Articles: find the article files in a directory and load each one into an `Article`.

`Article.text` is the text every later offset indexes into, so loading is deliberately plain:
for `.txt` it is the file's content (BOM dropped, newlines normalised to `\\n`, as Python's
`open()` reads it; control characters U+0080-U+009F read as the Windows-1252 characters they
stand for), for `.md` the content after the YAML front matter, for `.html` the main
text found by trafilatura, for `.pdf` the pages' text joined by blank lines.

This module does not chunk, clean up or rewrite text (no markdown stripping, no re-flowing of
PDF lines) and does not cache anything: the indexer compares `sha256` (of the raw bytes) with
its manifest to skip unchanged files. Every per-file problem is an `ArticleError` whose
message names the file, so a sync can report it and go on with the others.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rag.errors import ArticleError
from rag.text import detect_language, iso_date

logger = logging.getLogger(__name__)

SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})
_MAX_TITLE_CHARS = 150  # a longer first line is the story's first paragraph, not its title
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML with dates left as written: PyYAML builds `2020-13-45` into a date and fails
    (a ValueError that stopped the whole sync); `iso_date` reads the string instead."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MD_HEADING = re.compile(r"^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
# trafilatura's last-resort fallback returns bare link text ("Home") for pages with no article.
_MIN_HTML_WORDS = 5


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str
    sha256: str
    date: str | None = None
    url: str | None = None
    source: str | None = None
    lang: str | None = None
    #: The title is the article's opening words (it has no title of its own): fine to show,
    #: but it says nothing about the rest of the article.
    title_is_opening: bool = False


def list_article_files(root: Path) -> list[Path]:
    """Article files under `root`, recursively, sorted by id; hidden entries are skipped."""
    return scan_article_files(root)[0]


def scan_article_files(root: Path) -> tuple[list[Path], dict[str, str]]:
    """Like `list_article_files`, plus the files passed over (id -> reason) for a sync report."""
    real_root = root.resolve()
    found: list[Path] = []
    skipped: dict[str, str] = {}

    def skip(path: Path, reason: str) -> None:
        logger.warning("Skipping %s: %s", path, reason)
        skipped[article_id(path, root)] = reason

    # os.walk does not follow directory symlinks: a link inside the tree would list files
    # twice, one pointing outside would index files the user did not put in the articles dir.
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in list(dirnames):
            if name.startswith(".") or (here / name).is_symlink():
                dirnames.remove(name)
                if not name.startswith(".") and not _inside(here / name, real_root):
                    skip(here / name, f"the link points outside {root}, not followed")
        for name in filenames:
            path = here / name
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            if path.is_symlink() and not _inside(path, real_root):
                skip(path, f"the link points outside {root}, not followed")
            elif not path.is_file():
                skip(path, "not a regular file (broken link?)")
            else:
                found.append(path)
    return sorted(found, key=lambda p: article_id(p, root)), skipped


def article_id(path: Path, root: Path) -> str:
    """The id of `path`: its path relative to `root` with `/` separators."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:  # one side relative, the other absolute: compare without resolving links
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        raise ArticleError(f"{path} is not inside the articles directory {root}.") from None


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


#: A date line at the top of a text article ("Publié le 14 mars 2026"): within its first lines
#: and short, so a date in the story's own sentences is not taken for its publication date.
DATE_LINES = 4
DATE_LINE_CHARS = 80


def _date_line(text: str) -> str | None:
    lines = [line.strip() for line in text.split("\n") if line.strip()][:DATE_LINES]
    return next(
        (d for line in lines if len(line) <= DATE_LINE_CHARS and (d := iso_date(line))), None
    )


def load_article(path: Path, root: Path, *, max_bytes: int = 20 * 2**20) -> Article:
    """Read and parse one article file; raises `ArticleError` saying what is wrong with it."""
    aid = article_id(path, root)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        valid = ", ".join(sorted(SUFFIXES))
        raise ArticleError(f"{aid}: unsupported file type; valid suffixes: {valid}.")
    try:
        size = path.stat().st_size  # checked first: an oversized file is never read
        if size <= max_bytes:
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)  # bounded: the file may grow meanwhile
            size = len(data)
    except FileNotFoundError:
        raise ArticleError(f"{aid}: the file vanished; run the sync again.") from None
    except OSError as exc:
        raise ArticleError(f"{aid}: cannot read the file ({exc.strerror or exc}).") from None
    if size > max_bytes:
        raise ArticleError(
            f"{aid}: {size:,} bytes is over the limit of {max_bytes:,} bytes; "
            "raise RAG_MAX_ARTICLE_BYTES to index it."
        )

    meta: dict[str, Any] = {}
    if suffix == ".pdf":
        text, meta = _parse_pdf(data, aid)
    elif suffix in (".html", ".htm"):
        text, meta = parse_html(data, aid)
    else:
        text = _decode(data, aid)
        if suffix != ".txt":
            text, meta = _split_front_matter(text, aid)
    if not text.strip():
        raise ArticleError(f"{aid}: the article has no text (empty or only whitespace).")

    is_md = suffix in (".md", ".markdown")
    title = (
        meta.get("title")
        or (_first_heading(text) if is_md else _first_short_line(text))
        or _name_title(path)
    )
    lang = meta.get("lang")
    lang = re.split(r"[-_]", lang)[0].lower() if lang else detect_language(text)
    logger.debug("Loaded %s: %d chars, lang=%s", aid, len(text), lang)
    return Article(
        id=aid,
        title=title or _opening_words(text),
        title_is_opening=not title,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        # The publication date as YYYY-MM-DD when it reads as one (it is filtered on); else
        # as written. Without metadata, a date line at the top of the text.
        date=(iso_date(meta["date"]) or meta["date"]) if meta.get("date") else _date_line(text),
        url=meta.get("url"),
        source=meta.get("source"),
        lang=lang,
    )


def _inside(path: Path, real_root: Path) -> bool:
    return path.resolve().is_relative_to(real_root)


_C1_CONTROLS = {
    code: bytes([code]).decode("cp1252", errors="ignore") or None for code in range(0x80, 0xA0)
}


def _decode(data: bytes, aid: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")  # NULs are expected in UTF-16
    elif b"\x00" in data:
        raise ArticleError(f"{aid}: looks like a binary file (it contains NUL bytes), not text.")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Scraped French text is often Windows-1252; latin-1 accepts any byte as a last resort.
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            logger.info("%s is not UTF-8; decoded it as %s", aid, "cp1252/latin-1")
    # Text once decoded as Latin-1 and saved as UTF-8 holds controls for Windows-1252's "€",
    # "’", "œ"... ("44 670 \x80"): never text, and YAML refuses them (an article lost).
    text = text.removeprefix("\ufeff").translate(_C1_CONTROLS)
    # The same newline translation as Python's open(), so offsets match what readers see.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, aid: str) -> tuple[str, dict[str, Any]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        raw = yaml.load(match.group(1) or "", Loader=_FrontMatterLoader) or {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a value its tag refuses
        raise ArticleError(f"{aid}: the YAML front matter is not valid: {exc}") from None
    if not isinstance(raw, dict):
        raise ArticleError(f"{aid}: the front matter must be YAML `key: value` lines.")
    meta: dict[str, Any] = {}
    for key in ("title", "date", "url", "source", "lang"):
        value = raw.get(key)
        if isinstance(value, dt.date):  # an explicit `!!timestamp 2024-06-05`
            value = value.isoformat()
        if value is not None and str(value).strip():
            meta[key] = str(value).strip()
    # The text is exactly what follows the closing `---` line: citations' offsets index into it.
    return text[match.end() :], meta


def _first_heading(text: str) -> str | None:
    match = _MD_HEADING.search(text)
    return match.group(1).strip() if match else None


def _first_short_line(text: str) -> str | None:
    line = next((s.strip() for s in text.split("\n") if s.strip()), "")
    return line if 0 < len(line) <= _MAX_TITLE_CHARS else None


def parse_html(data: bytes, aid: str) -> tuple[str, dict[str, Any]]:
    """The article's text in an HTML page and its metadata (title, date, url, source, lang);
    an ArticleError naming `aid` if there is none."""
    import trafilatura  # slow to import; only HTML articles need it

    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ArticleError(f"{aid}: looks like a binary file (it contains NUL bytes), not HTML.")
    try:
        # favor_precision: boilerplate (cookie banners, related links) costs more in a search
        # index than an occasionally dropped paragraph.
        doc = trafilatura.bare_extraction(
            data, with_metadata=True, include_comments=False, favor_precision=True
        )
    except Exception as exc:  # trafilatura/lxml raise many types on malformed input
        raise ArticleError(f"{aid}: cannot parse the HTML ({exc}).") from None
    text = (doc.text or "").strip() if isinstance(doc, trafilatura.settings.Document) else ""
    if len(text.split()) < _MIN_HTML_WORDS:
        raise ArticleError(f"{aid}: no article text found in the HTML page.")
    assert isinstance(doc, trafilatura.settings.Document)
    meta = {
        "title": doc.title,
        "date": doc.date,
        "url": doc.url,
        "source": doc.sitename,
        "lang": doc.language or _html_lang(data),
    }
    return text, {k: v.strip() for k, v in meta.items() if v and v.strip()}


def _html_lang(data: bytes) -> str | None:
    match = _HTML_LANG.search(data[:8192])
    return match.group(1).decode("ascii").lower() if match else None


def _parse_pdf(data: bytes, aid: str) -> tuple[str, dict[str, Any]]:
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except Exception as exc:  # pypdf raises PdfReadError, but also ValueError/KeyError/...
        raise ArticleError(f"{aid}: cannot read the PDF ({type(exc).__name__}: {exc}).") from None
    # Some PDFs carry NULs in their text layer; they would only confuse the later stages.
    text = "\n\n".join(p for p in pages if p).replace("\x00", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, {"title": str(title).strip()} if title and str(title).strip() else {}


def _name_title(path: Path) -> str | None:
    """The file name as a title, unless it is an opaque id (`000_f32d863d3c202223`)."""
    words = path.stem.replace("_", " ").replace("-", " ").split()
    if not any(w.isalpha() and len(w) > 2 for w in words):
        return None
    return " ".join(words)


def _opening_words(text: str, limit: int = 80) -> str:
    """The article's first words, cut at a word boundary: a readable stand-in for a title."""
    first = " ".join(text.split())
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
