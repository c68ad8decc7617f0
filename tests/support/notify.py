"""Helpers of the notifications tests: a platform whose jobs run in-process on either backend,
waiting for the notification jobs to finish, and reading an inbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.platform import Platform
from support.social import backend_settings

API = "/api/v1"
#: Queues the notification jobs (and the mails they post) run on.
QUEUES = ("notifications", "notifications-bulk", "default")


def notifying_platform(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    platform_factory: Callable[..., Platform],
    **overrides: object,
) -> Platform:
    """The platform on ``kind`` (``sqlite``, or ``postgres`` with Redis), with in-process workers
    running every job. Drains do not linger for more (``drain`` waits for them to end; the
    mailbox tests cover lingering)."""
    overrides.setdefault("notification_drain_linger", 0.0)
    return platform_factory(backend_settings(kind, tmp_path, request, **overrides))


def drain(platform: Platform, *, timeout_ms: int = 30_000) -> None:
    """Wait until every notification job enqueued so far (and those they enqueue) has run."""
    from workers import runtime

    broker = platform.services.broker
    for _ in range(3):
        platform.services.notifications.intake.flush()  # the items waiting in the intake's window
        worker_side = runtime.current().__dict__.get("notifications")
        if worker_side is not None:
            worker_side.intake.flush()
        for queue in QUEUES:  # ingest -> fan-out -> push: each may enqueue on another queue
            broker.join(queue, timeout=timeout_ms, fail_fast=False)  # type: ignore[call-arg]


def inbox(platform: Platform, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = platform.client.get(f"{API}/notifications", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
