"""Retrieval (``crm_env.learning.retrieval``): cues read in the request text, ranked, under a token budget."""

from __future__ import annotations

import inspect

import pytest

from crm_env.learning.entries import Cue, Entry, Evidence, Impact, Lifecycle
from crm_env.learning.retrieval import Retriever, estimate_tokens


def _entry(instruction: str, *, status: Lifecycle = Lifecycle.ACTIVE, audience: str = "student",
           evidence: int = 0, wins: int = 0, **cue: object) -> Entry:
    return Entry(cue=Cue(**cue), instruction=instruction, expected_effect="e", rationale="r", status=status,
                 audience=audience,  # type: ignore[arg-type]
                 evidence=tuple(Evidence(episode_id=f"ep-{n}", turn_id=1, rationale="r") for n in range(evidence)),
                 impact=Impact(injected=wins, success_with=wins))


AMOUNT = _entry("Amounts must be above zero: refuse $0 and say so.", keywords=("amount", "zero"))
STAGE = _entry("Use the stage names exactly as the CRM spells them.", keywords=("stage",), entities=("Opportunity",))
EMAIL = _entry("Check the e-mail is not another client's before changing it.", regex=r"e-?mail")
PHRASE = _entry("Closed deals cannot be edited: say so and stop.", keywords=("closed won",))
RETIRED = _entry("An old rule.", keywords=("amount",), status=Lifecycle.RETIRED)
CANDIDATE = _entry("A rule still unproven.", keywords=("amount",), status=Lifecycle.CANDIDATE)
TEACHER = _entry("Ask the student for its plan.", keywords=("amount",), audience="teacher")
ALL = [AMOUNT, STAGE, EMAIL, PHRASE, RETIRED, CANDIDATE, TEACHER]


@pytest.mark.parametrize(("request_text", "expected"), [
    ("Set the AMOUNT of the Acme deal to $0.", [AMOUNT]),
    ("Move the deal to the Proposal stage.", [STAGE]),
    ("Move the quote to the next stage.", []),  # the stage entry is about deals (opportunities)
    ("Change Granite's email to hello@blue.example.com", [EMAIL]),
    ("Can you edit the Closed Won deal?", [PHRASE]),
    ("The deal closed; who won it?", []),  # "closed won" as a phrase only
    ("Amounts are fine", []),  # whole words: "amounts" is not "amount"
])
def test_cues_match_the_request_text(request_text: str, expected: list[Entry]) -> None:
    assert list(Retriever(ALL).select(request_text).injected) == expected


def test_only_the_request_text_is_read() -> None:
    assert list(inspect.signature(Retriever.select).parameters) == ["self", "request", "budget_tokens"]


def test_teacher_entries_and_candidates_on_request() -> None:
    assert Retriever(ALL, audience="teacher").select("amount").injected == (TEACHER,)
    both = Retriever(ALL, statuses=frozenset({Lifecycle.ACTIVE, Lifecycle.CANDIDATE})).select("amount")
    assert set(both.injected) == {AMOUNT, CANDIDATE}


def test_ranking_is_by_keywords_matched_then_successes_then_evidence_then_id() -> None:
    one = _entry("One keyword, many wins.", keywords=("quote",), wins=9)
    two = _entry("Two keywords.", keywords=("quote", "void"))
    proven = _entry("One keyword, more evidence.", keywords=("quote",), wins=9, evidence=3)
    order = Retriever([one, two, proven]).select("Please void quote 8cfb79b2.").injected
    assert order == (two, proven, one)
    assert Retriever([proven, two, one]).select("Please void quote 8cfb79b2.").injected == order


def test_the_budget_keeps_the_best_and_reports_the_rest() -> None:
    entries = [_entry(f"Rule {n}: " + "x" * 100, keywords=("deal",), wins=n) for n in range(5)]
    cost = estimate_tokens(entries[0].instruction)
    selection = Retriever(entries).select("this deal", budget_tokens=2 * cost)
    assert [e.impact.success_with for e in selection.injected] == [4, 3]
    assert [e.impact.success_with for e in selection.matched_not_injected] == [2, 1, 0]
    assert selection.tokens <= 2 * cost
    assert Retriever(entries).select("this deal", budget_tokens=0).injected == ()


def test_a_keyword_counts_once_however_often_it_is_said_or_written() -> None:
    twice = _entry("Said twice.", keywords=("quote", "Quote", "void quote"))
    other = _entry("Two distinct keywords.", keywords=("quote", "void"))
    by_id = tuple(sorted((other, twice), key=lambda e: e.id))
    # two distinct keywords each ("quote" and "void quote"; "quote" and "void"): the id decides; an entry
    # given twice is one entry
    assert Retriever([twice, twice, other]).select("Void quote 8cfb79b2, the quote from May.").injected == by_id
    alone = _entry("One keyword.", keywords=("void",))
    assert Retriever([alone, twice]).select("void quote, quote, QUOTE").injected == (twice, alone)
