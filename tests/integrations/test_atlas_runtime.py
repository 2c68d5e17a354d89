"""Atlas's learning runtime (``atlas.core.arun``, the real SDK) around our episodes: ``crm-env atlas
init-config`` writes a configuration the SDK accepts; ``crm-env atlas run`` completes sessions in auto mode
and in paired mode, where the teacher's calls reach the fake provider server and its rejection makes Atlas
retry; results land in ``crm-env eval``'s format with Atlas's record in each line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crm_env.cli.main import main
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available

os.environ.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"})
require_extra("atlas", "atlas")
providers = pytest.importorskip("tests.fakes.providers")
pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
MODEL = "gpt-4.1-mini"


def _config(tmp_path: Path, provider: Any, mode: str, *extra: str) -> Path:
    path = tmp_path / f"atlas-{mode}.yaml"
    assert main(["atlas", "init-config", "--output", str(path), "--base-url", provider.url, "--mode", mode,
                 *extra]) == 0
    return path


def _teacher(provider: Any, valid: bool):  # type: ignore[no-untyped-def]
    def behaviour(body):  # type: ignore[no-untyped-def]
        verdict = {"valid": valid, "guidance": None if valid else "Confirm each change against the request."}
        return 200, {}, json.loads(provider._answer({"respond": json.dumps(verdict)}))
    return behaviour


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_init_config_writes_what_the_sdk_accepts_and_never_overwrites(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from atlas.config.loader import load_config

    with providers.FakeProvider("openai", model=MODEL) as provider:
        path = _config(tmp_path, provider, "paired", "--database-url", "postgresql://atlas:s3cret@127.0.0.1:1/atlas")
        assert "s3cret" not in capsys.readouterr().out
        config = load_config(str(path))
        assert config.agent.import_path == "crm_env.integrations.atlas.session" and config.agent.attribute == "play"
        assert config.adaptive_teaching.reward.type == "python" and config.orchestration.max_retries == 1
        assert config.storage is not None and config.storage.apply_schema_on_connect is False
        assert main(["atlas", "init-config", "--output", str(path)]) == 2


def test_auto_sessions_play_our_episodes_and_score_them_with_our_verdict(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, True)
        config = _config(tmp_path, provider, "auto")
        assert main(["atlas", "run", "--config", str(config), "--student", "replay", "--episodes", "3",
                     "--output", str(out)]) == 0
        assert provider.requests == []  # auto mode: no teacher
    lines = _lines(out)
    assert len(lines) == 3 and all(line["strict_success"] for line in lines)  # the oracle
    for line in lines:
        assert line["atlas"]["mode"] == "auto" and line["atlas"]["attempts"] == 1 and line["atlas"]["reward"] == 1.0
        assert line["atlas"]["learning_key"] == f"crm_env:{line['workflow']}"
    assert json.loads((out / "summary.json").read_text())["episodes"]["completed"] == 3
    assert main(["report", str(out)]) == 0


def test_paired_sessions_reach_the_teacher_and_retry_on_its_rejection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, False)
        config = _config(tmp_path, provider, "paired")
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        assert main(["atlas", "run", "--config", str(config), "--output", str(out)]) == 2  # refused up front
        assert "OPENAI_API_KEY" in capsys.readouterr().err and not out.exists()
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local-fake")
        assert main(["atlas", "run", "--config", str(config), "--episodes", "2", "--output", str(out)]) == 0
        requests = list(provider.requests)
    assert len(requests) == 2 and all(r["model"] == MODEL for r in requests)  # one validation per session
    lines = _lines(out)
    assert all(line["atlas"]["mode"] == "paired" and line["atlas"]["attempts"] == 2 for line in lines)
    for line, request in zip(lines, requests, strict=True):  # the teacher saw our transcript of the episode
        assert line["conversation_id"] in json.dumps(request)


def test_a_failed_session_stops_the_run_and_resume_continues(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        config = _config(tmp_path, provider, "auto", "--database-url", "postgresql://nobody@127.0.0.1:1/none")
        flags = ["atlas", "run", "--config", str(config), "--student", "replay", "--episodes", "2", "--output", str(out)]
        assert main(flags) == 3
        assert "run again with --resume" in capsys.readouterr().err
        (tmp_path / "working").mkdir()
        working = _config(tmp_path / "working", provider, "auto")  # without the unreachable database
        assert main([*flags[:3], str(working), *flags[4:], "--resume"]) == 0
    assert len(_lines(out)) == 2


def test_the_held_out_split_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with providers.FakeProvider("openai", model=MODEL) as provider:
        config = _config(tmp_path, provider, "auto")
    assert main(["atlas", "run", "--config", str(config), "--split", "test", "--output", str(tmp_path / "r")]) == 2
    assert "held out" in capsys.readouterr().err and not (tmp_path / "r").exists()
