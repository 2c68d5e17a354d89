"""Building the packaged datasets: ``arc-crm-1200`` with its splits, and the golden suite.

``python -m crm_env.datasets.packaged [OUT_DIR]`` regenerates the files under
``crm_env/datasets/data/`` from the recorded seeds; the determinism test checks that doing so
reproduces the checked-in files byte for byte.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from crm_env.datasets.format import Complexity, Conversation
from crm_env.datasets.generator import GENERATOR_VERSION, generate
from crm_env.datasets.generator.plan import allocate
from crm_env.datasets.golden import GOLDEN_SEED, golden
from crm_env.datasets.loader import DATA_DIR, HELD_OUT_SPLITS, PACKAGED, SPLITS_FILE, gzip_bytes, to_jsonl

DATASET_SEED = 1200
DATASET_COUNT = 1200
EVAL_SEED = 42
EVAL_SIZE = 400
TEST_SEED = 4242
TEST_SIZE = 200


def stratified(conversations: Sequence[Conversation], size: int, seed: int) -> list[str]:
    """Ids of ``size`` conversations drawn with ``seed``, keeping the complexity mix."""
    groups: dict[Complexity, list[str]] = {c: [] for c in Complexity}
    for conversation in conversations:
        groups[conversation.complexity].append(conversation.conversation_id)
    total = len(conversations)
    quota = allocate(size, [(c, len(ids) / total) for c, ids in groups.items()])
    rng = random.Random(seed)
    chosen: list[str] = []
    for complexity, ids in groups.items():
        chosen += rng.sample(sorted(ids), quota.count(complexity))
    return sorted(chosen)


def splits(conversations: Sequence[Conversation]) -> dict[str, list[str]]:
    """eval-400 (seed 42), then a held-out test split from the rest, and train: everything else."""
    evaluation = stratified(conversations, EVAL_SIZE, EVAL_SEED)
    taken = set(evaluation)
    rest = [c for c in conversations if c.conversation_id not in taken]
    test = stratified(rest, TEST_SIZE, TEST_SEED)
    taken |= set(test)
    train = sorted(c.conversation_id for c in conversations if c.conversation_id not in taken)
    return {"eval-400": evaluation, "train": train, "test": test}


def build(out_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Write every packaged file into ``out_dir``; return the paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    conversations = generate(DATASET_SEED, DATASET_COUNT)
    manifest = {
        "dataset": "arc-crm-1200",
        "generator_version": GENERATOR_VERSION,
        "seed": DATASET_SEED,
        "count": DATASET_COUNT,
        "split_seeds": {"eval-400": EVAL_SEED, "test": TEST_SEED},
        "held_out": sorted(HELD_OUT_SPLITS),
        "splits": splits(conversations),
    }
    paths = {
        "arc-crm-1200": out_dir / PACKAGED["arc-crm-1200"],
        "golden": out_dir / PACKAGED["golden"],
        "splits": out_dir / SPLITS_FILE,
    }
    paths["arc-crm-1200"].write_bytes(gzip_bytes(to_jsonl(conversations)))
    paths["golden"].write_bytes(gzip_bytes(to_jsonl(golden(GOLDEN_SEED))))
    paths["splits"].write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return paths


if __name__ == "__main__":
    for name, path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR).items():
        print(f"{name}: {path} ({path.stat().st_size:,} bytes)")
