"""The uplift protocol (``crm-env learn evaluate``): is the student more reliable, on conversations it never
learned from, with what it learned? Fixed before any figure is seen (pre-registered):

- ``baseline/``: the student alone, no memory, on the held-out ``test`` split, ``trials`` trials each;
- ``learning-R/``: the learning loop on the ``train`` split in ordering R (run seed ``seed + R``), from an
  empty memory; its per-window success is scored before the loop learns from each episode (prequential);
- ``frozen-R/``: the student with ordering R's final memory (``crm_env.learning.guided``: no teacher, nothing
  learned) on the baseline's conversations, trials and episode seeds, so every comparison is paired;
- ``placebo-R/``: the same with that memory's placebo (same cues and sizes, neutral words): a control that
  must stay within noise of the baseline;
- ``ablate-R-ENTRY/``: the frozen memory without one entry, for the ``ablate`` entries injected most while
  learning: an entry's impact is frozen − ablated, measured by removing it rather than read off the
  correlations of the learning run.

Each phase is an ordinary run directory (``crm-env eval`` or ``crm-env learn run``), resumed where it
stopped; ``summary.json`` and ``report.md`` are computed from those raw files alone
(``crm_env.learning.uplift``; ``crm-env learn report`` recomputes them).
"""

from __future__ import annotations

import io
import platform
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field

from crm_env.errors import ConfigError
from crm_env.eval.config import RunConfig, write_json_atomic
from crm_env.learning.retrieval import DEFAULT_BUDGET_TOKENS

PROTOCOL_FILE = "protocol.json"
LEARN_SPLIT, TEST_SPLIT = "train", "test"
BASELINE = "baseline"


class ProtocolConfig(BaseModel):
    """What ``crm-env learn evaluate`` does (its flags)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: Literal["scripted"] = "scripted"
    teacher: Literal["rule"] = "rule"
    dataset: Literal["arc-crm-1200"] = "arc-crm-1200"  # the one dataset with a train and a held-out split
    orderings: int = Field(default=3, ge=1, le=50)
    episodes: int = Field(default=300, ge=1, le=1_000_000)
    trials: int = Field(default=3, ge=1, le=100)
    sample: int | None = Field(default=None, ge=1)  # held-out conversations (seeded sample); None: all
    seed: int = Field(default=0, ge=0)
    backend: str = "memory"
    concurrency: int = Field(default=8, ge=1, le=1024)
    budget_tokens: int = Field(default=DEFAULT_BUDGET_TOKENS, ge=1, le=100_000)
    ablate: int = Field(default=3, ge=0, le=100)  # entries ablated per ordering

    @property
    def simulated(self) -> bool:
        return self.student == "scripted"


class ProtocolRecord(BaseModel):
    """The content of ``protocol.json``."""

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = 1
    package_version: str
    python: str
    config: ProtocolConfig
    simulated: bool
    splits_read: list[str]  # learning reads the first, the evaluations the second


def _record(config: ProtocolConfig, out: Path, resume: bool, given: dict[str, Any]) -> ProtocolConfig:
    path = out / PROTOCOL_FILE
    if resume:
        if not path.is_file():
            raise ConfigError(f"--resume: {path} does not exist; start the protocol without --resume")
        recorded = ProtocolRecord.model_validate_json(path.read_text(encoding="utf-8")).config
        clash = [f"--{k.replace('_', '-')} {v} (recorded: {getattr(recorded, k)})" for k, v in given.items()
                 if k != "concurrency" and getattr(recorded, k) != v]
        if clash:
            raise ConfigError(f"--resume: {', '.join(clash)}; resume with the recorded flags or start a new run")
        return recorded.model_copy(update={"concurrency": given.get("concurrency", recorded.concurrency)})
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; pass --resume to continue the protocol there, or another --output")
    from crm_env import __version__

    out.mkdir(parents=True, exist_ok=True)
    record = ProtocolRecord(package_version=__version__, python=platform.python_version(), config=config,
                            simulated=config.simulated,
                            splits_read=[f"{config.dataset}:{LEARN_SPLIT}", f"{config.dataset}:{TEST_SPLIT}"])
    write_json_atomic(path, record.model_dump(mode="json"))
    return config


def eval_config(config: ProtocolConfig, out: Path, progress: bool) -> RunConfig:
    """The evaluation every held-out phase runs: same conversations, trials and seeds."""
    return RunConfig(agent=config.student, dataset=config.dataset, split=TEST_SPLIT, sample=config.sample,
                     seed=config.seed, backend=config.backend, trials=config.trials,
                     concurrency=config.concurrency, output=str(out), progress=progress)


def run_protocol(config: ProtocolConfig, out: Path, *, resume: bool = False, given: dict[str, Any] | None = None,
                 progress: bool = True, console: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) every phase, then write ``summary.json`` and ``report.md``; returns the summary.

    Raises:
        ConfigError: A used directory without ``--resume``, a clash with the recorded protocol, or a phase's
            own configuration error.
    """
    from crm_env.eval.job import run_eval
    from crm_env.eval.runner import default_agent_factory
    from crm_env.learning.guided import PlaybookAgent, ablated, placebo, without
    from crm_env.learning.memory import fold, import_json
    from crm_env.learning.retrieval import Retriever
    from crm_env.learning.run import MEMORY_FILE, RUN_FILE, LearnConfig, run_learning
    from crm_env.learning.uplift import summarize_protocol, write_outputs
    from crm_env.learning.uplift_report import headline

    console = console or sys.stdout
    config = _record(config, out, resume, given or {})
    if config.simulated:
        print("NOTE: SIMULATED student and teacher: this protocol run tests the machinery; its uplift is the "
              "scripted student's response to guidance and supports no claim that learning helps a model.",
              file=console, flush=True)
    quiet = io.StringIO()  # each phase's own notices and headline: the protocol prints its own

    def evaluate(phase: str, state: Any = None) -> None:
        directory = out / phase
        run_config = eval_config(config, directory, progress)
        factory = None
        if state is not None:
            base = default_agent_factory(run_config)
            retriever = Retriever(state.entries.values())
            factory = lambda conv, trial, seed: PlaybookAgent(base(conv, trial, seed), retriever,
                                                               config.budget_tokens)
        print(f"[{phase}] held-out evaluation -> {directory}", file=console, flush=True)
        run_eval(run_config, resume=(directory / "run.json").is_file(), given={}, agent_factory=factory, out=quiet)

    evaluate(BASELINE)
    for r in range(config.orderings):
        directory = out / f"learning-{r}"
        learn = LearnConfig(student=config.student, teacher=config.teacher, dataset=config.dataset,
                            split=LEARN_SPLIT, episodes=config.episodes, seed=config.seed + r,
                            backend=config.backend, budget_tokens=config.budget_tokens)
        print(f"[learning-{r}] {config.episodes} episode(s) on {LEARN_SPLIT}, seed {config.seed + r} -> {directory}",
              file=console, flush=True)
        run_learning(learn, directory, resume=(directory / RUN_FILE).is_file(), given={}, progress=progress,
                     console=quiet)
        state = fold(import_json((directory / MEMORY_FILE).read_text(encoding="utf-8")))
        evaluate(f"frozen-{r}", state)
        evaluate(f"placebo-{r}", placebo(state))
        for entry in ablated(state, config.ablate):
            evaluate(f"ablate-{r}-{entry.id}", without(state, entry.id))
    summary = summarize_protocol(out)
    write_outputs(out, summary)
    print(headline(summary), file=console, flush=True)
    return summary


def write_report(out: Path) -> dict[str, Any]:
    """Recompute ``summary.json`` and ``report.md`` from the phases' raw files (``crm-env learn report``)."""
    from crm_env.learning.uplift import summarize_protocol, write_outputs

    summary = summarize_protocol(out)
    write_outputs(out, summary)
    return summary

