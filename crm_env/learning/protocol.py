"""The uplift protocol (``crm-env learn evaluate``): is the student more reliable, on conversations it never
learned from, with what it learned? Fixed before any figure is seen (pre-registered):

- ``baseline/``: the student alone, no memory, on the held-out ``test`` split, ``trials`` trials each;
- ``learning-R/``: the learning loop on the ``train`` split in ordering R (run seed ``seed + R``), from an
  empty memory; its per-window success is scored before the loop learns from each episode (prequential);
- ``frozen-R/``: the student with ordering R's final memory (``crm_env.learning.guided``: no teacher, nothing
  learned) on the baseline's conversations, trials and episode seeds, so every comparison is paired;
- ``supervised/``: the student alone with the teacher reviewing every write before the CRM sees it (the
  ``paired`` lane, ``crm_env.learning.supervised``): the teacher-always-on upper reference, costed;
- ``placebo-R/``: the same with that memory's placebo (same cues and sizes, neutral words): a control that
  must stay within noise of the baseline;
- ``ablate-R-ENTRY/``: the frozen memory without one entry, for the ``ablate`` entries injected most while
  learning: an entry's impact is frozen − ablated, measured by removing it rather than read off the
  correlations of the learning run.

Forgetting: ``probe-R-W/`` re-scores a fixed seeded sample of ``probe`` train conversations with the memory
as it stood after each window of ordering R's learning run (its version read off the run's events), so
a turn that an update broke shows up as a probe turn that got worse.

Transfer: with ``hold_out_intents`` the learning runs skip every train conversation with a turn of those
intents, and the held-out uplift is reported apart on the turns of those intents.

Cost: with ``budget_usd`` each phase gets what is left of it (``spent``: every phase's results and learning
events so far); a phase stopped by it, or with episodes lost to the provider, stops the protocol
(``RunStopped``) and ``--resume`` continues.

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

from crm_env.datasets.intents import Intents
from crm_env.errors import ConfigError
from crm_env.eval.config import RunConfig, mask_url, write_json_atomic
from crm_env.learning.retrieval import DEFAULT_BUDGET_TOKENS

PROTOCOL_FILE = "protocol.json"
LEARN_SPLIT, TEST_SPLIT = "train", "test"
BASELINE, SUPERVISED = "baseline", "supervised"
_RESUMABLE = frozenset({"concurrency", "budget_usd", "timeout"})  # flags a resume may change


class ProtocolConfig(BaseModel):
    """What ``crm-env learn evaluate`` does (its flags)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: Literal["scripted", "claude", "openai"] = "scripted"
    model: str | None = None
    base_url: str | None = None
    timeout: float = Field(default=60.0, gt=0)
    prices: str | None = None
    budget_usd: float | None = Field(default=None, gt=0)  # every phase and role together
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
    hold_out_intents: Intents = ()  # never learned from; their held-out score reported apart
    probe: int = Field(default=20, ge=0, le=10_000)  # train conversations re-scored after each window (forgetting)

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
        from crm_env.learning.run import resumed

        return resumed(ProtocolRecord.model_validate_json(path.read_text(encoding="utf-8")).config, given, _RESUMABLE)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; pass --resume to continue the protocol there, or another --output")
    from crm_env import __version__

    out.mkdir(parents=True, exist_ok=True)
    record = ProtocolRecord(package_version=__version__, python=platform.python_version(),
                            config=config.model_copy(update={"base_url": mask_url(config.base_url)}),
                            simulated=config.simulated,
                            splits_read=[f"{config.dataset}:{LEARN_SPLIT}", f"{config.dataset}:{TEST_SPLIT}"])
    write_json_atomic(path, record.model_dump(mode="json"))
    return config


def eval_config(config: ProtocolConfig, out: Path, progress: bool, probe: bool = False,
                budget: float | None = None) -> RunConfig:
    """The evaluation every held-out phase runs (same conversations, trials and seeds), or a probe's."""
    return RunConfig(agent=config.student, model=config.model, base_url=config.base_url, timeout=config.timeout,
                     prices=config.prices, budget_usd=budget, dataset=config.dataset,
                     split=LEARN_SPLIT if probe else TEST_SPLIT, sample=config.probe if probe else config.sample,
                     seed=config.seed, backend=config.backend, trials=1 if probe else config.trials,
                     concurrency=config.concurrency, output=str(out), progress=progress)


def spent(out: Path) -> float:
    """USD spent so far by every phase and role of the protocol in ``out``."""
    from crm_env.eval.config import RESULTS_FILE
    from crm_env.eval.results import load_results
    from crm_env.learning.events import read_events
    from crm_env.learning.run import EVENTS_FILE
    from crm_env.learning.run import spent as learning_spent

    total = 0.0
    for phase in sorted(p for p in out.iterdir() if p.is_dir()):
        if (phase / RESULTS_FILE).is_file():
            total += sum(line.cost_usd for line in load_results(phase / RESULTS_FILE).lines.values())
        if (phase / EVENTS_FILE).is_file():
            total += learning_spent(read_events(phase / EVENTS_FILE)[0])
    return total


def learned_windows(learning_dir: Path) -> list[int]:
    """The memory's version at the end of each whole window of a learning run (from its events)."""
    from crm_env.learning.events import EpisodeEnd, read_events
    from crm_env.learning.run import EVENTS_FILE, window_versions

    return window_versions([e for e in read_events(learning_dir / EVENTS_FILE)[0] if isinstance(e, EpisodeEnd)])


def run_protocol(config: ProtocolConfig, out: Path, *, resume: bool = False, given: dict[str, Any] | None = None,
                 progress: bool = True, console: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) every phase, then write ``summary.json`` and ``report.md``; returns the summary.

    Raises:
        ConfigError: A used directory without ``--resume``, a clash with the recorded protocol, or a phase's
            own configuration error.
    """
    from crm_env.eval.job import run_eval
    from crm_env.eval.runner import default_agent_factory
    from crm_env.learning.guided import PlaybookAgent, ablated, placebo, retrieved, without
    from crm_env.learning.llm_teacher import build_teacher
    from crm_env.learning.memory import fold, import_json
    from crm_env.learning.retrieval import Retriever
    from crm_env.learning.run import MEMORY_FILE, RUN_FILE, LearnConfig, RunStopped, run_learning
    from crm_env.learning.supervised import SupervisedAgent
    from crm_env.learning.uplift import summarize_protocol, write_outputs
    from crm_env.learning.uplift_report import headline

    console = console or sys.stdout
    config = _record(config, out, resume, given or {})
    if config.simulated:
        print("NOTE: SIMULATED student and teacher: this protocol run tests the machinery; its uplift is the "
              "scripted student's response to guidance and supports no claim that learning helps a model.",
              file=console, flush=True)
    quiet = io.StringIO()  # each phase's own notices and headline: the protocol prints its own

    def remaining() -> float | None:
        return None if config.budget_usd is None else max(config.budget_usd - spent(out), 1e-9)

    def evaluate(phase: str, state: Any = None, probe: bool = False, supervised: bool = False) -> None:
        directory = out / phase
        run_config = eval_config(config, directory, progress, probe, remaining())
        factory = None
        base = default_agent_factory(run_config)
        if state is not None:
            retriever = Retriever(state.entries.values())
            factory = lambda conv, trial, seed: PlaybookAgent(base(conv, trial, seed),
                                                               retrieved(retriever, config.budget_tokens))
        elif supervised:
            teacher = build_teacher(config.teacher, None, None, config.timeout)
            factory = lambda conv, trial, seed: SupervisedAgent(base(conv, trial, seed), teacher)
        print(f"[{phase}] held-out evaluation -> {directory}", file=console, flush=True)
        resume = (directory / "run.json").is_file()
        given = {"budget_usd": run_config.budget_usd, "timeout": config.timeout} if resume else {}
        summary = run_eval(run_config, resume=resume, given=given, agent_factory=factory, out=quiet)
        episodes = summary["episodes"]
        if summary.get("stopped_by_budget") or episodes["infra_errors"] or not episodes["completed"] \
                or episodes["completed"] < (episodes["planned"] or 0):
            why = "--budget-usd is spent" if summary.get("stopped_by_budget") else \
                f"{episodes['infra_errors']} episode(s) failed for infrastructure reasons"
            raise RunStopped(f"phase {phase} is incomplete: {why}; run again with --resume (and a higher "
                             "--budget-usd if that was it)")

    evaluate(BASELINE)
    evaluate(SUPERVISED, supervised=True)
    for r in range(config.orderings):
        directory = out / f"learning-{r}"
        learn = LearnConfig(student=config.student, model=config.model, base_url=config.base_url,
                            timeout=config.timeout, prices=config.prices, budget_usd=remaining(),
                            teacher=config.teacher, dataset=config.dataset,
                            split=LEARN_SPLIT, episodes=config.episodes, seed=config.seed + r,
                            backend=config.backend, budget_tokens=config.budget_tokens,
                            exclude_intents=config.hold_out_intents)
        print(f"[learning-{r}] {config.episodes} episode(s) on {LEARN_SPLIT}, seed {config.seed + r} -> {directory}",
              file=console, flush=True)
        resume = (directory / RUN_FILE).is_file()
        learned = run_learning(learn, directory, resume=resume, progress=progress, console=quiet,
                               given={"budget_usd": learn.budget_usd, "timeout": learn.timeout} if resume else {})
        if learned["stopped_by_budget"]:
            raise RunStopped(f"phase learning-{r} is incomplete: --budget-usd is spent; run again with --resume "
                             "and a higher --budget-usd")
        deltas = import_json((directory / MEMORY_FILE).read_text(encoding="utf-8"))
        state = fold(deltas)
        if config.probe:
            for w, version in enumerate(learned_windows(directory)):
                evaluate(f"probe-{r}-{w}", fold(deltas, version), probe=True)
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

