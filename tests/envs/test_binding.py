"""Cross-turn references bind by identity with the gold's target (``crm_env.envs.binding``).

Every test plays through the public API (``gymnasium.make``, ``reset``, ``step`` with JSON actions).
Turns before the one under test are played as the oracle plays them; the turn under test and the one
after are played as an agent would: it remembers the ids its own calls returned.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.datasets import load
from crm_env.datasets.format import Conversation, Turn, references_in, resolve
from crm_env.envs.oracle import oracle_reply
from tests.envs.fixture_conversations import OPP_ACME, OPP_GLOBEX, RECORDS, conversation, turn

# Created record type -> (create tool, id field, delete tool) for the corrections the tests play.
_CREATES = {
    "create_new_opportunity": ("opportunity_id", "delete_opportunity"),
    "create_quote": ("quote_id", "delete_quote"),
}


def _cases() -> dict[str, tuple[Conversation, int]]:
    """Per (create tool, follow-up intent): the first eval-400 conversation whose turn N creates a record
    and whose turn N+1, a write that must succeed, refers to that record (and to nothing else)."""
    found: dict[str, tuple[Conversation, int]] = {}
    for conv in load("arc-crm-1200", split="eval-400"):
        for index, (first, then) in enumerate(zip(conv.turns, conv.turns[1:])):
            tools = [c.tool for c in first.gold_calls]
            if len(tools) != 1 or tools[0] not in _CREATES or not (then.expect_success and then.is_write):
                continue
            refs = references_in([then.utterance, [c.arguments for c in then.gold_calls], [f.value for f in then.reply_facts]])
            if refs and set(refs) == {(first.turn_id, _CREATES[tools[0]][0])}:
                found.setdefault(f"{tools[0]}->{then.intent.value}", (conv, index))
    return found


CASES = _cases()
# One follow-up per kind of write: enough variety without replaying the whole split.
PICKED = sorted(CASES)


@pytest.fixture(params=PICKED)
def case(request: pytest.FixtureRequest) -> tuple[Conversation, int]:
    return CASES[request.param]


def test_the_dataset_has_the_cases() -> None:
    # Guards the parametrisation: the tests below must not silently run on nothing.
    assert any(k.startswith("create_new_opportunity->") for k in CASES) and any(k.startswith("create_quote->") for k in CASES)
    assert len(CASES) >= 5


# ---------------------------------------------------------------------------------------- helpers
def _step(env: gym.Env, action: dict[str, Any]) -> tuple[dict[str, Any], float, dict[str, Any]]:
    obs, reward, _, _, info = env.step(json.dumps(action))
    return obs, reward, info


def _call(env: gym.Env, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool; returns the result (asserting it succeeded)."""
    obs, _, info = _step(env, {"tool": tool, "arguments": arguments})
    result = json.loads(obs["last_result"])
    assert result["ok"], result
    assert "reward_breakdown" not in info
    return result["data"]


def _reply(env: gym.Env, reference: dict[str, Any]) -> tuple[dict[str, Any], bool, dict[str, Any]]:
    obs, reward, info = _step(env, {"respond": oracle_reply(reference, [])})
    assert info["turn_success"] == (reward == 1.0)
    return obs, info["turn_success"], info


def _oracle_turn(env: gym.Env, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    reference = info["reference"]
    errors: list[str] = []
    for call in reference["gold_calls"]:
        obs, _, info = _step(env, call)
        result = json.loads(obs["last_result"])
        if result.get("ok") is False:
            errors.append(result["error"])
        if "reward_breakdown" in info:
            return obs, info
    obs, _, info = _step(env, {"respond": oracle_reply(reference, errors)})
    assert info["turn_success"]
    return obs, info


def _start(conv: Conversation, index: int, **kwargs: Any) -> tuple[gym.Env, dict[str, Any], dict[str, Any]]:
    """An env on ``conv`` with the turns before ``index`` played by the oracle."""
    env = gym.make("ArcCrm-v0", dataset=[conv], reveal_reference=True, **kwargs)
    obs, info = env.reset(options={"conversation_id": conv.conversation_id})
    for _ in range(index):
        obs, info = _oracle_turn(env, info)
    return env, obs, info


def _follow_up(then: Turn, ref_turn: int, field: str, record_id: str) -> list[dict[str, Any]]:
    """Turn N+1's gold calls as an agent plays them: the reference replaced by the id it holds."""
    return [{"tool": c.tool, "arguments": resolve(c.arguments, {ref_turn: {field: record_id}})} for c in then.gold_calls]


def _play_follow_up(env: gym.Env, info: dict[str, Any], calls: list[dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
    reference = info["reference"]
    for call in calls:
        obs, _, info = _step(env, call)
        if "reward_breakdown" in info:
            return info["turn_success"], info
    _, success, info = _reply(env, reference)
    return success, info


def _a_deal(obs: dict[str, Any]) -> dict[str, Any]:
    """Some opportunity of the CRM, from a ``state_view="full"`` observation."""
    return json.loads(obs["crm_state"])["Opportunity"][0]


def _no_op(obs: dict[str, Any], field: str) -> dict[str, Any]:
    """A write that succeeds and changes nothing, on an existing record of the type turn N creates when
    there is one (the old binding took the first write's id: this is the write that redirected it)."""
    state = json.loads(obs["crm_state"])
    if field == "quote_id":
        quote = next((q for q in state["Quote"] if q["status"] != "Canceled"), None)
        if quote is not None:
            return {"tool": "modify_quote", "arguments": {"quote_id": quote["quote_id"], "amount": quote["amount"]}}
    deal = state["Opportunity"][0]
    return {"tool": "modify_opportunity", "arguments": {"opportunity_id": deal["opportunity_id"], "name": deal["name"]}}


def _create(info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Turn N's create call as the env resolved it (earlier turns were the oracle's: nothing to redirect)."""
    call = info["reference"]["gold_calls"][0]
    return call["tool"], call["arguments"]


def _wrong(arguments: dict[str, Any]) -> dict[str, Any]:
    return {**arguments, "amount": arguments.get("amount", 1000) + 1000}


# ---------------------------------------------------------------------------------------- corrections
def test_a_corrected_create_binds_the_record_that_survived(case: tuple[Conversation, int]) -> None:
    conv, index = case
    first, then = conv.turns[index], conv.turns[index + 1]
    field, delete = _CREATES[first.gold_calls[0].tool]
    env, _, info = _start(conv, index)
    reference = info["reference"]
    tool, arguments = _create(info)
    mistaken = _call(env, tool, _wrong(arguments))[field]
    _call(env, delete, {field: mistaken})
    kept = _call(env, tool, arguments)[field]
    obs, success, info = _reply(env, reference)
    assert success, info["reward_breakdown"]  # the correction within the turn passes turn N
    assert mistaken not in obs["user_message"]
    assert kept in json.dumps(info["reference"]["gold_calls"])  # turn N+1's reference names the kept record
    success, info = _play_follow_up(env, info, _follow_up(then, first.turn_id, field, kept))
    assert success, info["reward_breakdown"]


def test_acting_on_the_deleted_record_after_a_correction_fails(case: tuple[Conversation, int]) -> None:
    conv, index = case
    first, then = conv.turns[index], conv.turns[index + 1]
    field, delete = _CREATES[first.gold_calls[0].tool]
    env, _, info = _start(conv, index)
    reference = info["reference"]
    tool, arguments = _create(info)
    mistaken = _call(env, tool, _wrong(arguments))[field]
    _call(env, delete, {field: mistaken})
    _call(env, tool, arguments)
    _, success, info = _reply(env, reference)
    assert success
    success, info = _play_follow_up(env, info, _follow_up(then, first.turn_id, field, mistaken))
    assert not success


@pytest.mark.parametrize("harmless", ["no-op write", "extra read"])
def test_a_harmless_call_before_the_create_redirects_nothing(case: tuple[Conversation, int], harmless: str) -> None:
    conv, index = case
    first, then = conv.turns[index], conv.turns[index + 1]
    field, _ = _CREATES[first.gold_calls[0].tool]
    env, obs, info = _start(conv, index, state_view="full")
    reference = info["reference"]
    tool, arguments = _create(info)
    if harmless == "no-op write":
        after, _, _ = _step(env, _no_op(obs, field))
        assert json.loads(after["last_result"])["ok"]
        assert after["crm_state"] == obs["crm_state"]  # the premise: nothing changed
    else:
        _call(env, "opportunity_details", {"opportunity_id": _a_deal(obs)["opportunity_id"]})
    kept = _call(env, tool, arguments)[field]
    _, success, info = _reply(env, reference)
    assert success, info["reward_breakdown"]
    assert kept in json.dumps(info["reference"]["gold_calls"])
    success, info = _play_follow_up(env, info, _follow_up(then, first.turn_id, field, kept))
    assert success, info["reward_breakdown"]


def test_acting_on_the_record_a_no_op_write_touched_fails() -> None:
    conv, index = CASES[next(k for k in PICKED if k.startswith("create_new_opportunity->"))]
    first, then = conv.turns[index], conv.turns[index + 1]
    env, obs, info = _start(conv, index, state_view="full")
    reference = info["reference"]
    tool, arguments = _create(info)
    other = _a_deal(obs)
    _call(env, "modify_opportunity", {"opportunity_id": other["opportunity_id"], "name": other["name"]})
    _call(env, tool, arguments)
    _, success, info = _reply(env, reference)
    assert success
    success, _ = _play_follow_up(env, info, _follow_up(then, first.turn_id, "opportunity_id", other["opportunity_id"]))
    assert not success


# ---------------------------------------------------------------------------------------- failed turn N
def test_a_wrong_create_binds_the_agents_own_record() -> None:
    conv, index = CASES[next(k for k in PICKED if k.startswith("create_new_opportunity->"))]
    first, then = conv.turns[index], conv.turns[index + 1]
    env, _, info = _start(conv, index)
    reference = info["reference"]
    tool, arguments = _create(info)
    mine = _call(env, tool, _wrong(arguments))["opportunity_id"]
    _, success, info = _reply(env, reference)
    assert not success  # the wrong amount fails turn N ...
    assert mine in json.dumps(info["reference"]["gold_calls"])  # ... and "that deal" is the deal the agent made
    success, info = _play_follow_up(env, info, _follow_up(then, first.turn_id, "opportunity_id", mine))
    assert success, info["reward_breakdown"]


def test_nothing_created_leaves_the_reference_unresolved() -> None:
    conv, index = CASES[next(k for k in PICKED if k.startswith("create_new_opportunity->"))]
    first, then = conv.turns[index], conv.turns[index + 1]
    env, obs, info = _start(conv, index, state_view="full")
    _, success, info = _reply(env, info["reference"])
    assert not success
    placeholder = f"{{{{turn_{first.turn_id}.opportunity_id}}}}"
    assert placeholder in json.dumps(info["reference"]["gold_calls"])
    some_deal = _a_deal(obs)["opportunity_id"]
    success, _ = _play_follow_up(env, info, _follow_up(then, first.turn_id, "opportunity_id", some_deal))
    assert not success


# ---------------------------------------------------------------------------------------- reads and updates
def _fixture(turns: list[dict[str, Any]]) -> Conversation:
    return Conversation.model_validate(conversation("fx-binding", "Opportunity Management", "simple", turns))


def test_a_read_turn_binds_the_gold_reads_record_not_the_agents_first_read() -> None:
    conv = _fixture([
        turn(1, "OPPORTUNITY SEARCH", "Which deals are in Qualification?", [("opportunity_search", {"stage": "Qualification"})],
             facts=[("name", "Globex Pilot")]),
        turn(2, "MODIFY OPPORTUNITY", "Set that deal ({{turn_1.opportunity_id}}) to 45% probability.",
             [("modify_opportunity", {"opportunity_id": "{{turn_1.opportunity_id}}", "probability": 45})]),
    ])
    for target, passes in ((OPP_GLOBEX, True), (OPP_ACME, False)):
        env, _, info = _start(conv, 0)
        reference = info["reference"]
        _call(env, "opportunity_search", {"stage": "Proposal"})  # a look around first: finds Acme Renewal 2026
        _call(env, "opportunity_search", {"stage": "Qualification"})
        obs, _, info = _reply(env, reference)
        assert OPP_GLOBEX in obs["user_message"] and OPP_ACME not in obs["user_message"]
        success, _ = _play_follow_up(env, info, [{"tool": "modify_opportunity",
                                                  "arguments": {"opportunity_id": target, "probability": 45}}])
        assert success is passes


def test_an_update_binds_the_updated_record_with_the_agents_values() -> None:
    conv = _fixture([
        turn(1, "MODIFY OPPORTUNITY", f"Raise the Acme Renewal 2026 deal ({OPP_ACME}) to $260,000.",
             [("modify_opportunity", {"opportunity_id": OPP_ACME, "amount": 260000})]),
        turn(2, "ADD NOTE", "Note on that deal ({{turn_1.opportunity_id}}) that the amount is now {{turn_1.amount}}.",
             [("add_note", {"entity_type": "Opportunity", "entity_id": "{{turn_1.opportunity_id}}",
                            "content": "Amount is now {{turn_1.amount}}."})]),
    ])
    globex = next(r for r in RECORDS["Opportunity"] if r["opportunity_id"] == OPP_GLOBEX)
    env, _, info = _start(conv, 0)
    reference = info["reference"]
    _call(env, "modify_opportunity", {"opportunity_id": OPP_GLOBEX, "name": globex["name"]})  # a no-op first
    _call(env, "modify_opportunity", {"opportunity_id": OPP_ACME, "amount": 265000})  # the agent's own value
    obs, success, info = _reply(env, reference)
    assert not success  # 265,000 is not what was asked
    assert OPP_ACME in obs["user_message"] and OPP_GLOBEX not in obs["user_message"]
    assert "265000" in obs["user_message"]  # the bound fields are what the agent's CRM holds
