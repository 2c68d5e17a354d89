"""Continual learning: a versioned playbook memory that a teacher fills and a student reads.

``entries`` declares the data (entries, their lifecycle and the deltas that change them), ``memory`` folds
deltas into the memory at any version and exports / imports it as JSON, ``store`` keeps it in SQLite or
PostgreSQL by URL, ``retrieval`` picks a turn's entries from the request text, ``teacher`` proposes entries
from failed turns, ``events`` is the run's typed event log. Nothing here imports an LLM SDK.
"""
