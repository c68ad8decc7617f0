"""Sliding-window rate limits over the key-value store (Redis in production, in-process otherwise).

The window is approximated from two fixed windows, as most API gateways do: the count of the
previous window weighted by how much of it still overlaps, plus the current window's count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from control_plane.core.errors import RateLimited
from control_plane.core.kv import KeyValue

__all__ = ["Limit", "RateLimiter"]


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window`` seconds."""

    name: str
    count: int
    window: float
    #: What a refusal says; ``{retry}`` is the seconds to wait. Default: "Too many <name> attempts".
    message: str | None = None


class RateLimiter:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self._now = time.time

    def hit(self, limit: Limit, subject: str) -> None:
        """Count one event of ``subject``; raise RateLimited (429 with Retry-After) past the limit."""
        now = self._now()
        window = int(now // limit.window)
        elapsed = (now % limit.window) / limit.window
        key = f"rl:{limit.name}:{subject}:"
        current = self.kv.incr(key + str(window), ttl=limit.window * 2)
        previous_raw = self.kv.get(key + str(window - 1))
        previous = int(previous_raw) if previous_raw else 0
        estimate = previous * (1.0 - elapsed) + current
        if estimate > limit.count:
            retry = max(1, math.ceil((1.0 - elapsed) * limit.window))
            message = (
                limit.message
                or f"Too many {limit.name.replace('_', ' ')} attempts; try again in {{retry}} s."
            )
            raise RateLimited(
                message.format(retry=retry),
                headers={"Retry-After": str(retry)},
            )
