"""Before a run starts: one probe of everything it will need, then a run directory no other run shares.

``preflight`` builds the first episode's agent (a missing API key fails here, naming its variable), opens
the backend and resets one episode on it (a database that cannot be reached fails here), and opens a TCP
connection to every OpenAI-compatible server the run names (``--base-url``, a judge's ``@URL``). Nothing
is written before it passes.

``claim`` takes the run directory: the default one (``runs/AGENT-MODEL-YYYYMMDD-HHMMSS``) gets a ``-2``,
``-3``... suffix when another run took it first (``mkdir`` is atomic); an explicit ``--output`` is claimed
by creating its ``run.json`` exclusively, so two fresh runs can never write into one directory.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from crm_env.errors import ConfigError, InfrastructureError
from crm_env.eval.config import RUN_FILE, mask_url
from crm_env.eval.runner import AgentFactory, Prepared, default_agent_factory, episode_seed

PROBE_TIMEOUT_S = 3.0
MAX_SUFFIX = 1000


def preflight(prepared: Prepared, agent_factory: AgentFactory | None = None) -> None:
    """Probe the agent, the backend and any server the run names (see the module docstring).

    Raises:
        ConfigError: What cannot be used, and how to fix it.
    """
    from crm_env.envs.env import CrmEnv

    config = prepared.config
    first = prepared.conversations[0]
    (agent_factory or default_agent_factory(config))(first, 0, episode_seed(config.seed, first.conversation_id, 0))
    for url, flag in ((config.base_url, "--base-url"), (_judge_url(config.judge_spec()), "--judge-model")):
        if url:
            _reachable(url, flag)
    if config.backend != "memory":
        try:
            env = CrmEnv(dataset=[first], split=None, backend=config.backend, conversation_seed=None)
            try:
                env.reset(seed=0, options={"conversation_id": first.conversation_id})
            finally:
                env.close()
        except InfrastructureError as exc:
            raise ConfigError(f"cannot use the backend {mask_url(config.backend)}: {exc}. Start the database "
                              "(`crm-env db up` prints a URL) or fix --backend") from None


def _judge_url(spec: str | None) -> str | None:
    if not spec or "@" not in spec:
        return None
    return spec.split("@", 1)[1]


def _reachable(url: str, flag: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{flag}: {mask_url(url)} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"{flag}: nothing answers at {mask_url(url)} ({exc.strerror or exc}); start the "
                          "server or fix the URL") from None


def claim(prepared: Prepared, *, default: bool) -> Path:
    """Take the run directory for a fresh run (see the module docstring); returns it."""
    out = prepared.out
    if default:
        out.parent.mkdir(parents=True, exist_ok=True)
        base = out
        for n in range(1, MAX_SUFFIX):
            try:
                out.mkdir()
                break
            except FileExistsError:
                out = base.with_name(f"{base.name}-{n + 1}")
        else:
            raise ConfigError(f"{base}: {MAX_SUFFIX} runs started in the same second; give --output")
    else:
        out.mkdir(parents=True, exist_ok=True)
    prepared.out = out
    prepared.config = prepared.config.model_copy(update={"output": str(out)})
    prepared.record = prepared.record.model_copy(
        update={"config": prepared.record.config.model_copy(update={"output": str(out)})})
    try:
        fd = os.open(out / RUN_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it, or another --output") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:  # the claim is the run's record from the start
        handle.write(prepared.record.model_dump_json(indent=2) + "\n")
    return out
