"""Periodic jobs enqueued by the API processes, at most once per period across all of them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from control_plane.core.kv import KeyValue

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``action`` every ``interval`` seconds in a daemon thread.

    A key-value lock named after the job, held for one interval, makes sure that of many API
    processes sharing a Redis only one acts per period.
    """

    def __init__(self, name: str, interval: float, action: Callable[[], object], kv: KeyValue) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self.kv = kv
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"periodic-{name}", daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> bool:
        """Act now if no process acted in this period; True if this call acted."""
        if self.kv.acquire_lock(f"periodic:{self.name}", self.interval * 0.9) is None:
            return False
        try:
            self.action()
        except Exception:  # the next period tries again; the failure is logged, never silent
            log.exception("periodic %s failed", self.name)
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
