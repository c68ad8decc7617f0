"""The views domain: player heartbeats, views and watch time (see ``service.py``)."""

from __future__ import annotations

from control_plane.views.buffer import MemoryViewBuffer, RedisViewBuffer, Rules, ViewBuffer
from control_plane.views.rollup import ViewRollup
from control_plane.views.service import ViewService

__all__ = [
    "MemoryViewBuffer",
    "RedisViewBuffer",
    "Rules",
    "ViewBuffer",
    "ViewRollup",
    "ViewService",
    "open_buffer",
]


def open_buffer(redis_url: str | None, rules: Rules) -> ViewBuffer:
    """Redis when the platform has one, else the in-process buffer."""
    return RedisViewBuffer(redis_url, rules) if redis_url else MemoryViewBuffer(rules)
