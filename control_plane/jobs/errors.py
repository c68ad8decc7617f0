"""Errors of the jobs port. Both answer 503 ``BROKER_UNAVAILABLE``: the request may be retried."""

from __future__ import annotations

__all__ = ["EnqueueFailed", "BrokerUnavailable"]


class EnqueueFailed(Exception):
    """The broker refused a job's message; the job's row is marked failed."""

    code = "BROKER_UNAVAILABLE"
    status = 503
    title = "Job queue unavailable"


class BrokerUnavailable(Exception):
    """The broker's server does not answer."""

    code = "BROKER_UNAVAILABLE"
    status = 503
