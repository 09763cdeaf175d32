"""Article text as safe Markdown for the chat page: escaped, with the quoted sentence highlighted.

Everything that comes from an article (its text, title, date, source, url), and the answer
built out of it, is untrusted: a hostile article must not become links, images, HTML or
formatting on the page. Streamlit renders Markdown (CommonMark, GFM autolinks and tables,
LaTeX between `$`, emoji shortcodes, `:color[...]` directives), so:
- every ASCII punctuation character is backslash-escaped: CommonMark allows escaping any of
  them, and an escaped character never opens markup;
- a WORD JOINER (U+2060, invisible) goes into `www.`, `://` and after `@`: GFM finds bare
  URLs and e-mail addresses in the parsed text, where escapes no longer show;
- each line becomes its own paragraph, without its leading indentation (a code block);
- highlights are Streamlit's directives (`:orange-background[...]`) around escaped text.
Pure functions returning strings; this module does not call Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from rag.answer import Answer, Citation
from rag.indexer import SyncReport
from rag.manifest import ArticleRecord

# Streamlit's text directives used for highlighting: `:name[text]`.
QUOTE = "orange-background"  # the cited sentence
PASSAGE = "gray-background"  # the rest of the retrieved passage, in the whole article
CONTEXT = "gray"  # the rest of the passage, under an answer
STYLES = frozenset({QUOTE, PASSAGE, CONTEXT, "blue-background", "yellow-background"})
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # all of ASCII punctuation
# GFM autolink literals (`www.`, `http://`, `a@b.c`) are found in the text after escapes are
# resolved, so escaping cannot stop them: an invisible WORD JOINER breaks each pattern.
_AUTOLINK = re.compile(r"(?i)(?<=www)(?=\.)|(?=://)|(?<=@)")
WORD_JOINER = "\u2060"

Span = tuple[int, int, str]  # start, end (offsets into the text), one of STYLES


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders as exactly that text (plus invisible word joiners)."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, text))


def escape_inline(text: str) -> str:
    """One line of literal text (titles, metadata): whitespace runs become one space."""
    return escape_markdown(" ".join(text.split()))


def marked(text: str, spans: Sequence[Span] = ()) -> str:
    """`text` as Markdown, one paragraph per line, each span in its style."""
    for _, _, style in spans:
        if style not in STYLES:
            raise ValueError(f"Unknown style {style!r}; valid: {', '.join(sorted(STYLES))}.")
    paragraphs = []
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        start += len(line) - len(line.lstrip())
        if start < end:
            paragraphs.append(_marked_line(text, start, end, sorted(spans)))
    return "\n\n".join(paragraphs)


def _marked_line(text: str, start: int, end: int, spans: list[Span]) -> str:
    out = []
    cursor = start
    for s, e, style in spans:
        s, e = max(s, cursor), min(e, end)
        if s >= e:
            continue
        piece = text[s:e]
        core = piece.strip()
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(lead) + len(core) :]
        out.append(escape_markdown(text[cursor:s] + lead))
        if core:
            out.append(f":{style}[{escape_markdown(core)}]")
        out.append(escape_markdown(trail))
        cursor = e
    out.append(escape_markdown(text[cursor:end]))
    return "".join(out)


def _fits(article_text: str | None, c: Citation) -> bool:
    """Whether the citation's offsets still describe `article_text` (it may have changed)."""
    return (
        article_text is not None
        and 0 <= c.passage_start <= c.start < c.end <= c.passage_end <= len(article_text)
        and article_text[c.start : c.end] == c.quote
    )


def passage_markdown(article_text: str | None, c: Citation) -> str:
    """The retrieved passage around the quote, the quote highlighted (or the quote alone)."""
    if article_text is None or not _fits(article_text, c):
        return marked(c.quote, [(0, len(c.quote), QUOTE)])
    passage = article_text[c.passage_start : c.passage_end]
    start, end = c.start - c.passage_start, c.end - c.passage_start
    return marked(passage, [(0, start, CONTEXT), (start, end, QUOTE), (end, len(passage), CONTEXT)])


def article_markdown(article_text: str, c: Citation) -> str:
    """The whole article, with the passage and, inside it, the quote highlighted in place."""
    if not _fits(article_text, c):
        return marked(article_text)
    spans = [
        (c.passage_start, c.start, PASSAGE),
        (c.start, c.end, QUOTE),
        (c.end, c.passage_end, PASSAGE),
    ]
    return marked(article_text, spans)


def answer_markdown(answer: Answer) -> str:
    """The reply, escaped; its short answer in bold when it leads."""
    reply = marked(answer.text)  # an LLM's reply may have several lines
    span = escape_markdown(answer.span_shown or answer.span or "")
    if span and not answer.abstained and reply.startswith(span + " "):
        return f"**{span}**{reply[len(span) :]}"
    return reply


def written_by(answer: Answer) -> str:
    """Who wrote an LLM-mode answer, and that a translation is one."""
    said = "Written by the chat model from the passages cited below"
    if answer.translated:
        said = "Machine translation by the chat model of the passages cited below (the originals)"
    return f":material/smart_toy: {said}."


def also_reported(c: Citation) -> str | None:
    """ "Also reported by 2 articles: Title (date), Title." under a citation, or None."""
    if not c.also_reported_by:
        return None
    n = len(c.also_reported_by)
    named = ", ".join(
        escape_inline(o.title) + (f" ({escape_inline(o.date)})" if o.date else "")
        for o in c.also_reported_by
    )
    return f"Also reported by {n} {plural(n, 'article')}: {named}."


def citation_title(c: Citation, *, abstained: bool) -> str:
    label = " :gray-badge[closest, not an answer]" if abstained else ""
    return f"**\\[{c.n}\\] {escape_inline(c.title)}**{label}"


def link(url: str | None) -> str | None:
    """A Markdown link to an http(s) `url`, labelled with its host; None for anything else."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    # Inside <...> only `<`, `>`, `\` and line ends matter; quote() encodes them all.
    target = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"[{escape_inline(parts.hostname)} ↗](<{target}>)"


def meta_line(record: ArticleRecord | None, article_id: str) -> str:
    """Date · source · link · file, each escaped; for a caption under a citation's title."""
    parts = []
    if record is not None:
        parts += [escape_inline(v) for v in (record.date, record.source) if v]
        if url_link := link(record.url):
            parts.append(url_link)
        elif record.url:
            parts.append(escape_inline(record.url))
    parts.append(escape_inline(article_id))
    return " · ".join(parts)


def when(iso: str | None) -> str:
    """`2025-01-31T09:05:00+00:00` -> `2025-01-31 09:05 UTC`; "never" for None."""
    if not iso:
        return "never"
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d)?(\+00:00|Z)?", iso)
    if not match:
        return escape_inline(iso)
    return f"{match[1]} {match[2]}{' UTC' if match[3] else ''}"


def duration(seconds: float) -> str:
    """ "45 s", "3 min", "1 h 20 min": an estimate, rounded as one."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def plural(n: int, noun: str) -> str:
    return noun if n == 1 else f"{noun}s"


def index_status(articles: int, chunks: int, model: str, synced_at: str | None) -> str:
    return (
        f"**{articles}** {plural(articles, 'article')} · "
        f"**{chunks}** {plural(chunks, 'passage')}  \n"
        f"Model: {escape_inline(model)}  \nLast sync: {when(synced_at)}"
    )


def article_entry(record: ArticleRecord) -> str:
    date = f"  \n:gray[{escape_inline(record.date)}]" if record.date else ""
    return f"{escape_inline(record.title)}{date}"


def sync_summary(report: SyncReport) -> str:
    done = (
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.embedded} passages embedded "
        f"in {report.seconds:.1f} s."
    )
    if report.resplit:
        done += f" Sentence splitting changed: {report.resplit} passages split anew."
    return f"Rebuilt the index: {done}" if report.rebuilt else f"Index synced: {done}"


def skipped_lines(report: SyncReport) -> list[str]:
    return [
        f"Skipped {escape_inline(aid)}: {escape_inline(why)}" for aid, why in report.skipped.items()
    ]
