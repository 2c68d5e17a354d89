"""Evaluation harness throughput against a fake OpenAI-compatible server with a fixed 100 ms latency.

The server runs in ITS OWN PROCESS (``python -m tests.fakes.providers serve --latency 0.1``: the
oracle behaviour ``tests.fakes.providers.OracleBehaviour``, incremental so an answer costs O(new
messages), not O(history)), so the figures measure the harness, not a fake sharing its GIL. Every
request sleeps 100 ms, then answers as the oracle would, so each episode makes the same requests at
any concurrency. The openai agent (``build_agent("openai", base_url=...)``, what ``crm-env eval
--agent openai --base-url ...`` builds) plays a seeded sample (``--seed 0``) of eval-400.

Sample size: ``CRM_BENCH_EVAL_SAMPLE`` conversations (default ``SAMPLE``; ``0`` or ``all`` = the whole
eval-400). At concurrency 1 each conversation costs ~ (requests × 100 ms) of pure waiting (eval-400:
~2,100 turns × ~2 requests ≈ 7 min), so the default sample keeps the benchmark to about three minutes and
a half; the figures include the extrapolation of the concurrency-1 time to all 400 conversations
(from the sample's requests per conversation), which is what the ratio is about.

Figures: wall time at concurrency 1 and 32, their ratio (target ≥ 20×); the same as a user runs it,
``crm-env eval`` in a new process from start to exit (target ≥ 15×); and the harness's own CPU
time per turn at concurrency 32 (process CPU time: runner, agent, SDK, env and reward; the fake
server's process is excluded), plus the fake server's CPU per request for reference; and, offline, the
runner's own time per turn with the replay agent on eval-400: the session's wall time minus the time
spent in the env's ``reset`` / ``step`` (target 0.1 ms; the agent's time counts as the runner's).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import Figure

SAMPLE = 96
LATENCY_S = 0.1
MODEL = "gpt-4.1-mini"


def _sample() -> int | None:
    raw = os.environ.get("CRM_BENCH_EVAL_SAMPLE", "").strip().lower()
    if not raw:
        return SAMPLE
    return None if raw in ("0", "all") else int(raw)


class FakeServer:
    """``python -m tests.fakes.providers serve`` in a child process; ``url`` once started."""

    def __init__(self, root: Path, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.providers", "serve", "--kind", "openai", "--model", MODEL,
             "--latency", str(latency)],
            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the fake server did not start (got {self.url!r})")

    def cpu_s(self) -> float:
        """The server process's CPU time so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def __enter__(self) -> FakeServer:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run(concurrency: int, out: Path, server: FakeServer, sample: int | None) -> dict[str, float]:
    from crm_env.agents import build_agent
    from crm_env.eval.config import RunConfig
    from crm_env.eval.job import run_eval

    config = RunConfig(agent="openai", model=MODEL, base_url=server.url, sample=sample, seed=0,
                       concurrency=concurrency, output=str(out), progress=False)

    def factory(conv, trial, seed):
        return build_agent("openai", model=config.model, base_url=server.url, seed=seed, timeout=30.0)

    server_cpu = server.cpu_s()
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_eval(config, agent_factory=factory, out=io.StringIO())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    episodes = summary["episodes"]
    assert episodes["infra_errors"] == 0 and episodes["completed"] == episodes["conversations"], episodes
    assert summary["strict_success"]["value"] == 1.0, summary["strict_success"]  # the oracle answered
    requests = summary["usage"]["by_role"]["agent"]["calls"]
    return {"wall": wall, "cpu": cpu, "turns": episodes["turns"], "convs": episodes["conversations"],
            "requests": requests, "server_cpu": server.cpu_s() - server_cpu}


def _whole_process(concurrency: int, out: Path, server: FakeServer, sample: int | None, root: Path) -> float:
    """Seconds ``crm-env eval --agent openai`` takes as a user runs it: a new process, start to exit."""
    args = [sys.executable, "-m", "crm_env.cli.main", "eval", "--agent", "openai", "--model", MODEL, "--base-url",
            server.url, "--seed", "0", "--concurrency", str(concurrency), "--output", str(out), "--no-progress"]
    if sample is not None:
        args += ["--sample", str(sample)]
    started = time.perf_counter()
    subprocess.run(args, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _runner_overhead() -> tuple[float, float, int]:
    """(seconds per turn the replay run spends outside the env and the agent, the same outside the env only,
    turns) on eval-400 in memory."""
    from crm_env.agents.replay import ReplayAgent
    from crm_env.envs.env import CrmEnv
    from crm_env.eval.config import RunConfig
    from crm_env.eval.job import run_eval

    in_env, in_agent = [0.0], [0.0]
    originals = {(CrmEnv, "reset"): in_env, (CrmEnv, "step"): in_env, (ReplayAgent, "act"): in_agent}

    def timed(method, total):  # type: ignore[no-untyped-def]
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                total[0] += time.perf_counter() - started
        return wrapper

    methods = {(cls, name): getattr(cls, name) for cls, name in originals}
    with tempfile.TemporaryDirectory() as tmp:
        run_eval(RunConfig(agent="replay", sample=8, output=str(Path(tmp) / "warm"), progress=False), out=io.StringIO())
        for (cls, name), method in methods.items():
            setattr(cls, name, timed(method, originals[(cls, name)]))
        try:
            summary = run_eval(RunConfig(agent="replay", output=str(Path(tmp) / "run"), progress=False),
                               out=io.StringIO())
        finally:
            for (cls, name), method in methods.items():
                setattr(cls, name, method)
    turns = summary["episodes"]["turns"]
    # the session's span (first episode start to last finish): the summary and report come after it
    outside_env = summary["wall_time_s"] - in_env[0]
    return (outside_env - in_agent[0]) / turns, outside_env / turns, turns


def run() -> list[Figure]:
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    sample = _sample()
    with FakeServer(root, LATENCY_S) as server, tempfile.TemporaryDirectory() as tmp:
        _run(8, Path(tmp) / "warm", server, 8)  # imports, dataset cache, first connections
        fast = _run(32, Path(tmp) / "c32", server, sample)
        slow = _run(1, Path(tmp) / "c1", server, sample)
        whole_fast = _whole_process(32, Path(tmp) / "p32", server, sample, root)
        whole_slow = _whole_process(1, Path(tmp) / "p1", server, sample, root)
    n, turns = fast["convs"], fast["turns"]
    overhead, with_agent, replay_turns = _runner_overhead()
    figures = [
        Figure(f"eval runner's own time per turn, outside env and agent, replay agent, eval-400 ({replay_turns} "
               "turns)", 1e3 * overhead, "ms", 0.1, higher_is_better=False),
        Figure("eval time per turn outside the env (runner and the replay agent's replies)", 1e3 * with_agent, "ms",
               higher_is_better=False),
        Figure(f"eval wall time, openai agent, {n} convs ({turns} turns), concurrency 1", slow["wall"], "s",
               higher_is_better=False),
        Figure(f"eval wall time, openai agent, {n} convs, concurrency 32", fast["wall"], "s",
               higher_is_better=False),
        Figure("eval speed-up, concurrency 32 vs 1 (100 ms fake server)", slow["wall"] / fast["wall"], "x",
               target=20.0),
        Figure(f"crm-env eval whole process, {n} convs, concurrency 1", whole_slow, "s", higher_is_better=False),
        Figure(f"crm-env eval whole process, {n} convs, concurrency 32", whole_fast, "s", higher_is_better=False),
        Figure("crm-env eval speed-up in whole-process wall time, 32 vs 1", whole_slow / whole_fast, "x",
               target=15.0),
        Figure("eval harness CPU per turn (process CPU, concurrency 32)", 1e3 * fast["cpu"] / turns, "ms",
               higher_is_better=False),
        Figure("eval harness CPU per turn (process CPU, concurrency 1)", 1e3 * slow["cpu"] / turns, "ms",
               higher_is_better=False),
        Figure("eval LLM requests per turn", fast["requests"] / turns, "req"),
        Figure("fake server CPU per request (its own process, c=32)", 1e3 * fast["server_cpu"] / fast["requests"],
               "ms", higher_is_better=False),
    ]
    if n < 400:
        per_conv = slow["wall"] / n
        figures.append(Figure(f"eval-400 wall time, concurrency 1 (extrapolated from {n})", 400 * per_conv, "s",
                              higher_is_better=False))
        figures.append(Figure(f"eval-400 wall time, concurrency 32 (extrapolated from {n})",
                              400 * fast["wall"] / n, "s", higher_is_better=False))
    return figures
