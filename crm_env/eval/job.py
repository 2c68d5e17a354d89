"""``run_eval``: one evaluation job from config to ``summary.json`` and ``report.md``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from crm_env.errors import CrmEnvError
from crm_env.eval.config import RESULTS_FILE, SUMMARY_FILE, RunConfig, read_record, write_json_atomic
from crm_env.eval.metrics import summarize
from crm_env.eval.preflight import claim, preflight
from crm_env.eval.results import LoadedResults, load_results
from crm_env.eval.runner import AgentFactory, EpisodePool, Prepared, SessionOutcome, prepare, run_session


def simulated_notice(config: RunConfig) -> str:
    return (f"NOTE: the '{config.agent}' agent is SIMULATED: an offline stand-in "
            + ("that replays the reference answers (an upper bound, 100 % by construction)"
               if config.agent == "replay" else "that makes seeded, scripted mistakes")
            + ", not a language model. Its scores measure no LLM. Use --agent claude or --agent openai "
              "(with --model, --base-url) to evaluate a model.")


def summarize_run(run_dir: Path, *, seed: int | None = None, loaded: LoadedResults | None = None) -> dict[str, Any]:
    """The summary of a run directory, from ``results.jsonl`` (``loaded``: as already read) and ``run.json``
    for the plan, if present."""
    record = read_record(run_dir)
    if loaded is None:
        loaded = load_results(run_dir / RESULTS_FILE)
    trials = record.config.trials if record else None
    planned = len(record.conversation_ids) * record.config.trials if record else None
    summary = summarize(loaded.lines.values(), trials=trials, planned=planned,
                        seed=seed if seed is not None else (record.config.seed if record else 0))
    if record is not None:
        judge = record.judge_model is not None
        dataset = record.config.conversations or (f"{record.config.dataset}:{record.config.split}"
                                                   if record.config.split else record.config.dataset)
        summary = {"agent": record.config.agent, "agent_model": record.agent_model, "judge_model": record.judge_model,
                   "dataset": dataset,
                   "judge_mode": record.config.judge_mode if judge else None,
                   "judge_audit_rate": record.config.judge_audit_rate
                   if judge and record.config.judge_mode == "audit" else None,
                   "simulated": record.simulated, "dataset_hash": record.dataset_hash,
                   "package_version": record.package_version, **summary}
    return summary


def finish(run_dir: Path, outcome: SessionOutcome | None = None) -> dict[str, Any]:
    """Write ``summary.json`` and the report for a run directory; returns the summary."""
    loaded = load_results(run_dir / RESULTS_FILE)  # read once for the summary and the report
    summary = summarize_run(run_dir, loaded=loaded)
    if outcome is not None:
        summary["stopped_by_budget"] = outcome.stopped_by_budget
    write_json_atomic(run_dir / SUMMARY_FILE, summary)
    try:
        from crm_env.eval.report import write_report
    except ImportError:  # the report needs matplotlib; the summary stands without it
        return summary
    write_report(run_dir, summary, loaded.lines.values())
    return summary


def headline_text(summary: dict[str, Any]) -> str:
    def pct(metric: dict[str, Any]) -> str:
        if metric["value"] is None:
            return "n/a"
        ci = f" [{100 * metric['ci_low']:.1f}, {100 * metric['ci_high']:.1f}]" if metric["ci_low"] is not None else ""
        return f"{100 * metric['value']:.1f} %{ci}"

    episodes = summary["episodes"]
    lines = [
        f"strict success   {pct(summary['strict_success'])}  ({episodes['completed']} episodes, "
        f"{episodes['conversations']} conversations)",
        f"turn success     {pct(summary['turn_success'])}  ({episodes['turns']} turns)",
        f"tool success     {pct(summary['tool_success'])}",
        f"response success {pct(summary['response_success'])}",
        "pass^k           " + ", ".join(f"k={r['k']}: {100 * r['value']:.1f} %" for r in summary["pass_hat_k"]
                                          if r["value"] is not None),
        f"cost             ${summary['usage']['total_cost_usd']:.4f}   wall {summary['wall_time_s']:.1f} s",
    ]
    lines += undecided_text(summary)
    if episodes["infra_errors"]:
        lines.append(f"infrastructure failures: {episodes['infra_errors']} episode(s), excluded from the scores; "
                     "fix the cause, then run the same command with --resume to retry them:")
        causes = Counter(str(f["cause"])[:200] for f in summary.get("infra_failures", ()))
        lines += [f"  {n} × {cause}" for cause, n in causes.most_common(5)]
        if len(causes) > 5:
            lines.append(f"  ... {len(causes) - 5} other cause(s): see report.md")
    if episodes.get("pending"):
        lines.append(f"not run: {episodes['pending']} episode(s) (resume with --resume)")
    return "\n".join(lines)


def undecided_text(summary: dict[str, Any]) -> list[str]:
    """The console lines on undecided checks (and audits): how much a judge changes, or would."""
    block = summary["undecided"]
    turns = block["turns"]
    n = turns["undecided"]
    share = f" ({100 * block['share_of_turns']:.1f} %)" if block["share_of_turns"] is not None else ""
    parts = ", ".join(f"{name} {row['undecided']}" for name, row in block["by_component"].items() if row["undecided"])
    text = f"undecided        {n} turn(s){share}" + (f": {parts}" if parts else "")
    if turns["judge_passed"] or turns["judge_failed"]:
        text += f"; judge passed {turns['judge_passed']}, failed {turns['judge_failed']}"
    if turns["unjudged"]:
        bound = block["turn_success_if_judge_passes_all"]
        text += (f"; {turns['unjudged']} unjudged (no judge): not successes"
                 + (f"; a judge passing them: turn success up to {100 * bound:.1f} %" if bound is not None else ""))
    lines = [text]
    judge = summary["judge"]
    if judge["audited"] or summary.get("judge_mode") == "audit":
        lines.append(f"judge audit      {judge['audited']} passing turn(s) audited, {judge['vetoes']} vetoed")
    return lines


def run_eval(config: RunConfig, *, resume: bool = False, given: dict[str, Any] | None = None,
             agent_factory: AgentFactory | None = None, stream: TextIO | None = None,
             out: TextIO | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation and write its summary and report.

    Args:
        config: The run configuration.
        resume: Continue the run recorded in ``config.output``.
        given: The flags given explicitly (checked against the recorded run on resume).
        agent_factory: Builds the agent of each episode (``build_agent`` from the config when None).
        stream: Where the progress bar goes (stderr).
        out: Where notices and the headline go (stdout).
    """
    out = out or sys.stdout
    prepared: Prepared = prepare(config, resume=resume, given=given)
    preflight(prepared, agent_factory)
    with ExitStack() as stack:
        pool = scale = None
        if prepared.config.executor == "ray":  # the cluster is reached (or refused) before anything is written
            from crm_env.integrations.ray import ScaleOut

            scale = ScaleOut(prepared.config)
            stack.callback(scale.close)
            pool = scale.eval_pool(prepared, agent_factory)
        if not resume:
            claim(prepared, default=not config.output and not (given or {}).get("output"))
        if prepared.config.simulated:
            print(simulated_notice(prepared.config), file=out, flush=True)
        if prepared.config.reads_held_out:
            print(f"reading the held-out {prepared.config.split!r} split: evaluate on it once, for the final "
                  "figures; nothing may learn or tune on it", file=out, flush=True)
        print(f"evaluating {len(prepared.conversations)} conversation(s) × {prepared.config.trials} trial(s) "
              f"on {prepared.record.config.backend} → {prepared.out}", file=out, flush=True)
        if scale is not None:
            print(scale.describe(), file=out, flush=True)
        return _play(prepared, agent_factory, stream, out, pool)


def _play(prepared: Prepared, agent_factory: AgentFactory | None, stream: TextIO | None, out: TextIO,
          pool: EpisodePool | None) -> dict[str, Any]:
    try:
        outcome = asyncio.run(run_session(prepared, agent_factory=agent_factory, stream=stream, pool=pool))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, _exit_now)  # a second Ctrl-C while the report is written: leave at once
        summary = finish(prepared.out)
        print(f"\ninterrupted: {summary['episodes']['completed']} finished episode(s) saved, summary and report "
              f"written to {prepared.out}", file=out, flush=True)
        raise
    except CrmEnvError:  # a refusal every episode would meet: what finished is summarised, then the error
        finish(prepared.out)
        raise
    summary = finish(prepared.out, outcome)
    if outcome.stopped_by_budget:
        print(f"stopped: the projected spend would pass --budget-usd {prepared.config.budget_usd}", file=out)
    print(headline_text(summary), file=out)
    print(f"results: {prepared.out}", file=out, flush=True)
    return summary


def _exit_now(signum: int, frame: object) -> None:
    sys.stderr.write("\ninterrupted again: leaving now (every finished episode is saved; --resume continues)\n")
    sys.stderr.flush()
    os._exit(130)
