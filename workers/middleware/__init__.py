"""Dramatiq middleware: job state in the database, the worker's heartbeat and Prometheus metrics."""

from workers.middleware.heartbeat import Heartbeat
from workers.middleware.jobstate import JobState, on_final_failure
from workers.middleware.metrics import JobMetrics

__all__ = ["Heartbeat", "JobMetrics", "JobState", "on_final_failure"]
