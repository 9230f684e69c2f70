"""The fuzzing loop: one parser's property run under hypothesis until a wall-clock budget is spent."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st


@dataclass
class Target:
    """One parser: the strategy of its inputs and the property every input must keep.

    `check` returns normally for a result or an expected refusal and raises for anything else.
    """

    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], None]
    examples: int = field(default=0, init=False)

    def counted(self, example: Any) -> None:
        self.examples += 1
        self.check(example)


@dataclass(frozen=True)
class Outcome:
    name: str
    examples: int
    seconds: float
    failure: str  # the traceback and falsifying example, "" when none was found


def fuzz_settings(max_examples: int) -> settings:
    # No example database (each run starts afresh; CI keeps no state), no deadline (a slow
    # example is not a crash), no health checks (big inputs are the point).
    return settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    phases=[Phase.generate, Phase.shrink])


def run(target: Target, *, seconds: float, batch: int = 500,
        say: Callable[[str], None] = print) -> Outcome:
    """Repeat hypothesis runs of `batch` examples, each with a fresh seed, until `seconds` pass
    or a property fails; the failing example is shrunk and reported."""
    def prop(example: Any) -> None:
        target.counted(example)

    test = given(target.strategy())(fuzz_settings(batch)(prop))
    started = time.monotonic()
    failure = ""
    runs = 0
    while time.monotonic() - started < seconds:
        try:
            test()
        except Exception:
            failure = traceback.format_exc()
            break
        runs += 1
        if runs % 10 == 0:
            say(f"{target.name}: {target.examples} examples, {time.monotonic() - started:.0f} s")
    return Outcome(target.name, target.examples, time.monotonic() - started, failure)
