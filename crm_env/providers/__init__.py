"""Provider plumbing shared by the agents and the judge: SDK clients and keys (``clients``), the one
retry layer (``retry``), usage records (``usage``) and per-model sampling rules (``sampling``).

It depends on neither the agents nor the rewards, so both can use it; the SDKs load only when a client
is built or a failure is classified, never when this package is imported.
"""
