"""Canonical forms of argument values, so that equal meanings compare equal (the arguments diagnostic).

Numbers: ``250000``, ``250000.0``, ``"250,000"``, ``"$250,000.00"`` and ``"250k"`` are the same number.
Dates: ``2026-3-31``, ``2026/03/31``, ``March 31, 2026`` and ``31 Mar 2026`` are ``2026-03-31``. Text:
trimmed, whitespace collapsed. (What a *reply* states is read by ``crm_env.rewards.claims``.)
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}
_NUMERIC_TEXT = re.compile(r"^\s*([-+]?)\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?(k|m|million|thousand)?\s*%?\s*$", re.IGNORECASE)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")


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
