"""Text knowledge every stage shares, on the ground floor (it imports nothing of ours): folding
for comparison, month names in English and French, and reading a calendar date."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata


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
# The words around it that only say "news": left out of the search for such a question.
_NEWS = re.compile(r"(?i)\b(?:news|nouvelles|actualités?|infos?|informations)\b")


def asks_for_recent(question: str) -> bool:
    return bool(_RECENT.search(question))


def without_recency(question: str) -> str:
    """The question without its "latest"/"news" words (what to search for), or the question
    itself if nothing else is left."""
    rest = " ".join(_NEWS.sub(" ", _RECENT.sub(" ", question)).split())
    return rest if len(rest.split()) > 1 or re.search(r"\w{3}", rest) else question
