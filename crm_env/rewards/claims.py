"""A reply read as claims: the values it states (amounts, percentages, dates, counts, ids, versions, names
of records and enum values), where each stands, and whether it is affirmed or denied.

The reader is world-independent except for the names it is given (``Vocabulary``: the episode's record
names, people, enum values, e-mails... built by ``crm_env.rewards.world``), which it finds first so that
the digits inside a name ("Phase 2", "FY26") are never read as numbers.

Text forms understood: ``$1,234,567``, ``1.2M``, ``$816K``, ``1.5 million``, ``85%`` / ``85 percent``, number
words for counts ("no", "one", "a single", "twelve", "both"), dates as ISO, ``07/22/2026``, ``July 22, 2026``,
``Jul. 22 2026``, ``22 July 2026``, ``16th November 2026``, ``Sept 3`` (year from context), percentages in
words ("seventy-five per cent"), markdown lists
and tables (a row or a line is a segment; ``- 2 quotes`` is two quotes, never minus two).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from crm_env.rewards.lexicon import (
    COUNT_ONLY_WORDS,
    ENTITY_NOUNS,
    MONTH_NAMES,
    NEGATION_EXCEPTIONS,
    NEGATORS,
    NUMBER_WORDS,
    RESULT_NOUNS,
)
from crm_env.schema.enums import Entity

_TRANSLATE = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "*": " ", "`": " ", "\u00a0": " ",
                            "‑": "-", "–": "—", "#": "#"})
CLAUSE_REACH = 400
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_ABBREVIATIONS = frozenset({*MONTH_NAMES, "e.g", "i.e", "vs", "approx", "no", "mr", "ms", "dr", "inc", "ltd", "co",
                            "st", "v"})
# "vs" too: each side of a comparison is its own claim ("valid until none vs February 3, 2027")
CLAUSE_MARK = re.compile(r"[,;:()\[\]|—]| - |\b(?:but|although|though|however|whereas|while|and|or|so|because|since|"
                          r"which|instead|rather|vs|versus)\b")
_MONTH_ALT = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
_DATE_PATTERNS = (
    ("iso", re.compile(r"(?<![\w-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w-])")),
    ("slash", re.compile(r"(?<![\w/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\w/])")),
    ("mdy", re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?")),
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\b\.?(?:,?\s+(\d{{4}})\b)?")),
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_CODE_ID = re.compile(r"(?<![\w.@/-])(?:[a-z]{1,8}-)+[a-z0-9-]*\d[a-z0-9-]*(?![\w@-])|(?<![\w&])#\d{2,}\b"
                      r"|\bid[:#]?\s+(?=[a-z0-9-]*\d)([a-z0-9-]{3,})\b")
_URL = re.compile(r"\bhttps?://[^\s)>\]|]+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"\+\d[\d\s().-]{7,}\d")
_FILE = re.compile(r"\b[\w.-]+\.(?:pdf|docx?|csv|txt|xlsx?|pptx?|png|jpe?g|bak|zip|json|md|exe|tmp|html?)\b")
# "v1.1", "version 2", and "version isn't 1.1" / "version is now 1.1" (a decimal within three words)
_VERSION = re.compile(r"\b(?:version|ver\.?|v)\s?(\d+(?:\.\d+)?)\b|\bversion(?:\s+[a-z']+){1,3}?\s+(\d+\.\d+)\b")
# A deal "was won" / "hasn't been lost": the closed stages in their verb form
_CLOSED_STAGE = re.compile(r"\b(?:been|was|were|is|are|got|marked(?: as)?)\s+(won|lost)\b")
_NUMBER = re.compile(
    r"(?<![\w.,/])(\$|usd\s?)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(k|mm|m|bn|b)\b|\s(thousand|million|billion)\b)?"
    r"(\s?%|\s(?:percent|per cent)\b)?(?![\w,]*\d)"
)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_WORD_ALT = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
_WORD_PERCENT = re.compile(r"\b(" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS if w not in COUNT_ONLY_WORDS),
                                                   key=len, reverse=True)) + r")\s?(?:%|percent\b|per cent\b)")
_NOUN_ALT = "|".join(sorted((*ENTITY_NOUNS, *RESULT_NOUNS), key=len, reverse=True))
_COUNT = re.compile(rf"(?<![\w$.,])(?:(\d+)|({_WORD_ALT}))\s+((?:[a-z-]+\s+){{0,3}}?)({_NOUN_ALT})\b")
_PAREN_COUNT = re.compile(rf"\b({_NOUN_ALT})\b[^()\n]{{0,40}}?\((\d+)\)")
_ZERO = re.compile(r"\b(?:none|nothing (?:came up|was found|matches|matched)|no (?:results?|matches|hits|records?)|"
                   r"came back empty|(?:didn't|did not|couldn't|could not) find any|found no\b|found none|"
                   r"there (?:are|were) no\b|there aren't any|there weren't any|zero\b|isn't any|aren't any|"
                   r"no one\b|nobody|empty)")
_TOTAL = re.compile(r"(?<![\w$.,])(\d+|" + _WORD_ALT + r")\s+(?:in total|total|in all|altogether|overall)\b")
_TOTAL_CUE = re.compile(r"total|in all|altogether|overall")
_DENIED_AFTER = re.compile(r"[^\w.,;:!?\n]{0,3}(?:\w+\s){0,2}?(?:(?:is|was|are|were|does|did|do|has|have) not|isn't|"
                           r"wasn't|aren't|weren't|doesn't|didn't|don't|hasn't|haven't)\b")
_COUNT_SKIP = frozenset({"of", "in", "on", "at", "for", "with", "is", "are", "was", "were", "has", "have", "the",
                         "and", "or", "to", "by", "from", "than"})


@dataclass(frozen=True, slots=True)
class Mention:
    """One claim of the reply: a value of some kind at a place in the text, affirmed or denied."""

    kind: str  # "number", "percent", "date", "count", "id", "version", or a vocabulary kind ("record", "enum", ...)
    value: Any  # float; ISO date (or (month, day) without a year); int; text; vocabulary payload
    start: int
    end: int
    segment: int
    negated: bool
    tolerance: float = 0.0  # for numbers written rounded ("$1.5M"): how far the meant value may lie
    entity: Entity | None = None  # for counts: what was counted (None: the answer's record type)


@dataclass(frozen=True)
class Vocabulary:
    """Surface forms to find in replies: normalised text → (kind, payload). Built per episode state.

    Forms are found longest first at each place a word starts (not after a letter, digit, ``@``, ``.`` or
    ``-``) and must end where a word does (not before a letter, digit or ``@``, nor ``-x`` / ``.x``). They are
    indexed by their first word, so finding them costs a dictionary lookup per word of the reply; a regular
    expression over every name would have to be compiled for every state of every episode.
    """

    forms: dict[str, tuple[tuple[str, Any], ...]]
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first word → forms, longest first
    other: re.Pattern[str] | None = None  # the few forms that start with neither a letter nor a digit

    @classmethod
    def build(cls, forms: dict[str, list[tuple[str, Any]]]) -> Vocabulary:
        clean = {k: tuple(dict.fromkeys(v)) for k, v in forms.items() if len(k) >= 2}
        index: dict[str, list[str]] = {}
        for form in sorted(clean, key=len, reverse=True):
            first = _first_word(form)
            if first is not None:
                index.setdefault(first, []).append(form)
        return cls(clean, {k: tuple(v) for k, v in index.items()}, _other_pattern(clean))

    def overlay(self, table: dict[str, list[tuple[str, Any]]]) -> Vocabulary:
        """This vocabulary with the forms in ``table`` replaced (an empty list removes a form): an episode's
        vocabulary is its initial records' with the few records it changed re-read."""
        forms = dict(self.forms)
        words: set[str] = set()
        rebuild_other = False
        for text, payloads in table.items():
            if len(text) < 2:
                continue
            if payloads:
                forms[text] = tuple(dict.fromkeys(payloads))
            else:
                forms.pop(text, None)
            first = _WORD.match(text)
            if first is None:
                rebuild_other = True
            else:
                words.add(first.group())
        index = dict(self.index)
        for word in words:
            candidates = {*self.index.get(word, ()), *(t for t in table if _first_word(t) == word)}
            index[word] = tuple(sorted((t for t in candidates if t in forms), key=len, reverse=True))
        other = _other_pattern(forms) if rebuild_other else self.other
        return Vocabulary(forms, index, other)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Every form in ``text``: (start, end, form), left to right, never overlapping."""
        found = []
        end = 0
        for start_match in _WORD_START.finditer(text):
            start = start_match.start()
            if start < end:
                continue
            for form in self.index.get(_WORD.match(text, start).group(), ()):  # type: ignore[union-attr]
                stop = start + len(form)
                if text.startswith(form, start) and _ends_word(text, stop):
                    found.append((start, stop, form))
                    end = stop
                    break
        if self.other is not None:
            taken = [(a, b) for a, b, _ in found]
            found += [(m.start(), m.end(), m.group()) for m in self.other.finditer(text)
                      if not any(a < m.end() and m.start() < b for a, b in taken)]
            found.sort()
        return found


_WORD = re.compile(r"\w+")
_WORD_START = re.compile(r"(?<![\w@.-])\w")


def _first_word(form: str) -> str | None:
    first = _WORD.match(form)
    return None if first is None else first.group()


def _other_pattern(forms: dict[str, Any]) -> re.Pattern[str] | None:
    other = [re.escape(form) for form in sorted(forms, key=len, reverse=True) if _WORD.match(form) is None]
    return re.compile(rf"(?<![\w@.-])(?:{'|'.join(other)})(?![\w@]|-\w|\.\w)") if other else None


def _ends_word(text: str, end: int) -> bool:
    after = text[end:end + 2]
    if not after:
        return True
    if after[0] == "@" or after[0].isalnum() or after[0] == "_":
        return False
    return not (after[0] in "-." and len(after) > 1 and (after[1].isalnum() or after[1] == "_"))


@dataclass(frozen=True)
class ReadReply:
    """A reply's claims."""

    text: str
    norm: str  # lower-cased, markdown emphasis removed, same length as text
    loose: str  # norm with "-" and "_" as spaces (for names and enum values)
    segments: tuple[tuple[int, int], ...]
    mentions: tuple[Mention, ...]

    def segment_of(self, position: int) -> int:
        for index, (start, end) in enumerate(self.segments):
            if start <= position < end:
                return index
        return len(self.segments) - 1

    def of_kind(self, *kinds: str) -> list[Mention]:
        return [m for m in self.mentions if m.kind in kinds]


def normalise(text: str) -> str:
    """Lower case, straight quotes, emphasis removed; one character for one (offsets are kept)."""
    out = text.translate(_TRANSLATE)
    lowered = out.lower()
    if len(lowered) != len(out):  # a character whose lower case is longer: keep it as it is
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in out)
    return lowered


def _segments(norm: str) -> tuple[tuple[int, int], ...]:
    cuts = {0, len(norm)}
    for index, char in enumerate(norm):
        if char == "\n":
            cuts.add(index + 1)
    for match in _SENTENCE_END.finditer(norm):
        word = re.search(r"([\w.]+)$", norm[max(0, match.start() - 12):match.start()])
        previous = word.group(1) if word else ""
        if previous in _ABBREVIATIONS or previous[-1:].isdigit() and match.group() == "." and \
                re.match(r"\s+\d", norm[match.end():match.end() + 3]):
            continue
        cuts.add(match.end())
    points = sorted(cuts)
    return tuple((a, b) for a, b in zip(points, points[1:]) if b > a)


def negated_at(norm: str, start: int, segment_start: int, end: int | None = None, in_list: bool = False) -> bool:
    """Whether the mention at ``start`` is denied: a negator between the start of its clause and it, or
    "is not" / "isn't" right after it. ``in_list``: a list item ("no deals in A, B or C") inherits the
    negation of the list's head. Only the last ``CLAUSE_REACH`` characters are read (a clause is shorter;
    a reply without full stops would otherwise take quadratic time)."""
    window = norm[max(segment_start, start - CLAUSE_REACH):start]
    marks = list(CLAUSE_MARK.finditer(window))
    index = len(marks) - 1
    cut = marks[index].end() if marks else 0
    piece_end = len(window)
    while in_list and index >= 0 and marks[index].group().strip() in (",", "or", "and") and \
            len(window[marks[index].end():piece_end].split()) <= (1 if piece_end == len(window) else 3):
        cut = marks[index - 1].end() if index > 0 else 0  # take in the list item (or the head) before
        piece_end = marks[index].start()
        index -= 1
    clause = window[cut:]
    if NEGATION_EXCEPTIONS.search(clause):
        clause = NEGATION_EXCEPTIONS.sub(" ", clause)
    if NEGATORS.search(clause) is not None:
        return True
    return end is not None and _DENIED_AFTER.match(norm, end) is not None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _dates(norm: str) -> list[tuple[int, int, Any]]:
    found: list[tuple[int, int, Any]] = []
    taken: list[tuple[int, int]] = []  # sorted, never overlapping
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(norm):
            at = bisect.bisect_left(taken, (match.end(), -1))  # the spans starting before this match ends
            if at and taken[at - 1][1] > match.start():
                continue
            groups = match.groups()
            if kind == "iso":
                values = {_iso(int(groups[0]), int(groups[1]), int(groups[2]))}
            elif kind == "slash":
                a, b, year = int(groups[0]), int(groups[1]), int(groups[2])
                values = {_iso(year, a, b), _iso(year, b, a)}  # US order first; day-first where it is the only reading
                if _iso(year, a, b):
                    values = {_iso(year, a, b)}
            else:
                month_word, day_text = (groups[0], groups[1]) if kind == "mdy" else (groups[1], groups[0])
                if month_word == "may" and kind == "mdy" and not groups[2]:
                    continue  # "may 5" without a year is more often the verb
                month, day = MONTH_NAMES[month_word], int(day_text)
                if groups[2]:
                    values = {_iso(int(groups[2]), month, day)}
                elif 1 <= day <= 31:
                    values = {(month, day)}
                else:
                    values = set()
            values.discard(None)
            if values:
                bisect.insort(taken, match.span())
                found.append((match.start(), match.end(), tuple(sorted(values, key=str))))
    return found


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def read_reply(text: str, vocabulary: Vocabulary) -> ReadReply:
    """Every claim of a reply (see the module docstring)."""
    return _read(text, names_in(text, vocabulary))


def read_request(text: str, vocabulary: Vocabulary) -> ReadReply:
    """The user's message read as a reply is. Every episode of a conversation reads the same requests, so
    the reading is cached on the text and where names stand in it, their payloads (record ids, which
    differ between episodes for created records) stood in for by ``_Slot`` and filled in afterwards."""
    names = names_in(text, vocabulary)
    slots = tuple((start, end, tuple((kind, _Slot(i, j)) for j, (kind, _) in enumerate(payloads)))
                  for i, (start, end, payloads) in enumerate(names))
    read = _read_cached(text, slots)
    if not names:
        return read
    mentions = tuple(Mention(m.kind, names[m.value.name][2][m.value.payload][1], m.start, m.end, m.segment,
                             m.negated, m.tolerance, m.entity) if type(m.value) is _Slot else m for m in read.mentions)
    return ReadReply(read.text, read.norm, read.loose, read.segments, mentions)


@dataclass(frozen=True, slots=True)
class _Slot:
    name: int  # which name of the text
    payload: int  # which of its payloads


Names = tuple[tuple[int, int, tuple[tuple[str, Any], ...]], ...]


def names_in(text: str, vocabulary: Vocabulary) -> Names:
    """The vocabulary's forms in ``text`` (outside URLs, e-mails and UUIDs): (start, end, payloads)."""
    if not vocabulary.forms:
        return ()
    norm = normalise(text)
    addresses = [(start, end) for start, end, *_ in _addresses(norm)]
    found = vocabulary.find(_blank(norm.replace("-", " ").replace("_", " "), addresses))
    return tuple((start, end, vocabulary.forms[form]) for start, end, form in found
                 if not re.match(r"-\w", norm[end:end + 2]))  # part of a longer token ("RFQ-000195" is no prefix)


def _addresses(norm: str) -> list[tuple[int, int, str, str]]:
    """URLs, e-mails and UUIDs, which no other claim may overlap: (start, end, kind, text)."""
    found: list[tuple[int, int, str, str]] = []
    for pattern, kind, needed in ((_URL, "url", "http"), (_EMAIL, "email", "@"), (_UUID, "id", "-")):
        for match in pattern.finditer(norm) if needed in norm else ():
            if not any(a <= match.start() < b for a, b, *_ in found):
                found.append((match.start(), match.end(), kind, match.group()))
    return found


def _read(text: str, names: Names) -> ReadReply:
    norm = normalise(text)
    loose = norm.replace("-", " ").replace("_", " ")
    segments = _segments(norm)
    starts = [s for s, _ in segments]
    mentions: list[Mention] = []

    def segment(position: int) -> tuple[int, int]:
        index = max(0, _bisect(starts, position))
        return index, segments[index][0] if segments else 0

    def add(kind: str, value: Any, start: int, end: int, tolerance: float = 0.0, entity: Entity | None = None) -> None:
        index, seg_start = segment(start)
        denied = negated_at(norm, start, seg_start, end, in_list=kind == "enum")
        mentions.append(Mention(kind, value, start, end, index, denied, tolerance, entity))

    chars = list(norm)
    blanked = [norm]  # norm with every claim found so far blanked out (rebuilt only after a change)

    def mask(start: int, end: int) -> None:
        chars[start:end] = " " * (end - start)
        blanked[0] = ""

    def unclaimed() -> str:
        if not blanked[0]:
            blanked[0] = "".join(chars)
        return blanked[0]

    for start, end, kind, value in _addresses(norm):
        add(kind, value, start, end)
        mask(start, end)
    for start, end, payloads in names:
        for kind, payload in payloads:
            add(kind, payload, start, end)
        mask(start, end)
    # A pass whose pattern cannot match without some character or word is skipped when the text lacks it.
    for pattern, kind, needed in ((_FILE, "file", "."), (_PHONE, "phone", "+")):
        if needed in norm:
            for match in pattern.finditer(unclaimed()):
                add(kind, match.group().strip(), match.start(), match.end())
                mask(*match.span())
    for match in _CODE_ID.finditer(unclaimed()):
        token = (match.group(1) or match.group()).strip("#")
        if _looks_like_date(token):
            continue
        add("id", token, match.start(), match.end())
        mask(*match.span())
    for start, end, values in _dates(unclaimed()):
        add("date", values, start, end)
        mask(start, end)
    for match in _VERSION.finditer(unclaimed()):
        add("version", match.group(1) or match.group(2), match.start(1) if match.group(1) else match.start(2),
            match.end())
        mask(*match.span())
    if "won" in norm or "lost" in norm:
        for match in _CLOSED_STAGE.finditer(unclaimed()):
            add("enum", "Closed-Won" if match.group(1) == "won" else "Closed-Lost", match.start(1), match.end(1))
            mask(*match.span(1))
    if "%" in norm or "per" in norm:
        for match in _WORD_PERCENT.finditer(unclaimed()):
            add("percent", float(NUMBER_WORDS[match.group(1)]), match.start(), match.end())
            mask(*match.span())
    rest = unclaimed()
    counted: list[tuple[int, int]] = []
    for match in _COUNT.finditer(rest):
        between = match.group(3).split()
        if any(word in _COUNT_SKIP for word in between):
            continue
        number = int(match.group(1)) if match.group(1) else NUMBER_WORDS[match.group(2)]
        noun = match.group(4)
        start = match.start()
        if match.group(2) in ("no", "none"):
            # "no contacts" counts zero; the negation is the count itself, not a denial of it
            index, _ = segment(start)
            mentions.append(Mention("count", 0, start, match.end(), index, False, 0.0, ENTITY_NOUNS.get(noun)))
        else:
            add("count", number, start, match.end(), entity=ENTITY_NOUNS.get(noun))
        counted.append((start, match.start(4)))
    for match in _PAREN_COUNT.finditer(rest) if "(" in rest else ():
        add("count", int(match.group(2)), match.start(2), match.end(2), entity=ENTITY_NOUNS.get(match.group(1)))
        counted.append(match.span(2))
    for match in _TOTAL.finditer(rest) if _TOTAL_CUE.search(rest) else ():
        if not any(a <= match.start() < b for a, b in counted):
            value = match.group(1)
            add("count", int(value) if value.isdigit() else NUMBER_WORDS[value], match.start(), match.end())
            counted.append(match.span())
    for match in _ZERO.finditer(rest):
        if not any(a <= match.start() < b for a, b in counted):
            index, _ = segment(match.start())
            mentions.append(Mention("count", 0, match.start(), match.end(), index, False))
    for match in _NUMBER.finditer(_blank(rest, counted)):
        dollar, whole, fraction, suffix, word_suffix, percent = match.groups()
        number = float(whole.replace(",", "") + (fraction or ""))
        scale = _SCALE.get(suffix or word_suffix or "", 1.0)
        value = number * scale
        digits = len((fraction or ".")[1:])
        tolerance = 0.5 * scale * 10 ** -digits if scale > 1 else 0.005
        if percent:
            add("percent", value, match.start(), match.end())
        elif dollar or scale > 1 or "," in whole or fraction and digits == 2 or value >= 1000 and not (
                1900 <= value <= 2100 and not fraction):
            add("number", value, match.start(), match.end(), tolerance)
    mentions.sort(key=lambda m: m.start)
    return ReadReply(text, norm, loose, segments, tuple(mentions))


_read_cached = lru_cache(maxsize=8192)(_read)


def _looks_like_date(token: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", token))


def _bisect(starts: list[int], position: int) -> int:
    low, high = 0, len(starts)
    while low < high:
        middle = (low + high) // 2
        if starts[middle] <= position:
            low = middle + 1
        else:
            high = middle
    return low - 1
