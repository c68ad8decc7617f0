"""This process's heartbeat in the ``job_workers`` table while its Dramatiq worker runs.

Other processes read it to tell a worker that stopped (its jobs' messages may be lost) from one
that is busy: see ``control_plane.jobs.processes``. A beat that fails (the database is away for a
moment) is logged and the next one tries again; a process that cannot beat for
``SOCIALFLOW_WORKER_HEARTBEAT_TIMEOUT`` seconds is taken for stopped and its jobs are sent again.
"""

from __future__ import annotations

import logging
import threading

import dramatiq

from control_plane.jobs.processes import WorkerRegistry, process_name
from workers import runtime

__all__ = ["Heartbeat", "BEATS_PER_TIMEOUT"]

log = logging.getLogger(__name__)

#: Beats within one heartbeat timeout, so that a few missed beats do not make a worker look dead.
BEATS_PER_TIMEOUT = 4


class Heartbeat(dramatiq.Middleware):
    """Registers the process when its worker boots, beats every timeout / 4 seconds, and records
    a clean stop when the worker has shut down."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registry: WorkerRegistry | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        ctx = runtime.current()
        self._registry = WorkerRegistry(ctx.db)
        self._registry.beat(process_name())  # before any message is taken
        interval = ctx.settings.worker_heartbeat_timeout / BEATS_PER_TIMEOUT
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, args=(self._registry, interval), name="job-heartbeat", daemon=True
        )
        self._thread.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._registry is not None:
            self._registry.stopped(process_name())

    def _beat(self, registry: WorkerRegistry, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                registry.beat(process_name())
            except Exception:  # the database may be away for a moment; the next beat tries again
                log.warning("could not record this worker's heartbeat", exc_info=True)
