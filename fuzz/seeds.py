"""Real messages the fuzzers start from: the public conformance examples beside the project
(`../shared/ihe`, see its README) and the project's own test fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IHE = ROOT.parent / "shared" / "ihe"


def files(folder: Path, pattern: str, *, containing: bytes = b"", limit: int = 200) -> list[bytes]:
    """The contents of the files under `folder` matching `pattern` (and holding `containing`),
    in a stable order; none when the folder is absent."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob(pattern)):
        data = path.read_bytes()
        if containing in data:
            found.append(data)
        if len(found) >= limit:
            break
    return found
