"""The process side: the Dramatiq broker, the job table, middleware and actors, the live media
node, and the entry points that compose everything (``workers.cli``).

The control plane only enqueues, through its jobs port (``control_plane.jobs``) and the broker
made here (:func:`workers.broker.make_broker`); actors are a few lines each: load the job, call a
pipeline, record the result. Cross-cutting concerns (state, metrics, retries, time limits) live
in middleware.
"""

from workers.jobs import JOBS, JobSpec

__all__ = ["JOBS", "JobSpec"]
