"""Polling for a condition that another thread or process makes true."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.05) -> object:
    """Call ``predicate`` every ``step`` seconds until it returns something true or ``timeout``
    seconds have passed; returns its last value (false when time ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)
