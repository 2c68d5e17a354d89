"""Expected-failure validator: for a request that must be refused, nothing changed and the reply says why.

"Says why" is checked deterministically by refusal wording (cannot, unable, not allowed, invalid, does
not exist, ...) or by the reply naming the refused thing's error kind. A reply with no such wording is
*undecided* (the judge may read it); without a judge that counts as failed.
"""

from __future__ import annotations

import re

from crm_env.rewards.component import Component, failed, passed, undecided
from crm_env.rewards.state import NetChanges

NAME = "refusal"
_REFUSAL = re.compile(
    r"\b(can ?not|can't|couldn't|could not|unable|won't|will not|not (?:possible|allowed|permitted|valid|"
    r"found|exist|able)|doesn't exist|does not exist|no such|invalid|isn't valid|is not valid|not a valid|"
    r"rejected|refused|failed|error|must be|is in the past|already (?:uses|used|exists|in use)|duplicate|"
    r"closed|unknown|out of range|exceeds|too (?:high|large|low)|between|at most|at least|only)\b",
    re.IGNORECASE,
)
_KIND_WORDS = {
    "validation_error": "invalid",
    "not_found": "not found",
    "conflict": "already",
    "rule_violation": "not allowed",
    "unknown_tool": "unknown",
}


def validate_refusal(net: NetChanges, reply: str, expected_error: str | None) -> Component:
    """Whether the turn left the CRM unchanged and the reply explains the refusal."""
    if net:
        return failed(NAME, f"the request had to be refused, but {len(net)} record(s) changed")
    if not reply.strip():
        return failed(NAME, "the CRM is unchanged, but no reply explained the refusal")
    word = _KIND_WORDS.get(expected_error or "", "")
    if _REFUSAL.search(reply) or (word and word in reply.casefold()):
        return passed(NAME, "CRM unchanged and the reply explains why the request cannot be done")
    return undecided(NAME, "CRM unchanged, but the reply does not clearly say the request was refused")
