"""A throwaway PostgreSQL cluster: initdb into a temporary folder, listening on loopback only."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.servers.process import ServerProcess, free_port, require_binary


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return require_binary(name, *candidates)


@dataclass
class PostgresServer:
    port: int
    process: ServerProcess
    base: Path
    user: str = "postgres"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root: on CI (root) they run as the `postgres` user.
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


def start_postgres(base: Path) -> PostgresServer:
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    prefix = _as_postgres_user()
    if prefix:
        # pytest's own temporary folders are root's alone; the postgres user needs one it can reach.
        base = Path(tempfile.mkdtemp(prefix="hienode-pg-"))
        base.chmod(0o755)
    data, run = base / "data", base / "run"
    data.mkdir(parents=True)
    run.mkdir(parents=True)
    if prefix:
        subprocess.run(["chown", "-R", "postgres", str(base)], check=True)
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, capture_output=True,
    )
    port = free_port()
    process = ServerProcess(
        "postgres",
        [*prefix, postgres, "-D", str(data), "-p", str(port), "-k", str(run),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
         "-c", "synchronous_commit=off", "-c", "max_connections=200"],
        log_dir=base,
    ).start()
    process.wait_for_port(port)
    return PostgresServer(port=port, process=process, base=base)
