"""The deterministic conversation generator.

``generate(seed, count)`` builds conversations from workflow plans over seeded CRM states. Every gold
call is executed against a memory sandbox while the conversation is written, so each call is valid
(or, for a negative turn, refused with the expected error) against exactly the state it will meet.
The same seed gives the same conversations, byte for byte; nothing reads the network or wall clock.
"""

from __future__ import annotations

import random
from typing import Any

from crm_env.datasets.format import (
    Complexity,
    Conversation,
    FailureCategory,
    GoldCall,
    Turn,
    bindings_from,
    resolve,
)
from crm_env.datasets.generator.failures import FAILURES
from crm_env.datasets.generator.plan import (
    BUILDERS,
    complexities,
    filler,
    negatives,
    primary_intents,
    turn_plan,
)
from crm_env.datasets.generator.steps import Step
from crm_env.datasets.generator.world import Handle, World, build_world
from crm_env.datasets.intents import INTENT_WORKFLOWS, TaskIntent, Workflow
from crm_env.rewards.state import net_changes
from crm_env.sandbox import CrmSandbox
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

# 2: a modify step never sets a field to the value it holds (such a turn changes nothing).
GENERATOR_VERSION = 2

_CREATES: dict[str, Entity] = {
    "create_new_client": Entity.CLIENT,
    "create_new_contact": Entity.CONTACT,
    "create_new_opportunity": Entity.OPPORTUNITY,
    "clone_opportunity": Entity.OPPORTUNITY,
    "create_quote": Entity.QUOTE,
    "create_contract": Entity.CONTRACT,
    "upload_document": Entity.DOCUMENT,
    "add_note": Entity.NOTE,
}


class GenerationError(RuntimeError):
    """A generated gold call did not behave as planned: a generator bug, never shipped as data."""


def _label(entity: Entity, record: dict[str, Any]) -> str | None:
    if entity in (Entity.CLIENT, Entity.OPPORTUNITY, Entity.COMPANY):
        return record["name"]
    if entity is Entity.CONTACT:
        return f"{record['first_name']} {record['last_name']}"
    return None


def play_step(world: World, step: Step, turn_id: int, bindings: dict[int, dict[str, Any]]) -> Turn:
    """Run a step's gold calls, check the outcome, update the world and return the turn."""
    mark = len(world.sandbox.changes)
    results = []
    for tool, args in step.calls:
        result = world.sandbox.call(tool, resolve(args, bindings))
        results.append(result)
    if step.failure is None:
        bad = [r for r in results if not r.ok]
        if bad:
            raise GenerationError(f"turn {turn_id} ({step.intent}): {bad[0].error}")
        data = [r.data for r in results]
        bindings[turn_id] = bindings_from(data)
        for (tool, _), record in zip(step.calls, data, strict=True):
            entity = _CREATES.get(tool)
            if entity is not None:
                world.add(Handle(entity, record[ENTITIES[entity].id_field], _label(entity, record), turn_id))
        facts = step.facts(data)
    else:
        last = results[-1]
        if last.ok or last.error_type != step.expected_error:
            raise GenerationError(f"negative turn {turn_id} ({step.failure}) gave {last.error_type}: {last.error}")
        facts = step.facts([])
    turn = Turn(
        turn_id=turn_id,
        intent=step.intent,
        utterance=step.utterance,
        gold_calls=[GoldCall(tool=tool, arguments=args) for tool, args in step.calls],
        expect_success=step.failure is None,
        expected_error=step.expected_error,
        failure_category=step.failure,
        reply_facts=facts,
    )
    if turn.expect_success and turn.is_write and not net_changes(world.sandbox.changes[mark:]):
        # Doing nothing would pass such a turn (lint's no_change check): the builder must ask for a change.
        raise GenerationError(f"turn {turn_id} ({step.intent}): the gold write changes nothing")
    return turn


def _step(world: World, intent: TaskIntent, turn_id: int) -> Step:
    step = BUILDERS[intent](world, turn_id)
    tries = 0
    while step is None:
        tries += 1
        if tries > 50:
            raise GenerationError(f"no applicable intent at turn {turn_id}")
        step = BUILDERS[filler(world.rng)](world, turn_id)
    return step


def _negative(world: World, category: FailureCategory, turn_id: int) -> Step:
    categories = list(FailureCategory)
    start = categories.index(category)
    for k in range(len(categories)):
        step = FAILURES[categories[(start + k) % len(categories)]](world, turn_id)
        if step is not None:
            return step
    raise GenerationError(f"no failure category applies at turn {turn_id}")


def build_conversation(
    conversation_id: str,
    rng: random.Random,
    sandbox: CrmSandbox,
    primary: TaskIntent,
    complexity: Complexity,
    failure: FailureCategory | None,
) -> Conversation:
    world, records = build_world(rng, sandbox)
    plan, cross = turn_plan(primary, complexity, rng)
    negative_at = None
    if failure is not None:
        if len(plan) == 1:
            plan.append(filler(rng))
        primary_at = plan.index(primary)
        negative_at = rng.choice([k for k in range(len(plan)) if k != primary_at])
    bindings: dict[int, dict[str, Any]] = {}
    turns = []
    for k, intent in enumerate(plan):
        turn_id = k + 1
        if k == negative_at:
            step = _negative(world, failure, turn_id)  # type: ignore[arg-type]
        else:
            step = _step(world, intent, turn_id)
        turns.append(play_step(world, step, turn_id, bindings))
    return Conversation(
        conversation_id=conversation_id,
        workflow=Workflow.CROSS_ENTITY if cross else INTENT_WORKFLOWS[primary],
        complexity=complexity,
        as_of=world.as_of,
        initial_records=records,
        turns=turns,
    )


def generate(seed: int, count: int, *, prefix: str = "arc") -> list[Conversation]:
    """Generate ``count`` conversations; the same seed and count give the same conversations.

    Args:
        seed: Seeds every random choice (plan, states, phrasing, values).
        count: How many conversations.
        prefix: Start of each conversation id.
    """
    master = random.Random(seed)
    primaries = primary_intents(count, master)
    mix = complexities(count, master)
    failures = negatives(count, master)
    sandbox = CrmSandbox("memory")
    try:
        return [
            build_conversation(
                f"{prefix}-{seed}-{index:05d}",
                random.Random(f"{seed}:{index}"),
                sandbox,
                primaries[index],
                mix[index],
                failures[index],
            )
            for index in range(count)
        ]
    finally:
        sandbox.close()


__all__ = ["GENERATOR_VERSION", "GenerationError", "build_conversation", "generate", "play_step"]
