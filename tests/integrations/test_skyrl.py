"""The SkyRL adapter through the real ``skyrl_gym.make``: the oracle scores 1.0 on eval-400 and golden, the
scripted agent's turn rewards equal the env's, malformed outputs never raise, ``close`` releases the
PostgreSQL connection."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from crm_env.agents.replay import ReplayAgent
from crm_env.agents.scripted import ScriptedAgent
from crm_env.backends.sql_engine import client_connections
from crm_env.datasets import load
from crm_env.envs.env import CrmEnv
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available
from tests.integrations.test_text_session import direct_turn_rewards

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")


@pytest.fixture(scope="module")
def skyrl_gym() -> Any:
    gym = require_extra("skyrl_gym", "skyrl")
    from crm_env.integrations.skyrl import ENV_CLASS, register

    register()
    register()  # twice is fine
    assert ENV_CLASS in gym.registry
    return gym


def _episode(skyrl_gym: Any, row: dict[str, Any], agent: Any, **config: Any) -> tuple[Any, list[float]]:
    """Play one sample as SkyRL does (make, init, step until done) with ``agent``; returns the env and rewards."""
    env = skyrl_gym.make(row["env_class"], env_config=config, extras=row)
    prompt, meta = env.init(row["prompt"])
    assert prompt == row["prompt"] and meta["conversation_id"] == row["conversation_id"]
    agent.reset(row["conversation_id"])
    rewards, done = [], False
    while not done:
        out = env.step(agent.act(env.session.observation))
        done = out["done"]
        assert out["observations"] == [] if done else out["observations"][0]["role"] == "user"
        if out["metadata"]["turn_ended"]:
            rewards.append(out["reward"])
    return env, rewards


@pytest.mark.parametrize(("dataset", "split"), [("arc-crm-1200", "eval-400"), ("golden", None)])
def test_the_oracle_scores_1_through_skyrl_gym_make(skyrl_gym: Any, dataset: str, split: str | None) -> None:
    from crm_env.integrations.skyrl import make_dataset

    conversations = load(dataset, split=split)
    agent = ReplayAgent(conversations)
    for row in make_dataset(conversations, None):
        env, rewards = _episode(skyrl_gym, row, agent, dataset=conversations, split=None)
        assert rewards == [1.0] * len(rewards) and env.get_metrics()["strict_success"] == 1.0
        env.close()


def test_the_scripted_agents_turn_rewards_equal_the_envs(skyrl_gym: Any) -> None:
    from crm_env.integrations.skyrl import make_dataset

    conversations = load("arc-crm-1200", split="eval-400")[:40]
    direct_env = CrmEnv(dataset=conversations, split=None, state_view="counts", reward_mode="shaped")
    strict = []
    for row in make_dataset(conversations, None, seed=3):
        env, rewards = _episode(skyrl_gym, row, ScriptedAgent(conversations, seed=row["seed"]),
                                dataset=conversations, split=None, reward_mode="shaped")
        direct = direct_turn_rewards(direct_env, ScriptedAgent(conversations, seed=row["seed"]),
                                     row["conversation_id"], row["seed"])
        assert rewards == direct, row["conversation_id"]
        strict.append(env.get_metrics()["strict_success"])
        env.close()
    assert 0 < sum(strict) < len(strict)


def test_strict_reward_comes_once_at_the_end_and_rows_spell_out_the_tools(skyrl_gym: Any) -> None:
    from crm_env.integrations.skyrl import make_dataset

    conversations = load("golden")[:3]
    row = make_dataset(conversations, None)[0]
    assert '{"tool": "<name>", "arguments": {...}}' in row["prompt"][0]["content"]  # no native tools in SkyRL
    env = skyrl_gym.make(row["env_class"], env_config={"dataset": conversations, "split": None, "reward": "strict"},
                         extras=row)
    env.init(row["prompt"])
    agent = ReplayAgent(conversations)
    agent.reset(row["conversation_id"])
    rewards = []
    while True:
        out = env.step(agent.act(env.session.observation))
        rewards.append(out["reward"])
        if out["done"]:
            break
    assert rewards[-1] == 1.0 and all(r == 0.0 for r in rewards[:-1])
    with pytest.raises(ValueError, match="'turn' or 'strict'"):
        skyrl_gym.make(row["env_class"], env_config={"reward": "sometimes"}, extras=row)


def test_malformed_outputs_never_raise(skyrl_gym: Any) -> None:
    from crm_env.integrations.skyrl import make_dataset

    conversations = load("golden")[:1]
    row = make_dataset(conversations, None)[0]
    env = skyrl_gym.make(row["env_class"], env_config={"dataset": conversations, "split": None, "max_tool_calls": 2},
                         extras=row)
    env.init(row["prompt"])
    outputs = ["", "not json", "{", '{"tool": 5}', "[1, 2]", json.dumps({"function": {"name": "nope"}}), "\x00"]
    results = [env.step(output) for output in outputs]
    assert all(isinstance(r["reward"], float) for r in results) and results[-1]["done"]
    assert results[0]["observations"][0]["content"].startswith("[tool result] ")


@pytest.mark.postgres
def test_close_releases_the_postgres_connection(skyrl_gym: Any, pg_url: str) -> None:
    from crm_env.integrations.skyrl import make_dataset

    conversations = load("golden")[:1]
    row = make_dataset(conversations, None)[0]
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        before = client_connections(conn)
        env = skyrl_gym.make(row["env_class"], env_config={"dataset": conversations, "split": None,
                                                           "backend": pg_url}, extras=row)
        env.init(row["prompt"])
        assert client_connections(conn) > before
        env.close()
        assert client_connections(conn) == before
    engine.dispose()
