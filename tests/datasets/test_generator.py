"""The generator: determinism (incl. the packaged files), coverage and mix."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from crm_env.datasets.format import Conversation
from crm_env.datasets.generator import GenerationError, generate, play_step
from crm_env.datasets.generator.steps import Step, fresh
from crm_env.datasets.generator.world import build_world
from crm_env.datasets.intents import TaskIntent
from crm_env.datasets.lint import TIMESTAMP, UUID
from crm_env.datasets.loader import DATA_DIR, PACKAGED, SPLITS_FILE, to_jsonl
from crm_env.datasets.packaged import build
from crm_env.datasets.stats import stats
from crm_env.sandbox import CrmSandbox
from crm_env.schema.enums import Entity


def test_same_seed_same_bytes() -> None:
    assert to_jsonl(generate(5, 40)) == to_jsonl(generate(5, 40))
    assert to_jsonl(generate(5, 40)) != to_jsonl(generate(6, 40))


def test_packaged_files_regenerate_byte_for_byte(tmp_path: Path) -> None:
    paths = build(tmp_path)
    for name in PACKAGED:
        fresh, packaged = paths[name].read_bytes(), (DATA_DIR / PACKAGED[name]).read_bytes()
        # Compare the JSONL content: gzip framing is fixed (no name, mtime 0) but zlib builds may differ.
        assert gzip.decompress(fresh) == gzip.decompress(packaged), name
    assert paths["splits"].read_bytes() == (DATA_DIR / SPLITS_FILE).read_bytes()


def test_mix_figures(arc_all: list[Conversation]) -> None:
    s = stats(arc_all)
    assert s.conversations == 1200
    assert s.min_intent_count >= 20
    assert set(s.intent_conversations) == set(TaskIntent)
    assert s.write_share >= 0.45
    assert s.complexity_share("simple") == pytest.approx(0.23, abs=0.02)
    assert s.complexity_share("medium") == pytest.approx(0.52, abs=0.02)
    assert s.complexity_share("complex") == pytest.approx(0.25, abs=0.02)
    assert s.negative_share == pytest.approx(0.15, abs=0.02)
    assert len(s.failures) == 10  # every failure category is drawn
    assert s.cross_entity >= 0.2 * s.conversations


def test_intents_follow_frequencies(arc_all: list[Conversation]) -> None:
    counts = stats(arc_all).intents
    top = sorted(TaskIntent, key=lambda i: -counts[i])[:5]
    assert TaskIntent.CREATE_NEW_OPPORTUNITY in top and TaskIntent.MODIFY_OPPORTUNITY in top
    assert counts[TaskIntent.CREATE_NEW_OPPORTUNITY] > 10 * counts[TaskIntent.QUOTE_PREFIXES]


def test_no_two_conversations_alike(arc_all: list[Conversation]) -> None:
    keys = {tuple(t.utterance for t in c.turns) for c in arc_all}
    assert len(keys) == len(arc_all)


def test_reply_facts_never_cite_ids_or_timestamps(arc_all: list[Conversation]) -> None:
    for conversation in arc_all:
        for turn in conversation.turns:
            if turn.expect_success:
                for fact in turn.reply_facts:
                    assert not (isinstance(fact.value, str) and (UUID.search(fact.value) or TIMESTAMP.search(fact.value)))


def test_a_step_whose_write_changes_nothing_is_a_generation_error() -> None:
    sandbox = CrmSandbox("memory")
    try:
        world, _ = build_world(random.Random(3), sandbox)
        deal = world.pick(Entity.OPPORTUNITY)
        name = world.record(deal)["name"]
        same = Step(TaskIntent.MODIFY_OPPORTUNITY, f'Rename {name} to "{name}".',
                    [("modify_opportunity", {"opportunity_id": deal.arg, "name": name})])
        with pytest.raises(GenerationError, match="changes nothing"):
            play_step(world, same, 1, {})
        renamed = Step(TaskIntent.MODIFY_OPPORTUNITY, f'Rename {name} to "{name} II".',
                       [("modify_opportunity", {"opportunity_id": deal.arg, "name": f"{name} II"})])
        assert play_step(world, renamed, 1, {}).gold_calls[0].arguments["name"] == f"{name} II"
    finally:
        sandbox.close()


def test_fresh_draws_again_only_on_a_collision() -> None:
    values = iter([5, 5, 7])
    assert fresh(5, lambda: next(values)) == 7
    rng, twin = random.Random(1), random.Random(1)
    first = twin.randrange(100)
    assert fresh(first + 1, lambda: rng.randrange(100)) == first  # no collision: one draw, the same value
    with pytest.raises(RuntimeError, match="generator bug"):
        fresh(1, lambda: 1)
