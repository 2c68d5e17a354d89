"""Pure reward components: canonical arguments, state diff, refusals, arguments, shaped reward."""

from __future__ import annotations

import pytest

from crm_env import CrmSandbox
from crm_env.rewards import (
    WEIGHTS,
    Status,
    canonical_argument,
    match_arguments,
    net_changes,
    validate_refusal,
    validate_state,
)
from crm_env.rewards.component import passed
from crm_env.rewards.ensemble import shaped_reward


def test_canonical_arguments() -> None:
    assert canonical_argument("$250,000.00") == canonical_argument(250000) == 250000.0
    assert canonical_argument("  Acme   Corp ") == "Acme Corp"
    assert canonical_argument("March 31, 2026") == canonical_argument("2026/3/31") == "2026-03-31"
    assert canonical_argument("250k") == canonical_argument("0.25 million") == 250000.0
    assert canonical_argument(["$1,234.404", {"d": "31 Mar 2026"}]) == [1234.4, {"d": "2026-03-31"}]


def test_argument_matcher_reports_case_mismatches_separately() -> None:
    gold = [("modify_opportunity", {"opportunity_id": "x", "stage": "Closed-Won", "amount": 250000})]
    exact = match_arguments(gold, [("modify_opportunity", {"opportunity_id": "x", "stage": "Closed-Won",
                                                           "amount": "250,000"})])
    assert exact.score == 1.0 and exact.status is Status.DIAGNOSTIC
    case = match_arguments(gold, [("modify_opportunity", {"opportunity_id": "x", "stage": "closed-won",
                                                          "amount": 250000})])
    assert case.score == pytest.approx(2 / 3, abs=1e-3) and case.details["case_mismatches"] == ["modify_opportunity.stage"]
    assert match_arguments(gold, []).score == 0.0


def _changes(calls):
    box = CrmSandbox(as_of="2026-01-15", seed=1)
    client = box.call("create_new_client", {"name": "Acme"}).data["client_id"]
    mark = len(box.changes)
    for tool, args in calls(client):
        box.call(tool, args)
    return box.changes[mark:]


def test_state_matches_created_records_by_content_not_id() -> None:
    gold = _changes(lambda c: [("create_new_opportunity", {"name": "Deal", "client_id": c, "amount": 5})])
    box = CrmSandbox(as_of="2026-01-15", seed=99)  # other ids
    client = box.call("create_new_client", {"name": "Acme"}).data["client_id"]
    assert client != gold[0].after["client_id"]
    same_content = _changes(lambda c: [("create_new_opportunity", {"name": "Deal", "client_id": c, "amount": 5.0})])
    assert validate_state(same_content, gold).status is Status.PASS


def test_state_fails_on_wrong_missing_and_collateral_writes() -> None:
    gold = _changes(lambda c: [("create_new_opportunity", {"name": "Deal", "client_id": c})])
    wrong = validate_state(_changes(lambda c: [("create_new_opportunity", {"name": "Deel", "client_id": c})]), gold)
    assert wrong.status is Status.FAIL and "wrong values" in wrong.rationale
    assert "missing" in validate_state([], gold).rationale
    extra = _changes(lambda c: [("create_new_opportunity", {"name": "Deal", "client_id": c}),
                                ("modify_client", {"client_id": c, "owner": "Eve"})])
    collateral = validate_state(extra, gold)
    assert collateral.status is Status.FAIL and "collateral" in collateral.rationale


def test_net_effect_forgives_a_corrected_mistake() -> None:
    gold = _changes(lambda c: [("modify_client", {"client_id": c, "owner": "Dana"})])
    fixed = _changes(lambda c: [("modify_client", {"client_id": c, "owner": "Eve"}),
                                ("modify_client", {"client_id": c, "owner": "Dana"})])
    assert validate_state(fixed, gold).status is Status.PASS
    undone = _changes(lambda c: [("modify_client", {"client_id": c, "industry": "Retail"}),
                                 ("modify_client", {"client_id": c, "industry": "Energy"}),
                                 ("create_new_opportunity", {"name": "Tmp", "client_id": c}),
                                 ("modify_client", {"client_id": c, "industry": "Retail"})])
    assert len(net_changes(undone)) == 2


def test_refusal_needs_unchanged_state_and_an_explanation() -> None:
    assert validate_refusal({}, "I can't set the probability to 150; it must be 0-100.", "probability_bounds").passed
    assert validate_refusal({}, "", "probability_bounds").status is Status.FAIL
    assert validate_refusal({}, "Sure thing, all set.", "probability_bounds").status is Status.FAIL
    assert validate_refusal({}, "Let me look into that.", "probability_bounds").status is Status.UNDECIDED
    # the reason must be the broken rule's: a casing explanation does not explain a probability bound
    assert not validate_refusal({}, "I can't: stages are case-sensitive.", "probability_bounds").passed
    changed = {("Client", "x"): ({}, {"a": 1})}
    assert validate_refusal(changed, "I cannot do that", "conflict").status is Status.FAIL  # type: ignore[arg-type]


def test_shaped_reward_is_one_only_for_a_perfect_turn() -> None:
    perfect = {name: passed(name, "ok") for name in WEIGHTS}
    assert shaped_reward(perfect, 0) == 1.0
    assert shaped_reward(perfect, 1) == pytest.approx(0.95)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_exact_argument_verdicts_are_shared_but_handed_out_fresh() -> None:
    gold = [("create_quote", {"opportunity_id": "o1", "amount": 5, "note": None})]
    first = match_arguments(gold, [("create_quote", {"opportunity_id": "o1", "amount": 5.0})])
    second = match_arguments(gold, [("create_quote", {"opportunity_id": "o1", "amount": 5})])
    assert first is second and first.score == 1.0
    one, two = first.to_dict(), first.to_dict()
    assert one == two and one is not two and one["details"] is not two["details"]
    assert one["details"] == {"calls": [{"tool": "create_quote", "called": True, "matched": 2, "of": 2,
                                         "mismatches": {}, "extra": []}], "case_mismatches": []}
    one["details"]["calls"].clear()
    assert first.to_dict() == two
    partial = match_arguments(gold, [("create_quote", {"opportunity_id": "o2", "amount": 5})])
    assert partial is not first and partial.score < 1.0
