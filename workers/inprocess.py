"""Worker threads inside the ``serve`` process, for the embedded default's stub broker."""

from __future__ import annotations

import dramatiq
from dramatiq import Worker

__all__ = ["start_inprocess_workers"]


def start_inprocess_workers(broker: dramatiq.Broker, threads: int) -> Worker:
    """Start ``threads`` worker threads consuming every declared queue. Call ``.stop()`` to end."""
    broker.emit_after("process_boot")
    worker = Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker
