"""``CrmEnv``: the ArcCrm-v0 Gymnasium environment."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from crm_env.datasets.format import Conversation, resolve
from crm_env.envs import shared_memory as _shared_memory  # noqa: F401  (registers async vector env buffers)
from crm_env.envs.binding import turn_bindings
from crm_env.envs.conversations import DatasetArg, load_conversations
from crm_env.envs.plans import ConversationPlan, dumps, encode, json_text, jsonable, reference_calls
from crm_env.envs.spaces import MAX_TURNS, ActionSpace, observation_space, parse_action
from crm_env.errors import ConfigError
from crm_env.rewards.arbiter import DEFAULT_AUDIT_RATE, DEFAULT_JUDGE_MODE, check_judge_mode, sample_key
from crm_env.rewards.ensemble import AgentCall, TurnVerdict, score_turn
from crm_env.rewards.grounding import Seen
from crm_env.rewards.judge import Judge
from crm_env.rewards.replay import GoldReplay
from crm_env.rewards.scope import Episode
from crm_env.sandbox import CrmSandbox
from crm_env.tools import Change, ChangeOp

StateView = Literal["full", "changed", "counts"]
Telemetry = Callable[[dict[str, Any]], None]
_EMPTY_RESULT = "{}"
_TURN_NUMBERS = [np.int64(i) for i in range(MAX_TURNS)]  # numpy scalars are immutable: shared freely


class CrmEnv(gym.Env[dict[str, Any], str]):
    """A CRM agent's multi-turn conversation as a Gymnasium episode (``ArcCrm-v0``).

    An episode is one dataset conversation. The CRM (a ``CrmSandbox`` on the chosen backend) is seeded
    with the conversation's initial records at its frozen ``as_of`` clock. Each user turn, the agent
    makes tool calls and then replies; the turn is scored when it ends.

    **Action space** (``ActionSpace``, a ``Space[str]``): JSON text, ``{"tool": NAME, "arguments": {...}}``
    to call a catalog tool or ``{"respond": TEXT}`` to reply to the user and end the turn; dicts of the
    same shapes are accepted. Anything else (malformed JSON, unknown tool, wrong argument types, a call
    the CRM refuses) never raises: it becomes an error in ``last_result`` that says how to fix it,
    changes nothing, and spends one unit of the turn's tool-call budget.

    **Observation space** (``gymnasium.spaces.Dict``):

    - ``user_message`` (text): the current user turn, with ``{{turn_N.field}}`` references resolved
      against what the agent itself produced earlier in the episode ("" after the last turn);
    - ``last_result`` (JSON object text): the last tool result (``{"tool", "ok", "data"}``) or error
      (``{"tool", "ok": false, "error_type", "error"}``); ``{}`` at the start of a turn;
    - ``crm_state`` (JSON object text): a view of the CRM chosen by ``state_view``: ``"full"`` (every
      record by type), ``"changed"`` (records created / updated in this episode by type and id, deleted
      ones as null) or ``"counts"`` (records per type);
    - ``turn`` (``Discrete(10)``): the 0-based index of the current user turn.

    Nothing of the reference (expected tools, arguments, replies, facts) appears in observations or
    ``info`` unless ``reveal_reference=True``.

    **Reward**: 0 except on the step that ends a turn, which returns the turn's reward from the ensemble
    (``crm_env.rewards.ensemble``): by default the binary turn success (1.0 / 0.0); with
    ``reward_mode="shaped"`` the documented weighted sum in [0, 1]. That step's ``info`` holds
    ``reward_breakdown`` (every component's status, score and rationale), ``turn_success``,
    ``shaped_reward``, ``judge_error``; every step's ``info`` holds ``strict_success_so_far``,
    ``tool_errors`` (this turn), ``tool_calls_left``, ``turn`` and ``conversation_id``.

    **Episode end**: a turn ends on ``respond`` or when its tool-call budget is spent (scored with an
    empty reply). ``terminated`` after the last turn; ``truncated`` when ``max_episode_steps`` steps
    have been taken (the open turn is scored as if the budget ran out). Prefer ``step_limit`` to
    ``gymnasium.make(..., max_episode_steps=N)``: gymnasium's ``TimeLimit`` wrapper truncates without
    scoring the open turn.

    Args:
        dataset: A dataset name for ``crm_env.datasets.load``, a JSONL file path, or a list of
            ``Conversation``. Loaded at construction.
        split: The dataset split (ignored for paths and lists).
        backend: Backend URL: ``memory``, ``sqlite:///...``, ``postgresql+psycopg://...``.
        max_tool_calls: Tool-call budget per turn (invalid actions count).
        state_view: ``"full"``, ``"changed"`` or ``"counts"``.
        judge: None (deterministic only), a ``Judge``, or a spec such as ``"openai:gpt-4.1-mini"``,
            ``"openai:MODEL@http://localhost:8000/v1"`` or ``"anthropic:MODEL"``.
        conversation_seed: Orders the conversations (None keeps dataset order). ``reset(seed=s)`` picks a
            position in that order from ``np_random``; unseeded resets move to the next conversation.
        step_limit: Steps after which the episode is truncated. (Not called ``max_episode_steps``:
            ``gymnasium.make`` keeps that name for its own ``TimeLimit`` wrapper.)
        reveal_reference: Put the current turn's reference (gold calls, expected outcome and facts) in
            ``info["reference"]``; for debugging and imitation learning only.
        telemetry: Called with a JSON-able dict per event (``reset``, ``action``, ``tool_result``,
            ``turn_verdict``).
        reward_mode: ``"success"`` (binary, default) or ``"shaped"``.
        judge_mode: What the judge is asked (``crm_env.rewards.arbiter``): ``"undecided"`` (default) to
            decide every component the deterministic checks leave undecided, also on turns another check
            failed; ``"audit"`` to also grade a seeded sample of deterministic passes, where a FAIL
            vetoes the turn (``reward_breakdown["judge"]["details"]["veto"]``). Without a judge,
            undecided components stay ``"undecided"`` (score 0.0) and the turn is not a success.
        judge_audit_rate: The share of deterministic passes audited in ``"audit"`` mode (0 to 1). The
            sample is a hash of (conversation id, turn id, the episode's seed): reruns audit the same turns.

    **Vector envs and pickling**: ``gym.make_vec("ArcCrm-v0", num_envs=N)`` works with its defaults in
    both modes; ``"async"`` moves the text observations through shared memory (``shared_memory``: 1 MiB
    per env and field, refused with a clear error past it). Every autoreset mode works; with Gymnasium's
    default ``NEXT_STEP``, the action sent to a sub-env whose episode ended is ignored: that step resets it
    (the next conversation, reward 0). Sub-envs share the conversation order: seed the vector env's
    ``reset`` (each sub-env gets its own seed) to spread them. An env pickles on every backend without its
    episode or telemetry sink: a SQL store reconnects (a new connection, nothing of the episode), so call
    ``reset()`` after unpickling.

    Version history:
        v0: initial release.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        dataset: DatasetArg = "arc-crm-1200",
        split: str | None = "eval-400",
        backend: str = "memory",
        max_tool_calls: int = 10,
        state_view: StateView = "changed",
        judge: Judge | str | None = None,
        conversation_seed: int | None = 0,
        step_limit: int = 200,
        reveal_reference: bool = False,
        telemetry: Telemetry | None = None,
        reward_mode: Literal["success", "shaped"] = "success",
        judge_mode: Literal["undecided", "audit"] = DEFAULT_JUDGE_MODE,
        judge_audit_rate: float = DEFAULT_AUDIT_RATE,
    ) -> None:
        if state_view not in ("full", "changed", "counts"):
            raise ConfigError(f"state_view {state_view!r}: use 'full', 'changed' or 'counts'")
        if reward_mode not in ("success", "shaped"):
            raise ConfigError(f"reward_mode {reward_mode!r}: use 'success' or 'shaped'")
        if max_tool_calls < 1 or step_limit < 1:
            raise ConfigError("max_tool_calls and step_limit must be at least 1")
        check_judge_mode(judge_mode, judge_audit_rate)
        if judge_mode == "audit" and judge is None:
            raise ConfigError("judge_mode 'audit' needs a judge: pass judge=... (a Judge or a spec such as "
                              "'openai:gpt-4.1-mini'), or use the default judge_mode 'undecided'")
        self.conversations = load_conversations(dataset, split)
        self._by_id = {c.conversation_id: i for i, c in enumerate(self.conversations)}
        order = np.arange(len(self.conversations))
        if conversation_seed is not None:
            order = np.random.default_rng(conversation_seed).permutation(order)
        self._order = [int(i) for i in order]
        self._cursor = -1
        self.max_tool_calls = max_tool_calls
        self.state_view = state_view
        self.judge = Judge.from_spec(judge) if isinstance(judge, str) else judge
        self.judge_mode = judge_mode
        self.judge_audit_rate = judge_audit_rate
        self.step_limit = step_limit
        self.reveal_reference = reveal_reference
        self.telemetry = telemetry
        self.reward_mode = reward_mode
        self.action_space = ActionSpace()
        self.observation_space = observation_space()
        self.sandbox = CrmSandbox(backend)
        self._replay = GoldReplay()
        self._plans: dict[str, ConversationPlan] = {}  # per conversation id, see _plan_for
        self._conv: Conversation | None = None
        self._closed = False

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        wanted = (options or {}).get("conversation_id")
        if wanted is not None:
            if wanted not in self._by_id:
                raise ConfigError(f"no conversation {wanted!r} in this dataset")
            index = self._by_id[wanted]
        else:
            if seed is not None:
                self._cursor = int(self.np_random.integers(len(self._order)))
            else:
                self._cursor = (self._cursor + 1) % len(self._order)
            index = self._order[self._cursor]
        conv = self.conversations[index]
        id_seed = int(self.np_random.integers(2**31 - 1))
        self._episode_seed = id_seed  # also seeds the judge's audit sample
        records = conv.initial_seed()
        self.sandbox.reset(as_of=conv.as_of, records=records, seed=id_seed)
        self._replay.reset(conv.as_of, records, id_seed)
        self._conv = conv
        self._plan = self._plan_for(conv)
        self._turn_index = 0
        self._steps = 0
        self._done = False
        self._bindings: dict[int, dict[str, Any]] = {}
        self._seen = Seen()  # what the agent's successful results showed (see _fold_seen)
        self._unseen: list[Any] = []  # successful results' data not yet folded into _seen
        self._successes: list[bool] = []
        self._strict = True  # all(self._successes)
        self._counts: dict[str, int] | None = None
        self._changed: dict[str, dict[str, Any]] = {}  # the "changed" view: records by type and id
        self._changed_json: dict[str, dict[str, str]] | None = {}  # the same as '"id": {record}' JSON text
        self._state_mark = -1
        self._state_text = ""
        self._start_turn()
        self._last_result = _EMPTY_RESULT
        if self.telemetry is not None:
            self._emit({"event": "reset", "conversation_id": conv.conversation_id, "seed": seed,
                        "turns": len(conv.turns)})
        info = self._info()
        info.update(workflow=conv.workflow.value, complexity=conv.complexity.value, turns=len(conv.turns))
        return self._observation(), info

    def step(self, action: str | Mapping[str, Any]) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._conv is None or self._done:
            raise RuntimeError("call reset() before step(), and again after the episode has ended")
        self._steps += 1
        verdict: TurnVerdict | None = None
        try:
            parsed = parse_action(action)
        except ValueError as exc:
            parsed = None
            self._invalid(str(exc))
        if self.telemetry is not None:
            self._emit({"event": "action", "turn": self._turn_index, "step": self._steps,
                        "action": action if isinstance(action, str) else jsonable(action)})
        if parsed is not None and "respond" in parsed:
            verdict = self._end_turn(parsed["respond"])
        else:
            if parsed is not None:
                self._call(parsed["tool"], parsed["arguments"])
            self._budget -= 1
            if self._budget <= 0:
                verdict = self._end_turn("")
        terminated = self._done
        truncated = False
        if not terminated and self._steps >= self.step_limit:
            truncated = True
            if verdict is None:
                verdict = self._end_turn("")
            self._done = True
        reward = 0.0
        info = self._info()
        if verdict is not None:
            reward = float(verdict.success) if self.reward_mode == "success" else verdict.shaped
            info.update(reward_breakdown=verdict.breakdown(), turn_success=verdict.success,
                        shaped_reward=verdict.shaped, judge_error=verdict.judge_error)
        return self._observation(), reward, terminated, truncated, info

    # ------------------------------------------------------------------ turns
    def _plan_for(self, conv: Conversation) -> ConversationPlan:
        """The conversation's precomputed plan, built on its first episode and cached by conversation id.

        A cached plan is reused only for the very conversation object it was built from, so replacing
        ``self.conversations`` (or a conversation in it) never serves a stale plan.
        """
        plan = self._plans.get(conv.conversation_id)
        if plan is None or plan.conversation is not conv:
            plan = self._plans[conv.conversation_id] = ConversationPlan.build(conv)
        return plan

    def _start_turn(self) -> None:
        index = self._turn_index
        plan = self._plan.turns[index]
        self._turn_number = _TURN_NUMBERS[index] if index < MAX_TURNS else np.int64(index)
        turn = plan.turn
        self._turn = turn
        self._turn_plan = plan
        self._budget = self.max_tool_calls
        self._turn_mark = len(self.sandbox.changes)
        self._turn_calls: list[AgentCall] = []
        self._turn_errors = 0
        bindings = self._bindings
        self._user_message = resolve(turn.utterance, bindings, missing="keep") if plan.utterance_refs else turn.utterance
        if plan.calls_refs:
            self._gold_calls = tuple((t, resolve(a, bindings, missing="keep")) for t, a in plan.gold_calls)
        else:
            self._gold_calls = plan.gold_calls
        if not self.reveal_reference:
            self._reference = None
        elif plan.reference is not None:
            self._reference = plan.reference
        else:  # only the gold calls vary per episode: the rest of the reference is normalised already
            reference = dict(plan.reference_base)  # type: ignore[arg-type]
            reference["gold_calls"] = json.loads(encode(reference_calls(self._gold_calls)))
            self._reference = pickle.dumps(reference, protocol=pickle.HIGHEST_PROTOCOL)

    def _invalid(self, message: str) -> None:
        self._turn_errors += 1
        self._last_result = dumps({"tool": None, "ok": False, "error_type": "invalid_action", "error": message})
        if self.telemetry is not None:
            self._emit({"event": "tool_result", "turn": self._turn_index, "ok": False,
                        "error_type": "invalid_action", "error": message})

    def _call(self, tool: str, arguments: dict[str, Any]) -> None:
        result = self.sandbox.call(tool, arguments)
        self._turn_calls.append(AgentCall(tool, arguments, result))
        if result.ok:
            self._unseen.append(result.data)
        else:
            self._turn_errors += 1
        payload = result.to_dict()
        self._last_result = encode(payload)
        if self.telemetry is not None:
            self._emit({"event": "tool_result", "turn": self._turn_index, **jsonable(payload)})

    def _fold_seen(self) -> None:
        """Bring ``_seen`` up to date. Only read requests' retrieval check looks at it, so results are
        scanned when such a turn is scored rather than on every call (results are snapshots: stores hand
        out copies, so scanning later finds the same values)."""
        for data in self._unseen:
            self._seen.add(data)
        self._unseen.clear()

    def _end_turn(self, reply: str) -> TurnVerdict:
        turn = self._turn
        changes = self.sandbox.changes[self._turn_mark:]
        gold = self._replay.exact(self._gold_calls, [(c.tool, c.arguments, c.result) for c in self._turn_calls], changes)
        exact = gold is not None
        if gold is None:
            gold = self._replay.run(self._gold_calls)
        plan = self._turn_plan
        facts = [resolve(v, self._bindings, missing="keep") for v in plan.facts] if plan.facts_refs else plan.facts
        if plan.read_request and self._unseen:
            self._fold_seen()
        audit_key = (sample_key(self._conv.conversation_id, turn.turn_id, self._episode_seed)  # type: ignore[union-attr]
                     if self.judge_mode == "audit" else None)
        verdict = score_turn(turn, gold, self._turn_calls, changes, reply, self._seen, self._turn_errors,
                             facts, self.judge, self._user_message, plan.is_write, None,
                             self.judge_mode, audit_key, self.judge_audit_rate,
                             Episode(self._conv.initial_seed().records, self.sandbox.changes,  # type: ignore[union-attr]
                                     self._conv.as_of.date().isoformat()))  # type: ignore[union-attr]
        self._replay.apply(changes)
        self._successes.append(verdict.success)
        self._strict = self._strict and verdict.success
        if turn.turn_id in self._plan.referenced:  # only turns that later turns refer to need bindings
            # By identity with the gold's target (crm_env.envs.binding), never the agent's first write.
            self._bindings[turn.turn_id] = turn_bindings(gold, (c.result for c in self._turn_calls), changes, exact)
        if self.telemetry is not None:
            self._emit({"event": "turn_verdict", "turn": self._turn_index, "turn_id": turn.turn_id,
                        "success": verdict.success, "shaped_reward": verdict.shaped, "reply": reply,
                        "breakdown": verdict.breakdown()})
        self._last_result = _EMPTY_RESULT
        if self._turn_index + 1 < len(self._conv.turns):  # type: ignore[union-attr]
            self._turn_index += 1
            self._start_turn()
        else:
            self._done = True
            self._user_message = ""
        return verdict

    # ------------------------------------------------------------------ observations
    def _observation(self) -> dict[str, Any]:
        return {
            "user_message": self._user_message,
            "last_result": self._last_result,
            "crm_state": self._state(),
            "turn": self._turn_number,
        }

    def _state(self) -> str:
        changes = self.sandbox.changes
        if self._state_mark == len(changes):
            return self._state_text
        if self.state_view == "full":
            if not changes and self._plan.full_state is not None:
                text = self._plan.full_state
            else:
                text = dumps(self.sandbox.snapshot())
                if not changes:
                    self._plan.full_state = text
        elif self.state_view == "counts":
            if self._counts is None or self._state_mark < 0:
                self._counts = dict(self._plan.counts)
                self._state_mark = 0
            for change in changes[self._state_mark:]:
                if change.op is not ChangeOp.UPDATE:
                    self._counts[change.entity.value] += 1 if change.op is ChangeOp.CREATE else -1
            text = dumps(self._counts)
        else:
            text = self._changed_view(changes[max(self._state_mark, 0):])
        self._state_mark = len(changes)
        self._state_text = text
        return text

    def _changed_view(self, new: Sequence[Change]) -> str:
        """``json.dumps(self._changed)``, encoding only the records that changed since the last view."""
        changed = self._changed
        pieces = self._changed_json
        for change in new:
            entity = change.entity.value
            rid = change.record_id
            changed.setdefault(entity, {})[rid] = change.after
            if pieces is not None:
                if type(entity) is not str or type(rid) is not str:  # json.dumps spells other keys its own way
                    pieces = self._changed_json = None
                else:
                    pieces.setdefault(entity, {})[rid] = f"{json_text(rid)}: {dumps(change.after)}"
        if pieces is None:
            return dumps(changed)
        return "{" + ", ".join(f"{json_text(entity)}: {{{', '.join(records.values())}}}"
                               for entity, records in pieces.items()) + "}"

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "conversation_id": self._conv.conversation_id,  # type: ignore[union-attr]
            "turn": self._turn_index,
            "tool_calls_left": self._budget,
            "tool_errors": self._turn_errors,
            "strict_success_so_far": self._strict,
            "turns_scored": len(self._successes),
        }
        if self.reveal_reference and not self._done:
            info["reference"] = pickle.loads(self._reference)  # a fresh copy per step
        return info

    def _emit(self, event: dict[str, Any]) -> None:
        event["conversation_id"] = self._conv.conversation_id if self._conv else None  # type: ignore[union-attr]
        self.telemetry(event)  # type: ignore[misc]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.sandbox.close()
            self._replay.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["telemetry"] = None  # a caller's sink (a file, a socket) does not travel
        state["_conv"] = None  # nor does the episode: a SQL store reconnects empty (SqlStore.__reduce__)
        return state
