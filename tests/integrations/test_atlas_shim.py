"""The Atlas environment shim and agent adapter (``crm_env.integrations.atlas``), driven as the Atlas SDK's
discovery runtime drives them: ``reset(task=...)`` by keyword, ``step(action, submit=...)`` returning a
4-tuple, ``plan`` / ``act`` / ``summarize``. The same protocol checks run against the real SDK in
``test_atlas_sdk.py``; nothing here needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from crm_env.errors import CrmEnvError
from crm_env.integrations.atlas import create_agent, create_environment
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")


def play(env: Any, agent: Any, task: str | None) -> tuple[list[tuple[Any, float, bool, dict]], str]:
    """The discovery loop's calls, in its order: reset, plan, act/step until done, summarize."""
    observation = env.reset(task=task)
    agent.plan(task or "", observation)
    steps, history, done = [], [], False
    while not done:
        action = agent.act(SimpleNamespace(observation=observation, reward=None))
        observation, reward, done, info = env.step(action, submit=False)
        steps.append((observation, reward, done, info))
        history.append(SimpleNamespace(observation=observation, reward=reward))
    return steps, agent.summarize(SimpleNamespace(observation=observation), history=history)


def test_the_oracle_plays_a_conversation_to_done_with_every_turn_rewarded() -> None:
    env, agent = create_environment(), create_agent(kind="replay")
    steps, summary = play(env, agent, "arc-1200-00001")
    verdicts = [info for _, _, _, info in steps if "reward_breakdown" in info]
    assert steps[-1][2] and len(verdicts) == 8 and all(v["turn_success"] for v in verdicts)
    assert sum(reward for _, reward, _, _ in steps) == 8.0
    first = json.loads(steps[0][0])
    assert set(first) == {"conversation_id", "turn", "user_message", "last_result", "crm_state"}
    assert not any("reference" in info for _, _, _, info in steps)  # no gold calls or expected replies
    assert "SIMULATED" in summary and "arc-1200-00001" in summary
    json.dumps(steps)  # observations and info are JSON-safe, as Atlas's telemetry needs
    env.close()


def test_tasks_name_a_conversation_a_json_spec_or_the_next_one() -> None:
    env = create_environment(seed=3)
    first = json.loads(env.reset())["conversation_id"]
    second = json.loads(env.reset(task="next"))["conversation_id"]
    assert first != second and json.loads(create_environment(seed=3).reset())["conversation_id"] == first
    assert json.loads(env.reset(task=json.dumps({"split": "eval-400"})))["conversation_id"] != first
    with pytest.raises(CrmEnvError, match="no split 'nope'"):
        env.reset(task=json.dumps({"split": "nope"}))
    assert env.split == "eval-400"  # a bad spec leaves the environment as it was
    chosen = json.loads(env.reset(task=json.dumps({"split": "train", "conversation_id": "arc-1200-00001"})))
    assert chosen["conversation_id"] == "arc-1200-00001" and chosen["turn"] == 0
    for bad in ("Sample investigation prompt", '{"conversation": 1}', "{not json"):
        with pytest.raises(ValueError, match="a task is a conversation id"):
            env.reset(task=bad)


def test_a_submitted_text_is_the_reply_and_ends_the_turn() -> None:
    env = create_environment()
    env.reset(task="arc-1200-00001")
    observation, reward, done, info = env.step("I could not find anything.", submit=True)
    assert "reward_breakdown" in info and reward == 0.0 and not done
    assert json.loads(observation)["turn"] == 1


def test_the_agent_refuses_observations_of_another_environment() -> None:
    agent = create_agent(kind="replay")
    with pytest.raises(CrmEnvError, match="AtlasCrmEnvironment"):
        agent.plan("task", "a plain text observation")


def test_importing_the_integration_imports_no_atlas() -> None:
    probe = ("import sys, crm_env, crm_env.integrations.atlas; "
             "crm_env.integrations.atlas.create_environment(); "
             "print(sorted(m for m in sys.modules if m == 'atlas' or m.startswith('atlas.')))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_the_adapter_reads_atlass_playbook_and_guidance_from_its_prompt() -> None:
    from crm_env.integrations.atlas.session import guidance

    block = ">>> Student Playbook >>>\nCheck the quote first.\n>>> End Student Playbook >>>"
    prompt = (f"SYSTEM: {block}\n\nCRM student\n\nSYSTEM: {block}\nHUMAN: Step ID: 1\n"
              'Guidance History: [\n  "Confirm the amount.",\n  "Don\'t guess ids."\n]')
    assert guidance(prompt) == ["Check the quote first.", "Confirm the amount.", "Don't guess ids."]
    assert guidance("HUMAN: Step ID: 1\nGuidance History: []") == []
    assert guidance("Guidance History: [not python") == []  # unreadable: nothing, never a crash
