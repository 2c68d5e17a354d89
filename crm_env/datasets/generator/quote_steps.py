"""Turn builders for the quote intents."""

from __future__ import annotations

from typing import Any

from crm_env.datasets.format import ReplyFact
from crm_env.datasets.generator import banks
from crm_env.datasets.generator.steps import (
    Step,
    fact,
    fresh,
    is_open,
    listing,
    mention,
    not_canceled,
    pick_text,
    record_facts,
    search_facts,
    usd,
)
from crm_env.datasets.generator.world import Handle, World, money
from crm_env.datasets.intents import TaskIntent as I
from crm_env.schema.enums import Entity


def create_quote(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, is_open, focus_bias=0.8)
    if opp is None:
        return None
    rng = w.rng
    args: dict[str, Any] = {"opportunity_id": opp.arg, "amount": money(rng, 5_000, 1_500_000)}
    clauses = [f"for {usd(args['amount'])}"]
    if rng.random() < 0.5:
        args["valid_until"] = w.future(7, 90)
        clauses.append(f"valid until {args['valid_until']}")
    if rng.random() < 0.4:
        args["quote_prefix"] = rng.choice(banks.QUOTE_PREFIXES)
        clauses.append(f'with prefix "{args["quote_prefix"]}"')
    if rng.random() < 0.4:
        args["version"] = rng.choice(banks.QUOTE_VERSIONS)
        clauses.append(f"as version {args['version']}")
    if rng.random() < 0.3:
        args["status"] = rng.choice(("Draft", "Sent"))
        clauses.append(f"in status {args['status']}")
    text = pick_text(w, ("Create a quote for {o} {c}.", "Draft a quote on {o} {c}.",
                         "Prepare a pricing quote for {o}, {c}.", "Generate a quote against {o} {c}."),
                     o=mention(opp, w), c=listing(clauses))
    w.focus[Entity.OPPORTUNITY] = opp
    return Step(I.CREATE_QUOTE, text, [("create_quote", args)],
                record_facts("amount", "status", "valid_until", "quote_prefix", "version"), touched=[opp])


def _quote(w: World, where: Any = not_canceled) -> Handle | None:
    return w.pick(Entity.QUOTE, where, focus_bias=0.7)


def modify_quote(w: World, turn: int) -> Step | None:
    quote = _quote(w)
    if quote is None:
        return None
    rng = w.rng
    record = w.record(quote)
    field = rng.choice(("amount", "status", "valid_until", "version"))
    args: dict[str, Any] = {"quote_id": quote.arg}
    if field == "amount":
        args["amount"] = fresh(record["amount"], lambda: money(rng, 5_000, 1_500_000))
        change = f"change the amount to {usd(args['amount'])}"
    elif field == "status":
        args["status"] = rng.choice([s for s in ("Draft", "Sent", "Approved", "Rejected") if s != record["status"]])
        change = f"mark it as {args['status']}"
    elif field == "valid_until":
        args["valid_until"] = fresh(record["valid_until"], lambda: w.future(7, 120))
        change = f"extend its validity to {args['valid_until']}"
    else:
        args["version"] = rng.choice([v for v in banks.QUOTE_VERSIONS if v != record["version"]])
        change = f"bump the version to {args['version']}"
    text = pick_text(w, ("For {q}, {c}.", "Update {q}: {c}.", "Please edit {q} and {c}."), q=mention(quote, w), c=change)
    w.focus[Entity.QUOTE] = quote
    return Step(I.MODIFY_QUOTE, text, [("modify_quote", args)], record_facts(field), touched=[quote])


def cancel_quote(w: World, turn: int) -> Step | None:
    quote = _quote(w)
    if quote is None:
        return None
    text = pick_text(w, ("Cancel {q}.", "The customer withdrew; please cancel {q}.", "Void {q} but keep the record."),
                     q=mention(quote, w))
    return Step(I.CANCEL_QUOTE, text, [("cancel_quote", {"quote_id": quote.arg})], record_facts("status"))


def delete_quote(w: World, turn: int) -> Step | None:
    quote = _quote(w, None)
    if quote is None:
        return None
    text = pick_text(w, ("Delete {q}; it was a duplicate.", "Remove {q} completely.", "Please delete {q}."),
                     q=mention(quote, w))

    def facts(results: list[Any]) -> list[ReplyFact]:
        deleted = results[0]["deleted"].get("Document")
        return [fact("documents_deleted", len(deleted))] if deleted else []

    return Step(I.DELETE_QUOTE, text, [("delete_quote", {"quote_id": quote.arg})], facts)


def quote_details(w: World, turn: int) -> Step | None:
    quote = _quote(w, None)
    if quote is None:
        return None
    text = pick_text(w, ("Show me the details of {q}.", "What does {q} say?", "Pull up {q}."), q=mention(quote, w))
    w.focus[Entity.QUOTE] = quote
    return Step(I.QUOTE_DETAILS, text, [("quote_details", {"quote_id": quote.arg})],
                record_facts("amount", "status", "version", "valid_until"), touched=[quote])


def _two_quotes(w: World) -> list[Handle] | None:
    quotes = w.alive(Entity.QUOTE)
    if len(quotes) < 2:
        return None
    by_opp: dict[str, list[Handle]] = {}
    for q in quotes:
        by_opp.setdefault(w.record(q)["opportunity_id"], []).append(q)
    groups = [g for g in by_opp.values() if len(g) >= 2]
    pool = w.rng.choice(groups) if groups and w.rng.random() < 0.8 else quotes
    return w.rng.sample(pool, 2)


def compare_quotes(w: World, turn: int) -> Step | None:
    pair = _two_quotes(w)
    if pair is None:
        return None
    text = pick_text(w, ("Compare the prices of {a} and {b}.", "Which is cheaper, {a} or {b}?",
                         "Put {a} and {b} side by side on price."), a=mention(pair[0], w), b=mention(pair[1], w))

    def facts(results: list[Any]) -> list[ReplyFact]:
        r = results[0]
        amounts = [q["amount"] for q in r["quotes"] if q["amount"] is not None]
        return [fact("amount_difference", r["amount_difference"]), fact("lowest_amount", min(amounts))]

    return Step(I.COMPARE_QUOTES, text, [("compare_quotes", {"quote_ids": [q.arg for q in pair]})], facts)


def compare_quote_details(w: World, turn: int) -> Step | None:
    pair = _two_quotes(w)
    if pair is None:
        return None
    text = pick_text(w, ("How do {a} and {b} differ, field by field?", "Compare every field of {a} and {b}.",
                         "List the differences between {a} and {b}."), a=mention(pair[0], w), b=mention(pair[1], w))

    def facts(results: list[Any]) -> list[ReplyFact]:
        return [fact("differs", f) for f in results[0]["differences"] if f != "created_date"]

    return Step(I.COMPARE_QUOTE_DETAILS, text, [("compare_quote_details", {"quote_ids": [q.arg for q in pair]})], facts)


def quote_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    if rng.random() < 0.5:
        opp = w.pick(Entity.OPPORTUNITY)
        if opp is None:
            return None
        args: dict[str, Any] = {"opportunity_id": opp.arg}
        text = pick_text(w, ("List the quotes on {o}.", "What quotes exist for {o}?"), o=mention(opp, w))
    else:
        args = {"status": rng.choice(("Draft", "Sent", "Approved", "Rejected"))}
        text = pick_text(w, ("Find all quotes in status {s}.", "Which quotes are {s}?"), s=args["status"])
    return Step(I.QUOTE_SEARCH, text, [("quote_search", args)], search_facts("amount"))


def quote_prefixes(w: World, turn: int) -> Step | None:
    args: dict[str, Any] = {}
    if w.rng.random() < 0.4:
        opp = w.pick(Entity.OPPORTUNITY)
        args["opportunity_id"] = opp.arg
        text = pick_text(w, ("Which quote prefixes are used on {o}?", "List the numbering prefixes of {o}'s quotes."),
                         o=mention(opp, w))
    else:
        text = pick_text(w, ("Which quote prefixes are in use?", "List our quote numbering prefixes with counts."))

    def facts(results: list[Any]) -> list[ReplyFact]:
        return [fact("prefix", p["quote_prefix"]) for p in results[0]["prefixes"]]

    return Step(I.QUOTE_PREFIXES, text, [("quote_prefixes", args)], facts)
