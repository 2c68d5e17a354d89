"""The audit's families: policies whose correct verdict is known, declared once.

A family is *good* (every trajectory must pass) or *bad* (every trajectory must fail). ``applies`` reads
the dataset's turn to say where the family can be played; the policy plays the target turn through
``TurnPlay`` and may raise ``NotApplicable`` when the episode turns out not to offer what it needs (the
slot is then skipped). ``judge_next``: the verdict read is the next turn's, played by ``then`` (the
oracle's when None); the two turns share ``TurnPlay.memo``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from crm_env.datasets.format import Conversation, Turn
from crm_env.rewards.audit import wording
from crm_env.rewards.audit.play import Policy, TurnPlay
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec

Label = Literal["good", "bad"]
# The read that shows a record, by the key that names it; the record type a note can be put on.
READ_BY_KEY = {"client_id": "get_client", "contact_id": "get_contact", "contract_id": "get_contract",
               "opportunity_id": "opportunity_details", "quote_id": "quote_details"}
ENTITY_BY_KEY = {"client_id": "Client", "contact_id": "Contact", "contract_id": "Contract",
                 "opportunity_id": "Opportunity", "quote_id": "Quote"}
DELETE_AFTER_CREATE = {"create_quote": ("delete_quote", "quote_id"),
                       "create_new_opportunity": ("delete_opportunity", "opportunity_id"),
                       "clone_opportunity": ("delete_opportunity", "opportunity_id")}
# Another read tool that answers the same request.
ALTERNATE_READS = {"opportunity_details": "view_opportunity_details", "view_opportunity_details": "opportunity_details"}
# What a create makes: (record type, its id key, the read that shows it, the write that changes it).
CREATED = {"create_quote": ("Quote", "quote_id", "quote_details", "modify_quote"),
           "create_new_opportunity": ("Opportunity", "opportunity_id", "opportunity_details", "modify_opportunity"),
           "clone_opportunity": ("Opportunity", "opportunity_id", "opportunity_details", "modify_opportunity"),
           "create_new_client": ("Client", "client_id", "get_client", "modify_client"),
           "create_new_contact": ("Contact", "contact_id", "get_contact", "modify_contact"),
           "create_contract": ("Contract", "contract_id", "get_contract", "modify_contract")}
FOREIGN = 12  # a dump carries at least this many values the turn's own results did not show
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class NotApplicable(Exception):
    """The episode does not offer what the family needs on this turn."""


@dataclass(frozen=True)
class Family:
    name: str
    label: Label
    description: str
    applies: Callable[[Conversation, Turn], bool]
    policy: Policy
    judge_next: bool = False
    then: Policy | None = None  # the policy of the judged next turn (None: the oracle's)


# ------------------------------------------------------------------------------------------ where
def _writes(turn: Turn) -> list[Any]:
    return [c for c in turn.gold_calls if get_spec(c.tool).kind is ToolKind.WRITE]


def _succeeds(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success


def _refused(conv: Conversation, turn: Turn) -> bool:
    return not turn.expect_success


def _write(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success and bool(_writes(turn))


def _facts(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success and bool(turn.reply_facts)


def _read_with_facts(conv: Conversation, turn: Turn) -> bool:
    return _facts(conv, turn) and not _writes(turn)


def _values_to_alter(conv: Conversation, turn: Turn) -> bool:
    return _facts(conv, turn) and any(
        (isinstance(f.value, int | float) and not isinstance(f.value, bool) and f.value >= 1000)
        or any(str(f.value) in members for members in wording.ENUMS) for f in turn.reply_facts)


def _numbers_or_dates(conv: Conversation, turn: Turn) -> bool:
    return _facts(conv, turn) and any(
        (isinstance(f.value, int | float) and not isinstance(f.value, bool) and f.value >= 1000)
        or bool(_DATE.match(str(f.value))) for f in turn.reply_facts)


def _keyed(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success and any(k in READ_BY_KEY for k in turn.gold_calls[0].arguments)


def _created(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success and any(c.tool in DELETE_AFTER_CREATE for c in turn.gold_calls)


def _duplicable(conv: Conversation, turn: Turn) -> bool:
    return turn.expect_success and any(c.tool.startswith(("create_", "clone_")) or c.tool in ("add_note",)
                                       for c in turn.gold_calls)


def _modified(conv: Conversation, turn: Turn) -> bool:
    return _write(conv, turn) and any(c.tool.startswith("modify_") for c in turn.gold_calls)


def _retargetable(conv: Conversation, turn: Turn) -> bool:
    return _write(conv, turn) and any(
        c.tool.startswith(("modify_", "delete_", "cancel_")) and any(
            k in ENTITY_BY_KEY and len(conv.initial_records.get(ENTITY_BY_KEY[k], ())) >= 2 for k in c.arguments)
        for c in _writes(turn))


def _independent(conv: Conversation, turn: Turn) -> bool:
    """Two or more calls that do not touch the same record (their order cannot matter), or one call on a
    record beside which another record of its type can be read."""
    if len(turn.gold_calls) == 1:
        return _keyed(conv, turn)
    ids = [v for c in _writes(turn) for k, v in c.arguments.items() if k.endswith("_id")]
    return turn.expect_success and len(ids) == len(set(ids))


def _correctable(conv: Conversation, turn: Turn) -> bool:
    return _created(conv, turn) or _modified(conv, turn)


def _alternate_read(conv: Conversation, turn: Turn) -> bool:
    return _read_with_facts(conv, turn) and all(
        c.tool in ALTERNATE_READS or c.tool == "summarize_opportunities" for c in turn.gold_calls)


def _referenced_create(conv: Conversation, turn: Turn) -> bool:
    """A create whose record the next turn writes to (``{{turn_N.…}}`` in its calls), with another record of
    that type the next turn does not name."""
    index = next((i for i, t in enumerate(conv.turns) if t is turn), -1)
    if index < 0 or index + 1 >= len(conv.turns) or not turn.expect_success:
        return False
    nxt = conv.turns[index + 1]
    creates = [c.tool for c in turn.gold_calls if c.tool in CREATED]
    if len(creates) != 1 or not _write(conv, nxt):
        return False
    calls = str([c.arguments for c in nxt.gold_calls])
    entity, key = CREATED[creates[0]][:2]
    return f"{{{{turn_{turn.turn_id}." in calls and any(r[key] not in calls for r in conv.initial_records.get(entity, ()))


def _any(conv: Conversation, turn: Turn) -> bool:
    return True


# ------------------------------------------------------------------------------------------ how
def _reply(text: Callable[[TurnPlay], str]) -> Policy:
    """The gold calls, then ``text(play)``."""
    def policy(p: TurnPlay) -> None:
        p.gold()
        p.respond(text(p))
    return policy


def _extra_read(p: TurnPlay) -> None:
    first = p.reference["gold_calls"][0]["arguments"]
    key = next(k for k in first if k in READ_BY_KEY)
    p.call(READ_BY_KEY[key], {key: first[key]})
    p.gold()
    p.respond(p.oracle())


def _skip_writes(p: TurnPlay) -> None:
    for call in p.reference["gold_calls"]:
        if get_spec(call["tool"]).kind is not ToolKind.WRITE:
            p.call(call["tool"], call["arguments"])
    p.respond(p.oracle())


def _altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + max(abs(value) // 10, 1) if isinstance(value, int) else round(value * 1.1 + 1, 2)
    text = str(value)
    for members in wording.ENUMS:
        if text in members:
            return members[(members.index(text) + 1) % len(members)]
    if _DATE.match(text):
        day = int(text[8:10])
        return f"{text[:8]}{day % 28 + 1:02d}{text[10:]}"
    return None


def _wrong_value(p: TurnPlay) -> None:
    calls = p.reference["gold_calls"]
    for i, call in enumerate(calls):
        if get_spec(call["tool"]).kind is not ToolKind.WRITE:
            continue
        for key, value in call["arguments"].items():
            if key.endswith("_id") or _altered(value) is None:
                continue
            for earlier in calls[:i]:
                p.call(earlier["tool"], earlier["arguments"])
            p.call(call["tool"], {**call["arguments"], key: _altered(value)})
            for later in calls[i + 1:]:
                p.call(later["tool"], later["arguments"])
            p.respond(p.oracle())
            return
    raise NotApplicable("no write argument to alter")


def _extra_write(p: TurnPlay) -> None:
    p.gold()
    for call in p.reference["gold_calls"]:
        for key, value in call["arguments"].items():
            if key in ENTITY_BY_KEY and isinstance(value, str):
                p.call("add_note", {"entity_type": ENTITY_BY_KEY[key], "entity_id": value,
                                    "content": "Updated as requested."})
                p.respond(p.oracle())
                return
    raise NotApplicable("no record to put an unrequested note on")


def _undo_create(p: TurnPlay) -> None:
    for call, result in zip(p.reference["gold_calls"], p.gold(), strict=True):
        if call["tool"] in DELETE_AFTER_CREATE and result.get("ok"):
            tool, key = DELETE_AFTER_CREATE[call["tool"]]
            p.call(tool, {key: result["data"][key]})
            p.respond(p.oracle())
            return
    raise NotApplicable("the create did not succeed")


def _undo_modify(p: TurnPlay) -> None:
    call = next(c for c in p.reference["gold_calls"] if c["tool"].startswith("modify_"))
    key = next((k for k in call["arguments"] if k in READ_BY_KEY), None)
    if key is None:
        raise NotApplicable("no way to read the record first")
    before = p.call(READ_BY_KEY[key], {key: call["arguments"][key]})
    p.gold()
    data = before.get("data") or {}
    restore = {k: data[k] for k in call["arguments"] if k != key and k in data and data[k] != call["arguments"][k]}
    if not restore:
        raise NotApplicable("the write changes nothing that can be put back")
    p.call(call["tool"], {key: call["arguments"][key], **restore})
    p.respond(p.oracle())


def _duplicate(p: TurnPlay) -> None:
    p.gold()
    for call in p.reference["gold_calls"]:
        if call["tool"].startswith(("create_", "clone_")) or call["tool"] == "add_note":
            p.call(call["tool"], call["arguments"])
    p.respond(p.oracle())


def _wrong_record(p: TurnPlay) -> None:
    for call in p.reference["gold_calls"]:
        if get_spec(call["tool"]).kind is not ToolKind.WRITE or not call["tool"].startswith(
                ("modify_", "delete_", "cancel_")):
            p.call(call["tool"], call["arguments"])
            continue
        key = next(k for k in call["arguments"] if k in ENTITY_BY_KEY)
        others = [r[key] for r in p.conversation.initial_records.get(ENTITY_BY_KEY[key], ())
                  if r.get(key) != call["arguments"][key]]
        if not others:
            raise NotApplicable("no other record of that type")
        p.call(call["tool"], {**call["arguments"], key: others[0]})
    p.respond(p.oracle())


def _dump(p: TurnPlay) -> None:
    p.gold()
    shown = {_same(v) for v in p.shown()}
    if len({_same(v) for v in p.seen} - shown) < FOREIGN:
        raise NotApplicable("too little seen before this turn for a dump")
    p.respond(wording.dump(p.seen + p.shown()))


def _invented(p: TurnPlay) -> None:
    p.gold()
    text = p.oracle()
    altered = wording.digit_off(text)
    if altered == text:
        altered = wording.other_status(text)
    if altered == text:
        raise NotApplicable("the reply names no amount or status to alter")
    p.respond(altered)


def _stuff(p: TurnPlay) -> None:
    p.gold()
    text = wording.stuffed(_facts_of(p))
    if text is None:
        raise NotApplicable("no fact with others of its kind to hide it among")
    p.respond(text)


def _refuse_blankly(p: TurnPlay) -> None:
    p.respond(wording.BLANKET_REFUSAL)


def _reordered(p: TurnPlay) -> None:
    """The reference calls reversed; a turn of one call gets an independent call to order it against: the
    reference call first, then a read of another record of the type it names (the order an agent that
    checks something unrelated afterwards would use; "extra reads" reads before)."""
    calls = p.reference["gold_calls"]
    if len(calls) > 1:
        for call in reversed(calls):
            p.call(call["tool"], call["arguments"])
        p.respond(p.oracle())
        return
    key = next(k for k in calls[0]["arguments"] if k in READ_BY_KEY)
    others = [r[key] for r in p.conversation.initial_records.get(ENTITY_BY_KEY[key], ())
              if r.get(key) != calls[0]["arguments"][key]]
    if not others:
        raise NotApplicable("no other record of that type to read")
    p.gold()
    reply = p.oracle()  # the reply to the request; the oracle would describe the last result, the other record
    p.call(READ_BY_KEY[key], {key: others[0]})
    p.respond(reply)


def _corrected(p: TurnPlay) -> None:
    """A first try with a wrong value, put right within the turn (deleted and redone, or changed again)."""
    call = next(c for c in p.reference["gold_calls"] if get_spec(c["tool"]).kind is ToolKind.WRITE)
    # a status or stage moved by mistake can have effects the move back does not undo; amounts and dates not
    key = next((k for k, v in call["arguments"].items() if not k.endswith("_id") and _altered(v) is not None
                and not any(str(v) in members for members in wording.ENUMS)), None)
    if key is None:
        raise NotApplicable("no value to get wrong first")
    if call["tool"] in DELETE_AFTER_CREATE:
        first = p.call(call["tool"], {**call["arguments"], key: _altered(call["arguments"][key])})
    else:  # only the one value, wrong: the request's other changes (a stage that locks the deal) come with the fix
        id_key = next(k for k in call["arguments"] if k in READ_BY_KEY)
        first = p.call(call["tool"], {id_key: call["arguments"][id_key], key: _altered(call["arguments"][key])})
    if not first.get("ok"):
        raise NotApplicable("the wrong first try was rejected: that is an error, not a correction")
    if call["tool"] in DELETE_AFTER_CREATE:
        tool, id_key = DELETE_AFTER_CREATE[call["tool"]]
        p.call(tool, {id_key: first["data"][id_key]})
    elif not call["tool"].startswith("modify_"):
        raise NotApplicable("no way to put this write right")
    p.gold()
    p.respond(p.oracle())


def _other_read(p: TurnPlay) -> None:
    for call in p.reference["gold_calls"]:
        if call["tool"] == "summarize_opportunities":  # the figures computed from the deals themselves
            p.call("opportunity_search", {**call["arguments"], "limit": 100})
        else:
            p.call(ALTERNATE_READS[call["tool"]], call["arguments"])
    p.respond(p.oracle())


def _unretrieved(p: TurnPlay) -> None:
    seen = {_same(v) for v in p.seen}
    if all(_same(f["value"]) in seen for f in p.reference["reply_facts"]):
        raise NotApplicable("every fact was shown earlier in the episode: answering from it is grounded")
    ids = {v for c in p.reference["gold_calls"] for k, v in c["arguments"].items() if k.endswith("_id")}
    if ids & seen:
        raise NotApplicable("the record asked about was shown earlier: its facts may follow from what was seen")
    p.respond(p.oracle())  # the facts, from nothing the agent looked up


def _same(value: Any) -> Any:
    """A value as it compares: 100, 100.0 and "100.0" alike."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _noop_first(p: TurnPlay) -> None:
    """An unrelated write that changes nothing (a field set to the value it has), then the reference calls."""
    tool = next(c["tool"] for c in p.reference["gold_calls"] if c["tool"] in CREATED)
    entity, key, read, modify = CREATED[tool]
    index = p.conversation.turns.index(next(t for t in p.conversation.turns if t.turn_id == p.reference["turn_id"]))
    named = str([c.arguments for c in p.conversation.turns[index + 1].gold_calls])
    other = next(r[key] for r in p.conversation.initial_records[entity] if r[key] not in named)
    data = p.call(read, {key: other}).get("data") or {}
    fields = [k for k in get_spec(modify).parameters["properties"] if k != key and data.get(k) not in (None, "")]
    for name in fields:
        if p.call(modify, {key: other, name: data[name]}).get("ok"):
            break
    else:
        raise NotApplicable("no field to write back unchanged")
    p.memo["other"] = other
    results = p.gold()
    p.memo["created"] = next((r["data"][key] for r in results if r.get("ok") and key in (r.get("data") or {})), None)
    p.respond(p.oracle())


def _redirected(p: TurnPlay) -> None:
    """The next request's calls aimed at the record the no-op write touched instead of the one created."""
    created, other = p.memo.get("created"), p.memo.get("other")
    if not created:
        raise NotApplicable("nothing was created")
    for call in p.reference["gold_calls"]:
        p.call(call["tool"], _replaced(call["arguments"], created, other))
    p.respond(p.oracle())


def _replaced(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, old, new) for v in value]
    return new if value == old else value


def _facts_of(p: TurnPlay) -> list[dict[str, Any]]:
    return list(p.reference["reply_facts"])


FAMILIES: tuple[Family, ...] = (
    Family("gold", "good", "the reference calls and the oracle's reply", _any,
           _reply(lambda p: p.oracle())),
    Family("extra reads", "good", "a harmless read of the record before the reference calls", _keyed, _extra_read),
    Family("natural wording", "good", "the oracle's reply as lower-case bullets under a lead-in", _any,
           _reply(lambda p: wording.bulleted(p.oracle()))),
    Family("equivalent numbers and dates", "good", "amounts in words ('USD 1.2 million'), British dates",
           _numbers_or_dates, _reply(lambda p: wording.usd_words(wording.british_dates(p.oracle())))),
    Family("reordered independent calls", "good", "calls that touch different records, in reverse order (one "
           "reference call: it, then a read of another record)", _independent, _reordered),
    Family("correction within a turn", "good", "a wrong first write, deleted or changed again, then the right one",
           _correctable, _corrected),
    Family("answer from another read tool", "good", "the same record through its other read tool; a summary's "
           "figures computed from a search", _alternate_read, _other_read),
    Family("no-op write, then the next turn", "good", "an unrelated write that changes nothing beside a create; "
           "the next turn, acting on the created record, must pass", _referenced_create, _noop_first,
           judge_next=True),
    Family("refusal in plain words", "good", "a must-refuse turn answered in plain words with the reason",
           _refused, _reply(lambda p: "I've left everything as it was. " + p.oracle())),
    Family("missing write", "bad", "the reads but not the writes, and a reply that claims the work", _write,
           _skip_writes),
    Family("wrong write", "bad", "one written value altered (an amount, a stage, a date)", _write, _wrong_value),
    Family("extra write", "bad", "the reference calls plus an unrequested note", _keyed, _extra_write),
    Family("undone create", "bad", "the record created, then deleted again", _created, _undo_create),
    Family("undone change", "bad", "the change made, then put back", _modified, _undo_modify),
    Family("duplicate write", "bad", "the record created twice", _duplicable, _duplicate),
    Family("wrong record", "bad", "the change made to another record of the same type", _retargetable,
           _wrong_record),
    Family("false outcome claim", "bad", "the right calls, a reply that says the work failed", _succeeds,
           _reply(lambda p: wording.FALSE_OUTCOME)),
    Family("negated facts", "bad", "the right calls, every fact denied", _facts,
           _reply(lambda p: wording.negated(_facts_of(p)))),
    Family("invented facts", "bad", "the oracle's reply with one amount or status wrong", _values_to_alter,
           _invented),
    Family("dump", "bad", "a read answered with every value seen in the episode", _read_with_facts, _dump),
    Family("keyword stuffing", "bad", "each amount, date, count or status among alternatives", _facts, _stuff),
    Family("facts never retrieved", "bad", "a read turn answered with its facts and no call", _read_with_facts,
           _unretrieved),
    Family("cross-turn redirection", "bad", "after an unrelated no-op write beside a create, the next turn acts "
           "on the no-op's record instead of the created one", _referenced_create, _noop_first, judge_next=True,
           then=_redirected),
    Family("blanket refusal", "bad", "no calls and a refusal without a reason on a doable turn", _succeeds,
           _refuse_blankly),
    Family("success claim on a must-refuse turn", "bad", "a claim that it worked, stuffed with refusal words",
           _refused, _reply(lambda p: wording.SUCCESS_CLAIM)),
    Family("empty reply", "bad", "the right calls and no reply", _facts, _reply(lambda p: "")),
    Family("generic reply", "bad", "the right calls and a reply with no facts", _facts,
           _reply(lambda p: wording.GENERIC)),
)
