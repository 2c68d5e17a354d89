"""No reference data reaches any prompt.

Every request body the fake providers receive is searched for the gold reply facts and the gold
argument values that the agent was never shown (not in a user message, a tool result, the system prompt
or the tool specs), and for the reference's field names. With a model that never calls a tool the agent
sees only the user's words, so every id the user did not say and every fact of every reply is unknown to
it; with a correct model, the model's own (assistant) messages are set aside and the rest is searched.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_env.agents import build_agent
from crm_env.agents.openai_agent import OpenAIAgent
from crm_env.agents.prompt import system_prompt
from crm_env.agents.replay import ReplayAgent
from crm_env.providers.retry import RetryPolicy
from crm_env.tools import anthropic_tools, openai_tools
from tests.fakes.providers import FakeProvider

REFERENCE_KEYS = ("reply_facts", "gold_calls", "expect_success", "expected_error", "failure_category")
FAST = RetryPolicy(attempts=2, base_delay=0.01)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")


def _values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)]


def _play(env, agent, fake, conversation) -> str:
    """Play one episode; returns the text of everything the env showed the agent."""
    fake.start_episode(conversation.conversation_id)
    agent.reset(conversation.conversation_id)
    obs, _ = env.reset(options={"conversation_id": conversation.conversation_id})
    shown = [obs["user_message"]]
    while True:
        obs, _, terminated, truncated, _ = env.step(agent.act(obs))
        shown += [obs["user_message"], obs["last_result"]]
        if terminated or truncated:
            return "\n".join(shown)


def _secrets(conversation, shown: str) -> set[str]:
    """Gold values (arguments and reply facts) the agent was never shown."""
    public = "\n".join([shown, system_prompt(native_tools=True), system_prompt(native_tools=False),
                        json.dumps(openai_tools()), json.dumps(anthropic_tools())]).casefold()
    found = set()
    for turn in conversation.turns:
        values = [v for call in turn.gold_calls for v in _values(call.arguments)]
        values += [str(f.value) for f in turn.reply_facts]
        for value in values:
            if len(value) >= 5 and "{{" not in value and value.casefold() not in public:
                found.add(value)
    return found


def _agent_text(body: dict) -> str:
    """A request body without the model's own messages (what the agent itself put in the prompt)."""
    trimmed = {**body, "messages": [m for m in body["messages"] if m.get("role") != "assistant"]}
    return json.dumps(trimmed, ensure_ascii=False)


AGENTS = [
    pytest.param("anthropic", True, lambda url: build_agent("claude", base_url=url, retry=FAST), id="claude"),
    pytest.param("openai", True, lambda url: build_agent("openai", base_url=url, retry=FAST), id="openai"),
    pytest.param("openai", False, lambda url: OpenAIAgent("local", base_url=url, native_tools=False, retry=FAST),
                 id="openai-text-actions"),
]


@pytest.mark.parametrize(("kind", "native", "factory"), AGENTS)
def test_no_reference_data_in_prompts_of_a_model_that_never_calls_tools(kind, native, factory, env, eval400) -> None:
    conversations = eval400[:40]
    with FakeProvider(kind, default="wrong", native_tools=native) as fake:
        agent = factory(fake.url)
        secrets: set[str] = set()
        for conversation in conversations:
            shown = _play(env, agent, fake, conversation)
            secrets |= _secrets(conversation, shown)
        text = "\n".join(json.dumps(body, ensure_ascii=False) for body in fake.requests).casefold()
    assert len(secrets) > 100  # the check has teeth: many ids and facts were never shown
    leaked = sorted(s for s in secrets if s.casefold() in text)
    assert not leaked, leaked[:10]
    assert not [key for key in REFERENCE_KEYS if key in text]


@pytest.mark.parametrize(("kind", "native", "factory"), AGENTS)
def test_no_reference_data_in_prompts_of_a_correct_model(kind, native, factory, env, eval400) -> None:
    conversations = eval400[60:80]
    with FakeProvider(kind, brain=ReplayAgent(eval400), native_tools=native) as fake:
        agent = factory(fake.url)
        secrets: set[str] = set()
        for conversation in conversations:
            shown = _play(env, agent, fake, conversation)
            secrets |= _secrets(conversation, shown)
        text = "\n".join(_agent_text(body) for body in fake.requests).casefold()
    leaked = sorted(s for s in secrets if s.casefold() in text)
    assert not leaked, leaked[:10]
    assert not [key for key in REFERENCE_KEYS if key in text]
