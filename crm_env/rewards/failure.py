"""Refusals by meaning: for a request that must be refused, the CRM is unchanged, the reply says the request
was not carried out, and it gives the reason in plain words.

- A success claim fails whatever other words the reply contains ("Done: the stage is now PROPOSAL").
- "Not carried out": the reply says so ("I couldn't", "wasn't created", "the CRM rejected it", "I've left
  the deal as it was", ...; ``lexicon.FAILURE_CLAIM``), or states the outcome as not done ("Result: not
  applied", "the amount hasn't changed", "there was nothing to void"; ``lexicon.NOT_DONE``) and claims no
  success.
- The reason: words for the rule the request broke, by failure category (``lexicon.REFUSAL_REASONS``:
  "in the past", "case-sensitive", "already belongs to", "isn't a valid ID", "above the maximum", ...),
  read in the reply with the user's own request taken out, so echoing the request explains nothing.
- A refusal with no reason fails; one that neither claims nor denies having done the work is undecided.
Whether what the reply says is true (the right limit, the right date) is the reply check's business.
"""

from __future__ import annotations

from crm_env.rewards.claims import normalise
from crm_env.rewards.component import Component, failed, passed, undecided
from crm_env.rewards.lexicon import FAILURE_CLAIM, NOT_DONE, REFUSAL_REASON_PATTERNS, SUCCESS_CLAIM
from crm_env.rewards.meaning import MAX_REPLY_CHARS
from crm_env.rewards.state import NetChanges

NAME = "refusal"


def validate_refusal(net: NetChanges, reply: str, category: str | None, utterance: str = "") -> Component:
    """Whether the turn left the CRM unchanged and the reply explains the refusal (see the module docstring).

    Args:
        net: The turn's net changes.
        reply: The agent's reply.
        category: The turn's failure category (``FailureCategory`` value), which names the rule broken.
        utterance: The user's request as shown to the agent.
    """
    if net:
        return failed(NAME, f"the request had to be refused, but {len(net)} record(s) changed")
    if not reply.strip():
        return failed(NAME, "the CRM is unchanged, but no reply explained the refusal")
    if len(reply) > MAX_REPLY_CHARS:
        return failed(NAME, f"the reply is {len(reply):,} characters (more than {MAX_REPLY_CHARS:,}): not read")
    text = _without(normalise(reply), normalise(utterance).strip())
    success = SUCCESS_CLAIM.search(text)
    # the outcome forms of NOT_DONE ("there was no ...", "still") never outweigh a success claim
    refusal = FAILURE_CLAIM.search(text) or (None if success else NOT_DONE.search(text))
    if success and not refusal:
        return failed(NAME, f"claims the request was carried out ({success.group().strip()!r}); it had to be refused")
    if refusal is None:
        return undecided(NAME, "the CRM is unchanged, but the reply does not say the request was not carried out")
    pattern = REFUSAL_REASON_PATTERNS.get(category or "")
    reason = pattern.search(text) if pattern is not None else None
    if reason is None:
        return failed(NAME, f"says the request was not carried out ({refusal.group()!r}) but gives no reason "
                            f"for it ({(category or 'unknown').replace('_', ' ')})")
    return passed(NAME, f"CRM unchanged; the reply says it was not done ({refusal.group()!r}) and why "
                        f"({reason.group()!r})")


def _without(text: str, request: str) -> str:
    """The reply with any verbatim copy of the request blanked out."""
    if len(request) >= 12:
        text = text.replace(request, " ")
        stripped = request.rstrip(".?! ")
        if len(stripped) >= 12:
            text = text.replace(stripped, " ")
    return text
