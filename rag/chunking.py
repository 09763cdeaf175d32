"""Chunking: pack an article's sentences (`rag.text.split_sentences`) into chunks with exact
character offsets.

`chunk_text` packs whole sentences into chunks of about `TARGET_CHARS`, never over
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
from dataclasses import dataclass
from typing import Any

from langchain_text_splitters import TextSplitter

from rag.articles import Article
from rag.text import LINE_BREAK, add_trimmed, split_sentences

logger = logging.getLogger(__name__)

#: Characters: about 150 and 250 e5 tokens for French news, a few sentences a chunk, far
#: from the encoder's 512-token limit; retrieval was measured at these sizes (docs/benchmarks.md).
TARGET_CHARS = 600
MAX_CHARS = 1000
# Bump the version whenever the splitting rules or `embedding_text` change: the index is
# rebuilt when this does.
CHUNKING_FINGERPRINT = f"sent-v1-{TARGET_CHARS}-{MAX_CHARS}+title-v1"
#: chunk_sentences and how their vectors are made (the `sentence_vectors` setting); v3
#: splits sentences glued by scraping; v4 keeps "ID.R développé" and "c'est à... Evreux!" whole
#: and splits "la Honda e.Comme" and "une Model Y. L'entreprise"; v5 splits "brûlé.4.000
#: pompiers"; v6 after a video's credit ("trop ?par BFMTVLa préfecture"); v7 before a
#: subheading glued without a mark ("Autopsie attendueLa direction"); v8 after a price ("44 670
#: €.Cette"); v9 before a heading in capitals ("d'ITT.PLUS DE 40 KILOS"). A new version of
#: the rules re-splits an index in place (`rag.indexer._resplit`) where sentences are
#: embedded alone, and rebuilds it where they are pooled.
SENTENCES_FINGERPRINTS = {"alone": "+sentences-v9", "pooled": "+sentences-v9-pooled", "off": ""}


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    start: int
    end: int
    text: str


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
        add_trimmed(text, start, cut, pieces)
        start = cut
        while start < end and text[start].isspace():
            start += 1
    add_trimmed(text, start, end, pieces)
    return pieces


def chunk_text(
    article_id: str, text: str, *, target_chars: int = TARGET_CHARS, max_chars: int = MAX_CHARS
) -> list[Chunk]:
    """Pack consecutive sentences into chunks of about `target_chars`, at most `max_chars`."""
    if not 0 < target_chars <= max_chars:
        raise ValueError(f"need 0 < target_chars <= max_chars, got {target_chars}, {max_chars}")
    # Chunks keep the splitting retrieval was measured on: split where scraping glued
    # sentences, OrangeSum's chunk boundaries moved and its R@1 fell 0.847 -> 0.828.
    sentences = split_sentences(text, glued=False)
    units = [p for s, e in sentences for p in _split_long(text, s, e, max_chars)]
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
        i == 0 or bool(LINE_BREAK.search(text, units[i - 1][1], u[0])) for i, u in enumerate(units)
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
    """The sentences of `chunk` that get a vector of their own, as offsets in its text: a
    question is matched to the one sentence that answers it, where the whole chunk's vector is
    diluted by its other sentences. Each is embedded alone, or pooled from the chunk's own
    forward pass (`Embedder.embed_passages`). Split finer than chunking splits: a sentence
    glued to the next by scraping is read and quoted on its own."""
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
