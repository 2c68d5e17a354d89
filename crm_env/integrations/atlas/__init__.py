"""The Atlas SDK (PyPI ``arc-atlas``, extra ``[atlas]``) driving ``ArcCrm-v0``.

``create_environment`` and ``create_agent`` are the factories ``atlas env init`` validates and
``atlas run`` (without ``--config``) drives::

    atlas env init --env-fn crm_env.integrations.atlas:create_environment \\
                   --agent-fn crm_env.integrations.atlas:create_agent --task arc-1200-00001

Keyword arguments come from ``--env-arg KEY=VALUE`` / ``--agent-arg KEY=VALUE`` (see
``AtlasCrmEnvironment`` and ``AtlasCrmAgent``). Nothing here imports Atlas: its protocols are structural,
and ``atlas env init`` recognises our two classes by their decorators' *names* (``environment``, ``agent``:
``markers``), so a scan of this package selects them without the flags.
"""

from __future__ import annotations

from typing import Any


def create_environment(**kwargs: Any) -> Any:
    """An ``AtlasCrmEnvironment`` (``dataset``, ``split``, ``backend``, ``seed``)."""
    from crm_env.integrations.atlas.environment import AtlasCrmEnvironment

    if "seed" in kwargs:
        kwargs["seed"] = int(kwargs["seed"])
    return AtlasCrmEnvironment(**kwargs)


def create_agent(**kwargs: Any) -> Any:
    """An ``AtlasCrmAgent`` (``kind``, ``model``, ``base_url``, ``dataset``, ``split``, ``seed``, ``timeout``)."""
    from crm_env.integrations.atlas.agent import AtlasCrmAgent

    if "seed" in kwargs:
        kwargs["seed"] = int(kwargs["seed"])
    return AtlasCrmAgent(**kwargs)
