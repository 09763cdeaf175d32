"""Extractive answers: the sentence of the retrieved passages that best answers the question,
quoted verbatim with a numbered citation, its short answer shown first when the reader is sure
of it; or a plain abstention with the closest passages when the articles do not support one.

`read` is the reading stage every answer mode shares (this one and `rag.llm`): the question
analysed (a follow-up resolved against the earlier turns, without an LLM), one search whose
hits carry their stored sentence vectors, the best sentences read by the trained reader
(`rag.evidence`, `rag.reader`). `compose` decides (answer or abstain, against the reader's
calibrated threshold: docs/reader.md), words the reply and checks every citation: an exact
slice of its article (`quote == text[start:end]`, compared with the article text the index
holds) taken from the hits this answer retrieved, never from a second search. It does not
call an LLM (`rag.llm` does, and falls back on this module).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from rag import evidence
from rag.answer_types import (
    ACCEPTS,
    NOUNS,
    Kind,
    Span,
    dated,
    expected_kind,
    find_spans,
    in_english,
    in_french,
    measure_asked,
)
from rag.errors import RagError
from rag.evidence import Candidate, Question
from rag.reader import Reader
from rag.retrieval import Copy, Hit, Searcher
from rag.text import day_number, detect_language, fold, split_sentences, terms
from rag.vectors import Published

log = logging.getLogger(__name__)

#: A second sentence is quoted too when it is nearly as well supported as the first.
SECOND_WITHIN = 0.9
CLOSEST = 3  # passages shown with an abstention
MAX_QUESTION_CHARS = 2000  # a question, not a pasted article: longer is refused, saying so
#: A question asking for the latest news searches RECENT_POOL times as many passages, then
#: keeps the newest of those scoring at least RELEVANT of the best one. (With 4, "the latest
#: news about Tesla" over 88 OrangeSum car articles missed the newest one about Tesla, at
#: rank 24 with 0.53 of the best score.)
RECENT_POOL = 8
RELEVANT = 0.5
LEAD_CHARS = 1500  # where an article's lead is looked for
#: Other articles' figures shown beside the answer's when they differ (a target revised
#: twice shows three dates); more would bury the answer.
OTHER_FIGURES = 2
#: ...and only when the reader is about as sure of them: at least this share of the best
#: answer's support. A revised target scores as its first figure did (0.75-0.83 of the best
#: in tests/test_cli.py's two articles, 0.81 for a Taycan's reservations); a figure of another
#: thing scores lower (0.55 for another Audi's assembly date, 0.66 for a price asked as a
#: deposit; docs/reader.md, stop 38).
OTHER_FIGURE_SUPPORT = 0.75
REVISION_REACH = 40  # characters from a revision cue to its new figure
#: A sentence saying that a figure changed ("Désormais, ce point a été augmenté à 120 000",
#: "it has since been raised to 40"), folded; a question asking for the figure before the
#: change ("original", "Quel était l'objectif"), and one asking for the figure after it.
_REVISED = re.compile(
    r"\b(desormais|dorenavant|finalement|(augmente|releve|porte|abaisse|ramene|rehausse)e?s? a"
    r"|revue?s? a la (hausse|baisse)|now|since then|has since|have since|revised"
    r"|(raised|increased|cut|lowered|reduced) to|upgraded|downgraded)\b"
)
_ASKS_BEFORE = re.compile(
    r"\b(original\w*|initial\w*|at first|previous\w*|old|was|were|au depart|d.origine"
    r"|a l.origine|ancien\w*|precedent\w*|etai(en)?t|avant)\b"
)
_ASKS_AFTER = re.compile(
    r"\b(new|now|current\w*|latest|revised|today|nouve(l|au|lle)s?|desormais|dorenavant"
    r"|maintenant|actuel\w*|aujourd.hui)\b"
)


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str
    score: float
    passage_start: int = 0  # the retrieved passage the quote sits in, for display
    passage_end: int = 0
    date: str | None = None  # the article's publication date, as the index holds it
    url: str | None = None  # the article's address, when it has one
    also_reported_by: tuple[Copy, ...] = ()  # other articles carrying the same passage


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    mode: str = "extractive"
    span: str | None = None  # the short answer, when the reader is sure of it (quoted words)
    span_shown: str | None = None  # the same in the question's language, when it differs
    support: float = 0.0  # calibrated support of the best sentence (abstains under the card's)
    resolved_question: str | None = None  # what was searched, for a follow-up
    problems: list[str] = field(default_factory=list)  # LLM mode: what failed verification
    extractive: Answer | None = None  # LLM mode: the extractive answer, shown beside it
    translated: bool = False  # LLM mode: written in another language than the passages cited

    @property
    def verified(self) -> bool:
        """Every [n] and every number checked against the passages (LLM mode; an extractive
        answer quotes them)."""
        return not self.problems


def check_question(question: str) -> str:
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise RagError("The question is empty. Type a question about the articles.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise RagError(
            f"The question is {len(cleaned)} characters long; keep it under {MAX_QUESTION_CHARS}."
        )
    return cleaned


@dataclass(frozen=True)
class Reading:
    """The reading stage's output, shared by every answer mode: the analysed question, the
    hits, and their best sentences as the reader ranked them."""

    question: Question
    hits: list[Hit]
    ranked: list[Candidate]
    #: Below this support the answer is an abstention: the reader's calibrated threshold
    #: (rag/models/reader.json, chosen on the calib split: docs/reader.md).
    abstain_below: float
    #: The article texts the reading stage read, by id, for the citations' check to reuse.
    article_text: Callable[[str], str | None]


def read(
    question: str,
    searcher: Searcher,
    reader: Reader,
    *,
    k: int = 5,
    history: Sequence[str] = (),
    published: Published | None = None,
) -> Reading:
    """Analyse `question` (a follow-up resolved against `history`, the earlier questions as
    searched, oldest first), retrieve `k` passages (of articles published in the window
    `published`), read their best sentences."""
    q = evidence.analyse(check_question(question), history)
    if q.period:  # the window the question names, within the one asked for
        published = q.period.narrowed(published)
    qvec = searcher.embedder.embed_query(q.search)
    if q.recent:  # the newest of the relevant passages, not the most relevant of all dates
        pool = searcher.search_vector(q.search, qvec, k * RECENT_POOL, published)
        hits = newest(pool, k, about=_about(q))
    else:
        hits = searcher.search_vector(q.search, qvec, k, published)
    article_text = functools.cache(searcher.store.manifest.text)  # one read per article
    ranked = evidence.read_sentences(q, evidence.candidates(q, hits, qvec), reader, article_text)
    return Reading(q, hits, ranked, reader.card["abstain_below"], article_text)


def newest(hits: Sequence[Hit], k: int, about: frozenset[str] = frozenset()) -> list[Hit]:
    """The k newest of the relevant hits, dated ones first, newest first, those whose title
    names everything in `about` (folded terms) before those that only mention it; then the
    rest by score. Relevant: a fused score at least RELEVANT of the best, or a title that
    names `about` (a short question such as "quoi de neuf chez Tesla ?" scores an article
    that says "chez" higher than one titled on Tesla)."""
    if not hits:
        return []
    floor = RELEVANT * max(h.score for h in hits)
    titled = {h.chunk_id for h in hits if about and about <= set(terms(h.title))}
    dated = sorted(
        (h for h in hits if day_number(h.date) and (h.score >= floor or h.chunk_id in titled)),
        key=lambda h: (h.chunk_id in titled, day_number(h.date), h.score),
        reverse=True,
    )
    rest = [h for h in hits if h not in dated]
    return (dated + rest)[:k]


def _about(q: Question) -> frozenset[str]:
    """What a news question is about: its names and model codes ("Tesla", "su7"), not its
    numbers."""
    return frozenset(e for e in q.entities if not e.replace(".", "").replace(",", "").isdigit())


def answer(
    question: str,
    searcher: Searcher,
    reader: Reader,
    *,
    k: int = 5,
    history: Sequence[Answer] = (),
    published: Published | None = None,
) -> Answer:
    """Answer from the articles (those published in the window `published`). `history`: the
    conversation's earlier answers, oldest first; a follow-up question is resolved against
    them before retrieval."""
    previous = [_as_searched(h) for h in history]
    return compose(read(question, searcher, reader, k=k, history=previous, published=published))


def _as_searched(turn: Answer) -> str:
    """An earlier turn as the next question is resolved against: its question as searched,
    and, when it asked for a name and got one, that name: the "he" of "Where is he active?"
    after "Who is the CEO of Xiaomi?" is Lei Jun, which is then not an answer to it."""
    asked = turn.resolved_question or turn.question
    if turn.span and expected_kind(turn.question) is Kind.NAME:
        return f"{asked} {turn.span}"
    return asked


def compose(reading: Reading) -> Answer:
    """The answer (or abstention) from a reading, with verified citations."""
    q, hits, ranked = reading.question, reading.hits, reading.ranked
    resolved = q.search if q.search != q.text else None
    if not ranked:
        return Answer(
            q.text,
            f"{_dont_say(q)}: no passage matches the question.",
            abstained=True,
            hits=hits,
            resolved_question=resolved,
        )
    best, threshold = ranked[0], reading.abstain_below
    # News is answered by the newest article's lead; a question for the newest fact, by the
    # reader, unless it finds no answer.
    if (q.news or best.support < threshold) and (latest := _latest(reading)) is not None:
        return latest
    if best.support < threshold:
        closest = _distinct_passages(ranked)[:CLOSEST]
        citations = [c for c, _ in _verified(reading, [(c, c.start, c.end) for c in closest])]
        return Answer(
            q.text,
            _abstention_text(q, closest, ranked),
            abstained=True,
            citations=citations,
            hits=hits,
            support=best.support,
            resolved_question=resolved,
        )
    figures = differing_figures(reading, best)
    if figures:  # they changed over time: each figure with its date, newest first
        chosen = [(c, *_clause(c, c.short)) for c in figures if c.short]
    else:
        revised = _revision(best)
        if revised is not None:  # the old figure and the new, quoted together
            asked = fold(q.text)
            if _ASKS_AFTER.search(asked):
                best = _extended(best, revised)
            elif not _ASKS_BEFORE.search(asked):
                best = replace(best, short=None)  # which one is asked, the reader cannot tell
            start, end = (best.clause or (best.start, best.end))[0], revised[1]
        elif best.short:
            start, end = _clause(best, best.short)
        else:
            start, end = best.clause or (best.start, best.end)
        chosen = [(best, start, end)]
        second = ranked[1] if len(ranked) > 1 else None
        if (
            revised is None
            and best.short is None
            and second is not None
            and second.support >= threshold
            and second.support >= SECOND_WITHIN * best.support
        ):
            chosen.append((second, second.start, second.end))
    verified = _verified(reading, chosen)
    citations = [c for c, _ in verified]
    if not citations:
        return Answer(
            q.text,
            f"{_dont_say(q)}: no passage could be quoted exactly.",
            abstained=True,
            hits=hits,
            support=best.support,
            resolved_question=resolved,
        )
    lead = verified[0][1]
    short, shown = short_text(lead), _shown(q, lead)
    if figures and len(verified) > 1:
        text = "\n".join(
            f"{'Earlier: ' if i else ''}{_shown(q, cand)} ({cand.hit.date}) — {_quoted(c, cand)}"
            for i, (c, cand) in enumerate(verified)
        )
    else:
        quotes = " ".join(_quoted(c, cand) for c, cand in verified)
        text = f"{shown} — {quotes}" if shown else quotes
        if q.recent and lead.hit.date:  # "the latest…": say how recent the answer is
            text = f"As of {lead.hit.date}: {text}"
    return Answer(
        q.text,
        text,
        abstained=False,
        citations=citations,
        hits=hits,
        span=short,
        span_shown=shown if shown != short else None,
        support=best.support,
        resolved_question=resolved,
    )


def _quoted(c: Citation, cand: Candidate) -> str:
    """«quote» [n], with an ellipsis where the quote is a clause of its sentence."""
    before, after = "…" if c.start > cand.start else "", "…" if c.end < cand.end else ""
    return f"«{before}{c.quote}{after}» [{c.n}]"


def short_text(cand: Candidate) -> str | None:
    """The reader's short answer in `cand`'s sentence, or None."""
    if cand.short is None:
        return None
    return cand.text[cand.short[0] - cand.start : cand.short[1] - cand.start]


def _shown(q: Question, cand: Candidate) -> str | None:
    """The short answer as the reader sees it: a date, figure, amount or duration of a French
    sentence in English for an English question (`in_english`: "au premier trimestre 2025" ->
    "in the first quarter of 2025"), of an English one in French for a French question
    (`in_french`: "$1.6 billion" -> "1,6 milliard de dollars"), else the sentence's own words;
    a day named by the article's date with its date (`dated`: "le 30 mai dernier" -> "le 30
    mai 2019", "mardi" -> "mardi 18 juin 2019"). None without one."""
    short = short_text(cand)
    if not short or cand.short is None:
        return None
    written = detect_language(cand.hit.text)
    when = dated(short, cand.hit.date, cand.text, cand.short[0] - cand.start)
    if q.lang == "en" and written == "fr":
        return in_english(when, q.kind) or when
    if q.lang == "fr" and written == "en":
        return in_french(when, q.kind) or when
    return when


def differing_figures(reading: Reading, best: Candidate) -> list[Candidate]:
    """When other dated articles answer the question about as surely as `best` (support at
    least the threshold and OTHER_FIGURE_SUPPORT of best's, a short answer of their own)
    with another figure of the same kind (a date, number, amount or duration), `best` and
    up to OTHER_FIGURES of them, newest first: a figure that changed over time (a target
    raised, a forecast revised) is shown with each date rather than picked silently. Else
    []. Not names: two articles naming two people for "Who founded Tesla?" give two
    answers, one of them wrong, not a name that changed."""
    kinds = _figure_kinds(best)
    if not kinds or not day_number(best.hit.date):
        return []
    seen = {_figure(best)}
    articles = {best.hit.article_id, *(copy.article_id for copy in best.hit.also)}
    others: list[Candidate] = []
    floor = max(reading.abstain_below, OTHER_FIGURE_SUPPORT * best.support)
    for cand in reading.ranked[1:]:
        if cand.support < floor or len(others) == OTHER_FIGURES:
            break
        figure = _figure(cand)
        if (
            not kinds & _figure_kinds(cand)
            or figure in seen
            or cand.hit.article_id in articles
            or day_number(cand.hit.date) in (None, day_number(best.hit.date))
        ):
            continue
        seen.add(figure)
        articles.add(cand.hit.article_id)
        others.append(cand)
    if not others:
        return []
    return sorted([best, *others], key=lambda c: day_number(c.hit.date) or 0, reverse=True)


def _revision(best: Candidate) -> tuple[int, int, int, int] | None:
    """When the sentence after `best` in its passage revises the date, figure, amount or
    duration `best` answers with (it says the figure changed, `_REVISED`, and holds one of the
    same kind: "son objectif était d'atteindre 100 000 livraisons. Désormais, ce point a été
    augmenté à 120 000 enregistrements."): that sentence's article offsets, then its new
    figure's (the first of that kind at most REVISION_REACH characters after a cue:
    "augmenté à 120 000"; not "32 ans" revised by "l'amende portée à 33,3 milliards"). None
    otherwise."""
    kinds = _figure_kinds(best)
    if not kinds:
        return None
    hit = best.hit
    s, e = next(((s, e) for s, e in split_sentences(hit.text) if hit.start + s >= best.end), (0, 0))
    text = hit.text[s:e]
    figures = [sp for sp in find_spans(text) if sp.kind in kinds]
    new = next(
        (
            f
            for cue in _REVISED.finditer(fold(text))
            for f in figures
            if 0 <= f.start - cue.end() <= REVISION_REACH
        ),
        None,
    )
    if new is None:
        return None
    return hit.start + s, hit.start + e, hit.start + s + new.start, hit.start + s + new.end


def _extended(best: Candidate, revision: tuple[int, int, int, int]) -> Candidate:
    """`best` read on to the end of its revising sentence, with the new figure as its short
    answer."""
    hit, end = best.hit, revision[1]
    text = hit.text[best.start - hit.start : end - hit.start]
    return replace(best, end=end, text=text, short=revision[2:], clause=None)


def _figures(cand: Candidate) -> list[Span]:
    """The figures (dates, numbers, amounts, durations: not names) of `cand`'s short answer."""
    return [sp for sp in find_spans(short_text(cand) or "") if sp.kind is not Kind.NAME]


def _figure_kinds(cand: Candidate) -> set[Kind]:
    return {sp.kind for sp in _figures(cand)}


def _figure(cand: Candidate) -> str:
    """The short answer's figures as compared: folded, without spaces and without the words
    around them ("20 000 exemplaires de sa Taycan chaque année" is "20000", as "20 000" is)."""
    return " ".join("".join(fold(sp.text).split()) for sp in _figures(cand))


def _latest(reading: Reading) -> Answer | None:
    """For "the latest news about X" (no particular fact asked): the lead of the newest
    article among the relevant passages that name X (`newest`: one whose title does first),
    with its date; None for any other question."""
    q = reading.question
    if not q.recent or q.kind is not None:
        return None
    # About X: the passage (or its title) names every name the question does, in any language
    # (`newest` put the articles whose title names it first).
    names = _about(q)
    hit = next(
        (
            h
            for h in reading.hits
            if day_number(h.date) and names <= set(terms(f"{h.title}\n{h.text}"))
        ),
        None,
    )
    if hit is None:
        return None
    # Its lead, the news article's own summary: the first sentence of 8 words or more.
    text = reading.article_text(hit.article_id) or ""
    s, e = next(
        ((s, e) for s, e in split_sentences(text[:LEAD_CHARS]) if len(text[s:e].split()) >= 8),
        (hit.start, hit.end),
    )
    lead = replace(hit, chunk_id=f"{hit.article_id}#lead", start=s, end=e, text=text[s:e])
    citation = verified_slice(reading.article_text, lead, s, e, n=1, score=hit.score)
    if citation is None:
        return None
    return Answer(
        q.text,
        f"The newest article on it, of {hit.date}: «{citation.quote}» [1]",
        abstained=False,
        citations=[citation],
        hits=reading.hits,
        resolved_question=q.search if q.search != q.text else None,
    )


def _abstention_text(q: Question, closest: list[Candidate], ranked: list[Candidate]) -> str:
    """Why there is no answer, as far as the rules tell: a name, code or year that every
    sentence of the shape asked for lacks (or the closest one), articles all published before
    what the question asks happened, no date, figure or measure where one is asked for
    ("none of the closest passages gives a range"). `ranked`: every sentence considered,
    `closest`: those shown."""
    said = f"{_dont_say(q)}."
    shaped = [c for c in ranked if c.gate != "type"]  # those of the kind of answer asked
    gates = {c.gate for c in shaped}
    if gates == {"absent"}:  # "How many cars did Xiaomi deliver in 2019?": 2019, not "a number"
        absent = frozenset.intersection(*(c.missing for c in shaped))
    else:
        absent = closest[0].missing if closest and closest[0].gate == "absent" else frozenset()
    # Never a name that a passage shown does hold (one ruled out for giving no number, say).
    shown = set(terms("\n".join(f"{c.hit.title}\n{c.hit.text}" for c in closest)))
    absent = frozenset(t for t in absent if not evidence.held_term(t, shown, q.codes))
    named = [w for w in re.findall(r"[\w’'.-]*\w", q.text) if set(terms(w)) & absent]
    if named:
        said = f"{_dont_say(q)}: the closest passages do not mention {', '.join(named)}."
    elif gates == {"early"}:
        said = f"{_dont_say(q)}: the closest passages were published before {q.happened}."
    elif not shaped and (measure := measure_asked(q.search, q.kind)):  # numbers, no unit
        said = f"{_dont_say(q)}: none of the closest passages gives {measure}."
    elif q.kind and not any(sp.kind in ACCEPTS[q.kind] for c in closest for sp in c.spans):
        said = f"{_dont_say(q)}: none of the closest passages gives {NOUNS[q.kind]}."
    return f"{said} The closest passages are below (closest, not an answer)."


def _dont_say(q: Question) -> str:
    """How an abstention begins: which articles were searched, when the question named a
    period ("The articles published since 2026-03-01 don't say")."""
    return f"The articles {q.period} don't say" if q.period else "The articles don't say"


def _distinct_passages(ranked: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for c in ranked:
        if c.hit.chunk_id not in seen:
            seen.add(c.hit.chunk_id)
            out.append(c)
    return out


def _clause(best: Candidate, span: tuple[int, int]) -> tuple[int, int]:
    """Article offsets of the clause holding `span` (article offsets), for a long sentence
    (`evidence.clauses`); else the sentence."""
    lo, hi = span[0] - best.start, span[1] - best.start
    for s, e in evidence.clauses(best.text):
        if s <= lo and hi <= e:
            return best.start + s, best.start + e
    return best.start, best.end


def _verified(
    reading: Reading, chosen: list[tuple[Candidate, int, int]]
) -> list[tuple[Citation, Candidate]]:
    out: list[tuple[Citation, Candidate]] = []
    for cand, start, end in chosen:
        citation = verified_slice(
            reading.article_text, cand.hit, start, end, n=len(out) + 1, score=cand.support
        )
        if citation is not None:
            out.append((citation, cand))
    return out


def verified_slice(
    article_text: Callable[[str], str | None],
    hit: Hit,
    start: int,
    end: int,
    *,
    n: int,
    score: float,
) -> Citation | None:
    """A citation of `article[start:end]` inside `hit`, or None (logged) unless that slice of
    the article text the index holds (`article_text(article_id)`) is exactly the hit's text
    there."""
    quote = hit.text[start - hit.start : end - hit.start]
    text = article_text(hit.article_id)
    if (
        not quote
        or not hit.start <= start < end <= hit.end
        or text is None
        or text[start:end] != quote
    ):
        log.error("Dropped a citation that is not an exact slice of %s", hit.article_id)
        return None
    return Citation(
        n=n,
        article_id=hit.article_id,
        title=hit.title,
        start=start,
        end=end,
        quote=quote,
        score=round(score, 4),
        passage_start=hit.start,
        passage_end=hit.end,
        date=hit.date,
        url=hit.url,
        also_reported_by=hit.also,
    )
