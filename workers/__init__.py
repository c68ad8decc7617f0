"""Dramatiq broker setup, the job table, middleware and actors.

The control plane only enqueues (:func:`enqueue`); actors are a few lines each: load the job,
call a pipeline, record the result. Cross-cutting concerns (state, metrics, retries, time limits)
live in middleware.
"""

from workers.enqueue import enqueue
from workers.jobs import JOBS, JobSpec

__all__ = ["JOBS", "JobSpec", "enqueue"]
