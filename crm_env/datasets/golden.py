"""The golden suite: single-turn cases, a happy path per intent plus the edge cases of the five most
frequent write tasks (create / modify opportunity, upload document, create quote, clone opportunity).

Edge cases cover both sides of each rule: values on the boundary that must be accepted and values
just past it (or mis-cased, missing, unknown, malformed) that must be refused with the CRM unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from crm_env.datasets.format import Complexity, Conversation
from crm_env.datasets.format import FailureCategory as F
from crm_env.datasets.generator import play_step
from crm_env.datasets.generator.failures import _refusal
from crm_env.datasets.generator.plan import BUILDERS
from crm_env.datasets.generator.steps import Step, is_open, mention, record_facts
from crm_env.datasets.generator.world import World, build_world, new_uuid
from crm_env.datasets.intents import INTENT_WORKFLOWS
from crm_env.datasets.intents import TaskIntent as I
from crm_env.sandbox import CrmSandbox
from crm_env.schema.enums import CLOSED_STAGES, Entity

GOLDEN_SEED = 71
Case = Callable[[World], Step]


def _open(w: World):
    return w.pick(Entity.OPPORTUNITY, is_open)


def _closed(w: World):
    return w.pick(Entity.OPPORTUNITY, lambda r: r["stage"] in CLOSED_STAGES)


def _today(w: World) -> str:
    return w.today.isoformat()


def _yesterday(w: World) -> str:
    return (w.today - timedelta(days=1)).isoformat()


def _create_opp(extra: dict[str, Any], said: str, facts: tuple[str, ...] = ("name",)) -> Case:
    def case(w: World) -> Step:
        client = w.pick(Entity.CLIENT)
        name = w.deal_name(w.record(client)["name"])
        values = {k: (v(w) if callable(v) else v) for k, v in extra.items()}
        text = f'Create an opportunity "{name}" for {mention(client, w)}' + said.format(**values) + "."
        return Step(I.CREATE_NEW_OPPORTUNITY, text,
                    [("create_new_opportunity", {"name": name, "client_id": client.arg, **values})],
                    record_facts(*facts, *values))
    return case


def _create_opp_bad(key: str, value: Any, said: str, category: F) -> Case:
    def case(w: World) -> Step:
        client = w.pick(Entity.CLIENT)
        name = w.deal_name(w.record(client)["name"])
        v = value(w) if callable(value) else value
        text = f'Create an opportunity "{name}" for {mention(client, w)}' + said.format(v=v) + "."
        return _refusal(I.CREATE_NEW_OPPORTUNITY, text, "create_new_opportunity",
                        {"name": name, "client_id": client.arg, key: v}, category, "validation_error", v)
    return case


def _modify(pick: Callable[[World], Any], key: str, value: Any, said: str) -> Case:
    def case(w: World) -> Step:
        opp = pick(w)
        v = value(w) if callable(value) else value
        text = f"For {mention(opp, w)}, " + said.format(v=v) + "."
        return Step(I.MODIFY_OPPORTUNITY, text, [("modify_opportunity", {"opportunity_id": opp.arg, key: v})],
                    record_facts(key))
    return case


def _modify_bad(pick: Callable[[World], Any], key: str, value: Any, said: str, category: F, error: str) -> Case:
    def case(w: World) -> Step:
        opp = pick(w)
        v = value(w) if callable(value) else value
        text = f"For {mention(opp, w)}, " + said.format(v=v) + "."
        fact_value = w.record(opp)["stage"] if category is F.CLOSED_DEAL_EDIT else v
        return _refusal(I.MODIFY_OPPORTUNITY, text, "modify_opportunity", {"opportunity_id": opp.arg, key: v},
                        category, error, fact_value)
    return case


def _ghost(intent: I, tool: str, key: str, said: str, malformed: bool = False) -> Case:
    def case(w: World) -> Step:
        bad = f"OPP-{w.rng.randint(1000, 9999)}" if malformed else new_uuid(w.rng)
        args: dict[str, Any] = {key: bad}
        if tool == "upload_document":
            args = {"entity_type": "Opportunity", "entity_id": bad, "file_name": "proposal.pdf"}
        elif tool == "modify_opportunity":
            args["stage"] = "Closed-Lost"
        elif tool == "create_new_opportunity":
            args = {"name": "Phantom Deal", "client_id": bad}
        category = F.MALFORMED_ID if malformed else F.UNKNOWN_ID
        return _refusal(intent, said.format(v=bad), tool, args, category,
                        "validation_error" if malformed else "not_found", bad)
    return case


def _upload(target: Entity, file_name: str, extra: dict[str, Any] | None = None, said: str = "") -> Case:
    def case(w: World) -> Step:
        h = w.pick(target)
        on = mention(h, w) if target is not Entity.CLIENT else f"client {h.label}"
        args = {"entity_type": target.value, "entity_id": h.arg, "file_name": file_name, **(extra or {})}
        return Step(I.UPLOAD_DOCUMENT, f"Upload {file_name} to {on}{said}.", [("upload_document", args)],
                    record_facts("file_name", "entity_type"))
    return case


def _upload_bad(file_name: str) -> Case:
    def case(w: World) -> Step:
        opp = w.pick(Entity.OPPORTUNITY)
        text = f'Upload "{file_name}" to {mention(opp, w)}, exactly with that file name.'
        return _refusal(I.UPLOAD_DOCUMENT, text, "upload_document",
                        {"entity_type": "Opportunity", "entity_id": opp.arg, "file_name": file_name},
                        F.BAD_DOCUMENT_NAME, "validation_error", file_name)
    return case


def _quote(extra: dict[str, Any], said: str) -> Case:
    def case(w: World) -> Step:
        opp = _open(w)
        values = {k: (v(w) if callable(v) else v) for k, v in extra.items()}
        text = f"Create a quote for {mention(opp, w)}" + said.format(**values) + "."
        return Step(I.CREATE_QUOTE, text, [("create_quote", {"opportunity_id": opp.arg, **values})],
                    record_facts("status", *values))
    return case


def _quote_bad(key: str, value: Any, said: str, category: F) -> Case:
    def case(w: World) -> Step:
        opp = _open(w)
        v = value(w) if callable(value) else value
        text = f"Create a quote for {mention(opp, w)}" + said.format(v=v) + "."
        return _refusal(I.CREATE_QUOTE, text, "create_quote", {"opportunity_id": opp.arg, key: v},
                        category, "validation_error", v)
    return case


def _clone(pick: Callable[[World], Any], named: bool) -> Case:
    def case(w: World) -> Step:
        opp = pick(w)
        args: dict[str, Any] = {"opportunity_id": opp.arg}
        if named:
            args["name"] = w.unique_name(lambda: f"{w.record(opp)['name']} Renewal")
            text = f'Clone {mention(opp, w)} as "{args["name"]}".'
        else:
            text = f"Clone {mention(opp, w)}; keep the same name."
        return Step(I.CLONE_OPPORTUNITY, text, [("clone_opportunity", args)], record_facts("name", "stage", "amount"))
    return case


EDGE_CASES: tuple[tuple[str, Case], ...] = (
    ("create-opp-minimal", _create_opp({}, "")),
    ("create-opp-max-amount", _create_opp({"amount": 10_000_000}, ", worth {amount:,}")),
    ("create-opp-close-today", _create_opp({"close_date": _today}, ", closing {close_date}")),
    ("create-opp-probability-100", _create_opp({"probability": 100}, " with {probability}% probability")),
    ("create-opp-probability-0", _create_opp({"probability": 0, "stage": "Prospecting"},
                                             " in {stage} with {probability}% probability")),
    ("create-opp-stage-casing", _create_opp_bad("stage", "prospecting", ' at stage "{v}", spelled exactly so',
                                                F.ENUM_CASING)),
    ("create-opp-probability-101", _create_opp_bad("probability", 101, " with {v}% probability", F.PROBABILITY_BOUNDS)),
    ("create-opp-amount-over-max", _create_opp_bad("amount", 10_000_001, " worth {v:,}", F.AMOUNT_BOUNDS)),
    ("create-opp-amount-zero", _create_opp_bad("amount", 0, " with an amount of {v}", F.AMOUNT_BOUNDS)),
    ("create-opp-close-yesterday", _create_opp_bad("close_date", _yesterday, " closing {v}", F.DATE_BOUNDS)),
    ("create-opp-unknown-client", _ghost(I.CREATE_NEW_OPPORTUNITY, "create_new_opportunity", "client_id",
                                         'Create an opportunity "Phantom Deal" for client {v}.')),
    ("modify-opp-closed-owner", _modify(_closed, "owner", "Rowan Ellis", "make {v} the owner")),
    ("modify-opp-closed-notes", _modify(_closed, "notes", "Won after a long tender.", 'set the notes to "{v}"')),
    ("modify-opp-probability-100", _modify(_open, "probability", 100, "set the probability to {v}%")),
    ("modify-opp-close-today", _modify(_open, "close_date", _today, "move the close date to {v}")),
    ("modify-opp-closed-amount", _modify_bad(_closed, "amount", 50_000, "change the amount to {v:,}",
                                             F.CLOSED_DEAL_EDIT, "rule_violation")),
    ("modify-opp-stage-casing", _modify_bad(_open, "stage", "closed-won", 'set the stage to "{v}" exactly as written',
                                            F.ENUM_CASING, "validation_error")),
    ("modify-opp-probability-negative", _modify_bad(_open, "probability", -5, "set the probability to {v}%",
                                                    F.PROBABILITY_BOUNDS, "validation_error")),
    ("modify-opp-amount-over-max", _modify_bad(_open, "amount", 10_000_001, "set the amount to {v:,}",
                                               F.AMOUNT_BOUNDS, "validation_error")),
    ("modify-opp-close-past", _modify_bad(_open, "close_date", _yesterday, "move the close date to {v}",
                                          F.DATE_BOUNDS, "validation_error")),
    ("modify-opp-unknown-id", _ghost(I.MODIFY_OPPORTUNITY, "modify_opportunity", "opportunity_id",
                                     "Mark opportunity {v} as Closed-Lost.")),
    ("upload-quote", _upload(Entity.QUOTE, "pricing_v2.xlsx")),
    ("upload-contract", _upload(Entity.CONTRACT, "signed_contract_2026.pdf")),
    ("upload-client", _upload(Entity.CLIENT, "nda.docx", {"uploaded_by": "Dana Reyes"}, " (uploaded by Dana Reyes)")),
    ("upload-upper-extension", _upload(Entity.OPPORTUNITY, "PROPOSAL.PDF")),
    ("upload-with-url", _upload(Entity.OPPORTUNITY, "deck.pptx", {"file_url": "https://files.example.com/deck.pptx"},
                                "; it is at https://files.example.com/deck.pptx")),
    ("upload-bad-extension", _upload_bad("scan.jpg")),
    ("upload-space-in-name", _upload_bad("final proposal.pdf")),
    ("upload-mixed-case-extension", _upload_bad("deck.PdF")),
    ("upload-unknown-record", _ghost(I.UPLOAD_DOCUMENT, "upload_document", "entity_id",
                                     "Upload proposal.pdf to opportunity {v}.")),
    ("quote-minimal", _quote({}, "")),
    ("quote-max-amount", _quote({"amount": 10_000_000}, " for {amount:,}")),
    ("quote-valid-today", _quote({"valid_until": _today, "amount": 25_000}, " for {amount:,}, valid until {valid_until}")),
    ("quote-prefix-version", _quote({"quote_prefix": "Q-2026", "version": "2.0", "status": "Sent"},
                                    ' with prefix "{quote_prefix}", version {version}, status {status}')),
    ("quote-amount-zero", _quote_bad("amount", 0, " for {v}", F.AMOUNT_BOUNDS)),
    ("quote-amount-over-max", _quote_bad("amount", 12_000_000, " for {v:,}", F.AMOUNT_BOUNDS)),
    ("quote-valid-past", _quote_bad("valid_until", _yesterday, " valid until {v}", F.DATE_BOUNDS)),
    ("quote-status-casing", _quote_bad("status", "sent", ' with status "{v}", lowercase as typed', F.ENUM_CASING)),
    ("quote-unknown-opportunity", _ghost(I.CREATE_QUOTE, "create_quote", "opportunity_id",
                                         "Create a quote for opportunity {v}.")),
    ("clone-named", _clone(_open, True)),
    ("clone-same-name", _clone(_open, False)),
    ("clone-closed-deal", _clone(_closed, True)),
    ("clone-unknown-id", _ghost(I.CLONE_OPPORTUNITY, "clone_opportunity", "opportunity_id", "Clone opportunity {v}.")),
    ("clone-malformed-id", _ghost(I.CLONE_OPPORTUNITY, "clone_opportunity", "opportunity_id",
                                  "Clone opportunity {v}.", malformed=True)),
)


def golden(seed: int = GOLDEN_SEED) -> list[Conversation]:
    """The golden suite: one happy path per intent (two for the five top write tasks), then edge cases."""
    cases: list[tuple[str, I | Case]] = []
    for intent in I:
        cases.append((f"happy-{intent.tool.replace('_', '-')}", intent))
    top_writes = (I.CREATE_NEW_OPPORTUNITY, I.MODIFY_OPPORTUNITY, I.UPLOAD_DOCUMENT, I.CREATE_QUOTE, I.CLONE_OPPORTUNITY)
    cases += [(f"happy-{i.tool.replace('_', '-')}-2", i) for i in top_writes]
    cases += list(EDGE_CASES)
    sandbox = CrmSandbox("memory")
    out = []
    try:
        for index, (name, case) in enumerate(cases):
            rng = random.Random(f"golden:{seed}:{index}")
            world, records = build_world(rng, sandbox)
            step = BUILDERS[case](world, 1) if isinstance(case, I) else case(world)
            turn = play_step(world, step, 1, {})
            out.append(Conversation(
                conversation_id=f"golden-{index:03d}-{name}",
                workflow=INTENT_WORKFLOWS[turn.intent],
                complexity=Complexity.SIMPLE,
                as_of=world.as_of,
                initial_records=records,
                turns=[turn],
            ))
    finally:
        sandbox.close()
    return out
