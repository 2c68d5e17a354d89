"""``crm-env atlas run``: one Atlas learning-runtime session (``atlas.core.arun``) per conversation.

The configuration (``crm-env atlas init-config``) names our adapter and reward
(``crm_env.integrations.atlas.session``); this driver binds each session to its conversation, runs it,
and appends the episode Atlas's last attempt played to ``results.jsonl`` in ``crm-env eval``'s format (so
``crm-env report`` and ``compare`` read it), with what Atlas did in the line's ``atlas`` field: its
session id, mode, reward, attempts, learning key and the learning state after the session. The tokens
and cost of Atlas's own LLM calls (teacher; learning synthesizer as ``curator``) join the student's in
the line's ``usage``. ``session_metadata`` holds the learning key (per workflow family) and the
conversation id, never the reference: Atlas's judges and synthesizer read it. Conversations come from
the split in a seeded sample; a run killed part-way continues with ``--resume``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, TextIO

from crm_env.errors import ConfigError, InfrastructureError

OFFLINE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # LiteLLM (an Atlas dependency) fetches prices at import


class SessionFailed(InfrastructureError):
    """An Atlas session failed (its database, its teacher's provider...): every finished session is saved and
    ``--resume`` continues."""


def task_text(conversation: Any) -> str:
    """The task Atlas sees: the conversation's id and its first request (later ones name records the
    episode creates, so they are only known as it runs)."""
    return f"CRM conversation {conversation.conversation_id}. The user's first request: {conversation.turns[0].utterance}"


async def _session(task: str, config_path: str, metadata: dict[str, Any]) -> dict[str, Any]:
    from atlas.core import arun
    from atlas.runtime.orchestration.execution_context import ExecutionContext

    result = await arun(task, config_path, session_metadata=metadata, stream_progress=False)
    context = ExecutionContext.get().metadata  # the same task's context: what this session recorded
    state = context.get("learning_state") if isinstance(context.get("learning_state"), dict) else {}
    return {"session_id": context.get("session_id"), "mode": context.get("execution_mode"),
            "learning_key": context.get("learning_key"), "final_answer_chars": len(result.final_answer or ""),
            "learning_state": {"student_learning": state.get("student_learning") or None,
                               "teacher_learning": state.get("teacher_learning") or None}}


def run_atlas(config_path: str, *, student: str = "scripted", model: str | None = None, base_url: str | None = None,
              dataset: str = "arc-crm-1200", split: str = "train", episodes: int = 10, seed: int = 0,
              output: str | None = None, resume: bool = False, console: TextIO | None = None) -> dict[str, Any]:
    """Run the sessions and write the run directory; returns its summary.

    Raises:
        ConfigError: A missing or invalid configuration, the held-out split, or the extra not installed.
        SessionFailed: A session failed part-way.
    """
    import sys

    from crm_env.datasets.loader import HELD_OUT_SPLITS
    from crm_env.eval.config import RESULTS_FILE, RUN_FILE, RunConfig, write_json_atomic
    from crm_env.eval.job import finish, simulated_notice
    from crm_env.eval.results import ResultLine, ResultsWriter, Usage, load_results
    from crm_env.eval.runner import Runner, prepare
    from crm_env.integrations.atlas.session import Session, bind, counting_atlas_calls, unbind

    console = console or sys.stdout
    if split in HELD_OUT_SPLITS:
        raise ConfigError(f"the {split!r} split is held out: Atlas learns from these sessions, so learn on "
                          "--split train and measure on test with crm-env eval")
    if not Path(config_path).is_file():
        raise ConfigError(f"--config {config_path}: no such file; write one with `crm-env atlas init-config`")
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    try:
        from atlas.config.loader import ConfigLoadError, load_config
    except ImportError:
        raise ConfigError("the Atlas SDK is not installed: pip install -e '.[atlas]'") from None
    try:
        atlas_config = load_config(config_path)
    except ConfigLoadError as exc:
        raise ConfigError(f"--config {config_path}: {str(exc)[:500]}") from None
    needed = []  # (variable, who reads it): Atlas skips a call without its key, silently, even for a local server
    if atlas_config.orchestration.forced_mode != "auto":
        needed.append((atlas_config.teacher.llm.api_key_env, "its teacher, in paired mode"))
    learning = atlas_config.learning
    if atlas_config.storage is not None and learning.enabled and learning.update_enabled and learning.llm is not None:
        needed.append((learning.llm.api_key_env, "its learning synthesizer, with storage"))
    for key, reader in needed:
        if not os.environ.get(key):
            raise ConfigError(f"set the environment variable {key}: Atlas reads it for {reader}, even from a local "
                              "--base-url (any value serves a server that needs no key)")
    config = RunConfig(agent=student, model=model, base_url=base_url, dataset=dataset, split=split, sample=episodes,
                       seed=seed, output=output, concurrency=1, progress=False)
    prepared = prepare(config, resume=resume, given={"output": output} if resume else None)
    prepared.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(prepared.out / RUN_FILE, prepared.record.model_dump(mode="json"))
    done = {line.conversation_id for line in load_results(prepared.out / RESULTS_FILE).completed}
    runner = Runner(prepared)
    agents = runner.agent_factory
    writer = ResultsWriter(prepared.out / RESULTS_FILE)
    if prepared.config.simulated:  # Atlas's mode and teacher change nothing about who plays
        print(simulated_notice(prepared.config), file=console, flush=True)
    print(f"atlas: {len(prepared.conversations)} session(s) on {dataset}:{split} with the {student} student "
          f"({len(done)} done) -> {prepared.out}", file=console, flush=True)
    try:
        for conversation in prepared.conversations:
            if conversation.conversation_id in done:
                continue
            session = Session(runner, conversation, agents)
            token = bind(session)
            try:
                with counting_atlas_calls():
                    outcome = asyncio.run(_session(task_text(conversation), config_path, {
                        "learning_key_override": f"crm_env:{conversation.workflow.value}",
                        "conversation_id": conversation.conversation_id}))
                session.atlas.update(outcome)
            except ConfigError:
                raise
            except Exception as exc:  # the runtime fails in many types (database, provider, its own bugs): each stops the run
                raise SessionFailed(f"the Atlas session for {conversation.conversation_id} failed: "
                                    f"{type(exc).__name__}: {str(exc)[:300]}; the {len(done)} session(s) before it "
                                    "are saved: fix the cause and run again with --resume") from exc
            finally:
                unbind(token)
            if not session.attempts:
                raise ConfigError(f"Atlas never called the agent for {conversation.conversation_id}: is the "
                                  "configuration's agent crm_env.integrations.atlas.session:play?")
            line: ResultLine = session.attempts[-1]
            usage: dict[str, Usage] = {}  # every attempt's student calls (a paired retry costs too), and Atlas's own
            for attempt in session.attempts:
                for role, spent in attempt.usage.items():
                    usage.setdefault(role, Usage()).merge(spent)
            for record in runner.price_calls(session.calls):  # priced as the runner prices every call
                usage.setdefault(record.role, Usage()).add(record)
            writer.append(line.model_copy(update={"usage": usage, "atlas": {
                **session.atlas, "attempts": len(session.attempts), "guidance": session.guidance[-1]}}))
            done.add(conversation.conversation_id)
    finally:
        writer.close()
        runner.close()
    return finish(prepared.out)
