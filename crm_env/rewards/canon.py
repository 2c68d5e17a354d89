"""Canonical forms of values, so that equal meanings compare equal.

Numbers: ``250000``, ``250000.0``, ``"250,000"``, ``"$250,000.00"`` and ``"250k"`` are the same number.
In replies, a fact's number is stated when a number in the text equals it to the cent, or equals it
rounded to a whole number when the reply writes a whole number without a k/M suffix (``$1,234`` states
1234.40). ``k`` / ``M`` suffixes (``250k``, ``1.5M``, ``1.5 million``) scale exactly: ``1.2M`` does not
state 1,234,567. A trailing ``%`` is ignored (``75%`` states 75).

Dates: ISO ``2026-03-31`` also matches ``March 31, 2026``, ``Mar 31 2026`` and ``31 March 2026``.
Text: compared case-insensitively with ``-`` / ``_`` read as spaces and runs of whitespace collapsed
(``Closed-Won`` is stated by "closed won").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_NUMBER = re.compile(
    r"(?<![\w.])([-+]?)\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
    r"(?:\s?(k|thousand|mm|m|million|bn|b|billion)(?![a-z]))?",
    re.IGNORECASE,
)
_NUMERIC_TEXT = re.compile(r"^\s*([-+]?)\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?(k|m|million|thousand)?\s*%?\s*$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_SEPARATORS = re.compile(r"[-_\s]+")


def normalise_text(text: str) -> str:
    """Casefolded, ``-``/``_`` as spaces, whitespace collapsed."""
    # the same as _SEPARATORS.sub(" ", text.casefold()).strip(), without a regex pass
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


def parse_number(value: Any) -> float | None:
    """The number a value denotes (int, float or numeric text such as ``"$250,000.00"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _NUMERIC_TEXT.match(value)
    if match is None:
        return None
    sign, whole, frac, suffix = match.groups()
    number = float(whole.replace(",", "") + ("." + frac if frac else ""))
    if suffix:
        number *= _SCALES[suffix.lower()]
    return -number if sign == "-" else number


def numbers_in(text: str) -> list[tuple[float, bool]]:
    """Every number written in a text, with whether it was written as a plain whole number."""
    return [_number(*groups) for groups in _NUMBER.findall(text)]


def _number(sign: str | None, whole: str, frac: str | None, suffix: str | None) -> tuple[float, bool]:
    # one _NUMBER match's groups (findall gives "" where finditer gives None) as (number, plain whole number)
    if "," in whole:
        whole = whole.replace(",", "")
    number = float(f"{whole}.{frac}") if frac else float(whole)
    if suffix:
        number *= _SCALES[suffix.lower()]
    return (-number if sign == "-" else number, not frac and not suffix)


def date_forms(iso: str) -> list[str]:
    """Normalised spellings of an ISO date that a reply may use."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return [iso]
    month = _MONTHS[day.month - 1]
    forms = [iso]
    for name in (month, month[:3]):
        forms += [f"{name} {day.day}, {day.year}", f"{name} {day.day} {day.year}", f"{day.day} {name} {day.year}"]
    return [normalise_text(f) for f in forms]


def number_stated(value: float, text: str) -> bool:
    return _number_in(value, numbers_in(text))


def _number_in(value: float, numbers: list[tuple[float, bool]]) -> bool:
    for number, whole in numbers:
        if abs(number - value) < 0.005 or (whole and abs(number - value) <= 0.5):
            return True
    return False


class Reply:
    """A reply canonicalised once for every fact checked against it: its numbers (read left to right,
    only as far as a fact needs) and its normalised text (on first use)."""

    __slots__ = ("_haystack", "_numbers", "_pending", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._numbers: list[tuple[float, bool]] = []  # the numbers read so far, in order
        self._pending: Iterator[re.Match[str]] | None = None  # the rest, None until first needed
        self._haystack: str | None = None

    @property
    def numbers(self) -> list[tuple[float, bool]]:
        """Every number in the reply (``numbers_in``)."""
        for _ in self._more_numbers():
            pass
        return self._numbers

    def _more_numbers(self) -> Iterator[tuple[float, bool]]:
        """Yield the numbers not read yet, recording each."""
        pending = self._pending
        if pending is None:
            pending = self._pending = _NUMBER.finditer(self.text)
        numbers = self._numbers
        for match in pending:
            found = _number(*match.groups())
            numbers.append(found)
            yield found

    def states_number(self, value: float) -> bool:
        """Whether some number in the reply states ``value`` (see the module docstring)."""
        for number, whole in self._numbers:
            if abs(number - value) < 0.005 or (whole and abs(number - value) <= 0.5):
                return True
        if self._pending is not None and self._pending is _EXHAUSTED:
            return False
        for number, whole in self._more_numbers():
            if abs(number - value) < 0.005 or (whole and abs(number - value) <= 0.5):
                return True
        self._pending = _EXHAUSTED
        return False

    @property
    def haystack(self) -> str:
        if self._haystack is None:
            self._haystack = normalise_text(self.text)
        return self._haystack


_EXHAUSTED: Iterator[re.Match[str]] = iter(())


class Fact:
    """A fact's value compiled once: its number, its date spellings or its normalised text."""

    __slots__ = ("forms", "needle", "number", "numeric")

    def __init__(self, value: str | float) -> None:
        self.number = parse_number(value)
        self.numeric = isinstance(value, int | float) and not isinstance(value, bool)
        self.forms: tuple[str, ...] | None = None
        self.needle = ""
        if not self.numeric:
            target = str(value)
            if _ISO_DATE.match(target.strip()):
                self.forms = tuple(date_forms(target.strip()))
            else:
                self.needle = normalise_text(target)

    def stated(self, reply: Reply) -> bool:
        """Whether the reply states this fact (see the module docstring for the rules)."""
        value = self.number
        if value is not None:
            if reply.states_number(value):
                return True
            if self.numeric:
                return False
        haystack = reply._haystack
        if haystack is None:
            haystack = reply._haystack = normalise_text(reply.text)
        if self.forms is not None:
            return any(form in haystack for form in self.forms)
        return bool(self.needle) and self.needle in haystack


_FACTS: dict[tuple[type, Any], Fact] = {}
_FACTS_MAX = 65536


def compile_fact(value: str | float) -> Fact:
    """The compiled form of a fact value, cached by (type, value): datasets repeat their facts."""
    key = (type(value), value)
    try:
        fact = _FACTS.get(key)
    except TypeError:  # an unhashable value (a reference resolved to a list or a record)
        return Fact(value)
    if fact is None:
        if len(_FACTS) >= _FACTS_MAX:  # resolved values (ids, names) vary per episode: stay bounded
            _FACTS.clear()
        fact = _FACTS[key] = Fact(value)
    return fact


def fact_stated(value: str | float, text: str | Reply) -> bool:
    """Whether a reply states a fact's value (see the module docstring for the rules)."""
    return compile_fact(value).stated(text if isinstance(text, Reply) else Reply(text))


def canonical_argument(value: Any) -> Any:
    """Canonical form of an argument value: numbers as floats rounded to the cent, text trimmed with
    whitespace collapsed, dates as ISO, containers element-wise."""
    if isinstance(value, bool) or value is None:
        return value
    number = parse_number(value)
    if number is not None:
        return round(number, 2)
    if isinstance(value, str):
        text = " ".join(value.split())
        iso = iso_date(text)
        return iso if iso is not None else text
    if isinstance(value, list | tuple):
        return [canonical_argument(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical_argument(v) for k, v in value.items()}
    return value


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
)
_NAMED_DATE = re.compile(r"^([a-z]+)\.? (\d{1,2}),? (\d{4})$|^(\d{1,2}) ([a-z]+)\.?,? (\d{4})$")


def iso_date(text: str) -> str | None:
    """``2026-3-31``, ``2026/03/31``, ``March 31, 2026``, ``31 Mar 2026`` → ``2026-03-31``; else None."""
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = map(int, match.groups())
            return _iso(year, month, day)
    match = _NAMED_DATE.match(text.casefold())
    if match:
        if match.group(1):
            name, day, year = match.group(1), int(match.group(2)), int(match.group(3))
        else:
            day, name, year = int(match.group(4)), match.group(5), int(match.group(6))
        month = next((i + 1 for i, m in enumerate(_MONTHS) if len(name) >= 3 and m.startswith(name)), None)
        return None if month is None else _iso(year, month, day)
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
