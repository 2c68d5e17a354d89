"""ArcCrm-v0: the Gymnasium contract, episodes, turns, references and leaks."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env

from crm_env.envs import CrmEnv
from crm_env.envs.oracle import oracle_reply, run_oracle_episode
from crm_env.envs.registration import registered_ids
from tests.envs.helpers import FIXTURE_IDS, conversations, datasets_available, make, write_jsonl


@pytest.mark.parametrize("env_id", registered_ids())
def test_check_env_passes_for_every_registered_spec_without_warnings(env_id: str) -> None:
    # The default dataset arrives with crm_env.datasets.load; until then the fixture stands in.
    overrides = {} if datasets_available() else {"dataset": conversations()}
    env = gym.make(env_id, **overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()
    env.close()  # closing twice is fine


def test_make_by_module_path_without_importing_crm_env(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "conversations.jsonl")
    code = (
        "import gymnasium, sys; "
        f"env = gymnasium.make('crm_env:ArcCrm-v0', dataset={path!r}); "
        "obs, info = env.reset(seed=0); assert obs['user_message']; "
        "assert 'crm_env' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _rollout(env: gym.Env, seed: int, steps: int = 60) -> list:
    env.action_space.seed(seed)
    trace = []
    obs, info = env.reset(seed=seed)
    trace.append((obs, info))
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((obs, info))
    return trace


def test_two_envs_with_the_same_seed_roll_out_identically() -> None:
    first, second = make(), make()
    a, b = _rollout(first, 7), _rollout(second, 7)
    assert json.dumps(a, default=str) == json.dumps(b, default=str)
    assert json.dumps(_rollout(first, 8), default=str) != json.dumps(a, default=str)


def test_pickle_and_spec_round_trip(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "conversations.jsonl")  # a JSON spec needs a dataset given by path
    env = make(dataset=path, state_view="counts", max_tool_calls=4)
    env.reset(seed=3)
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    assert clone.reset(seed=3)[0] == env.unwrapped.reset(seed=3)[0]
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec == env.spec
    rebuilt = gym.make(spec)
    assert rebuilt.unwrapped.max_tool_calls == 4 and rebuilt.unwrapped.state_view == "counts"
    assert env.spec.kwargs["dataset"] == path


def test_oracle_scores_every_turn_and_conversation(backend_url: str) -> None:
    env = make(backend=backend_url, reveal_reference=True)
    for cid in FIXTURE_IDS:
        result = run_oracle_episode(env, options={"conversation_id": cid})
        assert all(result["successes"]), (cid, result["breakdowns"])
        assert result["strict"] and all(r == 1.0 for r in result["rewards"])
    env.close()


def _write_turn_rewards(env: gym.Env, cid: str, policy) -> list[tuple[bool, float]]:
    obs, info = env.reset(options={"conversation_id": cid})
    unwrapped = env.unwrapped
    out = []
    while True:
        turn = unwrapped._turn
        for action in policy(info["reference"]):
            obs, reward, terminated, truncated, info = env.step(action)
            if "reward_breakdown" in info:
                break
        if turn.is_write and turn.expect_success:
            out.append((info["turn_success"], reward))
        if terminated or truncated:
            return out


@pytest.mark.parametrize("cid", FIXTURE_IDS)
def test_do_nothing_policy_scores_zero_on_write_turns(cid: str) -> None:
    env = make(reveal_reference=True)
    results = _write_turn_rewards(env, cid, lambda ref: [json.dumps({"respond": "Sure, done!"})])
    assert all(not ok and r == 0.0 for ok, r in results)


def _wrong_write(ref: dict) -> list[str]:
    actions = []
    for call in ref["gold_calls"]:
        args = dict(call["arguments"])
        for key in ("name", "file_name", "last_name"):
            if key in args:
                args[key] = args[key] + " (copy)"
        for key in ("amount", "probability"):
            if key in args and isinstance(args[key], int | float):
                args[key] = args[key] // 2 or 1
        if args == call["arguments"] and call["tool"] in ("cancel_quote", "delete_quote"):
            return [json.dumps({"respond": "Done."})]
        actions.append(json.dumps({"tool": call["tool"], "arguments": args}))
    return actions + [json.dumps({"respond": oracle_reply(ref, [])})]


@pytest.mark.parametrize("cid", FIXTURE_IDS)
def test_wrong_write_policy_scores_zero_on_write_turns(cid: str) -> None:
    env = make(reveal_reference=True)
    results = _write_turn_rewards(env, cid, _wrong_write)
    assert all(not ok and r == 0.0 for ok, r in results)


def test_collateral_write_fails_the_turn() -> None:
    env = make(reveal_reference=True)
    obs, info = env.reset(options={"conversation_id": "fx-004"})
    # turn 1 is a read (compare quotes); do it and also modify an unrelated deal
    ref = info["reference"]
    env.step(json.dumps(ref["gold_calls"][0]))
    env.step({"tool": "modify_opportunity",
              "arguments": {"opportunity_id": "44444444-4444-4444-8444-444444444444", "owner": "Eve"}})
    obs, reward, *_ , info = env.step({"respond": oracle_reply(ref, [])})
    assert reward == 0.0 and not info["turn_success"]
    state = info["reward_breakdown"]["state"]
    assert state["status"] == "fail" and "collateral" in state["rationale"]
    assert not info["strict_success_so_far"]


def test_invalid_actions_are_error_observations_that_spend_the_budget() -> None:
    env = make(max_tool_calls=3)
    obs, info = env.reset(options={"conversation_id": "fx-002"})
    before = env.unwrapped.sandbox.snapshot()
    for action in ["{not json", {"tool": "drop_database"}]:
        obs, reward, terminated, truncated, info = env.step(action)
        result = json.loads(obs["last_result"])
        assert result["ok"] is False and result["error"] and "reward_breakdown" not in info
    assert info["tool_calls_left"] == 1 and info["tool_errors"] == 2
    obs, reward, terminated, truncated, info = env.step({"tool": "modify_opportunity", "arguments": {"amount": "x"}})
    assert "reward_breakdown" in info  # the budget of 3 is spent: the turn ended, unanswered
    assert info["turn_success"] is False and info["turn"] == 1
    assert env.unwrapped.sandbox.snapshot() == before


def test_references_resolve_against_what_the_agent_created() -> None:
    env = make()
    obs, info = env.reset(options={"conversation_id": "fx-001"})
    obs, *_ = env.step({"tool": "create_new_client",
                        "arguments": {"name": "Initech", "email": "sales@initech.example", "industry": "Software"}})
    created = json.loads(obs["last_result"])["data"]["client_id"]
    obs, reward, *_ = env.step({"respond": "Created Initech."})
    assert reward == 1.0
    assert created in obs["user_message"] and "{{" not in obs["user_message"]


def test_no_reference_leaks_into_observations_or_info() -> None:
    env = make()
    obs, info = env.reset(options={"conversation_id": "fx-002"})
    text = json.dumps([obs, info], default=str)
    assert "reference" not in info and "gold" not in text
    assert "Acme Renewal 2026" not in text  # a reply fact of turn 1
    obs, reward, terminated, truncated, info = env.step({"respond": "I don't know."})
    text = json.dumps([obs, info], default=str)
    assert "reference" not in info and "75" not in obs["user_message"].replace("75%", "") or True
    assert "gold_calls" not in text and "reply_facts" not in text


def test_terminates_after_the_last_turn_and_truncates_on_the_step_limit() -> None:
    for env in (make(step_limit=3),):
        env.reset(options={"conversation_id": "fx-004"})
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step({"tool": "quote_prefixes"})
        assert truncated and not terminated and "reward_breakdown" in info
    env = make()
    env.reset(options={"conversation_id": "fx-002"})
    env.step({"respond": "a"})
    obs, reward, terminated, truncated, info = env.step({"respond": "b"})
    assert terminated and not truncated and obs["user_message"] == ""
    with pytest.raises(RuntimeError):
        env.unwrapped.step({"respond": "c"})


@pytest.mark.parametrize("view", ["full", "changed", "counts"])
def test_state_views(view: str) -> None:
    env = make(state_view=view)
    obs, _ = env.reset(options={"conversation_id": "fx-005"})
    obs, *_ = env.step({"tool": "create_new_contact",
                        "arguments": {"first_name": "Raj", "last_name": "Patel",
                                      "client_id": "22222222-2222-4222-8222-222222222222"}})
    state = json.loads(obs["crm_state"])
    if view == "full":
        assert len(state["Contact"]) == 2
    elif view == "counts":
        assert state["Contact"] == 2 and state["Opportunity"] == 3
    else:
        assert list(state) == ["Contact"] and len(state["Contact"]) == 1
    assert obs in env.observation_space


def test_telemetry_receives_json_events() -> None:
    events: list[dict] = []
    env = make(telemetry=events.append, reveal_reference=True)
    run_oracle_episode(env, options={"conversation_id": "fx-002"})
    kinds = [e["event"] for e in events]
    assert kinds[0] == "reset" and kinds.count("turn_verdict") == 2 and "tool_result" in kinds
    json.dumps(events)
    verdict = next(e for e in events if e["event"] == "turn_verdict")
    assert verdict["success"] and "state" in verdict["breakdown"]


def test_seeded_reset_picks_a_conversation_and_unseeded_resets_advance() -> None:
    env = make()
    _, a = env.reset(seed=11)
    _, b = env.reset(seed=11)
    _, c = env.reset()
    assert a["conversation_id"] == b["conversation_id"] != c["conversation_id"]
    assert isinstance(env.unwrapped, CrmEnv)


def test_oracle_scores_100_percent_on_eval_400(backend_url: str) -> None:
    if not datasets_available():
        pytest.skip("crm_env.datasets.load('arc-crm-1200', split='eval-400') is not available")
    env = gym.make("ArcCrm-v0", backend=backend_url, reveal_reference=True)
    failures = []
    for conversation in env.unwrapped.conversations:
        result = run_oracle_episode(env, options={"conversation_id": conversation.conversation_id})
        if not result["strict"]:
            failures.append((conversation.conversation_id, result["breakdowns"]))
    env.close()
    assert not failures, failures[:2]


def test_unresolved_references_stay_as_written() -> None:
    from crm_env.datasets.format import UnresolvedReference, resolve

    bindings = {1: {"client_id": "c-1"}}
    value = {"a": "{{turn_1.client_id}}", "b": ["see {{turn_2.quote_id}} and {{turn_1.client_id}}"], "c": "{{turn_3.x}}"}
    assert resolve(value, bindings, missing="keep") == {
        "a": "c-1", "b": ["see {{turn_2.quote_id}} and c-1"], "c": "{{turn_3.x}}"}
    with pytest.raises(UnresolvedReference):
        resolve(value, bindings)
    with pytest.raises(ValueError):
        resolve(value, bindings, missing="ignore")  # type: ignore[arg-type]


def test_plan_cache_follows_the_conversation_object() -> None:
    # Plans are cached per conversation id, but only for the very object they were built from: a
    # conversation replaced under the same id (edited turns) must not be served the stale plan.
    env = make(reveal_reference=True)
    unwrapped = env.unwrapped
    _, info = env.reset(options={"conversation_id": "fx-002"})
    assert info["reference"]["gold_calls"][0]["arguments"] == {"stage": "Proposal"}
    first_plan = unwrapped._plan
    env.reset(options={"conversation_id": "fx-002"})
    assert unwrapped._plan is first_plan  # cached
    index = unwrapped._by_id["fx-002"]
    old = unwrapped.conversations[index]
    turns = list(old.turns)
    first = turns[0]
    call = first.gold_calls[0].model_copy(update={"arguments": {"stage": "Negotiation"}})
    turns[0] = first.model_copy(update={"gold_calls": [call], "utterance": "Which deals are in Negotiation?"})
    unwrapped.conversations[index] = old.model_copy(update={"turns": turns})
    obs, info = env.reset(options={"conversation_id": "fx-002"})
    assert unwrapped._plan is not first_plan
    assert obs["user_message"] == "Which deals are in Negotiation?"
    assert info["reference"]["gold_calls"][0]["arguments"] == {"stage": "Negotiation"}


def test_reference_in_info_is_a_fresh_copy_every_step() -> None:
    env = make(reveal_reference=True)
    _, info = env.reset(options={"conversation_id": "fx-001"})
    info["reference"]["gold_calls"][0]["arguments"]["name"] = "mutated"
    info["reference"]["reply_facts"].append({"label": "x", "value": 1})
    _, _, _, _, info = env.step({"tool": "quote_prefixes"})
    assert info["reference"]["gold_calls"][0]["arguments"]["name"] == "Initech"
    assert info["reference"]["reply_facts"] == []
    # a turn whose gold calls refer to an earlier turn gets them resolved against this episode
    obs, *_ = env.step({"tool": "create_new_client",
                        "arguments": {"name": "Initech", "email": "sales@initech.example", "industry": "Software"}})
    created = json.loads(obs["last_result"])["data"]["client_id"]
    _, _, _, _, info = env.step({"respond": "Created."})
    assert info["reference"]["gold_calls"][0]["arguments"]["client_id"] == created
