"""Turn builders for the opportunity intents (create, modify, search, details, clone, summarise, delete)."""

from __future__ import annotations

from typing import Any

from crm_env.datasets.format import ReplyFact
from crm_env.datasets.generator import banks
from crm_env.datasets.generator.steps import (
    Step,
    cap,
    fact,
    fresh,
    is_open,
    listing,
    mention,
    pick_text,
    record_facts,
    search_facts,
    usd,
)
from crm_env.datasets.generator.world import OPEN_STAGES, World, money
from crm_env.datasets.intents import TaskIntent as I
from crm_env.schema.enums import Entity


def create_new_opportunity(w: World, turn: int) -> Step | None:
    client = w.pick(Entity.CLIENT)
    if client is None:
        return None
    name = w.deal_name(w.record(client)["name"])
    args: dict[str, Any] = {"name": name, "client_id": client.arg}
    clauses = []
    rng = w.rng
    if rng.random() < 0.85:
        args["amount"] = money(rng, 5_000, 1_500_000)
        clauses.append(rng.choice(("worth {}", "valued at {}", "for {}")).format(usd(args["amount"])))
    if rng.random() < 0.6:
        args["stage"] = rng.choice(OPEN_STAGES)
        clauses.append(rng.choice(("in the {} stage", "at stage {}", "starting in {}")).format(args["stage"]))
    if rng.random() < 0.6:
        args["close_date"] = w.future()
        clauses.append(rng.choice(("closing on {}", "with an expected close date of {}")).format(args["close_date"]))
    if rng.random() < 0.4:
        args["probability"] = rng.randrange(10, 95, 5)
        clauses.append(f"with {args['probability']}% probability")
    if rng.random() < 0.3:
        args["owner"] = rng.choice(banks.OWNERS)
        clauses.append(f"owned by {args['owner']}")
    text = pick_text(w, (
        'Create a new opportunity called "{name}" for {client}',
        'Add a deal "{name}" for {client}',
        'Please open an opportunity named "{name}" under {client}',
        'Log a new opportunity for {client}: "{name}"',
        'I need a new deal for {client} called "{name}"',
    ), name=name, client=mention(client, w))
    if clauses:
        text += ", " + listing(clauses)
    return Step(I.CREATE_NEW_OPPORTUNITY, text + ".", [("create_new_opportunity", args)],
                record_facts("name", "stage", "amount", "close_date", "probability"))


def modify_opportunity(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, is_open)
    if opp is None:
        return None
    record = w.record(opp)
    rng = w.rng
    fields = rng.sample(("stage", "amount", "probability", "close_date", "owner"), rng.choice((1, 1, 2)))
    args: dict[str, Any] = {"opportunity_id": opp.arg}
    clauses = []
    for f in fields:
        if f == "stage":
            args["stage"] = rng.choice([s for s in OPEN_STAGES + ("Closed-Won",) if s != record["stage"]])
            clauses.append(f"move it to {args['stage']}")
        elif f == "amount":
            args["amount"] = fresh(record["amount"], lambda: money(rng, 5_000, 1_500_000))
            clauses.append(f"set the amount to {usd(args['amount'])}")
        elif f == "probability":
            args["probability"] = fresh(record["probability"], lambda: rng.randrange(5, 100, 5))
            clauses.append(f"change the probability to {args['probability']}%")
        elif f == "close_date":
            args["close_date"] = fresh(record["close_date"], w.future)
            clauses.append(f"push the close date to {args['close_date']}")
        else:
            args["owner"] = rng.choice([o for o in banks.OWNERS if o != record["owner"]])
            clauses.append(f"reassign it to {args['owner']}")
    text = pick_text(w, (
        "Update {opp}: {changes}.",
        "For {opp}, please {changes}.",
        "Can you edit {opp}? {Changes}.",
        "{Opp} needs a change: {changes}.",
    ), opp=mention(opp, w), Opp=cap(mention(opp, w)), changes=listing(clauses),
        Changes=cap(listing(clauses)))
    w.focus[Entity.OPPORTUNITY] = opp
    return Step(I.MODIFY_OPPORTUNITY, text, [("modify_opportunity", args)],
                record_facts(*[f for f in fields]), touched=[opp])


def opportunity_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    kind = rng.choice(("stage", "client", "owner", "amount", "name"))
    opps = [w.record(h) for h in w.alive(Entity.OPPORTUNITY)]
    if not opps:
        return None
    sample = rng.choice(opps)
    if kind == "stage":
        args: dict[str, Any] = {"stage": sample["stage"]}
        text = pick_text(w, ("Show me all opportunities in {v}.", "Which deals are at the {v} stage?",
                             "List the {v} opportunities."), v=sample["stage"])
    elif kind == "client":
        client = w.pick(Entity.CLIENT)
        args = {"client_id": client.arg}
        text = pick_text(w, ("What opportunities do we have with {v}?", "List all deals for {v}.",
                             "Show {v}'s pipeline."), v=mention(client, w))
    elif kind == "owner":
        args = {"owner": sample["owner"]}
        text = pick_text(w, ("Which deals does {v} own?", "Show opportunities owned by {v}."), v=sample["owner"])
    elif kind == "amount":
        args = {"amount_min": money(rng, 50_000, 500_000, 10_000)}
        text = pick_text(w, ("Find deals of at least {v}.", "Show me opportunities worth {v} or more."),
                         v=usd(args["amount_min"]))
    else:
        word = sample["name"].split()[0]
        args = {"name": word}
        text = pick_text(w, ('Search for opportunities with "{v}" in the name.', 'Find deals named like "{v}".'),
                         v=word)
    return Step(I.OPPORTUNITY_SEARCH, text, [("opportunity_search", args)], search_facts("name"))


def view_opportunity_details(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY)
    if opp is None:
        return None

    def facts(results: list[Any]) -> list[ReplyFact]:
        view = results[0]
        out = [fact("stage", view["opportunity"]["stage"]), fact("client", view["client"]["name"]),
               fact("quotes", len(view["quotes"]))]
        if view["opportunity"]["amount"] is not None:
            out.append(fact("amount", view["opportunity"]["amount"]))
        return out

    text = pick_text(w, ("Give me the full picture of {o}.", "What's the status of {o}?",
                         "Show me everything on {o}, including quotes and documents.",
                         "Pull up {o} with its client and quotes."), o=mention(opp, w))
    w.focus[Entity.OPPORTUNITY] = opp
    return Step(I.VIEW_OPPORTUNITY_DETAILS, text, [("view_opportunity_details", {"opportunity_id": opp.arg})],
                facts, touched=[opp])


def opportunity_details(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY)
    if opp is None:
        return None
    text = pick_text(w, ("What are the stage, amount and probability of {o}?", "Fetch the record of {o}.",
                         "Show me the details of {o}."), o=mention(opp, w))
    w.focus[Entity.OPPORTUNITY] = opp
    return Step(I.OPPORTUNITY_DETAILS, text, [("opportunity_details", {"opportunity_id": opp.arg})],
                record_facts("stage", "amount", "probability"), touched=[opp])


def clone_opportunity(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY)
    if opp is None:
        return None
    name = w.unique_name(lambda: f"{w.record(opp)['name']} {w.rng.choice(banks.CLONE_SUFFIXES)}")
    text = pick_text(w, ('Clone {o} and call the copy "{n}".', 'Duplicate {o} as "{n}".',
                         'Make a copy of {o} named "{n}".'), o=mention(opp, w), n=name)
    return Step(I.CLONE_OPPORTUNITY, text, [("clone_opportunity", {"opportunity_id": opp.arg, "name": name})],
                record_facts("name", "stage", "amount"))


def summarize_opportunities(w: World, turn: int) -> Step | None:
    rng = w.rng
    kind = rng.choice(("all", "client", "stage", "owner"))
    args: dict[str, Any] = {}
    if kind == "client":
        client = w.pick(Entity.CLIENT)
        args["client_id"] = client.arg
        text = pick_text(w, ("Summarise the pipeline for {v}.", "Give me totals for {v}'s opportunities."),
                         v=mention(client, w))
    elif kind == "stage":
        args["stage"] = rng.choice(OPEN_STAGES)
        text = pick_text(w, ("Summarise the deals in {v}.", "How much is in the {v} stage in total?"),
                         v=args["stage"])
    elif kind == "owner":
        opps = w.alive(Entity.OPPORTUNITY)
        args["owner"] = w.record(rng.choice(opps))["owner"]
        text = pick_text(w, ("Summarise {v}'s pipeline.", "What's the weighted pipeline for {v}?"), v=args["owner"])
    else:
        text = pick_text(w, ("Summarise our whole pipeline.", "Give me a pipeline summary: counts, totals and weighted value.",
                             "How does the pipeline look overall?"))

    def facts(results: list[Any]) -> list[ReplyFact]:
        s = results[0]
        return [fact("count", s["count"]), fact("total_amount", s["total_amount"]),
                fact("weighted_amount", s["weighted_amount"])]

    return Step(I.SUMMARIZE_OPPORTUNITIES, text, [("summarize_opportunities", args)], facts)


def delete_opportunity(w: World, turn: int) -> Step | None:
    def deletable(record: dict[str, Any]) -> bool:
        return not any(c["opportunity_id"] == record["opportunity_id"] for c in w.sandbox.store.find(Entity.CONTRACT, []).records)

    opp = w.pick(Entity.OPPORTUNITY, deletable)
    if opp is None:
        return None
    text = pick_text(w, ("Delete {o}; it was entered by mistake.", "Please remove {o} from the CRM.",
                         "Get rid of {o} entirely."), o=mention(opp, w))

    def facts(results: list[Any]) -> list[ReplyFact]:
        deleted = results[0]["deleted"].get("Quote")
        return [fact("quotes_deleted", len(deleted))] if deleted else []

    return Step(I.DELETE_OPPORTUNITY, text, [("delete_opportunity", {"opportunity_id": opp.arg})], facts)
