"""Fake LLM provider servers for tests: the Anthropic Messages and OpenAI Chat Completions wire formats.

A ``FakeProvider`` is a threaded ``http.server`` on 127.0.0.1 (ephemeral port). Each request takes the
next behaviour from its script (``push``), or ``default`` when the script is empty:

- ``"correct"``: answer as an oracle would, reading ONLY the request body (the user's messages and the
  tool results in it) and driving a ``brain`` (an agent such as ``ReplayAgent``) with them;
- ``"wrong"``: a useless text reply; ``"unknown_tool"``: a call to a tool that does not exist;
- ``"double"``: two tool calls in one answer (both reads of the first correct call);
- ``("429", seconds)``: HTTP 429 with ``retry-after``; ``"500"``: HTTP 500;
- ``("slow", seconds)``: sleep, then answer (past the client's timeout);
- ``"garbage"``: HTTP 200 with a body that is not JSON; ``"drop"``: close the connection unanswered;
- a callable ``(body) -> (status, headers, payload)`` for anything else (``payload`` is JSON-encoded,
  or sent as is when it is ``bytes``); ``OracleBehaviour`` is a concurrency-safe "correct" one.

Every request body is recorded in ``requests`` (parsed JSON), with its path in ``paths``
(``record=False`` keeps nothing: a long-running server for benchmarks).

``python -m tests.fakes.providers serve --latency 0.1`` runs an oracle server in its own process (so a
benchmark measures the client, not the fake sharing its GIL): it prints its URL on the first line of
stdout and serves until stdin closes or it is terminated.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crm_env.agents.prompt import PLAYBOOK_CLOSE, PLAYBOOK_OPEN

RESULT_PREFIX = "Tool result: "  # crm_env.agents.openai_agent.RESULT_PREFIX (non-native mode)
Behaviour = Any


class _Server(ThreadingHTTPServer):
    # A provider's front end takes a burst of connections; the standard library's backlog of 5 makes a
    # client that opens 32 at once see refused connections (and retries) no real provider causes.
    request_queue_size = 128


class FakeProvider:
    """A fake provider server; use as a context manager.

    Args:
        kind: ``"openai"`` or ``"anthropic"``.
        brain: Answers ``"correct"`` requests: an object with ``reset(conversation_id)`` and
            ``act(observation) -> action JSON text`` (typically a ``ReplayAgent``); call ``start_episode``.
        default: The behaviour when the script is empty.
        model: The model name the server says answered.
        native_tools: For ``openai``: answer with ``tool_calls`` (True) or JSON actions in text (False).
    """

    def __init__(self, kind: str, brain: Any = None, default: Behaviour = "correct", model: str | None = None,
                 native_tools: bool = True, record: bool = True, port: int = 0) -> None:
        if kind not in ("openai", "anthropic"):
            raise ValueError(kind)
        self.kind = kind
        self.brain = brain
        self.default = default
        self.model = model or ("fake-gpt" if kind == "openai" else "fake-claude")
        self.native_tools = native_tools
        self.record = record
        self.requests: list[Any] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.behaviours: list[Any] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._brain_turn: int | None = None
        self._brain_results = 0
        self._server = _Server(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeProvider:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.kind == "openai" else "")

    def push(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def start_episode(self, conversation_id: str) -> None:
        """Point the brain at the next conversation (what the agent itself is told at reset)."""
        if self.brain is not None:
            self.brain.reset(conversation_id)
        self._brain_turn = None

    # ------------------------------------------------------------------ answering
    def _next(self) -> Behaviour:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def respond(self, body: Any) -> tuple[int, dict[str, str], bytes | None]:
        """(status, headers, raw body); a None body means: drop the connection."""
        behaviour = self._next()
        if self.record:
            self.behaviours.append(behaviour)
        if callable(behaviour):
            status, headers, payload = behaviour(body)
            return status, headers, payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        name, arg = (behaviour if isinstance(behaviour, tuple) else (behaviour, None))
        if name == "429":
            return 429, {"retry-after": str(arg if arg is not None else 0)}, self._error("rate_limit_error", "slow down")
        if name == "500":
            return 500, {}, self._error("api_error", "internal error")
        if name == "garbage":
            return 200, {}, b"<html>this is not json"
        if name == "drop":
            return 0, {}, None
        if name == "slow":
            time.sleep(arg or 5.0)
            return 200, {}, self._answer({"respond": "slow answer"})
        if name == "wrong":
            return 200, {}, self._answer({"respond": "Sorry, I have no idea."})
        if name == "unknown_tool":
            return 200, {}, self._answer({"tool": "drop_all_tables", "arguments": {}})
        if name == "double":
            action = json.loads(self._brain_action(body))
            if "tool" not in action:
                return 200, {}, self._answer(action)
            return 200, {}, self._answer(action, action)
        if name == "correct":
            return 200, {}, self._answer(json.loads(self._brain_action(body)))
        raise ValueError(f"unknown behaviour {behaviour!r}")

    def _brain_action(self, body: Any) -> str:
        """Feed the brain the observation the request body implies: a new user message starts a turn,
        a trailing tool result answers its last call."""
        if self.brain is None:
            raise RuntimeError("a 'correct' answer needs a brain")
        messages = body["messages"]
        user_texts = [m for m in messages if _user_text(m, self.kind) is not None]
        turn = len(user_texts) - 1
        last = messages[-1]
        result = _tool_result(last, self.kind)
        if turn != self._brain_turn or result is None:
            self._brain_turn = turn
            return self.brain.act({"turn": turn, "user_message": _user_text(user_texts[-1], self.kind) or "",
                                   "last_result": "{}", "crm_state": "{}"})
        return self.brain.act({"turn": turn, "user_message": "", "last_result": result, "crm_state": "{}"})

    def _answer(self, *actions: dict[str, Any]) -> bytes:
        return self._answer_with_id(*actions)[0]

    def _answer_with_id(self, *actions: dict[str, Any]) -> tuple[bytes, str | None]:
        """The answer's raw body and the id of its last tool call (None without one)."""
        last_id: str | None = None
        usage_in, usage_out, cached = 1200, 40, 1000
        if self.kind == "openai":
            calls, text = [], None
            for action in actions:
                if "tool" in action and self.native_tools:
                    last_id = f"call_{next(self._ids)}"
                    calls.append({"id": last_id, "type": "function",
                                  "function": {"name": action["tool"], "arguments": json.dumps(action["arguments"])}})
                elif self.native_tools:
                    text = action["respond"]
                else:
                    text = json.dumps(action)
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if calls:
                message["tool_calls"] = calls
            payload = {"id": f"chatcmpl-{next(self._ids)}", "object": "chat.completion", "created": 1700000000,
                       "model": self.model,
                       "choices": [{"index": 0, "message": message, "logprobs": None,
                                    "finish_reason": "tool_calls" if calls else "stop"}],
                       "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                                 "total_tokens": usage_in + usage_out,
                                 "prompt_tokens_details": {"cached_tokens": cached}}}
        else:
            content: list[dict[str, Any]] = []
            for action in actions:
                if "tool" in action:
                    last_id = f"toolu_{next(self._ids)}"
                    content.append({"type": "tool_use", "id": last_id, "name": action["tool"],
                                    "input": action["arguments"]})
                else:
                    content.append({"type": "text", "text": action["respond"]})
            payload = {"id": f"msg_{next(self._ids)}", "type": "message", "role": "assistant", "model": self.model,
                       "content": content, "stop_reason": "tool_use" if any("tool" in a for a in actions) else "end_turn",
                       "stop_sequence": None,
                       "usage": {"input_tokens": usage_in - cached, "output_tokens": usage_out,
                                 "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}}
        return json.dumps(payload).encode(), last_id

    def _error(self, kind: str, message: str) -> bytes:
        if self.kind == "openai":
            return json.dumps({"error": {"message": message, "type": kind, "code": None}}).encode()
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()

    def request_text(self) -> str:
        """Every recorded request body as one text (for leak searches)."""
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in self.requests)


def _user_text(message: dict[str, Any], kind: str) -> str | None:
    """The user's own words in a message (an injected playbook section left out), or None (not a user
    message, or only tool results)."""
    if message.get("role") != "user":
        return None
    content = message.get("content")
    if isinstance(content, str):
        return None if content.startswith(RESULT_PREFIX) else _without_playbook(content)
    texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return _without_playbook(texts[-1]) if texts else None


def _without_playbook(text: str) -> str:
    if text.startswith(PLAYBOOK_OPEN) and PLAYBOOK_CLOSE in text:
        return text.split(PLAYBOOK_CLOSE, 1)[1].lstrip("\n")
    return text


def _tool_result(message: dict[str, Any], kind: str) -> str | None:
    """The tool result a trailing message carries, or None."""
    if kind == "openai":
        if message.get("role") == "tool":
            return message.get("content")
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str) and content.startswith(RESULT_PREFIX):
            return content[len(RESULT_PREFIX):]
        return None
    if message.get("role") != "user" or isinstance(message.get("content"), str):
        return None
    results = [b for b in message["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results or any(isinstance(b, dict) and b.get("type") == "text" for b in message["content"]):
        return None
    content = results[-1].get("content")
    if isinstance(content, list):
        content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            if provider.record:
                provider.requests.append(body)
                provider.paths.append(self.path)
                provider.headers.append(dict(self.headers))
            status, headers, payload = provider.respond(body)
            if payload is None:  # drop the connection without an answer
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (timeout) before the answer
                pass

    return Handler


class OracleBehaviour:
    """A stateless-looking, concurrency-safe "correct" behaviour: answers any request as the oracle
    (``ReplayAgent``) would, for any conversation of ``conversations``, at any concurrency.

    The conversation is found from the user's messages (the first one, and the later ones when several
    conversations open with the same words). Rebuilding the oracle from the whole
    history on every request costs O(history) per request (O(n²) per episode), so the oracle's state
    after each answer is kept under an anchor that only the episode it answered can present again:
    the id of the latest tool call this server issued in the history (ids are unique per server). A
    request whose anchor is known only feeds the oracle the messages after those it has seen; any
    other request (the first ones of an episode, a retried request) rebuilds from the history, which
    gives the same answer. A request with no tool call yet in its history is rebuilt (it is short).

    Args:
        provider: The ``FakeProvider`` (for its wire format).
        conversations: The conversations it may be asked about.
        latency: Seconds to sleep before answering each request.
    """

    def __init__(self, provider: FakeProvider, conversations: Any, latency: float = 0.0,
                 max_states: int = 4096) -> None:
        self.provider = provider
        self.latency = latency
        self.max_states = max_states
        self._conversations = {c.conversation_id: c for c in conversations}
        self._first: dict[str, list[str]] = {}
        for c in self._conversations.values():
            self._first.setdefault(c.turns[0].utterance, []).append(c.conversation_id)
        self._states: dict[tuple[str, str], tuple[Any, int, int]] = {}  # (conv, anchor) → (brain, seen, turn)
        self._lock = threading.Lock()
        self.rebuilt = 0
        self.incremental = 0

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if self.latency:
            time.sleep(self.latency)
        kind = self.provider.kind
        messages = body["messages"]
        users = [t for t in (_user_text(m, kind) for m in messages) if t is not None]
        candidates = self._first.get(users[0] if users else "", [])
        if len(candidates) > 1:  # conversations that open with the same words: the later ones tell them apart
            candidates = [c for c in candidates if _says(self._conversations[c], users)] or candidates
        if not candidates:
            return 200, {}, self.provider._answer({"respond": "I do not know this conversation."})
        if len(candidates) > 1:
            return self._ambiguous(candidates, messages)
        conv_id = candidates[0]
        anchor = _anchor(messages, kind)
        state = None
        if anchor is not None:
            with self._lock:
                state = self._states.pop((conv_id, anchor), None)
        if state is not None and state[1] <= len(messages):
            brain, seen, turn = state
            self.incremental += 1
        else:
            brain, seen, turn = self._brain(conv_id), 0, -1
            self.rebuilt += 1
        action, turn = self._feed(brain, messages[seen:], turn)
        if action is None:  # nothing new to answer (a repeated request): the oracle has nothing to add
            return 200, {}, self.provider._answer({"respond": "Done."})
        payload, call_id = self.provider._answer_with_id(json.loads(action))
        key = (conv_id, call_id or anchor)
        if key[1] is not None:
            with self._lock:
                if len(self._states) >= self.max_states:  # abandoned episodes: forget the oldest
                    for old in list(self._states)[: self.max_states // 4]:
                        del self._states[old]
                self._states[key] = (brain, len(messages), turn)
        return 200, {}, payload

    def _brain(self, conv_id: str) -> Any:
        from crm_env.agents.replay import ReplayAgent

        brain = ReplayAgent([self._conversations[conv_id]])
        brain.reset(conv_id)
        return brain

    def _feed(self, brain: Any, messages: list[dict[str, Any]], turn: int) -> tuple[str | None, int]:
        kind = self.provider.kind
        action = None
        for message in messages:
            text = _user_text(message, kind)
            if text is not None:
                turn += 1
                action = brain.act({"turn": turn, "user_message": text, "last_result": "{}", "crm_state": "{}"})
                continue
            result = _tool_result(message, kind)
            if result is not None:
                action = brain.act({"turn": turn, "user_message": "", "last_result": result, "crm_state": "{}"})
        return action, turn

    def _ambiguous(self, candidates: list[str], messages: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        """Several conversations fit the user's words so far: each oracle answers; when they differ
        (a reply stating facts), the one whose facts the turn's tool results show wins."""
        self.rebuilt += 1
        actions = {c: self._feed(self._brain(c), messages, -1)[0] for c in candidates}
        distinct = set(actions.values())
        if len(distinct) > 1:
            last_user = max(i for i, m in enumerate(messages) if _user_text(m, self.provider.kind) is not None)
            seen = " ".join(r for r in (_tool_result(m, self.provider.kind) for m in messages[last_user:]) if r)

            def shown(conv_id: str) -> int:
                turn = self._conversations[conv_id].turns[sum(
                    _user_text(m, self.provider.kind) is not None for m in messages) - 1]
                return sum(str(f.value) in seen for f in turn.reply_facts)

            best = max(candidates, key=shown)
            actions = {best: actions[best]}
        action = next(iter(actions.values()))
        if action is None:
            return 200, {}, self.provider._answer({"respond": "Done."})
        return 200, {}, self.provider._answer(json.loads(action))


def _says(conversation: Any, users: list[str]) -> bool:
    """Whether the user's messages so far are this conversation's utterances (``{{...}}`` matches anything)."""
    if len(users) > len(conversation.turns):
        return False
    for turn, text in zip(conversation.turns, users, strict=False):
        if turn.utterance == text:
            continue
        if "{{" not in turn.utterance:
            return False
        pattern = ".*?".join(re.escape(part) for part in re.split(r"\{\{.*?\}\}", turn.utterance))
        if re.fullmatch(pattern, text, re.DOTALL) is None:
            return False
    return True


def _anchor(messages: list[dict[str, Any]], kind: str) -> str | None:
    """The id of the latest tool call in a history (None when the model has called no tool yet)."""
    for message in reversed(messages):
        if message.get("role") != "assistant":
            continue
        if kind == "openai":
            calls = message.get("tool_calls")
            if calls:
                return calls[-1].get("id")
        else:
            content = message.get("content")
            if isinstance(content, list):
                for block in reversed(content):
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        return block.get("id")
    return None


def serve(argv: list[str] | None = None) -> int:
    """``python -m tests.fakes.providers serve``: an oracle fake server in this process, until stdin
    closes (or SIGTERM). Prints ``URL`` as the first stdout line."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.providers serve")
    parser.add_argument("--kind", choices=("openai", "anthropic"), default="openai")
    parser.add_argument("--model", default=None)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds slept before each answer")
    parser.add_argument("--dataset", default="arc-crm-1200")
    parser.add_argument("--split", default="eval-400")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    from crm_env.datasets import load

    conversations = load(args.dataset, split=args.split)
    provider = FakeProvider(args.kind, model=args.model, record=False, port=args.port)
    provider.default = OracleBehaviour(provider, conversations, latency=args.latency)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with provider:
        print(provider.url, flush=True)
        try:
            sys.stdin.read()  # returns when the parent closes our stdin (or exits)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["serve"]:
        print("usage: python -m tests.fakes.providers serve [--kind openai|anthropic] [--latency S] ...",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(sys.argv[2:]))
