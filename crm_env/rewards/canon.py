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
from datetime import date
from typing import Any

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_NUMBER = re.compile(
    r"(?<![\w.])([-+]?)\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
    r"(?:\s?(k|thousand|mm|m|million|bn|b|billion)(?![a-z]))?",
    re.IGNORECASE,
)
_NUMERIC_TEXT = re.compile(r"^\s*([-+]?)\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?(k|m|million|thousand)?\s*%?\s*$", re.I)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_SEPARATORS = re.compile(r"[-_\s]+")


def normalise_text(text: str) -> str:
    """Casefolded, ``-``/``_`` as spaces, whitespace collapsed."""
    return _SEPARATORS.sub(" ", text.casefold()).strip()


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
    found = []
    for sign, whole, frac, suffix in _NUMBER.findall(text):
        number = float(whole.replace(",", "") + ("." + frac if frac else ""))
        if suffix:
            number *= _SCALES[suffix.lower()]
        found.append((-number if sign == "-" else number, not frac and not suffix))
    return found


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
    for number, whole in numbers_in(text):
        if abs(number - value) < 0.005 or (whole and abs(number - value) <= 0.5):
            return True
    return False


def fact_stated(value: str | int | float, text: str) -> bool:
    """Whether a reply states a fact's value (see the module docstring for the rules)."""
    number = parse_number(value)
    if number is not None and number_stated(number, text):
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return False
    target = str(value)
    haystack = normalise_text(text)
    if _ISO_DATE.match(target.strip()):
        return any(form in haystack for form in date_forms(target.strip()))
    needle = normalise_text(target)
    return bool(needle) and needle in haystack


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
