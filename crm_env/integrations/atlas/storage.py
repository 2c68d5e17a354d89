"""``crm-env atlas init-db URL``: the tables Atlas's learning runtime stores sessions and learning state in.

The arc-atlas 0.1.16 wheel lacks the ``schema.sql`` its ``apply_schema_on_connect`` applies, so a fresh
database fails at the first session. These definitions are our own, written from the columns that
release's ``atlas/runtime/storage/database.py`` reads and writes (arc-atlas is Apache-2.0, by Arc
Computer). Every statement is idempotent (``IF NOT EXISTS``), so running it again changes nothing.
"""

from __future__ import annotations

from crm_env.errors import ConfigError, InfrastructureError

TABLES = {
    "sessions": """
        id SERIAL PRIMARY KEY,
        task TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running',
        review_status TEXT NOT NULL DEFAULT 'pending',
        review_notes TEXT,
        metadata JSONB,
        final_answer TEXT,
        reward JSONB,
        reward_stats JSONB,
        reward_audit JSONB,
        student_learning TEXT,
        teacher_learning TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        completed_at TIMESTAMPTZ""",
    "plans": """
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        plan JSONB NOT NULL""",
    "step_results": """
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        step_id INTEGER NOT NULL,
        trace TEXT,
        output TEXT,
        evaluation JSONB,
        attempts INTEGER,
        metadata JSONB,
        PRIMARY KEY (session_id, step_id)""",
    "step_attempts": """
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        step_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        evaluation JSONB,
        PRIMARY KEY (session_id, step_id, attempt)""",
    "guidance_notes": """
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        step_id INTEGER NOT NULL,
        sequence INTEGER NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (session_id, step_id, sequence)""",
    "trajectory_events": """
        id SERIAL PRIMARY KEY,
        session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
        event JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()""",
    "discovery_runs": """
        id SERIAL PRIMARY KEY,
        project_root TEXT,
        task TEXT,
        source TEXT,
        payload JSONB,
        metadata JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()""",
    "learning_registry": """
        learning_key TEXT PRIMARY KEY,
        student_learning TEXT,
        teacher_learning TEXT,
        metadata JSONB,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()""",
}
INDEXES = ("CREATE INDEX IF NOT EXISTS sessions_learning_key_idx ON sessions ((metadata ->> 'learning_key'))",)


def statements() -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {name} ({columns}\n)" for name, columns in TABLES.items()] + list(INDEXES)


def libpq_url(url: str) -> str:
    """``postgresql://...`` from a SQLAlchemy URL (``postgresql+psycopg://...``), as Atlas's asyncpg wants it.

    Raises:
        ConfigError: Not a PostgreSQL URL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigError(f"{url.split('@')[-1]!r} is not a PostgreSQL URL: Atlas stores sessions in PostgreSQL "
                          "(postgresql://USER:PASSWORD@HOST:PORT/DB)")
    return f"postgresql://{rest}"


def init_db(url: str) -> list[str]:
    """Create Atlas's tables in the database at ``url``; returns the table names.

    Raises:
        ConfigError: Not a PostgreSQL URL.
        InfrastructureError: The database cannot be reached or refuses the statements.
    """
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=10) as connection:
            for statement in statements():
                connection.execute(statement)
    except psycopg.Error as exc:
        raise InfrastructureError(f"Atlas's tables could not be created: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:300]}") from None
    return list(TABLES)
