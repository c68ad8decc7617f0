"""Dramatiq middleware: job state in the database and Prometheus metrics."""

from workers.middleware.jobstate import JobState, on_final_failure
from workers.middleware.metrics import JobMetrics

__all__ = ["JobMetrics", "JobState", "on_final_failure"]
