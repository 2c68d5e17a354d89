"""``CrmTextSession``: the oracle scores 1.0 on eval-400 and golden through it, the scripted agent's turn
rewards equal the env's, OpenAI tool-call shapes are understood, long results are cut with a marker,
malformed outputs never raise, and ``close`` releases the PostgreSQL connection."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_env.agents.replay import ReplayAgent
from crm_env.agents.scripted import ScriptedAgent
from crm_env.backends.sql_engine import client_connections
from crm_env.datasets import load
from crm_env.envs.env import CrmEnv
from crm_env.integrations.text import TRUNCATION_MARKER, CrmTextSession, to_action
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")


def direct_turn_rewards(env: CrmEnv, agent: Any, conversation_id: str, seed: int) -> list[float]:
    """The turn rewards of one episode played on ``env`` directly."""
    obs, _ = env.reset(seed=seed, options={"conversation_id": conversation_id})
    agent.reset(conversation_id)
    rewards, done = [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs))
        done = terminated or truncated
        if "reward_breakdown" in info:
            rewards.append(float(reward))
    return rewards


def _play(session: CrmTextSession, agent: Any, conversation_id: str, seed: int = 0) -> list[float]:
    session.start(conversation_id, seed=seed)
    agent.reset(conversation_id)
    while not session.done:
        session.step(agent.act(session.observation))
    return session.turn_rewards


@pytest.mark.parametrize(("dataset", "split"), [("arc-crm-1200", "eval-400"), ("golden", None)])
def test_the_oracle_scores_1_through_the_session(dataset: str, split: str | None) -> None:
    conversations = load(dataset, split=split)
    session = CrmTextSession(dataset=conversations, split=None)
    agent = ReplayAgent(conversations)
    for conv in conversations:
        rewards = _play(session, agent, conv.conversation_id)
        assert len(rewards) == len(conv.turns) and session.reward("strict") == 1.0, conv.conversation_id
        assert session.reward("mean_turn") == 1.0
    session.close()


def test_the_scripted_agents_turn_rewards_equal_the_envs() -> None:
    conversations = load("arc-crm-1200", split="eval-400")[:60]
    session = CrmTextSession(dataset=conversations, split=None, reward_mode="shaped")
    env = CrmEnv(dataset=conversations, split=None, state_view="counts", reward_mode="shaped")
    strict = []
    for i, conv in enumerate(conversations):
        through_session = _play(session, ScriptedAgent(conversations, seed=i), conv.conversation_id, seed=i)
        direct = direct_turn_rewards(env, ScriptedAgent(conversations, seed=i), conv.conversation_id, seed=i)
        assert through_session == direct, conv.conversation_id
        strict.append(session.reward("strict"))
    assert 0 < sum(strict) < len(strict)  # both kinds of episode were compared
    session.close()
    env.close()


def test_openai_tool_calls_and_fenced_json_are_understood() -> None:
    neutral = {"tool": "client_search", "arguments": {"name": "acme"}}
    shapes = [
        {"type": "function", "function": {"name": "client_search", "arguments": '{"name": "acme"}'}},
        {"function": {"name": "client_search", "arguments": {"name": "acme"}}},
        [{"name": "client_search", "arguments": '{"name": "acme"}'}],
        '```json\n{"tool": "client_search", "arguments": {"name": "acme"}}\n```',
        json.dumps({"id": "call_1", "type": "function", "function": {"name": "client_search",
                                                                    "arguments": '{"name": "acme"}'}}),
    ]
    for shape in shapes:
        assert to_action(shape) == neutral, shape
    assert to_action('{"respond": "done"}') == {"respond": "done"}
    assert to_action("I will look it up") == "I will look it up"  # left for the env to report


def test_a_tool_call_answers_with_its_result_and_a_reply_with_the_next_message() -> None:
    conversations = load("arc-crm-1200", split="eval-400")
    conv = next(c for c in conversations if len(c.turns) >= 2)
    session = CrmTextSession(dataset=[conv], split=None, max_result_chars=40)
    first = session.start(conv.conversation_id)
    assert first == conv.turns[0].utterance or "{{" in conv.turns[0].utterance
    step = session.step({"type": "function", "function": {"name": "opportunity_search", "arguments": "{}"}})
    assert step.role == "tool" and step.reward is None and not step.done
    full = step.observation["last_result"]
    assert len(full) > 40 and step.text == full[:40] + TRUNCATION_MARKER.format(left=len(full) - 40)
    step = session.step('{"respond": "Done."}')
    assert step.role == "user" and step.reward is not None and step.breakdown is not None
    assert step.text == step.observation["user_message"] and json.loads(step.observation["crm_state"])
    session.close()


OUTPUTS = st.one_of(
    st.text(max_size=200), st.binary(max_size=50), st.integers(), st.none(),
    st.lists(st.text(max_size=20), max_size=3),
    st.dictionaries(st.sampled_from(["tool", "respond", "name", "arguments", "function", "type", "x"]),
                    st.one_of(st.text(max_size=30), st.integers(), st.none(),
                              st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outputs=st.lists(OUTPUTS, min_size=1, max_size=30))
def test_malformed_outputs_never_raise(outputs: list[Any]) -> None:
    session = CrmTextSession(dataset=load("golden")[:2], split=None, max_tool_calls=3)
    session.start(seed=1)
    for output in outputs:
        step = session.step(output)
        assert isinstance(step.text, str) and step.role in ("tool", "user", "end")
    session.close()


@pytest.mark.postgres
def test_close_releases_the_postgres_connection(pg_url: str) -> None:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        before = client_connections(conn)
        session = CrmTextSession(dataset=load("golden")[:2], split=None, backend=pg_url)
        session.start(seed=0)
        assert client_connections(conn) > before
        session.close()
        assert client_connections(conn) == before
    engine.dispose()
