"""The hash chain: each sealed row carries the hash of the row before it (tamper evidence)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(*, prev_hash: str, sequence_id: int, record: dict[str, Any]) -> str:
    """sha256 over the previous hash, this row's position and its content."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(str(sequence_id).encode("ascii"))
    digest.update(canonical(record))
    return digest.hexdigest()
