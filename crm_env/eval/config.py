"""The typed configuration of an evaluation run, and ``run.json``, its record.

``RunConfig`` is what the CLI parses into and what the runner reads; ``RunRecord`` is written to
``run.json``: the exact configuration plus the package version, the dataset's content hash, the
conversation ids and the model names. Secrets never enter either: API keys are read from environment
variables by the agents and judge at call time, and passwords in URLs are masked before recording.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_env.datasets.format import Conversation
from crm_env.datasets.loader import HELD_OUT_SPLITS, source, to_jsonl
from crm_env.errors import ConfigError
from crm_env.eval.executor import EXECUTOR_FIELDS, ExecutorFields
from crm_env.rewards.arbiter import DEFAULT_AUDIT_RATE, DEFAULT_JUDGE_MODE, JudgeMode, check_judge_mode

AgentKind = Literal["replay", "scripted", "claude", "openai"]
LLM_AGENTS: frozenset[str] = frozenset({"claude", "openai"})
RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
DEFAULT_JUDGE = {"claude": "anthropic:claude-3-5-haiku-latest", "openai": "openai:gpt-4.1-mini"}
# Fields that may change between a run and its --resume: they do not change any episode's outcome.
RESUMABLE_OVERRIDES = frozenset({"concurrency", "budget_usd", "output", "progress", "timeout"}) | EXECUTOR_FIELDS


class RunConfig(ExecutorFields):
    """Everything that determines an evaluation run (see ``crm-env eval --help`` for each flag); where its
    episodes are played (``ExecutorFields``) changes no outcome."""

    model_config = ConfigDict(extra="forbid")

    agent: AgentKind = "scripted"
    model: str | None = None
    base_url: str | None = None
    dataset: str = "arc-crm-1200"
    split: str | None = "eval-400"
    conversations: str | None = None  # a JSONL path; replaces dataset/split
    sample: int | None = Field(default=None, ge=1)
    seed: int = 0
    backend: str = "memory"
    trials: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=8, ge=1, le=1024)
    output: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_output_tokens: int = Field(default=800, ge=1)
    judge: bool = False
    judge_model: str | None = None  # "openai:MODEL[@URL]", "anthropic:MODEL" or a bare model name
    judge_mode: JudgeMode = DEFAULT_JUDGE_MODE  # see crm_env.rewards.arbiter
    judge_audit_rate: float = DEFAULT_AUDIT_RATE
    budget_usd: float | None = Field(default=None, gt=0)
    prices: str | None = None
    max_tool_calls: int = Field(default=10, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    progress: bool = True

    @field_validator("judge_mode", mode="before")
    @classmethod
    def _known_mode(cls, mode: Any) -> Any:
        check_judge_mode(mode)  # a ConfigError saying which modes exist
        return mode

    @field_validator("judge_audit_rate", mode="before")
    @classmethod
    def _rate(cls, rate: Any) -> Any:
        check_judge_mode(DEFAULT_JUDGE_MODE, rate)
        return rate

    @model_validator(mode="after")
    def _audit_needs_judge(self) -> RunConfig:
        if self.judge_mode == "audit" and not self.judge:
            raise ConfigError("--judge-mode audit needs a judge: add --judge (and --judge-model), "
                              "or leave --judge-mode at 'undecided'")
        return self

    @property
    def simulated(self) -> bool:
        return self.agent not in LLM_AGENTS

    @property
    def reads_held_out(self) -> bool:
        """Whether the run evaluates a held-out split (named with ``--split``)."""
        return not self.conversations and self.split in HELD_OUT_SPLITS

    def agent_model(self) -> str | None:
        """The model the agent asks for (None for offline agents)."""
        if self.agent not in LLM_AGENTS:
            return None
        if self.model:
            return self.model
        if self.agent == "claude":
            from crm_env.agents.anthropic_agent import DEFAULT_MODEL
        else:
            from crm_env.agents.openai_agent import DEFAULT_MODEL
        return DEFAULT_MODEL

    def judge_spec(self) -> str | None:
        """The ``Judge.from_spec`` spec, or None without a judge."""
        if not self.judge:
            return None
        spec = self.judge_model or DEFAULT_JUDGE["claude" if self.agent == "claude" else "openai"]
        if ":" in spec.split("@", 1)[0]:
            return spec
        # A bare model name: the agent's provider (and, for OpenAI-compatible servers, its base URL).
        if self.agent == "claude":
            return f"anthropic:{spec}"
        return f"openai:{spec}" + (f"@{self.base_url}" if self.base_url else "")

    def output_dir(self) -> Path:
        if self.output:
            return Path(self.output)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return Path("runs") / f"{self.agent}-{self.model or 'default'}-{stamp}".replace("/", "_").replace(":", "_")


class RunRecord(BaseModel):
    """The content of ``run.json``."""

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = 1
    package_version: str
    python: str
    config: RunConfig
    dataset_hash: str
    conversation_ids: list[str]
    agent_model: str | None
    judge_model: str | None
    simulated: bool
    prices: dict[str, dict[str, float | None]]
    splits_read: list[str] = []  # where the conversations came from (``datasets.loader.source``)


def mask_url(url: str | None) -> str | None:
    """The URL with any password replaced by ``***`` (user names and hosts stay)."""
    if not url or "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def recorded(config: RunConfig) -> RunConfig:
    """The config as it may be written down: URLs masked."""
    return config.model_copy(update={"backend": mask_url(config.backend), "base_url": mask_url(config.base_url),
                                     "judge_model": mask_url(config.judge_model)})


def dataset_hash(conversations: list[Conversation]) -> str:
    """SHA-256 of the conversations' canonical JSONL, in run order."""
    return "sha256:" + hashlib.sha256(to_jsonl(conversations)).hexdigest()


def select_conversations(config: RunConfig) -> list[Conversation]:
    """The conversations a run evaluates: the dataset (or file), then a seeded sample when asked.

    Raises:
        ConfigError: Nothing to evaluate, or the sample is larger than the set.
    """
    from crm_env.datasets import load

    if config.conversations:
        conversations = load(config.conversations)
    else:  # an evaluation is the one reader of a held-out split, and only when it names it
        conversations = load(config.dataset, split=config.split, allow_held_out=config.reads_held_out)
    if not conversations:
        raise ConfigError("no conversations to evaluate")
    if config.sample is not None:
        if config.sample > len(conversations):
            raise ConfigError(f"--sample {config.sample} exceeds the {len(conversations)} conversations available")
        picked = np.random.default_rng(config.seed).choice(len(conversations), config.sample, replace=False)
        conversations = [conversations[i] for i in sorted(int(i) for i in picked)]
    return conversations


def make_record(config: RunConfig, conversations: list[Conversation], prices: dict) -> RunRecord:
    from crm_env import __version__

    judge = config.judge_spec()
    return RunRecord(
        package_version=__version__, python=platform.python_version(), config=recorded(config),
        dataset_hash=dataset_hash(conversations), conversation_ids=[c.conversation_id for c in conversations],
        agent_model=config.agent_model(), judge_model=mask_url(judge), simulated=config.simulated, prices=prices,
        splits_read=[source(config.conversations) if config.conversations else source(config.dataset, config.split)],
    )


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False))


def write_text_atomic(path: Path, text: str) -> None:
    """Write text (and a final newline) through a synced temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_record(run_dir: Path) -> RunRecord | None:
    path = run_dir / RUN_FILE
    if not path.is_file():
        return None
    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))


def resume_config(previous: RunRecord, given: dict[str, Any]) -> RunConfig:
    """The config to resume with: the recorded one, plus the flags given now that may change.

    Args:
        previous: The recorded run.
        given: The flags given explicitly on this invocation (field name → value).

    Raises:
        ConfigError: A flag given now contradicts the recorded run, or a masked URL must be given again.
    """
    base = previous.config
    clashes = []
    for name, value in sorted(given.items()):
        if name in RESUMABLE_OVERRIDES or name not in RunConfig.model_fields:
            continue
        shown = mask_url(value) if name in ("backend", "base_url", "judge_model") else value
        if shown != getattr(base, name):
            clashes.append(f"--{name.replace('_', '-')} (recorded {getattr(base, name)!r}, given {shown!r})")
    if clashes:
        raise ConfigError(f"--resume continues the recorded run; these flags differ from it: {', '.join(clashes)}")
    merged = base.model_copy(update={k: v for k, v in given.items() if k in RunConfig.model_fields})
    if merged.executor == "local":  # a Ray run resumed in this process: its Ray settings no longer apply
        merged = merged.local_copy()
    for name in ("backend", "base_url", "judge_model"):
        if "***" in (getattr(merged, name) or ""):
            raise ConfigError(f"--resume: the recorded --{name.replace('_', '-')} had a password; give it again")
    return merged
