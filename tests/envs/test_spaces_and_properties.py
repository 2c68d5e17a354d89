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
