"""The arbiter (``crm_env.rewards.arbiter``): what the judge is asked and what its verdict decides.

The judge is always the fake OpenAI-compatible server of ``tests.fakes.providers`` (127.0.0.1) behind
the real ``openai`` SDK: never a real LLM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.datasets import load
from crm_env.datasets.format import Turn
from crm_env.envs.env import CrmEnv
from crm_env.errors import ConfigError
from crm_env.eval.config import RunConfig
from crm_env.providers.retry import RetryPolicy
from crm_env.rewards import AgentCall, Judge, Status, ensemble, score_turn
from crm_env.rewards.arbiter import arbitrate, audited, check_judge_mode, sample_key
from crm_env.rewards.component import Component, failed, not_applicable, passed, undecided
from crm_env.rewards.ensemble import DECISIVE
from crm_env.rewards.judge import OpenAICompatibleClient
from crm_env.rewards.replay import GoldOutcome
from crm_env.sandbox import ToolResult
from tests.eval.helpers import REPLY_CHECK
from tests.fakes.providers import FakeProvider

PASS = '{"goal": 1, "process": 1, "rationale": "the reply answers the request"}'
FAIL = '{"goal": 0.2, "process": 0.5, "rationale": "the reply misstates the total"}'


@pytest.fixture
def judges() -> Iterator[SimpleNamespace]:
    """``judges.make(answer)``: a fresh judge (own verdict cache) on a fake server answering ``answer``."""
    with FakeProvider("openai", model="fake-judge") as fake:
        answer = {"text": PASS}
        fake.default = lambda body: (200, {}, fake._answer({"respond": answer["text"]}))

        def make(text: str) -> Judge:
            answer["text"] = text
            return Judge(OpenAICompatibleClient("fake-judge", base_url=fake.url, timeout=5.0,
                                                retry=RetryPolicy(attempts=1)))

        yield SimpleNamespace(make=make, fake=fake)


def _turn() -> tuple[Turn, GoldOutcome, list[AgentCall]]:
    turn = Turn.model_validate({"turn_id": 2, "intent": "SUMMARIZE OPPORTUNITIES", "utterance": "Pipeline total?",
                                "gold_calls": [{"tool": "summarize_opportunities", "arguments": {}}],
                                "reply_facts": [{"label": "total_amount", "value": 250000}]})
    result = ToolResult("summarize_opportunities", True, {"count": 1, "total_amount": 250000.0})
    gold = GoldOutcome((("summarize_opportunities", {}),), (result,), ())
    return turn, gold, [AgentCall("summarize_opportunities", {}, result)]


def _arbitrate(components: dict[str, Component], judge: Judge | None, mode: str = "undecided",
               key: str | None = None, rate: float = 0.1) -> tuple[dict[str, Component], bool]:
    turn, gold, calls = _turn()
    return arbitrate(dict(components), turn, gold, calls, "About a quarter of a million.", None, None, judge,
                     mode, key, decisive=DECISIVE, audit_rate=rate)


STATE_FAILED = {"state": failed("state", "collateral damage: a deal was deleted"),
                "retrieval": not_applicable("retrieval", "not a read request"),
                "refusal": not_applicable("refusal", "the request is valid"),
                "reply": undecided("reply", "reply does not literally state: total_amount", missing=["total_amount"])}
ALL_PASS = {"state": passed("state", "no changes, as expected"), "retrieval": passed("retrieval", "retrieved"),
            "refusal": not_applicable("refusal", "the request is valid"), "reply": passed("reply", "states 250000")}


@pytest.mark.parametrize("answer, status", [(PASS, Status.PASS), (FAIL, Status.FAIL)])
def test_the_judge_decides_undecided_components_even_when_another_check_failed(judges, answer, status) -> None:
    components, judge_error = _arbitrate(STATE_FAILED, judges.make(answer))
    assert not judge_error and len(judges.fake.requests) == 1
    reply = components["reply"]
    assert reply.status is status and reply.score == (1.0 if status is Status.PASS else 0.0)
    assert reply.rationale.endswith(f"judge: {status.value}") and reply.details["undecided"] is True
    assert reply.details["missing"] == ["total_amount"]  # the check's own details survive
    judge = components["judge"]
    assert judge.status is status and judge.details["decided"] == ["reply"]
    assert judge.details["audit"] is False and judge.details["veto"] is False
    assert components["state"] is STATE_FAILED["state"]  # the judge never touches a decided check


def test_turn_with_a_failed_check_still_fails_when_the_judge_passes_its_undecided_reply(judges, monkeypatch) -> None:
    monkeypatch.setattr(ensemble, REPLY_CHECK, lambda *a: STATE_FAILED["reply"])
    monkeypatch.setattr(ensemble, "validate_state", lambda *a: STATE_FAILED["state"])
    turn, gold, calls = _turn()
    verdict = score_turn(turn, gold, calls, [], "About a quarter of a million.", None, 0, judge=judges.make(PASS))
    assert verdict.components["reply"].status is Status.PASS  # decided: the diagnostics are complete
    assert verdict.components["state"].status is Status.FAIL and not verdict.success


def test_without_a_judge_undecided_stays_undecided_scores_zero_and_fails_the_turn(monkeypatch) -> None:
    components, judge_error = _arbitrate(STATE_FAILED, None)
    reply = components["reply"]
    assert not judge_error and "judge" not in components
    assert reply.status is Status.UNDECIDED and reply.score == 0.0 and reply.details["undecided"] is True
    assert reply.rationale.endswith("(no judge configured)")
    turn, gold, calls = _turn()
    decided = score_turn(turn, gold, calls, [], "The pipeline total is $250,000.", None, 0)
    monkeypatch.setattr(ensemble, REPLY_CHECK, lambda *a: STATE_FAILED["reply"])
    verdict = score_turn(turn, gold, calls, [], "About a quarter of a million.", None, 0)
    assert decided.success and not verdict.success
    assert verdict.components["reply"].status is Status.UNDECIDED
    assert verdict.shaped < decided.shaped  # the shaped reward counts the undecided reply as a miss


def test_undecided_mode_never_asks_the_judge_about_a_deterministic_pass(judges) -> None:
    components, _ = _arbitrate(ALL_PASS, judges.make(FAIL), "undecided", sample_key("c", 2, 0), rate=1.0)
    assert components == ALL_PASS and judges.fake.requests == []


def test_audit_sample_is_deterministic_seeded_and_near_its_rate() -> None:
    keys = [sample_key(f"arc-1200-{i:05d}", t, 42) for i in range(400) for t in range(1, 6)]
    picked = [audited(k, 0.1) for k in keys]
    assert picked == [audited(k, 0.1) for k in keys]  # a rerun audits the same turns
    assert 0.08 <= sum(picked) / len(keys) <= 0.12
    other_seed = [audited(sample_key(f"arc-1200-{i:05d}", t, 43), 0.1) for i in range(400) for t in range(1, 6)]
    assert other_seed != picked
    assert not any(audited(k, 0.0) for k in keys) and all(audited(k, 1.0) for k in keys)
    # a higher rate audits a superset: raising it never drops a turn from the sample
    assert all(audited(k, 0.3) for k, p in zip(keys, picked, strict=True) if p)


def test_an_audit_fail_vetoes_the_turn_and_is_reported(judges) -> None:
    turn, gold, calls = _turn()
    reply = "The pipeline total is $250,000."
    clean = score_turn(turn, gold, calls, [], reply, None, 0)
    assert clean.success and "judge" not in clean.components
    verdict = score_turn(turn, gold, calls, [], reply, None, 0, judge=judges.make(FAIL), judge_mode="audit",
                         sample_key=sample_key("c", 2, 0), audit_rate=1.0)
    judge = verdict.components["judge"]
    assert judge.status is Status.FAIL and judge.details["veto"] is True and judge.details["audit"] is True
    assert "veto" in judge.rationale and not verdict.success and not verdict.judge_error
    assert all(verdict.components[n].status in (Status.PASS, Status.NOT_APPLICABLE) for n in DECISIVE)
    assert verdict.shaped <= judge.score < 0.8 <= clean.shaped  # a vetoed turn never earns the full reward
    kept = score_turn(turn, gold, calls, [], reply, None, 0, judge=judges.make(PASS), judge_mode="audit",
                      sample_key=sample_key("c", 2, 0), audit_rate=1.0)
    assert kept.success and kept.components["judge"].details == {**kept.components["judge"].details,
                                                                  "audit": True, "veto": False}
    assert kept.shaped == clean.shaped


def test_audit_outside_the_sample_asks_nothing(judges) -> None:
    key = next(sample_key("c", t, 0) for t in range(1, 100) if not audited(sample_key("c", t, 0), 0.5))
    components, _ = _arbitrate(ALL_PASS, judges.make(FAIL), "audit", key, rate=0.5)
    assert components == ALL_PASS and judges.fake.requests == []
    with pytest.raises(ValueError, match="sample_key"):
        _arbitrate(ALL_PASS, judges.make(FAIL), "audit", None, rate=0.5)


def test_a_failed_judge_is_an_infrastructure_error_not_a_score(judges) -> None:
    components, judge_error = _arbitrate(STATE_FAILED, judges.make("no verdict here"))
    assert judge_error and components["judge"].status is Status.ERROR and components["judge"].score is None
    assert components["reply"].status is Status.ERROR and components["reply"].score is None
    turn, gold, calls = _turn()
    audit = score_turn(turn, gold, calls, [], "The pipeline total is $250,000.", None, 0,
                       judge=judges.make("no verdict here"), judge_mode="audit", sample_key="k", audit_rate=1.0)
    assert audit.judge_error and not audit.success and audit.components["judge"].status is Status.ERROR


@pytest.mark.parametrize("build", [
    lambda judge: _arbitrate(STATE_FAILED, judge, "sometimes"),
    lambda judge: check_judge_mode("Audit"),
    lambda judge: CrmEnv(dataset=load("arc-crm-1200", split="eval-400")[:1], judge=judge, judge_mode="strict"),
    lambda judge: RunConfig(judge=True, judge_mode="veto"),
], ids=["arbitrate", "check", "env", "run-config"])
def test_a_bad_judge_mode_is_a_config_error_naming_the_modes(judges, build: Callable[[Judge], Any]) -> None:
    with pytest.raises(ConfigError, match="use 'undecided' or 'audit'"):
        build(judges.make(PASS))


def test_audit_needs_a_judge_and_a_rate_between_0_and_1() -> None:
    convs = load("arc-crm-1200", split="eval-400")[:1]
    with pytest.raises(ConfigError, match="needs a judge"):
        CrmEnv(dataset=convs, judge_mode="audit")
    with pytest.raises(ConfigError, match="from 0 to 1"):
        CrmEnv(dataset=convs, judge_audit_rate=1.5)
    with pytest.raises(ConfigError, match="needs a judge"):
        RunConfig(judge_mode="audit")


def _audit_run(judge: Judge, seed: int, conversations: list) -> dict[tuple[str, int], tuple[bool, bool]]:
    """(conversation, turn) → (audited, turn success) for the oracle in audit mode (a turn the judge was
    asked about for an undecided check, not as an audit, is left out)."""
    env = CrmEnv(dataset=conversations, judge=judge, judge_mode="audit", judge_audit_rate=0.5)
    out = {}
    for conv in conversations:
        agent = ReplayAgent([conv])
        agent.reset(conv.conversation_id)
        obs, _ = env.reset(seed=seed, options={"conversation_id": conv.conversation_id})
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            done = terminated or truncated
            if "reward_breakdown" in info:
                judged = info["reward_breakdown"].get("judge")
                if judged is None or judged["details"]["audit"]:
                    out[(conv.conversation_id, info["turns_scored"])] = (judged is not None, info["turn_success"])
                assert reward == float(info["turn_success"])
    env.close()
    return out


def test_env_audits_a_seeded_sample_of_oracle_turns_and_reports_vetoes(judges) -> None:
    convs = load("arc-crm-1200", split="eval-400")[:8]
    first = _audit_run(judges.make(FAIL), 7, convs)
    assert first == _audit_run(judges.make(FAIL), 7, convs)  # a rerun audits (and vetoes) the same turns
    assert first != _audit_run(judges.make(FAIL), 8, convs)  # another seed, another sample
    audited_turns = [key for key, (was_audited, _) in first.items() if was_audited]
    assert 0 < len(audited_turns) < len(first)
    assert not any(success for was_audited, success in first.values() if was_audited)  # every audit vetoed
    kept = _audit_run(judges.make(PASS), 7, convs)
    assert {k for k, (a, _) in kept.items() if a} == set(audited_turns)
    assert all(success for was_audited, success in kept.values() if was_audited)  # a pass keeps the turn
