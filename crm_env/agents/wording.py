"""CRM values in the words a careful assistant writes: amounts, dates, percentages, field names, lists.

Every form here is one the reply checks read back exactly: amounts with thousands separators and a
dollar sign (``$1,479,000``, cents only when there are any), dates spelled out (``October 24, 2026``),
percentages with ``%``, enum values exactly as the CRM spells them, field names in words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
# Field names whose plain reading ("email", "phone") is not how people say them. Every form still
# contains the field's own words, so "valid_until" is still read back from "valid-until date".
_FIELD_WORDS = {
    "email": "e-mail address",
    "phone": "phone number",
    "valid_until": "valid-until date",
    "quote_prefix": "quote prefix",
    "entity_type": "record type",
    "file_name": "file name",
}
MONEY_FIELDS = frozenset({"amount", "value", "total_amount", "weighted_amount", "amount_difference", "lowest_amount",
                          "average_amount", "amount_min", "amount_max"})
PERCENT_FIELDS = frozenset({"probability"})


def number_text(value: float) -> str:
    """A number with separators, without a spurious ``.0`` (``1479000.0`` → ``1,479,000``)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def money(value: Any) -> str:
    """``$1,479,000``; ``$2,042,100.50`` when there are cents; non-numbers as they are."""
    number = as_number(value)
    if number is None:
        return str(value)
    sign = "-" if number < 0 else ""
    return f"{sign}${number_text(abs(number))}"


def percent(value: Any) -> str:
    """``85%``; ``12.5%``."""
    number = as_number(value)
    if number is None:
        return str(value)
    return f"{int(number)}%" if float(number).is_integer() else f"{number:g}%"


def as_number(value: Any) -> float | None:
    """The number a value holds (int, float or plain numeric text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def spelled_date(iso: str) -> str:
    """``2026-10-24`` → ``October 24, 2026`` (anything that is not an ISO date is returned as it is)."""
    if not is_iso_date(iso):
        return iso
    day = date.fromisoformat(iso)
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def field_words(name: str) -> str:
    """A field name as words: ``close_date`` → ``close date``, ``email`` → ``e-mail address``."""
    return _FIELD_WORDS.get(name) or name.replace("_", " ")


def value_text(field: str, value: Any) -> str:
    """A field's value as a reply states it: money for amounts, ``%`` for probabilities, dates spelled out."""
    if value is None:
        return "none"
    if field in MONEY_FIELDS:
        return money(value)
    if field in PERCENT_FIELDS:
        return percent(value)
    if is_iso_date(value):
        return spelled_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def join(items: Sequence[str], conjunction: str = "and") -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 quote``, ``2 quotes`` (digits, so a count is never ambiguous)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def article(next_word: str) -> str:
    """``a`` or ``an`` before a word or number as it is spoken ("an 85% probability", "an Active")."""
    head = next_word.lstrip("$").replace(",", "")
    if head[:1].isdigit():
        digits = head.split(".")[0].split("%")[0]
        spoken_an = digits.startswith("8") or digits in ("11", "18") or (
            len(digits) in (5, 8) and digits[:2] in ("11", "18"))
        return "an" if spoken_an else "a"
    return "an" if head[:1].lower() in "aeiou" else "a"


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """Lower-case the first letter of a sentence, unless it starts a name (two capitals, a digit, a quote)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower() and text.split(" ", 1)[0] in _SENTENCE_STARTERS:
        return text[0].lower() + text[1:]
    return text


# Words that start the replies' sentences; anything else at the start is a name and keeps its case.
_SENTENCE_STARTERS = frozenset({"Done:", "The", "There", "That", "This", "It", "Here", "Here's",
                                "Of", "Across", "In", "All", "Your", "We", "No", "None", "Nothing"})
