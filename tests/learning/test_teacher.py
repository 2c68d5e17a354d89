"""The rule teacher (``crm_env.learning.teacher``): what it proposes from failed turns, from what a supervisor
sees only, and that its instructions are ones the scripted student recognises."""

from __future__ import annotations

import dataclasses

import pytest

from crm_env.agents.scripted import TEACHABLE
from crm_env.learning.teacher import RULES, Action, RuleTeacher, TurnView, cue_words

OK = {"state": ("pass", "1 record change(s) match"), "reply": ("pass", "affirms all 2 fact(s)")}


def _turn(turn_id: int = 1, success: bool = False, actions: tuple[Action, ...] = (), **components) -> TurnView:
    return TurnView(turn_id, "Move the Acme deal to stage PROPOSAL and set the amount to $0.", actions,
                    "Done.", success, {**OK, **components})


@pytest.mark.parametrize(("turn", "rule", "category"), [
    (_turn(actions=(Action("modify_opportunity", False, "validation_error",
                           "stage 'PROPOSAL' is not an accepted value (values are case-sensitive)"),)),
     "casing", "enum_casing"),
    (_turn(actions=(Action("create_quote", False, "validation_error", "amount is required"),)),
     "missing_field", "missing_field"),
    (_turn(actions=(Action("view_opportunity_details", False, "not_found", "no opportunity with the id x"),)),
     "unknown_id", "hallucinated_id"),
    (_turn(state=("fail", "collateral damage: create Note")), "collateral", "extra_write"),
    (_turn(refusal=("fail", "says the request was not carried out but gives no reason for it")),
     "refusal_reason", "skip_facts"),
    (_turn(reply=("undecided", "the reply does not affirm: amount")), "missing_facts", "skip_facts"),
])
def test_each_rule_proposes_an_entry_the_student_can_use(turn: TurnView, rule: str, category: str) -> None:
    proposals = RuleTeacher().reflect("arc-1#0", [turn])
    assert [why.split("'")[1] for _, why in proposals] == [rule]
    entry = proposals[0][0]
    assert TEACHABLE[category].search(entry.instruction)  # the simulated student recognises it
    assert entry.evidence[0].episode_id == "arc-1#0" and entry.evidence[0].turn_id == 1
    assert set(entry.cue.keywords) >= {"deal", "stage", "amount"}


def test_successful_turns_and_passing_components_propose_nothing() -> None:
    assert RuleTeacher().reflect("e", [_turn(success=True, state=("fail", "collateral"))]) == []
    assert RuleTeacher().reflect("e", [_turn()]) == []


def test_one_proposal_per_rule_with_every_turn_as_evidence() -> None:
    turns = [_turn(n, reply=("fail", "the reply does not affirm: name")) for n in (1, 3)]
    (entry, why), = RuleTeacher().reflect("e", turns)
    assert [e.turn_id for e in entry.evidence] == [1, 3] and "1, 3" in why


def test_the_teacher_sees_no_reference_data() -> None:
    fields = {f.name for f in dataclasses.fields(TurnView)}
    assert fields == {"turn_id", "request", "actions", "reply", "success", "components"}
    assert {r.name for r in RULES} == {"casing", "missing_field", "unknown_id", "collateral", "refusal_reason",
                                       "missing_facts"}


def test_cue_words_come_from_the_request() -> None:
    assert cue_words("Please void quote 8cfb79b2.") == ("quote",)
    assert cue_words("Hello there, anything new?") == ("hello",)
