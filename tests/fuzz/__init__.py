"""Property and fuzz tests: every entry point turns bad input into a clear error, never a traceback or a hang.

Budgets are small for CI; `DIALTONE_FUZZ_EXAMPLES=5000 pytest tests/fuzz` runs every test that much longer.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def budget(ci: int) -> int:
    """Examples per test: `ci` by default, DIALTONE_FUZZ_EXAMPLES when set (a longer local run)."""
    env = os.environ.get("DIALTONE_FUZZ_EXAMPLES")
    return int(env) if env else ci


class Hang(Exception):
    """An entry point ran past its time limit on one input."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread when the block runs longer than `seconds` (SIGALRM; Unix)."""

    def fire(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
