"""Evidence: which sentence of the retrieved passages answers the question, read by the reader.

A question is analysed once (`analyse`: its terms, its names and numbers, the kind of answer it
expects, its language, and for a follow-up the earlier question it continues). Every sentence
of the hits is a `Candidate`. Three rules (`_gate`) rule a sentence out before the reader sees
it, whatever it would say:
- `absent`: the question names something (a model code such as "YU7", a year, or a name
  such as "Rivian": in another language than the article's, only a name the best passage
  writes as the question does, `_written_alike`) that neither the passage, its title nor
  its article holds (a year also counts as held when the article is dated within a year of
  it: "l'an dernier"): the sentence is about something else, however well it answers the
  question's shape (a name of 5 letters or more also matches with one typo, "Moncalm" for
  "Montcalm"; one of 1-2 letters, "JO", is not asked for: the article may write it out);
- `type`: the question wants a date, a number, an amount, a duration or a name and the
  sentence has none (answer shapes from `rag.answer_types`);
- `early`: the question asks what happened in a period it names with its year ("By how much
  did the car market fall in March 2020?") and the article was published before that period
  began: it may forecast it, not report it.
A sentence that opens on a reference to the one before it ("Il réalise dix blanchissages",
"Celle-ci est composée de...", "She was born...") does not say, alone, whom or what it is
about: it carries the question's words that the sentence before it holds and it lacks (its
`referent`, "Brodeur"), which count as its own words and are read with it, in brackets after
the reference ("Il (Brodeur) réalise..."). Only the question's words are carried, never the
sentence before: read whole, that sentence leaked its answer into the next one (stop 32).
Of the `PREFILTER` that look best without the reader (their stored vector's cosine with the
question, plus the share of the question's words they hold), the `READ` best that no rule
rules out are read by the trained reader (`rag.reader`), which gives each its calibrated
`support` (the chance it answers the question; a passage in another language than the
question is judged with its cosines raised by the measured `language_shift`, `calibrated`)
and its short answer span.
The reader's span is kept as the short answer only when it is confident, does not restate
the question and, for a question that wants a kind of answer, overlaps a span of that kind
(`_fits`); the best sentence, when it is long and answers, is read again clause by clause
for it (`read_clauses`). It does not cite or word the answer (`rag.answer` does).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rag.answer_types import (
    ACCEPTS,
    Kind,
    Span,
    asks_about_future,
    asks_about_past,
    before_article,
    counted,
    date_range,
    expected_kind,
    figure_range,
    find_spans,
    gives_age,
    gives_amount,
    gives_measure,
    measure_asked,
    month_asked,
    of_another_year,
    with_bound,
    with_unit,
)
from rag.reader import Reader, Verdict
from rag.retrieval import Hit
from rag.text import (
    STOPWORDS,
    asks_for_news,
    asks_for_recent,
    balanced,
    detect_language,
    fact_period,
    fold,
    named_period,
    question_language,
    split_sentences,
    terms,
    without_recency,
    word_set,
)
from rag.vectors import Published

#: Sentences considered per question: the best by `prefilter` (cosine + word share). 8 hold the
#: gold sentence for 0.97 of calib-split questions whose hits hold it (docs/reader.md).
PREFILTER = 8
#: Of those, the reader reads at most this many, best first, skipping those a rule rules out
#: (they would score 0 whatever it said). Each costs about 25 ms on news sentences, 2 cores;
#: reading 6 of 8 chooses as well as reading all 8 on the calib split (docs/reader.md).
READ = 6
#: Past the first READ_ALWAYS, only those within READ_WITHIN `prefilter` of the best are read:
#: one further behind is rarely the answer. Tuned on the calib split: 2.9 sentences read a
#: question instead of 4.3, the gold sentence chosen for 4 fewer of 632 questions, balanced
#: accuracy 0.666 -> 0.671; OrangeSum headings: 3.3 read instead of 4.25 (docs/reader.md).
READ_ALWAYS = 2
READ_WITHIN = 0.05
#: A term's weight: the question's own, or one a follow-up inherits from the question before.
OWN_WEIGHT, INHERITED_WEIGHT = 1.0, 0.5
#: The share of the question's words a sentence holds, against its cosine, in `prefilter`.
LEXICAL_WEIGHT = 0.1
#: What the support model weighs: the reader's logit, its margin over the best other
#: sentence (a question two sentences answer equally is less sure), the sentence's cosine
#: (+ word share) and its passage's cosine with the question. The reader's logit alone
#: separates unanswerable questions weakly (docs/reader.md).
SUPPORT_FEATURES = ("logit", "margin", "prefilter", "similarity")
MARGIN_CAP = 5.0  # logits apart; a lone sentence has this margin
UNIT_REACH = 12  # characters after a short answer where its unit may be ("550 kg")
COUNT_REACH = 3  # words after a count where the thing counted may be ("15 autres départements")
#: A sentence longer than this (characters) is read clause by clause for its short answer
#: (`read_clauses`) and quoted by the clause that holds it (`rag.answer`).
LONG_SENTENCE = 160
MIN_CLAUSE = 20  # characters: a shorter piece ("Selon lui :") is not a clause of its own
_CLAUSE = re.compile(
    r"\s*[;:—–]\s+|\s+-\s+|,\s+(?=(?:tandis|alors que|mais|while|whereas"
    r"|but|vs\.?|versus|contre|compared|against)(?!\w))"
)
PREFIX = 5  # terms sharing their first 5 letters match ("model"/"modèle", "livraison(s)")
# A folded term mixing letters and digits names one thing in every language ("yu7", "r1t",
# "a320neo"), unless it is an ordinal, a decade or a quarter ("10th", "2e", "1990s", "q1").
# Nor a measure ("10 000m", "100km", "75kwh").
_CODE = re.compile(
    r"(?=.*\d)(?=.*[a-z])(?!\d+(?:st|nd|rd|th|er|re|e|eme|s)$)(?![qhst]\d$)"
    r"(?!\d+(?:m|km|cm|mm|kg|h|min|mn|kw|kwh|wh|mah|ch|cv|mph)$)\w+"
)


_YEAR = re.compile(r"1[5-9]\d\d|20\d\d")
_WH = re.compile(
    r"(?i)\b(when|where|who|whom|whose|what|which|why|how(?: many| much| long| old)?|quand|où"
    r"|qui|quel(?:le)?s?|combien|comment|pourquoi)\b"
)
_FOLLOWUP_LEAD = re.compile(
    r"(?i)^\s*(and|et|what about|how about|and what about|et pour|et concernant|et quant|also"
    r"|aussi|same for|pareil pour|idem)\b"
)
# Capitalised in questions, but roles rather than names: they are not matched as entities.
_ROLES = word_set("ceo coo cfo cto pdg dg drh president ministre minister")
# English capitalises them, French does not ("the French minister", "le ministre français"):
# no names across the two languages, though a French text may hold one ("French Touch").
_DEMONYMS = word_set(
    "french english british german american chinese european japanese italian spanish "
    "russian polish belgian swiss dutch canadian indian korean african asian arab israeli"
)
_INVERTED = re.compile(r"(?i)-(?:t-)?(?:il|elle|ils|elles|on)\b")
_PRONOUNS = word_set(
    "it its they them their he she him his her this that these those there il elle ils "
    "elles lui leur leurs celui celle ceux celles cela ça y"
)


@dataclass(frozen=True)
class Question:
    text: str  # as asked
    search: str  # what is embedded and searched: the follow-up resolved against the history
    kind: Kind | None
    weights: dict[str, float]  # folded term -> weight (a follow-up's own words weigh more)
    entities: frozenset[str]  # folded names and numbers from the question
    lang: str | None
    codes: frozenset[str] = frozenset()  # folded model codes ("yu7"): the same in every language
    recent: bool = False  # asks for the newest ("the latest news about Tesla")
    news: bool = False  # asks what was published ("news about Tesla"), not for a fact
    period: Published | None = None  # the publication window it names ("depuis mars")
    follow_up: bool = False  # it continues the previous question, whose words `search` adds
    #: For a question about what happened in a period ("How many R1T did Rivian deliver in
    #: 2022?"), the period's first day: an article published before it cannot report it.
    happened: str | None = None
    future: bool = False  # asks what will happen ("When should the promenade be completed?")
    month: tuple[int, int | None] | None = None  # the month it names, with its year if it does


@dataclass(frozen=True)
class Candidate:
    """One sentence of one hit; once read, the reader's verdict on it."""

    hit: Hit
    rank: int
    start: int  # offsets in the article
    end: int
    text: str
    spans: tuple[Span, ...]  # answer shapes (dates, numbers, names) not taken from the question
    prefilter: float = 0.0
    logit: float = 0.0  # the reader's, before calibration (a sentence ruled out is not read)
    support: float = 0.0  # calibrated chance that the sentence answers; 0 when gated
    short: tuple[int, int] | None = None  # the reader's short answer, article offsets
    short_confidence: float = 0.0
    gate: str | None = None  # why the sentence cannot be the answer: "absent", "early", "type"
    missing: frozenset[str] = frozenset()  # for "absent": the question's terms it lacks
    #: Article offsets of the clause the reader says answers, when a long sentence read clause
    #: by clause has one it prefers to the whole (`read_clauses`): what is quoted.
    clause: tuple[int, int] | None = None
    #: For a sentence opening on a reference (`_REFERENCE`), the question's words the sentence
    #: before it holds and it lacks, as written there ("Brodeur"): what the reference stands
    #: for, as far as the question asks. The reader reads them with it (`read_as`).
    referent: str = ""

    def read_as(self) -> tuple[str, int, int]:
        """What the reader reads, and where the referent sits in it (offset, length): the
        sentence with its referent in brackets after the reference, "Il (Brodeur) réalise"."""
        opener = _REFERENCE.match(self.text) if self.referent else None
        if opener is None:
            return self.text, 0, 0
        inserted = f" ({self.referent})"
        at = opener.end()
        return self.text[:at] + inserted + self.text[at:], at, len(inserted)


def analyse(
    question: str, previous: Sequence[str] = (), *, today: dt.date | None = None
) -> Question:
    """`previous`: the earlier questions of the conversation (as searched), oldest first.
    A follow-up ("and the second model?", "et en Europe ?") is resolved without an LLM by
    adding the previous question's interrogative and content words it does not repeat.
    A period the question names ("since March", "news of May 2020") becomes a publication
    window and leaves the words searched (a month without a year is the last one up to
    `today`); news asked for a period is answered by the newest article of it."""
    period, asked = None, question
    if named := named_period(question, today or dt.date.today()):
        period = Published(named.since, named.until)
        question = " ".join(f"{question[: named.start]} {question[named.end :]}".split())
    fact = fact_period(question)
    own = terms(question)
    search, inherited, kind = question, [], expected_kind(question)
    follow_up = bool(previous) and _is_followup(question, own)
    if follow_up:
        before = previous[-1]
        wh = _WH.search(before)
        words = [
            w
            for w in re.findall(r"[\w’'-]+", before)
            if fold(w) not in STOPWORDS and not _WH.fullmatch(w) and fold(w) not in own
        ]
        context = " ".join(([wh.group(0)] if wh and not kind else []) + words)
        search = f"{question} ({context})" if context else question
        inherited = terms(context)
        kind = kind or expected_kind(context)
    weights = {t: INHERITED_WEIGHT for t in inherited} | {t: OWN_WEIGHT for t in own}
    codes = frozenset(t for t in terms(search) if _CODE.fullmatch(t))
    recent = asks_for_recent(asked)
    if recent:
        search = without_recency(search)
    return Question(
        asked,
        search,
        kind,
        weights,
        _entities(search),
        question_language(search),
        codes,
        recent,
        asks_for_news(asked),
        period,
        follow_up,
        fact.since if fact and not period and asks_about_past(asked) else None,
        asks_about_future(asked),
        None if period else month_asked(asked),
    )


def _is_followup(question: str, own: list[str]) -> bool:
    # "Quand Macron rencontrera-t-il le CFCM ?": a subject repeated after its verb refers to
    # the name before it, not to the question before ("Quand sort-il ?" does).
    asked = _INVERTED.sub(lambda m: " " if _entities(question[: m.start()]) else m[0], question)
    words = {w.lower() for w in re.findall(r"\w+", asked)}
    return (
        bool(_FOLLOWUP_LEAD.match(question))
        or len(own) <= 1
        or (len(own) <= 3 and bool(words & _PRONOUNS))
    )


def _entities(text: str) -> frozenset[str]:
    """Capitalised words past the first, acronyms and numbers (folded): the question's names."""
    found = set()
    for i, m in enumerate(re.finditer(r"[\w’'-]+", text)):
        word = m.group()
        capitalised = i > 0 and word[0].isupper() and not _WH.fullmatch(word)
        if capitalised or any(c.isdigit() for c in word):
            found.update(terms(word))
    return frozenset(found - _ROLES)


def candidates(question: Question, hits: Sequence[Hit], qvec: np.ndarray) -> list[Candidate]:
    """Every sentence of every hit, in order, with its `prefilter` score: the cosine of its
    stored vector with the question's (the passage's own cosine when the index has no
    sentence vectors: nothing is embedded here), plus LEXICAL_WEIGHT times the IDF-weighted
    share of the question's words it holds."""
    rows: list[tuple[int, Hit, int, int, float]] = []
    for rank, hit in enumerate(hits):
        if hit.sentences:
            rows += [(rank, hit, v.start, v.end, float(v.vector @ qvec)) for v in hit.sentences]
        else:
            rows += [(rank, hit, s, e, hit.similarity) for s, e in split_sentences(hit.text)]
    if not rows:
        return []
    words = [set(terms(h.text[s:e])) for _, h, s, e, _ in rows]
    referents = [""] * len(rows)
    for k in range(1, len(rows)):
        (_, before, s0, e0, _), (_, hit, s, e, _) = rows[k - 1], rows[k]
        if before is hit and _REFERENCE.match(hit.text[s:e]):
            carried = (words[k - 1] & question.weights.keys()) - words[k]
            referents[k] = _as_written(hit.text[s0:e0], carried)
            words[k] |= carried
    idf = _idf(question.weights, words)
    out = []
    for (rank, hit, s, e, cos), held, referent in zip(rows, words, referents, strict=True):
        text = hit.text[s:e]
        spans = tuple(sp for sp in find_spans(text) if not _in_question(sp, question, text))
        score = cos + LEXICAL_WEIGHT * _coverage(question.weights, idf, held)
        at = (hit.start + s, hit.start + e)
        out.append(Candidate(hit, rank, *at, text, spans, score, referent=referent))
    return out


#: A sentence's opening words that refer to the sentence before: a subject pronoun, a
#: demonstrative or a possessive ("Il", "Celle-ci", "Ces dernières", "Son père", "She").
_REFERENCE = re.compile(
    r"(?:Il|Elle|Ils|Elles|Celui-ci|Celle-ci|Ceux-ci|Celles-ci|Ce|Cet|Cette|Ces|Son|Sa|Ses"
    r"|Leur|Leurs|It|He|She|They|Its|His|Her|Their|This|These)\b"
)


def _as_written(text: str, carried: set[str]) -> str:
    """The words of `text` whose terms are all in `carried`, as written, each once."""
    found: list[str] = []
    for word in re.findall(r"[\w’'-]+", text):
        held = set(terms(word))
        if held and held <= carried and word not in found:
            found.append(word)
    return " ".join(found)


def read_sentences(
    question: Question,
    cands: Sequence[Candidate],
    reader: Reader,
    article_text: Callable[[str], str | None],
) -> list[Candidate]:
    """Of the PREFILTER best candidates, the READ best that no rule rules out and that are
    near enough the best (READ_ALWAYS, READ_WITHIN), read, best first by support (which
    weighs the reader's logit with the retrieval's cosines); then those a rule rules out,
    unread (support 0: they are only shown as closest on an abstention).
    `article_text(article_id)`: the whole article, for a name the passage lacks (the caller
    caches it: `rag.answer.read`)."""
    ruled: list[Candidate] = []
    chosen: list[Candidate] = []
    shared = _written_alike(question, next((c.hit for c in cands if c.rank == 0), None))
    ordered = sorted(cands, key=lambda c: (-c.prefilter, c.rank, c.start))
    pool = ordered[:PREFILTER]
    if measure_asked(question.search, question.kind):  # "600 km" may look less like it
        pool += [c for c in ordered[PREFILTER:] if any(_answers(question, c, sp) for sp in c.spans)]
    for c in pool:
        gate, missing = _gate(question, c, article_text, shared)
        if gate:
            ruled.append(replace(c, gate=gate, missing=missing))
        elif len(chosen) < READ and (
            len(chosen) < READ_ALWAYS or c.prefilter >= chosen[0].prefilter - READ_WITHIN
        ):
            chosen.append(c)
    reads = [c.read_as() for c in chosen]
    verdicts = reader.read(question.search, [text for text, _, _ in reads])
    verdicts = [_in_sentence(v, at, n) for v, (_, at, n) in zip(verdicts, reads, strict=True)]
    open_logits = [v.logit for v in verdicts]
    read_ = []
    for c, v in zip(chosen, verdicts, strict=True):
        feats = features(question, c, v.logit, open_logits)
        read_.append(
            replace(
                c,
                logit=v.logit,
                support=support(feats, reader.card["calibration"]),
                short=_short(question, c, v.span, v.span_confidence, reader),
                short_confidence=v.span_confidence,
            )
        )
    read_.sort(key=lambda c: (-c.support, -c.logit, c.rank))
    if read_ and read_[0].support >= reader.card["abstain_below"] and not question.follow_up:
        read_[0] = read_clauses(question, read_[0], reader)
    return read_ + ruled


def _in_sentence(verdict: Verdict, at: int, inserted: int) -> Verdict:
    """`verdict` on a sentence read with `inserted` characters at `at` (its referent), its
    span put back in the sentence's own offsets; a span that takes in the referent is none:
    those are the question's words, not an answer."""
    if not inserted or verdict.span is None:
        return verdict
    s, e = verdict.span
    if s < at + inserted and e > at:
        return replace(verdict, span=None, span_confidence=0.0)
    shift = inserted if s >= at + inserted else 0
    return replace(verdict, span=(s - shift, e - shift))


def read_clauses(question: Question, cand: Candidate, reader: Reader) -> Candidate:
    """`cand` with its short answer read clause by clause, when it is a long sentence of
    several clauses (`clauses`): the clause the reader says answers best gives its span, if
    that is more confident than the whole sentence's, and is the `clause` quoted when the
    reader prefers it to the whole sentence (a higher logit), span or not. Read whole, a long
    sentence spreads the reader's span probability over every date or figure it holds: the
    seed's 366 characters with three dates give "au premier trimestre 2025" 0.13 for "When do
    SU7 Ultra deliveries start?", read in its clause 0.73. (`read_sentences` does not ask it
    for a follow-up: the words it inherits from the question before would pick the clause
    about that one, the SU7 Ultra's quarter for "Et le deuxième modèle ?".)"""
    parts = clauses(cand.text)
    if len(parts) < 2:
        return cand
    verdicts = reader.read(question.search, [cand.text[s:e] for s, e in parts])
    (s, e), v = max(zip(parts, verdicts, strict=True), key=lambda p: p[1].logit)
    if v.logit > cand.logit:
        cand = replace(cand, clause=(cand.start + s, cand.start + e))
    if v.span is None or v.span_confidence <= cand.short_confidence:
        return cand
    span = (s + v.span[0], s + v.span[1])
    short = _short(question, cand, span, v.span_confidence, reader)
    return cand if short is None else replace(cand, short=short, short_confidence=v.span_confidence)


def clauses(text: str) -> list[tuple[int, int]]:
    """The clauses of a sentence longer than LONG_SENTENCE (offsets in it; those of at least
    MIN_CLAUSE characters), split at ";", ":", a dash or a contrast ("…, tandis que…",
    "…, while…"); [] for a shorter sentence."""
    if len(text) <= LONG_SENTENCE:
        return []
    bounds, start = [], 0
    for m in _CLAUSE.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(s, e) for s, e in bounds if e - s >= MIN_CLAUSE]


def _short(
    question: Question,
    cand: Candidate,
    span: tuple[int, int] | None,
    confidence: float,
    reader: Reader,
) -> tuple[int, int] | None:
    """The short answer (article offsets): the reader's span (offsets in the sentence) when it
    is confident enough (the calibrated bar), `_fits` and gives the measure asked; else the
    sentence's one figure of the kind asked (`_asked_figure`); else None."""
    sure = confidence >= reader.card["span_confidence"]
    if span is not None and sure and _fits(question, cand, span):
        lo, hi = _whole(question, cand, span)
        if gives_measure(question.search, question.kind, cand.text[lo : hi + UNIT_REACH]):
            return cand.start + lo, cand.start + hi
        # "5 heures" for a weight, "14.1 kWh" for a range: the reader's span is another figure
    span = _asked_figure(question, cand, span)
    if span is None:
        return None
    lo, hi = _whole(question, cand, span)
    return cand.start + lo, cand.start + hi


#: A question for a production run ("How many Lotus Evija will be built?"), and the words
#: that count one ("130 exemplaires", "500 units").
_PRODUCED = re.compile(
    r"\b(built|produced|made|manufactured|assembled|construit\w*|produit\w*|fabrique\w*"
    r"|assemble\w*)\b"
)
_RUN = re.compile(r"(?i)\s+(?:exemplaires|unit[ée]s|units|examples|copies)\b")


def _asked_figure(
    question: Question, cand: Candidate, near: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The sentence's one date, figure or amount of the kind the question asks for, when the
    reader is unsure ("novembre 2011" for "Quand le Galicien est-il suspendu ?"); for a measure
    asked, its one figure with a unit of that measure ("325 km/h" for a top speed; not the
    "100 km/h" of "0 à 100 km/h"). None when there is no such figure or several
    ("plus de 100 000 véhicules" and "367 820 voitures": which one did Tesla deliver?); for
    "how long", a duration before a date ("le 13 septembre, à quatre ans de prison"). One
    written twice ("600 porcs meurent ... environ 600 porcs sont morts") is one: the
    occurrence nearest the reader's span `near` (when it has one) is taken."""
    if question.kind in (None, Kind.NAME):
        return None
    measure = measure_asked(question.search, question.kind)
    found = [
        sp
        for sp in cand.spans
        if _answers(question, cand, sp)
        and not re.search(r"\b0 ?(à|a|to|-) ?$", cand.text[max(0, sp.start - 6) : sp.start])
        and (
            not measure
            or gives_measure(
                question.search, question.kind, cand.text[sp.start : with_unit(cand.text, sp.end)]
            )
        )
    ]
    if len(found) > 1 and _PRODUCED.search(fold(question.search)):
        # "produite en 130 exemplaires, facturés 1.7 million de livres": the production run
        found = [sp for sp in found if _RUN.match(cand.text, sp.end)]
    if question.kind is Kind.DURATION and any(sp.kind is Kind.DURATION for sp in found):
        # "condamné, le 13 septembre, à quatre ans de prison": how long is the duration, not
        # a date or a count; a figure with its unit may be ("le viaduc mesure 2 460 mètres")
        found = [
            sp
            for sp in found
            if sp.kind is Kind.DURATION
            or (sp.kind is not Kind.DATE and with_unit(cand.text, sp.end) > sp.end)
        ]
    if len({sp.text for sp in found}) != 1:
        return None
    at = near[0] if near else 0
    sp = min(found, key=lambda s: abs(s.start - at))
    return sp.start, sp.end


def features(
    question: Question, cand: Candidate, logit: float, open_logits: Sequence[float]
) -> dict[str, float]:
    """What the support model weighs (SUPPORT_FEATURES), for one read sentence, and whether
    its passage is in another language than the question (`other_language`, 0 or 1);
    `open_logits`: the logits of the question's read sentences that no rule ruled out."""
    others = list(open_logits)
    if logit in others:
        others.remove(logit)
    margin = logit - max(others) if others else MARGIN_CAP
    return {
        "logit": logit,
        "margin": max(-MARGIN_CAP, min(MARGIN_CAP, margin)),
        "prefilter": cand.prefilter,
        "similarity": cand.hit.similarity,
        "other_language": float(_other_language(question, cand.hit)),
    }


def calibrated(feats: dict[str, float], calibration: dict[str, Any]) -> list[float]:
    """The SUPPORT_FEATURES the support model weighs: a passage in another language than the
    question has its cosines raised by the calibration's `language_shift` (how much lower
    they are for the same question asked in the other language, measured on training
    questions), so that an English question over a French article is judged as a French
    one would be."""
    shift = calibration.get("language_shift", {})  # none before the first calibration
    return [feats[f] + shift.get(f, 0.0) * feats["other_language"] for f in SUPPORT_FEATURES]


def support(feats: dict[str, float], calibration: dict[str, Any]) -> float:
    """The calibrated chance that the sentence answers: a logistic model over SUPPORT_FEATURES
    fitted on the calib split (`bench/calibrate_reader.py`, rag/models/reader.json)."""
    weights = calibration["weights"]
    values = calibrated(feats, calibration)
    z = calibration["intercept"] + sum(
        weights[f] * v for f, v in zip(SUPPORT_FEATURES, values, strict=True)
    )
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _other_language(question: Question, hit: Hit) -> bool:
    """Whether the passage is in another language than the question (both known)."""
    return bool(question.lang) and detect_language(hit.text) not in (None, question.lang)


def _gate(
    question: Question,
    cand: Candidate,
    article_text: Callable[[str], str | None],
    shared: frozenset[str] = frozenset(),
) -> tuple[str | None, frozenset[str]]:
    """The rule that rules the sentence out ("type", "early" or "absent", module docstring) or None,
    and for "absent" the question's terms its article lacks."""
    if question.kind and not any(_answers(question, cand, sp) for sp in cand.spans):
        return "type", frozenset()
    hit = cand.hit
    if question.happened and hit.date and hit.date < question.happened:
        return "early", frozenset()
    years = _years(question)
    needed = (
        question.codes | years | (shared if _other_language(question, hit) else _names(question))
    )
    held = set(terms(f"{hit.title}\n{hit.text}")) | _years_near(hit.date)
    missing = {t for t in needed if not held_term(t, held, question.codes)}
    if missing:
        held = set(terms(article_text(hit.article_id) or ""))
        missing = {t for t in missing if not held_term(t, held, question.codes)}
    if years - missing:  # one is enough: "en 1996-1997" written "1996-97", "entre 2004 et 2005"
        missing -= years
    return ("absent" if missing else None), frozenset(missing)


def _answers(question: Question, cand: Candidate, span: Span) -> bool:
    """Could the span answer the question's kind: a date for "when" (for what will happen, not
    a year before the article's), for a number, the measure asked with its unit ("600 km" for
    a range) or, counting things, a count, and for an amount it names ("a deposit"), one in a
    sentence that speaks of it; and for a month asked, one in a sentence that does not speak of
    it in another year ("en août 2017" for "in August?" in an article of 2019)?"""
    kind = question.kind
    return (
        kind is not None
        and span.kind in ACCEPTS[kind]
        and gives_measure(question.search, kind, cand.text[span.start : span.end + UNIT_REACH])
        and gives_age(
            question.search,
            cand.text[span.start : span.end + UNIT_REACH],
            cand.text[: span.start],
        )
        and gives_amount(question.search, kind, cand.text)
        and not (
            kind is Kind.DATE
            and question.future
            and before_article(cand.text[span.start : span.end], cand.hit.date)
        )
        and not (question.month and of_another_year(cand.text, question.month, cand.hit.date))
    )


def _written_alike(question: Question, best: Hit | None) -> frozenset[str]:
    """The question's names that the best passage, in the other language, writes as the
    question does ("Reevo", "Precept"; not "Germany", which French writes "Allemagne"): the
    same in both languages, so a passage in that language must hold them too. Only the best
    passage's: any passage may quote a word of English ("London Stock Exchange" for
    "London"), the one the search puts first is about what was asked."""
    if best is None or not _other_language(question, best):
        return frozenset()
    return frozenset(_names(question) & set(terms(f"{best.title}\n{best.text}")) - _DEMONYMS)


def _years(question: Question) -> frozenset[str]:
    """The years a question about a fact names ("How many R1T did Rivian deliver in 2022?"):
    the same in every language. None for a question whose period is a publication window
    ("News about Tesla since 2020"): the search already keeps to it."""
    if question.period:
        return frozenset()
    return frozenset(e for e in question.entities if _YEAR.fullmatch(e))


def _years_near(date: str | None) -> set[str]:
    """The years an article of `date` may speak of without writing them: its own, and the one
    before or after ("l'an dernier", "next year")."""
    if not date or not _YEAR.fullmatch(date[:4]):
        return set()
    year = int(date[:4])
    return {str(year - 1), str(year), str(year + 1)}


def held_term(term: str, words: set[str], codes: frozenset[str]) -> bool:
    """Does the text hold the question's name or code? A name of 5 letters or more also
    matches one letter apart, a typo ("Moncalm" for "Montcalm", "Celeron" for "Céloron"); a
    code matches only as written ("YU7" is not "SU7")."""
    if has_term(term, words):
        return True
    return term not in codes and len(term) >= 5 and any(_one_typo(term, w) for w in words)


def _one_typo(a: str, b: str) -> bool:
    """`a` and `b` differ by one letter inserted, deleted, replaced, or two neighbours
    swapped ("Douia", "Douai"); the first letter is the same."""
    if abs(len(a) - len(b)) > 1 or not b or a[0] != b[0]:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    swapped = a[i : i + 2] == b[i : i + 2][::-1]
    return a[i + 1 :] == b[i + 1 :] or (swapped and a[i + 2 :] == b[i + 2 :])


def _fits(question: Question, cand: Candidate, span: tuple[int, int]) -> bool:
    """Can the reader's span be shown as the short answer? Not when it only restates the
    question, nor, when the question asks for a kind of answer (a date, an amount...), when
    it overlaps no span of that kind, nor, for a follow-up, when the clause holding it has
    words the follow-up inherits and none of its own: it answers the question before, whose
    words the follow-up's search carries ("Et le deuxième modèle ?" after the SU7 Ultra's
    deliveries would give the SU7 Ultra's quarter again; in the question's language only,
    where its own words can be found)."""
    words = terms(cand.text[span[0] : span[1]])
    if words and all(w in question.weights or w in question.entities for w in words):
        return False
    if question.follow_up and detect_language(cand.hit.text) == question.lang:
        s, e = next(
            ((s, e) for s, e in clauses(cand.text) if s <= span[0] and span[1] <= e),
            (0, len(cand.text)),
        )
        held = {question.weights[t] for t in terms(cand.text[s:e]) if t in question.weights}
        if held == {INHERITED_WEIGHT}:
            return False
    if question.kind is None:
        return True
    return any(
        sp.kind in ACCEPTS[question.kind] and sp.start < span[1] and span[0] < sp.end
        for sp in cand.spans
    )


def _whole(question: Question, cand: Candidate, span: tuple[int, int]) -> tuple[int, int]:
    """The reader's span grown to the whole answers of the kind asked that it overlaps: "1.6
    billion" to "1.6 billion euros" for "how much", a lap time to all of its minutes and
    seconds, a date to the span of time it opens or closes for "how long" ("from 4 August
    1915 until November 1918"); to any name, date or figure it cuts ("Red" of "Red Army",
    "191.766 billion" of "191.766 billion PLN"); and to the words that bound or round the
    figure or date it starts with, which the reader often leaves out ("plus de 20 milliards
    d'euros", "until 1796": `with_bound`), and to the range of figures it closes ("entre 67
    et 87 km": `figure_range`); and never cutting a bracket or a quotation ("About
    15 kilometres (9 miles" -> "About 15 kilometres (9 miles)": `balanced`)."""
    lo, hi = span
    asked = ACCEPTS[question.kind] if question.kind is not None else frozenset()
    for sp in cand.spans:
        if sp.start < span[1] and span[0] < sp.end:
            if sp.kind in asked or sp.start < span[0] or span[1] < sp.end:
                lo, hi = min(lo, sp.start), max(hi, sp.end)
            if question.kind is Kind.DURATION and sp.kind is Kind.DATE:
                period = date_range(cand.text, cand.spans, sp)
                if period:
                    lo, hi = min(lo, period[0]), max(hi, period[1])
    first = next((sp for sp in cand.spans if sp.start == lo), None)
    last = next((sp for sp in cand.spans if sp.end == hi and sp.kind in asked), None)
    lo = lo if first is None else with_bound(cand.text, first)
    if last and question.kind in (Kind.NUMBER, Kind.MONEY):
        lo = min(lo, figure_range(cand.text, cand.spans, last) or lo)  # "entre 67 et 87 km"
    if last and question.kind is Kind.NUMBER and last.kind is Kind.NUMBER:
        hi = with_unit(cand.text, hi)  # "2 000" -> "2 000 ch"
    if question.kind is Kind.NUMBER:
        hi = _with_counted(question, cand.text, hi)
    return balanced(cand.text, lo, hi)


def _with_counted(question: Question, text: str, hi: int) -> int:
    """`hi` moved past the thing the question counts when it comes within COUNT_REACH words:
    "200 villes" for "Combien de villes européennes ...?", and "15 autres départements", where
    the reader's span was "15 autres"."""
    noun = counted(question.search)
    if noun is None:
        return hi
    words = list(re.finditer(r"\w+", text[hi : hi + 40]))[:COUNT_REACH]
    thing = next((w for w in words if has_term(noun, {fold(w[0])})), None)
    return hi + thing.end() if thing else hi


def _names(question: Question) -> frozenset[str]:
    """The question's entities that are words (not numbers): names, in its own language. Not
    those of one or two letters: an abbreviation ("JO", "II" of "World War II") the article may
    write out."""
    return frozenset(
        e for e in question.entities if len(e) > 2 and not any(ch.isdigit() for ch in e)
    )


def _idf(weights: dict[str, float], sentences: list[set[str]]) -> dict[str, float]:
    """IDF over the candidate sentences: a word every sentence has tells them apart least; a
    word none has weighs most, so a question about something absent loses coverage."""
    n = len(sentences)
    return {
        t: math.log(1 + (n + 1) / (0.5 + sum(has_term(t, s) for s in sentences))) for t in weights
    }


def has_term(term: str, words: set[str]) -> bool:
    if term in words:
        return True
    return len(term) >= PREFIX and any(
        len(w) >= PREFIX and w[:PREFIX] == term[:PREFIX] for w in words
    )


def _coverage(weights: dict[str, float], idf: dict[str, float], words: set[str]) -> float:
    total = sum(w * idf.get(t, 1.0) for t, w in weights.items())
    if not total:
        return 0.0
    return sum(w * idf.get(t, 1.0) for t, w in weights.items() if has_term(t, words)) / total


def _in_question(span: Span, question: Question, text: str) -> bool:
    """A span of `text` made of the question's words restates it and cannot answer it; so
    does a name made of them and a role ("PDG de Xiaomi" for "Qui dirige Xiaomi ?"), not one
    with words of its own ("Automotive News Europe" for "Which publication reported that
    Xiaomi is ready to absorb losses in Europe?"), nor a number the question holds only in a
    name, written on its own ("produite en 63 exemplaires" for "How many Aventador SVJ 63
    will be produced?")."""
    words = terms(span.text)
    roles = _ROLES if span.kind is Kind.NAME else frozenset()
    return (
        bool(words)
        and all(w in question.weights or w in question.entities or w in roles for w in words)
        and not _own_number(span, question, text)
    )


def _own_number(span: Span, question: Question, text: str) -> bool:
    """Whether number `span` is, in `text`, not the number of the name the question writes it
    in ("SVJ 63": the question's word before it is capitalised, and `text` has another)."""
    if span.kind is not Kind.NUMBER:
        return False
    named = re.search(rf"(\S+)\s+{re.escape(span.text)}(?![\w,.])", question.search)
    if named is None or fold(named[1]) not in question.entities:
        return False  # "Des 300 passagers": no name
    before = text[: span.start].split()[-1:]
    return bool(before) and fold(before[0]) != fold(named[1]) and before[0] not in _DETERMINERS


#: Words before a number that make it a thing's name, not a figure: "la 208", "the 208".
_DETERMINERS = frozenset(
    {"le", "la", "les", "l'", "un", "une", "des", "du", "the", "a", "an", "ce", "cette", "sa"}
)
