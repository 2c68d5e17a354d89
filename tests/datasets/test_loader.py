"""Loading packaged datasets by name and files by path."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from crm_env.datasets import load
from crm_env.datasets.format import Conversation
from crm_env.datasets.loader import DatasetError, dump, splits_manifest


def test_packaged_splits(arc_all: list[Conversation]) -> None:
    assert len(arc_all) == 1200
    evaluation = load("arc-crm-1200", split="eval-400")
    train, test = load("arc-crm-1200", split="train"), load("arc-crm-1200:test", allow_held_out=True)
    assert (len(evaluation), len(train), len(test)) == (400, 600, 200)
    ids = [set(c.conversation_id for c in part) for part in (evaluation, train, test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set.union(*ids) == {c.conversation_id for c in arc_all}
    assert splits_manifest()["split_seeds"]["eval-400"] == 42
    assert splits_manifest()["held_out"] == ["test"]


def test_eval_split_is_stratified_by_complexity(arc_all: list[Conversation]) -> None:
    whole = Counter(c.complexity for c in arc_all)
    part = Counter(c.complexity for c in load("arc-crm-1200", split="eval-400"))
    for complexity, n in whole.items():
        assert abs(part[complexity] - n / 3) <= 1


def test_golden_suite(golden_suite: list[Conversation]) -> None:
    assert len(golden_suite) >= 71
    assert all(len(c.turns) == 1 for c in golden_suite)
    assert {c.turns[0].intent for c in golden_suite} >= set(__import__("crm_env").datasets.TaskIntent)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_round_trip_files(tmp_path: Path, golden_suite: list[Conversation], suffix: str) -> None:
    path = dump(golden_suite[:5], tmp_path / f"x{suffix}")
    assert load(path) == golden_suite[:5]
    assert load(str(path)) == golden_suite[:5]


def test_bad_inputs_raise_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        load("no-such-dataset")
    with pytest.raises(DatasetError):
        load("arc-crm-1200", split="validation")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversation_id": "x"}\n')
    with pytest.raises(DatasetError, match="bad.jsonl:1"):
        load(bad)
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b"not json\n")[:10])
    with pytest.raises(DatasetError):
        load(broken)
