"""Builds the Dramatiq broker named by the settings and declares every actor of the job table."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from control_plane.core.settings import Settings
from workers.jobs import JOBS, JobSpec
from workers.middleware import Heartbeat, JobMetrics, JobState, Polling
from workers.middleware.jobstate import record_result

__all__ = ["make_broker", "broker_for"]

log = logging.getLogger(__name__)


def _load(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"{path} is not callable")
    return fn


def _recording(fn: Callable[..., Any], kind: str) -> Callable[..., None]:
    """The actor Dramatiq runs: the job's function, with its returned dict stored on the job row."""

    def run(job_id: str) -> None:
        result = fn(job_id=job_id)
        if result is not None:
            record_result(job_id, result)

    run.__name__ = run.__qualname__ = kind
    run.__doc__ = fn.__doc__
    return run


def _declare(broker: dramatiq.Broker, spec: JobSpec) -> None:
    dramatiq.actor(
        broker=broker,
        actor_name=spec.kind,
        queue_name=spec.queue,
        max_retries=spec.max_retries,
        time_limit=int(spec.time_limit * 1000),
        priority=spec.priority,
        min_backoff=int(spec.min_backoff * 1000),
        max_backoff=int(spec.max_backoff * 1000),
        throws=spec.throws or None,
    )(_recording(_load(spec.actor), spec.kind))


def make_broker(
    url: str | None, *, heartbeat_timeout: float = 60.0, maintenance_chance: int = 10_000
) -> dramatiq.Broker:
    """RedisBroker or RabbitmqBroker from the URL; a StubBroker (in-process) when there is none.

    ``heartbeat_timeout`` (seconds, Redis only) is how long a dead worker's unacknowledged
    messages wait before another worker takes them again; ``maintenance_chance`` (out of a
    million commands) is how often a worker looks for such messages.
    """
    broker: dramatiq.Broker
    if not url:
        broker = StubBroker()
    else:
        scheme = urlsplit(url).scheme
        if scheme in ("redis", "rediss"):
            from dramatiq.brokers.redis import RedisBroker

            broker = RedisBroker(
                url=url,
                heartbeat_timeout=int(heartbeat_timeout * 1000),
                maintenance_chance=maintenance_chance,
            )
        elif scheme in ("amqp", "amqps"):
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            broker = RabbitmqBroker(url=url)
        else:
            raise ValueError(f"unknown broker URL scheme {scheme!r} (use redis:// or amqp://)")
    broker.add_middleware(JobState(), before=Retries)
    broker.add_middleware(JobMetrics())
    broker.add_middleware(Heartbeat())
    broker.add_middleware(Polling())
    for spec in JOBS.values():
        _declare(broker, spec)
    dramatiq.set_broker(broker)
    return broker


def broker_for(settings: Settings) -> dramatiq.Broker:
    """:func:`make_broker` for ``SOCIALFLOW_BROKER_URL`` and the worker settings (embedded: stub)."""
    return make_broker(
        settings.broker_url,
        heartbeat_timeout=settings.worker_heartbeat_timeout,
        maintenance_chance=settings.worker_maintenance_chance,
    )
