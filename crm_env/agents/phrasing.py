"""Every reply the offline agents (replay, scripted) write, in the English a competent assistant uses.

A reply is built from what the agent knows, and from nothing else: the turn's intent, the facts it must
state, the tool results it saw (record names come from there, see ``crm_env.agents.names``), its own call
arguments (a search's filters), and, for a refused request, the tool's error message. Examples:

- ``I've created the opportunity "Quantum Support Contract Phase 2" for Quantum Systems: $1,479,000, in
  Proposal, closing on October 24, 2026, with an 85% probability.``
- ``I found 2 opportunities owned by Taylor Brooks: Hooli Cloud Migration Q2 and Hooli Security Suite FY26.``
- ``Done: Proseware Consulting Retainer FY26 now has a probability of 90%.``
- ``I couldn't update Spacely Analytics Rollout H1: the amount $0 is out of range: amounts must be greater
  than $0 and at most $10,000,000. Nothing was changed.``

Rules every template keeps: each fact's value is stated exactly (``crm_env.agents.wording``); the target
record is named when the agent knows its name; a search names exactly its result records and their
count; no id or value is stated that the agent did not see or the user did not give; the outcome is the
real one. Zero counts are written with the digit as well ("no contacts ... 0 results") so that every
reader, a literal one included, gets the number.

Wording varies among a few templates per intent, chosen by a hash of the turn's key (conversation id and
turn), so a replayed episode says exactly the same thing. The scripted agent's wrong replies
(``false_failure``, ``false_success``, ``hedged``, ``without_reason``) are built here too, so that every
reply comes from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crm_env.agents.names import display_name
from crm_env.agents.reasons import plain_reason
from crm_env.agents.reply_view import ReplyContext, ReplyView, details, is_write, pick, with_probability
from crm_env.agents.wording import (
    capitalise,
    count,
    field_words,
    join,
    lower_first,
    money,
    percent,
    spelled_date,
    value_text,
)
from crm_env.datasets.intents import TaskIntent as I  # noqa: N814 - the table below reads better short


def compose(ctx: ReplyContext) -> str:
    """The correct reply: the refusal and its reason when there is an error, else the answer."""
    if ctx.error:
        return refusal(ctx)
    return _COMPOSERS[ctx.intent](ReplyView(ctx))


# ---------------------------------------------------------------------------------------------- writes
def _create_opportunity(v: ReplyView) -> str:
    name = v.get("name") or v.args.get("name")
    client = v.name(v.data.get("client_id") or v.args.get("client_id"))
    target = (f'the opportunity "{name}"' if name else "the opportunity") + (f" for {client}" if client else "")
    parts = details(v, [("amount", str), ("stage", "in {}".format), ("close_date", "closing on {}".format),
                         ("probability", with_probability)])
    if not parts:
        return f"I've created {target}."
    return v.pick("t", f"I've created {target}: {', '.join(parts)}.",
                  f"Done: {target} is in the pipeline, {', '.join(parts)}.",
                  f"I've added {target} to the pipeline: {', '.join(parts)}.")


def _clone(v: ReplyView) -> str:
    source = v.name(v.args.get("opportunity_id")) or "the opportunity"
    name = v.get("name")
    copy = f'"{name}"' if name else "a new opportunity"
    parts = details(v, [("stage", "in {}".format), ("amount", "worth {}".format)])
    tail = f": it's {join(parts)}" if parts else ""
    return v.pick("t", f"I've cloned {source} as {copy}{tail}.",
                  f"Done: {copy} is a copy of {source}{(', ' + join(parts)) if parts else ''}.")


def _create_quote(v: ReplyView) -> str:
    deal = v.name(v.data.get("opportunity_id") or v.args.get("opportunity_id"))
    on = f" on {deal}" if deal else ""
    parts = details(v, [("amount", str), ("status", "status {}".format), ("quote_prefix", "prefix {}".format),
                         ("version", "version {}".format), ("valid_until", "valid until {}".format)])
    if not parts:
        return f"I've created a quote{on}."
    return v.pick("t", f"I've created a quote{on}: {', '.join(parts)}.",
                  f"Done: the new quote{on} is {join(parts)}.")


def _create_client(v: ReplyView) -> str:
    name = v.get("name") or v.args.get("name")
    parts = details(v, [("status", "status {}".format), ("industry", "industry {}".format),
                         ("email", "e-mail {}".format), ("phone", "phone {}".format), ("owner", "owner {}".format)])
    with_parts = f", with {join(parts)}" if parts else ""
    return v.pick("t", f'I\'ve added the client "{name}"{with_parts}.',
                  f"Done: {name} is now a client in the CRM{with_parts}.")


def _create_contact(v: ReplyView) -> str:
    person = " ".join(str(v.get(k)) for k in ("first_name", "last_name") if v.has(k)) or "the contact"
    client = v.name(v.data.get("client_id") or v.args.get("client_id"))
    at = f" at {client}" if client else ""
    parts = details(v, [("title", "with the title {}".format)])
    tail = f", {join(parts)}" if parts else ""
    return v.pick("t", f"I've added {person} as a contact{at}{tail}.", f"Done: {person} is now a contact{at}{tail}.")


def _create_contract(v: ReplyView) -> str:
    client = v.name(v.data.get("client_id") or v.args.get("client_id"))
    deal = v.name(v.data.get("opportunity_id") or v.args.get("opportunity_id"))
    what = "a contract" + (f" for {client}" if client else "") + (f" on {deal}" if deal else "")
    parts = []
    if v.has("value"):
        parts.append(v.text("value"))
    if v.has("start_date") and v.has("end_date"):
        parts.append(f"running from {v.text('start_date')} to {v.text('end_date')}")
    if v.has("status"):
        parts.append(f"with status {v.text('status')}")
    parts += v.rest()
    if not parts:
        return f"I've created {what}."
    return v.pick("t", f"I've created {what}: {', '.join(parts)}.", f"Done: {what} is set up, {', '.join(parts)}.")


def _upload(v: ReplyView) -> str:
    file_name = v.get("file_name") or v.args.get("file_name") or "the document"
    entity = str(v.get("entity_type") or v.args.get("entity_type") or "record")
    target = v.target(entity, v.args.get("entity_id"))
    if entity.lower() not in target.lower():  # the record type is a fact: say it even for a named deal
        target = f"the {entity.lower()} {target}"
    more = v.rest()
    extra = f" ({join(more)})" if more else ""
    return v.pick("t", f"I've uploaded {file_name} to {target}{extra}.",
                  f"Done: {file_name} is now attached to {target}{extra}.")


def _add_note(v: ReplyView) -> str:
    content = v.get("content") or v.args.get("content")
    target = v.target(str(v.args.get("entity_type") or "record"), v.args.get("entity_id"))
    note = f'the note "{content}"' if content else "the note"
    more = v.rest()
    extra = f" ({join(more)})" if more else ""
    return v.pick("t", f"I've added {note} to {target}{extra}.", f"Done: {capitalise(target)} now has {note}{extra}.")


_CHANGES: dict[str, Callable[[str], str]] = {
    "stage": "is now in {}".format,
    "owner": "is now owned by {}".format,
    "close_date": "now closes on {}".format,
    "probability": "now has a probability of {}".format,
    "amount": "now has an amount of {}".format,
    "value": "now has a value of {}".format,
    "status": "now has the status {}".format,
    "valid_until": "is now valid until {}".format,
    "version": "is now at version {}".format,
    "name": 'is now called "{}"'.format,
}


def _modify(v: ReplyView) -> str:
    entity = {I.MODIFY_OPPORTUNITY: "opportunity", I.MODIFY_CLIENT: "client", I.MODIFY_CONTACT: "contact",
              I.MODIFY_QUOTE: "quote"}[v.ctx.intent]
    # After a rename the result carries the new name: the target is then named by its type only.
    record = None if v.has("name") else v.data or None
    target = v.target(entity, v.args.get(f"{entity}_id"), record) if record or not v.has("name") else f"the {entity}"
    if entity == "client" and target.startswith("the client "):
        target = target[len("the client "):]
    clauses = [_CHANGES.get(label, lambda text, label=label: f"now has the {field_words(label)} {text}")(
        value_text(label, value)) for label, value in v.ctx.facts]
    if not clauses:
        return f"I've updated {target}."
    return v.pick("t", f"Done: {capitalise(target)} {join(clauses)}.", f"I've updated {target}: it {join(clauses)}.",
                  f"{capitalise(target)} {join(clauses)}, as you asked.")


def _cancel_quote(v: ReplyView) -> str:
    quote = v.quote(v.data or None, v.args.get("quote_id"))
    if not v.has("status"):
        return f"I've canceled {quote}."
    status = v.text("status")
    return v.pick("t", f"I've canceled {quote}; its status is now {status}, and the record is kept.",
                  f"Done: {capitalise(quote)} now has the status {status}.")


def _delete_opportunity(v: ReplyView) -> str:
    target = v.target("opportunity", v.args.get("opportunity_id"))
    if not target.startswith("the "):
        target = f"the opportunity {target}"
    deleted = v.data.get("deleted") if isinstance(v.data.get("deleted"), Mapping) else {}
    also = {entity: len(ids) for entity, ids in deleted.items() if entity != "Opportunity"}
    if v.has("quotes_deleted"):
        also["Quote"] = int(v.get("quotes_deleted"))
    others = [count(n, entity.lower()) for entity, n in sorted(also.items(), key=lambda kv: kv[0] != "Quote")]
    if not others:
        return v.pick("t", f"I've deleted {target}.", f"Done: {target} is deleted.")
    return v.pick("t", f"I've deleted {target}, along with its {join(others)}.",
                  f"Done: {target} is deleted, and so are its {join(others)}.")


def _delete_quote(v: ReplyView) -> str:
    quote = v.quote(None, v.args.get("quote_id"))
    return v.pick("t", f"I've deleted {quote}.", f"Done: {quote} is deleted.")


# ---------------------------------------------------------------------------------------------- reads
_SEARCH_NOUNS = {
    I.OPPORTUNITY_SEARCH: ("opportunity", "opportunities"), I.CLIENT_SEARCH: ("client", "clients"),
    I.CONTACT_SEARCH: ("contact", "contacts"), I.COMPANY_SEARCH: ("company", "companies"),
    I.QUOTE_SEARCH: ("quote", "quotes"), I.CONTRACT_SEARCH: ("contract", "contracts"),
}
_SCOPES: dict[str, str] = {
    "name": ' with "{}" in the name', "stage": " in {}", "owner": " owned by {}", "industry": " in the {} industry",
    "status": " with status {}", "type": " of type {}", "last_name": " with the last name {}",
    "first_name": " with the first name {}", "amount_min": " worth {} or more", "amount_max": " worth {} or less",
}
_PAGING = frozenset({"limit", "offset"})


def _scope(v: ReplyView) -> str:
    """The search's filters, as the user asked for them."""
    parts = []
    for key, value in v.args.items():
        if key in _PAGING or value is None:
            continue
        if key.endswith("_id"):
            named = v.name(value)
            if named:
                parts.append(f" on {named}" if key == "opportunity_id" else f" for {named}")
            continue
        template = _SCOPES.get(key)
        parts.append(template.format(value_text(key, value)) if template
                     else f" with {field_words(key)} {value_text(key, value)}")
    return "".join(parts)


def _item(record: Mapping[str, Any]) -> str:
    named = display_name(record)
    if named:
        return named
    amount = record.get("amount", record.get("value"))
    return money(amount) if amount is not None else "an unnamed record"


def _search(v: ReplyView) -> str:
    singular, plural = _SEARCH_NOUNS[v.ctx.intent]
    found = v.data.get("results") if isinstance(v.data.get("results"), list) else []
    total = v.get("total")
    total = int(total) if total is not None else int(v.data.get("total", len(found)))
    v.used.add("match")  # the matches are the result records, named below
    scope = _scope(v)
    if total == 0:
        where = scope or " matching that"
        return v.pick("zero", f"I found no {plural}{where} (the search returned 0 results).",
                      f"There are no {plural}{where}: the search came back with 0 results.")
    items = join([_item(r) for r in found if isinstance(r, Mapping)])
    head = count(total, singular, plural)
    if len(found) < total:
        items = f"here are the first {len(found)}: {items}"
    rest = v.rest()
    if rest:
        items += f" ({join(rest)})"
    be = "is" if total == 1 else "are"
    return v.pick("t", f"I found {head}{scope}: {items}.", f"There {be} {head}{scope}: {items}.",
                  f"The search found {head}{scope}: {items}.")


def _summary(v: ReplyView) -> str:
    scope = _scope(v)
    n = int(v.get("count") or 0)
    head = count(n, "opportunity", "opportunities")
    total = v.text("total_amount") if v.has("total_amount") else None
    weighted = v.text("weighted_amount") if v.has("weighted_amount") else None
    parts = ([f"worth {total} in total"] if total else []) + (
        [f"with a weighted value of {weighted}"] if weighted else []) + v.rest()
    be = "is" if n == 1 else "are"
    return v.pick("t", f"There {be} {head}{scope}, {join(parts)}.",
                  f"The pipeline{scope} has {head}, {join(parts)}.")


def _compare_quotes(v: ReplyView) -> str:
    n = len(v.data.get("quotes") or v.args.get("quote_ids") or ()) or 2
    low = v.text("lowest_amount") if v.has("lowest_amount") else None
    gap = v.text("amount_difference") if v.has("amount_difference") else None
    rest = v.rest()
    extra = f" ({join(rest)})" if rest else ""
    if low and gap and n == 2:
        return v.pick("t", f"The lower of the two quotes comes to {low}, and they are {gap} apart{extra}.",
                      f"Of the two quotes, the cheaper one is {low}; the other is {gap} more{extra}.")
    if low and gap:
        return f"The lowest of the {n} quotes comes to {low}, and the highest is {gap} more{extra}."
    said = join([p for p in (f"the lowest is {low}" if low else "", f"they differ by {gap}" if gap else "") if p])
    return f"I compared the {n} quotes{': ' + said if said else ''}{extra}."


def _compare_details(v: ReplyView) -> str:
    differences = v.data.get("differences") if isinstance(v.data.get("differences"), Mapping) else {}
    items = []
    for name in v.many.get("differs", []):
        values = differences.get(name)
        shown = ""
        if isinstance(values, list) and values:
            shown = f" ({' vs '.join(value_text(str(name), x) for x in values)})"
        items.append(f"{field_words(str(name))}{shown}")
    v.used.add("differs")
    items += v.rest()
    if not items:
        return "The two quotes have the same details."
    return v.pick("t", f"The two quotes differ in {join(items)}.",
                  f"Those quotes differ in {join(items)}; everything else is the same.")


def _prefixes(v: ReplyView) -> str:
    scope = _scope(v)
    counts = {p.get("quote_prefix"): p.get("count") for p in v.data.get("prefixes") or () if isinstance(p, Mapping)}
    names = [str(p) for p in v.many.get("prefix", [])]
    v.used.add("prefix")
    if not names:
        return f"No quote prefixes are in use{scope}."
    items = join([f"{p} ({count(int(counts[p]), 'quote')})" if counts.get(p) else p for p in names])
    return v.pick("t", f"The quotes{scope} use {count(len(names), 'prefix', 'prefixes')}: {items}.",
                  f"There are {count(len(names), 'prefix', 'prefixes')} in use{scope}: {items}.")


def _view_details(v: ReplyView) -> str:
    deal = v.data.get("opportunity") if isinstance(v.data.get("opportunity"), Mapping) else {}
    name = display_name(deal) or v.target("opportunity", v.args.get("opportunity_id"))
    quotes = int(v.get("quotes")) if v.has("quotes") else None  # read first: said below, not among the rest
    parts = details(v, [("stage", "it's in {}".format), ("amount", "it's worth {}".format),
                        ("client", "the client is {}".format)])
    if quotes is not None:
        parts.append(f"it has {count(quotes, 'quote')}{' so far' if quotes == 0 else ''}")
    return v.pick("t", f"{capitalise(name)}: {join(parts)}.", f"Here is where {name} stands: {join(parts)}.")


def _opportunity_details(v: ReplyView) -> str:
    name = display_name(v.data) or v.target("opportunity", v.args.get("opportunity_id"))
    if v.pick("t", "prose", "fields") == "prose":
        parts = details(v, [("stage", "in {}".format), ("amount", "worth {}".format),
                             ("probability", with_probability)])
        return f"{capitalise(name)} is {', '.join(parts)}." if parts else f"I've pulled up {name}."
    parts = details(v, [("stage", "stage {}".format), ("amount", "amount {}".format),
                         ("probability", "probability {}".format)])
    return f"The details of {name}: {', '.join(parts)}." if parts else f"I've pulled up {name}."


def _quote_details(v: ReplyView) -> str:
    quote = v.quote(v.data or None, v.args.get("quote_id"))
    parts = details(v, [("amount", "{}".format), ("status", "with status {}".format),
                         ("version", "version {}".format), ("valid_until", "valid until {}".format)])
    if not parts:
        return f"I've pulled up {quote}."
    lead = "is for" if v.has("amount") else "is"
    return v.pick("t", f"{capitalise(quote)} {lead} {', '.join(parts)}.", f"That is {quote}: {', '.join(parts)}.")


_COMPOSERS: dict[I, Callable[[ReplyView], str]] = {
    I.CREATE_NEW_OPPORTUNITY: _create_opportunity, I.CLONE_OPPORTUNITY: _clone, I.CREATE_QUOTE: _create_quote,
    I.CREATE_NEW_CLIENT: _create_client, I.CREATE_NEW_CONTACT: _create_contact,
    I.CREATE_NEW_CONTRACT: _create_contract, I.UPLOAD_DOCUMENT: _upload, I.ADD_NOTE: _add_note,
    I.MODIFY_OPPORTUNITY: _modify, I.MODIFY_CLIENT: _modify, I.MODIFY_CONTACT: _modify, I.MODIFY_QUOTE: _modify,
    I.CANCEL_QUOTE: _cancel_quote, I.DELETE_OPPORTUNITY: _delete_opportunity, I.DELETE_QUOTE: _delete_quote,
    **dict.fromkeys(_SEARCH_NOUNS, _search), I.SUMMARIZE_OPPORTUNITIES: _summary,
    I.COMPARE_QUOTES: _compare_quotes, I.COMPARE_QUOTE_DETAILS: _compare_details, I.QUOTE_PREFIXES: _prefixes,
    I.VIEW_OPPORTUNITY_DETAILS: _view_details, I.OPPORTUNITY_DETAILS: _opportunity_details,
    I.QUOTE_DETAILS: _quote_details,
}
assert set(_COMPOSERS) == set(I), "every intent needs a composer"


# ---------------------------------------------------------------------------------------------- refusals
def _action(v: ReplyView) -> str:
    """What the request asked for, as "create the opportunity "X"", "update Falcon Group", "look that up"."""
    intent, args = v.ctx.intent, v.args
    if intent in (I.CREATE_NEW_OPPORTUNITY, I.CREATE_NEW_CLIENT):
        noun = "opportunity" if intent is I.CREATE_NEW_OPPORTUNITY else "client"
        return f'create the {noun} "{args["name"]}"' if args.get("name") else f"create that {noun}"
    for entity in ("opportunity", "client", "contact", "quote"):
        if intent.value == f"MODIFY {entity.upper()}":
            target = v.target(entity, args.get(f"{entity}_id"))
            return f"update that {entity}" if target == f"the {entity}" else f"update {target}"
    return _ACTIONS.get(intent, "do that")


_ACTIONS: dict[I, str] = {
    I.CREATE_NEW_CONTACT: "add that contact", I.CREATE_QUOTE: "create that quote",
    I.CREATE_NEW_CONTRACT: "create that contract", I.CLONE_OPPORTUNITY: "clone that opportunity",
    I.UPLOAD_DOCUMENT: "upload that document", I.ADD_NOTE: "add that note", I.CANCEL_QUOTE: "cancel that quote",
    I.DELETE_OPPORTUNITY: "delete that opportunity", I.DELETE_QUOTE: "delete that quote",
    I.VIEW_OPPORTUNITY_DETAILS: "pull up that opportunity", I.OPPORTUNITY_DETAILS: "pull up that opportunity",
    I.QUOTE_DETAILS: "pull up that quote", I.COMPARE_QUOTES: "compare those quotes",
    I.COMPARE_QUOTE_DETAILS: "compare those quotes", I.SUMMARIZE_OPPORTUNITIES: "summarize those opportunities",
    I.QUOTE_PREFIXES: "list those quote prefixes", **dict.fromkeys(_SEARCH_NOUNS, "run that search"),
}


def refusal(ctx: ReplyContext, reason: str | None = None) -> str:
    """The request was not carried out: what was asked, why not (from the error), and that nothing changed."""
    v = ReplyView(ctx)
    why = reason if reason is not None else plain_reason(ctx.error or "", v.name)
    action = _action(v)
    if is_write(ctx.intent):
        return v.pick("no", f"I couldn't {action}: {why}. Nothing was changed.",
                      f"The CRM rejected that, so I couldn't {action}: {why}. Nothing was changed.",
                      f"I was unable to {action}: {why}. I haven't changed anything.")
    return v.pick("no", f"I couldn't {action}: {why}.", f"I was unable to {action}: {why}.")


# ---------------------------------------------------------------------------------------------- other replies
def give_up(key: str) -> str:
    """An unhelpful reply that makes no call and no claim (the scripted agent's ``give_up``)."""
    return pick(key, "give_up", (
        "Sorry, I'm not sure how to handle this request. Could you rephrase it or give me a bit more detail?",
        "I'm not sure how to go about that one. Could you tell me a little more about what you need?",
        "Sorry, I don't know how to do that in the CRM. Could you put the request another way?",
    ))


def vague_done(key: str) -> str:
    """A success claim with no details (after a call that succeeded but was not the one asked for)."""
    return pick(key, "vague", ("Done: I've taken care of that.", "All set, that's been handled.",
                               "I've done that for you."))


def false_failure(ctx: ReplyContext) -> str:
    """Says the work failed (it did not): the scripted agent's false outcome claim on a turn that succeeded."""
    v = ReplyView(ctx)
    if is_write(ctx.intent):
        return v.pick("ff", f"I couldn't {_action(v)}: the CRM didn't accept the change. Nothing was changed.",
                      f"Sorry, I wasn't able to {_action(v)}; the request didn't go through.")
    return v.pick("ff", f"I couldn't {_action(v)}: the lookup didn't go through, so I don't have an answer yet.",
                  f"Sorry, the request to {_action(v)} failed, so I can't tell you yet.")


def false_success(ctx: ReplyContext) -> str:
    """Claims a refused request was done, stating the requested values (a false outcome claim)."""
    args = {k: v for k, v in ctx.arguments.items() if not k.endswith(("_id", "_ids"))}
    if not is_write(ctx.intent):
        return pick(ctx.key, "fs", ("Here you go: I pulled that up, and everything on it looks in order.",
                                    "Done: I've looked that up, and it's all in order."))
    claimed = ReplyContext(key=ctx.key, intent=ctx.intent, facts=tuple(args.items()), arguments=ctx.arguments,
                           names=ctx.names, utterance=ctx.utterance)
    return compose(claimed)


def without_reason(ctx: ReplyContext) -> str:
    """A refusal that does not say why (a missing fact on a must-refuse turn)."""
    v = ReplyView(ctx)
    return v.pick("nr", f"I couldn't {_action(v)}. Nothing was changed.", f"Sorry, I was unable to {_action(v)}.")


def hedged(ctx: ReplyContext) -> str:
    """The right content, stated with doubt about whether it is true or took effect."""
    if ctx.error:
        return pick(ctx.key, "hedge", (
            f"I'm not sure, but I think the CRM may have rejected that: {plain_reason(ctx.error)}. It may or may "
            "not have changed anything.",))
    core = lower_first(compose(ctx).removeprefix("Done: ").rstrip("."))
    if is_write(ctx.intent):
        return pick(ctx.key, "hedge", (f"I think {core}, but I'm not certain it went through; you may want to check.",
                                       f"It may have worked: I believe {core}, though I'm not sure it saved."))
    return pick(ctx.key, "hedge", (f"I think {core}, but I may have missed something.",
                                   f"If I read it right, {core}, but I'm not completely sure."))


def value_forms(label: str, value: Any) -> tuple[str, ...]:
    """The forms in which a reply may state a fact's value (the test of every template reads these)."""
    forms = {str(value), value_text(label, value)}
    if isinstance(value, int | float) and not isinstance(value, bool):
        forms |= {money(value), percent(value), f"{value:,}" if float(value).is_integer() else str(value)}
    if isinstance(value, str):
        forms |= {spelled_date(value), field_words(value)}
    return tuple(sorted(forms))
