"""Seeded CRM states and the generator's view of them.

A ``World`` is a live memory sandbox holding the conversation's CRM, plus *handles*: how the user
can point at each record. Seeded records are named by their name (clients, opportunities,
companies), full name (contacts) or literal id (quotes, contracts, documents, notes); records created
during the conversation are addressed in gold calls by a ``{{turn_N.field}}`` reference.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crm_env.datasets.generator import banks
from crm_env.sandbox import CrmSandbox
from crm_env.schema.enums import CLOSED_STAGES, Entity
from crm_env.schema.facts import ENTITIES

OPEN_STAGES: tuple[str, ...] = ("Prospecting", "Qualification", "Proposal", "Negotiation")
AS_OF_BASE = date(2026, 1, 5)


@dataclass
class Handle:
    """One record as the user can refer to it."""

    entity: Entity
    id: str
    label: str | None = None  # name the utterance uses; None where only the id identifies it
    ref_turn: int | None = None  # turn that created it (its id is then a reference)

    @property
    def id_field(self) -> str:
        return ENTITIES[self.entity].id_field

    @property
    def arg(self) -> str:
        """The value a gold call passes for this record's id."""
        if self.ref_turn is None:
            return self.id
        return f"{{{{turn_{self.ref_turn}.{self.id_field}}}}}"


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def money(rng: random.Random, low: int, high: int, step: int = 500) -> int:
    return rng.randrange(low // step, high // step + 1) * step


@dataclass
class World:
    """The conversation's CRM and the generator's bookkeeping about it."""

    rng: random.Random
    as_of: datetime
    sandbox: CrmSandbox
    handles: list[Handle] = field(default_factory=list)
    focus: dict[Entity, Handle] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)
    used_emails: set[str] = field(default_factory=set)

    @property
    def today(self) -> date:
        return self.as_of.date()

    def future(self, low: int = 7, high: int = 240) -> str:
        return (self.today + timedelta(days=self.rng.randint(low, high))).isoformat()

    def past(self, low: int = 1, high: int = 90) -> str:
        return (self.today - timedelta(days=self.rng.randint(low, high))).isoformat()

    def record(self, handle: Handle) -> dict[str, Any] | None:
        return self.sandbox.store.get(handle.entity, handle.id)

    def alive(self, entity: Entity, where: Any = None) -> list[Handle]:
        """Handles of existing records of a type, optionally filtered by ``where(record)``."""
        out = []
        for handle in self.handles:
            if handle.entity is not entity:
                continue
            record = self.record(handle)
            if record is not None and (where is None or where(record)):
                out.append(handle)
        return out

    def pick(self, entity: Entity, where: Any = None, focus_bias: float = 0.6) -> Handle | None:
        """A record to act on: the focused one (the conversation's thread) when it fits, else any."""
        candidates = self.alive(entity, where)
        if not candidates:
            return None
        focused = self.focus.get(entity)
        if focused in candidates and self.rng.random() < focus_bias:
            return focused
        return self.rng.choice(candidates)

    def add(self, handle: Handle) -> Handle:
        self.handles.append(handle)
        self.focus[handle.entity] = handle
        return handle

    def unique_name(self, make: Any) -> str:
        for _ in range(200):
            name = make()
            if name.casefold() not in self.used_names:
                self.used_names.add(name.casefold())
                return name
        raise RuntimeError("name bank exhausted")

    def company_name(self) -> str:
        rng = self.rng
        return self.unique_name(lambda: f"{rng.choice(banks.COMPANY_STEMS)} {rng.choice(banks.COMPANY_SUFFIXES)}")

    def deal_name(self, client_name: str) -> str:
        rng = self.rng
        stem = client_name.split()[0]
        return self.unique_name(
            lambda: f"{stem} {rng.choice(banks.DEAL_PRODUCTS)} {rng.choice(banks.DEAL_PERIODS)}"
        )

    def person(self) -> tuple[str, str]:
        rng = self.rng
        full = self.unique_name(lambda: f"{rng.choice(banks.FIRST_NAMES)} {rng.choice(banks.LAST_NAMES)}")
        first, last = full.split(" ", 1)
        return first, last

    def email_for(self, name: str, person: str | None = None) -> str:
        domain = "".join(ch for ch in name.split()[0].lower() if ch.isalnum()) + ".example.com"
        local = person.lower().replace(" ", ".") if person else self.rng.choice(("info", "sales", "hello", "ops"))
        email = f"{local}@{domain}"
        n = 2
        while email.casefold() in self.used_emails:
            email = f"{local}{n}@{domain}"
            n += 1
        self.used_emails.add(email.casefold())
        return email

    def address(self) -> str:
        rng = self.rng
        return f"{rng.randint(1, 999)} {rng.choice(banks.STREETS)}, {rng.choice(banks.CITIES)}"

    def phone(self) -> str:
        return f"+1 555 {self.rng.randint(100, 999):03d} {self.rng.randint(0, 9999):04d}"


def _drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def build_world(rng: random.Random, sandbox: CrmSandbox) -> tuple[World, dict[str, list[dict[str, Any]]]]:
    """A fresh seeded CRM: clients with contacts, open and closed deals, quotes, contracts, companies.

    Every intent finds something to act on: at least one open deal with two quotes, one closed deal,
    one contract, documents and notes.
    """
    as_of = datetime.combine(AS_OF_BASE + timedelta(days=rng.randint(0, 330)), datetime.min.time(), UTC)
    as_of = as_of.replace(hour=9)
    world = World(rng=rng, as_of=as_of, sandbox=sandbox)
    records: dict[str, list[dict[str, Any]]] = {e.value: [] for e in Entity}

    def add(entity: Entity, fields: dict[str, Any], label: str | None) -> dict[str, Any]:
        record = {ENTITIES[entity].id_field: new_uuid(rng), **_drop_none(fields)}
        records[entity.value].append(record)
        world.handles.append(Handle(entity, record[ENTITIES[entity].id_field], label))
        return record

    for _ in range(rng.randint(3, 4)):
        name = world.company_name()
        client = add(Entity.CLIENT, {
            "name": name,
            "industry": rng.choice(banks.INDUSTRIES),
            "email": world.email_for(name),
            "phone": world.phone() if rng.random() < 0.7 else None,
            "address": world.address() if rng.random() < 0.5 else None,
            "status": rng.choice(("Active", "Active", "Prospect", "Inactive")),
            "owner": rng.choice(banks.OWNERS),
        }, name)
        for _ in range(rng.randint(1, 2)):
            first, last = world.person()
            add(Entity.CONTACT, {
                "first_name": first, "last_name": last, "client_id": client["client_id"],
                "title": rng.choice(banks.TITLES),
                "email": world.email_for(name, f"{first} {last}"),
                "phone": world.phone() if rng.random() < 0.5 else None,
            }, f"{first} {last}")
    clients = records[Entity.CLIENT.value]
    stages = ["Proposal", "Closed-Won"] + [rng.choice(OPEN_STAGES + ("Closed-Won", "Closed-Lost")) for _ in range(3)]
    for i, stage in enumerate(stages):
        client = clients[i % len(clients)]
        closed = stage in CLOSED_STAGES
        opp = add(Entity.OPPORTUNITY, {
            "name": world.deal_name(client["name"]),
            "client_id": client["client_id"],
            "stage": stage,
            "amount": money(rng, 5_000, 900_000),
            "close_date": world.past(5, 120) if closed else world.future(20, 300),
            "owner": rng.choice(banks.OWNERS),
            "probability": 100 if stage == "Closed-Won" else 0 if stage == "Closed-Lost" else rng.randrange(10, 95, 5),
        }, None)
        opp_label = opp["name"]
        world.handles[-1].label = opp_label
        n_quotes = 2 if i == 0 else rng.randint(0, 2)
        for q in range(n_quotes):
            add(Entity.QUOTE, {
                "opportunity_id": opp["opportunity_id"],
                "amount": money(rng, 5_000, 900_000),
                "status": rng.choice(("Draft", "Sent", "Approved")) if q == 0 else rng.choice(("Draft", "Sent", "Rejected")),
                "version": banks.QUOTE_VERSIONS[q],
                "valid_until": world.future(10, 120),
                "quote_prefix": rng.choice(banks.QUOTE_PREFIXES),
            }, None)
        if stage == "Closed-Won":
            start = world.past(10, 200)
            contract = add(Entity.CONTRACT, {
                "client_id": client["client_id"],
                "opportunity_id": opp["opportunity_id"],
                "start_date": start,
                "end_date": (date.fromisoformat(start) + timedelta(days=365)).isoformat(),
                "value": float(opp["amount"]),
                "status": "Active",
            }, None)
            if rng.random() < 0.5:
                add(Entity.DOCUMENT, {
                    "entity_type": "Contract", "entity_id": contract["contract_id"],
                    "file_name": "signed_contract.pdf", "uploaded_by": rng.choice(banks.OWNERS),
                }, None)
        if rng.random() < 0.4:
            add(Entity.NOTE, {
                "entity_type": "Opportunity", "entity_id": opp["opportunity_id"],
                "content": rng.choice(banks.NOTE_TEXTS), "created_by": rng.choice(banks.OWNERS),
            }, None)
    for _ in range(3):
        name = world.company_name()
        add(Entity.COMPANY, {
            "name": name, "type": rng.choice(banks.COMPANY_TYPES), "industry": rng.choice(banks.INDUSTRIES),
            "address": world.address() if rng.random() < 0.5 else None,
        }, name)
    records = {k: v for k, v in records.items() if v}
    sandbox.reset(as_of=as_of, records=records, seed=0)
    return world, records
