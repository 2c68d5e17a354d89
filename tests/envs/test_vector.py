"""``gym.make_vec("ArcCrm-v0")`` with Gymnasium's defaults (sync, and async with shared memory) on memory and
SQLite, the shared text buffers, and pickling on every backend (a SQL store reconnects; no episode travels)."""

from __future__ import annotations

import json
import multiprocessing as mp
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from crm_env.envs.shared_memory import SharedTexts, TextBuffer
from crm_env.envs.spaces import UnicodeText
from tests.envs.helpers import make, write_jsonl

TEXT_KEYS = ("user_message", "last_result", "crm_state")


@pytest.mark.parametrize("backend", ["memory", "sqlite://"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_with_its_defaults_steps_as_independent_envs(mode: str, backend: str, tmp_path: Any) -> None:
    dataset = write_jsonl(tmp_path / "conversations.jsonl")  # a path: async workers rebuild the env from it
    rng = np.random.default_rng(0)
    actions = [[json.dumps({"respond": "done"}) if rng.random() < 0.5 else
                json.dumps({"tool": "opportunity_search", "arguments": {}}) for _ in range(2)] for _ in range(14)]
    envs = gym.make_vec("ArcCrm-v0", num_envs=2, vectorization_mode=mode, dataset=dataset, backend=backend)
    try:
        envs.reset(seed=[5, 9])
        traces: list[list[tuple[Any, ...]]] = [[], []]
        for step in actions:
            obs, rewards, terminated, truncated, _ = envs.step(tuple(step))
            for i in range(2):
                assert isinstance(obs["user_message"][i], str)  # a plain str, copied out of the buffers
                traces[i].append((*(obs[k][i] for k in TEXT_KEYS), int(obs["turn"][i]), float(rewards[i]),
                                  bool(terminated[i] or truncated[i])))
    finally:
        envs.close()
    for i, seed in enumerate((5, 9)):
        assert traces[i] == _single_run_from(dataset, backend, seed, [a[i] for a in actions])
    assert any(t[-1] for trace in traces for t in trace)  # an episode ended, so autoreset was exercised


def _single_run_from(dataset: Any, backend: str, seed: int, actions: list[str]) -> list[tuple[Any, ...]]:
    env = gym.make("ArcCrm-v0", dataset=dataset, backend=backend)
    obs, _ = env.reset(seed=seed)
    trace, ended = [], False
    for action in actions:
        if ended:  # Gymnasium's NEXT_STEP autoreset: this action is ignored, the sub-env starts anew
            obs, _ = env.reset()
            reward, ended = 0.0, False
        else:
            obs, reward, terminated, truncated, _ = env.step(action)
            ended = terminated or truncated
        trace.append((*(obs[k] for k in TEXT_KEYS), int(obs["turn"]), float(reward), ended))
    env.close()
    return trace


def test_shared_text_buffers_hold_unicode_and_refuse_what_does_not_fit() -> None:
    buffer = TextBuffer(mp.Array("q", 2), mp.Array("B", 2 * 16), 16)
    view = SharedTexts(buffer, 2)
    buffer.write(0, "Zoë — 5 €")
    buffer.write(1, "")
    assert list(view) == ["Zoë — 5 €", ""] and view[-2] == "Zoë — 5 €"
    snapshot = pickle.loads(pickle.dumps(tuple(view)))
    buffer.write(0, "later")
    assert view[0] == "later" and snapshot[0] == "Zoë — 5 €"  # the view is live, a copy is not
    with pytest.raises(ValueError, match="shared_memory': False"):
        buffer.write(1, "x" * 17)
    assert view[1] == ""  # a refused write leaves the buffer as it was
    assert UnicodeText().shared_bytes == 1 << 20


def test_an_env_pickles_on_every_backend_without_its_episode(backend_url: str) -> None:
    env = make(backend=backend_url)
    first, _ = env.reset(seed=4)
    env.step(json.dumps({"tool": "opportunity_search", "arguments": {}}))
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    try:
        with pytest.raises(RuntimeError, match="call reset"):  # the episode did not travel
            clone.step(json.dumps({"respond": "hi"}))
        again, _ = clone.reset(seed=4)
        assert again == first
        obs, *_ = clone.step(json.dumps({"tool": "opportunity_search", "arguments": {}}))
        assert json.loads(obs["last_result"])["ok"]
    finally:
        clone.close()
    obs, *_ = env.step(json.dumps({"tool": "opportunity_search", "arguments": {}}))  # the original goes on
    assert json.loads(obs["last_result"])["ok"]
    env.close()

