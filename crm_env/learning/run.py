"""A learning run: ``crm-env learn run`` from configuration to ``summary.json``, durable and resumable.

The run directory holds ``run.json`` (configuration, dataset hash, the splits read), ``events.jsonl`` (every
event, ``crm_env.learning.events``), ``memory.db`` (the learning memory, unless ``--memory URL`` puts it
elsewhere), ``memory.json`` (its export) and ``summary.json``. Episodes come from the split in a seeded
order (a fresh shuffle per pass over it), so the stream depends on the seed only.

Durability, by group commit: each episode's events are handed to the OS as soon as it is learned from (a
killed process loses none of them); at most every ``SYNC_INTERVAL_S``, and when the run ends, the events
are synced and then the memory deltas of the episodes since are stored in one transaction, so the memory
never runs ahead of the synced events. Resuming drops the events of an episode that did not end, stores
any deltas the events hold and the memory lacks, and continues with the next episode: the final memory
and summary are those of an uninterrupted run. A held-out split (``test``) is never read.
"""

from __future__ import annotations

import functools
import platform
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_env.datasets.format import Conversation
from crm_env.datasets.intents import Intents
from crm_env.datasets.loader import HELD_OUT_SPLITS, source
from crm_env.errors import ConfigError, CrmEnvError, InfrastructureError
from crm_env.eval.config import dataset_hash, mask_url, write_json_atomic, write_text_atomic
from crm_env.eval.executor import EXECUTOR_FIELDS, ExecutorFields
from crm_env.eval.results import SYNC_INTERVAL_S
from crm_env.heap import long_lived
from crm_env.learning.entries import Change
from crm_env.learning.events import (
    EpisodeEnd,
    EventLog,
    JudgeSamples,
    Lane,
    MemoryDelta,
)
from crm_env.learning.memory import PlaybookState, export_json, import_json
from crm_env.learning.retrieval import DEFAULT_BUDGET_TOKENS
from crm_env.learning.store import DEFAULT_NAME, MemoryStore
from crm_env.learning.summary import WINDOW, headline, summarize

if TYPE_CHECKING:
    from crm_env.learning.loop import EpisodeRecord

RUN_FILE, EVENTS_FILE, MEMORY_DB, MEMORY_FILE, SUMMARY_FILE = (
    "run.json", "events.jsonl", "memory.db", "memory.json", "summary.json")
# Flags a resume may change: none changes an episode's outcome.
_RESUMABLE = frozenset({"memory", "episodes", "budget_usd", "timeout", "concurrency"}) | EXECUTOR_FIELDS


class RunStopped(CrmEnvError):
    """A run stopped part-way (a provider or database failed, or a protocol phase is incomplete): every
    finished episode is saved and ``--resume`` continues."""


class LearnConfig(ExecutorFields):
    """What a learning run does (``crm-env learn run`` flags); where its episodes are played
    (``ExecutorFields``) changes nothing it learns or writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: Literal["scripted", "claude", "openai"] = "scripted"
    model: str | None = None  # the LLM student's model (its provider's default when None)
    base_url: str | None = None  # an OpenAI-compatible endpoint (or a local proxy)
    timeout: float = Field(default=60.0, gt=0)  # seconds per LLM request
    prices: str | None = None  # a price file (crm_env.eval.prices) for the cost of the student's calls
    budget_usd: float | None = Field(default=None, gt=0)  # no episode starts once it would pass this
    teacher: Literal["rule", "placebo", "claude", "openai"] = "rule"
    teacher_model: str | None = None  # an LLM teacher's model (its provider's default when None)
    teacher_base_url: str | None = None  # an OpenAI-compatible endpoint (or a proxy) for the LLM teacher
    judge_model: str | None = None  # provider:MODEL[@BASE_URL]: a judge panel settles the learning verdict
    judge_samples: int = Field(default=3, ge=1, le=9)
    arbiter_model: str | None = None  # provider:MODEL[@BASE_URL]: grades a turn when the samples disagree
    dataset: str = "arc-crm-1200"
    split: str | None = "train"
    episodes: int = Field(default=300, ge=1, le=1_000_000)
    lane: Lane = "coach"
    memory: str | None = None  # a SQLAlchemy URL; None: memory.db in the run directory
    memory_name: str = Field(default=DEFAULT_NAME, min_length=1, max_length=200)  # which memory of that database
    seed: int = Field(default=0, ge=0)
    backend: str = "memory"
    budget_tokens: int = Field(default=DEFAULT_BUDGET_TOKENS, ge=1, le=100_000)
    import_memory: str | None = None  # a memory export loaded into the empty memory before the first episode
    exclude_intents: Intents = ()  # conversations with a turn of these intents are not learned from
    concurrency: int = Field(default=1, ge=1, le=64)  # episodes played at once (never changes the outcome)
    lag: int = Field(default=0, ge=0, le=10_000)  # an episode plays with what was learned up to lag + 1 before it

    @field_validator("split")
    @classmethod
    def _not_held_out(cls, split: str | None) -> str | None:
        if split in HELD_OUT_SPLITS:
            raise ValueError(f"the {split!r} split is held out: learning never reads it (it measures what was "
                             "learned); learn on --split train")
        return split

    @property
    def simulated(self) -> bool:
        return self.student == "scripted"


class LearnRecord(BaseModel):
    """The content of ``run.json``."""

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = 1
    package_version: str
    python: str
    config: LearnConfig
    dataset_hash: str
    splits_read: list[str]
    simulated: bool
    memory_start_version: int


def held_out_ids() -> set[str]:
    from crm_env.datasets.loader import HELD_OUT_SPLITS, splits_manifest

    splits = splits_manifest()["splits"]
    return {cid for name in HELD_OUT_SPLITS for cid in splits[name]}


def resumed(recorded: Any, given: dict[str, Any], resumable: frozenset[str]) -> Any:
    """The recorded configuration with the ``resumable`` flags given now; ConfigError naming every other
    flag given now that differs from it."""
    clash = [f"--{k.replace('_', '-')} {v} (recorded: {getattr(recorded, k)})" for k, v in given.items()
             if k not in resumable and getattr(recorded, k) != v]
    if clash:
        raise ConfigError(f"--resume: {', '.join(clash)}; resume with the recorded flags or start a new run")
    return recorded.model_copy(update={k: v for k, v in given.items() if k in resumable})


def load_stream(config: LearnConfig) -> list[Conversation]:
    """The run's conversations, checked to hold no held-out one.

    Raises:
        ConfigError: An empty set, or a held-out conversation among them.
    """
    from crm_env.datasets import load

    conversations = load(config.dataset, split=config.split)
    if config.exclude_intents:  # held out for transfer: learning never sees these intents
        excluded = set(config.exclude_intents)
        conversations = [c for c in conversations if not any(t.intent in excluded for t in c.turns)]
    if not conversations:
        raise ConfigError(f"{config.dataset} has no conversations to learn from")
    held_out = held_out_ids()
    leaked = sorted(c.conversation_id for c in conversations if c.conversation_id in held_out)
    if leaked:
        raise ConfigError(f"{len(leaked)} held-out conversation(s) in {config.dataset} (first: {leaked[0]}): "
                          "learning never reads the test split (learn on --split train, or remove them)")
    return sorted(conversations, key=lambda c: c.conversation_id)


def stream_order(conversations: list[Conversation], seed: int, episode: int) -> Conversation:
    """The conversation of episode ``episode``: pass ``episode // n`` over a seeded shuffle of the set."""
    n = len(conversations)
    return conversations[_permutation(seed, episode // n, n)[episode % n]]


@functools.lru_cache(maxsize=4)
def _permutation(seed: int, pass_number: int, n: int) -> tuple[int, ...]:
    order = list(range(n))
    random.Random(f"{seed}:{pass_number}").shuffle(order)
    return tuple(order)


def episode_seed_of(seed: int, episode: int) -> int:
    return random.Random(f"{seed}:episode:{episode}").getrandbits(31)


class LearningRun:
    """A run directory, prepared for (more) episodes (see the module docstring).

    Raises:
        ConfigError: A clash with the recorded run, a fresh run into a used directory, an invalid import,
            a held-out split, or a memory another writer changed.
        InfrastructureError: The memory's database cannot be reached or read.
    """

    def __init__(self, config: LearnConfig, out: Path, *, resume: bool = False,
                 given: dict[str, Any] | None = None) -> None:
        self.out = out
        if resume:
            config = self._recorded(config, given or {})
        elif (out / RUN_FILE).exists() or (out / EVENTS_FILE).exists():
            raise ConfigError(f"{out} already holds a learning run; pass --resume to continue it, or another --output")
        self.config = config
        self.conversations = load_stream(config)
        digest = dataset_hash(self.conversations)
        if resume and digest != self.record.dataset_hash:
            raise ConfigError("--resume: the conversations differ from the recorded run's (dataset hash changed)")
        imported = None
        if config.import_memory and not resume:
            try:
                text = Path(config.import_memory).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"--import-memory: cannot read {config.import_memory}: {exc}") from None
            imported = import_json(text)  # validated before anything is created
        if config.memory is not None:
            self.store = MemoryStore(config.memory, config.memory_name)
            out.mkdir(parents=True, exist_ok=True)
        else:
            out.mkdir(parents=True, exist_ok=True)
            self.store = MemoryStore(f"sqlite:///{(out / MEMORY_DB).resolve()}", config.memory_name)
        try:
            if imported is not None:
                self.store.load(imported)
            if not resume:
                from crm_env import __version__

                self.record = LearnRecord(
                    package_version=__version__, python=platform.python_version(),
                    config=config.model_copy(update={"memory": mask_url(config.memory),
                                                     "base_url": mask_url(config.base_url),
                                                     "teacher_base_url": mask_url(config.teacher_base_url),
                                                     "judge_model": mask_spec(config.judge_model),
                                                     "arbiter_model": mask_spec(config.arbiter_model)}),
                    dataset_hash=digest,
                    splits_read=[source(config.dataset, config.split)],
                    simulated=config.simulated, memory_start_version=self.store.state().version)
                write_json_atomic(out / RUN_FILE, self.record.model_dump(mode="json"))
            self.log = EventLog(out / EVENTS_FILE)
            self.state = self._reconcile()
            self._pending: list[Change] = []  # deltas learned but not yet stored (group commit)
            self._pending_from = self.state.version
            self._pending_state = self.state
            self._flushed = time.monotonic()
        except BaseException:
            self.store.close()
            raise

    def _recorded(self, config: LearnConfig, given: dict[str, Any]) -> LearnConfig:
        path = self.out / RUN_FILE
        if not path.is_file():
            raise ConfigError(f"--resume: {path} does not exist; start the run without --resume")
        self.record = LearnRecord.model_validate_json(path.read_text(encoding="utf-8"))
        recorded = resumed(self.record.config, {k: v for k, v in given.items() if k != "memory"}, _RESUMABLE)
        memory = given.get("memory", recorded.memory)
        if memory is not None and memory != recorded.memory and mask_url(memory) != recorded.memory:
            raise ConfigError(f"--resume: --memory names another memory than the recorded {recorded.memory}")
        if memory is not None and "***" in memory:
            raise ConfigError("--resume: the recorded memory URL has a masked password; give --memory URL again")
        recorded = recorded.model_copy(update={"memory": memory})
        return recorded.local_copy() if recorded.executor == "local" else recorded

    def _reconcile(self) -> PlaybookState:
        """Cut the events of an unfinished episode; store deltas the events hold and the memory lacks."""
        events = self.log.events
        ends = [i for i, e in enumerate(events) if isinstance(e, EpisodeEnd)]
        self.log.truncate(ends[-1] + 1 if ends else 0)
        expected = events[ends[-1]].memory_version if ends else self.record.memory_start_version
        state = self.store.state()
        if state.version > expected:
            raise ConfigError(f"the memory is at version {state.version} but this run's events end at version "
                              f"{expected}: another writer changed it; give each learning run its own --memory")
        missing = [e.delta for e in self.log.events if isinstance(e, MemoryDelta) and e.delta.version > state.version]
        if missing:
            stored = self.store.extend([d.change for d in missing], at_version=state.version)
            if stored != missing:
                raise ConfigError("the memory and this run's events disagree; use a new run directory")
            state = self.store.state()
        if state.version != expected:
            raise ConfigError(f"the memory is at version {state.version}, the run's events at {expected}")
        return state

    @property
    def done(self) -> int:
        return sum(isinstance(e, EpisodeEnd) for e in self.log.events)

    def commit(self, record: EpisodeRecord, at_version: int) -> None:
        """An episode's events and memory deltas, by group commit (see the module docstring); ``at_version``
        is the memory's version before the episode's deltas."""
        self.log.extend(record.events)
        if not self._pending:
            self._pending_from = at_version
        self._pending.extend(d.change for d in record.deltas)
        self._pending_state = record.state
        if time.monotonic() - self._flushed >= SYNC_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Sync the events, then store the deltas learned since the last flush in one transaction."""
        self.log.sync()
        if self._pending:
            self.store.extend(self._pending, at_version=self._pending_from, folded=self._pending_state)
            self._pending = []
        self._flushed = time.monotonic()

    def close(self) -> None:
        self.log.close()
        self.store.close()


def run_learning(config: LearnConfig, out: Path, *, resume: bool = False, given: dict[str, Any] | None = None,
                 progress: bool = True, stream: TextIO | None = None, console: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) a learning run and write its memory export and summary; returns the summary."""
    from crm_env.agents import build_agent
    from crm_env.eval.prices import PriceTable
    from crm_env.eval.progress import Progress
    from crm_env.learning.llm_teacher import build_teacher
    from crm_env.learning.loop import LearningLoop
    from crm_env.learning.schedule import Scheduler, TaggedCache, judge_grades

    console = console or sys.stdout
    stopped = False
    if not resume:  # a missing API key or a bad price file is refused before anything is written
        PriceTable.from_file(config.prices)
        if not config.simulated:
            build_agent(config.student, model=config.model, base_url=config.base_url, timeout=config.timeout)
        build_teacher(config.teacher, config.teacher_model, config.teacher_base_url, config.timeout)
        build_judges(config)
    scale = _scale_out(config) if not resume else None  # a Ray cluster is reached before anything is written
    try:
        run = LearningRun(config, out, resume=resume, given=given)
    except BaseException:
        _close(scale)
        raise
    config = run.config
    try:
        scale = scale or _scale_out(config)
        if config.simulated:
            print("NOTE: the scripted student is SIMULATED: its mistakes and its response to guidance are "
                  "scripted, so this run tests the learning machinery and supports no claim that guidance "
                  "helps a model.", file=console, flush=True)
        if config.teacher in ("rule", "placebo"):
            print(f"NOTE: the {config.teacher} teacher is SIMULATED supervision: fixed rules, not a model"
                  + (", and its takeovers replay the reference calls" if config.lane in ("escalate", "adaptive")
                     else "") + ".", file=console, flush=True)
        in_flight = scale.workers * scale.slots if scale is not None else config.concurrency
        if in_flight > config.lag + 1:
            print(f"NOTE: {in_flight} episode(s) in flight with --lag {config.lag}: at most {config.lag + 1} "
                  "episode(s) run at once (each plays with what was learned up to lag + 1 episodes before it)",
                  file=console, flush=True)
        if scale is not None:
            print(scale.describe(), file=console, flush=True)
        print(f"learning on {len(run.conversations)} conversation(s) of {run.record.splits_read[0]}: "
              f"{config.episodes} episode(s), lane {config.lane}, teacher {config.teacher} -> {out}",
              file=console, flush=True)
        prices = PriceTable.from_file(config.prices)

        cache = TaggedCache()
        for event in run.log.events:  # the grades the run already holds, as an uninterrupted run's cache would
            if isinstance(event, JudgeSamples):
                for key, grade in judge_grades(event.samples, event.arbiter):
                    cache.put(key, int(event.episode_id.partition(":")[0]), grade)
        slots: list[LearningLoop] = []
        bar = Progress(config.episodes, stream=stream, enabled=progress, done=min(run.done, config.episodes),
                       label="learn")
        try:
            # on Ray, the one local slot only learns: the workers play
            slots.extend(build_loop(config, run.conversations, prices) for _ in range(1 if scale else config.concurrency))
            remote = scale.learn_pool(config, run.conversations, prices) if scale is not None else None
            scheduler = Scheduler(slots, config.lag, cache, remote)
            scheduler.prime(run.log.events, run.store.state, run.record.memory_start_version)
            total, played = spent(run.log.events), run.done

            def learned(record: EpisodeRecord) -> None:
                nonlocal total, played
                run.commit(record, scheduler.state.version)
                cost = spent(record.events)
                total, played = total + cost, played + 1
                bar.update(strict=record.strict, cost=cost, infra=False)

            def episode_of(index: int) -> tuple[Conversation, int]:
                return stream_order(run.conversations, config.seed, index), episode_seed_of(config.seed, index)

            try:
                with long_lived():
                    stopped = not scheduler.run(run.done, config.episodes, episode_of, lambda: run.log.next_seq,
                                                learned, lambda flying: not over_budget(total, played, config.budget_usd,
                                                                                        flying))
            except InfrastructureError as exc:
                failed = stream_order(run.conversations, config.seed, run.done).conversation_id
                raise RunStopped(f"episode {run.done} ({failed}): {exc}; the {run.done} episode(s) before it are "
                                 "saved: run again with --resume") from exc
            state = scheduler.state
        finally:
            bar.close()
            for each in slots:
                each.env.close()
        run.flush()  # an interrupted run's last deltas are stored from its events by --resume instead
        write_text_atomic(out / MEMORY_FILE, export_json(run.store.deltas()))
        summary = summarize(run.log.events, state, config)
        summary["stopped_by_budget"] = stopped
        write_json_atomic(out / SUMMARY_FILE, summary)
    finally:
        run.close()
        _close(scale)
    if stopped:
        print(f"stopped: the next episode would pass --budget-usd {config.budget_usd} (spent "
              f"${spent(run.log.events):.4f}); resume with a higher --budget-usd", file=console)
    print(headline(summary), file=console)
    print(f"run: {out}", file=console, flush=True)
    return summary


def _scale_out(config: LearnConfig) -> Any:
    """The run's Ray cluster (``crm_env.integrations.ray.ScaleOut``), or None for a local run."""
    if config.executor != "ray":
        return None
    from crm_env.integrations.ray import ScaleOut

    return ScaleOut(config)


def _close(scale: Any) -> None:
    if scale is not None:
        scale.close()


def build_loop(config: LearnConfig, conversations: list[Conversation], prices: Any) -> Any:
    """A ``LearningLoop`` for one concurrent episode: its own env, teacher and judge clients."""
    from crm_env.agents import build_agent
    from crm_env.envs.env import CrmEnv
    from crm_env.learning.llm_teacher import build_teacher
    from crm_env.learning.loop import LearningLoop

    def student(conv: Conversation, seed: int) -> Any:
        return build_agent(config.student, conversations=[conv], model=config.model, base_url=config.base_url,
                           seed=seed, timeout=config.timeout)

    env = CrmEnv(dataset=conversations, split=None, backend=config.backend, conversation_seed=None)
    teacher = build_teacher(config.teacher, config.teacher_model, config.teacher_base_url, config.timeout)
    return LearningLoop(env, student, teacher, lane=config.lane, seed=config.seed, budget_tokens=config.budget_tokens,
                        prices=prices, judges=build_judges(config))


def build_judges(config: LearnConfig) -> Any:
    """The run's judge panel (None without ``--judge-model``); a missing key is a ConfigError."""
    if config.judge_model is None:
        if config.arbiter_model is not None:
            raise ConfigError("--arbiter-model settles disagreements between judges: give --judge-model too")
        return None
    from crm_env.learning.judges import JudgePanel

    return JudgePanel.from_specs(config.judge_model, config.judge_samples, config.arbiter_model, config.timeout)


def mask_spec(spec: str | None) -> str | None:
    """A judge spec with any password in its base URL masked."""
    if not spec or "@" not in spec:
        return spec
    head, _, url = spec.partition("@")
    return f"{head}@{mask_url(url)}"


def window_versions(ends: list[EpisodeEnd]) -> list[int]:
    """The memory's version at the end of each whole window of ``WINDOW`` episodes (from their ends)."""
    return [ends[(w + 1) * WINDOW - 1].memory_version for w in range(len(ends) // WINDOW)]


def spent(events: list[Any]) -> float:
    """USD spent by every role in the episodes of ``events``."""
    return sum(u.cost_usd for e in events if isinstance(e, EpisodeEnd) for u in e.usage.values())


def over_budget(total: float, episodes: int, budget: float | None, in_flight: int = 0) -> bool:
    """Whether another episode, with ``in_flight`` ones still running, each costing what the ``episodes``
    so far cost on average, would pass ``budget``."""
    return budget is not None and total + (in_flight + 1) * (total / episodes if episodes else 0.0) > budget
