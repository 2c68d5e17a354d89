"""The learning reward with LLM judges: the env's verdict, and a panel for what the env's checks cannot see.

The rule, in code (``JudgePanel.settle``):

- a turn the env failed on a deterministic check (a component with status ``fail``) stays failed: no
  judge is asked;
- otherwise (the env passed it, or left a component undecided) ``k`` samples of the judge grade it, each
  at temperature ``SAMPLE_TEMPERATURE`` and cached on its own; a sample's score is 0.7 goal + 0.3 process
  (``crm_env.rewards.judge``);
- when the samples' spread (highest − lowest score) exceeds ``SPREAD`` and an arbiter model is given, the
  arbiter grades the turn once and its score is the panel's; otherwise the panel's score is the median
  of the samples;
- the turn's learning success is the panel's score ≥ ``PASS_THRESHOLD`` (0.8);
- a sample (or the arbiter) that answers with something else than the JSON verdict is skipped and its
  cause kept (a ``proposal_skipped`` event), never a crash; with no usable grade the env's verdict
  stands. A judge that stays unreachable raises ``InfrastructureError``: the run stops for ``--resume``.

The judges see what a supervisor sees: the request, the agent's calls with their results, its reply and
the env's checks (each component's status and rationale); never the reference (gold calls, expected
facts). Their calls have the role ``judge`` in the cost by role. Every grade is in the turn's
``judge_samples`` event with its cache key, so a resumed run refills the cache from its events and grades
as an uninterrupted run (``crm_env.learning.run``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from crm_env.errors import ConfigError
from crm_env.learning.events import JudgeGrade
from crm_env.rewards.judge import PASS_THRESHOLD, Judge, JudgeVerdict, MalformedVerdict

SPREAD = 0.3
ARBITER = -1  # the arbiter's grade's sample number (its own cache entry, even on the judge's model)
SAMPLE_TEMPERATURE = 1.0
RESULT_CHARS = 1500  # per tool result shown
SYSTEM = (
    "You grade one turn of an assistant that operates a CRM through tools, as its supervisor would. You get "
    "the user's request, the assistant's tool calls with their results, its reply, and the automatic checks' "
    "findings. Return ONLY a JSON object "
    '{"goal": <0..1>, "process": <0..1>, "rationale": "<one sentence>"}. goal: did the assistant do and say '
    "what the user asked, truthfully given the tool results? process: were the calls appropriate and the "
    "reply clear and honest?"
)


@dataclass
class Settled:
    """A turn's learning verdict: the grades behind it and the causes of unusable ones."""

    success: bool
    score: float | None = None  # the panel's (None: no judge asked, or none usable)
    samples: list[JudgeGrade] = field(default_factory=list)
    arbiter: JudgeGrade | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def spread(self) -> float | None:
        scores = [s.score for s in self.samples]
        return round(max(scores) - min(scores), 6) if scores else None


def judge_prompt(request: str, calls: list[dict[str, Any]], reply: str, checks: Mapping[str, Any]) -> str:
    shown = [{"call": c.get("call"), "result": str(c.get("result"))[:RESULT_CHARS]} for c in calls]
    findings = {name: {"status": c.get("status"), "rationale": c.get("rationale")} for name, c in checks.items()}
    return "\n\n".join([f"USER REQUEST:\n{request}",
                        f"ASSISTANT TOOL CALLS:\n{json.dumps(shown, sort_keys=True, default=str)}",
                        f"ASSISTANT REPLY:\n{reply}",
                        f"AUTOMATIC CHECKS:\n{json.dumps(findings, sort_keys=True, default=str)}"])


class JudgePanel:
    """``k`` samples of ``judge`` and an optional ``arbiter`` (see the module docstring)."""

    def __init__(self, judge: Judge, k: int = 3, arbiter: Judge | None = None) -> None:
        if k < 1:
            raise ConfigError("--judge-samples must be at least 1")
        self.judge = judge
        self.k = k
        self.arbiter = arbiter

    @classmethod
    def from_specs(cls, judge: str, k: int, arbiter: str | None, timeout: float) -> JudgePanel:
        """From ``provider:MODEL[@BASE_URL]`` specs; a missing API key is refused here.

        Raises:
            ConfigError: A bad spec, or no key for a provider's own API.
        """
        cache: dict[str, dict[str, Any]] = {}  # one for both: keys name the model and the sample
        return cls(_build(judge, timeout, SAMPLE_TEMPERATURE, cache), k,
                   _build(arbiter, timeout, 0.0, cache) if arbiter else None)

    def settle(self, env_success: bool, breakdown: Mapping[str, Any], prompt: str) -> Settled:
        if any(c.get("status") == "fail" for c in breakdown.values()):
            return Settled(env_success)
        out = Settled(env_success)
        for sample in range(self.k):
            grade = self._grade(self.judge, prompt, sample, out.skipped)
            if grade is not None:
                out.samples.append(grade)
        if not out.samples:
            return out
        out.score = statistics.median(s.score for s in out.samples)
        if self.arbiter is not None and (out.spread or 0.0) > SPREAD:
            out.arbiter = self._grade(self.arbiter, prompt, ARBITER, out.skipped)
            if out.arbiter is not None:
                out.score = out.arbiter.score
        out.success = out.score >= PASS_THRESHOLD
        return out

    def _grade(self, judge: Judge, prompt: str, sample: int, skipped: list[str]) -> JudgeGrade | None:
        try:
            verdict: JudgeVerdict = judge.grade(prompt, system=SYSTEM, sample=sample)
        except MalformedVerdict as exc:
            skipped.append(f"judge {judge.client.model} sample {sample}: {str(exc)[:300]}")
            return None
        return JudgeGrade(model=verdict.model, sample=sample, key=judge.cache_key(verdict.model, prompt, SYSTEM, sample),
                          goal=verdict.goal, process=verdict.process, score=verdict.score,
                          rationale=verdict.rationale, cached=verdict.cached)

    def use_cache(self, cache: MutableMapping[str, dict[str, Any]]) -> None:
        """Grade through ``cache`` (``crm_env.learning.schedule``: what an episode may see of others' grades)."""
        self.judge.cache = cache
        if self.arbiter is not None:
            self.arbiter.cache = cache

    def drain_calls(self) -> list[Any]:
        return self.judge.drain_calls() + (self.arbiter.drain_calls() if self.arbiter is not None else [])


def _build(spec: str, timeout: float, temperature: float, cache: dict[str, dict[str, Any]]) -> Judge:
    from crm_env.providers.clients import api_key

    provider, _, rest = spec.partition(":")
    _, _, base_url = rest.partition("@")
    if provider in ("openai", "anthropic"):
        api_key("OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY", base_url or None)
    return Judge.from_spec(spec, cache=cache, timeout=timeout, temperature=temperature)
