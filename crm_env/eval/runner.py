"""The evaluation runner: many episodes at once, durable results, resumable, on a budget.

Every (conversation, trial) pair is one episode on its own ``CrmEnv`` reset (the env instances are
pooled, one per concurrency slot, so a PostgreSQL run opens ``concurrency`` connections, not one per
episode; each episode is still isolated by its own reset / transaction). A fresh agent is built per
episode by the agent factory. ``--concurrency`` bounds how many episodes are in flight; env work runs on
the event loop for the in-memory backend without a judge (it takes microseconds) and in a thread pool
otherwise, so database and judge I/O overlap.

Infrastructure failures (``InfrastructureError``: provider retries exhausted, a lost database, a failed
judge) end the episode, are recorded with their cause as ``infra_error`` lines, are excluded from the
scores and are retried on ``--resume``. Any other exception is a bug and stops the run (the lines
already written stay valid).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from crm_env.agents.base import Agent, LlmCall
from crm_env.datasets.format import Conversation
from crm_env.envs.env import CrmEnv
from crm_env.errors import ConfigError, InfrastructureError
from crm_env.eval.config import (
    RESULTS_FILE,
    RUN_FILE,
    RunConfig,
    RunRecord,
    make_record,
    read_record,
    resume_config,
    select_conversations,
    write_json_atomic,
)
from crm_env.eval.prices import PriceTable
from crm_env.eval.progress import Progress
from crm_env.eval.results import (
    ComponentRecord,
    LlmCallRecord,
    ResultLine,
    ResultsWriter,
    StepRecord,
    TurnRecord,
    Usage,
    compact,
    load_results,
)
from crm_env.heap import long_lived
from crm_env.rewards.judge import Judge

AgentFactory = Callable[[Conversation, int, int], Agent]  # (conversation, trial, episode seed) → agent


class EpisodePool(Protocol):
    """Plays episodes outside this process (``crm_env.integrations.ray.RayPool``); the runner stays the writer."""

    lanes: int  # episodes in flight
    session: str  # the id every line of this invocation carries

    async def play(self, lane: int, conversation_id: str, trial: int, history: list[str]) -> ResultLine:
        """The finished result line of one episode (an ``infra_error`` line when it could not be played)."""
        ...


def episode_seed(seed: int, conversation_id: str, trial: int) -> int:
    """The seed of one episode: the same for the same run seed, conversation and trial, whatever the order."""
    digest = hashlib.sha256(f"{seed}\x00{conversation_id}\x00{trial}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def default_agent_factory(config: RunConfig) -> AgentFactory:
    """Agents from ``crm_env.agents.build_agent``, one per episode."""
    from crm_env.agents import build_agent  # the agents package; imported when a run starts

    def make(conversation: Conversation, trial: int, seed: int) -> Agent:
        return build_agent(config.agent, conversations=[conversation], model=config.agent_model(),
                           base_url=config.base_url, temperature=config.temperature,
                           max_output_tokens=config.max_output_tokens, seed=seed, timeout=config.timeout)

    return make


@dataclass
class Prepared:
    config: RunConfig
    conversations: list[Conversation]
    record: RunRecord
    out: Path


def prepare(config: RunConfig, *, resume: bool = False, given: dict[str, Any] | None = None) -> Prepared:
    """Resolve the run's configuration and conversations; on resume, those of the recorded run.

    Raises:
        ConfigError: Resuming without a recorded run, a clash with it, or a fresh run into a used directory.
    """
    if resume and not config.output and not (given or {}).get("output"):
        raise ConfigError("--resume needs --output DIR: the run directory to continue")
    chosen = bool(config.output)  # an explicit --output; a default one taken meanwhile gets a suffix (claim)
    out = config.output_dir()
    config = config.model_copy(update={"output": str(out)})
    if resume:
        previous = read_record(out)
        if previous is None:
            raise ConfigError(f"--resume: {out / RUN_FILE} does not exist; start the run without --resume")
        config = resume_config(previous, given if given is not None else {})
        conversations = select_conversations(config)
        record = make_record(config, conversations, previous.prices)
        if record.dataset_hash != previous.dataset_hash:
            raise ConfigError("--resume: the conversations differ from the recorded run's (dataset hash changed)")
        return Prepared(config, conversations, previous.model_copy(update={"config": record.config}), out)
    results = out / RESULTS_FILE
    if chosen and results.is_file() and results.stat().st_size > 0:
        raise ConfigError(f"{out} already holds results; pass --resume to continue that run, or another --output")
    conversations = select_conversations(config)
    prices = PriceTable.from_file(config.prices)
    if config.budget_usd is not None:
        _require_prices(config, prices)
    return Prepared(config, conversations, make_record(config, conversations, prices.to_dict()), out)


def _require_prices(config: RunConfig, prices: PriceTable) -> None:
    """A budget can only be kept when every model that spends has a price (an unpriced one costs 0)."""
    judge = config.judge_spec()
    models = [config.agent_model(), judge.partition(":")[2].partition("@")[0] if judge else None]
    missing = [model for model in models if model and prices.lookup(model) is None]
    if missing:
        raise ConfigError(f"--budget-usd needs a price for {', '.join(missing)}; add it with --prices FILE "
                          '(JSON: {"MODEL": {"input": USD, "output": USD, "cached_input": USD}} per million tokens)')


@dataclass
class _Slot:
    env: CrmEnv
    judge: Judge | None
    events: list[dict[str, Any]] = field(default_factory=list)


class _Infra(Exception):
    def __init__(self, cause: str, env_broken: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.env_broken = env_broken


@dataclass
class SessionOutcome:
    """What one invocation of the runner did."""

    out: Path
    ran: int
    infra: int
    pending: int  # pairs not run (budget stop)
    stopped_by_budget: bool
    wall_s: float
    spent_usd: float


class Runner:
    """Runs the pending episodes of a prepared run (use ``run_eval`` for the whole job)."""

    def __init__(self, prepared: Prepared, agent_factory: AgentFactory | None = None,
                 stream: TextIO | None = None, pool: EpisodePool | None = None) -> None:
        self.prepared = prepared
        self.pool = pool
        self.config = prepared.config
        self.conversations = {c.conversation_id: c for c in prepared.conversations}
        self.agent_factory = agent_factory or default_agent_factory(self.config)
        self.prices = PriceTable({name: value for name, value in _prices(prepared.record).items()})
        self.session = pool.session if pool is not None else uuid.uuid4().hex[:12]
        self.stream = stream or sys.stderr
        self.judge_cache: dict[str, dict[str, Any]] = {}
        self.judge_spec = self.config.judge_spec()
        threaded = pool is None and (self.config.backend != "memory" or self.judge_spec is not None)
        self.executor = ThreadPoolExecutor(self.config.concurrency, "crm-eval") if threaded else None
        self.spent = 0.0
        self.in_flight = 0
        self.cost_per_episode: list[float] = []
        self.stop_budget = False
        self.progress: Progress | None = None
        self.earlier_strict: list[bool | None] = []  # the completed episodes of the run before this session
        self.slots: list[_Slot] = []

    # ------------------------------------------------------------------ env plumbing
    def _new_slot(self) -> _Slot:
        # One judge per slot (its calls are drained after each of the slot's steps), one verdict cache for all.
        judge = (Judge.from_spec(self.judge_spec, cache=self.judge_cache, timeout=self.config.timeout)
                 if self.judge_spec else None)
        slot = _Slot(env=None, judge=judge)  # type: ignore[arg-type]
        slot.env = CrmEnv(dataset=self.prepared.conversations, split=None, backend=self.config.backend,
                          judge=judge, judge_mode=self.config.judge_mode,
                          judge_audit_rate=self.config.judge_audit_rate,
                          max_tool_calls=self.config.max_tool_calls, conversation_seed=None,
                          telemetry=slot.events.append)
        return slot

    async def _env(self, fn: Callable[[], Any]) -> Any:
        try:
            if self.executor is None:
                return fn()
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn)
        except InfrastructureError as exc:
            raise _Infra(f"backend: {type(exc).__name__}: {exc}", env_broken=True) from exc

    def price_calls(self, calls: list[LlmCall]) -> list[LlmCallRecord]:
        """The calls as result records, priced and added to the spend."""
        out = []
        for call in calls:
            cost = self.prices.cost(call.model, call.input_tokens, call.output_tokens, call.cached_tokens)
            self.spent += cost
            if self.progress is not None:
                self.progress.add_spend(cost)
            out.append(LlmCallRecord(**call.to_dict(), cost_usd=cost))
        return out

    # ------------------------------------------------------------------ one episode
    async def episode(self, holder: list[_Slot | None], conv: Conversation, trial: int,
                      history: list[str]) -> ResultLine:
        """Play one (conversation, trial); ``holder[0]`` is the worker's env slot (opened when None)."""
        seed = episode_seed(self.config.seed, conv.conversation_id, trial)
        started = time.perf_counter()
        usage: dict[str, Usage] = {}
        turns: list[TurnRecord] = []
        base = self.line_base(conv, trial, history)

        def account(records: list[LlmCallRecord]) -> list[LlmCallRecord]:
            for record in records:
                usage.setdefault(record.role, Usage()).add(record)
            return records

        try:
            if holder[0] is None:
                holder[0] = await self._env(self._new_slot)
                self.slots.append(holder[0])
            slot = holder[0]
            agent = self.agent_factory(conv, trial, seed)
            slot.events.clear()
            obs, info = await self._env(lambda: slot.env.reset(seed=seed, options={"conversation_id": conv.conversation_id}))
            agent.reset(conv.conversation_id)
            steps: list[StepRecord] = []
            turn_started = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                try:
                    action = await agent.act_async(obs)
                finally:
                    calls = account(self.price_calls(agent.drain_calls()))
                latency = time.perf_counter() - t0
                if not isinstance(action, str):
                    action = json.dumps(action, default=str)
                slot.events.clear()
                obs, _, terminated, truncated, info = await self._env(lambda a=action: slot.env.step(a))
                judge_calls = account(self.price_calls(slot.judge.drain_calls() if slot.judge else []))
                steps.append(_step(action, slot.events, latency, calls))
                if "reward_breakdown" in info:
                    if info["judge_error"]:
                        raise _Infra(f"judge failed: {info['reward_breakdown'].get('judge', {}).get('rationale', '')}")
                    turn = conv.turns[len(turns)]
                    reply = next((e.get("reply", "") for e in slot.events if e.get("event") == "turn_verdict"), "")
                    turns.append(TurnRecord(
                        turn_id=turn.turn_id, intent=turn.intent.value,
                        failure_category=turn.failure_category.value if turn.failure_category else None,
                        expect_success=turn.expect_success, is_write=turn.is_write, steps=steps, reply=reply,
                        success=bool(info["turn_success"]), shaped_reward=float(info["shaped_reward"]),
                        tool_errors=int(info["tool_errors"]), judge_error=False,
                        breakdown={k: ComponentRecord(**v) for k, v in info["reward_breakdown"].items()},
                        judge_calls=judge_calls, latency_s=time.perf_counter() - turn_started))
                    steps = []
                    turn_started = time.perf_counter()
                if terminated or truncated:
                    break
        except (InfrastructureError, _Infra) as exc:
            cause = exc.cause if isinstance(exc, _Infra) else f"agent: {type(exc).__name__}: {exc}"
            if isinstance(exc, _Infra) and exc.env_broken and holder[0] is not None:
                # the env may hold a dead connection: close it; the next episode opens a new one
                broken, holder[0] = holder[0], None
                self.slots.remove(broken)
                _close(broken)
            return ResultLine(**base, status="infra_error", cause=cause, finished_at=time.time(),
                              latency_s=time.perf_counter() - started, usage=usage)
        return ResultLine(**base, status="completed", finished_at=time.time(), latency_s=time.perf_counter() - started,
                          strict_success=all(t.success for t in turns) and len(turns) == len(conv.turns),
                          turns=turns, usage=usage)

    def line_base(self, conv: Conversation, trial: int, history: list[str]) -> dict[str, Any]:
        """The fields every result line of this episode carries, stamped with the time it starts."""
        return {"conversation_id": conv.conversation_id, "trial": trial, "workflow": conv.workflow.value,
                "complexity": conv.complexity.value, "n_turns": len(conv.turns),
                "seed": episode_seed(self.config.seed, conv.conversation_id, trial), "session": self.session,
                "started_at": time.time(), "infra_history": history}

    def close(self) -> None:
        """Close every env slot and the thread pool (the runner plays no more episodes)."""
        for slot in self.slots:
            _close(slot)
        self.slots.clear()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ budget
    def _may_start(self) -> bool:
        budget = self.config.budget_usd
        if budget is None or self.stop_budget:
            return not self.stop_budget
        if self.cost_per_episode:
            estimate = sum(self.cost_per_episode) / len(self.cost_per_episode)
            if self.spent + (self.in_flight + 1) * estimate > budget:
                self.stop_budget = True
        elif self.spent >= budget:
            self.stop_budget = True
        return not self.stop_budget

    # ------------------------------------------------------------------ the session
    async def run(self, pending: list[tuple[str, int]], history: dict[tuple[str, int], list[str]],
                  done: int, previous_spend: float) -> SessionOutcome:
        started = time.perf_counter()
        self.spent = previous_spend
        queue = deque(pending)
        total = done + len(pending)
        self.progress = Progress(total, stream=self.stream, enabled=self.config.progress, done=done)
        self.progress.spend = previous_spend
        earlier = [s for s in self.earlier_strict if s is not None]  # live strict success over the whole run
        self.progress.scored, self.progress.strict = len(earlier), sum(earlier)
        writer = ResultsWriter(self.prepared.out / RESULTS_FILE)
        ran = infra = 0

        async def worker(lane: int) -> None:
            nonlocal ran, infra
            holder: list[_Slot | None] = [None]
            while queue and self._may_start():
                conv_id, trial = queue.popleft()
                self.in_flight += 1
                try:
                    earlier = history.get((conv_id, trial), [])
                    if self.pool is None:
                        line = await self.episode(holder, self.conversations[conv_id], trial, earlier)
                    else:  # played elsewhere: its spend arrives with its line
                        line = await self.pool.play(lane, conv_id, trial, earlier)
                        self.spent += line.cost_usd
                        self.progress.add_spend(line.cost_usd)
                finally:
                    self.in_flight -= 1
                writer.append(line)
                ran += 1
                infra += line.status == "infra_error"
                self.cost_per_episode.append(line.cost_usd)
                self.progress.update(strict=line.strict_success, cost=0.0, infra=line.status == "infra_error")
                await asyncio.sleep(0)  # offline agents never wait: yield, so Ctrl-C (a cancellation) lands now

        try:
            lanes = self.pool.lanes if self.pool is not None else self.config.concurrency
            await asyncio.gather(*(worker(lane) for lane in range(min(lanes, max(len(pending), 1)))))
        finally:
            writer.close()
            self.progress.close()
            self.close()
        return SessionOutcome(self.prepared.out, ran, infra, len(queue), self.stop_budget,
                              time.perf_counter() - started, self.spent - previous_spend)


def _close(slot: _Slot) -> None:
    try:
        slot.env.close()
    except Exception:  # a dead database connection cannot be closed cleanly; nothing is lost by it
        pass


def _prices(record: RunRecord) -> dict[str, Any]:
    from crm_env.eval.prices import Price

    return {name: Price.model_validate(value) for name, value in record.prices.items()}


def _step(action: str, events: list[dict[str, Any]], latency: float, calls: list[LlmCallRecord]) -> StepRecord:
    result = next((e for e in events if e.get("event") == "tool_result"), None)
    if result is None:  # a reply
        return StepRecord(action=action, agent_latency_s=latency, llm_calls=calls)
    return StepRecord(action=action, tool=result.get("tool"), ok=bool(result.get("ok")),
                      error_type=result.get("error_type"), error=result.get("error"), result=result.get("data"),
                      agent_latency_s=latency, llm_calls=calls)


async def run_session(prepared: Prepared, *, agent_factory: AgentFactory | None = None,
                      stream: TextIO | None = None, pool: EpisodePool | None = None) -> SessionOutcome:
    """Run every pair of the prepared run not yet completed in its results file (after compacting it)."""
    prepared.out.mkdir(parents=True, exist_ok=True)
    path = prepared.out / RESULTS_FILE
    loaded = load_results(path)
    if path.is_file():
        compact(path, loaded)  # drops a torn tail and the infra lines about to be retried
    write_json_atomic(prepared.out / RUN_FILE, prepared.record.model_dump(mode="json"))
    completed = {line.key for line in loaded.completed}
    pending = [(c.conversation_id, trial) for trial in range(prepared.config.trials)
               for c in prepared.conversations if (c.conversation_id, trial) not in completed]
    # Longest conversations first: with N in flight, the run then ends with short episodes instead of
    # waiting on a long one started last. The order changes no outcome (every episode is seeded by its
    # own (conversation, trial)) and results are keyed, not ordered.
    turns = {c.conversation_id: len(c.turns) for c in prepared.conversations}
    pending.sort(key=lambda pair: -turns[pair[0]])
    previous = sum(line.cost_usd for line in loaded.completed)
    runner = Runner(prepared, agent_factory, stream, pool)
    runner.earlier_strict = [line.strict_success for line in loaded.completed]
    with long_lived():
        return await runner.run(pending, loaded.infra_history, len(completed), previous)
