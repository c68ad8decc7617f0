"""Errors of the jobs port. Both answer 503 ``BROKER_UNAVAILABLE``: the request may be retried."""

from __future__ import annotations

from control_plane.core.errors import ProblemError

__all__ = ["EnqueueFailed", "BrokerUnavailable"]


class EnqueueFailed(ProblemError):
    """The broker refused a job's message; the job's row is marked failed."""

    code = "BROKER_UNAVAILABLE"
    status = 503
    title = "Job queue unavailable"


class BrokerUnavailable(ProblemError):
    """The broker's server does not answer."""

    code = "BROKER_UNAVAILABLE"
    status = 503
    title = "Broker unavailable"
