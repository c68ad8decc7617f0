"""The push sender interface, the message it sends and the two ways a send can fail."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from control_plane.core.errors import ProblemError

__all__ = ["Device", "PushGone", "PushMessage", "PushRetry", "PushSender"]


@dataclass(frozen=True)
class Device:
    """Where to push: a Web Push subscription (``endpoint`` and its ``p256dh`` and ``auth``
    keys), or a mobile token (``endpoint`` holds it)."""

    kind: str
    endpoint: str
    p256dh: str | None = None
    auth: str | None = None


@dataclass(frozen=True)
class PushMessage:
    """``payload`` is the JSON text the device receives (encrypted on the way for Web Push);
    ``ttl`` seconds the push service may keep it for an offline device; ``urgency`` per RFC 8030;
    ``topic`` replaces an undelivered message of the same topic (a grouped like's earlier count)."""

    payload: str
    ttl: int
    urgency: str = "normal"
    topic: str | None = None


class PushGone(ProblemError):
    """The push service says the device is gone for good (404, 410): forget the subscription."""

    code, status = "PUSH_GONE", 410


class PushRetry(ProblemError):
    """The send failed in a way that may pass (5xx, 429, timeout, connection refused)."""

    code, status = "PUSH_FAILED", 502


class PushSender(ABC):
    """Sends one message to one device; blocks until the push service answered (call it in a job)."""

    kind: str

    @abstractmethod
    def send(self, device: Device, message: PushMessage) -> None:
        """Raise PushGone when the device is gone, PushRetry when a later try may succeed; any
        other answer refusing the message (a 400: our bug, a 413: too big) raises PushRetry too,
        and is given up after the job's attempts."""
