"""How long an idle worker waits between looks at its queues.

Dramatiq's consumer, finding its queue empty, looks again after a backoff that doubles from 5 ms
up to the worker's timeout (its default: one second). A job enqueued on a queue that was idle
then waits up to that long before any worker takes it: for a notification, whose target is a
quarter of a second from commit to screen, most of the delay. ``SOCIALFLOW_WORKER_POLL_INTERVAL``
caps that wait (at 0.1 s, an idle process asks Redis about each queue ten times a second).
"""

from __future__ import annotations

import dramatiq

from workers import runtime

__all__ = ["Polling"]


class Polling(dramatiq.Middleware):
    """Caps the booting worker's timeout (milliseconds) at ``SOCIALFLOW_WORKER_POLL_INTERVAL``,
    before its consumers are made; a worker made with a shorter one keeps it."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        cap = int(runtime.current().settings.worker_poll_interval * 1000)
        worker.worker_timeout = min(worker.worker_timeout, cap)
