"""Dramatiq middleware: job state in the database, the worker's heartbeat, Prometheus metrics and
how often an idle worker looks at its queues."""

from workers.middleware.heartbeat import Heartbeat
from workers.middleware.jobstate import JobState, on_final_failure
from workers.middleware.metrics import JobMetrics
from workers.middleware.polling import Polling

__all__ = ["Heartbeat", "JobMetrics", "JobState", "Polling", "on_final_failure"]
