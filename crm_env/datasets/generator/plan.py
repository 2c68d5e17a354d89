"""What a dataset contains before any utterance is written: primary intents, complexities, negatives.

Primary intents follow the customer's frequencies with a floor (every intent leads at least
``floor`` conversations); the complexity mix and the share of conversations with a negative turn
are allocated exactly, then shuffled, so the figures hold for any seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from crm_env.datasets.format import Complexity, FailureCategory
from crm_env.datasets.generator import account_steps as acc
from crm_env.datasets.generator import opportunity_steps as opp
from crm_env.datasets.generator import quote_steps as quo
from crm_env.datasets.generator.steps import Step
from crm_env.datasets.generator.world import World
from crm_env.datasets.intents import INTENT_COUNTS
from crm_env.datasets.intents import TaskIntent as I

Builder = Callable[[World, int], Step | None]

BUILDERS: dict[I, Builder] = {
    I.CREATE_NEW_OPPORTUNITY: opp.create_new_opportunity,
    I.MODIFY_OPPORTUNITY: opp.modify_opportunity,
    I.OPPORTUNITY_SEARCH: opp.opportunity_search,
    I.UPLOAD_DOCUMENT: acc.upload_document,
    I.CREATE_QUOTE: quo.create_quote,
    I.VIEW_OPPORTUNITY_DETAILS: opp.view_opportunity_details,
    I.CONTACT_SEARCH: acc.contact_search,
    I.CLONE_OPPORTUNITY: opp.clone_opportunity,
    I.SUMMARIZE_OPPORTUNITIES: opp.summarize_opportunities,
    I.CLIENT_SEARCH: acc.client_search,
    I.CREATE_NEW_CLIENT: acc.create_new_client,
    I.CREATE_NEW_CONTACT: acc.create_new_contact,
    I.CONTRACT_SEARCH: acc.contract_search,
    I.QUOTE_SEARCH: quo.quote_search,
    I.CREATE_NEW_CONTRACT: acc.create_new_contract,
    I.COMPANY_SEARCH: acc.company_search,
    I.OPPORTUNITY_DETAILS: opp.opportunity_details,
    I.MODIFY_CLIENT: acc.modify_client,
    I.MODIFY_QUOTE: quo.modify_quote,
    I.CANCEL_QUOTE: quo.cancel_quote,
    I.MODIFY_CONTACT: acc.modify_contact,
    I.ADD_NOTE: acc.add_note,
    I.COMPARE_QUOTE_DETAILS: quo.compare_quote_details,
    I.COMPARE_QUOTES: quo.compare_quotes,
    I.DELETE_OPPORTUNITY: opp.delete_opportunity,
    I.DELETE_QUOTE: quo.delete_quote,
    I.QUOTE_DETAILS: quo.quote_details,
    I.QUOTE_PREFIXES: quo.quote_prefixes,
}

COMPLEXITY_SHARES: tuple[tuple[Complexity, float], ...] = (
    (Complexity.SIMPLE, 0.23),
    (Complexity.MEDIUM, 0.52),
    (Complexity.COMPLEX, 0.25),
)
TURN_CHOICES: dict[Complexity, tuple[int, ...]] = {
    Complexity.SIMPLE: (1, 2, 2, 3, 3),
    Complexity.MEDIUM: (4, 5, 6),
    Complexity.COMPLEX: (7, 8, 9, 10),
}
NEGATIVE_SHARE = 0.15
INTENT_FLOOR = 22
CROSS_ENTITY_SHARE = {Complexity.SIMPLE: 0.0, Complexity.MEDIUM: 0.35, Complexity.COMPLEX: 0.6}

# Cross-entity threads: each step acts on what the previous ones created (the world's focus).
CHAINS: tuple[tuple[I, ...], ...] = (
    (I.CREATE_NEW_CLIENT, I.CREATE_NEW_CONTACT, I.CREATE_NEW_OPPORTUNITY, I.CREATE_QUOTE, I.UPLOAD_DOCUMENT,
     I.MODIFY_OPPORTUNITY, I.CREATE_NEW_CONTRACT, I.ADD_NOTE, I.VIEW_OPPORTUNITY_DETAILS, I.SUMMARIZE_OPPORTUNITIES),
    (I.CLIENT_SEARCH, I.CREATE_NEW_OPPORTUNITY, I.ADD_NOTE, I.CREATE_QUOTE, I.MODIFY_QUOTE, I.UPLOAD_DOCUMENT,
     I.MODIFY_OPPORTUNITY, I.CREATE_NEW_CONTRACT, I.UPLOAD_DOCUMENT, I.CONTRACT_SEARCH),
    (I.OPPORTUNITY_SEARCH, I.VIEW_OPPORTUNITY_DETAILS, I.CREATE_QUOTE, I.CREATE_QUOTE, I.COMPARE_QUOTES,
     I.UPLOAD_DOCUMENT, I.MODIFY_OPPORTUNITY, I.CREATE_NEW_CONTRACT, I.ADD_NOTE, I.QUOTE_SEARCH),
    (I.CREATE_NEW_CLIENT, I.CREATE_NEW_OPPORTUNITY, I.UPLOAD_DOCUMENT, I.CLONE_OPPORTUNITY, I.MODIFY_OPPORTUNITY,
     I.CREATE_QUOTE, I.ADD_NOTE, I.CREATE_NEW_CONTACT, I.MODIFY_CLIENT, I.OPPORTUNITY_SEARCH),
)


def allocate(total: int, shares: list[tuple[object, float]]) -> list[object]:
    """Largest-remainder allocation of ``total`` items over weighted keys, as a flat list."""
    raw = [(key, total * share) for key, share in shares]
    counts = {key: int(value) for key, value in raw}
    left = total - sum(counts.values())
    for key, value in sorted(raw, key=lambda kv: (-(kv[1] - int(kv[1])), str(kv[0])))[:left]:
        counts[key] += 1
    return [key for key, _ in shares for _ in range(counts[key])]


def primary_intents(count: int, rng: random.Random) -> list[I]:
    """Each conversation's leading intent: frequency-weighted, each intent at least the floor."""
    floor = min(INTENT_FLOOR, count // len(I))
    rest = count - floor * len(I)
    total = sum(INTENT_COUNTS.values())
    extra = allocate(rest, [(i, INTENT_COUNTS[i] / total) for i in I]) if rest > 0 else []
    out = [i for i in I for _ in range(floor)] + extra
    rng.shuffle(out)
    return out  # type: ignore[return-value]


def complexities(count: int, rng: random.Random) -> list[Complexity]:
    out = allocate(count, list(COMPLEXITY_SHARES))
    rng.shuffle(out)
    return out  # type: ignore[return-value]


def negatives(count: int, rng: random.Random) -> list[FailureCategory | None]:
    """Which conversations carry a negative turn, and from which failure category (round robin)."""
    n = round(count * NEGATIVE_SHARE)
    cats = list(FailureCategory)
    out: list[FailureCategory | None] = [cats[k % len(cats)] for k in range(n)] + [None] * (count - n)
    rng.shuffle(out)
    return out


FILLER_WEIGHTS: tuple[tuple[I, float], ...] = tuple(
    (i, max(INTENT_COUNTS[i], 30)) for i in I  # rare intents still appear as follow-ups now and then
)


def filler(rng: random.Random) -> I:
    intents, weights = zip(*FILLER_WEIGHTS, strict=True)
    return rng.choices(intents, weights=weights)[0]


def turn_plan(primary: I, complexity: Complexity, rng: random.Random) -> tuple[list[I], bool]:
    """The intents of one conversation, and whether it is a cross-entity thread."""
    n = rng.choice(TURN_CHOICES[complexity])
    if rng.random() < CROSS_ENTITY_SHARE[complexity]:
        chain = list(rng.choice(CHAINS))
        start = rng.randint(0, max(0, len(chain) - n))
        plan = chain[start:start + n]
        while len(plan) < n:
            plan.append(filler(rng))
        if primary not in plan:
            plan[rng.randrange(1, n) if n > 1 else 0] = primary
        return plan, True
    plan = [filler(rng) for _ in range(n)]
    plan[rng.randrange(n)] = primary
    return plan, False
