"""Run every benchmark present and print one table (`make bench`)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import django

from bench.table import Row, print_table


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    only = set(sys.argv[1:])
    rows: list[Row] = []
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if not module.name.startswith("bench_") or (only and module.name not in only):
            continue
        print(f"running {module.name} ...", file=sys.stderr)
        rows.extend(importlib.import_module(f"bench.{module.name}").run())
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
