"""``crm-env atlas init-config``: an Atlas runtime configuration that runs our episodes with our reward.

Written as JSON, which is YAML too (Atlas's loader reads either), so writing it needs no YAML library. The
choices it makes, each against an SDK default that would not work here:

- ``agent``: our python adapter (``crm_env.integrations.atlas.session:play``), which plays a whole
  conversation per call (``orchestration.step_timeout_seconds`` bounds it: ``timeout``);
- ``adaptive_teaching.reward``: our python reward (the deterministic verdict), not Atlas's LLM judges;
- ``orchestration.max_retries: 1``: with 0, paired mode skips the teacher's validation entirely;
- ``forced_mode`` when ``--mode`` is given: otherwise Atlas's capability probe picks the mode, and without
  its probe model's key it falls back to paired;
- ``storage.apply_schema_on_connect: false``: the 0.1.16 wheel lacks the ``schema.sql`` it would apply;
  the URL is in the file, since the loader does not read ``STORAGE__DATABASE_URL``.

``rim`` is required by the SDK's schema but unused with the python reward; it names the teacher's model.
"""

from __future__ import annotations

import json
from typing import Any

from crm_env.errors import ConfigError
from crm_env.eval.config import mask_url

PROVIDERS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
SESSION_MODULE = "crm_env.integrations.atlas.session"
STUDENT_PROMPT = ("You operate a CRM through tools on behalf of its users; carry out each request exactly, "
                  "then tell the user truthfully what you did.")


def atlas_config(*, teacher_model: str = "gpt-4.1-mini", provider: str = "openai", base_url: str | None = None,
                 database_url: str | None = None, mode: str | None = None, timeout: float = 900.0) -> dict[str, Any]:
    """The configuration as a mapping (see the module docstring).

    Raises:
        ConfigError: An unknown provider or mode.
    """
    if provider not in PROVIDERS:
        raise ConfigError(f"--provider {provider!r}: choose one of {', '.join(PROVIDERS)}")
    if mode not in (None, "auto", "paired"):
        raise ConfigError(f"--mode {mode!r}: choose auto or paired (or leave it to Atlas's probe)")
    llm: dict[str, Any] = {"provider": provider, "model": teacher_model, "api_key_env": PROVIDERS[provider],
                           "temperature": 0.0, "timeout_seconds": 120}
    if base_url:
        llm["api_base"] = base_url
    config: dict[str, Any] = {
        "agent": {"type": "python", "name": "crm_env", "system_prompt": STUDENT_PROMPT,
                  "import_path": SESSION_MODULE, "attribute": "play"},
        "teacher": {"llm": llm},
        "rim": {"small_model": llm, "large_model": llm},
        "orchestration": {"max_retries": 1, "forced_mode": mode, "step_timeout_seconds": timeout},
        "adaptive_teaching": {"reward": {"type": "python", "import_path": SESSION_MODULE, "attribute": "CrmReward"}},
        "learning": {"llm": llm},
    }
    if database_url:
        config["storage"] = {"database_url": database_url, "apply_schema_on_connect": False}
    return config


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2) + "\n"


def described(config: dict[str, Any]) -> str:
    """A one-line description, with any database password masked."""
    storage = config.get("storage", {}).get("database_url")
    return (f"teacher {config['teacher']['llm']['provider']}:{config['teacher']['llm']['model']}, mode "
            f"{config['orchestration']['forced_mode'] or 'chosen by Atlas'}, storage "
            f"{mask_url(storage) if storage else 'none (nothing is learned across sessions)'}")
