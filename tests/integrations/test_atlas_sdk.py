"""The real Atlas SDK (extra ``[atlas]``, arc-atlas 0.1.16) driving ``crm_env.integrations.atlas``, offline:
its protocol checks, its discovery loop, and its CLI (``atlas env init`` with our factories, then
``atlas run`` without ``--config``) on a temporary project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_env.integrations.atlas import create_agent, create_environment
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available

# LiteLLM (an Atlas dependency) fetches a price list from the network at import unless told not to.
OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
os.environ.update(OFFLINE)
require_extra("atlas", "atlas")
pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
FACTORIES = ["--env-fn", "crm_env.integrations.atlas:create_environment",
             "--agent-fn", "crm_env.integrations.atlas:create_agent"]


def test_our_factories_satisfy_the_sdks_protocols() -> None:
    from atlas.sdk.interfaces import AtlasAgentProtocol, AtlasEnvironmentProtocol

    env, agent = create_environment(), create_agent(kind="replay")
    assert isinstance(env, AtlasEnvironmentProtocol) and isinstance(agent, AtlasAgentProtocol)


def test_the_sdks_discovery_loop_plays_a_conversation_to_done() -> None:
    from atlas.sdk.discovery_worker import TelemetryCollector, _discovery_loop

    result = _discovery_loop(create_environment(), create_agent(kind="replay"), "arc-1200-00001",
                             emitter=TelemetryCollector())
    assert result["reward"]["total"] == 8.0 and result["history"][-1]["done"]  # 8 turns, each passed
    assert "arc-1200-00001" in result["final_answer"]
    kinds = {e["type"] for e in result["telemetry"]["events"]}
    assert {"env_reset", "env_step", "crm_plan", "crm_action"} <= kinds


def _atlas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The SDK's CLI; "n" answers its storage prompt (it reads stdin and crashes on a closed one)."""
    command = shutil.which("atlas") or sys.exit("the atlas command is missing")
    return subprocess.run([command, *args], cwd=cwd, input="n\n", capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, **OFFLINE})


@pytest.mark.slow
def test_atlas_env_init_validates_our_factories_and_atlas_run_drives_them(tmp_path: Path) -> None:
    init = _atlas("env", "init", *FACTORIES, "--agent-arg", "kind=replay", "--task", "arc-1200-00001", cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    discovered = json.loads((tmp_path / ".atlas" / "discover.json").read_text())
    assert discovered["environment"]["factory"] == {"module": "crm_env.integrations.atlas",
                                                    "qualname": "create_environment"}
    assert discovered["agent"]["kwargs"] == {"kind": "replay"} and (tmp_path / ".atlas" / ".validated").exists()
    run = _atlas("run", "--path", ".", "--task", "arc-1200-00001", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    artefact = json.loads(next((tmp_path / ".atlas" / "runs").glob("run_*.json")).read_text())
    assert artefact["task"] == "arc-1200-00001" and artefact["result"]["reward"]["total"] == 8.0
    bad = _atlas("run", "--path", ".", "--task", "Sample investigation prompt", cwd=tmp_path)
    assert bad.returncode != 0 and "a task is a conversation id" in bad.stdout + bad.stderr


@pytest.mark.slow
def test_atlas_env_init_selects_our_decorated_classes_by_itself_and_runs_a_sample(tmp_path: Path) -> None:
    import crm_env.integrations.atlas as package

    copy = tmp_path / "crm_atlas"  # the scan reads source files: our three modules in a project of their own
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    for name in ("environment.py", "agent.py", "markers.py"):
        shutil.copy(Path(package.__file__).parent / name, copy / name)
    init = _atlas("env", "init", "--path", ".", "--task", "arc-1200-00001", cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    discovered = json.loads((tmp_path / ".atlas" / "discover.json").read_text())
    assert (discovered["environment"]["qualname"], discovered["agent"]["qualname"]) == ("AtlasCrmEnvironment",
                                                                                         "AtlasCrmAgent")
    assert not discovered["preflight"]["auto_skip"] and discovered["reward"]["steps"] > 0  # the sample run ran
