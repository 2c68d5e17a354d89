"""The failure taxonomy: negative turns whose correct outcome is a refusal with the CRM unchanged.

Each builder phrases a request that the CRM must refuse as asked (the user insists on the exact
value), and names the gold call that would be refused and its error kind. The reply fact is the
offending value, which a good reply quotes when it explains the refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_env.datasets.format import FailureCategory as F
from crm_env.datasets.generator import banks
from crm_env.datasets.generator.steps import Step, fact, is_open, mention, pick_text, usd
from crm_env.datasets.generator.world import OPEN_STAGES, World, money, new_uuid
from crm_env.datasets.intents import TaskIntent as I
from crm_env.schema.enums import CLOSED_STAGES, Entity


def _refusal(intent: I, text: str, tool: str, args: dict[str, Any], category: F, error: str, value: Any) -> Step:
    return Step(intent, text, [(tool, args)], lambda results: [fact("rejected_value", value)],
                failure=category, expected_error=error)


def enum_casing(w: World, turn: int) -> Step | None:
    rng = w.rng
    if rng.random() < 0.6:
        opp = w.pick(Entity.OPPORTUNITY, is_open)
        if opp is None:
            return None
        stage = rng.choice(OPEN_STAGES)
        bad = rng.choice((stage.lower(), stage.upper()))
        text = pick_text(w, ('Set the stage of {o} to "{v}", spelled exactly like that; our export depends on it.',
                             'Change {o} to stage "{v}" — use exactly that casing, please.'), o=mention(opp, w), v=bad)
        return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, "stage": bad},
                        F.ENUM_CASING, "validation_error", bad)
    client = w.pick(Entity.CLIENT)
    bad = rng.choice(("active", "ACTIVE", "inactive", "prospect", "INACTIVE"))
    text = pick_text(w, ('Set {c}\'s status to "{v}" exactly as I typed it.',
                         'Mark client {c} as "{v}" (keep that exact spelling).'), c=mention(client, w), v=bad)
    return _refusal(I.MODIFY_CLIENT, text, "modify_client", {"client_id": client.arg, "status": bad},
                    F.ENUM_CASING, "validation_error", bad)


def unknown_id(w: World, turn: int) -> Step | None:
    ghost = new_uuid(w.rng)
    kind = w.rng.choice(("quote", "cancel", "opportunity"))
    if kind == "quote":
        text = pick_text(w, ("Show me quote {q}.", "What's in quote {q}?"), q=ghost)
        return _refusal(I.QUOTE_DETAILS, text, "quote_details", {"quote_id": ghost}, F.UNKNOWN_ID, "not_found", ghost)
    if kind == "cancel":
        text = pick_text(w, ("Cancel quote {q}.", "Please void quote {q}."), q=ghost)
        return _refusal(I.CANCEL_QUOTE, text, "cancel_quote", {"quote_id": ghost}, F.UNKNOWN_ID, "not_found", ghost)
    text = pick_text(w, ("Give me the full view of opportunity {q}.", "Open opportunity {q} with its quotes."), q=ghost)
    return _refusal(I.VIEW_OPPORTUNITY_DETAILS, text, "view_opportunity_details", {"opportunity_id": ghost},
                    F.UNKNOWN_ID, "not_found", ghost)


def malformed_id(w: World, turn: int) -> Step | None:
    bad = w.rng.choice(("OPP-", "DEAL-", "#")) + str(w.rng.randint(1000, 99999))
    text = pick_text(w, ("Fetch opportunity {v}.", "Show me the record for opportunity id {v}."), v=bad)
    return _refusal(I.OPPORTUNITY_DETAILS, text, "opportunity_details", {"opportunity_id": bad},
                    F.MALFORMED_ID, "validation_error", bad)


def missing_field(w: World, turn: int) -> Step | None:
    client = w.pick(Entity.CLIENT)
    if w.rng.random() < 0.5:
        first = w.rng.choice(banks.FIRST_NAMES)
        text = pick_text(w, ("Add a contact named {f} at {c}; I don't know the last name, leave it out.",
                             "Create a contact {f} for {c} — no surname, just the first name."),
                         f=first, c=mention(client, w))
        return _refusal(I.CREATE_NEW_CONTACT, text, "create_new_contact", {"first_name": first, "client_id": client.arg},
                        F.MISSING_FIELD, "validation_error", "last_name")
    amount = money(w.rng, 5_000, 500_000)
    text = pick_text(w, ("Create an opportunity for {c} worth {a}; leave the name empty for now.",
                         "Open a deal for {c} at {a} without a name."), c=mention(client, w), a=usd(amount))
    return _refusal(I.CREATE_NEW_OPPORTUNITY, text, "create_new_opportunity", {"client_id": client.arg, "amount": amount},
                    F.MISSING_FIELD, "validation_error", "name")


def amount_bounds(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, is_open)
    if opp is None:
        return None
    amount = w.rng.choice((12_500_000, 15_000_000, 25_000_000, 0))
    if w.rng.random() < 0.5:
        text = pick_text(w, ("Create a quote for {o} for {a}.", "Quote {o} at {a}."), o=mention(opp, w), a=usd(amount))
        return _refusal(I.CREATE_QUOTE, text, "create_quote", {"opportunity_id": opp.arg, "amount": amount},
                        F.AMOUNT_BOUNDS, "validation_error", amount)
    text = pick_text(w, ("Set the amount of {o} to {a}.", "Change {o}'s value to {a}."), o=mention(opp, w), a=usd(amount))
    return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, "amount": amount},
                    F.AMOUNT_BOUNDS, "validation_error", amount)


def probability_bounds(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, is_open)
    if opp is None:
        return None
    value = w.rng.choice((110, 120, 150, 200, -10))
    text = pick_text(w, ("Set the probability of {o} to {p}%.", "We're very confident: make {o} {p}% likely."),
                     o=mention(opp, w), p=value)
    return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, "probability": value},
                    F.PROBABILITY_BOUNDS, "validation_error", value)


def date_bounds(w: World, turn: int) -> Step | None:
    past = w.past(3, 200)
    if w.rng.random() < 0.5:
        client = w.pick(Entity.CLIENT)
        name = w.deal_name(w.record(client)["name"])
        text = pick_text(w, ('Create a deal "{n}" for {c} closing on {d}.',
                             'Add opportunity "{n}" for {c} with close date {d}.'), n=name, c=mention(client, w), d=past)
        return _refusal(I.CREATE_NEW_OPPORTUNITY, text, "create_new_opportunity",
                        {"name": name, "client_id": client.arg, "close_date": past}, F.DATE_BOUNDS, "validation_error", past)
    opp = w.pick(Entity.OPPORTUNITY, is_open)
    if opp is None:
        return None
    text = pick_text(w, ("Create a quote for {o} valid until {d}.", "Quote {o}, valid through {d}."), o=mention(opp, w), d=past)
    return _refusal(I.CREATE_QUOTE, text, "create_quote", {"opportunity_id": opp.arg, "valid_until": past},
                    F.DATE_BOUNDS, "validation_error", past)


def duplicate_email(w: World, turn: int) -> Step | None:
    clients = [h for h in w.alive(Entity.CLIENT, lambda r: r["email"] is not None)]
    if not clients:
        return None
    owner = w.rng.choice(clients)
    taken = w.record(owner)["email"]
    email = w.rng.choice((taken.upper(), taken.capitalize(), taken))
    if w.rng.random() < 0.5:
        name = w.company_name()
        text = pick_text(w, ('Add a new client "{n}" with e-mail {e}.', 'Create client "{n}", e-mail {e}.'), n=name, e=email)
        return _refusal(I.CREATE_NEW_CLIENT, text, "create_new_client", {"name": name, "email": email},
                        F.DUPLICATE_EMAIL, "conflict", email)
    others = [h for h in w.alive(Entity.CLIENT) if h is not owner]
    if not others:
        return None
    target = w.rng.choice(others)
    text = pick_text(w, ("Change {c}'s e-mail to {e}.", "Use {e} as the e-mail of {c}."), c=mention(target, w), e=email)
    return _refusal(I.MODIFY_CLIENT, text, "modify_client", {"client_id": target.arg, "email": email},
                    F.DUPLICATE_EMAIL, "conflict", email)


def closed_deal_edit(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, lambda r: r["stage"] in CLOSED_STAGES)
    if opp is None:
        return None
    record = w.record(opp)
    if w.rng.random() < 0.5:
        amount = money(w.rng, 5_000, 900_000)
        text = pick_text(w, ("Change the amount of {o} to {a}.", "Correct {o}: the amount should be {a}."),
                         o=mention(opp, w), a=usd(amount))
        return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, "amount": amount},
                        F.CLOSED_DEAL_EDIT, "rule_violation", record["stage"])
    stage = w.rng.choice(OPEN_STAGES)
    text = pick_text(w, ("Reopen {o} and move it back to {s}.", "Set {o} back to {s}."), o=mention(opp, w), s=stage)
    return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, "stage": stage},
                    F.CLOSED_DEAL_EDIT, "rule_violation", record["stage"])


def bad_document_name(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY)
    if opp is None:
        return None
    name = w.rng.choice(banks.BAD_FILE_NAMES)
    text = pick_text(w, ('Upload "{f}" to {o}, with exactly that file name.', 'Attach the file "{f}" to {o} as it is.'),
                     f=name, o=mention(opp, w))
    return _refusal(I.UPLOAD_DOCUMENT, text, "upload_document",
                    {"entity_type": "Opportunity", "entity_id": opp.arg, "file_name": name},
                    F.BAD_DOCUMENT_NAME, "validation_error", name)


FAILURES: dict[F, Callable[[World, int], Step | None]] = {
    F.ENUM_CASING: enum_casing,
    F.UNKNOWN_ID: unknown_id,
    F.MALFORMED_ID: malformed_id,
    F.MISSING_FIELD: missing_field,
    F.AMOUNT_BOUNDS: amount_bounds,
    F.PROBABILITY_BOUNDS: probability_bounds,
    F.DATE_BOUNDS: date_bounds,
    F.DUPLICATE_EMAIL: duplicate_email,
    F.CLOSED_DEAL_EDIT: closed_deal_edit,
    F.BAD_DOCUMENT_NAME: bad_document_name,
}
