"""Text knowledge every stage shares, on the ground floor (it imports nothing of ours):
folding and terms for comparison, function words, sentence splitting, guessing French or
English, month names, reading a calendar date, and what a question says about time (the
newest, news, a period it names).

`split_sentences` is a small rule-based splitter tuned for scraped French and English news
(missing spaces after full stops, abbreviations, `2.9`/`100 000`, « » quotes, ` ;`/` ?`
spacing); chunking packs its sentences, the reader reads them, citations quote them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

# Letters Unicode does not decompose into a base letter and an accent: "Łódź", "œuvre".
_UNDECOMPOSED = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ı": "i", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"}
)


def fold(text: str) -> str:
    """Lower case without accents: `Énergie` and `energie` are one term, as are `œuvre` and
    `oeuvre`, `Skłodowska` and `Sklodowska`."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_UNDECOMPOSED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def word_set(spaced: str) -> frozenset[str]:
    """The words of a space-separated list, as written."""
    return frozenset(spaced.split())


# -- terms: what search and the evidence step compare ------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)
# Dropped from search terms: function and question words of both languages (folded).
STOPWORDS = word_set("""
a an and are as at be by for from has have he her his how in is it its of on or she that
the their there they this to was were what when where which who why will with do does did
can could would should you your we our i me my not no than then so if but about into over
au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur leurs
lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses
son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y est sont ete etre avoir
ont comme plus quand quel quelle quels quelles combien pourquoi comment
""")


def terms(text: str) -> list[str]:
    """The folded words of `text` that search compares, in order (no stopwords)."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


# -- languages --------------------------------------------------------------------------------
# Frequent function words that the other language rarely uses ("a", "on", "an" are in both).
_FR_WORDS = """le la les des du de et est un une dans pour que qui sur au aux pas ne il elle nous
vous ce cette ces avec par sont ont été mais ou leur plus d l qu n se sa ses son"""
_EN_WORDS = """the and of to in is that for it with was are by this be at from have has which not
were their but its or had will would been they he she we who"""
_FUNCTION_WORDS = {"fr": word_set(_FR_WORDS), "en": word_set(_EN_WORDS)}


def detect_language(text: str) -> str | None:
    """Guess French or English ("fr"/"en") from stopword counts; None if too short or mixed."""
    words = re.findall(r"[^\W\d_]+", text[:5000].lower())
    if len(words) < 8:
        return None
    counts = {lang: sum(w in stop for w in words) for lang, stop in _FUNCTION_WORDS.items()}
    (best, top), (_, second) = sorted(counts.items(), key=lambda kv: -kv[1])
    # A real article has roughly a third stopwords; demand a clear margin over the other list.
    if top >= 3 and top >= 0.1 * len(words) and top >= 2 * second:
        return best
    return None


# Words that tell a question's language (questions are too short for `detect_language`).
_EN_HINTS = word_set(
    "the a an is are was were do does did of to in what when where who which how why will "
    "would has have summarize summarise summary give tell about"
)
_FR_HINTS = word_set(
    "le la les des du de est sont un une que qui quoi quand quel quelle quels quelles "
    "combien comment pourquoi ou a au aux dans pour sur l d résume résumer résumez peux"
)


def question_language(text: str) -> str | None:
    """Guess a question's language from its question and function words, else as a text."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    en, fr = sum(w in _EN_HINTS for w in words), sum(w in _FR_HINTS for w in words)
    if en == fr:
        return detect_language(text)
    return "en" if en > fr else "fr"


# -- sentences --------------------------------------------------------------------------------
# Every line break ends a sentence; these are the characters str.splitlines() breaks on.
LINE_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Terminal punctuation, then any closing quotes/brackets, which belong to the sentence they end
# (French writes `fin. »` with a (narrow) no-break space). A `"` or `’` followed by a letter
# opens the next sentence (or is an apostrophe), so it is not taken.
_TERMINAL = re.compile(r"([.!?…‽]+)((?:[ \t\u00a0\u202f]*»|[”)\]}]|[\"'’](?!\w))*)")


# Words that a full stop follows without ending the sentence. Case matters for titles
# ("Me" is Maître, "me." ends English sentences).
_TITLES = word_set(
    "M MM Mme Mmes Mlle Mlles Me Mgr Dr Pr Prof St Ste Mr Mrs Ms Jr Sr Gen Gén Col Lt Sgt Capt "
    "Rev Hon Sen Rep Gov Inc Ltd Corp Co Cie Bros Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov "
    "Dec"
)
_LOWER_ABBREVIATIONS = word_set("vs cf ex env av bd approx ca resp viz al éd coll")
# Abbreviations that usually precede a number ("p. 12", "art. 3", "janv. 2025").
_BEFORE_NUMBER = word_set(
    "c p pp no n nr nº art fig vol ch chap sect réf ref tél tel janv févr fév avr juil sept oct "
    "nov déc"
)
# Words an ellipsis of suspense follows mid-sentence ("c'est à... Evreux!").
_SUSPENDED = word_set(
    "à de du des le la les un une au aux en dans sur par pour avec et ou est sont était the a "
    "an of to in at on for with and or is are was were"
)
# What opens a sentence, not a surname after an initial ("une Model Y. L'entreprise", "J. Le
# Pen" is a name): read apart only where read (chunks keep their bounds).
_OPENER = re.compile(r"(?:L['’]|(?:Il|Elle|Ils|Elles|On|Ce|Cette|Ces|Un|Une|It|They|This)\b)")
_ENUMERATOR = re.compile(r"\(?(?:\d{1,3}|[IVXLC]{1,6}|[A-Za-z])")  # "1. Le point" or "II. Les"


def split_sentences(text: str, *, glued: bool = True) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` in order, without surrounding whitespace.

    A line break always ends a sentence. Within a line, `. ! ? …` (with any closing quotes)
    end one when the next word does not start in lower case, except after abbreviations,
    initials, dotted acronyms and list numbers; with no space after (scraped text), only
    before a capitalised word that follows a real word ("Pyrénées.Alors").

    `glued`: also split where scraping glued sentences after a number, a price or a closing
    quote, or before a quote, a figure, a subheading's dash or a subheading in capitals that
    opens the next (`"racistes".Dans`, "Europe 1.Plusieurs", "44 670 €.Cette", `penser
    ?""La`, "brûlé.4.000 pompiers", "en main.- Les gens -", "d'ITT.PLUS DE 40 KILOS"); after
    a video's caption and its credit ("en fait-on trop ?par BFMTVLa préfecture"); before a
    sentence a subheading is glued to without any mark ("Autopsie attendueLa direction");
    and keep dotted initials whole ("H.P.Lovecraft"). What is read and quoted is split so;
    chunking is not (`rag.chunking.chunk_text`: moving its boundaries cost retrieval,
    docs/benchmarks.md).
    """
    spans: list[tuple[int, int]] = []
    line_start = 0
    for brk in [*LINE_BREAK.finditer(text), None]:
        line_end = brk.start() if brk else len(text)
        start = line_start
        for match in _TERMINAL.finditer(text, line_start, line_end):
            if _ends_sentence(text, start, match, line_end, glued):
                _add_unglued(text, start, match.end(), spans, glued)
                start = match.end()
        _add_unglued(text, start, line_end, spans, glued)
        line_start = brk.end() if brk else len(text)
    return spans


#: A video's credit glued after its caption in scraped news: "Port du masque obligatoire: en
#: fait-on trop ?par BFMTVLa préfecture évoque...". The caption keeps its credit; the next
#: sentence starts after it. 140 of 6,000 OrangeSum articles have one.
_CREDIT = re.compile(
    r"(?<=[?!.»\"”])par (?:BFMTV|BFM Business|franceinfo|6MEDIAS|Europe 1|CNEWS|FRANCE 24"
    r"|France 24|France Inter|France Culture|France Info|France Bleu|France 2|France 3|LCI|RMC"
    r"|RTL|TF1|Autonews|Lopinion\.fr|Jeanmarcmorandini\.com|Yahoo France|Yahoo Actualités"
    r"|Non Stop People|Le Parisien|Le Figaro|20 Minutes|Closer|Voici|Gala|Public)"
    r"(?=[\s•]*[A-ZÀ-ÖØ-Þ«\"“])"
)


#: A subheading glued to the sentence after it, with no mark between: "Autopsie attendueLa
#: direction de l'hôpital", "UN BON POINT SUR LES QUESTIONS INTERNATIONALESMalgré tout". The
#: next sentence opens on one of French's usual first words, right after a word in lower case
#: or a heading in capitals. 1,091 in 862 of 6,000 OrangeSum articles (14%); in a sample of
#: 210, none was a name ("YouTube", "LeBron", "DiCaprio" do not open on such a word).
_SUBHEADING = re.compile(
    r"(?:(?<=[a-zà-öø-ÿ]{2})|(?<=[A-ZÀ-ÖØ-Þ]{3}))"
    r"(?=(?:Le|La|Les|Un|Une|Des|Du|De|Au|Aux|En|Dans|Pour|Par|Sur|Avec|Sans|Selon|Depuis"
    r"|Après|Avant|Lors|Pendant|Entre|Face|Chez|Dès|Malgré|Parmi|Il|Elle|Ils|Elles|On|Ce|Cette"
    r"|Ces|Son|Sa|Ses|Leur|Leurs|Mais|Et|Or|Si|Alors|Comme|Quand|Lorsque|Pourtant|Cependant"
    r"|Enfin|Ainsi|Toutefois|Désormais|À)[\s\u00a0]|[LD]['’]\w|C['’]est\s)"
)


def _add_unglued(
    text: str, start: int, end: int, spans: list[tuple[int, int]], glued: bool
) -> None:
    """`add_trimmed`, split where scraping glued a sentence to a video credit (`_CREDIT`) or
    a subheading (`_SUBHEADING`) before it, when `glued`."""
    if glued:
        cuts = {credit.end() for credit in _CREDIT.finditer(text, start, end)}
        cuts.update(heading.start() for heading in _SUBHEADING.finditer(text, start, end))
        for cut in sorted(cuts):
            add_trimmed(text, start, cut, spans)
            start = cut
            while start < end and (text[start] == "•" or text[start].isspace()):
                start += 1
    add_trimmed(text, start, end, spans)


def _ends_sentence(text: str, start: int, match: re.Match[str], line_end: int, glued: bool) -> bool:
    nxt = match.end()
    while nxt < line_end and text[nxt].isspace():
        nxt += 1
    if nxt == line_end:
        return True
    char, spaced = text[nxt], nxt > match.end()
    is_period = match.group(1) == "."
    word = _word_before(text, match.start())
    if not spaced:
        # Scraped text loses spaces: "Pyrénées.Alors que" is two sentences, but "2.9",
        # "U.S." and "www.xiaomi.com" are not, hence: a capitalised word must follow.
        after = text[nxt + 1] if nxt + 1 < line_end else " "
        if not (
            (char.isupper() and (after.islower() or after in "’'" or after.isspace()))
            or char in "«“"
            or (glued and char == '"' and after.isupper())  # `penser ?""La`
            or (glued and char in "-–" and after.isspace() and word.isalpha())  # `main.- Les`
            or (glued and char.isdigit() and _opens_on_figure(text, nxt, word))  # `feu.4.000`
            or (glued and _CAPS_HEADING.match(text, nxt) is not None)  # `l'ITT.PLUS DE 40 KILOS`
        ):
            return False
        if glued:
            closed = match.start() > start and text[match.start() - 1] in '"”»)%€$£'
            initial = len(word) < 2 and not word.islower()  # not the Honda "e.Comme"
            if is_period and not closed and not word.isdigit() and (initial or _dotted(word)):
                return False  # initials: "A.Dupont", "H.P.Lovecraft"; not `"racistes".Dans`
            if _model_letter(text, nxt):
                return False  # "le VW ID.R développé"
            if _ENUMERATOR.fullmatch(text[start : match.start()].strip()):
                return False  # "1.Le premier point"
        elif is_period and len(word) < 2:
            return False
        words = text[max(start, match.start() - 200) : match.start()].split()
        token = words[-1].lower() if words else ""
        return not (
            "://" in token or "@" in token or token.startswith("www.") or (glued and token == "www")
        )
    if char.islower() or char in ",;:.)]}%»":  # "etc. et", "« Oui ? » a-t-il dit"
        return False
    if not is_period:
        # "c'est à... Evreux!": suspense, not an end (only where read: chunks keep their bounds)
        return not (glued and match.group(1) in ("...", "…") and word.lower() in _SUSPENDED)
    if glued and word.isupper() and _model_letter(text, nxt):
        return False  # "le prototype ID. R Pikes Peak"; not `mon chéri." C à vous`
    if (
        (len(word) == 1 and word.isupper() and not (glued and _OPENER.match(text, nxt)))
        or word in _TITLES
        or word.lower() in _LOWER_ABBREVIATIONS
    ):
        return False  # initials and "M. Dupont", "Dr. Wang", "p. ex. Le", "vs. Apple"; not "2 s."
    if _dotted(word):
        return False  # "U.S. President", "e.g. Apple", "Ph.D. Thesis"
    if char.isdigit() and word.lower() in _BEFORE_NUMBER:
        return False
    head = text[start : match.start()] if match.start() - start <= 20 else "long sentence"
    return not _ENUMERATOR.fullmatch(head.strip())


#: A subheading in capitals glued after a sentence's end: "10 jours d'ITT.PLUS DE 40 KILOS
#: PERDUSLe tortionnaire" (88 in 73 of 6,000 OrangeSum articles): two words in capitals at
#: least, so that one acronym ("Paris.SNCF Réseau") is not taken for one.
_CAPS_HEADING = re.compile(r"[A-ZÀ-ÖØ-Þ]{2,}(?:[ '’-]+[A-ZÀ-ÖØ-Þ0-9]+)+(?![a-zà-öø-ÿ])")

#: A figure that opens a sentence glued to a word: "sécheresse.4.000 pompiers ont".
_FIGURE_OPENING = re.compile(r"\d(?:[\d.,]*\d)?(?=[ \u00a0\u202f%])")


def _opens_on_figure(text: str, at: int, word: str) -> bool:
    """Whether the figure at `at`, glued to `word` by a full stop, opens the next sentence:
    after a word of 3 letters or more that no number follows ("art.3", "janv.2025" do), not
    a decimal ("2.9") or a version ("v2.0")."""
    return (
        len(word) >= 3
        and word.isalpha()
        and word.lower() not in _BEFORE_NUMBER
        and word not in _TITLES
        and _FIGURE_OPENING.match(text, at) is not None
    )


def _model_letter(text: str, at: int) -> bool:
    """Whether `text[at]` is a capital letter alone, as a model's name ends ("ID.R", "ID. R
    Pikes Peak"), not a sentence's first word ("A Paris", "I think", "Y sont"; read apart
    only where read: chunks keep their bounds)."""
    after = text[at + 1 : at + 2]
    return text[at].isupper() and text[at] not in "AÀIY" and (not after or after.isspace())


def _dotted(word: str) -> bool:
    """A dotted acronym or abbreviation: "U.S", "e.g", "Ph.D"."""
    return "." in word and all(p.isalpha() and len(p) <= 2 for p in word.split("."))


def _word_before(text: str, end: int) -> str:
    """The run of letters, digits and inner dots just before `end` ("U.S" in "U.S.")."""
    start = end
    # Bounded: a long run without spaces (a URL, base64) must not make splitting quadratic.
    while start > max(0, end - 40) and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:end].lstrip(".")


def add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append `(start, end)` to `spans` without the whitespace around it, if anything is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


#: The brackets and quotation marks a short answer must not cut: opener -> closer.
_PAIRS = {"(": ")", "[": "]", "«": "»", "“": "”", '"': '"'}


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]` grown to the partner of every bracket or quotation mark it opens or
    closes but cuts ("About 15 kilometres (9 miles" -> "About 15 kilometres (9 miles)", "pour
    donner le « buzz" -> "pour donner le « buzz »"); where `text` has no partner, the longer
    side of the lone mark instead. The span as it was when nothing would be left."""
    lo, hi = start, end
    for opener, closer in _PAIRS.items():
        lo, hi = _paired(text, lo, hi, opener, closer)
    while lo < hi and (text[lo].isspace() or text[lo] in ",;:"):
        lo += 1
    while hi > lo and (text[hi - 1].isspace() or text[hi - 1] in ",;:"):
        hi -= 1
    return (lo, hi) if lo < hi else (start, end)


def _paired(text: str, lo: int, hi: int, opener: str, closer: str) -> tuple[int, int]:
    if opener == closer:  # straight quotes: the count before the span tells which one opens
        if text.count(opener, lo, hi) % 2 == 0:
            return lo, hi
        if text.count(opener, 0, lo) % 2:  # the span starts inside a quotation
            return text.rfind(opener, 0, lo), hi
        after = text.find(opener, hi)
        lone = text.rfind(opener, lo, hi)
        return (lo, after + 1) if after >= 0 else _longer(lo, hi, lone, lone)
    unopened: list[int] = []  # where the closers without their opener are
    unclosed: list[int] = []  # where the openers without their closer are
    for i in range(lo, hi):
        if text[i] == opener:
            unclosed.append(i)
        elif text[i] == closer:
            if unclosed:
                unclosed.pop()
            else:
                unopened.append(i)
    if unopened:
        partner = _partner(text, range(lo - 1, -1, -1), closer, opener, len(unopened))
        if partner is None:
            return _longer(lo, hi, unopened[0], unopened[-1])
        lo = partner
    if unclosed:
        partner = _partner(text, range(hi, len(text)), opener, closer, len(unclosed))
        if partner is None:
            return _longer(lo, hi, unclosed[0], unclosed[-1])
        hi = partner + 1
    return lo, hi


def _longer(lo: int, hi: int, first: int, last: int) -> tuple[int, int]:
    """The longer of the span's part before `first` and its part after `last` (lone marks)."""
    return (lo, first) if first - lo >= hi - last - 1 else (last + 1, hi)


def _partner(text: str, where: range, same: str, other: str, needed: int) -> int | None:
    """Where, walking `where`, the `needed`-th `other` with no `same` of its own is."""
    depth = 0
    for i in where:
        if text[i] == same:
            depth += 1
        elif text[i] == other:
            if depth:
                depth -= 1
            else:
                needed -= 1
                if not needed:
                    return i
    return None


# -- months and dates -------------------------------------------------------------------------


#: Month names in French and in English, each full name then its abbreviations, by month.
MONTH_NAMES: list[tuple[str, str]] = [
    ("janvier janv", "January Jan"),
    ("février févr fév", "February Feb"),
    ("mars", "March Mar"),
    ("avril avr", "April Apr"),
    ("mai", "May"),
    ("juin", "June Jun"),
    ("juillet juil", "July Jul"),
    ("août", "August Aug"),
    ("septembre sept", "September Sep Sept"),
    ("octobre oct", "October Oct"),
    ("novembre nov", "November Nov"),
    ("décembre déc", "December Dec"),
]
#: Month names folded (lower case, no accents), full and abbreviated -> 1..12.
MONTHS: dict[str, int] = {
    fold(name): month
    for month, (french, english) in enumerate(MONTH_NAMES, 1)
    for name in f"{french} {english}".split()
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")  # 14/03/2026, European
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:er|st|nd|rd|th)?\s+([^\W\d_]+)\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


def day_number(date: str | None) -> int | None:
    """`2026-03-14` -> 20260314: Chroma filters compare numbers, not strings. None unless
    `date` is an ISO date (or starts with one)."""
    try:
        return int(dt.date.fromisoformat((date or "")[:10]).strftime("%Y%m%d"))
    except ValueError:
        return None


def iso_date(text: str) -> str | None:
    """The first calendar date in `text` as `YYYY-MM-DD` ("2026-03-14T08:30+01:00",
    "14/03/2026", "14 mars 2026", "March 14, 2026"), or None."""
    found: list[tuple[int, int, int, int]] = []  # where, year, month, day
    if m := _ISO_DATE.search(text):
        found.append((m.start(), int(m[1]), int(m[2]), int(m[3])))
    if m := _NUMERIC_DATE.search(text):
        found.append((m.start(), int(m[3]), int(m[2]), int(m[1])))
    for m in _DAY_MONTH_YEAR.finditer(text):
        if month := MONTHS.get(fold(m[2])):
            found.append((m.start(), int(m[3]), month, int(m[1])))
            break
    for m in _MONTH_DAY_YEAR.finditer(text):
        if month := MONTHS.get(fold(m[1])):
            found.append((m.start(), int(m[3]), month, int(m[2])))
            break
    for _, year, month, day in sorted(found):
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


# A question that asks for what is newest: "the latest news about Tesla", "récemment".
_RECENT = re.compile(
    r"(?i)\b(?:latest|most recent|newest|recent(?:ly)?|lately|derni(?:ère|ères|ers)"
    r"|récemment|récent(?:e|es|s)?|plus récent(?:e|es|s)?)\b"
)
# The words that only say "news": left out of the search for such a question.
_NEWS = re.compile(
    r"(?i)\b(?:news|nouvelles|actualités?|infos?|informations|what(?:'s|’s| is) new"
    r"|quoi de (?:neuf|nouveau))\b"
)
# Other ways to ask what was published: "what happened at Renault since March?".
_HAPPENED = re.compile(
    r"(?i)\b(?:what(?:'s|’s| has)? happened|what(?: has)? changed|que s['’]est-il passé"
    r"|qu['’]est-ce qui (?:s['’]est passé|a changé))"
)


# "News" naming a thing, not asking for news: "the 13h news", "a news channel".
_NEWS_NAMED = re.compile(
    r"(?i)\b(?:\d{1,2} ?h(?:\d\d)?|evening|morning|nightly|tv|television|sky|fox|bbc"
    r"|france)\s+(?:news|infos?)\b"
    r"|\bnews\s+(?:channel|anchor|programme|program|show|agency|site|website|outlet|bulletin"
    r"|conference|presenter|network|media|paper|reader)s?\b"
    r"|\b(?:infos?|informations|actualités?|nouvelles)\s+(?:de\s+|du\s+)?\d{1,2} ?h"
    r"|\bcha[iî]nes?\s+d['’]\s*(?:infos?|informations?)\b"
)
# A question for a fact does not ask for news, whatever it names ("Who presents the news?").
_FACT = re.compile(
    r"(?i)^\W*(?:(?:and|so|et|alors|mais)\s+)?(?:who|whom|whose|when|where|why|how(?!\s+about)"
    r"|qui|quand|où|pourquoi|combien|comment)\b"
)


def asks_for_recent(question: str) -> bool:
    """Asks for the newest: "latest", "récemment", or news ("what's new at Tesla?")."""
    return bool(_RECENT.search(question)) or asks_for_news(question)


def asks_for_news(question: str) -> bool:
    """Asks about what was published ("news about Tesla", "what happened since March?"),
    answered by the articles' own leads, rather than about a fact."""
    named = _NEWS_NAMED.sub(" ", question)
    return bool((_NEWS.search(named) and not _FACT.match(question)) or _HAPPENED.search(question))


def without_recency(question: str) -> str:
    """The question without its "latest" words, and "news" when it asks for news (what to
    search for), or the question itself if nothing else is left."""
    rest = _RECENT.sub(" ", question)
    if asks_for_news(question):
        rest = _NEWS.sub(" ", rest)
    rest = " ".join(rest.split())
    return rest if len(rest.split()) > 1 or re.search(r"\w{3}", rest) else question


@dataclass(frozen=True)
class Period:
    """A window of publication dates a question names (ISO dates, either end open), and where
    the words naming it are in the question."""

    since: str | None
    until: str | None
    start: int
    end: int


_FILLER = r"(?:(?:the|le|la|l'|beginning of|start of|début|debut|mois de|mois d')\s*)*"
_WHEN = (
    r"(?:(?P<day>\d{1,2})(?:er|st|nd|rd|th)?\s+)?(?P<month>[^\W\d_]{3,})?\.?,?\s*"
    r"(?P<year>(?:19|20)\d\d)?\b"
)
# "since March", "depuis mars 2020", "à partir du 15 mars 2020", "after 2019"
_FROM = re.compile(
    rf"(?i)\b(?P<op>since|from|after|depuis|apr[eè]s|[aà] partir d[eu']?)\s*{_FILLER}{_WHEN}"
)
# "in March 2020", "en 2019", "pendant mai"
_DURING = re.compile(rf"(?i)\b(?:in|en|during|pendant|durant|au cours d[eu']?)\s*{_FILLER}{_WHEN}")


def named_period(question: str, today: dt.date) -> Period | None:
    """The publication window a question about news or the newest names, or None. In a
    question about a fact the period is what the fact is about, and the fact may be reported
    later or in an undated text ("How many cars did Tesla sell in 2019?" was answered in
    January 2020; "Quelle est la capitale de l'Allemagne depuis 1990 ?"). A month without a
    year is the last such month up to `today`; "after" starts the day after the period."""
    if not asks_for_recent(question):
        return None
    for pattern in (_FROM, _DURING):
        for m in pattern.finditer(question):
            bounds = _bounds(m, today)
            if bounds is None:
                continue
            first, last = bounds
            if pattern is _DURING:
                return Period(first.isoformat(), last.isoformat(), m.start(), m.end())
            after = fold(m["op"]).startswith(("after", "apres"))
            since = last + dt.timedelta(days=1) if after else first
            return Period(since.isoformat(), None, m.start(), m.end())
    return None


def fact_period(question: str) -> Period | None:
    """The period with its year that a question about a fact names ("How many cars did Tesla
    sell in 2019?", "en mars 2020"), or None. A question about news names a publication window
    instead (`named_period`)."""
    if asks_for_recent(question):
        return None
    for m in _DURING.finditer(question):
        bounds = _bounds(m, dt.date.today()) if m["year"] else None
        if bounds:
            return Period(bounds[0].isoformat(), bounds[1].isoformat(), m.start(), m.end())
    return None


def _bounds(m: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the period a `_WHEN` match names, or None."""
    month = MONTHS.get(fold(m["month"] or ""))
    if m["month"] and month is None and m["year"]:
        return None  # "in Europe 2020": not a period
    if month is None and (m["day"] or not m["year"]):
        return None
    if m["year"]:
        year = int(m["year"])
    else:  # the last such month up to today
        year = today.year if month and month <= today.month else today.year - 1
    if month is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    first = dt.date(year, month, 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if m["day"]:
        try:
            first = last = first.replace(day=int(m["day"]))
        except ValueError:
            return None
    return first, last


# -- numbers ----------------------------------------------------------------------------------
# A number glued to the letters before it is part of a name ("SU7", "A320"), not a claim,
# except after a lone Q, H or T: a quarter, half or term ("Q1 2025").
_ALONE = r"(?:(?<![^\W_])|(?<=\b[QHT]))"
#: A number as news writes it: "30 000" (spaces, no-break spaces), "1,5", "2.9", "1.600.000",
#: "1,000,000". `claims` reads its values; `rag.answer_types` finds answer spans with it.
NUMBER = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)(?:[.,]\d+)?|\d+(?:[.,]\d+)*"
_NUMBER_VALUE = re.compile(rf"{_ALONE}(?:{NUMBER})")
#: Words after a number that scale it ("1,2 million"): both readings are kept, as "m" may be
#: metres and "k" a unit.
SCALES = {
    "million": 1e6,
    "millions": 1e6,
    "milliard": 1e9,
    "milliards": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "trillion": 1e12,
    "trillions": 1e12,
    "thousand": 1e3,
    "mille": 1e3,
    "bn": 1e9,
    "md": 1e9,
    "mn": 1e6,
    "m": 1e6,
    "k": 1e3,
}
# Words for small numbers and ordinals: "premier trimestre" backs "Q1", "three" backs "3".
# Not "one", "un", "une": as articles and pronouns they are in nearly every passage, so any
# claimed "1" would be backed.
NUMBER_WORDS = {
    w: float(i)
    for i, ws in enumerate(
        [
            "zero zéro",
            "first premier première 1er 1re",
            "two deux second seconde deuxième",
            "three trois third troisième",
            "four quatre fourth quatrième",
            "five cinq fifth cinquième",
            "six sixth sixième",
            "seven sept seventh septième",
            "eight huit eighth huitième",
            "nine neuf ninth neuvième",
            "ten dix tenth dixième",
            "eleven onze",
            "twelve douze",
        ]
    )
    for w in ws.split()
}

# Month names a reply may claim: a month must be in the passage it cites. Not the short
# abbreviations ("Jun" is Lei Jun, "Mar", "Jan" are names) nor "sept" (seven).
_CLAIMED_MONTHS = {  # as negative values: a month never backs a number ("December" is not 112)
    name: -float(month)
    for name, month in MONTHS.items()
    if (len(name) >= 4 or name == "mai") and name != "sept"
}


def claims(text: str) -> list[tuple[str, set[float]]]:
    """Each number (with every way to read it) and each month name in `text`."""
    out = []
    for m in _NUMBER_VALUE.finditer(text):
        raw = m.group()
        # "30 000" is 30000 only: its pieces would back any "X 000" or a lone "30".
        readings = {re.sub(r"[ \u00a0\u202f.,]", "", raw)}
        if re.fullmatch(r"\d+[.,]\d+", raw):
            readings.add(raw.replace(",", "."))
        after = text[m.end() : m.end() + 12].split()
        scale = SCALES.get(after[0].lower().strip(".,;"), 1.0) if after else 1.0
        values = set()
        for r in readings:
            if re.fullmatch(r"\d+(?:\.\d+)?", r):
                values |= {round(float(r), 6), round(float(r) * scale, 6)}
        out.append((raw, values))
    for m in re.finditer(r"[^\W\d_]+", text):
        word = m.group()
        if word == "may":  # the English verb, not the month
            continue
        if (month := _CLAIMED_MONTHS.get(fold(word))) is not None:
            out.append((m.group(), {month}))
    return out


def numbers(text: str) -> set[float]:
    """Every value the numbers in `text` can be read as (`1.600` is 1600 or 1.6, `1,2 million`
    is 1.2 and 1200000), small numbers and ordinals written as words (`premier` is 1), and
    months (as -1 to -12, apart from every number)."""
    values = set().union(*(v for _, v in claims(text))) if text else set()
    values.update(NUMBER_WORDS[w] for w in re.findall(r"\w+", text.lower()) if w in NUMBER_WORDS)
    return values
