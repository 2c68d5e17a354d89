"""The LLM judge against fake provider servers on 127.0.0.1, through the real openai and anthropic SDKs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crm_env.providers.retry import RetryPolicy
from crm_env.providers.usage import LlmCall
from crm_env.rewards import Judge, JudgeError, Status, score_turn
from crm_env.rewards.judge import AnthropicClient, OpenAICompatibleClient, parse_verdict
from tests.fakes.providers import FakeProvider

ONCE = RetryPolicy(attempts=1)
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
VERDICT = '{"goal": 1, "process": 0.5, "rationale": "right facts"}'


class _Handler(BaseHTTPRequestHandler):
    answer: str = "{}"
    delay: float = 0.0
    requests: list = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        time.sleep(type(self).delay)
        payload = json.dumps({
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": type(self).answer}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[type[_Handler]]:
    handler = type("Handler", (_Handler,), {"requests": [], "delay": 0.0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"  # type: ignore[attr-defined]
    yield handler
    httpd.shutdown()
    httpd.server_close()


def _judge(server, timeout: float = 5.0) -> Judge:
    return Judge(OpenAICompatibleClient("fake-judge", base_url=server.url, timeout=timeout, retry=ONCE))


def test_pass_verdict_is_weighted_in_code_and_cached(server) -> None:
    server.answer = 'Sure: {"goal": 1.0, "process": 0.5, "rationale": "right facts"}'
    judge = _judge(server)
    verdict = judge.grade("prompt A")
    assert verdict.score == pytest.approx(0.85) and verdict.passed and not verdict.cached
    again = judge.grade("prompt A")
    assert again.cached and again.score == verdict.score and len(server.requests) == 1
    assert server.requests[0]["model"] == "fake-judge"


def test_fail_verdict_below_threshold(server) -> None:
    server.answer = '{"goal": 0.8, "process": 0.8, "rationale": "close"}'
    verdict = _judge(server).grade("prompt B")
    assert verdict.score == pytest.approx(0.8) and verdict.passed  # the threshold is inclusive
    server.answer = '{"goal": 0.7, "process": 1.0, "rationale": "wrong amount"}'
    verdict = _judge(server).grade("prompt C")
    assert verdict.score == pytest.approx(0.79) and not verdict.passed


@pytest.mark.parametrize("answer", ["no json here", '{"goal": 1.5, "process": 1}', '{"goal": "high"}', "{bad"])
def test_malformed_verdicts_raise_judge_error(server, answer: str) -> None:
    server.answer = answer
    with pytest.raises(JudgeError, match="malformed"):
        _judge(server).grade("prompt D")


def test_timeout_raises_judge_error(server) -> None:
    server.delay = 2.0
    server.answer = '{"goal": 1, "process": 1}'
    with pytest.raises(JudgeError, match="failed"):
        _judge(server, timeout=0.3).grade("prompt E")


def test_parse_verdict_ignores_prose_around_json() -> None:
    verdict = parse_verdict('Verdict:\n{"goal": 0, "process": 1, "rationale": "x"}\nThanks', "m")
    assert verdict.score == pytest.approx(0.3) and not verdict.passed


def _undecided_turn(judge: Judge | None):
    from crm_env.datasets.format import Turn
    from crm_env.rewards.replay import GoldOutcome
    from crm_env.sandbox import ToolResult

    turn = Turn.model_validate({"turn_id": 1, "intent": "SUMMARIZE OPPORTUNITIES", "utterance": "Pipeline total?",
                                "gold_calls": [{"tool": "summarize_opportunities", "arguments": {}}],
                                "reply_facts": [{"label": "total_amount", "value": 250000}]})
    result = ToolResult("summarize_opportunities", True, {"count": 1, "total_amount": 250000.0})
    from crm_env.rewards import AgentCall

    gold = GoldOutcome((("summarize_opportunities", {}),), (result,), ())
    calls = [AgentCall("summarize_opportunities", {}, result)]
    return score_turn(turn, gold, calls, [], "A quarter of a million dollars.", None, 0, judge=judge)


def test_ensemble_consults_the_judge_only_when_undecided(server) -> None:
    assert not _undecided_turn(None).success  # no judge: undecided fails, with the reason given
    server.answer = '{"goal": 1, "process": 1, "rationale": "paraphrased correctly"}'
    verdict = _undecided_turn(_judge(server))
    assert verdict.success and verdict.components["judge"].status is Status.PASS
    assert verdict.components["reply"].status is Status.PASS


def test_judge_failure_is_reported_not_scored(server) -> None:
    server.answer = "garbage"
    verdict = _undecided_turn(_judge(server))
    assert verdict.judge_error and not verdict.success
    assert verdict.components["judge"].status is Status.ERROR and verdict.components["judge"].score is None
    assert verdict.components["reply"].score is None


def test_from_spec_and_no_key_in_repr(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    judge = Judge.from_spec("openai:gpt-4.1-mini@http://127.0.0.1:9/v1")
    assert "sk-secret" not in repr(judge) and judge.client.model == "gpt-4.1-mini"
    assert Judge.from_spec("anthropic:claude-sonnet-4-5").client.model == "claude-sonnet-4-5"


def _verdict_answer(fake: FakeProvider):
    """A behaviour answering every request with VERDICT as the model's text (the fake's usage figures)."""
    return lambda body: (200, {}, fake._answer({"respond": VERDICT}))


@pytest.mark.parametrize("model, temperature", [("claude-sonnet-4-6", 0.0), ("claude-sonnet-5-5", None)])
def test_anthropic_judge_grades_and_records_usage(monkeypatch, model: str, temperature: float | None) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    with FakeProvider("anthropic") as fake:
        fake.default = _verdict_answer(fake)
        judge = Judge.from_spec(f"anthropic:{model}@{fake.url}", retry=FAST, timeout=5.0)
        verdict = judge.grade("prompt F")
        assert verdict.score == pytest.approx(0.85) and verdict.passed
        body = fake.requests[0]
        assert fake.paths[0].endswith("/v1/messages") and "sk-ant-secret" in str(fake.headers[0].values())
        assert body["model"] == model and body["max_tokens"] == 400
        assert body["messages"] == [{"role": "user", "content": "prompt F"}]
        # The 2.x SDK has no ``temperature`` parameter: sent in the body, only to models that accept it.
        assert body.get("temperature") == temperature
        [call] = judge.drain_calls()
        # Cache reads (1000) are counted inside input tokens, as for the agents.
        assert call == LlmCall("judge", "anthropic", fake.model, 1200, 40, 1000, call.latency_s, 1)
        assert judge.drain_calls() == [] and "sk-ant" not in repr(judge)


def test_openai_judge_records_usage_and_retries(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a base URL needs no key
    with FakeProvider("openai") as fake:
        fake.default = _verdict_answer(fake)
        fake.push("500")
        judge = Judge(OpenAICompatibleClient("fake-judge", base_url=fake.url, timeout=5.0, retry=FAST))
        assert judge.grade("prompt G").passed
        assert judge.grade("prompt G").cached  # no second request, no second record
        assert [body["temperature"] for body in fake.requests] == [0, 0]
        [call] = judge.drain_calls()
        assert call == LlmCall("judge", "openai", fake.model, 1200, 40, 1000, call.latency_s, 2)


def test_exhausted_retries_raise_judge_error_and_record_nothing() -> None:
    with FakeProvider("anthropic", default="500") as fake:
        client = AnthropicClient("claude-sonnet-4-6", base_url=fake.url, timeout=5.0, retry=FAST)
        with pytest.raises(JudgeError, match="failed after 2 attempt"):
            Judge(client).grade("prompt H")
        assert len(fake.requests) == 2 and client.drain_calls() == []
