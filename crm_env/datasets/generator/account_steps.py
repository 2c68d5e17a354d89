"""Turn builders for clients, contacts, contracts, companies, documents and notes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from crm_env.datasets.generator import banks
from crm_env.datasets.generator.steps import (
    Step,
    fresh,
    listing,
    mention,
    pick_text,
    record_facts,
    search_facts,
    usd,
)
from crm_env.datasets.generator.world import World, money
from crm_env.datasets.intents import TaskIntent as I
from crm_env.schema.enums import Entity


def create_new_client(w: World, turn: int) -> Step | None:
    rng = w.rng
    name = w.company_name()
    args: dict[str, Any] = {"name": name}
    clauses = []
    if rng.random() < 0.8:
        args["email"] = w.email_for(name)
        clauses.append(f"e-mail {args['email']}")
    if rng.random() < 0.6:
        args["industry"] = rng.choice(banks.INDUSTRIES)
        clauses.append(f"industry {args['industry']}")
    if rng.random() < 0.4:
        args["phone"] = w.phone()
        clauses.append(f"phone {args['phone']}")
    if rng.random() < 0.4:
        args["status"] = rng.choice(("Active", "Prospect"))
        clauses.append(f"status {args['status']}")
    if rng.random() < 0.3:
        args["owner"] = rng.choice(banks.OWNERS)
        clauses.append(f"account owner {args['owner']}")
    text = pick_text(w, ('Add a new client "{n}"', 'Create a client account for "{n}"', 'Set up "{n}" as a new client',
                         'Register a new customer called "{n}"'), n=name)
    if clauses:
        text += rng.choice((" with ", ": ")) + listing(clauses)
    return Step(I.CREATE_NEW_CLIENT, text + ".", [("create_new_client", args)],
                record_facts("name", "status", "industry", "email"))


def modify_client(w: World, turn: int) -> Step | None:
    client = w.pick(Entity.CLIENT)
    if client is None:
        return None
    rng = w.rng
    record = w.record(client)
    field = rng.choice(("status", "phone", "owner", "email", "address"))
    args: dict[str, Any] = {"client_id": client.arg}
    if field == "status":
        args["status"] = rng.choice([s for s in ("Active", "Prospect", "Inactive") if s != record["status"]])
        change = f"set the status to {args['status']}"
    elif field == "phone":
        args["phone"] = fresh(record["phone"], w.phone)
        change = f"update the phone number to {args['phone']}"
    elif field == "owner":
        args["owner"] = rng.choice([o for o in banks.OWNERS if o != record["owner"]])
        change = f"make {args['owner']} the account owner"
    elif field == "email":
        args["email"] = w.email_for(record["name"], rng.choice(("billing", "accounts", "procurement")))
        change = f"change the e-mail to {args['email']}"
    else:
        args["address"] = fresh(record["address"], w.address)
        change = f"change the address to {args['address']}"
    text = pick_text(w, ("For client {c}, {x}.", "Update {c}: {x}.", "Please edit {c} and {x}."),
                     c=mention(client, w), x=change)
    w.focus[Entity.CLIENT] = client
    return Step(I.MODIFY_CLIENT, text, [("modify_client", args)], record_facts(field), touched=[client])


def client_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    clients = [w.record(h) for h in w.alive(Entity.CLIENT)]
    sample = rng.choice(clients)
    kind = rng.choice(("name", "industry", "status"))
    if kind == "name":
        args: dict[str, Any] = {"name": sample["name"].split()[0]}
        text = pick_text(w, ('Find the client "{v}".', 'Look up clients named like "{v}".'), v=args["name"])
    elif kind == "industry":
        args = {"industry": sample["industry"]}
        text = pick_text(w, ("Which clients are in {v}?", "List our {v} clients."), v=args["industry"])
    else:
        args = {"status": sample["status"]}
        text = pick_text(w, ("Show all clients with status {v}.", "Which accounts are {v}?"), v=args["status"])
    return Step(I.CLIENT_SEARCH, text, [("client_search", args)], search_facts("name"))


def create_new_contact(w: World, turn: int) -> Step | None:
    client = w.pick(Entity.CLIENT, focus_bias=0.8)
    if client is None:
        return None
    rng = w.rng
    first, last = w.person()
    args: dict[str, Any] = {"first_name": first, "last_name": last, "client_id": client.arg}
    clauses = []
    if rng.random() < 0.6:
        args["title"] = rng.choice(banks.TITLES)
        clauses.append(f"title {args['title']}")
    if rng.random() < 0.6:
        args["email"] = w.email_for(w.record(client)["name"], f"{first} {last}")
        clauses.append(f"e-mail {args['email']}")
    if rng.random() < 0.3:
        args["phone"] = w.phone()
        clauses.append(f"phone {args['phone']}")
    text = pick_text(w, ("Add {f} {l} as a contact at {c}", "Create a contact {f} {l} for {c}",
                         "New contact at {c}: {f} {l}"), f=first, l=last, c=mention(client, w))
    if clauses:
        text += ", " + listing(clauses)
    w.focus[Entity.CLIENT] = client
    return Step(I.CREATE_NEW_CONTACT, text + ".", [("create_new_contact", args)],
                record_facts("first_name", "last_name", "title"), touched=[client])


def modify_contact(w: World, turn: int) -> Step | None:
    contact = w.pick(Entity.CONTACT)
    if contact is None:
        return None
    rng = w.rng
    field = rng.choice(("title", "phone", "email"))
    args: dict[str, Any] = {"contact_id": contact.arg}
    record = w.record(contact)
    if field == "title":
        args["title"] = fresh(record["title"], lambda: rng.choice(banks.TITLES))
        change = f"their new title is {args['title']}"
    elif field == "phone":
        args["phone"] = fresh(record["phone"], w.phone)
        change = f"their phone number is now {args['phone']}"
    else:
        args["email"] = w.email_for(record["last_name"], f"{record['first_name']} {record['last_name']}")
        change = f"their e-mail changed to {args['email']}"
    text = pick_text(w, ("Update contact {c}: {x}.", "{c} has news: {x}. Please update the record."),
                     c=mention(contact, w), x=change)
    return Step(I.MODIFY_CONTACT, text, [("modify_contact", args)], record_facts(field))


def contact_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    if rng.random() < 0.5:
        client = w.pick(Entity.CLIENT)
        args: dict[str, Any] = {"client_id": client.arg}
        text = pick_text(w, ("Who are our contacts at {c}?", "List the contacts for {c}."), c=mention(client, w))
    else:
        contacts = [w.record(h) for h in w.alive(Entity.CONTACT)]
        if not contacts:
            return None
        args = {"last_name": rng.choice(contacts)["last_name"]}
        text = pick_text(w, ('Find contacts with last name "{v}".', "Search contacts named {v}."), v=args["last_name"])
    return Step(I.CONTACT_SEARCH, text, [("contact_search", args)], search_facts("last_name"))


def create_new_contract(w: World, turn: int) -> Step | None:
    opp = w.pick(Entity.OPPORTUNITY, focus_bias=0.8)
    if opp is None:
        return None
    rng = w.rng
    record = w.record(opp)
    client = next(h for h in w.handles if h.entity is Entity.CLIENT and h.id == record["client_id"])
    start = w.future(0, 60)
    end = (date.fromisoformat(start) + timedelta(days=rng.choice((180, 365, 730)))).isoformat()
    value = money(rng, 5_000, 1_500_000)
    args: dict[str, Any] = {"client_id": client.arg, "opportunity_id": opp.arg, "start_date": start,
                            "end_date": end, "value": value}
    status = rng.choice((None, "Pending", "Active"))
    extra = ""
    if status:
        args["status"] = status
        extra = f", status {status}"
    text = pick_text(w, ("Create a contract with {c} for {o}, running {s} to {e}, value {v}{x}.",
                         "Draw up the contract for {o} ({c}): {v}, from {s} through {e}{x}.",
                         "Generate a contract for {c} linked to {o}; start {s}, end {e}, worth {v}{x}."),
                     c=mention(client, w), o=mention(opp, w), s=start, e=end, v=usd(value), x=extra)
    w.focus[Entity.OPPORTUNITY] = opp
    return Step(I.CREATE_NEW_CONTRACT, text, [("create_contract", args)],
                record_facts("value", "status", "start_date", "end_date"), touched=[opp])


def contract_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    if rng.random() < 0.6:
        client = w.pick(Entity.CLIENT)
        args: dict[str, Any] = {"client_id": client.arg}
        text = pick_text(w, ("Which contracts do we have with {c}?", "Find the contracts for {c}."), c=mention(client, w))
    else:
        args = {"status": rng.choice(("Active", "Pending", "Expired"))}
        text = pick_text(w, ("List all {s} contracts.", "Show contracts with status {s}."), s=args["status"])
    return Step(I.CONTRACT_SEARCH, text, [("contract_search", args)], search_facts("value"))


def company_search(w: World, turn: int) -> Step | None:
    rng = w.rng
    companies = [w.record(h) for h in w.alive(Entity.COMPANY)]
    sample = rng.choice(companies)
    kind = rng.choice(("type", "industry", "name"))
    if kind == "type":
        args: dict[str, Any] = {"type": sample["type"]}
        text = pick_text(w, ("Which companies are listed as {v}?", "Show me every {v} company."), v=sample["type"])
    elif kind == "industry":
        args = {"industry": sample["industry"]}
        text = pick_text(w, ("Find reference companies in {v}.", "Which partner or vendor companies work in {v}?"),
                         v=sample["industry"])
    else:
        args = {"name": sample["name"]}
        text = pick_text(w, ('Look up the company "{v}".', 'Search companies for "{v}".'), v=sample["name"])
    return Step(I.COMPANY_SEARCH, text, [("company_search", args)], search_facts("name"))


_DOC_TARGETS = (Entity.OPPORTUNITY, Entity.OPPORTUNITY, Entity.QUOTE, Entity.CONTRACT, Entity.CLIENT)


def upload_document(w: World, turn: int) -> Step | None:
    rng = w.rng
    target = w.pick(rng.choice(_DOC_TARGETS), focus_bias=0.8) or w.pick(Entity.OPPORTUNITY)
    if target is None:
        return None
    file_name = f"{rng.choice(banks.FILE_STEMS)}_{rng.randint(1, 99)}.{rng.choice(banks.FILE_EXTENSIONS)}"
    args: dict[str, Any] = {"entity_type": target.entity.value, "entity_id": target.arg, "file_name": file_name}
    extra = ""
    if rng.random() < 0.4:
        args["uploaded_by"] = rng.choice(banks.OWNERS)
        extra += f" (uploaded by {args['uploaded_by']})"
    if rng.random() < 0.3:
        args["file_url"] = f"https://files.example.com/{file_name}"
        extra += f"; it is stored at {args['file_url']}"
    on = mention(target, w) if target.entity is not Entity.CLIENT else f"client {target.label}"
    text = pick_text(w, ("Upload {f} to {o}{x}.", "Attach the file {f} to {o}{x}.", "Please add document {f} on {o}{x}."),
                     f=file_name, o=on, x=extra)
    return Step(I.UPLOAD_DOCUMENT, text, [("upload_document", args)], record_facts("file_name", "entity_type"),
                touched=[target])


_NOTE_TARGETS = (Entity.OPPORTUNITY, Entity.OPPORTUNITY, Entity.CLIENT, Entity.CONTACT, Entity.QUOTE, Entity.CONTRACT)


def add_note(w: World, turn: int) -> Step | None:
    rng = w.rng
    target = w.pick(rng.choice(_NOTE_TARGETS), focus_bias=0.8) or w.pick(Entity.OPPORTUNITY)
    if target is None:
        return None
    content = rng.choice(banks.NOTE_TEXTS)
    args: dict[str, Any] = {"entity_type": target.entity.value, "entity_id": target.arg, "content": content}
    extra = ""
    if rng.random() < 0.4:
        args["created_by"] = rng.choice(banks.OWNERS)
        extra = f" Sign it as {args['created_by']}."
    prefix = {Entity.CLIENT: "client ", Entity.CONTACT: "contact "}.get(target.entity, "")
    text = pick_text(w, ('Add a note to {o}: "{n}"{x}', 'Note on {o}: "{n}"{x}', 'Please log this on {o}: "{n}"{x}'),
                     o=prefix + mention(target, w), n=content, x=extra)
    return Step(I.ADD_NOTE, text, [("add_note", args)], record_facts("content"), touched=[target])
