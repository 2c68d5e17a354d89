"""A private PostgreSQL cluster without Docker, from Debian's binaries (``initdb`` / ``pg_ctl``).

Used by ``crm-env db up`` and by the README's test command (``.ci/test``). The cluster listens on
127.0.0.1 only, on its own port and with its own socket directory, so it never clashes with a system
PostgreSQL. When run as root the server runs as the ``postgres`` user (PostgreSQL refuses root).
Durability is switched off (``fsync=off``): this is a scratch server for episodes and tests.

Command line (used by ``.ci/test``)::

    python -m crm_env.backends.local_postgres start DIR   # prints the database URL
    python -m crm_env.backends.local_postgres stop DIR
"""

from __future__ import annotations

import argparse
import getpass
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from crm_env.errors import ConfigError, InfrastructureError

DATABASE = "crm_env"
SERVER_USER = "postgres"
_PORT_FILE = "crm_env.port"


@dataclass(frozen=True)
class LocalPostgres:
    """A running private cluster."""

    data_dir: Path
    port: int
    reused: bool = False  # it was already running when ``start`` was called

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{DATABASE}"


def default_dir() -> Path:
    # Under the temp dir rather than the home directory: as root, the server runs as ``postgres``,
    # which cannot traverse /root. One per user, so two users never share (or stop) each other's server.
    return Path(tempfile.gettempdir()) / f"crm_env-postgres-{getpass.getuser()}"


def find_bin(name: str) -> str:
    """The path of a PostgreSQL server program, preferring the newest Debian version.

    Raises:
        ConfigError: PostgreSQL's server binaries are not installed.
    """
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key, reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise ConfigError(
            f"{name} not found; install PostgreSQL's server (Debian: apt-get install -y postgresql) "
            "or use docker compose up -d"
        )
    return found


def _version_key(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


def _run(argv: list[str]) -> None:
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InfrastructureError(f"{Path(argv[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER, SERVER_USER)
    path.chmod(0o700)


def start(data_dir: Path | str | None = None, port: int | None = None) -> LocalPostgres:
    """Initialise (once) and start a private cluster; return it once it accepts connections.

    Starting an already running cluster returns it unchanged.
    """
    data_dir = Path(data_dir or default_dir()).resolve()
    pgdata, sockets = data_dir / "data", data_dir / "sockets"
    running = status(data_dir)
    if running is not None:
        return LocalPostgres(running.data_dir, running.port, reused=True)
    for path in (data_dir, sockets):
        _prepare_dir(path)
    if not (pgdata / "PG_VERSION").exists():
        _prepare_dir(pgdata)
        _run([find_bin("initdb"), "-D", str(pgdata), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync"])
    port = port or _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    _run([find_bin("pg_ctl"), "-D", str(pgdata), "-l", str(data_dir / "server.log"), "-o", options, "-w", "-t", "60", "start"])
    (data_dir / _PORT_FILE).write_text(str(port))
    cluster = LocalPostgres(data_dir, port)
    _create_database(cluster)
    return cluster


def _create_database(cluster: LocalPostgres) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(host="127.0.0.1", port=cluster.port, user=SERVER_USER, dbname="postgres",
                                 autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def status(data_dir: Path | str | None = None) -> LocalPostgres | None:
    """The cluster in ``data_dir`` if it is running, else None."""
    data_dir = Path(data_dir or default_dir()).resolve()
    pgdata, port_file = data_dir / "data", data_dir / _PORT_FILE
    if not (pgdata / "postmaster.pid").exists() or not port_file.exists():
        return None
    proc = subprocess.run(_as_server_user([find_bin("pg_ctl"), "-D", str(pgdata), "status"]), capture_output=True, check=False)
    return LocalPostgres(data_dir, int(port_file.read_text())) if proc.returncode == 0 else None


def stop(data_dir: Path | str | None = None) -> None:
    """Stop the cluster in ``data_dir`` (fast shutdown); a stopped cluster is left alone."""
    data_dir = Path(data_dir or default_dir()).resolve()
    if status(data_dir) is not None:
        _run([find_bin("pg_ctl"), "-D", str(data_dir / "data"), "-m", "fast", "-w", "stop"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_env.backends.local_postgres")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("dir", nargs="?", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if args.action == "start":
        print(start(args.dir, args.port).url)
    elif args.action == "stop":
        stop(args.dir)
    else:
        cluster = status(args.dir)
        print(cluster.url if cluster else "stopped")
        return 0 if cluster else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
