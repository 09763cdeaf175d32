"""Text knowledge every stage shares, on the ground floor (it imports nothing of ours): folding
for comparison, month names in English and French, reading a calendar date, and what a
question says about time (the newest, news, a period it names)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass


def fold(text: str) -> str:
    """Lower case without accents: `Énergie` and `energie` are one term."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


#: Month names (folded: lower case, no accents) and their abbreviations -> 1..12.
MONTHS: dict[str, int] = {
    name: month
    for month, names in enumerate(
        [
            "january jan janvier janv",
            "february feb fevrier fevr",
            "march mar mars",
            "april apr avril avr",
            "may mai",
            "june jun juin",
            "july jul juillet juil",
            "august aug aout",
            "september sep sept septembre",
            "october oct octobre",
            "november nov novembre",
            "december dec decembre",
        ],
        1,
    )
    for name in names.split()
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")  # 14/03/2026, European
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:er|st|nd|rd|th)?\s+([^\W\d_]+)\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


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


def asks_for_recent(question: str) -> bool:
    """Asks for the newest: "latest", "récemment", or news ("what's new at Tesla?")."""
    return bool(_RECENT.search(question)) or asks_for_news(question)


def asks_for_news(question: str) -> bool:
    """Asks about what was published ("news about Tesla", "what happened since March?"),
    answered by the articles' own leads, rather than about a fact."""
    return bool(_NEWS.search(question) or _HAPPENED.search(question))


def without_recency(question: str) -> str:
    """The question without its "latest"/"news" words (what to search for), or the question
    itself if nothing else is left."""
    rest = " ".join(_NEWS.sub(" ", _RECENT.sub(" ", question)).split())
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
