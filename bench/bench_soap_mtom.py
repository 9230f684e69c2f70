"""SOAP round trips of an echo request carrying an MTOM attachment, against a real gunicorn.

The 10 MB case is the issue's figure; the 100 MB case shows a worker's memory does not follow
the attachment's size, since parts stream to and from files.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.sampler import PeakRss
from bench.table import Row
from soap.mtom import OutgoingAttachment
from tests.servers.node import Node
from tests.soap.messages import echo_body, envelope, mtom

MB = 1024 * 1024
CASES = [(10 * MB, 20), (100 * MB, 5)]  # (attachment size, round trips)


def run() -> list[Row]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-soap-") as tmp:
        base = Path(tmp)
        node = Node(base=base, env={"DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}"})
        node.env["SOAP_MAX_PART_BYTES"] = str(256 * MB)
        node.start("web")
        try:
            return [row for size, rounds in CASES for row in _measure(node, base, size, rounds)]
        finally:
            node.stop()


def _measure(node: Node, base: Path, size: int, rounds: int) -> list[Row]:
    document = base / f"document-{size}.bin"
    document.write_bytes(os.urandom(size))
    ctype, body = mtom(envelope(echo_body("doc@bench")),
                       [OutgoingAttachment.from_path(content_id="doc@bench",
                                                     content_type="application/octet-stream", path=document)])
    latencies = []
    with httpx.Client(base_url=node.url, timeout=300) as client:
        client.post("/soap/echo", content=body, headers={"Content-Type": ctype})  # warm up
        with PeakRss(node.processes["web"].pid) as rss:
            for _ in range(rounds):
                started = time.perf_counter()
                response = client.post("/soap/echo", content=body, headers={"Content-Type": ctype})
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                if len(response.content) <= size:
                    raise RuntimeError("the echo came back without its attachment")
    median = statistics.median(latencies)
    name = f"SOAP echo, {size // MB} MB MTOM"
    return [
        Row(name, "latency p50", median * 1000, "ms", f"{rounds} round trips on loopback"),
        Row(name, "latency max", max(latencies) * 1000, "ms"),
        Row(name, "throughput", 2 * size / median / 1e6, "MB/s", "attachment in + out"),
        Row(name, "peak RSS of a web worker", rss.peak_per_process / MB, "MiB"),
    ]
