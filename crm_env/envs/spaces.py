"""The spaces of ``ArcCrm-v0``: text actions and a dictionary of text observations.

Gymnasium's ``Text`` space checks every character against a fixed character set, which cannot hold
arbitrary Unicode (names, addresses, JSON). These spaces are honest instead: ``contains()`` checks
exactly what the environment guarantees, and ``sample()`` draws, from ``self.np_random``, a value
that ``contains()`` accepts.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from crm_env.tools import TOOL_NAMES, catalog, get_spec

MAX_TURNS = 10  # a conversation has at most ten user turns (the dataset format's bound)
SHARED_BYTES = 1 << 20  # per env and text field in an async vector env; eval-400's largest is far below it
_WORDS = ("Acme", "Globex", "Initech", "renewal", "pilot", "Q3", "expansion", "Umbrella", "Stark", "deal")
_ALPHABET = string.ascii_letters + string.digits + " .,-'"


def parse_action(action: object) -> dict[str, Any]:
    """The action as a dict of one of the two shapes, or a ``ValueError`` saying how to fix it.

    Accepted: ``{"tool": NAME, "arguments": {...}}`` (``arguments`` may be left out when empty) or
    ``{"respond": TEXT}``, as a JSON string or as a dict.
    """
    if type(action) is not str and isinstance(action, _BYTES):
        try:
            action = action.decode()
        except UnicodeDecodeError:
            raise ValueError("the action is not UTF-8 text") from None
    if isinstance(action, str):
        try:
            action = _loads(action)
        except (ValueError, RecursionError) as exc:
            raise ValueError(
                f"the action is not valid JSON ({exc}); send "
                '{"tool": "<tool name>", "arguments": {...}} or {"respond": "<your reply>"}'
            ) from None
    if type(action) is not dict and not isinstance(action, Mapping):
        raise ValueError(
            f"the action must be a JSON object, not {type(action).__name__}; send "
            '{"tool": "<tool name>", "arguments": {...}} or {"respond": "<your reply>"}'
        )
    if "respond" in action:
        if len(action) != 1:  # "respond" is one of its keys
            raise ValueError('a reply is {"respond": "<text>"} with no other keys')
        reply = action["respond"]
        if not isinstance(reply, str):
            raise ValueError('"respond" must be a string holding your reply to the user')
        return {"respond": reply}
    if "tool" in action:
        if len(action) > 1 and not (len(action) == 2 and "arguments" in action):
            extra = ", ".join(sorted(map(str, set(action) - {"tool", "arguments"})))
            raise ValueError(f'a tool call has only "tool" and "arguments" keys; remove: {extra}')
        tool = action["tool"]
        if not isinstance(tool, str):
            raise ValueError('"tool" must be the tool name as a string')
        arguments = action.get("arguments", {})
        if arguments is None:
            arguments = {}
        if type(arguments) is not dict and not isinstance(arguments, Mapping):
            raise ValueError('"arguments" must be a JSON object of argument name to value')
        return {"tool": tool, "arguments": dict(arguments)}
    raise ValueError('the action needs a "tool" key (a tool call) or a "respond" key (your reply to the user)')


_BYTES = (bytes, bytearray)
_scan = json.decoder.JSONDecoder().scan_once  # what json.loads runs, without its wrappers


def _loads(text: str) -> Any:
    """``json.loads(text)``. An object without surrounding whitespace (what agents send) is scanned
    directly; anything else, and every error, goes through ``json.loads`` itself."""
    if type(text) is str and text[:1] == "{" and text[-1:] == "}":
        try:
            value, end = _scan(text, 0)
        except Exception:  # noqa: BLE001  (json.loads raises the proper error)
            return json.loads(text)
        if end == len(text):
            return value
    return json.loads(text)


class ActionSpace(spaces.Space[str]):
    """Well-formed actions: JSON text (or a dict) calling a catalog tool, or replying to the user.

    ``contains(x)`` is true for ``{"tool": NAME, "arguments": {...}}`` with NAME in the tool catalog
    and for ``{"respond": TEXT}``, given as a dict or as JSON text. Argument *values* are not checked
    here: a call with wrong arguments is a valid action that the CRM refuses (an error observation).

    ``sample()`` returns JSON text: a reply with probability ``respond_probability``, else a call to a
    uniformly chosen tool whose required arguments hold values of the declared JSON types (enums drawn
    from their allowed values, ids random UUIDs).
    """

    def __init__(self, respond_probability: float = 0.2, seed: int | np.random.Generator | None = None) -> None:
        self.respond_probability = float(respond_probability)
        self._tools = tuple(spec.name for spec in catalog())
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        try:
            action = parse_action(x)
        except ValueError:
            return False
        return "respond" in action or action["tool"] in TOOL_NAMES

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        if mask is not None or probability is not None:
            raise ValueError("ActionSpace.sample() takes no mask or probability")
        rng = self.np_random
        if rng.random() < self.respond_probability:
            return json.dumps({"respond": _sentence(rng)})
        spec = get_spec(self._tools[int(rng.integers(len(self._tools)))])
        properties = spec.parameters.get("properties", {})
        arguments = {name: _value(rng, properties.get(name, {})) for name in spec.required}
        return json.dumps({"tool": spec.name, "arguments": arguments})

    def __repr__(self) -> str:
        return f"ActionSpace(tools={len(self._tools)}, respond_probability={self.respond_probability})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActionSpace) and other.respond_probability == self.respond_probability


def _sentence(rng: np.random.Generator) -> str:
    return " ".join(_WORDS[int(i)] for i in rng.integers(len(_WORDS), size=int(rng.integers(1, 8))))


def _value(rng: np.random.Generator, schema: Mapping[str, Any]) -> Any:
    """A value of the JSON-schema type, e.g. an allowed enum value or a date string."""
    if "enum" in schema:
        return schema["enum"][int(rng.integers(len(schema["enum"])))]
    kind = schema.get("type", "string")
    if kind == "integer":
        return int(rng.integers(0, 101))
    if kind == "number":
        return float(rng.integers(1, 1_000_000))
    if kind == "array":
        return [_value(rng, schema.get("items", {})) for _ in range(int(rng.integers(2, 4)))]
    if kind == "boolean":
        return bool(rng.integers(2))
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(_uuid(rng))
    if fmt == "date":
        return f"2026-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
    if fmt == "email":
        return f"{_WORDS[int(rng.integers(len(_WORDS)))].lower()}{int(rng.integers(1000))}@example.com"
    if fmt == "uri":
        return f"https://files.example.com/{int(rng.integers(10_000))}.pdf"
    return _sentence(rng)


def _uuid(rng: np.random.Generator) -> str:
    import uuid

    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


class UnicodeText(spaces.Space[str]):
    """Any Python string of at most ``max_length`` characters (Unicode allowed).

    ``shared_bytes``: the UTF-8 bytes per env of an async vector env's shared buffer for this field
    (``crm_env.envs.shared_memory``); a longer text is refused there with a clear error.
    """

    def __init__(self, max_length: int = 10_000_000, seed: int | np.random.Generator | None = None,
                 shared_bytes: int = SHARED_BYTES) -> None:
        self.max_length = int(max_length)
        self.shared_bytes = int(shared_bytes)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        rng = self.np_random
        length = int(rng.integers(0, min(self.max_length, 64) + 1))
        return "".join(_ALPHABET[int(i)] for i in rng.integers(len(_ALPHABET), size=length))

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.max_length == self.max_length


class JsonText(UnicodeText):
    """A string holding a JSON object (``json.loads`` gives a dict)."""

    def contains(self, x: Any) -> bool:
        if not super().contains(x):
            return False
        try:
            return isinstance(json.loads(x), dict)
        except ValueError:
            return False

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        rng = self.np_random
        keys = ("tool", "ok", "total", "name", "count")
        data = {keys[int(i)]: _sentence(rng) for i in rng.integers(len(keys), size=int(rng.integers(0, 4)))}
        return json.dumps(data)

    def __repr__(self) -> str:
        return f"JsonText(max_length={self.max_length})"


def observation_space(max_turns: int = MAX_TURNS) -> spaces.Dict:
    """``user_message`` (text), ``last_result`` and ``crm_state`` (JSON objects as text), ``turn`` (0-based)."""
    return spaces.Dict(
        {
            "user_message": UnicodeText(),
            "last_result": JsonText(),
            "crm_state": JsonText(),
            "turn": spaces.Discrete(max_turns),
        }
    )
