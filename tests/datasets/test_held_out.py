"""The held-out split is locked: only an explicit opt-in reads it (``allow_held_out=True``; on the command
line, ``crm-env eval --split test``), learning refuses it, and runs record which splits they read. The
loader is instrumented to prove the learning loop never parses a held-out conversation."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

from crm_env.cli.main import main
from crm_env.datasets import loader
from crm_env.datasets.loader import DatasetError, load, source, splits_manifest

TEST_IDS = frozenset(splits_manifest()["splits"]["test"])


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every conversation id the loader parses from here on (its caches emptied first)."""
    seen: list[str] = []
    real = loader.parse_lines

    def recording(lines, source_name):  # type: ignore[no-untyped-def]
        conversations = real(lines, source_name)
        seen.extend(c.conversation_id for c in conversations)
        return conversations

    monkeypatch.setattr(loader, "parse_lines", recording)
    loader._packaged.cache_clear()
    loader._packaged_split.cache_clear()
    yield seen
    loader._packaged.cache_clear()
    loader._packaged_split.cache_clear()


@pytest.mark.parametrize("args", [("arc-crm-1200", "test"), ("arc-crm-1200:test", None), ("arc-crm-1200", None)])
def test_the_held_out_split_and_the_whole_set_need_the_opt_in(args: tuple[str, str | None], parsed: list[str]) -> None:
    with pytest.raises(DatasetError, match="held out.*crm-env eval --split test"):
        load(*args)
    assert parsed == []  # refused before a line is read
    assert {c.conversation_id for c in load(*args, allow_held_out=True)} >= TEST_IDS


def test_other_splits_and_datasets_need_no_opt_in() -> None:
    assert len(load("arc-crm-1200", split="train")) == 600
    assert load("golden")
    assert source("arc-crm-1200:eval-400") == "arc-crm-1200:eval-400" and source("golden") == "golden"


def test_the_env_refuses_the_held_out_split() -> None:
    with pytest.raises(DatasetError, match="held out"):
        gym.make("ArcCrm-v0", split="test")


def test_the_learning_loop_never_parses_a_held_out_conversation(tmp_path: Path, parsed: list[str]) -> None:
    out = tmp_path / "run"
    assert main(["learn", "run", "--episodes", "20", "--no-progress", "--output", str(out)]) == 0
    assert parsed and not TEST_IDS & set(parsed)
    assert json.loads((out / "run.json").read_text())["splits_read"] == ["arc-crm-1200:train"]
    parsed.clear()
    for flags in (["--split", "test"], ["--dataset", "arc-crm-1200"], ["--dataset", "arc-crm-1200:test"]):
        assert main(["learn", "run", "--no-progress", "--output", str(tmp_path / "refused"), *flags]) == 2
    assert not TEST_IDS & set(parsed)


def test_only_eval_reads_the_held_out_split_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["dataset", "stats", "arc-crm-1200:test"], ["dataset", "validate", "arc-crm-1200", "--split", "test"],
                    ["reward", "audit", "--split", "test", "--output", str(tmp_path / "audit")]):
        assert main(command) == 2
        assert "held out" in capsys.readouterr().err
    out = tmp_path / "final"
    assert main(["eval", "--agent", "replay", "--split", "test", "--sample", "3", "--no-progress",
                 "--output", str(out)]) == 0
    assert "reading the held-out 'test' split" in capsys.readouterr().out
    record = json.loads((out / "run.json").read_text())
    assert record["splits_read"] == ["arc-crm-1200:test"] and set(record["conversation_ids"]) <= TEST_IDS
