"""The Claude and OpenAI agents, with the real SDKs, against fake provider servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import pickle
import time

import pytest

from crm_env.agents import RetryPolicy, build_agent
from crm_env.agents.prompt import system_prompt
from crm_env.agents.replay import ReplayAgent
from crm_env.errors import InfrastructureError
from crm_env.providers.sampling import accepts_temperature
from tests.fakes.episodes import run_episode, run_episode_async
from tests.fakes.providers import FakeProvider

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
SECRET = "sk-test-secret-0123456789"
KINDS = [pytest.param("openai", id="openai"), pytest.param("anthropic", id="claude")]


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


def make_agent(kind: str, fake: FakeProvider, **options):
    options.setdefault("retry", FAST)
    options.setdefault("timeout", 2.0)
    return build_agent("openai" if kind == "openai" else "claude", base_url=fake.url, **options)


def play(env, agent, fake, conversation):
    fake.start_episode(conversation.conversation_id)
    return run_episode(env, agent, conversation.conversation_id)


def user_messages(body: dict, kind: str) -> list:
    return [m for m in body["messages"] if m["role"] == "user"]


@pytest.mark.parametrize("kind", KINDS)
def test_complete_episodes_with_a_correct_model(kind, env, eval400) -> None:
    conversations = [c for c in eval400 if c.complexity == "complex"][:3] + eval400[:3]
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        agent = make_agent(kind, fake, temperature=0.0, max_output_tokens=321)
        results = [play(env, agent, fake, c) for c in conversations]
        assert all(r["strict"] for r in results), [r["breakdowns"] for r in results if not r["strict"]][:1]
        calls = agent.drain_calls()
        assert len(calls) == len(fake.requests) and agent.drain_calls() == []
        assert all(c.model == fake.model and c.attempts == 1 and c.role == "agent" for c in calls)
        assert all(c.input_tokens == 1200 and c.output_tokens == 40 and c.cached_tokens == 1000 for c in calls)
        assert all(c.latency_s >= 0 for c in calls)
        body = fake.requests[0]
        if kind == "openai":
            assert fake.paths[0].endswith("/chat/completions")
            assert body["messages"][0] == {"role": "system", "content": system_prompt(native_tools=True)}
            assert body["model"] == "gpt-4.1" and body["temperature"] == 0.0
            assert body["max_completion_tokens"] == 321
            assert {t["function"]["name"] for t in body["tools"]} >= {"create_quote", "opportunity_search"}
            tool_messages = [m for r in fake.requests for m in r["messages"] if m["role"] == "tool"]
            assert tool_messages and all(m["tool_call_id"].startswith("call_") for m in tool_messages)
        else:
            assert fake.paths[0].endswith("/v1/messages")
            assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
            assert body["system"][0]["text"] == system_prompt(native_tools=True)
            assert body["max_tokens"] == 321 and body["model"].startswith("claude-sonnet")
            assert "temperature" not in body  # current Sonnet models reject sampling parameters
            assert {t["name"] for t in body["tools"]} >= {"create_quote", "opportunity_search"}
            results_blocks = [b for r in fake.requests for m in r["messages"] if m["role"] == "user"
                              and isinstance(m["content"], list) for b in m["content"] if b["type"] == "tool_result"]
            assert results_blocks and all(b["tool_use_id"].startswith("toolu_") for b in results_blocks)
        # The key travels only in an authentication header (which one depends on the SDK version).
        headers = {k.lower(): v for k, v in fake.headers[0].items()}
        assert headers.get("authorization") == f"Bearer {SECRET}" or headers.get("x-api-key") == SECRET
        assert SECRET not in fake.request_text()


def test_claude_sends_temperature_to_models_that_take_it(env, eval400) -> None:
    assert accepts_temperature("claude-sonnet-4-6") and not accepts_temperature("claude-sonnet-5-5")
    with FakeProvider("anthropic", brain=ReplayAgent(eval400)) as fake:
        agent = make_agent("anthropic", fake, model="claude-sonnet-4-6", temperature=0.3)
        play(env, agent, fake, eval400[0])
        assert fake.requests[0]["temperature"] == 0.3


@pytest.mark.parametrize("kind", KINDS)
def test_async_episodes_run_concurrently(kind, eval400) -> None:
    import gymnasium as gym

    conversations = eval400[:4]

    async def main():
        fakes = [FakeProvider(kind, brain=ReplayAgent(eval400)).__enter__() for _ in conversations]
        try:
            envs = [gym.make("ArcCrm-v0", dataset=eval400).unwrapped for _ in conversations]
            agents = [make_agent(kind, f) for f in fakes]
            for fake, c in zip(fakes, conversations, strict=True):
                fake.start_episode(c.conversation_id)
            return await asyncio.gather(*(run_episode_async(e, a, c.conversation_id)
                                          for e, a, c in zip(envs, agents, conversations, strict=True)))
        finally:
            for fake in fakes:
                fake.__exit__(None, None, None)

    results = asyncio.run(main())
    assert all(r["strict"] for r in results)


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_answers_fail_turns_not_infrastructure(kind, env, eval400) -> None:
    with FakeProvider(kind, default="wrong") as fake:
        agent = make_agent(kind, fake)
        result = play(env, agent, fake, eval400[0])
        assert not any(result["successes"])
        assert len(agent.drain_calls()) == len(eval400[0].turns)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_tool_reaches_the_env_as_the_models_mistake(kind, env, eval400) -> None:
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        fake.push("unknown_tool")
        agent = make_agent(kind, fake)
        play(env, agent, fake, eval400[0])
        second = json.dumps(fake.requests[1])
        assert "unknown_tool" in second and "drop_all_tables" in second


@pytest.mark.parametrize("kind", KINDS)
def test_429_with_retry_after_is_honoured_then_succeeds(kind, env, eval400) -> None:
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        fake.push(("429", 0.3), "correct")
        agent = make_agent(kind, fake, retry=RetryPolicy(attempts=3, base_delay=5.0, max_delay=5.0))
        start = time.perf_counter()
        result = play(env, agent, fake, eval400[0])
        assert result["strict"]
        calls = agent.drain_calls()
        assert calls[0].attempts == 2 and all(c.attempts == 1 for c in calls[1:])
        assert 0.3 <= calls[0].latency_s < 3.0 and time.perf_counter() - start < 5.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failure", ["500", "drop", ("slow", 3.5)], ids=["500", "drop", "slow"])
def test_transient_failures_are_retried(kind, failure, env, eval400) -> None:
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        fake.push(failure, "correct")
        # the timeout must catch the slow answer, and leave every other answer room on a loaded machine
        # (at 0.5 s an ordinary answer timed out once under the whole suite's load)
        agent = make_agent(kind, fake, timeout=1.5)
        result = play(env, agent, fake, eval400[0])
        assert result["strict"]
        assert agent.drain_calls()[0].attempts == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("failure", ["500", "drop", ("429", 0)], ids=["500", "drop", "429"])
def test_persistent_failures_become_infrastructure_errors(kind, failure, env, eval400) -> None:
    with FakeProvider(kind, default=failure) as fake:
        agent = make_agent(kind, fake)
        with pytest.raises(InfrastructureError) as caught:
            play(env, agent, fake, eval400[0])
        assert len(fake.requests) == FAST.attempts
        assert SECRET not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_garbage_body_is_an_infrastructure_error(kind, env, eval400) -> None:
    with FakeProvider(kind, default="garbage") as fake:
        agent = make_agent(kind, fake)
        with pytest.raises(InfrastructureError, match="malformed"):
            play(env, agent, fake, eval400[0])


@pytest.mark.parametrize("kind", KINDS)
def test_several_tool_calls_are_queued_and_each_answered(kind, env, eval400) -> None:
    read_conv = next(c for c in eval400 if c.turns[0].gold_calls[0].tool.endswith("search") and len(c.turns) <= 3)
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        fake.push("double")
        agent = make_agent(kind, fake)
        play(env, agent, fake, read_conv)
        first, second = fake.requests[0], fake.requests[1]
        if kind == "openai":
            asked = [c["id"] for c in second["messages"][-3]["tool_calls"]]
            answered = [m["tool_call_id"] for m in second["messages"][-2:]]
            assert len(asked) == 2 and answered == asked
            assert all(json.loads(m["content"])["ok"] for m in second["messages"][-2:])
        else:
            asked = [b["id"] for b in second["messages"][-2]["content"] if b["type"] == "tool_use"]
            answered = [b["tool_use_id"] for b in second["messages"][-1]["content"]]
            assert len(asked) == 2 and answered == asked
        assert len(first["messages"]) < len(second["messages"])


@pytest.mark.parametrize("kind", KINDS)
def test_an_open_tool_call_is_closed_when_the_turn_ends_on_budget(kind, eval400) -> None:
    import gymnasium as gym

    environment = gym.make("ArcCrm-v0", dataset=eval400, max_tool_calls=1).unwrapped
    conv = next(c for c in eval400 if len(c.turns) >= 2)
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        fake.push("double")
        agent = make_agent(kind, fake)
        play(environment, agent, fake, conv)
        later = fake.requests[1]["messages"]
        text = json.dumps(later)
        assert "the turn ended before this call ran" in text


def test_openai_without_native_tools_reads_json_actions_from_text(env, eval400) -> None:
    with FakeProvider("openai", brain=ReplayAgent(eval400), native_tools=False) as fake:
        from crm_env.agents.openai_agent import OpenAIAgent

        agent = OpenAIAgent("local-llama", base_url=fake.url, native_tools=False, retry=FAST)
        results = [play(env, agent, fake, c) for c in eval400[:3]]
        assert all(r["strict"] for r in results)
        assert "tools" not in fake.requests[0]
        assert "respond" in fake.requests[0]["messages"][0]["content"]  # the action format is in the prompt


def test_openai_malformed_text_action_is_reported_by_the_env(env, eval400) -> None:
    from crm_env.agents.openai_agent import OpenAIAgent

    def prose(body):
        return 200, {}, {"id": "x", "object": "chat.completion", "created": 0, "model": "local",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": "I will create the client now."}}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}

    with FakeProvider("openai", brain=ReplayAgent(eval400), native_tools=False) as fake:
        fake.push(prose)
        agent = OpenAIAgent("local", base_url=fake.url, native_tools=False, retry=FAST)
        agent.reset(eval400[0].conversation_id)
        fake.start_episode(eval400[0].conversation_id)
        obs, _ = env.reset(options={"conversation_id": eval400[0].conversation_id})
        action = agent.act(obs)
        assert action == "I will create the client now."
        obs, *_ = env.step(action)
        assert json.loads(obs["last_result"])["error_type"] == "invalid_action"
        agent.act(obs)
        assert fake.requests[1]["messages"][-1]["content"].startswith("Tool result: ")
        assert agent.drain_calls()[0].cached_tokens == 0  # no prompt_tokens_details reported


@pytest.mark.parametrize("kind", KINDS)
def test_agents_pickle_without_clients_or_keys(kind, env, eval400) -> None:
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        agent = make_agent(kind, fake)
        play(env, agent, fake, eval400[0])
        data = pickle.dumps(agent)
        assert SECRET.encode() not in data
        assert SECRET not in repr(agent)


@pytest.mark.parametrize("kind", KINDS)
def test_guidance_goes_in_a_playbook_section_before_that_turns_message_only(kind, env, eval400) -> None:
    conversation = next(c for c in eval400 if len(c.turns) >= 2)
    rule = "Write stage values exactly as the CRM spells them."
    with FakeProvider(kind, brain=ReplayAgent(eval400)) as fake:
        agent = make_agent(kind, fake)
        fake.start_episode(conversation.conversation_id)
        agent.reset(conversation.conversation_id)
        obs, _ = env.reset(options={"conversation_id": conversation.conversation_id})
        agent.guide([rule])
        while int(obs["turn"]) == 0:
            obs, _, _, _, _ = env.step(agent.act(obs))
        agent.act(obs)  # the second turn's first request, unguided
        texts = [json.dumps(user_messages(body, kind)[-1]) for body in fake.requests]
        first, second = texts[0], texts[-1]
        assert "<playbook>" in first and rule in first and conversation.turns[0].utterance[:20] in first
        assert "<playbook>" not in second
        assert first.index("<playbook>") < first.index(conversation.turns[0].utterance[:20])
