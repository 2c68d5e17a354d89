"""The TRL adapter (``CrmToolEnv``): TRL 1.16's tool discovery (its member probe, then
``transformers.utils.get_json_schema`` on every method) accepts it with one tool per catalog entry plus
``respond``; the factory pickles; the oracle scores 1.0 on eval-400 and golden through it; the scripted
agent's turn rewards equal the env's; a GRPO group sees the same ids; malformed calls never raise."""

from __future__ import annotations

import inspect
import json
import pickle
import subprocess
import sys
from typing import Any

import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.agents.scripted import ScriptedAgent
from crm_env.datasets import load
from crm_env.envs.env import CrmEnv
from crm_env.integrations.trl import CONVERSATION_OVER, CrmToolEnv, make_dataset, make_factory
from crm_env.tools import catalog
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available
from tests.integrations.test_text_session import direct_turn_rewards

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")


def _tools(instance: Any) -> dict[str, Any]:
    """The environment's tools as GRPOTrainer (TRL 1.16) finds them: functions on the class, not private,
    other than ``reset`` and ``get_reward``."""
    members = dict(inspect.getmembers(type(instance), predicate=inspect.isfunction))
    assert "reset" in members and "get_reward" in members
    return {name: getattr(instance, name) for name in members
            if name not in ("reset", "get_reward") and not name.startswith("_")}


def _play(env: CrmToolEnv, agent: Any, row: dict[str, Any]) -> None:
    """Drive the adapter as a model would: each action becomes a call of the tool method it names."""
    env.reset(**row)
    agent.reset(row["conversation_id"])
    while not env._session.done:
        action = json.loads(agent.act(env._session.observation))
        if "respond" in action:
            env.respond(action["respond"])
        else:
            getattr(env, action["tool"])(**action["arguments"])


def test_trls_tool_discovery_finds_every_catalog_tool_and_respond() -> None:
    transformers_utils = require_extra("transformers.utils", "test")
    env = make_factory(split="eval-400")()
    tools = _tools(env)
    assert set(tools) == {spec.name for spec in catalog()} | {"respond"}
    for spec in catalog():
        schema = transformers_utils.get_json_schema(tools[spec.name])["function"]
        expected = spec.parameters["properties"]
        assert schema["name"] == spec.name and schema["description"] == spec.description.strip()
        assert set(schema["parameters"]["properties"]) == set(expected)
        assert sorted(schema["parameters"].get("required", [])) == sorted(spec.required)
        for name, prop in expected.items():
            if "enum" in prop:
                assert schema["parameters"]["properties"][name]["enum"] == prop["enum"], (spec.name, name)
    respond = transformers_utils.get_json_schema(tools["respond"])["function"]
    assert respond["parameters"]["required"] == ["message"]


def test_the_factory_pickles_and_importing_the_adapter_loads_no_trainer() -> None:
    factory = pickle.loads(pickle.dumps(make_factory(split="eval-400", reward="mean_turn")))
    env = factory()
    assert isinstance(env, CrmToolEnv) and env._reward == "mean_turn"
    probe = ("import sys, crm_env.integrations.trl; "
             "print(sorted(m for m in ('trl', 'torch', 'transformers') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


@pytest.mark.parametrize(("dataset", "split"), [("arc-crm-1200", "eval-400"), ("golden", None)])
def test_the_oracle_scores_1_through_the_adapter(dataset: str, split: str | None) -> None:
    conversations = load(dataset, split=split)
    env = CrmToolEnv(conversations, None)
    agent = ReplayAgent(conversations)
    for row in make_dataset(conversations, None):
        _play(env, agent, row)
        assert env.get_reward() == 1.0, row["conversation_id"]
    env._close()


def test_the_scripted_agents_turn_rewards_equal_the_envs() -> None:
    conversations = load("arc-crm-1200", split="eval-400")[:40]
    adapter = CrmToolEnv(conversations, None, reward_mode="shaped", reward="mean_turn")
    env = CrmEnv(dataset=conversations, split=None, state_view="counts", reward_mode="shaped")
    strict = []
    for row in make_dataset(conversations, None, seed=7):
        _play(adapter, ScriptedAgent(conversations, seed=row["seed"]), row)
        direct = direct_turn_rewards(env, ScriptedAgent(conversations, seed=row["seed"]), row["conversation_id"],
                                     row["seed"])
        assert adapter._session.turn_rewards == direct, row["conversation_id"]
        assert adapter.get_reward() == pytest.approx(sum(direct) / len(direct))
        strict.append(adapter._session.reward("strict"))
    assert 0 < sum(strict) < len(strict)


def test_a_grpo_group_sees_the_same_ids_and_rows_carry_the_prompt() -> None:
    rows = make_dataset(split="eval-400", limit=3, seed=100)
    assert [r["seed"] for r in rows] == [100, 101, 102]
    assert rows[0]["prompt"][0]["role"] == "system" and "CRM" in rows[0]["prompt"][0]["content"]
    first = load("arc-crm-1200", split="eval-400")[0]
    assert rows[0]["conversation_id"] == first.conversation_id
    assert rows[0]["prompt"][1] == {"role": "user", "content": first.turns[0].utterance}
    results = []
    for _ in range(2):  # two completions of one group
        env = CrmToolEnv(split="eval-400")
        assert env.reset(**rows[0]) is None
        results.append(env.create_new_client(name="Group Test Co"))
    assert results[0] == results[1] and json.loads(results[0])["ok"]


def test_malformed_calls_never_raise() -> None:
    conv = next(c for c in load("arc-crm-1200", split="eval-400") if len(c.turns) >= 2)
    env = CrmToolEnv([conv], None, max_tool_calls=3)
    env.reset(**make_dataset([conv], None)[0])
    answers = [env.opportunity_details(opportunity_id="not-a-uuid"),
               env.create_new_client(name=None),
               env.add_note(entity_type="Planet", entity_id=7, content=["x"], surprise=True)]
    assert all(isinstance(a, str) for a in answers)
    assert '"ok": false' in answers[0] and answers[-1].startswith("(Your tool-call budget")
    while not env._session.done:
        env.respond("done")
    assert env.opportunity_search() == CONVERSATION_OVER and env.respond("again") == CONVERSATION_OVER
    assert env.get_reward() == 0.0
