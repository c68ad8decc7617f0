"""Prometheus metrics of jobs: counts by outcome, durations, jobs in flight.

In a ``socialflow worker`` process tree the metrics are shared through prometheus_client's
multiprocess mode (the parent exposes them); in ``serve`` they land in the API's /metrics.
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from prometheus_client import Counter, Gauge, Histogram

__all__ = ["JobMetrics", "JOBS_TOTAL", "JOB_SECONDS", "JOBS_RUNNING"]

JOBS_TOTAL = Counter("socialflow_jobs_total", "Jobs processed, by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram(
    "socialflow_job_duration_seconds",
    "Wall time of one job attempt",
    ["kind"],
    buckets=(0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
JOBS_RUNNING = Gauge(
    "socialflow_jobs_running", "Job attempts in progress", ["kind"], multiprocess_mode="livesum"
)


class JobMetrics(dramatiq.Middleware):
    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._started[message.message_id] = time.monotonic()
        JOBS_RUNNING.labels(message.actor_name).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if started is None:
            return
        JOBS_RUNNING.labels(message.actor_name).dec()
        JOB_SECONDS.labels(message.actor_name).observe(time.monotonic() - started)
        if exception is None:
            outcome = "succeeded"
        else:
            outcome = "failed" if message.failed else "retried"
        JOBS_TOTAL.labels(message.actor_name, outcome).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if self._started.pop(message.message_id, None) is not None:
            JOBS_RUNNING.labels(message.actor_name).dec()
        JOBS_TOTAL.labels(message.actor_name, "skipped").inc()
