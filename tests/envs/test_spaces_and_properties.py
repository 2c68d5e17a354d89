"""Honest spaces, and the property that no action ever raises or changes state when invalid."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_env.envs.spaces import ActionSpace, JsonText, observation_space
from crm_env.tools import TOOL_NAMES
from tests.envs.helpers import make


def test_action_space_samples_are_contained_and_well_formed() -> None:
    space = ActionSpace(seed=0)
    for _ in range(300):
        action = space.sample()
        assert space.contains(action)
        data = json.loads(action)
        assert ("respond" in data) != ("tool" in data)
    assert space.contains({"respond": "hi"}) and space.contains({"tool": "client_search"})
    for bad in ["nope", "{}", '{"tool": "rm -rf"}', {"respond": 3}, {"tool": "client_search", "x": 1}, 7, None]:
        assert not space.contains(bad)


def test_observation_space_samples_are_contained() -> None:
    space = observation_space()
    space.seed(1)
    for _ in range(50):
        assert space.contains(space.sample())
    assert not JsonText().contains("[1, 2]") and not JsonText().contains("{bad")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
actions = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=50),
    json_values,
    st.fixed_dictionaries({"tool": st.sampled_from(TOOL_NAMES) | st.text(max_size=15),
                           "arguments": st.dictionaries(st.text(max_size=15), json_values, max_size=5) | json_values}),
    st.builds(json.dumps, st.fixed_dictionaries({"tool": st.sampled_from(TOOL_NAMES),
                                                 "arguments": st.dictionaries(st.text(max_size=15), json_values,
                                                                              max_size=5)})),
)

ENV = make(max_tool_calls=1000, step_limit=10_000)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action=actions)
def test_random_actions_never_raise_and_invalid_ones_change_nothing(action) -> None:
    env = ENV.unwrapped
    env.reset(options={"conversation_id": "fx-004"})
    before = env.sandbox.snapshot()
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs in env.observation_space
    result = json.loads(obs["last_result"])
    if result.get("ok") is False or "reward_breakdown" in info:
        if result.get("ok") is False:
            assert env.sandbox.snapshot() == before


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
).map(json.dumps).flatmap(lambda t: st.sampled_from([t, t[:-1], t + "}", " " + t, t + " x"]))))
def test_fast_action_decoding_is_json_loads(text: str) -> None:
    # parse_action scans plain JSON objects directly; results and errors must be json.loads' own
    from crm_env.envs.spaces import _loads

    def outcome(fn):
        try:
            return repr(fn(text))
        except (ValueError, RecursionError) as exc:
            return f"{type(exc).__name__}: {exc}"

    assert outcome(_loads) == outcome(json.loads)


def test_fast_encoders_are_json_dumps() -> None:
    import datetime

    from crm_env.envs.plans import dumps, encode

    values = [{"a": 1, "b": [1.5, None, True, "é\u2028\"\\"], "c": {"d": float("nan"), "e": float("-inf")}},
              {1: 2, 2.5: 3, None: 4, False: 5}, "text", 3, [], {}, [{"x": [{"y": {}}]}]]
    for value in values:
        assert encode(value) == json.dumps(value, default=str) and dumps(value) == json.dumps(value)
    assert encode({"when": datetime.date(2026, 1, 2)}) == json.dumps({"when": datetime.date(2026, 1, 2)}, default=str)
    for value in ({"when": datetime.date(2026, 1, 2)}, [object()]):
        try:
            json.dumps(value)
        except TypeError as exc:
            expected = str(exc)
        try:
            dumps(value)
        except TypeError as exc:
            assert str(exc) == expected
        else:
            raise AssertionError("dumps encoded a value json.dumps refuses")
    loop: list = []
    loop.append(loop)
    for encoder in (dumps, encode):
        try:
            encoder(loop)
        except ValueError as exc:
            assert "Circular reference" in str(exc)
        else:
            raise AssertionError("a circular structure was encoded")


def test_generated_ids_are_the_seeded_uuid4_sequence() -> None:
    import random
    import uuid

    from crm_env.tools import Context

    for seed in (0, 1, 12345, 2**31 - 2):
        context, rng = Context(None, None, seed), random.Random(seed)  # type: ignore[arg-type]
        for _ in range(200):
            assert context.new_id() == str(uuid.UUID(int=rng.getrandbits(128), version=4))
