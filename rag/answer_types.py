"""Answer types: what kind of answer a question expects, and the short spans of a sentence that
are of that kind (dates and periods, numbers, amounts of money, durations, names).

`expected_kind("When do deliveries start?")` is `DATE`; `find_spans(text)` finds
"premier trimestre 2025", "5 June 2024", "Q1 2025", "1,6 milliard d'euros", "Claire Hammond"
with their offsets. Both are rules for French and English news, written for recall on the
shapes news use; they are cues for ranking sentences, not a named-entity recogniser, and this
module does not score or choose sentences (`rag.answer` does).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rag.text import MONTH_NAMES, MONTHS, NUMBER, SCALES, STOPWORDS, fold, word_set


class Kind(StrEnum):
    DATE = "date"
    NUMBER = "number"
    MONEY = "money"
    DURATION = "duration"
    NAME = "name"


#: The span kinds that can answer a question of each kind ("how many" accepts an amount,
#: "how long" the dates it lasted between).
ACCEPTS: dict[Kind, frozenset[Kind]] = {
    Kind.DATE: frozenset({Kind.DATE}),
    Kind.NUMBER: frozenset({Kind.NUMBER, Kind.MONEY, Kind.DURATION}),
    Kind.MONEY: frozenset({Kind.MONEY}),
    # "from 1915 until 1918", "since 2019"; and "how long is the bridge" asks for a length
    Kind.DURATION: frozenset({Kind.DURATION, Kind.DATE, Kind.NUMBER}),
    Kind.NAME: frozenset({Kind.NAME}),
}

#: How a missing answer is described: "none of the closest passages gives a date".
NOUNS = {
    Kind.DATE: "a date",
    Kind.NUMBER: "a number",
    Kind.MONEY: "a price or amount",
    Kind.DURATION: "a duration",
    Kind.NAME: "a name",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: Kind
    text: str


# -- questions ---------------------------------------------------------------------------------
#: "puissance" as a measure, not a nation ("Quelle puissance étrangère ...?").
_NATIONAL = r"(etrangere|coloniale|mondiale|europeenne|occupante|militaire|allie)"
_PUISSANCE = rf"puissance(?! {_NATIONAL})"
_LEAD = r"^(?:(?:and|et|so|but|mais|alors|ok|donc)\b[\s,]*)*"
# Questions are folded (lower case, no accents) before these are tried, in this order; each
# kind's pattern is the alternatives listed.
_QUESTION_CUES: list[tuple[Kind, list[str]]] = [
    (
        Kind.MONEY,
        [
            # Not "sold", "vendu": "how many cars were sold" asks for a number of cars.
            r"\b(how much|combien)\b.*\b(cost|price|priced|pay|paid|charge|worth|spen[dt]"
            r"|invest\w*|raise[ds]?|fund\w*|earn\w*|cout\w*|prix|pay\w*|vau[td]|valen?t"
            r"|tarif\w*|depens\w*|budget|lev\w*|gagn\w*|deposit|acompte|fined?|amende|bonus"
            r"|malus)",
            r"\b(what|which|quel|quelle)\b.*\b(price|cost|prix|cout|tarif|budget|salary|salaire"
            r"|fee|montant|amount|revenue|chiffre d'affaires|deposit|acompte|fine|amende|bonus"
            r"|malus)\b",
        ],
    ),
    (
        Kind.DURATION,
        [
            r"\bhow long (did|does|do|will|would|has|have|had|is|was|are|were)\b",
            r"\bhow long\b.*\b(take|last)",
            r"\bcombien de temps\b",
            r"\bpendant combien\b",
            r"\bquelle (est la )?duree\b",
            r"\bfor how many (years|months|weeks|days|hours)\b",
            r"\bcombien d'(annees|ans|heures|jours|semaines)\b",
            r"\b(lap|race|record|finishing|journey|travel|flight) times?\b|\bchrono\b",
            r"\b(en )?combien de (secondes|minutes|heures|jours|mois)\b",
            r"\bhow quickly\b",  # "... go from 0 to 100 km/h?": 6.8 seconds
        ],
    ),
    (
        Kind.DATE,
        [
            _LEAD + r"(when|quand)\b",
            r"\b(what|which|in what|in which|by what) (year|date|day|month|time|century|decade"
            r"|period|season)\b",
            r"\b(en|a|de|dans|pour|vers) quel(le)? (annee|date|epoque|periode|jour|mois|siecle"
            r"|saison|moment)\b",
            r"\bquel(le)? (annee|date|jour|mois|siecle)\b",
            r"\b(depuis|jusqu'a) quand\b",
            r"\b(since|until|till|by) when\b",
            r"\bdate (de|d'|du)\b",
            # Asked for, not spoken of ("What happens if a Directive's deadline is not met?").
            r"\b(what|which) (is |was |are |were )?(the |its |their )?(\w+ )?deadlines?\b"
            r"|\bquel(le)?s? (est |etait |sera |sont )?(la |les |l')?(date butoir|date limite"
            r"|dates? butoirs?|dates? limites?|echeance)\b",
        ],
    ),
    (
        Kind.NUMBER,
        [
            r"\bhow (many|much|old|far|big|large|tall|high|long|fast|often|heavy|deep|wide"
            r"|powerful|quick|hot|cold)\b",
            r"\bcombien\b",
            r"\b(what|which)( is| was| are| were)?( the| its| their)?( top| maximum| minimum"
            r"| average| market| battery| total| electric| combined| claimed| real-world)?"
            r" (number|percentage|percent|proportion"
            r"|share|amount|age|size"
            r"|population|speed|rate|temperature|capacity|power|range|distance|weight|wheelbase"
            r"|length|height|width)\b",
            r"\bquel(le)? (est |etait |sera )?(le |la |l')?(age|nombre|pourcentage|taux|proportion"
            r"|part|somme|taille|hauteur|longueur|distance|superficie|population|vitesse|capacite"
            rf"|{_PUISSANCE}|temperature|autonomie|poids|empattement|largeur)\b",
            # A target or forecast of deliveries, sales or output is a number of them.
            r"\b(delivery|deliveries|sales|production|output) (target|goal|forecast|objective)s?\b",
            r"\bobjectifs? (de |d')(ventes?|livraisons?|production|immatriculations?)\b",
        ],
    ),
    (
        Kind.NAME,
        [
            _LEAD + r"(who|whom|whose|qui|where|d'ou)\b",
            r"\b(by|to|from|with) whom\b",
            r"\b(par|a|de|avec|pour) qui\b",
            r"\b(which|what) ([\w-]+ )?(company|firm|person|man|woman|team|country|city|town"
            r"|region|state|brand|group|organi[sz]ation|party|president|leader|ceo|name|airline|carmaker"
            r"|automaker|manufacturer|newspaper|magazine|publication|channel|network|agency"
            r"|radio|station|candidate|minister|player|driver|singer|actor|actress|artist"
            r"|lawyer|journalist|judge|founder|director|union|association|federation|ngo|court"
            r"|ministry|institute|university|school|hospital|website|app|show|film|movie|book"
            r"|song|album|village|island|river|department|province|airport|stadium|festival"
            r"|prison)\b",
            r"\bquel(le)?s? (est |sont |etait |etaient |sera )?(le |la |l')?(entreprise|societe"
            r"|pays|ville|region|equipe|personne|marque|constructeur|groupe|president|dirigeant|ministre|nom|organisation"
            r"|parti|club|compagnie|journal|quotidien|hebdomadaire|magazine|chaine|agence|radio"
            r"|station|candidate?|joueur|joueuse|pilote|chanteur|chanteuse|acteur|actrice"
            r"|artiste|avocate?|journaliste|juge|fondateur|fondatrice|directeur|directrice"
            r"|syndicat|association|federation|ong|tribunal|cour|ministere|institut|universite"
            r"|ecole|hopital|site|application|emission|film|livre|chanson|album|village|ile"
            r"|fleuve|riviere|departement|province|aeroport|stade|festival|prison)\b",
            r"\bqui (est|sont|a|ont|dirige)\b",
            r"\b(what|which) (is|was|are|were) (the|its|his|her|their) names?\b",
            r"\bcomment (s'appel|se nomm)",
            rf"\bquel(le)?s? puissance {_NATIONAL}",  # "Quelle puissance étrangère ...?"
        ],
    ),
]
_QUESTION_KINDS = [(kind, re.compile("|".join(cues))) for kind, cues in _QUESTION_CUES]
_WHERE = re.compile(r"^\s*(?:(?:et|mais|alors)\s+)?(?:où|d'où|d’où)\b", re.IGNORECASE)


def expected_kind(question: str) -> Kind | None:
    """The kind of answer the question asks for, or None ("why", "what happened", ...)."""
    if _WHERE.match(question):
        return Kind.NAME
    folded = fold(question).replace("’", "'").strip()
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(folded):
            return kind
    return None


#: A measure a question asks for (its cue, folded) and the units that give it: "How much does
#: the baby weigh?" is answered by "3,190 kg", not by the "5 heures" of its birth.
_MEASURES = [
    (
        "a weight",
        re.compile(r"\b(weigh\w*|weight|how heavy|poids|pese\w*|peser)\b"),
        re.compile(
            r"(?i)\d\s*(kg|kilo(gramme)?s?|g|grammes?|t|tonnes?|tons?|pounds?|lbs?|livres?)\b"
        ),
    ),
    (
        "a range",
        re.compile(
            r"\b(what( is| was)?( the| its)? (\w+ )?range|how much (\w+ )?range|autonomie"
            r"|how far)\b"
        ),
        re.compile(
            r"(?i)\d\s*(km(?!/)|kilom[eè]tres?|kilomet(er|re)s?|miles?|m|m[eè]tres?|meters?|feet|ft"
            r"|yards?|light[- ]years?|ann[ée]es[- ]lumi[eè]re)\b"
        ),
    ),
    (
        "a length",
        re.compile(
            r"\b(wheelbase|empattement|length|longueur|how long is|height|hauteur|how tall"
            r"|width|largeur|how wide)\b"
        ),
        re.compile(
            r"(?i)\d\s*(km(?!/)|kilom[eè]tres?|kilomet(er|re)s?|miles?|m|m[eè]tres?|meters?|cm"
            r"|centim[eè]tres?|centimet(er|re)s?|mm|millim[eè]tres?|feet|ft|inch(es)?|pouces?"
            r"|yards?|stor(ey|ie)s|storeys|[ée]tages|years?|ans|months?|mois|weeks?|semaines?"
            r"|days?|jours|hours?|heures|minutes?)\b"  # "the length of the film": 2 hours
        ),
    ),
    (
        "a speed",
        # Not "How fast does it go from 0 to 100 km/h?": a time.
        re.compile(r"\b(speed|vitesse|how fast)\b(?!.*\b0 ?(to|a|-) ?100\b)"),
        re.compile(
            r"(?i)\d\s*(km/h|kmh|km/s|m/s|mph|n(oe|œ)uds?|knots?"
            r"|(kilo)?m[eè]t(er|re)s? (per|par|an|a) (hour|heure|second|seconde)"
            r"|miles (per|an) (hour|second))"
        ),
    ),
    (
        "a power",
        re.compile(rf"\b(how powerful|what( is| was)?( the| its)? (\w+ )?power|{_PUISSANCE})\b"),
        re.compile(
            r"(?i)\d\s*(ch|cv|hp|bhp|kw|kilowatts?|w|watts?|chevaux|horsepower|mw|m[eé]gawatts?)\b"
        ),
    ),
    (
        "an area",
        # Not "How big is the battery?": its capacity, below.
        re.compile(
            r"\b(how (big|large) (is|was|are|were)|how much (\w+ )?(area|space|land)"
            r"|(what|which) (is|was) (the |its )?(total |surface )?area|surface area|superficie"
            r"|quelle (est |etait )?(la |sa )?surface)\b(?!.*\bbatter)"
        ),
        # Cut short ("mètres carr"): a unit is looked for UNIT_REACH characters on.
        re.compile(
            r"(?i)\d\s*((m2|m²|km2|km²|hectares?|ha|acres?|sq\.? ?(ft|m|mi))(?!\w)"
            r"|(kilo)?m[eè]tres? carr|square (m|f|k))"
        ),
    ),
    (
        "a battery's capacity",
        re.compile(
            r"\b(capacity|capacite|size|taille|how big)\b.*\bbatter\w*"
            r"|\bbatter\w*\b.*\b(capacity|capacite|size|taille)\b"
        ),
        re.compile(r"(?i)\d\s*(kwh|wh|mwh|kilowatt-?heures?|kilowatt-?hours?)\b"),
    ),
]

#: An amount a question for money names (its cue, folded) and the words of a sentence that
#: gives it: "How much is the deposit for the Porsche Taycan?" is not answered by its price,
#: "108 632 €", but by "en déposant un acompte de 2 500 €".
_AMOUNTS = [
    (
        "a deposit",
        re.compile(r"\b(deposit|down payment|acompte)\b"),
        re.compile(r"\b(deposit|down payment|acompte|caution|depos|depot|reserv|precommand)"),
    ),
    (
        "a fine",
        re.compile(r"\b(fined?|amende)\b"),
        re.compile(r"\b(fine|amende|penalt|penalit|sanction|condamn)"),
    ),
    (
        "a bonus or malus",
        re.compile(r"\b(bonus|malus)\b"),
        re.compile(r"\b(bonus|malus|prime|aide)"),
    ),
]

#: Units of a measure ("2 000 ch", "600 km"), not the one-letter or ambiguous ones the
#: measures above accept ("m", "t", "livres": books too); as written or folded.
_PHYSICAL_UNITS = (
    r"(?:kilo)?m[eè]tres? carr[ée]s|m2|m²|km2|km²|hectares?|acres?|square (?:met(?:er|re)s?|feet)"
    r"|km/h|kmh|mph|kms?|kilom[eè]tres?|kilometers?|miles?|m[eè]tres?|meters?|kg|kilos?"
    r"|kilogrammes?|grammes?|grams?|tonnes?|tons?|pounds?|lbs?|ch|cv|hp|bhp|chevaux|horsepower"
    r"|kwh|kw|mwh|mw|watts?|kilowatts?|m[eé]gawatts?|litres?|liters?|cm|mm|centim[eè]tres?"
    r"|feet|ft|inch(es)?"
)
#: ... and those of a price or a time: a figure followed by one is no count of things.
_MEASURE_UNITS = (
    _PHYSICAL_UNITS + r"|euros?|dollars?|yuans?|livres sterling|francs?|ans|ann[ée]es|years?"
    r"|mois|months?|semaines?|weeks?|jours|days?|heures|hours?|minutes?|secondes|seconds?"
)
_SCALE_OF = r"(?:(?:millions?|milliards?|billions?|thousands?|mille)\s+)?(?:(?:de|d'|of)\s*)?"
#: A figure followed by such a unit, with its scale between ("122 millions de tonnes").
_MEASURED = re.compile(
    rf"(?i)(\d\s*{_SCALE_OF}(?:{_MEASURE_UNITS})(?!\w)|[$€£¥]\s*\d|\d\s*(%|pour ?cent|percent)"
    rf"|\b(?:un|une|a|an|one|deux|two|trois|three|quelques|plusieurs|several|few)\s+"
    rf"(?:an|{_MEASURE_UNITS})(?!\w))"  # "il y a un an": no count of posts
)
_UNIT_AFTER = re.compile(rf"(?i)\s*(?:(?:de|d'|of)\s*)?(?:{_PHYSICAL_UNITS})(?!\w)")
_UNIT_WORD = re.compile(rf"\b(?:{_MEASURE_UNITS})(?!\w)|%|\bpercent|\bpour ?cent")


def measure_asked(question: str, kind: Kind | None) -> str | None:
    """The measure a question for a number asks for with its unit ("a weight", "a range", "a
    length", "a speed", "a power", "an area", "a battery's capacity"), or the amount one for
    money names ("a deposit", "a fine"), or None."""
    measures, _, amounts = _asks(question)
    if kind is Kind.NUMBER and measures:
        return measures[0][0]
    return amounts[0][0] if kind in (Kind.MONEY, Kind.NUMBER) and amounts else None


_AUXILIARY = r"did|do|does|were|was|are|is|will|would|have|has|had|can|could|should|must|may|might"
_COUNTED_EN = re.compile(rf"\bhow many (?!of\b)((?:[\w-]+ ){{1,4}}?)(?:{_AUXILIARY})\b")
_COUNTED_FR = re.compile(r"\bcombien (?:de |d')([\w-]+[sx])\b")  # things: not "combien de CO2"


def counted(question: str) -> str | None:
    """The thing a question counts, folded: "accounts" in "How many Twitter accounts did the
    hackers target?", "villes" in "Combien de villes européennes ...?"; None for a question
    counting nothing or a unit ("How many kilometres ...")."""
    folded = fold(question)
    m = _COUNTED_EN.search(folded) or re.search(r"\bhow many (?!of\b)([\w-]+ )", folded)
    m = m or _COUNTED_FR.search(folded)
    words = [w for w in m[1].split() if len(w) > 1 and w not in STOPWORDS] if m else []
    if not words or _UNIT_WORD.fullmatch(words[-1]):
        return None  # "How many of the residents ...": a share, maybe
    return words[-1]  # "How many Aston Martin Rapide E ...": "rapide"


_AGE_ASKED = re.compile(r"\b(how old|ages?|agee?s?)\b")
#: Years that are no one's age: "deux ans après son mariage", "five years later", "10 ans de
#: prison", "cinq semaines après sa disparition"; nor is a time of day, "vers 10 heures", nor a
#: count of things (`text`, folded, starts at the figure).
_NOT_AN_AGE = re.compile(
    r"^\S+(?:\s\S+)?\s+(?:ans?|annees?|years?|mois|months?|semaines?|weeks?|jours?|days?)"
    r"\s+(?:apres|plus tard|auparavant"
    r"|plus tot|de prison|de reclusion|en prison|ago|later|after|earlier|before|in prison)\b"
    r"|^[\d\s.,]*\d\s*(?:h|heures?|hours?|minutes?|secondes?|seconds?)\b"
    # nor a count of things: "plus de 130 articles injurieux", "200 personnes", "21 000
    # habitants", "12 men", a long noun cut where the text given ends ("200 manifestan"); a
    # baby's "18 mois" or "10 jours" may be an age, and so may "ses 100 printemps", "34 when
    # he died", "West, 41, has been", "34 today"
    r"|^(?:\w|(?<=\d)[.,\s](?=\d))+\s+(?:(?:de|of)\s+|d')?(?!(?:ans|annees|years|yrs|mois"
    r"|months|semaines|weeks|jours|days|printemps|bougies|balais|has|was|is|as|its|his|this"
    r"|plus|dans|sous|sans|les|des|ses)\b)(?:[a-z]{2,}[sx]\b|[a-z]{6,}$|(?:people|men|women"
    r"|children)\b)"
)
#: Nor is how long something lasted: "morte depuis près de deux mois" (`before`: what
#: precedes the figure; not "for", as in "searching for a 15-year-old").
_LASTING = re.compile(
    r"\b(?:depuis|pendant|durant|since|during)\s+"
    r"(?:(?:pres|plus|moins|environ|presque|about|nearly|almost|over)\s+(?:de\s+|d')?)?$"
)


def gives_age(question: str, text: str, before: str = "") -> bool:
    """Whether `text`, a figure and what follows it (`before`: what precedes it), may be the
    age a question asks for ("how old", "quel âge"): "3 ans" may, "deux ans après son
    mariage" and "depuis deux mois" may not. True when it asks for none."""
    return not (
        _asks_age(question) and (_NOT_AN_AGE.match(fold(text)) or _LASTING.search(fold(before)))
    )


@functools.lru_cache(maxsize=256)
def _asks_age(question: str) -> bool:
    """Whether a question asks for an age (once per question: the rules ask of every span)."""
    return _AGE_ASKED.search(fold(question)) is not None


def gives_measure(question: str, kind: Kind | None, text: str) -> bool:
    """Whether `text`, a figure and what follows it, gives what a question for a number asks:
    the measure it asks for with its unit ("3,190 kg" for "How much does the baby weigh?"),
    and for a question counting things, a count, not a measure ("2 000 ch" does not say how
    many Evija will be built; "combien de voitures", not "combien de CO2"). True when it asks
    for neither."""
    if kind is not Kind.NUMBER:
        return True
    measures, counts, _ = _asks(question)
    if measures:
        return all(unit.search(text) for _, unit in measures)
    return not (counts and _MEASURED.search(text))


def gives_amount(question: str, kind: Kind | None, sentence: str) -> bool:
    """Whether `sentence` may give the amount a question for money names: it holds a word of
    it ("acompte", "réservation" for a deposit). True when it names none."""
    _, _, amounts = _asks(question)
    if kind not in (Kind.MONEY, Kind.NUMBER) or not amounts:
        return True
    folded = fold(sentence)
    return all(words.search(folded) for _, words in amounts)


Asked = tuple[tuple[str, re.Pattern[str]], ...]


@functools.lru_cache(maxsize=256)
def _asks(question: str) -> tuple[Asked, bool, Asked]:
    """What a question asks of a figure, worked out once per question (the rules ask it of
    every span of every sentence): the measures it names, with their units, whether it
    counts things, and the amounts it names, with the words that give them."""
    folded = fold(question)
    measures = tuple((noun, unit) for noun, cue, unit in _MEASURES if cue.search(folded))
    amounts = tuple((noun, words) for noun, cue, words in _AMOUNTS if cue.search(folded))
    counts = counted(question) is not None and not _UNIT_WORD.search(folded)
    return measures, counts, amounts


# -- spans -------------------------------------------------------------------------------------
def _month_pattern(names: str, *, skip: frozenset[str] = frozenset()) -> str:
    """A full month name, or an abbreviation with its dot; accents optional ("fevrier")."""

    def written(name: str) -> str:
        return "".join(f"[{fold(c)}{c}]" if fold(c) != c.lower() else re.escape(c) for c in name)

    full, *short = names.split()
    return "|".join([written(full), *(written(a) + r"\." for a in short if a not in skip)])


# French months in any case; English ones capitalised ("may", "march" are verbs), and not
# "Jun." or "Jul.", which end names ("Lei Jun.").
_MONTHS_FR = "|".join(_month_pattern(french) for french, _ in MONTH_NAMES)
_MONTHS_EN = "|".join(_month_pattern(en, skip=frozenset({"Jun", "Jul"})) for _, en in MONTH_NAMES)
_MONTH = rf"(?:(?i:{_MONTHS_FR})|{_MONTHS_EN})(?<=\.|\w)(?!\w)"
_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})(?![\d,.]\d)"
_DAY = r"(?:1er|[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_ORDINAL = (
    r"(?i:premier|premi[èe]re|deuxi[èe]me|second|seconde|troisi[èe]me|quatri[èe]me|dernier"
    r"|derni[èe]re|first|third|fourth|last|[1-4](?:er|re|[èe]re|e|[èe]me|st|nd|rd|th))"
)
_EDGE = r"(?i:d[ée]but|fin|mi-|milieu|courant|early|late|mid-?|end of|beginning of|the end of)"
_SEASON = r"(?i:printemps|[ée]t[ée]|automne|hiver|spring|summer|autumn|fall|winter)"
_WEEKDAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEKDAY = rf"(?:(?i:{'|'.join(_WEEKDAYS_FR)})|{'|'.join(_WEEKDAYS_EN)})"
_PART_OF_DAY = r"(?i:soir|matin|apr[èe]s-midi|morning|afternoon|evening|night)"
#: The weekday a date may open with, "lundi 29 juillet", "jeudi soir 12 mars", "Monday, June 5":
#: one date, not a weekday and a date (two, which leaves a "when" question without its one).
_ON_WEEKDAY = rf"(?:{_WEEKDAY},?\s+(?:{_PART_OF_DAY}\s+)?)?"
_SHIFT_WORDS = r"(?i:avant-hier|hier|apr[èe]s-demain|demain|yesterday|tomorrow)"
_DATE = re.compile(
    "|".join(
        [
            rf"\b{_ON_WEEKDAY}{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?",  # 5 June 2024, 1er mai
            rf"\b{_ON_WEEKDAY}{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR})?",  # June 5, 2024
            rf"\b{_ORDINAL}\s+(?i:trimestre|semestre|quarter|half)(?:\s+(?:de\s+|of\s+)?{_YEAR})?",
            # Q1 2025, "in H2", "au T1" (trimestre); not a model alone ("l'Audi Q3")
            rf"\b[QHTS][1-4]\s+{_YEAR}",
            r"(?:(?<=\bin )|(?<=\bby )|(?<=\bau )|(?<=\bthe ))[QHTS][1-4]\b",
            rf"\b{_EDGE}\s*(?:(?:du\s+mois\s+)?(?:d['’]|de\s+)?|de\s+l['’]ann[ée]e\s+)?"
            rf"(?:{_MONTH}(?:\s+{_YEAR})?|{_YEAR})",
            # the last weekend of September, la première semaine de mai
            rf"\b{_ORDINAL}\s+(?i:week-?ends?|weeks?|semaines?|quinzaine|fortnight|jours?|days?)"
            rf"\s+(?:of\s+|de\s+|d['’])(?:{_MONTH}(?:\s+{_YEAR})?|{_YEAR})",
            rf"\b{_SEASON}\s+(?:de\s+|of\s+)?{_YEAR}",
            rf"\b{_MONTH}(?:\s+{_YEAR})?",  # (en) mars 2025, in March
            r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b(?:the\s+)?(?:1[0-9]|20)[0-9]0s\b|\b(?i:ann[ée]es)\s+(?:19|20)?[0-9]0\b",
            r"\b(?:\d{1,2}(?:st|nd|rd|th|e|[èe]me)|[IVXL]+(?:e|[èe]me))\s+"
            r"(?:and\s+\d{1,2}(?:st|nd|rd|th)\s+)?(?i:century|centuries|si[èe]cles?)",
            # A year, unless inside a bigger number or before a unit ("1500 euros", "2000 km").
            rf"(?<![\d.,])(?<!\d[ \u00a0\u202f]){_YEAR}\b"
            r"(?!\s*(?:%|€|\$|(?i:euros?|dollars?|km|kg|m\b|ch\b)))",
            rf"\b{_WEEKDAY}\b",
            rf"(?<![\w-]){_SHIFT_WORDS}(?![\w-])",
        ]
    )
)
# Numbers written as words ("six years", "deux millions d'euros", "des centaines"); not "one",
# "un", "une": they are articles far more often than answers.
_NUMBER_WORDS = word_set("""
    two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred hundreds thousand thousands million millions billion billions dozen dozens
    deux trois quatre cinq sept huit neuf dix onze douze treize quatorze quinze seize vingt
    trente quarante cinquante soixante cent cents mille milliers million millions milliard
    milliards dizaine dizaines douzaine douzaines centaine centaines vingtaine vingtaines
    trentaine trentaines cinquantaine cinquantaines soixantaine soixantaines millier
    half quarter quarters thirds quart quarts tiers moitié
    """)
_NUM = rf"(?:{NUMBER}|\b(?i:{'|'.join(sorted(_NUMBER_WORDS, key=len, reverse=True))})\b)"
_SCALE = rf"(?:\s*(?i:{'|'.join(sorted(SCALES, key=len, reverse=True))})\b)?"
_CURRENCY = (
    r"(?:€|\$|£|¥|(?i:(?:d['’]\s*|of\s+)?(?:euros?|dollars?|yuans?|yens?|livres?"
    r"|pounds?|francs?|roubles?|wons?)\b)"
    r"|\b(?:USD|EUR|GBP|CHF|CNY|RMB|JPY|PLN|CAD|AUD|HKD|INR|RUB|SEK|NOK|DKK|KRW|BRL)\b)"
)
_MONEY = re.compile(rf"(?:[€$£¥]|US\$)\s?{_NUM}{_SCALE}|{_NUM}{_SCALE}\s*{_CURRENCY}")
_TIME_UNIT = (
    r"(?i:secondes?|seconds?|minutes?|heures?|hours?|jours?|days?|semaines?|weeks?"
    r"|mois|months?|ans|ann[ée]es|years?|d[ée]cennies|decades?)\b"
)
_HALF = r"(?:\s+(?i:et\s+demie?|and\s+a\s+half))?"  # "un an et demi", "two and a half"
_DURATION = re.compile(  # "6 minutes et 46,874 secondes" is one duration
    rf"\b{_NUM}\s+{_TIME_UNIT}(?:(?:,|\s+(?i:et|and))\s+{_NUM}\s+{_TIME_UNIT})*{_HALF}"
    rf"|\b(?i:an?|one|un|une|quelques|plusieurs|several|a few|few)\s+{_TIME_UNIT}{_HALF}"
    rf"|\b(?i:un\s+an|une\s+ann[ée]e)\b{_HALF}"  # not "an" after any figure: "in 2019 an"
)
_NUMBER = re.compile(rf"(?<![\w.,]){_NUM}{_SCALE}(?:\s*(?:%|(?i:pour\s?cent|per\s?cent|percent)))?")
_CAP_WORD = r"(?:[A-ZÀ-ÖØ-Þ][\w’'\-]*|[A-Z]{2,}\d*)"
_NAME = re.compile(
    rf"\b{_CAP_WORD}(?:\s+(?:(?:de|du|des|von|van|der|da|di|al|bin|la|le)\s+)?"
    rf"{_CAP_WORD})*"
)


# Capitalised words that open sentences or are function words, never names by themselves.
_NOT_NAMES = word_set("""
    le la les l un une des du de d au aux ce cette ces cet il elle ils elles on nous vous je
    selon mais et ou donc or ni car pour dans sur avec sans par en a apres avant depuis
    pendant lors alors ainsi cependant toutefois neanmoins enfin desormais puis quand si
    comme plus the a an and or but so if when while after before since during in on at by
    for from with this that these those he she they we it its his her their there here as
    also however monsieur madame m mme mr mrs ms dr pr pdg ceo dg coo cfo cto
    ensuite aujourd aujourd'hui hier demain finalement certes bref effectivement evidemment surtout
    heureusement malheureusement pourtant sinon parallelement egalement ici la-bas today
    yesterday tomorrow meanwhile finally first then now still yet instead indeed moreover
    furthermore nevertheless nonetheless thus hence therefore besides later earlier recently
    currently initially eventually ultimately overall similarly likewise otherwise again here
    nomme nommee nommes nommees surnomme surnommee prenomme prenommee baptise baptisee appele
    appelee denomme denommee named called dubbed
    """)


def find_spans(text: str) -> list[Span]:
    """Typed spans in `text`, in order; a span inside a longer one of another kind is dropped
    (the `2025` in `premier trimestre 2025`, the `105 000` in `105 000 euros`)."""
    found: list[Span] = []
    for kind, pattern in (
        (Kind.MONEY, _MONEY),
        (Kind.DATE, _DATE),
        (Kind.DURATION, _DURATION),
        (Kind.NUMBER, _NUMBER),
        (Kind.NAME, _NAME),
    ):
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            while end > start and text[end - 1] in " .,;:":
                end -= 1
            if kind is Kind.NAME:
                start, end = _trim_name(text, start, end)
            if (
                kind is Kind.NAME
                and start == _sentence_start(text)
                and _plain_word(text[start:end])
                and not _APPOSITION.match(text, end)
            ):
                continue  # "Parmi", "Désormais": any sentence's first word is capitalised
            if end > start and not any(s.start < end and start < s.end for s in found):
                found.append(Span(start, end, kind, text[start:end]))
    return sorted(found, key=lambda s: s.start)


#: Words before a figure that are part of what it says: "plus de 20 milliards", "about 500".
_FIGURE_BOUND = re.compile(
    r"(?i:\b(?:(?:un peu |pas )?(?:plus|moins)|pr[èe]s|autour|au-del[àa])\s+(?:de\s+|d['’])"
    r"|\b(?:sup|inf)[ée]rieure?s?\s+(?:[àa]|aux?)\s+"
    r"|\b(?:environ|presque|quelque|quasiment|pratiquement|[àa] peine|au moins|au plus"
    r"|au minimum|au maximum|jusqu['’][àa]|about|around|approximately|roughly|nearly|almost"
    r"|some|(?:just |well )?(?:over|under)|(?:more|less|fewer) than|at (?:least|most)|up to"
    r"|as (?:many|much|few|little) as|no (?:more|less|fewer) than|close to|upwards of"
    r"|in excess of)\s+)$"
)
#: Words before a date that are part of what it says: "avant 2025", "until 1796".
_DATE_BOUND = re.compile(
    r"(?i:\b(?:avant|apr[èe]s|depuis|vers|d[èe]s|jusqu['’](?:[àa]u?|en)|[àa] partir du?"
    r"|d['’]ici|before|after|since|until|till|by|as early as|no later than)\s+"
    r"|\b[àa] partir d['’])$"
)


#: Two dates made one span of time: "from 4 August 1915 until November 1918", "de 2015 à 2018",
#: "between 1990 and 1995" (the opening word is required: "in 2015 and 2018" is two dates).
_RANGE_FROM = re.compile(r"(?i:\b(?:from|between|du|de|d['’]|entre)\s*)$")
_RANGE_TO = re.compile(
    r"(?i:\s*(?:(?:until|till|to|through|and|au|à|et|jusqu['’](?:en|au|à))\s+|[-–]\s*))"
)


def date_range(text: str, spans: Sequence[Span], date: Span) -> tuple[int, int] | None:
    """Where the span of time that `date` opens or closes starts and ends in `text` (`spans`:
    its typed spans); None when `date` stands alone."""
    dates = [s for s in spans if s.kind is Kind.DATE]
    for a, b in itertools.pairwise(dates):
        if date in (a, b) and _RANGE_TO.fullmatch(text, a.end, b.start):
            opened = _RANGE_FROM.search(text, max(0, a.start - 12), a.start)
            if opened:
                return opened.start(), b.end
    return None


_BETWEEN = re.compile(r"(?i:\b(?:between|entre)\s+)$")


def figure_range(text: str, spans: Sequence[Span], figure: Span) -> int | None:
    """Where the range of figures that `figure` closes starts ("entre 67 et 87 km", "between
    4 and 6 hours", "entre 160 km/h et 210 km/h", "de 4 à 8 euros"); None when it closes none.
    Not a change: "passer de 90 à 80 km/h", "rose from 3% to 5%" (after a verb of change, or
    from more to less)."""
    figures = [s for s in spans if s.kind is not Kind.DATE and s.kind is not Kind.NAME]
    for a, b in itertools.pairwise(figures):
        if b == figure and _RANGE_TO.fullmatch(text, with_unit(text, a.end), b.start):
            opened = _BETWEEN.search(text, max(0, a.start - 12), a.start)
            if opened:
                return opened.start()
            opened = _FROM.search(text, max(0, a.start - 12), a.start)
            if (
                opened
                and not _CHANGE.search(text, max(0, opened.start() - 30), opened.start())
                and _value(a.text) < _value(b.text)
                and a.text.split()[1:] in ([], b.text.split()[1:])  # not "de 44 ans à 206 km/h"
            ):
                return opened.start()
    return None


_FROM = re.compile(r"(?i:\b(?:de|from)\s+)$")
#: A verb of change before "de X à Y" / "from X to Y": a figure before and after, no range.
_CHANGE = re.compile(
    r"(?i)\b(?:pass|augment|grimp|baiss|chut|port|relev|r[ée]dui|ramen|recul|progress|bondi"
    r"|mont|descend|abaiss|propuls|[ée]volu|increas|ris|rose|fell|fall|drop|grew|grow|went"
    r"|jump|climb|cut|rais|lower|reduc|decreas|declin|mov|chang)\w*[\s,]+$"
)


def _value(figure: str) -> float:
    """A figure's number as written, thousands' separators dropped ("2.500" -> 2500, "68,8"
    -> 68.8); infinity when it has no digits ("deux"): no range can be told from it."""
    digits = re.sub(r"[^\d,]", "", figure.split()[0])
    return float(digits.replace(",", ".", 1).replace(",", "")) if digits else math.inf


def with_bound(text: str, span: Span) -> int:
    """Where `span` starts with the words before it that bound or round it, part of what it
    says ("plus de 20 milliards d'euros", "environ 3,8 millions", "until 1796", "avant 2025");
    its own start when there are none. A name has none."""
    bound = {Kind.DATE: _DATE_BOUND, Kind.NAME: None}.get(span.kind, _FIGURE_BOUND)
    m = bound.search(text, max(0, span.start - 40), span.start) if bound else None
    return m.start() if m else span.start


def with_unit(text: str, end: int) -> int:
    """Where a figure ending at `end` ends with the unit of measure after it, part of what it
    says ("2 000" -> "2 000 ch", "122 millions" -> "122 millions de tonnes"); `end` when none
    follows."""
    m = _UNIT_AFTER.match(text, end)
    return m.end() if m else end


def _sentence_start(text: str) -> int:
    return len(text) - len(text.lstrip(" «“\"'(\n"))


#: What follows a name that opens a sentence with its description: "Frontex, the European
#: Union agency...", "Pawiak, an infamous prison...", "Sanakham, le sixième barrage...".
_APPOSITION = re.compile(r",\s+(?:the|an?|le|la|l['’]|les|un|une)\s")


def _plain_word(word: str) -> bool:
    """One ordinary capitalised word ("Parmi"), not an acronym or a model name ("BYD", "SU7")."""
    return word.isalpha() and word[1:].islower()


#: A minister's portfolio, capitalised in French ("le ministre de l'Intérieur"): a name
#: after it is the minister's, not part of it ("de la Santé Ashley Bloomfield").
_PORTFOLIOS = word_set("""
    sante justice defense culture interieur economie education travail agriculture budget
    environnement transports logement finances armees ecologie solidarites numerique sports
    industrie recherche commerce tourisme emploi famille jeunesse
    """)
_OF_PORTFOLIO = re.compile(r"(?i:\b(?:de\s+la|de\s+l['’]|du|des|aux?))\s*$")


#: Nationalities, which French writes capitalised before a name ("le Français Romain
#: Dauriac", "la Britannique Emma Raducanu"), folded.
_NATIONALS = frozenset(
    form
    for stem, feminine in [
        ("francais", "e"), ("americain", "e"), ("britannique", ""), ("allemand", "e"),
        ("italien", "ne"), ("espagnol", "e"), ("chinois", "e"), ("japonais", "e"),
        ("russe", ""), ("belge", ""), ("suisse", "sse"), ("canadien", "ne"),
        ("neerlandais", "e"), ("polonais", "e"), ("portugais", "e"), ("anglais", "e"),
        ("irlandais", "e"), ("ecossais", "e"), ("autrichien", "ne"), ("suedois", "e"),
        ("norvegien", "ne"), ("danois", "e"), ("ukrainien", "ne"), ("israelien", "ne"),
        ("iranien", "ne"), ("libanais", "e"), ("syrien", "ne"), ("egyptien", "ne"),
        ("marocain", "e"), ("algerien", "ne"), ("tunisien", "ne"), ("senegalais", "e"),
        ("ivoirien", "ne"), ("bresilien", "ne"), ("argentin", "e"), ("mexicain", "e"),
        ("indien", "ne"), ("australien", "ne"), ("turc", "que"), ("grec", "que"),
    ]
    for form in (stem, stem + feminine, stem + "s", stem + feminine + "s")
)  # fmt: skip


def _trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading function words ("Selon Claire Hammond" -> "Claire Hammond"), months,
    a minister's portfolio ("ministre de la Santé Agnès Buzyn" -> "Agnès Buzyn") and a
    nationality ("le Français Romain Dauriac" -> "Romain Dauriac")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    portfolio = _OF_PORTFOLIO.search(text, 0, start) is not None
    while words and (
        fold(re.split("[’']", words[0].group())[0]) in _NOT_NAMES
        or re.fullmatch(_MONTH, words[0].group())
        or re.fullmatch(_WEEKDAY, words[0].group())
        or (portfolio and len(words) > 1 and fold(words[0].group()) in _PORTFOLIOS)
        or (len(words) > 1 and fold(words[0].group()) in _NATIONALS)
    ):
        words.pop(0)
    if not words:
        return start, start
    return start + words[0].start(), end


# -- a French short answer for an English reader ------------------------------------------------
#: French numbers as words, folded: in English, and as digits (before a scale: "deux millions").
_CARDINALS = {
    "un": ("one", 1), "une": ("one", 1), "deux": ("two", 2), "trois": ("three", 3),
    "quatre": ("four", 4), "cinq": ("five", 5), "six": ("six", 6), "sept": ("seven", 7),
    "huit": ("eight", 8), "neuf": ("nine", 9), "dix": ("ten", 10), "onze": ("eleven", 11),
    "douze": ("twelve", 12), "treize": ("thirteen", 13), "quatorze": ("fourteen", 14),
    "quinze": ("fifteen", 15), "seize": ("sixteen", 16), "vingt": ("twenty", 20),
    "trente": ("thirty", 30), "quarante": ("forty", 40), "cinquante": ("fifty", 50),
    "soixante": ("sixty", 60),
}  # fmt: skip
_ORDINALS = {
    **dict.fromkeys(["premier", "premiere", "1er", "1re"], "first"),
    **dict.fromkeys(["deuxieme", "second", "seconde", "2e", "2eme"], "second"),
    **dict.fromkeys(["troisieme", "3e", "3eme"], "third"),
    **dict.fromkeys(["quatrieme", "4e", "4eme"], "fourth"),
    **dict.fromkeys(["dernier", "derniere"], "last"),
}
_MONTHS_FOLDED = {w: en.split()[0] for fr, en in MONTH_NAMES for w in map(fold, fr.split())}
#: The other French words of dates, figures, amounts and durations, folded, in English.
_ENGLISH = {
    "lundi": "Monday", "mardi": "Tuesday", "mercredi": "Wednesday", "jeudi": "Thursday",
    "vendredi": "Friday", "samedi": "Saturday", "dimanche": "Sunday",
    "et": "and", "ou": "or", "depuis": "since", "avant": "before", "apres": "after",
    "vers": "around", "entre": "between", "environ": "about", "par": "per",
    "plus": "more than", "moins": "less than", "pres": "nearly", "quelques": "a few",
    "plusieurs": "several", "fin": "the end of", "debut": "the beginning of",
    "milieu": "the middle of", "mi": "mid-", "million": "million", "millions": "million",
    "milliard": "billion", "milliards": "billion", "mille": "thousand", "au": "in", "aux": "in",
    "en": "in", "dans": "in", "a": "to", "hier": "yesterday", "demain": "tomorrow",
    "presque": "almost", "quasiment": "almost", "pratiquement": "practically",
    "quelque": "some", "autour": "around", "matin": "morning", "soir": "evening",
}  # fmt: skip
#: Unit symbols, the same in both languages: kept as written.
_SYMBOLS = word_set("m km kg t cm mm ha kw kwh mw mwh gw gwh twh mph")
#: Units as (singular, plural).
_UNITS = {
    **dict.fromkeys(["trimestre", "trimestres"], ("quarter", "quarters")),
    **dict.fromkeys(["semestre", "semestres"], ("half", "halves")),
    **dict.fromkeys(["an", "ans", "annee", "annees"], ("year", "years")),
    **dict.fromkeys(["decennie", "decennies"], ("decade", "decades")),
    **dict.fromkeys(["siecle", "siecles"], ("century", "centuries")),
    **dict.fromkeys(["mois"], ("month", "months")),
    **dict.fromkeys(["semaine", "semaines"], ("week", "weeks")),
    **dict.fromkeys(["weekend", "weekends"], ("weekend", "weekends")),
    **dict.fromkeys(["quinzaine", "quinzaines"], ("fortnight", "fortnights")),
    **dict.fromkeys(["jour", "jours"], ("day", "days")),
    **dict.fromkeys(["heure", "heures"], ("hour", "hours")),
    **dict.fromkeys(["minute", "minutes"], ("minute", "minutes")),
    **dict.fromkeys(["seconde", "secondes"], ("second", "seconds")),
    **dict.fromkeys(["kilometre", "kilometres"], ("kilometre", "kilometres")),
    **dict.fromkeys(["metre", "metres"], ("metre", "metres")),
    **dict.fromkeys(["hectare", "hectares"], ("hectare", "hectares")),
    **dict.fromkeys(["tonne", "tonnes"], ("tonne", "tonnes")),
    **dict.fromkeys(["watt", "watts"], ("watt", "watts")),
    **dict.fromkeys(["kilowatt", "kilowatts"], ("kilowatt", "kilowatts")),
    **dict.fromkeys(["megawatt", "megawatts"], ("megawatt", "megawatts")),
    **dict.fromkeys(["gigawatt", "gigawatts"], ("gigawatt", "gigawatts")),
    **dict.fromkeys(["cheval", "chevaux"], ("horsepower", "horsepower")),
    **dict.fromkeys(["ch", "cv"], ("hp", "hp")),
}
#: A currency's symbol goes before its number.
_CURRENCIES = {
    **dict.fromkeys(["euro", "euros", "€"], "€"),
    **dict.fromkeys(["dollar", "dollars", "$"], "$"),
    "£": "£",
}
#: Two French words as one English (the bounds of a figure or date: `with_bound`).
_ENGLISH_PAIRS = {
    ("au", "moins"): "at least", ("au", "minimum"): "at least", ("au", "plus"): "at most",
    ("au", "maximum"): "at most", ("pas", "moins"): "no less than",
    ("pas", "plus"): "no more than", ("un", "peu"): "a little", ("a", "peine"): "barely",
    ("a", "partir"): "from", ("jusqu", "a"): "up to", ("jusqu", "au"): "until",
    ("jusqu", "en"): "until", ("et", "demi"): "and a half", ("et", "demie"): "and a half",
    ("apres", "midi"): "afternoon",  # "après-midi": the hyphen is no token
    # "supérieure au million": more than 1 million; "inférieur à 500": less than 500
    **{
        (f"{side}{ending}", to): f"{than}{' 1' if to == 'au' else ''}"
        for side, than in (("superieur", "more than"), ("inferieur", "less than"))
        for ending in ("", "e", "s", "es")
        for to in ("a", "au", "aux")
    },
}  # fmt: skip
#: Counts French gives roughly ("une soixantaine d'armes"), folded.
_APPROXIMATE = {
    "dizaine": "about ten", "dizaines": "dozens", "douzaine": "a dozen", "douzaines": "dozens",
    "vingtaine": "about twenty", "trentaine": "about thirty", "cinquantaine": "about fifty",
    "soixantaine": "about sixty", "centaine": "about a hundred", "centaines": "hundreds",
    "millier": "about a thousand", "milliers": "thousands",
}  # fmt: skip
_APPROXIMATE_OF = {"milliers": "thousands", "millions": "millions", "milliards": "billions"}
_SKIPPED = word_set("le la les l du de d des")  # articles and "of": English word order says it
_TOKEN = re.compile(
    rf"(?P<ordinal>\b\d{{1,2}}(?:er|re|e|ème|eme)\b)|(?P<number>{NUMBER})"
    r"|(?P<word>[^\W\d_]+'?)|(?P<symbol>[%€$£])|(?P<other>[^\s.,:;\-])"
)
_THOUSANDS_DOTS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def in_english(short: str, kind: Kind | None) -> str | None:
    """A French short answer of a date, figure, amount or duration written for an English
    reader ("au premier trimestre 2025" -> "in the first quarter of 2025", "31,2 milliards
    d'euros" -> "€31.2 billion", "949 282" -> "949,282"); the number alone for a count of
    something ("100 000 livraisons" -> "100,000"). None when it has a word or sign this does
    not know (a name, a noun) or nothing to write otherwise: the reader then sees the quoted
    words as they are."""
    if not _renderable(short, kind):
        return None
    period = _period(short)
    if period:  # each date on its own: "au" between them is "to", not "in"; a year as written
        first, last = (in_english(d.text, Kind.DATE) or d.text for d in period)
        opening, joining = _PERIOD_WORDS.get(
            fold(short[period[0].end : period[1].start].strip())[:5], ("from", "to")
        )
        return f"{opening} {first} {joining} {last}"
    out: list[str] = []
    currency, last_number, taken = "", -1, -1
    numbers: list[int] = []  # where each number is in `out`
    written = short.replace("’", "'").replace("week-end", "weekend")
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(written)]
    for i, (group, token) in enumerate(tokens):
        if i == taken:
            continue
        word = fold(token).rstrip("'")
        after = [fold(t) for _, t in tokens[i + 1 : i + 3]]
        nxt = after[0] if after else ""
        counted = bool(out) and (
            last_number == len(out) - 1
            or out[-1] in _COUNTS
            or (last_number == len(out) - 2 and out[-1] in ("thousand", "million", "billion"))
        )  # "122 millions de tonnes": 122 million tonnes
        if (word, nxt) in _ENGLISH_PAIRS:
            out.append(_ENGLISH_PAIRS[word, nxt])
            taken = i + 1
        elif word in ("un", "une", "des") and nxt in _APPROXIMATE:
            continue  # "une soixantaine": about sixty
        elif word in _APPROXIMATE:
            approx = _APPROXIMATE[word]
            if out and out[-1] == "several":  # "plusieurs centaines": several hundred
                approx = approx.removesuffix("s")
            scale = after[1] if nxt in ("de", "d'") and len(after) > 1 else ""
            if scale in _APPROXIMATE_OF:  # "des centaines de millions": hundreds of millions
                approx, taken = f"{approx} of {_APPROXIMATE_OF[scale]}", i + 2
            last_number = len(out)
            out.append(approx)
        elif group == "number" or (word in _CARDINALS and nxt in SCALES):
            last_number = len(out)  # "deux millions": 2 million
            numbers.append(last_number)
            out.append(_english_number(token) if group == "number" else str(_CARDINALS[word][1]))
        elif group == "ordinal" and nxt in _MONTHS_FOLDED:
            out.append(token.rstrip("erèm"))  # "1er janvier": 1 January
        elif token == "%" and last_number >= 0:
            out[last_number] += "%"
        elif word in _CURRENCIES:
            currency = _CURRENCIES[word]
        elif word in ("annees", "decennie") and _is_year(nxt):
            out.append(f"the {nxt}s")  # "les années 1970": the 1970s
            taken = i + 1
        elif word in _SYMBOLS:
            out.append(token)
        elif word in _UNITS:
            if word == "mois" and any(w in _MONTHS_FOLDED for w in after):
                continue  # "fin du mois d'octobre": the end of October
            if word == "annee" and after[:1] and _is_year(after[0]):
                continue  # "début de l'année 2025": the beginning of 2025
            unit = _UNITS[word][counted and out[-1] not in ("1", "one")]
            if nxt in ("carre", "carres"):  # "1.500 mètres carrés": 1,500 square metres
                unit, taken = f"square {unit}", i + 1
            out.append(unit)
            ordinal = out[-2:-1] and out[-2] in _ORDINALS.values()
            if ordinal:
                out.insert(-2, "the")  # "au premier trimestre": in the first quarter
            if (ordinal or word.startswith(("trimestre", "semestre"))) and any(
                _is_year(w) or w in _MONTHS_FOLDED for w in after
            ):
                out.append("of")  # "la première semaine de mai": the first week of May
        elif word == "ici" and i > 0 and fold(tokens[i - 1][1]) == "d'":
            out.append("by")
        elif token.lower() == "dès":  # folded, the article "des"
            out.append("from")
        elif word == "depuis" and _DURATION.search(written) and not _DATE.search(written):
            out.append("for")  # "depuis près de deux mois": for nearly two months
        elif (
            word in _LAST_NEXT
            and out
            and (
                (out[-1] in _UNITS_EN and not counted)  # "le mois dernier": last month
                or (out[-1] in _ENGLISH_MONTHS and last_number < 0)  # not "le 30 mai dernier"
            )
        ):
            out[-1] = f"{_LAST_NEXT[word]} {out[-1]}"
            if out[-2:-1] == ["in"]:
                del out[-2]  # "en novembre dernier": last November
        elif word in _SKIPPED or (word in ("dernier", "derniere") and nxt not in _UNITS):
            continue  # "le 30 mai dernier": 30 May ("le dernier trimestre" keeps it)
        elif word in _MONTHS_FOLDED and (word != "sept" or kind is Kind.DATE):
            out.append(_MONTHS_FOLDED[word])
        elif word in _CARDINALS:
            out.append(_CARDINALS[word][0])
        elif word in ("millions", "milliards") and not counted:
            out.append(word.replace("milliards", "billions"))  # "des millions": millions
        elif word in _ORDINALS or word in _ENGLISH:
            out.append(_ORDINALS.get(word) or _ENGLISH[word])
        elif kind is Kind.NUMBER and (last_number >= 0 or counted) and group == "word":
            break  # the counted thing ("livraisons", "sept producteurs"): it answers "how many"
        else:
            return None
    if currency:
        if last_number not in numbers:  # none, or "des centaines de millions": as written
            return None
        for at, following in zip(numbers, [*numbers[1:], None], strict=True):
            if at == last_number or set(out[at + 1 : following]) <= {"to", "and", "or", "-"}:
                out[at] = currency + out[at]  # "de 2.500 à 5.000 euros": €2,500 to €5,000
    english = " ".join(out).replace("mid- ", "mid-")
    for wrong, right in _ENGLISH_IDIOMS:
        english = wrong.sub(right, english)
    return english if english and english != short else None


#: Word-by-word renderings English says otherwise: "à la fin de l'année" is "at the end of
#: the year", not "to the end of year"; "à la mi-juin" is "in mid-June".
_ENGLISH_IDIOMS = [
    (re.compile(r"\b(?:in|to) (?=the (?:beginning|end) of\b)"), "at "),
    (re.compile(r"\bto (?=mid-)"), "in "),
    (re.compile(r"\b(of|by) (year|month|week)\b"), r"\1 the \2"),
]


_COUNTS = frozenset(en for en, n in _CARDINALS.values() if n > 1) | {"a few", "several"}
_UNITS_EN = frozenset(one for one, _ in _UNITS.values())
_ENGLISH_MONTHS = frozenset(_MONTHS_FOLDED.values())
_LAST_NEXT = {"dernier": "last", "derniere": "last", "prochain": "next", "prochaine": "next"}


#: The English words that open and join the two dates of a French span of time, by the word
#: between them (folded, its first 5 letters); otherwise "from ... to ...".
_PERIOD_WORDS = {"jusqu": ("from", "until"), "et": ("between", "and")}


def _period(short: str) -> tuple[Span, Span] | None:
    """The two dates of `short` when it is one span of time and nothing else, as `date_range`
    finds it ("du 4 août 1915 au 1er mai 1918", "entre 1990 et 1995")."""
    spans = find_spans(short)
    dates = [s for s in spans if s.kind is Kind.DATE]
    if len(dates) == 2 and date_range(short, spans, dates[0]) == (0, len(short)):
        return dates[0], dates[1]
    return None


def _renderable(short: str, kind: Kind | None) -> bool:
    """A date, figure, amount or duration: asked for one, or, for a question that asks for no
    kind ("Quelle était la magnitude ?"), a short answer of digits and signs only ("6.8")."""
    return kind is not Kind.NAME and (kind is not None or bool(_DIGITS_ONLY.fullmatch(short)))


_DIGITS_ONLY = re.compile(r"[\d\s.,%€$£]*\d[\d\s.,%€$£]*")


def _is_year(word: str) -> bool:
    return word.isdigit() and len(word) == 4


def _english_number(token: str) -> str:
    """ "100 000" -> "100,000", "1,6" -> "1.6", "1.600.000" -> "1,600,000"; "2025" as is."""
    plain = re.sub(r"[ \u00a0\u202f]", "", token)
    if _THOUSANDS_DOTS.fullmatch(plain):
        return f"{int(plain.replace('.', '')):,}"
    grouped = plain != token
    plain = plain.replace(",", ".")
    whole, _, decimals = plain.partition(".")
    if grouped and whole.isdigit():
        whole = f"{int(whole):,}"
    return whole + (f".{decimals}" if decimals else "")


# -- an English short answer for a French reader ------------------------------------------------
#: English numbers as words: in French (the first French word written for it: "one" is "un").
_FRENCH_CARDINALS = {en: (fr, n) for fr, (en, n) in reversed(_CARDINALS.items())}
_FRENCH_MONTHS = {
    fold(w): french.split()[0] for french, english in MONTH_NAMES for w in english.split()
}
#: Ordinals before a feminine unit, and those units (singular): "première semaine".
_FEMININE = {"premier": "première", "dernier": "dernière"}
_FEMININE_UNITS = word_set("semaine quinzaine année heure minute seconde décennie")
_FRENCH_ORDINALS = {
    "first": "premier", "second": "deuxième", "third": "troisième", "fourth": "quatrième",
    "last": "dernier",
}  # fmt: skip
#: The other English words of dates, figures, amounts and durations, folded, in French.
_FRENCH = {
    **{en.lower(): fr for fr, en in _ENGLISH.items() if en.endswith("day")},  # weekdays
    "and": "et", "or": "ou", "since": "depuis", "before": "avant", "after": "après",
    "around": "environ", "about": "environ", "approximately": "environ", "roughly": "environ",
    "nearly": "près de", "almost": "près de", "over": "plus de", "under": "moins de",
    "between": "entre", "from": "de", "to": "à", "per": "par", "by": "d'ici",
    "until": "jusqu'à", "till": "jusqu'à", "some": "quelque",
    "several": "plusieurs", "early": "début", "beginning": "début", "mid": "mi-",
    "middle": "mi-", "late": "fin", "end": "fin",
}  # fmt: skip
#: Two English words as one French.
_FRENCH_PAIRS = {
    ("more", "than"): "plus de", ("less", "than"): "moins de", ("fewer", "than"): "moins de",
    ("at", "least"): "au moins", ("up", "to"): "jusqu'à", ("a", "few"): "quelques",
    ("per", "cent"): "%",
}  # fmt: skip
#: A count without a number: "hundreds" -> "des centaines".
_FRENCH_COUNTS = {
    "dozens": "des dizaines", "hundreds": "des centaines", "thousands": "des milliers",
    "millions": "des millions", "billions": "des milliards",
}  # fmt: skip
#: Scales after a number, as (singular, plural): "1.6 billion" -> "1,6 milliard".
_FRENCH_SCALES = {
    "thousand": ("mille", "mille"), "million": ("million", "millions"),
    "billion": ("milliard", "milliards"), "bn": ("milliard", "milliards"),
    "trillion": ("billion", "billions"),
}  # fmt: skip
#: Units as (singular, plural); a year counted by a number is an "an", else an "année".
_FRENCH_UNITS = {
    **dict.fromkeys(["quarter", "quarters"], ("trimestre", "trimestres")),
    **dict.fromkeys(["half"], ("semestre", "semestres")),
    **dict.fromkeys(["year", "years"], ("année", "années")),
    **dict.fromkeys(["decade", "decades"], ("décennie", "décennies")),
    **dict.fromkeys(["century", "centuries"], ("siècle", "siècles")),
    **dict.fromkeys(["month", "months"], ("mois", "mois")),
    **dict.fromkeys(["week", "weeks"], ("semaine", "semaines")),
    **dict.fromkeys(["weekend", "weekends"], ("week-end", "week-ends")),
    **dict.fromkeys(["fortnight", "fortnights"], ("quinzaine", "quinzaines")),
    **dict.fromkeys(["day", "days"], ("jour", "jours")),
    **dict.fromkeys(["hour", "hours"], ("heure", "heures")),
    **dict.fromkeys(["minute", "minutes"], ("minute", "minutes")),
    **dict.fromkeys(["second", "seconds"], ("seconde", "secondes")),
    **dict.fromkeys(
        ["kilometre", "kilometres", "kilometer", "kilometers"], ("kilomètre", "kilomètres")
    ),
    **dict.fromkeys(["metre", "metres", "meter", "meters"], ("mètre", "mètres")),
    **dict.fromkeys(["tonne", "tonnes", "ton", "tons"], ("tonne", "tonnes")),
    **dict.fromkeys(["mile", "miles"], ("mile", "miles")),
    **dict.fromkeys(["watt", "watts"], ("watt", "watts")),
    **dict.fromkeys(["kilowatt", "kilowatts"], ("kilowatt", "kilowatts")),
    **dict.fromkeys(["megawatt", "megawatts"], ("mégawatt", "mégawatts")),
    **dict.fromkeys(["gigawatt", "gigawatts"], ("gigawatt", "gigawatts")),
    **dict.fromkeys(["horsepower", "hp"], ("cheval", "chevaux")),
}  # fmt: skip
#: Every French unit, singular and plural: "of" after one and before a month is "de".
_UNIT_WORDS = frozenset(w for pair in _FRENCH_UNITS.values() for w in pair)
#: A currency: its French name, and with "de" after a scale ("1,6 milliard de dollars").
_FRENCH_CURRENCIES = {
    **dict.fromkeys(["$", "dollar", "dollars", "usd"], ("dollars", "de dollars")),
    **dict.fromkeys(["€", "euro", "euros", "eur"], ("euros", "d'euros")),
    **dict.fromkeys(["£", "pound", "pounds", "gbp"], ("livres", "de livres")),
}
_EN_TOKEN = re.compile(
    rf"(?P<ordinal>\b\d{{1,2}}(?:st|nd|rd|th)\b)|(?P<number>{NUMBER})"
    r"|(?P<word>[^\W\d_]+)|(?P<symbol>[%€$£])|(?P<other>[^\s.,:;\-'’])"
)


def in_french(short: str, kind: Kind | None) -> str | None:
    """An English short answer of a date, figure, amount or duration written for a French
    reader ("in the first quarter of 2025" -> "au premier trimestre 2025", "$1.6 billion" ->
    "1,6 milliard de dollars", "March 5, 2020" -> "5 mars 2020"); the number alone for a count
    of something ("more than 500 prisoners" -> "plus de 500"). None when it has a word or sign
    this does not know or nothing to write otherwise, as `in_english`."""
    if not _renderable(short, kind):
        return None
    tokens = [(m.lastgroup, m.group(), fold(m.group())) for m in _EN_TOKEN.finditer(short)]
    out: list[str] = []
    currency: tuple[str, str] | None = None
    last_number, value, scaled, i = -1, 0.0, False, 0
    while i < len(tokens):
        group, token, word = tokens[i]
        nxt = tokens[i + 1][2] if i + 1 < len(tokens) else ""
        after = tokens[i + 2][2] if i + 2 < len(tokens) else ""
        i += 1
        numbered = 0 <= last_number == len(out) - 1  # right after a number
        if (word, nxt) in _FRENCH_PAIRS:
            out.append(_FRENCH_PAIRS[word, nxt])
            i += 1
        elif group == "number" or word in _FRENCH_CARDINALS:
            if group == "number":
                plain = re.sub(r"[ \u00a0\u202f,]", "", token)
                if not re.fullmatch(r"\d+(\.\d+)?", plain):
                    return None  # "1.600.000": not an English number
                number, value = _french_number(token), float(plain)
            else:
                number, value = _FRENCH_CARDINALS[word][0], _FRENCH_CARDINALS[word][1]
            if group == "number" and value <= 31 and kind is Kind.DATE:
                if out and out[-1] in _FRENCH_MONTHS.values():
                    out.insert(-1, _day(number))  # "March 5": 5 mars
                    continue
                if nxt in _FRENCH_MONTHS:
                    number = _day(number)  # "1 January": 1er janvier
            last_number = len(out)
            out.append(number)
        elif group == "ordinal":
            day = re.sub(r"\D", "", token)
            if out and out[-1] in _FRENCH_MONTHS.values():
                out.insert(-1, _day(day))  # "March 5th": 5 mars
            else:
                out.append(_day(day) if nxt in _FRENCH_MONTHS else f"{day}e")
        elif word == "s" and out and _is_year(out[-1]):
            out[-1] = f"les années {out[-1]}"  # "the 1990s"
        elif token == "%" and last_number >= 0:
            out[last_number] += " %"
        elif word in _FRENCH_CURRENCIES:
            currency = _FRENCH_CURRENCIES[word]
        elif numbered and (word in _FRENCH_SCALES or (word == "m" and currency)):
            scale = "million" if word == "m" else word  # "$2.5m", but "6 m" is 6 metres
            out.append(_FRENCH_SCALES[scale][value >= 2 and scale != "thousand"])
            scaled = True
        elif word in _FRENCH_ORDINALS and not numbered:
            out.append(_FRENCH_ORDINALS[word])  # "the second quarter", not "2 seconds"
        elif word in _SYMBOLS:
            out.append(token)
        elif word in _FRENCH_UNITS:
            singular, plural = _FRENCH_UNITS[word]
            if word.startswith("year") and numbered:
                singular, plural = "an", "ans"  # "32 years": 32 ans
            several = out[-1:] in (["quelques"], ["plusieurs"]) or (numbered and value != 1)
            if out and out[-1] in _FEMININE and singular in _FEMININE_UNITS:
                out[-1] = _FEMININE[out[-1]]  # "the first week": la première semaine
            out.append(plural if several else singular)
        elif word == "in":
            out.append(
                "au" if nxt == "the" and after in _FRENCH_ORDINALS
                else "dans" if tokens[i:] and tokens[i][0] == "number" and not _is_year(nxt)
                else "en"
            )  # fmt: skip
        elif word == "on" and (nxt in _FRENCH_MONTHS or nxt.isdigit()):
            out.append("le")
        elif word == "of" and out and out[-1] in _UNIT_WORDS and nxt in _FRENCH_MONTHS:
            out.append("de")  # "the first week of May": première semaine de mai
        elif word in ("the", "of", "on"):
            continue
        elif word in ("a", "an") and last_number >= 0:
            out.append("par")  # "$350 a day": 350 dollars par jour
        elif word in _FRENCH_MONTHS and (word not in ("may", "mar") or kind is Kind.DATE):
            month = _FRENCH_MONTHS[word]
            if out[-1:] == ["de"] and month[0] in "aeio":
                out[-1:] = [f"d'{month}"]  # "de août": d'août
            else:
                out.append(month)
        elif word in _FRENCH_COUNTS:
            last_number = len(out)
            out.append(_FRENCH_COUNTS[word])
        elif word in _FRENCH:
            out.append(_FRENCH[word])
        elif kind is Kind.NUMBER and last_number >= 0 and group == "word":
            break  # the counted thing ("prisoners"): the number answers "how many"
        else:
            return None
    if currency:
        if last_number < 0:
            return None
        out.insert(last_number + 1 + scaled, currency[scaled])
    french = " ".join(out).replace("mi- ", "mi-")
    if kind in (Kind.DATE, Kind.DURATION):
        french = _UNTIL_DAY.sub("jusqu'au ", _UNTIL_YEAR.sub("jusqu'en ", french))
    return french if french and french != short else None


# "until 1796" -> "jusqu'en 1796", "until June" -> "jusqu'en juin", "until 5 March" -> "jusqu'au 5"
_UNTIL_YEAR = re.compile(rf"jusqu'à (?=\d{{4}}\b|(?i:{_MONTHS_FR})\b)")
_UNTIL_DAY = re.compile(rf"jusqu'à (?=(?:1er|\d{{1,2}}) (?i:{_MONTHS_FR})\b)")


def _day(number: str) -> str:
    return "1er" if number == "1" else number


def _french_number(token: str) -> str:
    """ "100,000" -> "100 000", "1.6" -> "1,6"; "2025" as is."""
    return token.replace(",", " ").replace(".", ",")


# -- days named by the article's date: a day without its year, a weekday, "hier" -------------
_DAY_WITHOUT_YEAR = re.compile(
    rf"(?:(?<![\w-])(?P<day>{_DAY})\s+(?P<month>{_MONTH})|(?P<month2>{_MONTH})\s+(?P<day2>{_DAY})\b)"
    r"(?!,?\s*\d)(?P<when>\s+(?i:derni(?:er|[èe]re)s?|prochaine?s?|last|next)\b)?"
)
#: A month named by its place from the article's, with no day before it nor year after it
#: ("en novembre dernier", "last November", "juin prochain").
_MONTH_WITHOUT_YEAR = re.compile(
    rf"(?<![\w-])(?<!\d\s)(?<!\der\s)(?:(?P<det>(?i:last|next))\s+(?P<month>{_MONTH})"
    rf"|(?P<month2>{_MONTH})\s+(?P<when>(?i:derni(?:er|[èe]re)|prochaine?)))(?![\w-])(?!,?\s*\d)"
)
_WEEKDAYS = {
    name.lower(): n for names in (_WEEKDAYS_FR, _WEEKDAYS_EN) for n, name in enumerate(names)
}
#: Days counted from the article's: (offset, written in French).
_SHIFTS = {
    "avant-hier": (-2, True), "hier": (-1, True), "demain": (1, True),
    "apres-demain": (2, True), "yesterday": (-1, False), "tomorrow": (1, False),
}  # fmt: skip
#: A weekday or a day counted from the article's, not followed by its date ("mardi 18 juin").
_RELATIVE_DAY = re.compile(
    rf"(?<![\w-])(?:(?P<det>(?i:ce|this|last|next))\s+)?(?:(?P<weekday>{_WEEKDAY})|(?P<shift>"
    rf"{_SHIFT_WORDS}))(?:\s+{_PART_OF_DAY})?"
    r"(?:\s+(?P<when>(?i:derni(?:er|[èe]re)|prochaine?|pass[ée]e?)))?"
    rf"(?![\w-])(?!,?\s+(?:{_PART_OF_DAY}\s+)?(?:1er\b|\d|{_MONTH}))"  # "lundi matin 17 septembre"
)
# What tells a weekday of the days to come from one of the days before ("sera jugé mardi", "a
# annoncé mardi"): which of these governs it is `_speaks_of_future`'s.
_FUTURE = re.compile(
    r"\b(?:will|shall|is\s+(?:due|set|scheduled|expected)\s+to|are\s+(?:due|set|scheduled|"
    r"expected)\s+to|va|vont|doit|doivent|pr[ée]vue?s?)\b|'ll\b"
    r"|\b[a-zàâçéèêëîïôûù]*(?:er|ir|dr|tr|vr|ur|rr|oir)(?:a|ont)\b"  # sera, ouvrira, prendront
)
_PAST = re.compile(
    r"\b(?:a|ont|avait|avaient|est|sont|[ée]tait|[ée]taient|fut)\s+(?:\w+\s+)?"
    r"(?!(?:lundi|mardi|mercredi|jeudi|vendredi|samedi)\b)\w+"  # "c'est lundi qu'aura lieu"
    r"(?:é|ée|és|ées|i|is|ie|it|u|us|ue|ert|ort)\b(?!['’])"  # not "qu'"
    r"|\b(?:was|were|had|has|have|did|said|(?!scheduled|planned|expected)\w+ed)\b"
)
# A French question's inverted past: "a-t-il vendu", "ont-ils livré", "était-elle".
_PAST_ASKED = re.compile(
    r"(?i)\b(?:a|ont|avait|avaient|[ée]tait|[ée]taient)-(?:t-)?(?:il|elle|ils|elles|on)\b"
)


# "What was the price...": a state, which an article may announce before its period.
_COPULA = re.compile(r"(?i)\b(?:was|were|is|are)\s+(?:the|a|an|its|their|his|her)\b")


def asks_about_past(question: str) -> bool:
    """Whether the question asks about something that happened ("How many cars did Tesla sell
    in 2019?", "Combien Tesla a-t-il vendu de voitures ?"), not what will happen or what
    something was ("What was the price in 2019?": a price may be announced before)."""
    if _FUTURE.search(question):
        return False
    return bool(_PAST.search(_COPULA.sub(" ", question)) or _PAST_ASKED.search(question))


# "When should the promenade be completed?", "When is the dam due to open?", "Quand devrait-il
# ouvrir ?": a plan, like _FUTURE (whose "is due to" a question's inversion splits).
_PLANNED = re.compile(r"(?i)\b(?:should|devrai(?:en)?t|(?:due|scheduled|expected|planned) to)\b")
_DID = re.compile(r"(?i)\b(?:was|were|did|had)\b")


def asks_about_future(question: str) -> bool:
    """Whether the question asks about what will happen ("When will the SU7 go on sale in
    Europe?", "When should the promenade be completed?", "Quand le barrage sera-t-il mis en
    service ?") and bears no mark of the past ("When was the first camera sold?" is not one
    for its "-era")."""
    if _DID.search(question) or _PAST_ASKED.search(question):
        return False
    return bool(_FUTURE.search(question) or _PLANNED.search(question))


_YEAR_NAMED = re.compile(rf"\b{_YEAR}\b")


def before_article(text: str, published: str | None) -> bool:
    """Whether `text` names years and each is before the year of `published`, its article's
    date: "de 2004" in an article of 2020 does not say when something will happen."""
    if not (published and published[:4].isdigit()):
        return False
    years = [int(y) for y in _YEAR_NAMED.findall(text)]
    return bool(years) and max(years) < int(published[:4])


_MONTH_NAMED = re.compile(rf"(?<![\w-])(?P<month>{_MONTH})(?:\s+(?P<year>{_YEAR}))?")


def month_asked(question: str) -> tuple[int, int | None] | None:
    """The month a question names, with its year if it names one right after it ("in August",
    "en août 2017"): (8, None), (8, 2017). None when it names no month, or several, or a year
    elsewhere."""
    named = {
        (MONTHS.get(fold(m["month"]).rstrip(".")) or 0, int(m["year"]) if m["year"] else None)
        for m in _MONTH_NAMED.finditer(question)
    }
    if len(named) != 1:
        return None
    ((month, year),) = named
    return None if year is None and re.search(rf"\b{_YEAR}\b", question) else (month, year)


def of_another_year(sentence: str, asked: tuple[int, int | None], published: str | None) -> bool:
    """Whether `sentence` names the month asked only as one of other years: with its year
    written, or alone, as the last or the next one around its article's date `published`
    ("en août 2017" in an article of 2019-09-05 is not the August asked about; "au mois d'août
    dernier" is not August 2017)."""
    try:
        day = dt.date.fromisoformat((published or "")[:10])
    except ValueError:
        return False
    month, year = asked
    near = {day.year - (month > day.month), day.year + (month < day.month)}
    wanted = {year} if year else near
    meant = [
        {int(m["year"])} if m["year"] else near
        for m in _MONTH_NAMED.finditer(sentence)
        if MONTHS.get(fold(m["month"]).rstrip(".")) == month
    ]
    return bool(meant) and not any(years & wanted for years in meant)


_SENTENCE_END = re.compile(r"[.!?](?=[\s\"«»]*[A-ZÀÂÇÉÈÊÎÔ])|[;\"«»“”]")
#: "le dimanche", "du lundi au vendredi", "every Monday": any such day, not one.
_HABITUAL = re.compile(r"(?i:\b(?:le|les|du|au|chaque|tous\s+les|every)\s+)$")


def dated(shown: str, published: str | None, sentence: str = "", at: int = 0) -> str:
    """`shown` with the date of each day it names by the date of the article that names it,
    its words kept: a day without its year takes the year that puts it nearest that date,
    before it for "dernier" / "last", after it for "prochain" / "next" ("le 30 mai dernier"
    in an article of 2019-06-02 -> "le 30 mai 2019"; "20 December" of 2020-01-05 -> "20
    December 2019"); a weekday or "hier" / "demain" becomes that day ("mardi" of 2019-06-20
    -> "mardi 18 juin 2019", "yesterday" -> "Wednesday, June 19, 2019"); a month named as
    the last or the next takes its year ("en novembre dernier" of 2020-04-03 -> "en novembre
    2019", "next March" -> "March 2021"). A weekday alone is one of the week before the
    article, or of the week after it when the verb that governs it in `sentence` (where the
    short answer starts at `at`) speaks of the future ("sera jugé mardi"; see `_tense`); a
    day of the year alone is before the article when that verb speaks of the past ("a fêté
    ses 94 ans le 2 février" of 2020-09-15 -> 2020, not the nearer 2021), after it for the
    future. As is when the article has no date."""
    try:
        day_of = dt.date.fromisoformat((published or "")[:10])
    except ValueError:
        return shown
    future = _speaks_of_future(sentence, at)

    def relative(m: re.Match[str]) -> str:
        det, when = fold(m["det"] or ""), fold(m["when"] or "")
        if _HABITUAL.search(sentence[:at] + m.string[: m.start()]):
            return m[0]
        if m["shift"]:
            offset, french = _SHIFTS[fold(m["shift"])]
            return _calendar_day(day_of + dt.timedelta(days=offset), french)
        if when.startswith(("dernier", "passe")) or det == "last":
            offsets = range(-7, 0)
        elif when.startswith("prochain") or det == "next":
            offsets = range(1, 8)
        elif future:
            offsets = range(0 if det else 1, 7)
        else:
            offsets = range(-6, 1)
        weekday = _WEEKDAYS[m["weekday"].lower()]
        days = [day_of + dt.timedelta(days=o) for o in offsets]
        french = m["weekday"].lower() in _WEEKDAYS_FR
        return next((_calendar_day(d, french) for d in days if d.weekday() == weekday), m[0])

    def yearly(m: re.Match[str]) -> str:
        month = MONTHS.get(fold(m["month"] or m["month2"]).rstrip("."))
        day = int(re.sub(r"\D", "", m["day"] or m["day2"]))
        when = fold(m["when"] or "").strip()
        days = []
        for year in (day_of.year - 1, day_of.year, day_of.year + 1):
            try:
                days.append(dt.date(year, month or 0, day))
            except ValueError:
                continue
        tense = None if when else _tense(sentence, at)
        if when.startswith(("dernier", "last")) or tense is False:
            days = [d for d in days if d <= day_of]  # "a fêté ses 94 ans le 2 février"
        elif when.startswith(("prochain", "next")) or tense:
            days = [d for d in days if d >= day_of]
        if not days:
            return m[0]
        year = min(days, key=lambda d: abs(d - day_of)).year
        if m["month"]:  # "30 mai 2019", "30 May 2019"
            return f"{m.string[m.start() : m.end('month')]} {year}"
        return f"{m.string[m.start() : m.end('day2')]}, {year}"  # "May 30, 2019"

    def monthly(m: re.Match[str]) -> str:
        name = m["month"] or m["month2"]
        month = MONTHS.get(fold(name).rstrip("."), 0)
        if fold(m["det"] or m["when"]).startswith(("dernier", "last")):
            year = day_of.year - (month >= day_of.month)
        else:
            year = day_of.year + (month <= day_of.month)
        return f"{name} {year}"

    days = _DAY_WITHOUT_YEAR.sub(yearly, _RELATIVE_DAY.sub(relative, shown))
    return _MONTH_WITHOUT_YEAR.sub(monthly, days)


def _speaks_of_future(sentence: str, at: int) -> bool:
    """Whether the verb that governs the day at `sentence[at]` speaks of the future
    (`_tense`); none, the past."""
    return _tense(sentence, at) is True


def _tense(sentence: str, at: int) -> bool | None:
    """Whether the verb that governs the day at `sentence[at]` speaks of the future (True) or
    the past (False): the nearest marker before it in its sentence or quote ("entreront en
    vigueur lundi, a annoncé le ministre"), else the nearest after it ("Mardi, le président
    fera"); None when there is none. News text glues sentences ("à venir.Cette mesure"): cut
    at their ends."""
    ends = [m.end() for m in _SENTENCE_END.finditer(sentence)]
    start = max((e for e in ends if e <= at), default=0)
    end = min((e for e in ends if e > at), default=len(sentence))
    marks = sorted(
        (m.start(), future)
        for pattern, future in ((_PAST, False), (_FUTURE, True))
        for m in pattern.finditer(sentence, start, end)
    )
    before = [future for where, future in marks if where < at]
    after = [future for where, future in marks if where >= at]
    if before:
        return before[-1]
    return after[0] if after else None


def _calendar_day(day: dt.date, french: bool) -> str:
    """ "mardi 18 juin 2019" / "Tuesday, June 18, 2019"."""
    if french:
        month = MONTH_NAMES[day.month - 1][0].split()[0]
        return f"{_WEEKDAYS_FR[day.weekday()]} {_day(str(day.day))} {month} {day.year}"
    month = MONTH_NAMES[day.month - 1][1].split()[0]
    return f"{_WEEKDAYS_EN[day.weekday()]}, {month} {day.day}, {day.year}"
