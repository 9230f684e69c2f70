"""A throwaway Redis on loopback, with no persistence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.servers.process import ServerProcess, free_port, require_binary


@dataclass
class RedisServer:
    port: int
    process: ServerProcess

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.stop()


def start_redis(base: Path) -> RedisServer:
    binary = require_binary("redis-server")
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = ServerProcess(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(base)],
        log_dir=base,
    ).start()
    process.wait_for_port(port)
    return RedisServer(port=port, process=process)
