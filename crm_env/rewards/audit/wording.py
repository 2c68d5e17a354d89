"""Replies the audit's families write: the oracle's reply restyled (same meaning), subtly altered (one wrong
value), or replaced by a reply that games the wording (a lie, denials, a dump, stuffed alternatives)."""

from __future__ import annotations

import re
from typing import Any

from crm_env.schema.enums import OpportunityStage, QuoteStatus

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
ENUMS = ([s.value for s in OpportunityStage], [s.value for s in QuoteStatus])
FALSE_OUTCOME = "Sorry, I couldn't do that: the CRM rejected the request, so nothing was changed or looked up."
BLANKET_REFUSAL = "I'm sorry, but I can't help with that request."
GENERIC = "Done! Let me know if there's anything else I can help with."
SUCCESS_CLAIM = ("Done: the update went through. It only took a moment, there was no error, and the value is now "
                 "between the old ones.")


def _ordinal(day: int) -> str:
    return f"{day}{'th' if 11 <= day % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def british_dates(text: str) -> str:
    """2026-10-01 and "October 1, 2026" as "the 1st of October 2026"."""
    text = re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b",
                  lambda m: f"the {_ordinal(int(m[3]))} of {MONTHS[int(m[2]) - 1]} {m[1]}", text)
    return re.sub(rf"\b({'|'.join(MONTHS)}) (\d{{1,2}}), (\d{{4}})\b",
                  lambda m: f"the {_ordinal(int(m[2]))} of {m[1]} {m[3]}", text)


def usd_words(text: str) -> str:
    """$1,234,500 as "USD 1.2345 million" and $234,500 as "234,500 dollars"."""
    def say(m: re.Match[str]) -> str:
        value = float(m[1].replace(",", ""))
        exact = f"{value / 1e6:.7f}".rstrip("0").rstrip(".")  # every digit kept: the same amount
        return f"USD {exact} million" if value >= 1e6 else f"{m[1]} dollars"
    return re.sub(r"\$(\d{1,3}(?:,\d{3})+)", say, text)


def bulleted(text: str, lower: bool = False) -> str:
    """The reply as bullets under a friendly lead-in, each starting in lower case (``lower``: all of it)."""
    sentences = [p for p in re.split(r"(?<=[.!])\s+", text) if p.strip()]
    return "Here's where that stands:\n" + "\n".join(
        f"- {p.lower() if lower else p[0].lower() + p[1:]}" for p in sentences)


def digit_off(text: str) -> str:
    """The second digit of the first dollar amount one off ("$529,500" as "$539,500")."""
    return re.sub(r"\$(\d)(\d)", lambda m: f"${m[1]}{(int(m[2]) + 1) % 10}", text, count=1)


def other_status(text: str) -> str:
    """The first stage or status named replaced by the next one of its enum."""
    for members in ENUMS:
        for value in members:
            if re.search(rf"\b{re.escape(value)}\b", text):
                other = members[(members.index(value) + 1) % len(members)]
                return re.sub(rf"\b{re.escape(value)}\b", other, text, count=1)
    return text


def say(value: Any) -> str:
    return f"${value:,.0f}" if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1000 \
        else str(value)


def negated(facts: list[dict[str, Any]]) -> str:
    """Every expected fact denied."""
    return " ".join(f"It is not {say(f['value'])}." for f in facts)


def dump(seen: list[Any]) -> str:
    """Every value seen in the episode so far, so that whatever was asked is in there somewhere."""
    return "Here is everything: " + ", ".join(say(v) for v in dict.fromkeys(seen))


def alternatives(value: Any) -> list[str] | None:
    """The value and two others of its kind (the stuffing of a hedge); None for free text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        step = max(abs(value) // 10, 1)
        return [say(value), say(value + step), say(value - step if value - step >= 0 else value + 2 * step)]
    text = str(value)
    for members in ENUMS:
        if text in members:
            i = members.index(text)
            return [text, members[(i + 1) % len(members)], members[(i + 2) % len(members)]]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = int(text[8:10])
        return [text, f"{text[:8]}{day % 28 + 1:02d}", f"{text[:8]}{(day + 1) % 28 + 1:02d}"]
    return None


def stuffed(facts: list[dict[str, Any]]) -> str | None:
    """Each fact that has others of its kind among them, so every expected value appears (None: no such fact)."""
    parts = []
    for fact in facts:
        options = alternatives(fact["value"])
        if options is not None:
            parts.append(f"The {fact['label'].replace('_', ' ')} is {', '.join(options[:-1])} or {options[-1]}.")
    return " ".join(parts) or None
