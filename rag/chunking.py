"""Chunking: split an article's text into sentence-aligned chunks with exact character offsets.

`split_sentences` is a small rule-based splitter tuned for scraped French and English news
(missing spaces after full stops, abbreviations, `2.9`/`100 000`, « » quotes, ` ;`/` ?`
spacing). `chunk_text` packs whole sentences into chunks of about `TARGET_CHARS`, never over
`MAX_CHARS` (multilingual-e5 reads at most 512 tokens), preferring paragraph breaks.
Every chunk is an exact slice, `text[start:end]`, that starts and ends on non-whitespace, so a
citation can quote it verbatim.

Deliberately not here: overlap between chunks (retrieval collapses near-duplicates, and
overlapping quotes would confuse citations), token counting (characters are a safe proxy at
these sizes) and any NLP model dependency.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from langchain_text_splitters import TextSplitter

from rag.articles import Article

logger = logging.getLogger(__name__)

TARGET_CHARS = 600
MAX_CHARS = 1000
# Bump the version whenever the splitting rules or `embedding_text` change: the index is
# rebuilt when this does.
CHUNKING_FINGERPRINT = f"sent-v1-{TARGET_CHARS}-{MAX_CHARS}+title-v1"
SENTENCES_FINGERPRINT = "+sentences-v1"  # chunk_sentences, when sentence vectors are on

# Every line break ends a sentence; these are the characters str.splitlines() breaks on.
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Terminal punctuation, then any closing quotes/brackets, which belong to the sentence they end
# (French writes `fin. »` with a (narrow) no-break space). A `"` or `’` followed by a letter
# opens the next sentence (or is an apostrophe), so it is not taken.
_TERMINAL = re.compile(r"([.!?…‽]+)((?:[ \t\u00a0\u202f]*»|[”)\]}]|[\"'’](?!\w))*)")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Words that a full stop follows without ending the sentence. Case matters for titles
# ("Me" is Maître, "me." ends English sentences).
_TITLES = _words(
    "M MM Mme Mmes Mlle Mlles Me Mgr Dr Pr Prof St Ste Mr Mrs Ms Jr Sr Gen Gén Col Lt Sgt Capt "
    "Rev Hon Sen Rep Gov Inc Ltd Corp Co Cie Bros Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov "
    "Dec"
)
_LOWER_ABBREVIATIONS = _words("vs cf ex env av bd approx ca resp viz al éd coll")
# Abbreviations that usually precede a number ("p. 12", "art. 3", "janv. 2025").
_BEFORE_NUMBER = _words(
    "c p pp no n nr nº art fig vol ch chap sect réf ref tél tel janv févr fév avr juil sept oct "
    "nov déc"
)
_ENUMERATOR = re.compile(r"\(?(?:\d{1,3}|[IVXLC]{1,6}|[A-Za-z])")  # "1. Le point" or "II. Les"


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` in order, without surrounding whitespace.

    A line break always ends a sentence. Within a line, `. ! ? …` (with any closing quotes)
    end one when the next word does not start in lower case, except after abbreviations,
    initials, dotted acronyms and list numbers; with no space after, only before a
    capitalised word that follows a real word ("Pyrénées.Alors").
    """
    spans: list[tuple[int, int]] = []
    line_start = 0
    for brk in [*_LINE_BREAK.finditer(text), None]:
        line_end = brk.start() if brk else len(text)
        start = line_start
        for match in _TERMINAL.finditer(text, line_start, line_end):
            if _ends_sentence(text, start, match, line_end):
                _add_trimmed(text, start, match.end(), spans)
                start = match.end()
        _add_trimmed(text, start, line_end, spans)
        line_start = brk.end() if brk else len(text)
    return spans


def _ends_sentence(text: str, start: int, match: re.Match[str], line_end: int) -> bool:
    nxt = match.end()
    while nxt < line_end and text[nxt].isspace():
        nxt += 1
    if nxt == line_end:
        return True
    char, spaced = text[nxt], nxt > match.end()
    is_period = match.group(1) == "."
    if not spaced:
        # Scraped text loses spaces: "Pyrénées.Alors que" is two sentences, but "2.9",
        # "U.S." and "www.xiaomi.com" are not, hence: a capitalised word must follow.
        after = text[nxt + 1] if nxt + 1 < line_end else " "
        if not (
            (char.isupper() and (after.islower() or after in "’'" or after.isspace()))
            or char in "«“"
        ):
            return False
        if is_period and len(_word_before(text, match.start())) < 2:
            return False
        words = text[max(start, match.start() - 200) : match.start()].split()
        token = words[-1].lower() if words else ""
        return not ("://" in token or "@" in token or token.startswith("www."))
    if char.islower() or char in ",;:.)]}%»":  # "etc. et", "« Oui ? » a-t-il dit"
        return False
    if not is_period:
        return True
    word = _word_before(text, match.start())
    if (
        (len(word) == 1 and word.isupper())
        or word in _TITLES
        or word.lower() in _LOWER_ABBREVIATIONS
    ):
        return False  # initials and "M. Dupont", "Dr. Wang", "p. ex. Le", "vs. Apple"; not "2 s."
    if "." in word and all(p.isalpha() and len(p) <= 2 for p in word.split(".")):
        return False  # "U.S. President", "e.g. Apple", "Ph.D. Thesis"
    if char.isdigit() and word.lower() in _BEFORE_NUMBER:
        return False
    head = text[start : match.start()] if match.start() - start <= 20 else "long sentence"
    return not _ENUMERATOR.fullmatch(head.strip())


def _word_before(text: str, end: int) -> str:
    """The run of letters, digits and inner dots just before `end` ("U.S" in "U.S.")."""
    start = end
    # Bounded: a long run without spaces (a URL, base64) must not make splitting quadratic.
    while start > max(0, end - 40) and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:end].lstrip(".")


def _add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most `max_chars`, at spaces if possible."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start + 1 : start + max_chars + 1]  # a cut at index i keeps text[start:i]
        spaces = [i for i, c in enumerate(window) if c.isspace()]
        puncts = [i + 1 for i, c in enumerate(window[:-1]) if c in ",;:)]/-–—"]  # cut after
        # Late cuts keep pieces big: a space in the second half, else punctuation there, else
        # any space, else a hard cut (a URL or a run of CJK text has no spaces).
        half = max_chars // 2
        cuts = [i for i in spaces if i >= half] or [i for i in puncts if i >= half] or spaces
        cut = start + 1 + (max(cuts) if cuts else max_chars - 1)
        _add_trimmed(text, start, cut, pieces)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    _add_trimmed(text, start, end, pieces)
    return pieces


def chunk_text(
    article_id: str, text: str, *, target_chars: int = TARGET_CHARS, max_chars: int = MAX_CHARS
) -> list[Chunk]:
    """Pack consecutive sentences into chunks of about `target_chars`, at most `max_chars`."""
    if not 0 < target_chars <= max_chars:
        raise ValueError(f"need 0 < target_chars <= max_chars, got {target_chars}, {max_chars}")
    units = [p for s, e in split_sentences(text) for p in _split_long(text, s, e, max_chars)]
    para_end = _paragraph_ends(text, units)
    spans: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(units):
        if not spans:
            spans.append((start, end))
            continue
        cur_start, cur_end = spans[-1]
        size, grown = cur_end - cur_start, end - cur_start
        if (
            grown > max_chars
            # Rather end at a paragraph break than cut the next paragraph in two.
            or (
                para_end[i] and para_end[i] - cur_start > target_chars and size >= target_chars // 3
            )
            # Past the target: close, unless the chunk so far is too small to stand alone.
            or (grown > target_chars and size >= target_chars // 2)
        ):
            spans.append((start, end))
        else:
            spans[-1] = (cur_start, end)
    return [_make_chunk(article_id, text, s, e) for s, e in spans]


def _paragraph_ends(text: str, units: list[tuple[int, int]]) -> list[int]:
    """For each unit that opens a paragraph (a line break before it), where that paragraph
    ends; 0 for the other units. A heading (a short line with no final punctuation) counts as
    part of the paragraph after it, so that it starts a chunk instead of ending one."""
    opens = [
        i == 0 or bool(_LINE_BREAK.search(text, units[i - 1][1], u[0])) for i, u in enumerate(units)
    ]
    ends = [0] * len(units)
    last = following = 0  # where the current paragraph ends; where the next one ends
    for i in reversed(range(len(units))):
        start, end = units[i]
        if i + 1 == len(units) or opens[i + 1]:
            last = end
        if opens[i]:
            heading = last == end and end - start <= 150 and text[end - 1].isalnum()
            ends[i] = following if heading and following else last
            following = ends[i]
    return ends


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What is embedded for `chunk`: its article's title, then its text. A chunk from the
    middle of an article rarely names what the article is about; with the title in front,
    headline-like questions find it (NTREX title -> document R@1 up 2-6 points; measured by
    bench/whatif_titles.py, in git history). Not when the "title" is only the article's
    opening words: they would pull every chunk towards the opening's topic. The stored text
    and offsets stay the chunk's own."""
    if article.title_is_opening or chunk.text.startswith(article.title):
        return chunk.text  # the opening chunk already starts with its title
    return f"{article.title}\n{chunk.text}"


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """The sentences of `chunk` that get a vector of their own, as offsets in its text. They
    are embedded bare (no title): a question is matched to the one sentence that answers it,
    where the whole chunk's vector is diluted by its other sentences."""
    return split_sentences(chunk.text)


def chunk_article(article: Article) -> list[Chunk]:
    chunks = chunk_text(article.id, article.text)
    logger.debug("%s: %d chunks", article.id, len(chunks))
    return chunks


def _make_chunk(article_id: str, text: str, start: int, end: int) -> Chunk:
    piece = text[start:end]
    # sha1 of the identity, not hash(): ids must match across processes and runs.
    key = f"{article_id}\x1f{start}\x1f{end}\x1f{piece}".encode("utf-8", "surrogatepass")
    return Chunk(hashlib.sha1(key).hexdigest()[:20], article_id, start, end, piece)


class NewsTextSplitter(TextSplitter):
    """The same chunker as a LangChain text splitter (no overlap; `add_start_index` is exact)."""

    def __init__(
        self, target_chars: int = TARGET_CHARS, max_chars: int = MAX_CHARS, **kwargs: Any
    ) -> None:
        # chunk_overlap must stay 0: create_documents finds start indexes by searching from the
        # previous chunk's end minus the overlap, which is exact only for adjacent chunks.
        kwargs.update(chunk_size=max_chars, chunk_overlap=0)
        super().__init__(**kwargs)
        self._target_chars, self._max_chars = target_chars, max_chars

    def split_text(self, text: str) -> list[str]:
        chunks = chunk_text("", text, target_chars=self._target_chars, max_chars=self._max_chars)
        return [c.text for c in chunks]
