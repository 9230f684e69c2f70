"""`python -m fuzz <parser>|all --seconds N`: fuzz parsers for a wall-clock budget each; the exit
status is 1 when a property failed (the shrunk example and its traceback are printed)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

PARSERS = {"hl7v2": "fuzz.hl7v2", "ebrim": "fuzz.ebrim", "mtom": "fuzz.mtom", "fhir": "fuzz.fhir_json"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("parser", choices=[*PARSERS, "all"])
    parser.add_argument("--seconds", type=float, default=600.0, help="budget per parser")
    parser.add_argument("--batch", type=int, default=500, help="examples per hypothesis run")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # Refusals are logged at WARNING by the parsers' libraries: millions of them hide the report.
    logging.disable(logging.WARNING)
    from fuzz.engine import Target, run

    names = list(PARSERS) if options.parser == "all" else [options.parser]
    failed = False
    for name in names:
        module = importlib.import_module(PARSERS[name])
        target = Target(name, module.strategy, module.check)
        outcome = run(target, seconds=options.seconds, batch=options.batch)
        verdict = "CRASH" if outcome.failure else "no crash"
        print(f"{name}: {outcome.examples} examples in {outcome.seconds:.0f} s: {verdict}", flush=True)
        if outcome.failure:
            print(outcome.failure, flush=True)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
