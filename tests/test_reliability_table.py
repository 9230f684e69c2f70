"""docs/RELIABILITY.md cannot drift from the tests: every row names a test that exists, and every
test of the hostile-input, fuzzing and stress suites has its row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "RELIABILITY.md"
# The suites that exist to back the table: each of their tests is a row.
SUITES = ("tests/security", "tests/fuzz", "tests/stress")
NODEID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^`]*\])?`")


def rows() -> list[str]:
    """The tables' body rows: a header row is the one above a |---| line."""
    # The Load section's figures come from `python -m stress.load`, which `make stress` runs.
    lines = TABLE.read_text().split("\n## Load", 1)[0].splitlines()
    separator = [line.startswith("|") and set(line) <= set("|- ") for line in lines]
    return [line for n, line in enumerate(lines) if line.startswith("|") and not separator[n]
            and not (n + 1 < len(lines) and separator[n + 1])]


def named_tests() -> set[tuple[str, str]]:
    return {(path, name) for line in rows() for path, name in NODEID.findall(line)}


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}


def test_every_row_names_a_test_that_exists() -> None:
    missing = [f"{path}::{name}" for path, name in sorted(named_tests())
               if not (ROOT / path).exists() or name not in defined_tests(ROOT / path)]
    assert missing == []


def test_every_row_of_the_table_names_at_least_one_test() -> None:
    body = rows()
    assert body and [row for row in body if not NODEID.search(row)] == []


def test_every_test_of_the_reliability_suites_has_its_row() -> None:
    named = named_tests()
    absent = [f"{path.relative_to(ROOT)}::{name}"
              for suite in SUITES for path in sorted((ROOT / suite).rglob("test_*.py"))
              for name in sorted(defined_tests(path))
              if (str(path.relative_to(ROOT)), name) not in named]
    assert absent == []
